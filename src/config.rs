//! The validated run configuration, built from raw CLI flags (`cli`) and the optional `--config`
//! TOML file; read by `engine` (inputs, threads, limits), `recognize` (detectors, allowlists),
//! `analyze` (rule selection, bounds) and `report` (tables, format, reveal).

use std::path::PathBuf;

use serde::Deserialize;

use crate::analyze::{AnalyzeConfig, rule_meta};
use crate::ingest::IngestConfig;
use crate::model::Severity;

/// The tables a run can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReportKind {
    Findings,
    Summary,
    Keys,
    Exchanges,
    Sources,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Findings => "findings",
            ReportKind::Summary => "summary",
            ReportKind::Keys => "keys",
            ReportKind::Exchanges => "exchanges",
            ReportKind::Sources => "sources",
        }
    }
    pub fn parse(s: &str) -> Option<ReportKind> {
        Some(match s {
            "findings" => ReportKind::Findings,
            "summary" => ReportKind::Summary,
            "keys" => ReportKind::Keys,
            "exchanges" => ReportKind::Exchanges,
            "sources" => ReportKind::Sources,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
    Ndjson,
    Parquet,
    Sarif,
}

impl OutputFormat {
    pub fn parse(s: &str) -> Option<OutputFormat> {
        Some(match s {
            "table" => OutputFormat::Table,
            "csv" => OutputFormat::Csv,
            "json" => OutputFormat::Json,
            "ndjson" => OutputFormat::Ndjson,
            "parquet" => OutputFormat::Parquet,
            "sarif" => OutputFormat::Sarif,
            _ => return None,
        })
    }
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Table => "txt",
            OutputFormat::Csv => "csv",
            OutputFormat::Json => "json",
            OutputFormat::Ndjson => "ndjson",
            OutputFormat::Parquet => "parquet",
            OutputFormat::Sarif => "sarif",
        }
    }
}

/// An input as given: a path, or `-` for standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    Path(PathBuf),
}

/// Everything a scan needs, validated.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    pub inputs: Vec<Input>,
    pub ingest: IngestConfig,
    pub analyze: AnalyzeConfig,
    /// The user's `--config` file text, handed to the recognizer (detectors, allowlists).
    pub recognize_toml: Option<String>,
    /// Fingerprint salt; `None` means a random salt per run.
    pub salt: Option<Vec<u8>>,
    pub threads: Option<usize>,
    pub reports: Vec<ReportKind>,
    pub format: OutputFormat,
    pub output: Option<PathBuf>,
    pub reveal: bool,
    pub fail_on: Option<Severity>,
    pub quiet: bool,
    pub verbose: u8,
    /// Colour severities in table output.
    pub color: bool,
    /// Stdout is a terminal and no `--output` was given.
    pub terminal: bool,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Append the one-screen summary after the table output.
    pub summary_after_table: bool,
}

impl Default for ScanConfig {
    /// A quiet, library-style scan: no inputs yet, default limits and rules, findings as NDJSON,
    /// masked, nothing drawn on a terminal.
    fn default() -> Self {
        ScanConfig {
            inputs: Vec::new(),
            ingest: IngestConfig::default(),
            analyze: AnalyzeConfig::default(),
            recognize_toml: None,
            salt: None,
            threads: None,
            reports: vec![ReportKind::Findings],
            format: OutputFormat::Ndjson,
            output: None,
            reveal: false,
            fail_on: None,
            quiet: true,
            verbose: 0,
            color: false,
            terminal: false,
            progress: false,
            summary_after_table: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {err}")]
    Read { path: String, err: std::io::Error },
    #[error("config file {path}: {err}")]
    Parse { path: String, err: String },
    #[error("unknown rule id `{0}` (see `credsift rules`)")]
    UnknownRule(String),
    #[error("{0}")]
    Invalid(String),
}

/// The parts of the `--config` file that are not detector definitions.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FileSettings {
    pub limits: LimitSettings,
    pub rules: RuleSettings,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LimitSettings {
    /// Bytes kept per body.
    pub max_body_bytes: Option<usize>,
    /// Bytes decoded per body before decoding stops.
    pub max_decoded_bytes: Option<usize>,
    pub max_connections: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RuleSettings {
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    /// `cookie-long-lived-session` bound, in days.
    pub session_cookie_max_days: Option<u32>,
}

/// Reads and applies the non-detector settings of a config file; returns its text for the
/// recognizer.
pub fn load_config_file(
    path: &std::path::Path,
    ingest: &mut IngestConfig,
    analyze: &mut AnalyzeConfig,
) -> Result<String, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Read {
        path: shown.clone(),
        err,
    })?;
    let settings: FileSettings = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: shown,
        // The TOML error quotes the offending line, which may hold an allowlisted secret: keep
        // only its message and position.
        err: e.message().to_string()
            + &e.span()
                .map(|s| format!(" (at byte {})", s.start))
                .unwrap_or_default(),
    })?;
    if let Some(n) = settings.limits.max_body_bytes {
        ingest.body.max_kept = n;
    }
    if let Some(n) = settings.limits.max_decoded_bytes {
        ingest.body.max_decoded = n;
    }
    if let Some(n) = settings.limits.max_connections {
        ingest.max_connections = n.max(1);
    }
    if let Some(d) = settings.rules.session_cookie_max_days {
        analyze.max_session_cookie_lifetime_secs = i64::from(d) * 86_400;
    }
    analyze.select.extend(settings.rules.select);
    analyze.ignore.extend(settings.rules.ignore);
    Ok(text)
}

/// Checks that every selected or ignored rule exists.
pub fn validate_rules(analyze: &AnalyzeConfig) -> Result<(), ConfigError> {
    for id in analyze.select.iter().chain(analyze.ignore.iter()) {
        if rule_meta(id).is_none() {
            return Err(ConfigError::UnknownRule(id.clone()));
        }
    }
    Ok(())
}
