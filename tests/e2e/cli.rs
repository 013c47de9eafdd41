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

#[test]
fn broken_pipe_ends_quietly() {
    use std::io::Read;
    for format in ["ndjson", "table", "csv"] {
        let mut child = bin()
            .args([
                "scan",
                samples().to_str().unwrap(),
                "-q",
                "--format",
                format,
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut first = [0u8; 16];
        out.read_exact(&mut first).unwrap();
        drop(out);
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{format}: {}", stderr(&o));
        assert!(stderr(&o).is_empty(), "{format}: {}", stderr(&o));
    }
}

#[test]
fn stdin_and_compressed_inputs() {
    use std::io::Write;
    let pcap = std::fs::read(samples().join("rules-jwt.pcap")).unwrap();
    let mut child = bin()
        .args(["scan", "-", "--format", "ndjson", "-q"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&pcap).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let from_stdin = stdout(&o);
    assert!(from_stdin.contains("\"rule\":\"jwt-alg-none\""));
    assert!(from_stdin.contains("\"source\":\"-\""));

    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&pcap).unwrap();
    let gz_path = write(dir.path(), "capture.bin", &gz.finish().unwrap());
    let har = std::fs::read(samples().join("har-firefox.har")).unwrap();
    let zst_path = write(
        dir.path(),
        "export.zst",
        &zstd::encode_all(&har[..], 3).unwrap(),
    );
    let o = run(&[
        "scan",
        gz_path.to_str().unwrap(),
        zst_path.to_str().unwrap(),
        "--format",
        "json",
        "--report",
        "findings,sources",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let formats: Vec<&str> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["format"].as_str().unwrap())
        .collect();
    assert_eq!(formats, ["pcap+gzip", "har+zstd"]);
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"jwt-alg-none") && rules.contains(&"credential-in-response"));
}

#[test]
fn config_file_ignores_rules_and_allowlists_values() {
    let dir = tempfile::tempdir().unwrap();
    let sample = samples().join("rules-jwt.pcap");
    let base = run(&["scan", sample.to_str().unwrap(), "--format", "ndjson", "-q"]);
    assert!(stdout(&base).contains("jwt-alg-none"));
    let cfg = write(
        dir.path(),
        "c.toml",
        b"[rules]\nignore = [\"jwt-alg-none\"]\n\n[allowlist]\nhosts = [\"accounts.example.com\"]\n",
    );
    let o = run(&[
        "scan",
        sample.to_str().unwrap(),
        "--format",
        "ndjson",
        "-q",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(!out.contains("jwt-alg-none"), "{out}");
    assert!(
        !out.contains("accounts.example.com"),
        "allowlisted host: {out}"
    );
    let bad = write(dir.path(), "bad.toml", b"[nonsense]\nx = 1\n");
    let o = run(&[
        "scan",
        sample.to_str().unwrap(),
        "--config",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad.toml") || stderr(&o).contains("config"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn quiet_silences_warnings_and_warnings_name_files() {
    let dir = tempfile::tempdir().unwrap();
    let good = samples().join("rules-jwt.pcap");
    let junk = write(dir.path(), "junk.dat", b"\x00\x01\x02 not a capture");
    let o = run(&[
        "scan",
        good.to_str().unwrap(),
        junk.to_str().unwrap(),
        "--format",
        "ndjson",
    ]);
    assert_eq!(o.status.code(), Some(0), "one readable input is enough");
    assert!(stderr(&o).contains("junk.dat"));
    assert!(
        !stdout(&o).contains("junk.dat"),
        "warnings never go to the findings stream"
    );
    let o = run(&[
        "scan",
        good.to_str().unwrap(),
        junk.to_str().unwrap(),
        "-q",
        "--format",
        "ndjson",
    ]);
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn verbose_prints_where_the_time_went() {
    let samples = samples();
    let s = samples.to_str().unwrap();
    let o = run(&["scan", s, "--format", "ndjson", "-v"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let line = err
        .lines()
        .find(|l| l.starts_with("credsift: time: "))
        .unwrap_or_else(|| panic!("no time line in {err}"));
    // Every phase, each a number of seconds.
    for phase in ["set-up", "scan", "correlation and merging", "reports"] {
        let rest = line
            .split_once(&format!("{phase} "))
            .unwrap_or_else(|| panic!("{phase} missing: {line}"))
            .1;
        let secs = rest.split_once(" s").map_or("", |(n, _)| n);
        assert!(secs.parse::<f64>().is_ok_and(|x| x >= 0.0), "{line}");
    }
    let quiet = run(&["scan", s, "--format", "ndjson", "-v", "-q"]);
    assert!(!stderr(&quiet).contains("time:"), "{}", stderr(&quiet));
}
