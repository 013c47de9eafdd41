//! Check against the shared corpus (ignored by default; skips when the corpus is absent): runs
//! `read_capture` over every capture in `/work/shared/corpus` and compares request lines and
//! response codes with tshark's reference. Env: `CORPUS_ONLY=<substring>` to pick files,
//! `CORPUS_DUMP=1` to print every exchange, `CORPUS_STATUS=1` to list response-code mismatches.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::ingest::IngestConfig;
use crate::ingest::detect::{self, Format};
use crate::model::{Exchange, SourceStats};

/// `(method, path-and-query)` as tshark shows it: `full_uri` without `http://host`.
fn tshark_key(f: &[&str]) -> (String, String) {
    let method = f.get(6).copied().unwrap_or("");
    let host = f.get(7).copied().unwrap_or("");
    let uri = f.get(8).copied().unwrap_or("");
    let path = uri
        .strip_prefix("http://")
        .and_then(|u| u.strip_prefix(host))
        .unwrap_or(uri);
    (method.to_string(), path.to_string())
}

fn our_key(ex: &Exchange) -> Option<(String, String)> {
    let r = ex.request.as_ref()?;
    let t = if r.target.starts_with("http://") {
        let q = r
            .url
            .query
            .as_ref()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        format!("{}{q}", r.url.path)
    } else {
        r.target.clone()
    };
    Some((r.method.clone(), t))
}

#[test]
#[ignore]
fn corpus_vs_tshark() {
    let root = Path::new("/work/shared/corpus");
    let Ok(manifest) = std::fs::read_to_string(root.join("MANIFEST.tsv")) else {
        return;
    };
    let only = std::env::var("CORPUS_ONLY").ok();
    let dump = std::env::var("CORPUS_DUMP").is_ok();
    let show_status = std::env::var("CORPUS_STATUS").is_ok();
    let (mut t_total, mut o_total, mut status_total) = (0usize, 0usize, 0i64);
    let mut anomaly_totals: std::collections::BTreeMap<String, u64> = Default::default();
    for line in manifest.lines().skip(1) {
        let path = line.split('\t').next().unwrap_or("");
        if path.ends_with(".har") || path.is_empty() {
            continue;
        }
        if only.as_ref().is_some_and(|o| !path.contains(o.as_str())) {
            continue;
        }
        let tsv = root
            .join("tshark")
            .join(format!("{}.tsv", path.replace('/', "__")));
        let mut tshark: HashMap<(String, String), i64> = HashMap::new();
        let mut t_status: HashMap<String, i64> = HashMap::new();
        let mut t_n = 0usize;
        for r in std::fs::read_to_string(&tsv)
            .unwrap_or_default()
            .lines()
            .skip(1)
        {
            let f: Vec<&str> = r.split('\t').collect();
            if f.get(6) == Some(&"(response-without-request)") {
                continue;
            }
            t_n += 1;
            let k = tshark_key(&f);
            if let Some(code) = f.get(15).filter(|c| !c.is_empty()) {
                *t_status
                    .entry(format!("{} {} {code}", k.0, k.1))
                    .or_insert(0) += 1;
            }
            *tshark.entry(k).or_insert(0) += 1;
        }
        let Ok(file) = std::fs::File::open(root.join(path)) else {
            continue;
        };
        let start = std::time::Instant::now();
        let mut stats = SourceStats::new(path);
        let mut ours: HashMap<(String, String), i64> = HashMap::new();
        let mut o_status: HashMap<String, i64> = HashMap::new();
        let mut o_n = 0usize;
        let mut orphans = 0usize;
        let res = match detect::open(Box::new(file)) {
            Ok(Ok(mut o)) if matches!(o.format, Format::Pcap | Format::PcapNg) => {
                let src: Arc<str> = Arc::from(path);
                let mut sink = |ex: Exchange| {
                    if dump {
                        println!(
                            "  {} #{} {:?} {:?} {:?} -> {:?} {:?}",
                            ex.connection.as_deref().unwrap_or(""),
                            ex.seq_on_connection,
                            ex.locator(),
                            ex.client,
                            our_key(&ex).map(|(m, t)| format!("{m} {}", &t[..t.len().min(80)])),
                            ex.status(),
                            ex.anomalies
                        );
                    }
                    match our_key(&ex) {
                        Some(k) => {
                            o_n += 1;
                            if let Some(c) = ex.status() {
                                *o_status.entry(format!("{} {} {c}", k.0, k.1)).or_insert(0) += 1;
                            }
                            *ours.entry(k).or_insert(0) += 1;
                        }
                        None => orphans += 1,
                    }
                };
                crate::ingest::pcap::read_capture(
                    &mut o.reader,
                    &src,
                    &IngestConfig::default(),
                    &mut stats,
                    &mut sink,
                )
                .map_err(|e| e.to_string())
            }
            Ok(Ok(_)) => Err("not a capture".into()),
            Ok(Err(h)) => Err(format!("unknown format {h}")),
            Err(e) => Err(e.to_string()),
        };
        let elapsed = start.elapsed();
        for (k, v) in &stats.anomalies {
            *anomaly_totals.entry(k.clone()).or_insert(0) += v;
            if k == "decode-error" && std::env::var("CORPUS_DECODE").is_ok() {
                println!("  decode-error {path} {v}");
            }
        }
        let mut missing: Vec<String> = Vec::new();
        for (k, n) in &tshark {
            let o = ours.get(k).copied().unwrap_or(0);
            if o < *n {
                let p: String = k.1.chars().take(60).collect();
                missing.push(format!("{}x {} {p}", n - o, k.0));
            }
        }
        let mut status_miss = 0;
        for (k, n) in &t_status {
            let o = o_status.get(k).copied().unwrap_or(0);
            if o < *n {
                status_miss += n - o;
                if show_status {
                    println!("  status-miss {path}: {k}");
                }
            }
        }
        status_total += status_miss;
        t_total += t_n;
        o_total += o_n;
        let tag = if !missing.is_empty() {
            "MISS"
        } else if o_n > t_n {
            "MORE"
        } else {
            "same"
        };
        println!(
            "{tag}\t{t_n}\t{o_n}\t{path}\t{:?}\tmissing={}\tstatus_miss={status_miss}\torphans={orphans}\t{:?}",
            res.err(),
            missing.join(","),
            stats.warnings
        );
        if elapsed.as_secs() > 5 {
            println!("SLOW {path} {elapsed:?}");
        }
    }
    println!("TOTAL tshark={t_total} ours={o_total} status_mismatches={status_total}");
    println!("ANOMALIES {anomaly_totals:?}");
}
