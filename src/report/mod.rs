//! Reports: turns a `engine::ScanResult` into polars tables (`tables`) and writes them in the
//! chosen format (`text` for the terminal table, polars' own writers for CSV/JSON/NDJSON/Parquet,
//! `sarif` for code-scanning tools). Secrets are masked unless the run was asked to `--reveal`.

pub mod json_rows;
pub mod output;
pub mod sarif;
pub mod tables;
pub mod text;

use std::io::Write;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::config::{OutputFormat, ReportKind};
use crate::engine::ScanResult;

pub use tables::Tables;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot write {path}: {err}")]
    Io { path: String, err: std::io::Error },
    #[error("writing output: {0}")]
    Write(#[from] std::io::Error),
    #[error("building the {table} table: {err}")]
    Polars {
        table: &'static str,
        err: PolarsError,
    },
    #[error(transparent)]
    Spill(#[from] crate::spill::SpillError),
}

/// How to write the reports of a run.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub reports: Vec<ReportKind>,
    pub format: OutputFormat,
    pub output: Option<PathBuf>,
    pub reveal: bool,
    pub color: bool,
    /// Stdout is a terminal (and no `--output`): tables fit its width.
    pub terminal: bool,
    /// After a table-format findings report, print the one-screen summary.
    pub summary_after_table: bool,
}

/// Where the report bytes go: stdout, or files under/next to `--output`.
///
/// Multi-table rules (documented in README): `table` and `json` put every table in one output;
/// `csv` and `ndjson` with several tables need `--output PATH` and write one file per table next
/// to it (`PATH` with `.findings.csv`, `.summary.csv`... in place of its extension); `parquet`
/// always needs `--output DIR` and writes `DIR/<table>.parquet`; `sarif` carries findings only.
pub fn write_reports(
    result: &ScanResult,
    opts: &ReportOptions,
    stdout: &mut dyn Write,
) -> Result<(), ReportError> {
    let kinds = &opts.reports;
    match opts.format {
        OutputFormat::Sarif => {
            if kinds.iter().any(|k| *k != ReportKind::Findings) {
                return Err(ReportError::Usage(
                    "--format sarif carries findings only; drop the other --report values".into(),
                ));
            }
            emit(opts.output.as_deref(), stdout, |w| {
                sarif::write_sarif(result, opts.reveal, w)?;
                Ok(w.write_all(b"\n")?)
            })
        }
        OutputFormat::Table => {
            let tables = Tables::build(result, kinds, opts.reveal, true)?;
            emit(opts.output.as_deref(), stdout, |w| {
                Ok(text::write_all(&tables, result, opts, w)?)
            })
        }
        OutputFormat::Json => emit(opts.output.as_deref(), stdout, |w| {
            output::write_json_object(result, kinds, opts.reveal, w)
        }),
        OutputFormat::Csv | OutputFormat::Ndjson => {
            if let [kind] = kinds.as_slice() {
                emit(opts.output.as_deref(), stdout, |w| {
                    output::write_table(result, *kind, opts.format, opts.reveal, w)
                })
            } else {
                let Some(base) = &opts.output else {
                    return Err(ReportError::Usage(format!(
                        "{} reports in --format {} need --output PATH (one file per table is written next to it)",
                        kinds.len(),
                        if opts.format == OutputFormat::Csv {
                            "csv"
                        } else {
                            "ndjson"
                        }
                    )));
                };
                for &kind in kinds {
                    let path = sibling_path(base, kind.as_str(), opts.format.extension());
                    emit(Some(&path), stdout, |w| {
                        output::write_table(result, kind, opts.format, opts.reveal, w)
                    })?;
                }
                Ok(())
            }
        }
        OutputFormat::Parquet => {
            let Some(dir) = &opts.output else {
                return Err(ReportError::Usage(
                    "--format parquet needs --output DIR (one .parquet file per table)".into(),
                ));
            };
            std::fs::create_dir_all(dir).map_err(|err| io_err(dir, err))?;
            for &kind in kinds {
                let path = dir.join(format!("{}.parquet", kind.as_str()));
                let f = output::create_private(&path)?;
                let polars = |err| ReportError::Polars {
                    table: kind.as_str(),
                    err,
                };
                let parts = match kind {
                    ReportKind::Findings => write_parquet_parts(
                        kind.as_str(),
                        result.findings.rows(),
                        |rows| tables::findings(rows, opts.reveal, false),
                        f,
                    ),
                    ReportKind::Keys => write_parquet_parts(
                        kind.as_str(),
                        result.keys.rows(),
                        |rows| tables::key_rows(rows, opts.reveal, false),
                        f,
                    ),
                    _ => {
                        let mut df = tables::table(result, kind, opts.reveal, false)?;
                        ParquetWriter::new(f)
                            .finish(&mut df)
                            .map(|_| ())
                            .map_err(polars)
                    }
                };
                parts.map_err(|e| match e {
                    ReportError::Write(err) => io_err(&path, err),
                    other => other,
                })?;
            }
            Ok(())
        }
    }
}

/// Rows per Parquet row group when a table is written a part at a time.
const PARQUET_GROUP_ROWS: usize = 16384;

/// A table written one row group per `PARQUET_GROUP_ROWS` rows, read back part by part
/// (`build` makes a part's frame), so the whole table is never built.
fn write_parquet_parts<T: crate::spill::Spill>(
    table: &'static str,
    rows: &crate::spill::Sorted<T>,
    build: impl Fn(&[T]) -> PolarsResult<DataFrame>,
    f: impl Write + Send,
) -> Result<(), ReportError> {
    let polars = |err| ReportError::Polars { table, err };
    let mut f = Some(f);
    let mut writer = None;
    let mut start = |df: &DataFrame| -> Result<_, ReportError> {
        let f = f
            .take()
            .ok_or_else(|| std::io::Error::other("parquet writer started twice"))?;
        ParquetWriter::new(f).batched(df.schema()).map_err(polars)
    };
    rows.for_each_chunk(
        PARQUET_GROUP_ROWS,
        |rows: &[T]| -> Result<(), ReportError> {
            let df = build(rows).map_err(polars)?;
            if writer.is_none() {
                writer = Some(start(&df)?);
            }
            if let Some(w) = writer.as_mut() {
                w.write_batch(&df).map_err(polars)?;
            }
            Ok(())
        },
    )?;
    if writer.is_none() {
        // No rows: a file with the table's columns.
        let df = build(&[]).map_err(polars)?;
        let mut w = start(&df)?;
        w.write_batch(&df).map_err(polars)?;
        writer = Some(w);
    }
    if let Some(w) = writer {
        w.finish().map_err(polars)?;
    }
    Ok(())
}

fn io_err(path: &Path, err: std::io::Error) -> ReportError {
    ReportError::Io {
        path: path.display().to_string(),
        err,
    }
}

/// `out.csv` + `summary` → `out.summary.csv`; `out` + `summary` → `out.summary.csv`.
pub fn sibling_path(base: &Path, table: &str, ext: &str) -> PathBuf {
    let stem = base
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "credsift".into());
    base.with_file_name(format!("{stem}.{table}.{ext}"))
}

/// Runs `f` on the output file (created 0600) or on stdout.
fn emit(
    output: Option<&Path>,
    stdout: &mut dyn Write,
    f: impl FnOnce(&mut dyn Write) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    match output {
        Some(p) => {
            let mut file = output::create_private(p)?;
            f(&mut file).map_err(|e| match e {
                ReportError::Write(err) => io_err(p, err),
                other => other,
            })?;
            file.flush().map_err(|err| io_err(p, err))
        }
        None => {
            f(stdout)?;
            stdout.flush()?;
            Ok(())
        }
    }
}
