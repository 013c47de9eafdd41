//! A credential tool must not become the leak: every secret planted in the samples stays out of
//! every report, format, warning and error unless `--reveal` is given.

use crate::common::*;

/// Planted secret values long enough that finding one in the output cannot be a coincidence.
fn planted() -> Vec<&'static str> {
    credsift::r#gen::secrets::ALL
        .iter()
        .map(|(_, v)| *v)
        .filter(|s| s.len() >= 8)
        .collect()
}

const ALL_TABLES: &str = "findings,summary,keys,exchanges,sources";

fn leaks(text: &str) -> Vec<&'static str> {
    planted().into_iter().filter(|s| text.contains(s)).collect()
}

fn scan(extra: &[&str]) -> std::process::Output {
    let samples = samples();
    let mut args = vec![
        "scan",
        samples.to_str().unwrap(),
        "--salt",
        "leak-test",
        "-v",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn no_planted_secret_in_any_text_format_or_on_stderr() {
    assert!(planted().len() > 20, "the samples plant many secrets");
    let dir = tempfile::tempdir().unwrap();
    for format in ["table", "csv", "json", "ndjson"] {
        let out = dir.path().join(format!("r.{format}"));
        let o = scan(&[
            "--format",
            format,
            "--report",
            ALL_TABLES,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(
            matches!(o.status.code(), Some(0)),
            "{format}: {}",
            stderr(&o)
        );
        let mut text = stderr(&o);
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
        }
        assert_eq!(leaks(&text), Vec::<&str>::new(), "{format} leaks");
    }
    let o = scan(&["--format", "sarif"]);
    let text = stdout(&o) + &stderr(&o);
    assert_eq!(leaks(&text), Vec::<&str>::new(), "sarif leaks");
}

#[test]
fn no_planted_secret_in_parquet_cells() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let o = scan(&[
        "--format",
        "parquet",
        "--report",
        ALL_TABLES,
        "-o",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut cells = String::new();
    for t in ALL_TABLES.split(',') {
        let f = std::fs::File::open(dir.path().join(format!("{t}.parquet"))).unwrap();
        let df = ParquetReader::new(f).finish().unwrap();
        for col in df.columns() {
            if let Ok(ca) = col.str() {
                for v in ca.iter().flatten() {
                    cells.push_str(v);
                    cells.push('\n');
                }
            }
        }
    }
    assert!(!cells.is_empty());
    assert_eq!(leaks(&cells), Vec::<&str>::new());
}

#[test]
fn reveal_is_the_only_door() {
    let o = scan(&["--format", "ndjson", "--reveal"]);
    assert_eq!(o.status.code(), Some(0));
    let shown = leaks(&stdout(&o));
    assert!(
        shown.len() >= 10,
        "--reveal shows secret values ({} of {})",
        shown.len(),
        planted().len()
    );
}
