//! The damaged and fuzzed files of the shared corpus (`../shared/corpus`, skipped when absent),
//! each scanned alone through the engine: none panics, and each one that cannot be read whole
//! says why and where (byte offset, frame, entry, or JSON line and column). The end-to-end
//! corpus test runs the binary over the whole corpus for exit codes and tshark parity.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use credsift::config::{Input, OutputFormat, ReportKind, ScanConfig};
use credsift::engine::{Engine, ResolvedInput};

use crate::synth::serial;

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("shared")
        .join("corpus");
    p.join("MANIFEST.tsv").is_file().then_some(p)
}

/// Manifest rows of files that are damaged, cut short, fuzzed or not valid JSON.
fn damaged(corpus: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (p, n) = (col("path"), col("notes"));
    lines
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let path = c.get(p)?.to_string();
            let notes = c.get(n).copied().unwrap_or("").to_ascii_lowercase();
            let lp = path.to_ascii_lowercase();
            let bad = [
                "rc=",
                "parse error",
                "damaged",
                "corrupt",
                "cut short",
                "truncat",
            ]
            .iter()
            .any(|k| notes.contains(k))
                || [
                    "fuzz",
                    "corrupt",
                    "broken",
                    "truncat",
                    "malformed",
                    "invalid",
                ]
                .iter()
                .any(|k| lp.contains(k));
            bad.then_some(path)
        })
        .collect()
}

/// Words that name a place in a warning.
const PLACES: &[&str] = &[
    "byte offset",
    "frame",
    "entry",
    "line",
    "column",
    "first bytes",
];

#[test]
fn damaged_corpus_files_never_panic_and_say_where() {
    let _g = serial();
    let Some(corpus) = corpus() else {
        eprintln!("../shared/corpus absent: corpus robustness test skipped");
        return;
    };
    let files = damaged(&corpus);
    assert!(
        files.len() >= 10,
        "the manifest marks damaged files: {files:?}"
    );
    let cfg = ScanConfig {
        salt: Some(b"corpus".to_vec()),
        threads: Some(1),
        reports: vec![ReportKind::Findings, ReportKind::Exchanges],
        format: OutputFormat::Json,
        ..ScanConfig::default()
    };
    let engine = Engine::new(&cfg).unwrap();
    let mut problems = Vec::new();
    for f in &files {
        let input = ResolvedInput {
            input: Input::Path(corpus.join(f)),
            display: f.clone(),
            size: None,
        };
        let r = std::panic::catch_unwind(AssertUnwindSafe(|| engine.scan_input(&input)));
        let Ok(r) = r else {
            problems.push(format!("{f}: panicked"));
            continue;
        };
        let s = &r.stats;
        if s.failed && s.warnings.is_empty() {
            problems.push(format!("{f}: failed without saying why"));
        }
        for w in &s.warnings {
            let stops = w.contains("ends early") || w.contains("not valid JSON") || s.failed;
            if stops && !PLACES.iter().any(|p| w.contains(p)) && !w.contains("cannot") {
                problems.push(format!("{f}: no place named in `{w}`"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!("{} damaged corpus files scanned one by one", files.len());
}
