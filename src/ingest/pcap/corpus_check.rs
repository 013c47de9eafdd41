//! Throwaway check against the shared corpus (ignored by default): runs `read_capture` over
//! every capture in `/work/shared/corpus` and compares request counts with tshark's.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::ingest::IngestConfig;
use crate::ingest::detect::{self, Format};
use crate::model::SourceStats;

#[test]
#[ignore]
fn corpus_vs_tshark() {
    let root = Path::new("/work/shared/corpus");
    let Ok(manifest) = std::fs::read_to_string(root.join("MANIFEST.tsv")) else {
        return;
    };
    let only = std::env::var("CORPUS_ONLY").ok();
    let (mut t_total, mut o_total) = (0usize, 0usize);
    let mut rows = Vec::new();
    for line in manifest.lines().skip(1) {
        let path = line.split('\t').next().unwrap_or("");
        if path.ends_with(".har") || path.is_empty() {
            continue;
        }
        if let Some(o) = &only
            && !path.contains(o.as_str())
        {
            continue;
        }
        let tsv = root
            .join("tshark")
            .join(format!("{}.tsv", path.replace('/', "__")));
        let mut tshark: HashMap<(String, String), i64> = HashMap::new();
        let mut t_n = 0usize;
        if let Ok(t) = std::fs::read_to_string(&tsv) {
            for r in t.lines().skip(1) {
                let f: Vec<&str> = r.split('\t').collect();
                let method = f.get(6).copied().unwrap_or("");
                if method == "(response-without-request)" {
                    continue;
                }
                t_n += 1;
                *tshark
                    .entry((method.to_string(), String::new()))
                    .or_insert(0) += 1;
            }
        }
        let file = std::fs::File::open(root.join(path)).unwrap();
        let start = std::time::Instant::now();
        let opened = detect::open(Box::new(file)).unwrap();
        let mut stats = SourceStats::new(path);
        let mut ours: HashMap<(String, String), i64> = HashMap::new();
        let mut o_n = 0usize;
        let mut orphans = 0usize;
        let res = match opened {
            Ok(mut o) if matches!(o.format, Format::Pcap | Format::PcapNg) => {
                let src: Arc<str> = Arc::from(path);
                let dump = std::env::var("CORPUS_DUMP").is_ok();
                let mut sink = |ex: crate::model::Exchange| {
                    if dump {
                        println!(
                            "  {} #{} {:?} {:?} {} {} -> {:?} {:?}",
                            ex.connection.as_deref().unwrap_or(""),
                            ex.seq_on_connection,
                            ex.locator(),
                            ex.client,
                            ex.request
                                .as_ref()
                                .map(|r| r.method.as_str())
                                .unwrap_or("-"),
                            ex.request
                                .as_ref()
                                .map(|r| r.target.chars().take(80).collect::<String>())
                                .unwrap_or_default(),
                            ex.status(),
                            ex.anomalies
                        );
                    }
                    if let Some(r) = &ex.request {
                        o_n += 1;
                        let t = if r.target.starts_with("http://") {
                            format!(
                                "{}{}",
                                r.url.path,
                                r.url
                                    .query
                                    .as_ref()
                                    .map(|q| format!("?{q}"))
                                    .unwrap_or_default()
                            )
                        } else {
                            r.target.clone()
                        };
                        *ours.entry((r.method.clone(), t)).or_insert(0) += 1;
                    } else {
                        orphans += 1;
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
            Ok(_) => Err("not a capture".into()),
            Err(h) => Err(format!("unknown {h}")),
        };
        let el = start.elapsed();
        let mut missing: Vec<String> = Vec::new();
        for (k, n) in &tshark {
            let o = ours.get(k).copied().unwrap_or(0);
            if o < *n {
                missing.push(format!(
                    "{}x{} {}",
                    n - o,
                    k.0,
                    k.1.chars().take(60).collect::<String>()
                ));
            }
        }
        t_total += t_n;
        o_total += o_n;
        rows.push(format!(
            "{}\t{}\t{}\t{}\t{:?}\t{}\t{}\t{:?}",
            if o_n < t_n {
                "LESS"
            } else if o_n > t_n {
                "MORE"
            } else {
                "same"
            },
            t_n,
            o_n,
            path,
            res.err(),
            missing.join(","),
            orphans,
            stats.warnings
        ));
        if el.as_secs() > 5 {
            rows.push(format!("SLOW {path} {el:?}"));
        }
    }
    for r in &rows {
        println!("{r}");
    }
    println!("TOTAL tshark={t_total} ours={o_total}");
}
