//! Writing polars tables as CSV, JSON and NDJSON with polars' own writers, and creating output
//! files readable by the user only (they describe credentials, even masked).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use polars::prelude::*;

use super::{ReportError, Tables};
use crate::config::OutputFormat;

/// Creates (or truncates) `path` with mode 0600, and tightens an existing file to 0600.
pub fn create_private(path: &Path) -> Result<BufWriter<File>, ReportError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let f = opts.open(path).map_err(|err| ReportError::Io {
        path: path.display().to_string(),
        err,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|err| ReportError::Io {
                path: path.display().to_string(),
                err,
            })?;
    }
    Ok(BufWriter::new(f))
}

/// Keeps the kind of an I/O error that polars wrapped (a broken pipe must stay a broken pipe so
/// that `credsift scan x | head` ends quietly).
fn polars_io(e: PolarsError) -> std::io::Error {
    fn io_kind(e: &PolarsError) -> Option<std::io::ErrorKind> {
        match e {
            PolarsError::IO { error, .. } => Some(error.kind()),
            PolarsError::Context { error, .. } => io_kind(error),
            _ => None,
        }
    }
    match io_kind(&e) {
        Some(kind) => std::io::Error::new(kind, e.to_string()),
        None => std::io::Error::other(e.to_string()),
    }
}

/// One table in CSV (with header) or NDJSON (one object per row).
/// Rows written at a time by the JSON writers: polars' JSON writer serializes a whole frame in
/// memory before writing (about three times the text of a large run's findings, at the run's
/// memory peak); slices bound that to a few MiB.
const SLICE_ROWS: usize = 4096;

/// `df` in slices of `SLICE_ROWS` rows (none for an empty frame).
fn slices(df: &DataFrame) -> impl Iterator<Item = DataFrame> + '_ {
    (0..df.height())
        .step_by(SLICE_ROWS)
        .map(|at| df.slice(at as i64, SLICE_ROWS))
}

pub fn write_frame(
    format: OutputFormat,
    df: &mut DataFrame,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Csv => CsvWriter::new(w)
            .include_header(true)
            .finish(df)
            .map_err(polars_io),
        _ => {
            for mut part in slices(df) {
                JsonWriter::new(&mut *w)
                    .with_json_format(JsonFormat::JsonLines)
                    .finish(&mut part)
                    .map_err(polars_io)?;
            }
            Ok(())
        }
    }
}

/// `--format json`: one object whose keys are the table names and whose values are arrays of row
/// objects, e.g. `{"findings": [{...}], "summary": [...]}`.
pub fn write_json_object(tables: &Tables, w: &mut dyn Write) -> std::io::Result<()> {
    w.write_all(b"{")?;
    for (i, (kind, df)) in tables.list.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        write!(w, "\n\"{}\": ", kind.as_str())?;
        if df.height() == 0 {
            w.write_all(b"[]")?;
        } else {
            // Slice by slice, as in `write_frame`: each slice's array is written without its
            // brackets, the slices joined by commas.
            w.write_all(b"[")?;
            let mut buf = Vec::new();
            for (i, mut part) in slices(df).enumerate() {
                buf.clear();
                JsonWriter::new(&mut buf)
                    .with_json_format(JsonFormat::Json)
                    .finish(&mut part)
                    .map_err(polars_io)?;
                let inner = buf
                    .strip_prefix(b"[")
                    .and_then(|b| b.strip_suffix(b"]"))
                    .unwrap_or(&buf);
                if i > 0 {
                    w.write_all(b",")?;
                }
                w.write_all(inner)?;
            }
            w.write_all(b"]")?;
        }
    }
    w.write_all(b"\n}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ReportKind;

    /// More rows than one slice, with text that needs escaping: both JSON writers give every row
    /// once, in order, as valid JSON.
    fn frame(rows: usize) -> DataFrame {
        let n: Vec<u64> = (0..rows as u64).collect();
        let t: Vec<String> = (0..rows).map(|i| format!("row \"{i}\",\n[x]")).collect();
        DataFrame::new(
            rows,
            vec![Column::new("n".into(), n), Column::new("t".into(), t)],
        )
        .unwrap()
    }

    fn check_rows(rows: &[serde_json::Value], want: usize) {
        assert_eq!(rows.len(), want);
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(r["n"].as_u64(), Some(i as u64));
            assert_eq!(r["t"].as_str(), Some(format!("row \"{i}\",\n[x]").as_str()));
        }
    }

    #[test]
    fn sliced_writers_keep_every_row_in_order() {
        for rows in [0, 1, SLICE_ROWS, SLICE_ROWS + 1, 2 * SLICE_ROWS + 7] {
            let mut df = frame(rows);
            let mut out = Vec::new();
            write_frame(OutputFormat::Ndjson, &mut df, &mut out).unwrap();
            let lines: Vec<serde_json::Value> = String::from_utf8(out)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            check_rows(&lines, rows);

            let tables = Tables {
                list: vec![(ReportKind::Findings, frame(rows))],
            };
            let mut out = Vec::new();
            write_json_object(&tables, &mut out).unwrap();
            let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
            check_rows(doc["findings"].as_array().unwrap(), rows);
        }
    }
}
