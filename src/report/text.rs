//! The terminal table format: readable widths, long cells elided, severity coloured when allowed
//! (`NO_COLOR` respected), and a one-screen summary after the findings.

use std::io::Write;

use comfy_table::{Cell, Color, ContentArrangement, Table, presets};
use polars::prelude::*;

use super::{ReportOptions, Tables};
use crate::config::ReportKind;
use crate::engine::ScanResult;

/// Longest cell shown before eliding with `…`.
const MAX_CELL: usize = 60;

/// Columns shown for each table in the terminal (all columns stay in the structured formats).
fn shown_columns(kind: ReportKind) -> &'static [&'static str] {
    match kind {
        // Findings have their own terminal view (`findings_view`).
        ReportKind::Findings => &[],
        ReportKind::Summary => &[
            "group",
            "name",
            "findings",
            "occurrences",
            "critical",
            "high",
            "medium",
            "low",
            "info",
        ],
        ReportKind::Keys => &[
            "key_fp",
            "kind",
            "names",
            "hosts",
            "subjects",
            "roles",
            "sightings",
            "cleartext",
            "in_url",
            "findings",
        ],
        ReportKind::Exchanges => &[
            "source",
            "locator",
            "client",
            "server",
            "transport",
            "method",
            "host",
            "url",
            "status",
            "anomalies",
        ],
        ReportKind::Sources => &[
            "source",
            "status",
            "format",
            "packets",
            "exchanges",
            "tls_connections",
            "anomalies",
            "warnings",
        ],
    }
}

pub fn cell_text(col: &Column, row: usize) -> String {
    match col.get(row) {
        Ok(AnyValue::Null) | Err(_) => String::new(),
        Ok(AnyValue::String(s)) => s.to_string(),
        Ok(AnyValue::StringOwned(s)) => s.to_string(),
        Ok(v) => v.to_string(),
    }
}

fn elide(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

fn severity_color(s: &str) -> Option<Color> {
    match s {
        "critical" => Some(Color::Magenta),
        "high" => Some(Color::Red),
        "medium" => Some(Color::Yellow),
        "low" => Some(Color::Cyan),
        _ => None,
    }
}

/// The last path component: in a terminal the file name says enough, the full path is in the
/// structured formats.
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// Narrowest width a column may wrap to in a terminal, so that short identifiers are not broken
/// letter by letter.
const MIN_WRAP: u16 = 16;

/// Findings in a terminal: related columns are joined so that the table fits a screen
/// (`where` = location and name, `credential` = kind and masked value, `at` = file and frame).
fn findings_view(df: &DataFrame) -> (Vec<String>, Vec<Vec<String>>) {
    let get = |n: &str, r: usize| df.column(n).map(|c| cell_text(c, r)).unwrap_or_default();
    let header = [
        "severity",
        "rule",
        "host",
        "where",
        "credential",
        "count",
        "at",
        "detail",
    ]
    .map(String::from)
    .to_vec();
    let rows = (0..df.height())
        .map(|r| {
            vec![
                get("severity", r),
                get("rule", r),
                elide(&get("host", r), MAX_CELL),
                elide(
                    format!("{} {}", get("location", r), get("name", r)).trim(),
                    MAX_CELL,
                ),
                elide(
                    format!("{} {}", get("kind", r), get("evidence", r)).trim(),
                    MAX_CELL,
                ),
                get("count", r),
                elide(
                    format!("{} {}", file_name(&get("source", r)), get("locator", r)).trim(),
                    MAX_CELL,
                ),
                elide(&get("detail", r), 2 * MAX_CELL),
            ]
        })
        .collect();
    (header, rows)
}

fn generic_view(kind: ReportKind, df: &DataFrame) -> (Vec<String>, Vec<Vec<String>>) {
    let cols: Vec<&Column> = shown_columns(kind)
        .iter()
        .filter_map(|c| df.column(c).ok())
        .collect();
    let header = cols.iter().map(|c| c.name().to_string()).collect();
    let rows = (0..df.height())
        .map(|r| {
            cols.iter()
                .map(|c| elide(&cell_text(c, r), MAX_CELL))
                .collect()
        })
        .collect();
    (header, rows)
}

pub fn render(kind: ReportKind, df: &DataFrame, terminal: bool, color: bool) -> String {
    let (header, rows) = match kind {
        ReportKind::Findings => findings_view(df),
        _ => generic_view(kind, df),
    };
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    if terminal {
        t.set_content_arrangement(ContentArrangement::Dynamic);
        if color {
            t.enforce_styling();
        }
    } else {
        t.force_no_tty();
    }
    t.set_header(header.iter().map(Cell::new));
    for cells in rows {
        t.add_row(cells.into_iter().enumerate().map(|(j, text)| {
            let mut cell = Cell::new(&text);
            if color
                && j == 0
                && kind == ReportKind::Findings
                && let Some(col) = severity_color(&text)
            {
                cell = cell.fg(col);
            }
            cell
        }));
    }
    if terminal {
        let widths = t.column_max_content_widths();
        for (i, (col, w)) in t.column_iter_mut().zip(widths).enumerate() {
            // Severity and rule id are read first: never wrap them.
            let keep = if kind == ReportKind::Findings && i < 2 {
                w
            } else {
                w.min(MIN_WRAP)
            };
            col.set_constraint(comfy_table::ColumnConstraint::LowerBoundary(
                comfy_table::Width::Fixed(keep),
            ));
        }
    }
    t.to_string()
}

/// Writes every requested table, then (for findings on a terminal) the one-screen summary.
pub fn write_all(
    tables: &Tables,
    result: &ScanResult,
    opts: &ReportOptions,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    for (kind, df) in &tables.list {
        writeln!(w, "{} ({} rows)", kind.as_str(), df.height())?;
        if df.height() > 0 {
            writeln!(w, "{}", render(*kind, df, opts.terminal, opts.color))?;
        }
        writeln!(w)?;
    }
    if opts.summary_after_table {
        write!(
            w,
            "{}",
            one_screen_summary(result).map_err(std::io::Error::other)?
        )?;
    }
    Ok(())
}

/// A few lines a person reads first: inputs, exchanges, findings by severity, top rules.
pub fn one_screen_summary(result: &ScanResult) -> Result<String, crate::spill::SpillError> {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    let mut s = String::new();
    let read = result.sources.iter().filter(|x| !x.failed).count();
    let failed = result.sources.len() - read;
    let exchanges: u64 = result.sources.iter().map(|x| x.exchanges).sum();
    let warnings: usize = result.sources.iter().map(|x| x.warnings.len()).sum();
    let _ = writeln!(
        s,
        "summary: {read} input(s) read, {failed} skipped or failed, {exchanges} exchanges, {warnings} warning(s)"
    );
    let mut by_sev: BTreeMap<std::cmp::Reverse<crate::model::Severity>, (u64, u64)> =
        BTreeMap::new();
    let mut by_rule: BTreeMap<&str, u64> = BTreeMap::new();
    result
        .findings
        .for_each_chunk(4096, |c| -> Result<(), crate::spill::SpillError> {
            for f in c {
                let e = by_sev.entry(std::cmp::Reverse(f.severity)).or_default();
                e.0 += 1;
                e.1 += f.count;
                *by_rule.entry(f.rule).or_default() += 1;
            }
            Ok(())
        })?;
    if result.findings.is_empty() {
        let _ = writeln!(s, "findings: none");
    } else {
        let parts: Vec<String> = by_sev
            .iter()
            .map(|(k, (rows, occ))| format!("{} {rows} ({occ} occurrences)", k.0))
            .collect();
        let _ = writeln!(s, "findings: {}", parts.join(", "));
        let mut rules: Vec<_> = by_rule.into_iter().collect();
        rules.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let top: Vec<String> = rules
            .iter()
            .take(8)
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        let _ = writeln!(s, "by rule: {}", top.join(", "));
    }
    Ok(s)
}
