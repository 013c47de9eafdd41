//! Writing polars tables as CSV (polars' writer), JSON and NDJSON (`json_rows` for tables of
//! strings and integers, polars' writer for the rest), and creating output files readable by the
//! user only (they describe credentials, even masked).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use polars::prelude::*;

use super::{ReportError, json_rows, tables};
use crate::config::{OutputFormat, ReportKind};
use crate::engine::ScanResult;
use crate::spill::{Sorted, Spill, SpillError};

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

/// Rows serialized at a time: polars' JSON writer serializes a whole frame in memory before
/// writing (about three times the text of a large run's findings, at the run's memory peak), and
/// the findings table is built from a slice of rows at a time (`write_table`), so a part bounds
/// both to a few MiB.
pub const SLICE_ROWS: usize = 4096;

/// How many parts of `rows` rows are written (one, empty, for an empty table: a CSV still gets
/// its header).
pub fn part_count(rows: usize) -> usize {
    rows.div_ceil(SLICE_ROWS).max(1)
}

/// Rows `part * SLICE_ROWS ..` (at most `SLICE_ROWS` of them) of `df`.
pub fn frame_part(df: &DataFrame, part: usize) -> DataFrame {
    df.slice((part * SLICE_ROWS) as i64, SLICE_ROWS)
}

/// The text of one part of a table. CSV: the header with the first part only. NDJSON: one object
/// per line. JSON: the part's row objects without the array brackets, preceded by a comma after
/// the first part (the caller writes the brackets).
fn serialize_part(
    format: OutputFormat,
    df: &mut DataFrame,
    first: bool,
    out: &mut Vec<u8>,
) -> PolarsResult<()> {
    match format {
        OutputFormat::Csv => CsvWriter::new(out).include_header(first).finish(df),
        // No rows, no comma: an empty part adds nothing to the array, whichever writer.
        OutputFormat::Json if df.height() == 0 => Ok(()),
        _ if json_rows::supports(df) => {
            // The rows of this part, as polars would write them (`json_rows`).
            json_layout(format, first, out, |between, after, out| {
                json_rows::write(df, between, after, out);
            });
            Ok(())
        }
        OutputFormat::Json => {
            let mut buf = Vec::new();
            JsonWriter::new(&mut buf)
                .with_json_format(JsonFormat::Json)
                .finish(df)?;
            let inner = buf
                .strip_prefix(b"[")
                .and_then(|b| b.strip_suffix(b"]"))
                .unwrap_or(&buf);
            if !first {
                out.push(b',');
            }
            out.extend_from_slice(inner);
            Ok(())
        }
        _ => JsonWriter::new(out)
            .with_json_format(JsonFormat::JsonLines)
            .finish(df),
    }
}

/// Appends a part's rows, written by `rows(between, after, out)`, in `format`'s layout: NDJSON
/// one object a line; JSON the array's objects, after a comma unless the part is the table's
/// first.
fn json_layout(
    format: OutputFormat,
    first: bool,
    out: &mut Vec<u8>,
    rows: impl FnOnce(&[u8], &[u8], &mut Vec<u8>),
) {
    if format == OutputFormat::Json {
        if !first {
            out.push(b',');
        }
        rows(b",", b"", out);
    } else {
        rows(b"", b"\n", out);
    }
}

/// Writes table `table` of `parts` parts (`part(i, out)` appends the text of part `i`) in
/// order. Parts are serialized in parallel on the run's thread pool, a few at a time so that
/// memory stays bounded; the bytes are the same as one writer's over the whole table. A table
/// that fails to build has been written up to the failed part.
pub fn write_parts(
    table: &'static str,
    parts: usize,
    part: impl Fn(usize, &mut Vec<u8>) -> PolarsResult<()> + Sync,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    use rayon::prelude::*;
    let in_flight = 2 * rayon::current_num_threads().max(1);
    let mut bufs = part_buffers(in_flight);
    let mut at = 0;
    while at < parts {
        let end = (at + in_flight).min(parts);
        let done: Vec<PolarsResult<()>> = bufs
            .par_iter_mut()
            .zip(at..end)
            .map(|(out, i)| {
                out.clear();
                part(i, out)
            })
            .collect();
        write_done(done, &bufs, table, w)?;
        at = end;
    }
    Ok(())
}

/// One text buffer per part in flight, reused from round to round: a fresh buffer per part was
/// regrown by doubling while the part was written into it (a memmove per doubling, fresh pages
/// faulted in each time) and, on several threads, freed by the writing thread far from the heap
/// that filled it.
fn part_buffers(in_flight: usize) -> Vec<Vec<u8>> {
    vec![Vec::new(); in_flight]
}

/// Writes the texts of the parts just serialized, in order, up to the first that failed.
fn write_done(
    done: Vec<PolarsResult<()>>,
    bufs: &[Vec<u8>],
    table: &'static str,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    for (res, text) in done.into_iter().zip(bufs) {
        res.map_err(|err| ReportError::Polars { table, err })?;
        w.write_all(text)?;
    }
    Ok(())
}

/// A whole frame: CSV (with header), NDJSON (one object per row) or the rows of a JSON array
/// (without its brackets).
pub fn write_frame(
    format: OutputFormat,
    table: &'static str,
    df: &DataFrame,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    let part =
        |i: usize, out: &mut Vec<u8>| serialize_part(format, &mut frame_part(df, i), i == 0, out);
    write_parts(table, part_count(df.height()), part, w)
}

/// Table `kind` of `result` in CSV, NDJSON or as a JSON array. The findings and keys tables, the
/// ones that grow with the input, are never built whole: each part is built from its rows,
/// written, and dropped.
pub fn write_table(
    result: &ScanResult,
    kind: ReportKind,
    format: OutputFormat,
    reveal: bool,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    let json = format == OutputFormat::Json;
    if json {
        w.write_all(b"[")?;
    }
    if kind == ReportKind::Findings {
        let rows = result.findings.rows();
        if format == OutputFormat::Csv {
            let build = |rows: &[crate::model::Finding]| tables::findings(rows, reveal, true);
            write_sorted(rows, kind.as_str(), built(format, build), w)?;
        } else {
            // JSON and NDJSON rows straight from the findings, with no frame in between.
            let write = |rows: &[crate::model::Finding], first: bool, out: &mut Vec<u8>| {
                // No rows, no comma (as `serialize_part`).
                if !rows.is_empty() {
                    json_layout(format, first, out, |between, after, out| {
                        json_rows::write_findings(rows, reveal, between, after, out);
                    });
                }
                Ok(())
            };
            write_sorted(rows, kind.as_str(), write, w)?;
        }
    } else if kind == ReportKind::Keys {
        let build = |rows: &[crate::analyze::KeyRow]| tables::key_rows(rows, reveal, true);
        write_sorted(result.keys.rows(), kind.as_str(), built(format, build), w)?;
    } else {
        let df = tables::table(result, kind, reveal, true)?;
        write_frame(format, kind.as_str(), &df, w)?;
    }
    if json {
        w.write_all(b"]")?;
    }
    Ok(())
}

/// Serializes a part of rows built into a frame by `build`: `serialize_part`'s text for those
/// rows (`first`: the table's first part).
fn built<T>(
    format: OutputFormat,
    build: impl Fn(&[T]) -> PolarsResult<DataFrame> + Sync,
) -> impl Fn(&[T], bool, &mut Vec<u8>) -> PolarsResult<()> + Sync {
    move |rows, first, out| {
        let mut df = build(rows)?;
        serialize_part(format, &mut df, first, out)
    }
}

/// A table that grows with the input (findings, keys), a few parts of `SLICE_ROWS` rows at a
/// time, each serialized by `write(rows, first, out)` in parallel on the run's pool: parts are
/// slices of the rows when they are in memory, else rows read back from the spill file. Reading
/// back is one merge on one thread, so the next parts are read while the pool serializes the
/// current ones (the 3 GiB bench's 200,000 findings: 0.40 → 0.29 s on two threads).
fn write_sorted<T: Spill>(
    rows: &Sorted<T>,
    table: &'static str,
    write: impl Fn(&[T], bool, &mut Vec<u8>) -> PolarsResult<()> + Sync,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    use rayon::prelude::*;
    if let Some(rows) = rows.as_slice() {
        // In memory: each part is written straight from its slice, nothing copied.
        let part = |i: usize, out: &mut Vec<u8>| {
            let from = (i * SLICE_ROWS).min(rows.len());
            let to = (from + SLICE_ROWS).min(rows.len());
            write(rows.get(from..to).unwrap_or_default(), i == 0, out)
        };
        return write_parts(table, part_count(rows.len()), part, w);
    }
    let in_flight = 2 * rayon::current_num_threads().max(1);
    let mut merged = rows.iter();
    // The next `in_flight` parts; fewer (or none) at the end.
    let read = |merged: &mut crate::spill::Merge<'_, T>| -> Result<Vec<Vec<T>>, SpillError> {
        let mut parts = Vec::with_capacity(in_flight);
        while parts.len() < in_flight {
            let part = merged
                .by_ref()
                .take(SLICE_ROWS)
                .collect::<Result<Vec<T>, SpillError>>()?;
            if part.is_empty() {
                break;
            }
            parts.push(part);
        }
        Ok(parts)
    };
    let mut parts = read(&mut merged)?;
    if parts.is_empty() {
        // An empty table is one empty part (a CSV still gets its header).
        parts.push(Vec::new());
    }
    let mut bufs = part_buffers(in_flight);
    let mut first = true;
    while !parts.is_empty() {
        let head = first;
        let (next, done) = rayon::join(
            || read(&mut merged),
            || {
                bufs.par_iter_mut()
                    .zip(parts.par_iter())
                    .enumerate()
                    .map(|(i, (out, rows))| {
                        out.clear();
                        write(rows, head && i == 0, out)
                    })
                    .collect::<Vec<PolarsResult<()>>>()
            },
        );
        write_done(done, &bufs, table, w)?;
        first = false;
        parts = next?;
    }
    Ok(())
}

/// `--format json`: one object whose keys are the table names and whose values are arrays of row
/// objects, e.g. `{"findings": [{...}], "summary": [...]}`.
pub fn write_json_object(
    result: &ScanResult,
    kinds: &[ReportKind],
    reveal: bool,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    w.write_all(b"{")?;
    for (i, &kind) in kinds.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        write!(w, "\n\"{}\": ", kind.as_str())?;
        write_table(result, kind, OutputFormat::Json, reveal, w)?;
    }
    w.write_all(b"\n}\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let df = frame(rows);
            let mut out = Vec::new();
            write_frame(OutputFormat::Ndjson, "t", &df, &mut out).unwrap();
            let lines: Vec<serde_json::Value> = String::from_utf8(out)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            check_rows(&lines, rows);

            let mut out = b"[".to_vec();
            write_frame(OutputFormat::Json, "t", &df, &mut out).unwrap();
            out.push(b']');
            let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
            check_rows(doc.as_array().unwrap(), rows);

            // Parts give the same bytes as polars' writer over the whole frame.
            let mut out = Vec::new();
            write_frame(OutputFormat::Csv, "t", &df, &mut out).unwrap();
            let mut whole = Vec::new();
            CsvWriter::new(&mut whole)
                .include_header(true)
                .finish(&mut df.clone())
                .unwrap();
            assert_eq!(out, whole);
        }
    }

    /// A JSON part with no rows adds nothing, not even the comma, whether `json_rows` writes the
    /// table or polars' writer does (a float column is polars').
    #[test]
    fn an_empty_json_part_adds_nothing_with_either_writer() {
        let frames = [
            DataFrame::new(0, vec![Column::new("n".into(), Vec::<u64>::new())]).unwrap(),
            DataFrame::new(0, vec![Column::new("f".into(), Vec::<f64>::new())]).unwrap(),
        ];
        for mut df in frames {
            for first in [true, false] {
                let mut out = Vec::new();
                serialize_part(OutputFormat::Json, &mut df, first, &mut out).unwrap();
                assert!(out.is_empty(), "{:?}", String::from_utf8_lossy(&out));
            }
        }
        // And a float column's rows still come from polars, after the comma.
        let mut df = DataFrame::new(1, vec![Column::new("f".into(), [1.5f64])]).unwrap();
        let mut out = Vec::new();
        serialize_part(OutputFormat::Json, &mut df, false, &mut out).unwrap();
        assert_eq!(out, br#",{"f":1.5}"#);
    }

    /// The findings table written part by part is the table built whole, written whole.
    #[test]
    fn findings_in_parts_match_the_whole_table() {
        use crate::model::{Finding, Locator, Severity};
        use crate::secret::Sensitive;
        // Four parts: more than one batch of parts in flight on one thread (two at a time).
        let findings: Vec<Finding> = (0..3 * SLICE_ROWS as u64 + 10)
            .map(|i| Finding {
                rule: "credential-in-url",
                // One critical finding, the last to arrive: the run's highest severity.
                severity: if i == 3 * SLICE_ROWS as u64 + 9 {
                    Severity::Critical
                } else {
                    Severity::High
                },
                title: crate::analyze::rule_meta("credential-in-url")
                    .unwrap()
                    .title,
                source: std::sync::Arc::from("a.pcap"),
                locator: Some(Locator::Frame(i)),
                first_seen: Some(i as i64 * 1_000_000),
                last_seen: None,
                count: i + 1,
                client: "10.0.0.1:1".into(),
                server: "10.0.0.2:80".into(),
                host: "h".into(),
                method: "GET".into(),
                url: Sensitive::new(format!("/x?k=…({i})"), format!("/x?k={i}")),
                location: None,
                name: format!("n\"{i}").into(),
                kind: "api-key".into(),
                key_fp: format!("{i:016x}").into(),
                evidence: Sensitive::plain("…(5)"),
                detail: String::new().into(),
                cwe: Some(598),
            })
            .collect();
        let sorted = crate::analyze::aggregate(findings.clone());
        let in_memory = ScanResult {
            findings: sorted.clone().into(),
            ..Default::default()
        };
        // The same findings spilled (every push its own run) and merged back.
        let spill = crate::spill::Spiller::new(
            0,
            crate::analyze::merge_order,
            crate::analyze::sort_and_fold,
        );
        for c in findings.chunks(1000) {
            spill.push(c.to_vec());
        }
        let crate::spill::Finished::Spilled(runs) = spill.finish() else {
            panic!("nothing spilled");
        };
        let spilled = ScanResult {
            findings: crate::analyze::aggregate_spilled(&runs, 0).unwrap().0,
            ..Default::default()
        };
        assert!(spilled.findings.rows().spilled_runs() > 1);
        assert_eq!(spilled.findings.len(), in_memory.findings.len());
        assert_eq!(spilled.findings.max_severity(), Some(Severity::Critical));
        assert_eq!(in_memory.findings.max_severity(), Some(Severity::Critical));
        for (threads, result) in [
            (1, &in_memory),
            (2, &in_memory),
            (1, &spilled),
            (2, &spilled),
        ] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for format in [OutputFormat::Csv, OutputFormat::Ndjson, OutputFormat::Json] {
                for reveal in [false, true] {
                    let mut parts = Vec::new();
                    pool.install(|| {
                        write_table(result, ReportKind::Findings, format, reveal, &mut parts)
                    })
                    .unwrap();
                    let mut whole = Vec::new();
                    let mut df = tables::findings(&sorted, reveal, true).unwrap();
                    match format {
                        OutputFormat::Csv => CsvWriter::new(&mut whole)
                            .include_header(true)
                            .finish(&mut df)
                            .unwrap(),
                        OutputFormat::Json => JsonWriter::new(&mut whole)
                            .with_json_format(JsonFormat::Json)
                            .finish(&mut df)
                            .unwrap(),
                        _ => JsonWriter::new(&mut whole)
                            .with_json_format(JsonFormat::JsonLines)
                            .finish(&mut df)
                            .unwrap(),
                    }
                    assert!(
                        parts == whole,
                        "{format:?} reveal={reveal} threads={threads}"
                    );
                }
            }
        }
    }
}
