//! Golden outputs for `samples/` (insta snapshots): the findings in every text format, the
//! summary, keys and sources tables. Run from the repository root with a relative path and a
//! fixed salt so that the bytes do not depend on the machine or the run.

use std::process::Stdio;

use crate::common::*;

fn scan_rel(args: &[&str]) -> String {
    let o = bin()
        .current_dir(repo())
        .args(["scan", "samples", "--salt", "snapshot", "-q"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert!(
        matches!(o.status.code(), Some(0)),
        "exit {:?}: {}",
        o.status.code(),
        stderr(&o)
    );
    stdout(&o)
}

#[test]
fn findings_ndjson() {
    insta::assert_snapshot!(scan_rel(&["--format", "ndjson"]));
}

#[test]
fn findings_csv() {
    insta::assert_snapshot!(scan_rel(&["--format", "csv"]));
}

#[test]
fn findings_table() {
    insta::assert_snapshot!(scan_rel(&["--format", "table"]));
}

#[test]
fn findings_sarif() {
    insta::assert_snapshot!(scan_rel(&["--format", "sarif"]));
}

#[test]
fn summary_keys_sources_json() {
    insta::assert_snapshot!(scan_rel(&[
        "--format",
        "json",
        "--report",
        "summary,keys,sources"
    ]));
}

#[test]
fn exchanges_csv() {
    insta::assert_snapshot!(scan_rel(&["--format", "csv", "--report", "exchanges"]));
}
