//! Builds the report tables as polars DataFrames: `findings` (exactly the output contract's
//! columns), `summary`, `keys`, `exchanges` and `sources`. Timestamps are typed datetimes for
//! Parquet and RFC 3339 text for the text formats.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;

use super::ReportError;
use crate::config::ReportKind;
use crate::engine::ScanResult;
use crate::model::{Finding, Severity};
use crate::recognize::Side;

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
) -> PolarsResult<DataFrame> {
    match kind {
        ReportKind::Findings => findings(&result.findings, reveal, text_times),
        ReportKind::Summary => summary(result),
        ReportKind::Keys => keys(result, reveal, text_times),
        ReportKind::Exchanges => exchanges(result, reveal, text_times),
        ReportKind::Sources => sources(result, text_times),
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
            let df = table(result, k, reveal, text_times).map_err(|err| ReportError::Polars {
                table: k.as_str(),
                err,
            })?;
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

fn col_opt_str(name: &str, v: Vec<Option<String>>) -> Column {
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

/// RFC 3339 text of a ns timestamp (UTC).
pub fn rfc3339(ns: i64) -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

fn col_ts(name: &str, v: Vec<Option<i64>>, text: bool) -> PolarsResult<Column> {
    if text {
        return Ok(col_opt_str(
            name,
            v.into_iter().map(|t| t.map(rfc3339)).collect(),
        ));
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
    // Borrowed: a column of the largest table is never a second copy of its strings (polars
    // copies them once into its own buffers).
    let strs = |g: &dyn Fn(&Finding) -> &str| f.iter().map(g).collect::<Vec<&str>>();
    let col = |name: &str, v: Vec<&str>| Column::new(name.into(), v);
    frame(vec![
        col("rule", strs(&|x| x.rule)),
        col("severity", strs(&|x| x.severity.as_str())),
        col("title", strs(&|x| x.title)),
        col("source", strs(&|x| &x.source)),
        col_str(
            "locator",
            f.iter()
                .map(|x| x.locator.map(|l| l.to_string()).unwrap_or_default())
                .collect(),
        ),
        col_ts("first_seen", f.iter().map(|x| x.first_seen).collect(), text)?,
        col_ts("last_seen", f.iter().map(|x| x.last_seen).collect(), text)?,
        col_u64("count", f.iter().map(|x| x.count).collect()),
        col("client", strs(&|x| &x.client)),
        col("server", strs(&|x| &x.server)),
        col("host", strs(&|x| &x.host)),
        col("method", strs(&|x| &x.method)),
        col("url", strs(&|x| x.url.render(reveal))),
        col("location", strs(&|x| x.location.map_or("", |l| l.as_str()))),
        col("name", strs(&|x| &x.name)),
        col("kind", strs(&|x| &x.kind)),
        col("key_fp", strs(&|x| &x.key_fp)),
        col("evidence", strs(&|x| x.evidence.render(reveal))),
        col("detail", strs(&|x| &x.detail)),
        col_str("cwe", f.iter().map(|x| x.cwe_str()).collect()),
    ])
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
pub fn summary(result: &ScanResult) -> PolarsResult<DataFrame> {
    #[derive(Default)]
    struct Acc {
        rows: u64,
        occurrences: u64,
        by_sev: [u64; 5],
    }
    let mut groups: BTreeMap<(u8, &str, String), Acc> = BTreeMap::new();
    for f in &result.findings {
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
    frame(cols)
}

fn join<'a>(it: impl IntoIterator<Item = &'a str>) -> String {
    let set: BTreeSet<&str> = it.into_iter().filter(|s| !s.is_empty()).collect();
    set.into_iter().collect::<Vec<_>>().join(",")
}

/// One row per credential fingerprint: the inventory an incident responder rotates from.
pub fn keys(result: &ScanResult, reveal: bool, text: bool) -> PolarsResult<DataFrame> {
    let mut rules_by_key: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for f in &result.findings {
        if !f.key_fp.is_empty() {
            rules_by_key.entry(&f.key_fp).or_default().insert(f.rule);
        }
    }
    let groups = result.sightings.by_key();
    let mut c: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut first = Vec::new();
    let mut last = Vec::new();
    let mut nums: [Vec<u64>; 4] = Default::default();
    for (fp, ss) in groups {
        let push = |c: &mut BTreeMap<&str, Vec<String>>, k: &'static str, v: String| {
            c.entry(k).or_default().push(v)
        };
        push(&mut c, "key_fp", fp.to_string());
        push(&mut c, "kind", join(ss.iter().map(|s| s.kind.as_str())));
        push(
            &mut c,
            "evidence",
            ss.first()
                .map(|s| s.evidence.render(reveal).to_string())
                .unwrap_or_default(),
        );
        push(&mut c, "names", join(ss.iter().map(|s| s.name.as_str())));
        push(
            &mut c,
            "locations",
            join(ss.iter().map(|s| s.location.as_str())),
        );
        push(&mut c, "hosts", join(ss.iter().map(|s| s.host.as_str())));
        push(
            &mut c,
            "subjects",
            join(
                ss.iter()
                    .flat_map(|s| s.subjects.iter().map(compact_str::CompactString::as_str)),
            ),
        );
        push(
            &mut c,
            "roles",
            join(
                ss.iter()
                    .flat_map(|s| s.roles.iter().map(compact_str::CompactString::as_str)),
            ),
        );
        push(
            &mut c,
            "clients",
            join(ss.iter().filter_map(|s| s.client_ip.as_deref())),
        );
        push(&mut c, "sources", join(ss.iter().map(|s| &*s.source)));
        push(
            &mut c,
            "findings",
            rules_by_key
                .get(fp)
                .map(|r| r.iter().copied().collect::<Vec<_>>().join(","))
                .unwrap_or_default(),
        );
        first.push(ss.iter().filter_map(|s| s.ts).min());
        last.push(ss.iter().filter_map(|s| s.ts).max());
        nums[0].push(ss.len() as u64);
        nums[1].push(
            ss.iter()
                .filter(|s| s.transport == crate::model::Transport::Cleartext)
                .count() as u64,
        );
        nums[2].push(ss.iter().filter(|s| s.location.in_url()).count() as u64);
        nums[3].push(ss.iter().filter(|s| s.side == Side::Response).count() as u64);
    }
    let mut take = |k: &str| col_str(k, c.remove(k).unwrap_or_default());
    let cols = vec![
        take("key_fp"),
        take("kind"),
        take("evidence"),
        take("names"),
        take("locations"),
        take("hosts"),
        take("subjects"),
        take("roles"),
        take("clients"),
        take("sources"),
        col_ts("first_seen", first, text)?,
        col_ts("last_seen", last, text)?,
        col_u64("sightings", std::mem::take(&mut nums[0])),
        col_u64("cleartext", std::mem::take(&mut nums[1])),
        col_u64("in_url", std::mem::take(&mut nums[2])),
        col_u64("in_response", std::mem::take(&mut nums[3])),
        take("findings"),
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
