//! SARIF 2.1.0 output (findings only) for GitHub code scanning and other SARIF viewers: rule
//! metadata from the catalog, one result per aggregated finding, located at the input file with
//! its frame or entry as a logical location.

use std::io::Write;

use serde_json::{Value, json};

use super::ReportError;

use crate::analyze::CATALOG;
use crate::engine::ScanResult;
use crate::model::{Finding, Severity};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` scale (0-10).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// Where the results go in the document's text: a string no rule text contains.
const RESULTS_MARK: &str = "@@credsift-sarif-results@@";

/// Writes the SARIF document, pretty-printed, its results one finding at a time (the findings
/// are read part by part, from memory or a spill file); the bytes are those of the whole
/// document serialized at once.
pub fn write_sarif(
    result: &ScanResult,
    reveal: bool,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    if result.findings.is_empty() {
        let doc = document(Vec::new());
        serde_json::to_writer_pretty(&mut *w, &doc).map_err(std::io::Error::other)?;
        return Ok(());
    }
    let skeleton = serde_json::to_string_pretty(&document(vec![Value::from(RESULTS_MARK)]))
        .map_err(std::io::Error::other)?;
    let quoted = format!("\"{RESULTS_MARK}\"");
    let Some(at) = skeleton.find(&quoted) else {
        return Err(std::io::Error::other("SARIF skeleton without its results").into());
    };
    let (head, tail) = skeleton.split_at(at);
    let tail = tail.get(quoted.len()..).unwrap_or_default();
    // The mark's indentation is every result's: the text from the last line break before it.
    let indent = head
        .rfind('\n')
        .and_then(|i| head.get(i + 1..))
        .unwrap_or("");
    let newline = format!("\n{indent}");
    w.write_all(head.as_bytes())?;
    let mut first = true;
    result
        .findings
        .for_each_chunk(4096, |c| -> Result<(), ReportError> {
            for f in c {
                if !first {
                    w.write_all(b",")?;
                    w.write_all(newline.as_bytes())?;
                }
                first = false;
                let text = serde_json::to_string_pretty(&result_of(f, reveal))
                    .map_err(std::io::Error::other)?;
                // JSON strings hold no raw line breaks: every one is layout, to be indented.
                w.write_all(text.replace('\n', &newline).as_bytes())?;
            }
            Ok(())
        })?;
    w.write_all(tail.as_bytes())?;
    Ok(())
}

/// The document with `results` in its one run.
fn document(results: Vec<Value>) -> Value {
    let rules: Vec<Value> = CATALOG
        .iter()
        .map(|m| {
            let mut tags = vec!["security".to_string()];
            if let Some(c) = m.cwe {
                tags.push(format!("external/cwe/cwe-{c}"));
            }
            json!({
                "id": m.id,
                "name": m.id,
                "shortDescription": {"text": m.title},
                "fullDescription": {"text": m.detects},
                "help": {
                    "text": format!("{}\n\nWhy it matters: {}\n\nRemediation: {}", m.detects, m.why, m.remediation),
                    "markdown": format!("{}\n\n**Why it matters.** {}\n\n**Example.**\n\n```\n{}\n```\n\n**Remediation.** {}", m.detects, m.why, m.example, m.remediation),
                },
                "defaultConfiguration": {"level": level(m.severity)},
                "properties": {
                    "tags": tags,
                    "security-severity": security_severity(m.severity),
                    "precision": "high",
                },
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "credsift",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    })
}

/// One finding as a SARIF result.
fn result_of(f: &Finding, reveal: bool) -> Value {
    let rule_index = CATALOG.iter().position(|m| m.id == f.rule).unwrap_or(0);
    let locator = f.locator.map(|l| l.to_string()).unwrap_or_default();
    let mut what = format!("{}: {} on {}", f.title, f.kind, f.host);
    if !f.name.is_empty() {
        what.push_str(&format!(
            " ({} `{}`)",
            f.location.map(|l| l.as_str()).unwrap_or(""),
            f.name
        ));
    }
    if !f.evidence.is_empty() {
        what.push_str(&format!(", value {}", f.evidence.render(reveal)));
    }
    if !f.detail.is_empty() {
        what.push_str(&format!("; {}", f.detail));
    }
    what.push_str(&format!("; seen {} time(s), first at {}", f.count, locator));
    json!({
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": {"text": what},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": uri_of(&f.source)},
                "region": {"startLine": 1},
            },
            "logicalLocations": [{
                "name": locator,
                "fullyQualifiedName": format!("{}#{}", f.source, locator),
                "kind": "member",
            }],
        }],
        "partialFingerprints": {
            "credsift/v1": format!("{}/{}/{}/{}/{}", f.rule, f.host, f.location.map(|l| l.as_str()).unwrap_or(""), f.name, f.key_fp),
        },
        "properties": {
            "severity": f.severity.as_str(),
            "count": f.count,
            "host": f.host,
            "kind": f.kind,
            "key_fp": f.key_fp,
            "url": f.url.render(reveal),
        },
    })
}

/// A relative path as a SARIF URI (forward slashes, percent-encoded where needed).
fn uri_of(path: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'.')
        .remove(b'-')
        .remove(b'_')
        .remove(b'~');
    let p = path.replace('\\', "/");
    percent_encoding::utf8_percent_encode(&p, SET).to_string()
}
