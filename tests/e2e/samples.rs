//! Every bundled sample, scanned by the real binary, yields what `samples/README.md` promises:
//! its expected findings, none of its look-alikes, and its number of exchanges. The expectations
//! come from the generator's own data (`credsift::r#gen::samples::all()`).

use std::collections::HashMap;

use credsift::r#gen::samples::{self, Expect, Sample};
use credsift::r#gen::secrets;
use serde_json::Value;

use crate::common::*;

fn secret_value(name: &str) -> Option<&'static str> {
    secrets::ALL
        .iter()
        .chain(secrets::LOOKALIKES.iter())
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

/// Findings (revealed, so a specific secret can be matched) for the given sample files.
fn findings(files: &[&str]) -> Vec<Value> {
    let dir = samples();
    let paths: Vec<String> = files
        .iter()
        .map(|f| dir.join(f).to_string_lossy().into_owned())
        .collect();
    let mut args = vec![
        "scan", "--format", "ndjson", "--reveal", "--salt", "s", "-q",
    ];
    args.extend(paths.iter().map(String::as_str));
    let o = run(&args);
    assert!(
        matches!(o.status.code(), Some(0) | Some(2)),
        "{files:?}: {}",
        stderr(&o)
    );
    stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn matches(f: &Value, e: &Expect) -> bool {
    let s = |k: &str| f[k].as_str().unwrap_or("");
    s("rule") == e.rule
        && (e.host.is_empty() || s("host") == e.host)
        && (e.location.is_empty() || s("location") == e.location)
        && (e.name.is_empty() || s("name").eq_ignore_ascii_case(e.name))
        && (e.secret.is_empty()
            || secret_value(e.secret).is_some_and(|v| s("evidence").contains(v)))
}

fn check(sample: &Sample, found: &[Value], problems: &mut Vec<String>) {
    for e in &sample.fires {
        if !found.iter().any(|f| matches(f, e)) {
            problems.push(format!("{}: expected {e:?}", sample.file));
        }
    }
    for e in &sample.silent {
        if let Some(f) = found.iter().find(|f| matches(f, e)) {
            problems.push(format!(
                "{}: look-alike fired {e:?}: {} {}",
                sample.file, f["rule"], f["detail"]
            ));
        }
    }
}

#[test]
fn every_sample_yields_its_findings_and_none_of_its_look_alikes() {
    let all = samples::all().expect("samples generate");
    let mut problems = Vec::new();
    let paired: Vec<&Sample> = all
        .iter()
        .filter(|s| s.file.starts_with("cross-source-"))
        .collect();
    for s in all.iter().filter(|s| !s.file.starts_with("cross-source-")) {
        check(s, &findings(&[s.file]), &mut problems);
    }
    // The cross-file pair is one correlation: scanned together.
    let files: Vec<&str> = paired.iter().map(|s| s.file).collect();
    let together = findings(&files);
    for s in &paired {
        check(s, &together, &mut problems);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_rule_fires_on_the_samples() {
    let found = findings(&[""]);
    let mut by_rule: HashMap<String, usize> = HashMap::new();
    for f in &found {
        *by_rule
            .entry(f["rule"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    for m in credsift::analyze::CATALOG {
        assert!(
            by_rule.contains_key(m.id),
            "{} never fires on samples/",
            m.id
        );
    }
}

#[test]
fn exchange_counts_match_the_generator() {
    let all = samples::all().expect("samples generate");
    let o = run(&[
        "scan",
        samples().to_str().unwrap(),
        "--format",
        "json",
        "--report",
        "sources",
        "-q",
    ]);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut counts: HashMap<String, u64> = HashMap::new();
    for row in doc["sources"].as_array().unwrap() {
        let src = row["source"].as_str().unwrap();
        let file = src.rsplit('/').next().unwrap().to_string();
        counts.insert(file, row["exchanges"].as_u64().unwrap());
    }
    let mut problems = Vec::new();
    for s in &all {
        let got = counts.get(s.file).copied().unwrap_or(0);
        if got != s.exchanges as u64 {
            problems.push(format!(
                "{}: {got} exchanges, expected {}",
                s.file, s.exchanges
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn samples_on_disk_are_what_the_generator_writes() {
    for s in samples::all().expect("samples generate") {
        let on_disk = std::fs::read(samples().join(s.file)).expect(s.file);
        assert!(
            on_disk == s.bytes,
            "{} differs from the generator's output",
            s.file
        );
    }
}
