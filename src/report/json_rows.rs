//! JSON row objects of a table whose columns are all strings, integers or booleans, written
//! straight from the frame's columns, byte for byte as polars' JSON writer writes them; and the
//! findings table's rows written the same way straight from the findings (`write_findings`).
//!
//! Why: polars serializes through a generic struct serializer (a streaming iterator per column,
//! a dynamic call per cell, a fresh buffer grown by doubling per part): ~3% of a one-thread run
//! on the 1 GiB bench went to its 40 MB of findings NDJSON (`perf`). Written here, each key's text
//! made once per part, the output after the first byte took 0.13 s instead of 0.18 (three runs
//! each), and the whole 100 MiB run executes 1.2% fewer instructions (cachegrind). Strings are
//! escaped by serde_json, whose escaping polars' writer copies. Other column types (lists,
//! dates, floats) still go through polars: `write` declines a frame it cannot write exactly as
//! polars would, and a test holds every supported type to polars' own output.

use polars::prelude::*;

use super::tables::{Cell, FINDING_COLUMNS, finding_cell};
use crate::model::Finding;

/// One cell's value.
enum Value<'a> {
    Str(&'a str),
    U64(u64),
    I64(i64),
    Bool(bool),
}

/// One column, read row by row (`None`: null).
type Cells<'a> = Box<dyn Iterator<Item = Option<Value<'a>>> + 'a>;

/// The cells of `c`, or `None` for a type polars writes in a way this module does not reproduce.
fn cells(c: &Column) -> Option<Cells<'_>> {
    let s = c.as_materialized_series();
    Some(match s.dtype() {
        DataType::String => Box::new(s.str().ok()?.iter().map(|v| v.map(Value::Str))),
        DataType::UInt64 => Box::new(s.u64().ok()?.iter().map(|v| v.map(Value::U64))),
        DataType::UInt32 => Box::new(
            s.u32()
                .ok()?
                .iter()
                .map(|v| v.map(|v| Value::U64(v.into()))),
        ),
        DataType::Int64 => Box::new(s.i64().ok()?.iter().map(|v| v.map(Value::I64))),
        DataType::Int32 => Box::new(
            s.i32()
                .ok()?
                .iter()
                .map(|v| v.map(|v| Value::I64(v.into()))),
        ),
        DataType::Boolean => Box::new(s.bool().ok()?.iter().map(|v| v.map(Value::Bool))),
        _ => return None,
    })
}

fn write_value(out: &mut Vec<u8>, v: Option<Value<'_>>) {
    match v {
        Some(Value::Str(v)) => write_str(out, v),
        Some(Value::U64(v)) => out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
        Some(Value::I64(v)) => out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
        Some(Value::Bool(v)) => out.extend_from_slice(if v { b"true" } else { b"false" }),
        None => out.extend_from_slice(b"null"),
    }
}

/// Whether `write` can write `df`: every column is a string, integer or boolean column.
pub fn supports(df: &DataFrame) -> bool {
    df.columns().iter().all(|c| cells(c).is_some())
}

/// Appends the rows of `df` to `out` as JSON objects, each followed by `after` (`\n` for NDJSON)
/// and separated by `between` (`,` for the rows of a JSON array). Returns `false`, having written
/// nothing, when a column's type is not one this module writes.
pub fn write(df: &DataFrame, between: &[u8], after: &[u8], out: &mut Vec<u8>) -> bool {
    let Some(mut cols) = df.columns().iter().map(cells).collect::<Option<Vec<_>>>() else {
        return false;
    };
    let keys = keys(df.columns().iter().map(|c| c.name().as_str()));
    write_rows(df.height(), &keys, between, after, out, |_, col, out| {
        // A column shorter than the frame cannot happen; it would read as null.
        let v = cols.get_mut(col).and_then(|c| c.next().flatten());
        write_value(out, v);
    });
    true
}

/// `"a":`, `,"b":`, ...: each key's text with the comma before it, made once a part.
fn keys<'a>(names: impl Iterator<Item = &'a str>) -> Vec<Vec<u8>> {
    names
        .enumerate()
        .map(|(i, name)| {
            let mut k = Vec::with_capacity(name.len() + 4);
            if i > 0 {
                k.push(b',');
            }
            write_str(&mut k, name);
            k.push(b':');
            k
        })
        .collect()
}

/// `rows` objects of the `keys` (from `keys`), separated by `between`, each followed by
/// `after`; `value(row, col, out)` writes a cell's value.
fn write_rows(
    rows: usize,
    keys: &[Vec<u8>],
    between: &[u8],
    after: &[u8],
    out: &mut Vec<u8>,
    mut value: impl FnMut(usize, usize, &mut Vec<u8>),
) {
    for row in 0..rows {
        if row > 0 {
            out.extend_from_slice(between);
        }
        out.push(b'{');
        for (col, key) in keys.iter().enumerate() {
            out.extend_from_slice(key);
            value(row, col, out);
        }
        out.push(b'}');
        out.extend_from_slice(after);
    }
}

/// The findings table's rows (`tables::findings(rows, reveal, true)`, the text formats' frame)
/// as `write` would write them, straight from the findings: no frame is built.
///
/// Why: the findings are the table that grows with the input, and building its frame copied
/// every string into polars' buffers only for `write` to read it back: in a one-thread `perf`
/// profile of the 1 GiB bench, building took about as many samples as writing. Without it, the
/// 100 MiB run executes 1.1% fewer instructions (cachegrind), and the 1 GiB run's output after
/// the first byte takes 0.094 s instead of 0.108 (medians of four runs). Both read a row's cells
/// from `tables::finding_cell`; a test holds this writer to `write` over the frame (types, nulls,
/// escaping) on findings with every optional field present and absent.
pub fn write_findings(
    rows: &[Finding],
    reveal: bool,
    between: &[u8],
    after: &[u8],
    out: &mut Vec<u8>,
) {
    let keys = keys(FINDING_COLUMNS.into_iter());
    let mut text = String::new();
    write_rows(rows.len(), &keys, between, after, out, |row, col, out| {
        let Some(f) = rows.get(row) else {
            return;
        };
        match finding_cell(f, col, reveal, &mut text) {
            Cell::Str(v) => write_str(out, v),
            Cell::U64(v) => write_value(out, Some(Value::U64(v))),
            Cell::Text => write_str(out, &text),
            Cell::Null => write_value(out, None),
        }
    });
}

/// A JSON string as serde_json writes it, which is how polars writes it too (its writer is
/// adapted from serde_json's): `"` and `\` escaped, `\b \t \n \f \r` by name, other control
/// bytes as `\u00XX`, everything else, non-ASCII included, as is.
fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::io::SerWriter;
    use proptest::prelude::*;

    fn frame(cols: Vec<Column>) -> PolarsResult<DataFrame> {
        let height = cols.first().map_or(0, |c| c.len());
        DataFrame::new(height, cols)
    }

    fn polars_rows(df: &mut DataFrame, format: JsonFormat) -> Vec<u8> {
        let mut out = Vec::new();
        JsonWriter::new(&mut out)
            .with_json_format(format)
            .finish(df)
            .unwrap();
        out
    }

    /// Ours, in both layouts, against polars' writer on the same frame.
    fn check(mut df: DataFrame) {
        let mut lines = Vec::new();
        assert!(write(&df, b"", b"\n", &mut lines));
        let want = polars_rows(&mut df, JsonFormat::JsonLines);
        assert_eq!(
            String::from_utf8_lossy(&lines),
            String::from_utf8_lossy(&want)
        );
        let mut array = b"[".to_vec();
        assert!(write(&df, b",", b"", &mut array));
        array.push(b']');
        let want = polars_rows(&mut df, JsonFormat::Json);
        assert_eq!(
            String::from_utf8_lossy(&array),
            String::from_utf8_lossy(&want)
        );
    }

    #[test]
    fn every_supported_type_and_nulls_as_polars_writes_them() {
        let df = frame(vec![
            Column::new(
                "s".into(),
                [
                    Some("plain"),
                    None,
                    Some("q\"b\\c\u{1}\u{1f}\u{7f}é😀\t\n\r\u{8}\u{c}"),
                ],
            ),
            Column::new("u".into(), [Some(0u64), None, Some(u64::MAX)]),
            Column::new("u32".into(), [Some(7u32), Some(u32::MAX), None]),
            Column::new("i".into(), [Some(i64::MIN), Some(-1), None]),
            Column::new("i32".into(), [None, Some(i32::MIN), Some(3i32)]),
            Column::new("b".into(), [Some(true), None, Some(false)]),
            Column::new("we\"ird key\n".into(), ["x", "", "z"]),
        ])
        .unwrap();
        check(df);
    }

    #[test]
    fn an_empty_frame_writes_nothing() {
        let df = frame(vec![Column::new("s".into(), Vec::<&str>::new())]).unwrap();
        let mut out = Vec::new();
        assert!(write(&df, b",", b"\n", &mut out));
        assert!(out.is_empty());
    }

    #[test]
    fn other_types_are_declined_untouched() {
        let df = frame(vec![
            Column::new("s".into(), ["a"]),
            Column::new("f".into(), [1.5f64]),
        ])
        .unwrap();
        let mut out = b"kept".to_vec();
        assert!(!write(&df, b",", b"\n", &mut out));
        assert_eq!(out, b"kept");
    }

    /// A finding whose every field comes from `v`: optional ones present or absent, text that
    /// needs escaping, times at the ends of the range.
    #[allow(clippy::type_complexity)]
    fn finding(
        v: &(
            (Option<u64>, bool, Option<i64>, Option<i64>, u64),
            (String, String, String, String),
            (Option<u8>, Option<u32>, u8),
        ),
    ) -> Finding {
        use crate::model::{Location, Locator, Severity};
        use crate::secret::Sensitive;
        let ((at, entry, first, last, count), (a, b, c, d), (loc, cwe, sev)) = v;
        let locations = [Location::Header, Location::Query, Location::ResponseBody];
        let severities = [Severity::Info, Severity::Medium, Severity::Critical];
        Finding {
            rule: "cleartext-credential",
            severity: severities[usize::from(*sev) % severities.len()],
            title: "A \"title\"",
            source: std::sync::Arc::from(a.as_str()),
            locator: at.map(|n| {
                if *entry {
                    Locator::Entry(n)
                } else {
                    Locator::Frame(n)
                }
            }),
            first_seen: *first,
            last_seen: *last,
            count: *count,
            client: b.as_str().into(),
            server: c.as_str().into(),
            host: d.as_str().into(),
            method: "POST".into(),
            url: Sensitive::new(format!("/u?k=…({})", a.len()), format!("/u?k={a}")),
            location: loc.map(|l| locations[usize::from(l) % locations.len()]),
            name: c.as_str().into(),
            kind: "api-key".into(),
            key_fp: d.as_str().into(),
            evidence: Sensitive::new(format!("…({})", b.len()), b.as_str()),
            detail: a.as_str().into(),
            cwe: *cwe,
        }
    }

    proptest! {
        /// Straight from the findings, as through their frame, in both layouts, masked and
        /// revealed.
        #[test]
        fn findings_rows_as_their_frame_writes_them(
            rows in proptest::collection::vec(
                (
                    (
                        proptest::option::of(any::<u64>()),
                        any::<bool>(),
                        proptest::option::of(prop_oneof![Just(i64::MIN), Just(i64::MAX), any::<i64>()]),
                        proptest::option::of(any::<i64>()),
                        any::<u64>(),
                    ),
                    (".*", "[a-z\\\\\"\u{0}-\u{1f}é]*", ".*", ".*"),
                    (proptest::option::of(any::<u8>()), proptest::option::of(any::<u32>()), any::<u8>()),
                ),
                0..12,
            ),
            reveal in any::<bool>(),
        ) {
            let findings: Vec<Finding> = rows.iter().map(finding).collect();
            let df = crate::report::tables::findings(&findings, reveal, true).unwrap();
            for (between, after) in [(&b""[..], &b"\n"[..]), (&b","[..], &b""[..])] {
                let mut want = Vec::new();
                assert!(write(&df, between, after, &mut want));
                let mut got = Vec::new();
                write_findings(&findings, reveal, between, after, &mut got);
                prop_assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want));
            }
        }

        #[test]
        fn any_strings_and_numbers_as_polars_writes_them(
            rows in proptest::collection::vec(
                (proptest::option::of(".*"), proptest::option::of(any::<u64>()),
                 proptest::option::of(any::<i64>()), any::<bool>()),
                0..20,
            ),
        ) {
            let df = frame(vec![
                Column::new("s".into(), rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>()),
                Column::new("u".into(), rows.iter().map(|r| r.1).collect::<Vec<_>>()),
                Column::new("i".into(), rows.iter().map(|r| r.2).collect::<Vec<_>>()),
                Column::new("b".into(), rows.iter().map(|r| r.3).collect::<Vec<_>>()),
            ])
            .unwrap();
            check(df);
        }
    }
}
