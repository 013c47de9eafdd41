//! The command-line contract: subcommands, exit codes, warnings that name the file.

use crate::common::*;

#[test]
fn rules_lists_the_whole_catalog() {
    let o = run(&["rules"]);
    assert!(o.status.success());
    let out = stdout(&o);
    for id in [
        "cleartext-credential",
        "credential-in-url",
        "credential-in-referer",
        "credential-in-response",
        "cookie-missing-secure",
        "cookie-missing-httponly",
        "cookie-missing-samesite",
        "cookie-samesite-none-insecure",
        "cookie-broad-scope",
        "cookie-long-lived-session",
        "key-reused-across-subjects",
        "key-reused-across-roles",
        "key-used-across-services",
        "key-issued-unauthenticated",
        "session-fixation",
        "session-shared-across-clients",
        "jwt-alg-none",
        "jwt-expired-accepted",
    ] {
        assert!(out.contains(id), "missing {id}");
    }
    assert!(out.contains("CWE-319") && out.contains("Remediation:"));
    let j = run(&["rules", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).expect("rules json");
    assert_eq!(v.as_array().map(|a| a.len()), Some(18));
}

#[test]
fn version_and_help() {
    let o = run(&["--version"]);
    assert!(o.status.success());
    assert!(stdout(&o).starts_with("credsift "));
    let h = run(&["scan", "--help"]);
    assert!(h.status.success());
    assert!(stdout(&h).contains("Examples:"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["scan"]).status.code(), Some(2));
    assert_eq!(
        run(&["scan", "--format", "xml", "x"]).status.code(),
        Some(2)
    );
    let o = run(&["scan", "--select", "no-such-rule", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no-such-rule"));
}

#[test]
fn unreadable_inputs_are_named_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let junk = write(dir.path(), "notes.txt", b"just some text, not a capture");
    let o = run(&["scan", junk.to_str().unwrap(), "--format", "ndjson"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("notes.txt") && err.contains("not a pcap"),
        "{err}"
    );
    let missing = dir.path().join("missing.pcap");
    let o = run(&["scan", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.pcap"));
}

#[test]
fn sarif_refuses_other_tables_and_parquet_needs_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let junk = write(dir.path(), "a.txt", b"x");
    let p = junk.to_str().unwrap();
    let o = run(&["scan", p, "--format", "sarif", "--report", "keys", "-q"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("sarif"));
    let o = run(&["scan", p, "--format", "parquet", "-q"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--output"));
}
