//! The shared corpus of real public captures and HARs (`../shared/corpus`, skipped when absent):
//! credsift must see every HTTP request tshark sees (outside reviewed exceptions), read every HAR
//! entry for entry, fail broken JSON with its line and column, and never panic.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::common::*;

struct ManifestRow {
    path: String,
    format: String,
    http_requests: usize,
    notes: String,
}

fn manifest(corpus: &Path) -> Vec<ManifestRow> {
    let text = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (p, f, h, n) = (
        col("path"),
        col("format"),
        col("http_requests"),
        col("notes"),
    );
    lines
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            ManifestRow {
                path: c[p].to_string(),
                format: c[f].to_string(),
                http_requests: c[h].parse().unwrap_or(0),
                notes: c.get(n).unwrap_or(&"").to_string(),
            }
        })
        .collect()
}

/// tshark's requests for one capture: method → count (responses without request left out).
fn tshark_requests(corpus: &Path, path: &str) -> BTreeMap<String, usize> {
    let tsv = corpus
        .join("tshark")
        .join(format!("{}.tsv", path.replace('/', "__")));
    let mut m = BTreeMap::new();
    let Ok(text) = std::fs::read_to_string(tsv) else {
        return m;
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let Some(mi) = header.iter().position(|h| *h == "method") else {
        return m;
    };
    for l in lines {
        let method = l.split('\t').nth(mi).unwrap_or("");
        if method.is_empty() || method == "(response-without-request)" {
            continue;
        }
        *m.entry(method.to_string()).or_insert(0) += 1;
    }
    m
}

/// The whole corpus scanned into one JSON document with the given reports.
fn scan_corpus(corpus: &Path, reports: &str) -> std::process::Output {
    run(&[
        "scan",
        corpus.to_str().unwrap(),
        "--format",
        "json",
        "--report",
        reports,
        "--salt",
        "corpus",
        "-q",
    ])
}

/// Reviewed exceptions: `path<TAB>reason` lines in tests/data/corpus-exceptions.tsv.
fn exceptions() -> HashMap<String, String> {
    let text = include_str!("../data/corpus-exceptions.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .map(|(p, r)| (p.to_string(), r.to_string()))
        .collect()
}

#[test]
fn corpus_matches_tshark_and_har_entry_counts() {
    let Some(corpus) = corpus() else {
        eprintln!("../shared/corpus absent: corpus test skipped");
        return;
    };
    let o = scan_corpus(&corpus, "exchanges,sources");
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        matches!(o.status.code(), Some(0) | Some(2)),
        "exit {:?}: {err}",
        o.status.code()
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json report");
    let prefix = format!("{}/", corpus.display());
    let rel = |s: &str| s.strip_prefix(&prefix).unwrap_or(s).to_string();

    let mut ours: HashMap<String, BTreeMap<String, usize>> = HashMap::new();
    let mut ours_total: HashMap<String, usize> = HashMap::new();
    for row in doc["exchanges"].as_array().unwrap() {
        let src = rel(row["source"].as_str().unwrap());
        *ours_total.entry(src.clone()).or_default() += 1;
        let method = row["method"].as_str().unwrap_or("");
        if !method.is_empty() {
            *ours
                .entry(src)
                .or_default()
                .entry(method.to_string())
                .or_default() += 1;
        }
    }
    let mut sources: HashMap<String, &serde_json::Value> = HashMap::new();
    for row in doc["sources"].as_array().unwrap() {
        sources.insert(rel(row["source"].as_str().unwrap()), row);
    }

    let exceptions = exceptions();
    let mut problems = Vec::new();
    let (mut tshark_sum, mut ours_sum) = (0usize, 0usize);
    for m in manifest(&corpus) {
        let Some(src) = sources.get(&m.path) else {
            problems.push(format!("{}: not in the sources report", m.path));
            continue;
        };
        let status = src["status"].as_str().unwrap_or("");
        if m.format == "har" {
            let n = ours_total.get(&m.path).copied().unwrap_or(0);
            if m.notes.contains("PARSE ERROR") && !m.notes.contains("JSONP") {
                let w = src["warnings"].as_str().unwrap_or("");
                if status != "failed" || !w.contains("line") {
                    problems.push(format!(
                        "{}: broken JSON should fail with line/column ({status}: {w})",
                        m.path
                    ));
                }
            } else if m.notes.contains("JSONP") {
                if status == "failed" || n == 0 {
                    problems.push(format!("{}: JSONP HAR not read ({status})", m.path));
                }
            } else if n != m.http_requests {
                problems.push(format!(
                    "{}: {} entries, {n} exchanges ({status})",
                    m.path, m.http_requests
                ));
            }
            continue;
        }
        let theirs = tshark_requests(&corpus, &m.path);
        let mine = ours.get(&m.path).cloned().unwrap_or_default();
        let t: usize = theirs.values().sum();
        let c: usize = mine.values().sum();
        tshark_sum += t;
        ours_sum += c;
        let missing: Vec<String> = theirs
            .iter()
            .filter(|(k, v)| mine.get(*k).copied().unwrap_or(0) < **v)
            .map(|(k, v)| format!("{k} {}/{v}", mine.get(k).copied().unwrap_or(0)))
            .collect();
        if !missing.is_empty() && !exceptions.contains_key(&m.path) {
            problems.push(format!(
                "{}: fewer requests than tshark: {}",
                m.path,
                missing.join(", ")
            ));
        }
    }
    eprintln!("corpus requests: tshark {tshark_sum}, credsift {ours_sum}");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The precision measurement behind the closing notes: findings per rule and severity over the
/// whole shared corpus, and the 20 credential names recognised most (from the keys report), so
/// that look-alikes stay visible. Prints only masked values.
/// `cargo test --test e2e corpus_precision_report -- --ignored --nocapture`
#[test]
#[ignore]
fn corpus_precision_report() {
    let Some(corpus) = corpus() else {
        eprintln!("../shared/corpus absent: precision report skipped");
        return;
    };
    let o = scan_corpus(&corpus, "findings,keys");
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json report");
    let s = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or("").to_string();

    let mut per_rule: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let findings = doc["findings"].as_array().unwrap();
    for f in findings {
        *per_rule
            .entry(s(f, "rule"))
            .or_default()
            .entry(s(f, "severity"))
            .or_default() += 1;
    }
    println!("{} findings", findings.len());
    println!("{:<32} {:>6}  by severity", "rule", "count");
    for (rule, sev) in &per_rule {
        let total: usize = sev.values().sum();
        let by: Vec<String> = sev.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("{rule:<32} {total:>6}  {}", by.join(", "));
    }

    // (name, kind) → distinct keys, sightings, locations. A key seen under two names (`K,myK`)
    // is listed under both together.
    type Row = (u64, u64, std::collections::BTreeSet<String>);
    let mut names: BTreeMap<(String, String), Row> = BTreeMap::new();
    let keys = doc["keys"].as_array().unwrap();
    for k in keys {
        let n = k["sightings"].as_u64().unwrap_or(0);
        let e = names.entry((s(k, "names"), s(k, "kind"))).or_default();
        e.0 += 1;
        e.1 += n;
        e.2.extend(s(k, "locations").split(',').map(str::to_string));
    }
    let mut top: Vec<_> = names.into_iter().collect();
    top.sort_by(|a, b| (b.1.0, b.1.1).cmp(&(a.1.0, a.1.1)).then(a.0.cmp(&b.0)));
    println!("\n{} keys; top 20 names (keys, sightings):", keys.len());
    println!(
        "{:>4} {:>9}  {:<28} {:<22} location",
        "keys", "sightings", "name", "kind"
    );
    for ((name, kind), (k, n, locs)) in top.iter().take(20) {
        let name = if name.is_empty() { "(none)" } else { name };
        let locs: Vec<&str> = locs.iter().map(String::as_str).collect();
        println!("{k:>4} {n:>9}  {name:<28} {kind:<22} {}", locs.join(","));
    }
}
