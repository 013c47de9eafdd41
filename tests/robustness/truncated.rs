//! A truncated capture yields every finding of its readable part: a sample cut at many byte
//! offsets (inside records and between them) gives exactly the findings of the same capture cut
//! cleanly after its last whole record, all of which the whole file also reports, and the cut
//! is warned with its byte offset. A truncated HAR keeps the findings of every entry that ended
//! before the cut.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use credsift::config::{Input, OutputFormat, ReportKind, ScanConfig};
use credsift::engine::{Engine, ResolvedInput, ScanResult};

use crate::synth::serial;

fn engine() -> Engine {
    let cfg = ScanConfig {
        salt: Some(b"truncation".to_vec()),
        threads: Some(1),
        reports: vec![ReportKind::Findings],
        format: OutputFormat::Json,
        ..ScanConfig::default()
    };
    Engine::new(&cfg).expect("engine")
}

fn scan(e: &Engine, path: &Path) -> ScanResult {
    let input = ResolvedInput {
        input: Input::Path(path.to_path_buf()),
        display: "input".into(),
        size: None,
    };
    e.scan(&[input], Some(1)).expect("scan")
}

/// A finding as compared across cuts (its first locator included: the same frame must be found).
type Key = (String, String, String, String, String, String);

fn keys(r: &ScanResult) -> BTreeSet<Key> {
    r.findings
        .to_vec()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f.rule.to_string(),
                f.host.to_string(),
                f.location
                    .map(|l| l.as_str().to_string())
                    .unwrap_or_default(),
                f.name.to_string(),
                f.key_fp.to_string(),
                f.locator.map(|l| l.to_string()).unwrap_or_default(),
            )
        })
        .collect()
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// Byte offsets where each whole record of a little-endian classic pcap ends.
fn record_ends(b: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut off = 24;
    while let Some(h) = b.get(off..off + 16) {
        let caplen = u32::from_le_bytes(h[8..12].try_into().unwrap()) as usize;
        let end = off + 16 + caplen;
        if end > b.len() {
            break;
        }
        ends.push(end);
        off = end;
    }
    ends
}

#[test]
fn truncated_capture_keeps_every_finding_of_its_readable_part() {
    let _g = serial();
    let e = engine();
    let dir = tempfile::tempdir().unwrap();
    let name = "rules-cleartext-credentials.pcap";
    let bytes = std::fs::read(sample(name)).unwrap();
    let full = keys(&scan(&e, &sample(name)));
    assert!(full.len() >= 3, "the sample has findings: {full:?}");
    let ends = record_ends(&bytes);
    assert_eq!(*ends.last().unwrap(), bytes.len());

    let mut cuts: Vec<usize> = (30..bytes.len()).step_by(97).collect();
    cuts.extend(ends.iter().map(|e| e - 1));
    let mut seen_nonempty = 0;
    let mut last_clean: Option<(usize, BTreeSet<Key>)> = None;
    for cut in cuts {
        let whole = ends
            .iter()
            .copied()
            .filter(|&e| e <= cut)
            .max()
            .unwrap_or(24);
        let cut_path = dir.path().join("cut.pcap");
        std::fs::write(&cut_path, &bytes[..cut]).unwrap();
        let got = scan(&e, &cut_path);
        let clean = match &last_clean {
            Some((w, k)) if *w == whole => k.clone(),
            _ => {
                let p = dir.path().join("clean.pcap");
                std::fs::write(&p, &bytes[..whole]).unwrap();
                let k = keys(&scan(&e, &p));
                last_clean = Some((whole, k.clone()));
                k
            }
        };
        let got_keys = keys(&got);
        assert_eq!(
            got_keys, clean,
            "cut at byte {cut}: findings differ from the {whole} readable bytes"
        );
        assert!(
            got_keys.is_subset(&full),
            "cut at byte {cut}: a finding the whole file lacks"
        );
        if cut != whole {
            let w = got.sources[0].warnings.join("\n");
            assert!(
                w.contains(&format!("byte offset {whole}")),
                "cut at byte {cut}: the warning names where reading stopped: {w}"
            );
        }
        if !got_keys.is_empty() {
            seen_nonempty += 1;
        }
    }
    assert!(seen_nonempty > 10, "most cuts still report findings");
}

/// Byte offsets where each element of the top-level `log.entries` array ends (a small scanner
/// of JSON strings and brackets; enough for the committed samples).
fn entry_ends(b: &[u8]) -> Vec<usize> {
    let key = b"\"entries\"";
    let start = b
        .windows(key.len())
        .position(|w| w == key)
        .expect("entries key");
    let mut i = start + key.len();
    while b[i] != b'[' {
        i += 1;
    }
    let mut depth = 0i32;
    let mut in_str = false;
    let mut esc = false;
    let mut ends = Vec::new();
    for (k, &c) in b.iter().enumerate().skip(i) {
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 1 && c == b'}' {
                    ends.push(k + 1);
                }
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
    }
    ends
}

#[test]
fn truncated_har_keeps_the_findings_of_entries_before_the_cut() {
    let _g = serial();
    let e = engine();
    let dir = tempfile::tempdir().unwrap();
    let name = "har-chrome-credentials.har";
    let bytes = std::fs::read(sample(name)).unwrap();
    let full = scan(&e, &sample(name));
    let full_keys = keys(&full);
    let ends = entry_ends(&bytes);
    assert!(ends.len() >= 3, "{ends:?}");
    let entry_of = |k: &Key| -> Option<usize> { k.5.strip_prefix("entry ")?.parse().ok() };
    let correlated: BTreeSet<&str> = credsift::analyze::rules::correlation_rules()
        .iter()
        .map(|r| r.meta().id)
        .collect();
    for cut in (40..bytes.len()).step_by(211) {
        let p = dir.path().join("cut.har");
        std::fs::write(&p, &bytes[..cut]).unwrap();
        let got = scan(&e, &p);
        let got_keys = keys(&got);
        // Entries that ended before the cut: their findings are all there (correlation rules
        // may miss a pairing with an entry after the cut, so per-entry findings are compared).
        let whole = ends.iter().filter(|&&end| end <= cut).count();
        for k in &full_keys {
            let per_entry = !correlated.contains(k.0.as_str());
            if per_entry && entry_of(k).is_some_and(|i| i < whole) {
                assert!(got_keys.contains(k), "cut at byte {cut}: {k:?} lost");
            }
        }
        for k in &got_keys {
            assert!(full_keys.contains(k), "cut at byte {cut}: {k:?} is new");
        }
        let w = got.sources[0].warnings.join("\n");
        assert!(
            w.contains("line") && w.contains("column"),
            "cut at byte {cut}: the JSON error names its place: {w}"
        );
    }
}
