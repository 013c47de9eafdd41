//! Every output format on the bundled samples: the findings contract, typed Parquet read back
//! with polars, SARIF checked against the 2.1.0 schema, stable bytes across thread counts, and
//! private (0600) output files.

use crate::common::*;

/// The output contract, written out here on purpose rather than imported from the library, so
/// that a change to the library cannot silently change what this test accepts.
const FIELDS: [&str; 20] = [
    "rule",
    "severity",
    "title",
    "source",
    "locator",
    "first_seen",
    "last_seen",
    "count",
    "client",
    "server",
    "host",
    "method",
    "url",
    "location",
    "name",
    "kind",
    "key_fp",
    "evidence",
    "detail",
    "cwe",
];

fn scan_samples(extra: &[&str]) -> std::process::Output {
    let samples = samples();
    let mut args = vec!["scan", samples.to_str().unwrap(), "--salt", "e2e", "-q"];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn ndjson_has_exactly_the_contract_fields_in_order() {
    let o = scan_samples(&["--format", "ndjson"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let mut rows = 0;
    for line in out.lines() {
        let v: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).expect("one JSON object per line");
        let keys: Vec<&str> = v.keys().map(String::as_str).collect();
        assert_eq!(keys, FIELDS, "field names and order");
        assert!(v["count"].as_u64().is_some_and(|c| c >= 1));
        rows += 1;
    }
    assert!(rows > 10, "samples yield findings ({rows})");
}

#[test]
fn csv_header_and_json_object_of_tables() {
    let o = scan_samples(&["--format", "csv"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert_eq!(out.lines().next().unwrap(), FIELDS.join(","));
    let o = scan_samples(&[
        "--format",
        "json",
        "--report",
        "findings,summary,keys,sources",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json document");
    for t in ["findings", "summary", "keys", "sources"] {
        assert!(v[t].is_array(), "table {t}");
    }
    assert!(!v["keys"].as_array().unwrap().is_empty());
}

#[test]
fn parquet_reads_back_typed_and_equal() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pq");
    let o = scan_samples(&[
        "--format",
        "parquet",
        "--report",
        "findings,sources",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let f = std::fs::File::open(out.join("findings.parquet")).unwrap();
    let df = ParquetReader::new(f).finish().unwrap();
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(names, FIELDS);
    assert!(matches!(
        df.column("first_seen").unwrap().dtype(),
        DataType::Datetime(TimeUnit::Nanoseconds, _)
    ));
    assert_eq!(df.column("count").unwrap().dtype(), &DataType::UInt64);
    let nd = scan_samples(&["--format", "ndjson"]);
    assert_eq!(df.height(), stdout(&nd).lines().count());
    assert!(out.join("sources.parquet").is_file());
}

#[test]
fn sarif_validates_against_the_2_1_0_schema() {
    let o = scan_samples(&["--format", "sarif"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../data/sarif-schema-2.1.0.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let loc = &r["locations"][0];
        assert!(loc["physicalLocation"]["artifactLocation"]["uri"].is_string());
        let name = loc["logicalLocations"][0]["name"].as_str().unwrap();
        assert!(
            name.starts_with("frame ") || name.starts_with("entry "),
            "{name}"
        );
    }
}

#[test]
fn output_is_identical_for_any_thread_count() {
    let a = scan_samples(&[
        "--format",
        "ndjson",
        "--threads",
        "1",
        "--report",
        "findings",
    ]);
    let b = scan_samples(&[
        "--format",
        "ndjson",
        "--threads",
        "4",
        "--report",
        "findings",
    ]);
    assert_eq!(a.stdout, b.stdout);
    let a = scan_samples(&["--format", "csv", "--threads", "1", "--report", "keys"]);
    let b = scan_samples(&["--format", "csv", "--threads", "3", "--report", "keys"]);
    assert_eq!(a.stdout, b.stdout);
}

/// One report of `path` with `threads`, any input size split over the threads (sharded
/// captures, pipelined HARs): the threshold is lowered to one byte.
fn scan_split(path: &std::path::Path, threads: &str, report: &str, fmt: &str) -> Vec<u8> {
    let o = bin()
        .env("CREDSIFT_SHARD_MIN_BYTES", "1")
        .args([
            "scan",
            path.to_str().unwrap(),
            "--salt",
            "e2e",
            "-q",
            "--threads",
            threads,
            "--report",
            report,
            "--format",
            fmt,
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    o.stdout
}

/// Every report of `path` is byte-identical with one thread and with four (split).
fn assert_split_matches_single(path: &std::path::Path) {
    for (report, fmt) in [
        ("findings", "ndjson"),
        ("keys", "csv"),
        ("exchanges", "csv"),
        ("sources", "json"),
    ] {
        let one = scan_split(path, "1", report, fmt);
        assert!(!one.is_empty());
        assert!(
            one == scan_split(path, "4", report, fmt),
            "{}: {report} differs between 1 and 4 threads",
            path.display()
        );
    }
}

/// A generated capture large enough to be sharded (with a low sharding threshold): every
/// report is byte-identical with one thread (no sharding) and with four (connections spread
/// over four workers), and the sharded run meets the generator's ground truth.
#[test]
fn sharded_capture_output_is_identical_to_single_threaded() {
    use credsift::r#gen::bench::{BenchConfig, BenchFormat, generate};
    let dir = tempfile::tempdir().unwrap();
    for (name, format) in [
        ("big.pcap", BenchFormat::Pcap),
        ("big.pcapng", BenchFormat::Pcapng),
    ] {
        let path = dir.path().join(name);
        let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let truth = generate(
            BenchConfig {
                size: 20 << 20,
                seed: 9,
                format,
            },
            file,
        )
        .unwrap();
        assert_split_matches_single(&path);
        let sources: serde_json::Value =
            serde_json::from_slice(&scan_split(&path, "4", "sources", "json")).unwrap();
        let s = &sources["sources"][0];
        assert_eq!(s["exchanges"].as_u64(), Some(truth.exchanges), "{name}");
        assert_eq!(
            s["tcp_connections"].as_u64(),
            Some(truth.connections),
            "{name}"
        );
        assert_eq!(
            s["tls_connections"].as_u64(),
            Some(truth.tls_connections),
            "{name}"
        );
        assert_eq!(s["packets"].as_u64(), Some(truth.packets), "{name}");
    }
}

/// A generated HAR read by one thread and by a reader feeding four workers: every report is
/// byte-identical, and every entry is an exchange.
#[test]
fn pipelined_har_output_is_identical_to_single_threaded() {
    use credsift::r#gen::bench::{BenchConfig, BenchFormat, generate};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.har");
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let truth = generate(
        BenchConfig {
            size: 8 << 20,
            seed: 11,
            format: BenchFormat::Har,
        },
        file,
    )
    .unwrap();
    assert_split_matches_single(&path);
    let sources: serde_json::Value =
        serde_json::from_slice(&scan_split(&path, "4", "sources", "json")).unwrap();
    assert_eq!(
        sources["sources"][0]["exchanges"].as_u64(),
        Some(truth.exchanges)
    );
}

#[cfg(unix)]
#[test]
fn output_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("r.csv");
    let o = scan_samples(&[
        "--format",
        "csv",
        "--report",
        "findings,keys",
        "-o",
        base.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for t in ["findings", "keys"] {
        let p = dir.path().join(format!("r.{t}.csv"));
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", p.display());
    }
}

#[test]
fn fail_on_sets_exit_code_1() {
    assert_eq!(
        scan_samples(&["--format", "ndjson", "--fail-on", "high"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(scan_samples(&["--format", "ndjson"]).status.code(), Some(0));
}

#[test]
fn output_does_not_depend_on_input_order() {
    let dir = samples();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .filter(|p| !p.ends_with(".md"))
        .collect();
    files.sort();
    let scan = |files: &[String]| {
        let mut args = vec!["scan", "--salt", "order", "-q", "--format", "ndjson"];
        args.extend(files.iter().map(String::as_str));
        run(&args).stdout
    };
    let forward = scan(&files);
    files.reverse();
    let backward = scan(&files);
    assert!(!forward.is_empty());
    assert_eq!(forward, backward);
}

/// One scan's stdout, with extra environment and arguments.
fn scan_with(path: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Vec<u8> {
    let mut cmd = bin();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd
        .args(["scan", path.to_str().unwrap(), "--salt", "e2e", "-q"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "{}",
        stderr(&o)
    );
    o.stdout
}

/// A run over its memory budget spills findings and sightings to a temporary file and merges
/// them back: every report is byte-identical to the run that kept everything in memory, with
/// a budget of nothing (every record spills), a small one (some spill, some stay), one or two
/// threads (sharded), masked and revealed.
fn assert_spilled_matches_in_memory(path: &std::path::Path) {
    let cases: &[&[&str]] = &[
        &[
            "--format",
            "json",
            "--report",
            "findings,summary,keys,sources",
        ],
        &["--format", "ndjson", "--reveal"],
        &["--format", "csv"],
        &["--format", "sarif"],
        &["--format", "json", "--report", "keys", "--reveal"],
    ];
    for args in cases {
        for threads in ["1", "2"] {
            let mut all: Vec<&str> = args.to_vec();
            all.extend(["--threads", threads]);
            let base = [("CREDSIFT_SHARD_MIN_BYTES", "1")];
            let in_memory = scan_with(path, &base, &all);
            assert!(in_memory.len() > 100, "{args:?}");
            for budget in ["0", "200000"] {
                let spilled = scan_with(path, &[base[0], ("CREDSIFT_MEMORY_BUDGET", budget)], &all);
                assert!(
                    spilled == in_memory,
                    "{}: {args:?} with {threads} thread(s) and a budget of {budget} differs",
                    path.display()
                );
            }
        }
    }
    // Parquet (written in row groups from the spill) reads back as the same table.
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let mut frames = Vec::new();
    for budget in ["67108864", "0"] {
        let out = dir.path().join(budget);
        scan_with(
            path,
            &[("CREDSIFT_MEMORY_BUDGET", budget)],
            &[
                "--format",
                "parquet",
                "--report",
                "findings,keys",
                "-o",
                out.to_str().unwrap(),
            ],
        );
        for table in ["findings", "keys"] {
            let f = std::fs::File::open(out.join(format!("{table}.parquet"))).unwrap();
            frames.push(ParquetReader::new(f).finish().unwrap());
        }
    }
    assert!(frames[0].height() > 0);
    assert!(
        frames[0].equals_missing(&frames[2]),
        "findings.parquet differs"
    );
    assert!(frames[1].equals_missing(&frames[3]), "keys.parquet differs");
}

#[test]
fn spilled_run_output_is_identical_to_in_memory() {
    use credsift::r#gen::bench::{BenchConfig, BenchFormat, generate};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spill.pcap");
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    generate(
        BenchConfig {
            size: 6 << 20,
            seed: 5,
            format: BenchFormat::Pcap,
        },
        file,
    )
    .unwrap();
    assert_spilled_matches_in_memory(&path);
    // The samples: every rule fires there, correlation ones included (fixation, reuse across
    // subjects and roles), over many small files and a sanitized HAR.
    assert_spilled_matches_in_memory(&samples());
}

/// A run that cannot create its spill file (no such `TMPDIR`) keeps everything in memory, says
/// so once per kind of record, and loses nothing.
#[test]
fn an_unwritable_spill_directory_keeps_the_run_in_memory() {
    let args = ["--format", "ndjson", "--threads", "2"];
    let want = scan_with(&samples(), &[], &args);
    let o = bin()
        .env("CREDSIFT_MEMORY_BUDGET", "0")
        .env("TMPDIR", "/nonexistent/credsift-spill")
        .args(["scan", samples().to_str().unwrap(), "--salt", "e2e"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        o.stdout == want,
        "findings differ when the spill file cannot be made"
    );
    let err = stderr(&o);
    assert_eq!(
        err.matches("cannot spill").count(),
        2,
        "one warning for findings, one for sightings: {err}"
    );
}
