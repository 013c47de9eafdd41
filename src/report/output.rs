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
            if df.height() == 0 {
                return Ok(());
            }
            JsonWriter::new(w)
                .with_json_format(JsonFormat::JsonLines)
                .finish(df)
                .map_err(polars_io)
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
            let mut df = df.clone();
            JsonWriter::new(&mut *w)
                .with_json_format(JsonFormat::Json)
                .finish(&mut df)
                .map_err(polars_io)?;
        }
    }
    w.write_all(b"\n}\n")
}
