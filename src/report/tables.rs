//! Builds the report tables as polars DataFrames: `findings` (exactly the output contract's
//! columns), `summary`, `keys`, `exchanges` and `sources`. Timestamps are typed datetimes for
//! Parquet and RFC 3339 text for the text formats.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use polars::prelude::*;

use super::ReportError;
use crate::analyze::KeyRow;
use crate::config::ReportKind;
use crate::engine::ScanResult;
use crate::model::{Finding, Severity};

/// The contract's finding columns, in order.
pub const FINDING_COLUMNS: [&str; 20] = [
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

/// Table `kind` of `result`, whole.
pub fn table(
    result: &ScanResult,
    kind: ReportKind,
    reveal: bool,
    text_times: bool,
) -> Result<DataFrame, ReportError> {
    let polars = |err| ReportError::Polars {
        table: kind.as_str(),
        err,
    };
    match kind {
        ReportKind::Findings => {
            findings(&result.findings.to_vec()?, reveal, text_times).map_err(polars)
        }
        ReportKind::Summary => summary(result),
        ReportKind::Keys => keys(result, reveal, text_times),
        ReportKind::Exchanges => exchanges(result, reveal, text_times).map_err(polars),
        ReportKind::Sources => sources(result, text_times).map_err(polars),
    }
}

/// The requested tables, in the order asked for.
pub struct Tables {
    pub list: Vec<(ReportKind, DataFrame)>,
}

impl Tables {
    pub fn build(
        result: &ScanResult,
        kinds: &[ReportKind],
        reveal: bool,
        text_times: bool,
    ) -> Result<Tables, ReportError> {
        let mut list = Vec::new();
        for &k in kinds {
            let df = table(result, k, reveal, text_times)?;
            list.push((k, df));
        }
        Ok(Tables { list })
    }

    pub fn get(&self, kind: ReportKind) -> Option<&DataFrame> {
        self.list.iter().find(|(k, _)| *k == kind).map(|(_, d)| d)
    }
}

fn col_str(name: &str, v: Vec<String>) -> Column {
    Column::new(name.into(), v)
}

fn col_u64(name: &str, v: Vec<u64>) -> Column {
    Column::new(name.into(), v)
}

fn col_opt_u64(name: &str, v: Vec<Option<u64>>) -> Column {
    Column::new(name.into(), v)
}

fn col_bool(name: &str, v: Vec<bool>) -> Column {
    Column::new(name.into(), v)
}

/// A text column of one value per row, each written by `write` into a buffer reused from row
/// to row (`false`: null): no `String` allocated per row (timestamps as text).
fn col_text<T>(
    name: &str,
    rows: impl ExactSizeIterator<Item = T>,
    mut write: impl FnMut(T, &mut String) -> bool,
) -> Column {
    let mut b = StringChunkedBuilder::new(name.into(), rows.len());
    let mut buf = String::new();
    for row in rows {
        buf.clear();
        if write(row, &mut buf) {
            b.append_value(buf.as_str());
        } else {
            b.append_null();
        }
    }
    b.finish().into_column()
}

/// RFC 3339 text of a ns timestamp (UTC).
pub fn rfc3339(ns: i64) -> String {
    let mut out = String::with_capacity(30);
    rfc3339_into(ns, &mut out);
    out
}

/// `rfc3339`, appended to `out`.
fn rfc3339_into(ns: i64, out: &mut String) {
    // What the `time` crate's `Rfc3339` writes in UTC (a test holds the two together), by hand:
    // through its formatter, ~0.7% of a run went into the findings table's timestamps.
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000) as u32;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400) as u32;
    // Every i64 of nanoseconds is within 1677..=2262; RFC 3339 has four-digit years only.
    let Ok(y) = u32::try_from(y) else {
        return;
    };
    if y > 9999 {
        return;
    }
    let (h, mi, sec) = (sod / 3600, sod / 60 % 60, sod % 60);
    for (v, sep) in [
        (y / 100, ""),
        (y % 100, "-"),
        (m, "-"),
        (d, "T"),
        (h, ":"),
        (mi, ":"),
        (sec, ""),
    ] {
        out.push(char::from(b'0' + (v / 10) as u8));
        out.push(char::from(b'0' + (v % 10) as u8));
        out.push_str(sep);
    }
    if nanos != 0 {
        // Nine digits, trailing zeros dropped.
        let mut digits = nanos;
        let mut width = 9;
        while digits.is_multiple_of(10) {
            digits /= 10;
            width -= 1;
        }
        out.push('.');
        for i in (0..width).rev() {
            out.push(char::from(b'0' + (digits / 10u32.pow(i) % 10) as u8));
        }
    }
    out.push('Z');
}

/// (year, month, day) of a day number counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn col_ts(name: &str, v: Vec<Option<i64>>, text: bool) -> PolarsResult<Column> {
    if text {
        return Ok(col_text(name, v.into_iter(), |t, buf| {
            t.map(|ns| rfc3339_into(ns, buf)).is_some()
        }));
    }
    let s = Series::new(name.into(), v).cast(&DataType::Datetime(
        TimeUnit::Nanoseconds,
        Some(TimeZone::UTC),
    ))?;
    Ok(s.into())
}

fn frame(columns: Vec<Column>) -> PolarsResult<DataFrame> {
    let height = columns.first().map(|c| c.len()).unwrap_or(0);
    DataFrame::new(height, columns)
}

pub fn findings(f: &[Finding], reveal: bool, text: bool) -> PolarsResult<DataFrame> {
    let columns = FINDING_COLUMNS
        .iter()
        .enumerate()
        .map(|(col, &name)| match col {
            FIRST_SEEN | LAST_SEEN if !text => {
                let times = f.iter().map(|x| seen(x, col)).collect();
                col_ts(name, times, false)
            }
            COUNT => Ok(col_u64(name, f.iter().map(|x| x.count).collect())),
            _ => {
                // Each cell straight into polars' buffers: no string of its own per row.
                let mut b = StringChunkedBuilder::new(name.into(), f.len());
                let mut buf = String::new();
                for x in f {
                    match finding_cell(x, col, reveal, &mut buf) {
                        Cell::Str(v) => b.append_value(v),
                        Cell::Text => b.append_value(buf.as_str()),
                        Cell::U64(_) | Cell::Null => b.append_null(),
                    }
                }
                Ok(b.finish().into_column())
            }
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    frame(columns)
}

/// Where `finding_cell` keeps the columns that are not text in every format.
const FIRST_SEEN: usize = 5;
const LAST_SEEN: usize = 6;
const COUNT: usize = 7;

/// `first_seen` or `last_seen`, by column.
fn seen(f: &Finding, col: usize) -> Option<i64> {
    if col == FIRST_SEEN {
        f.first_seen
    } else {
        f.last_seen
    }
}

/// One cell of the findings table.
pub(crate) enum Cell<'a> {
    Str(&'a str),
    U64(u64),
    /// The text the caller's buffer now holds.
    Text,
    Null,
}

/// Column `col` of `FINDING_COLUMNS` for `f`, times as RFC 3339 text (`text` is cleared first,
/// and holds the text of a `Cell::Text`). The one description of a findings row: the frame
/// (`findings`) and the JSON rows written straight from the findings (`json_rows`) both read it.
pub(crate) fn finding_cell<'a>(
    f: &'a Finding,
    col: usize,
    reveal: bool,
    text: &mut String,
) -> Cell<'a> {
    text.clear();
    Cell::Str(match col {
        0 => f.rule,
        1 => f.severity.as_str(),
        2 => f.title,
        3 => &f.source,
        4 => {
            if let Some(l) = f.locator {
                let _ = write!(text, "{l}");
            }
            return Cell::Text;
        }
        FIRST_SEEN | LAST_SEEN => {
            let Some(ns) = seen(f, col) else {
                return Cell::Null;
            };
            rfc3339_into(ns, text);
            return Cell::Text;
        }
        COUNT => return Cell::U64(f.count),
        8 => &f.client,
        9 => &f.server,
        10 => &f.host,
        11 => &f.method,
        12 => f.url.render(reveal),
        13 => f.location.map_or("", |l| l.as_str()),
        14 => &f.name,
        15 => &f.kind,
        16 => &f.key_fp,
        17 => f.evidence.render(reveal),
        18 => &f.detail,
        _ => {
            if let Some(c) = f.cwe {
                let _ = write!(text, "CWE-{c}");
            }
            return Cell::Text;
        }
    })
}

const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Info,
];

/// Counts by rule, by host and by source: `group`, `name`, `findings` (rows), `occurrences`
/// (sum of counts) and one column per severity (rows at that severity).
pub fn summary(result: &ScanResult) -> Result<DataFrame, ReportError> {
    #[derive(Default)]
    struct Acc {
        rows: u64,
        occurrences: u64,
        by_sev: [u64; 5],
    }
    let mut groups: BTreeMap<(u8, &str, String), Acc> = BTreeMap::new();
    result
        .findings
        .for_each_chunk(4096, |c| -> Result<(), ReportError> {
            for f in c {
                let sev_idx = SEVERITIES
                    .iter()
                    .position(|s| *s == f.severity)
                    .unwrap_or(4);
                for (order, group, name) in [
                    (0u8, "rule", f.rule.to_string()),
                    (1, "host", f.host.to_string()),
                    (2, "source", f.source.to_string()),
                ] {
                    let acc = groups.entry((order, group, name)).or_default();
                    acc.rows += 1;
                    acc.occurrences += f.count;
                    acc.by_sev[sev_idx] += 1;
                }
            }
            Ok(())
        })?;
    let mut cols: Vec<Column> = vec![
        col_str("group", groups.keys().map(|k| k.1.to_string()).collect()),
        col_str("name", groups.keys().map(|k| k.2.clone()).collect()),
        col_u64("findings", groups.values().map(|a| a.rows).collect()),
        col_u64(
            "occurrences",
            groups.values().map(|a| a.occurrences).collect(),
        ),
    ];
    for (i, s) in SEVERITIES.iter().enumerate() {
        cols.push(col_u64(
            s.as_str(),
            groups.values().map(|a| a.by_sev[i]).collect(),
        ));
    }
    frame(cols).map_err(|err| ReportError::Polars {
        table: "summary",
        err,
    })
}

/// One row per credential fingerprint: the inventory an incident responder rotates from.
pub fn keys(result: &ScanResult, reveal: bool, text: bool) -> Result<DataFrame, ReportError> {
    key_rows(&result.keys.to_vec()?, reveal, text)
        .map_err(|err| ReportError::Polars { table: "keys", err })
}

/// The `keys` table of some rows (the whole table, or a part of it).
pub fn key_rows(k: &[KeyRow], reveal: bool, text: bool) -> PolarsResult<DataFrame> {
    let strs = |g: &dyn Fn(&KeyRow) -> String| k.iter().map(g).collect::<Vec<String>>();
    let nums = |g: &dyn Fn(&KeyRow) -> u64| k.iter().map(g).collect::<Vec<u64>>();
    let cols = vec![
        col_str("key_fp", strs(&|r| r.key_fp.to_string())),
        col_str("kind", strs(&|r| r.kind.clone())),
        col_str("evidence", strs(&|r| r.evidence.render(reveal).to_string())),
        col_str("names", strs(&|r| r.names.clone())),
        col_str("locations", strs(&|r| r.locations.clone())),
        col_str("hosts", strs(&|r| r.hosts.clone())),
        col_str("subjects", strs(&|r| r.subjects.clone())),
        col_str("roles", strs(&|r| r.roles.clone())),
        col_str("clients", strs(&|r| r.clients.clone())),
        col_str("sources", strs(&|r| r.sources.clone())),
        col_ts("first_seen", k.iter().map(|r| r.first_seen).collect(), text)?,
        col_ts("last_seen", k.iter().map(|r| r.last_seen).collect(), text)?,
        col_u64("sightings", nums(&|r| r.sightings)),
        col_u64("cleartext", nums(&|r| r.cleartext)),
        col_u64("in_url", nums(&|r| r.in_url)),
        col_u64("in_response", nums(&|r| r.in_response)),
        col_str("findings", strs(&|r| r.findings.clone())),
    ];
    frame(cols)
}

pub fn exchanges(result: &ScanResult, reveal: bool, text: bool) -> PolarsResult<DataFrame> {
    let e = &result.exchanges;
    let strs =
        |g: &dyn Fn(&crate::engine::ExchangeRow) -> String| e.iter().map(g).collect::<Vec<_>>();
    let frame_of = |l: Option<crate::model::Locator>| match l {
        Some(crate::model::Locator::Frame(n)) => Some(n),
        _ => None,
    };
    frame(vec![
        col_str("source", strs(&|x| x.source.to_string())),
        col_str(
            "locator",
            strs(&|x| x.locator.map(|l| l.to_string()).unwrap_or_default()),
        ),
        col_opt_u64("frame", e.iter().map(|x| frame_of(x.locator)).collect()),
        col_opt_u64(
            "response_frame",
            e.iter().map(|x| frame_of(x.response_locator)).collect(),
        ),
        col_ts("ts", e.iter().map(|x| x.ts).collect(), text)?,
        col_str("client", strs(&|x| x.client.clone())),
        col_str("server", strs(&|x| x.server.clone())),
        col_str("connection", strs(&|x| x.connection.clone())),
        col_u64(
            "seq_on_connection",
            e.iter().map(|x| u64::from(x.seq_on_connection)).collect(),
        ),
        col_str("transport", strs(&|x| x.transport.as_str().to_string())),
        col_str("method", strs(&|x| x.method.clone())),
        col_str("host", strs(&|x| x.host.clone())),
        col_str("url", strs(&|x| x.url.render(reveal).to_string())),
        col_str("version", strs(&|x| x.version.clone())),
        col_opt_u64(
            "status",
            e.iter().map(|x| x.status.map(u64::from)).collect(),
        ),
        col_u64("request_bytes", e.iter().map(|x| x.request_bytes).collect()),
        col_u64(
            "response_bytes",
            e.iter().map(|x| x.response_bytes).collect(),
        ),
        col_u64(
            "credentials",
            e.iter().map(|x| u64::from(x.credentials)).collect(),
        ),
        col_str("anomalies", strs(&|x| x.anomalies.clone())),
    ])
}

fn kv(m: &BTreeMap<String, u64>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(",")
}

pub fn sources(result: &ScanResult, text: bool) -> PolarsResult<DataFrame> {
    let s = &result.sources;
    let strs =
        |g: &dyn Fn(&crate::model::SourceStats) -> String| s.iter().map(g).collect::<Vec<_>>();
    frame(vec![
        col_str("source", strs(&|x| x.source.clone())),
        col_str(
            "status",
            strs(&|x| {
                if x.failed {
                    "failed".into()
                } else if x.warnings.is_empty() {
                    "ok".into()
                } else {
                    "partial".into()
                }
            }),
        ),
        col_str("format", strs(&|x| x.format.clone())),
        col_str("link_types", strs(&|x| kv(&x.link_types))),
        col_u64("packets", s.iter().map(|x| x.packets).collect()),
        col_u64("bytes", s.iter().map(|x| x.bytes).collect()),
        col_u64(
            "tcp_connections",
            s.iter().map(|x| x.tcp_connections).collect(),
        ),
        col_u64(
            "tls_connections",
            s.iter().map(|x| x.tls_connections).collect(),
        ),
        col_str("snis", strs(&|x| kv(&x.snis))),
        col_u64("exchanges", s.iter().map(|x| x.exchanges).collect()),
        col_str("anomalies", strs(&|x| kv(&x.anomalies))),
        col_u64(
            "decryption_secrets",
            s.iter().map(|x| x.decryption_secrets).collect(),
        ),
        col_bool("sanitized", s.iter().map(|x| x.sanitized).collect()),
        col_ts("first_ts", s.iter().map(|x| x.first_ts).collect(), text)?,
        col_ts("last_ts", s.iter().map(|x| x.last_ts).collect(), text)?,
        col_str("warnings", strs(&|x| x.warnings.join(" | "))),
    ])
}

#[cfg(test)]
mod rfc3339_tests {
    use super::rfc3339;
    use proptest::prelude::*;

    /// What the `time` crate writes.
    fn reference(ns: i64) -> String {
        use time::format_description::well_known::Rfc3339;
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_default()
    }

    #[test]
    fn edges_are_written_as_time_writes_them() {
        for ns in [
            0,
            1,
            -1,
            999_999_999,
            1_000_000_000,
            -1_000_000_000,
            1_700_000_000_123_000_000,
            951_782_400_000_000_000, // 2000-02-29
            i64::MIN,
            i64::MAX,
        ] {
            assert_eq!(rfc3339(ns), reference(ns), "{ns}");
        }
        assert_eq!(
            rfc3339(1_700_000_000_120_000_000),
            "2023-11-14T22:13:20.12Z"
        );
    }

    proptest! {
        #[test]
        fn written_as_time_writes_it(ns in any::<i64>(), round in 0u32..10) {
            // Some with trailing zeros in the fraction, some whole seconds.
            let ns = ns - ns % 10i64.pow(round);
            prop_assert_eq!(rfc3339(ns), reference(ns));
        }
    }
}
