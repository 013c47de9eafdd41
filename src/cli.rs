//! The command-line edge: raw clap flags (`Cli`), their validation into `config::ScanConfig`, the
//! run (engine then report) and the exit code. `main.rs` only calls `cli::main_entry`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::analyze::{AnalyzeConfig, CATALOG};
use crate::config::{self, Input, OutputFormat, ReportKind, ScanConfig};
use crate::engine::{self, Engine};
use crate::ingest::IngestConfig;
use crate::model::Severity;
use crate::report::{self, ReportOptions};

/// Exit code: ran; no finding at or above --fail-on.
pub const EXIT_OK: u8 = 0;
/// Exit code: a finding at or above --fail-on.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: usage or I/O error, or no input could be read at all.
pub const EXIT_ERROR: u8 = 2;

const EXAMPLES: &str = "\
Examples:
  credsift scan samples                      findings table for every capture and HAR under samples/
  credsift scan capture.pcap.gz --format ndjson > findings.ndjson
  tcpdump -w - -i eth0 port 80 | credsift scan -
  credsift scan traffic/ --report findings --report keys --format csv -o out/report.csv
  credsift scan app.har --format sarif -o credsift.sarif
  credsift scan capture.pcap --fail-on high  (exit 1 when a high or critical finding exists)
  credsift rules                             the rule catalog";

#[derive(Debug, Parser)]
#[command(
    name = "credsift",
    version,
    about = "Finds credentials mishandled in captured HTTP traffic (pcap, pcapng, HAR)",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan captures and HAR files and report credential mishandling.
    Scan(ScanArgs),
    /// Print the rule catalog: id, severity, title, CWE, description and remediation.
    Rules(RulesArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Table,
    Csv,
    Json,
    Ndjson,
    Parquet,
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportArg {
    Findings,
    Summary,
    Keys,
    Exchanges,
    Sources,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct ScanArgs {
    /// Files or directories (walked recursively) to scan; `-` reads standard input. The format is
    /// told by magic bytes (pcap, pcapng, HAR; each possibly gzip or zstd compressed).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format. Default: `table` when stdout is a terminal, `ndjson` otherwise.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Write to this file (or directory for parquet) instead of stdout; created mode 0600.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Tables to produce (repeatable). Default: findings (plus a short summary on a terminal).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub report: Vec<ReportArg>,
    /// Exit with code 1 when a finding at or above this severity exists.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<SeverityArg>,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Show secret values in reports instead of masking them. Handle the output as a secret.
    #[arg(long)]
    pub reveal: bool,
    /// Salt for key fingerprints, so they stay the same across runs (default: random per run).
    #[arg(
        long,
        env = "CREDSIFT_SALT",
        hide_env_values = true,
        value_name = "SALT"
    )]
    pub salt: Option<String>,
    /// TOML file with extra detectors, allowlists, limits and rule settings.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Run only these rules (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub select: Vec<String>,
    /// Do not run these rules (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub ignore: Vec<String>,
    /// Bytes kept per message body.
    #[arg(long, value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// No warnings or progress on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// More detail on stderr (repeatable).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// `table` (default) or `json`.
    #[arg(long, default_value = "table")]
    pub format: String,
}

/// Parses the process arguments, runs, and maps the outcome to an exit code. A broken pipe on
/// stdout ends quietly.
pub fn main_entry() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::from(EXIT_OK);
            }
            eprintln!("credsift: error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || matches!(c.downcast_ref::<report::ReportError>(), Some(report::ReportError::Write(io)) if io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Rules(a) => {
            print_rules(&a.format)?;
            Ok(EXIT_OK)
        }
        Command::Scan(a) => {
            let cfg = scan_config(a)?;
            scan(&cfg)
        }
    }
}

/// Validates raw flags into a `ScanConfig`.
pub fn scan_config(a: ScanArgs) -> Result<ScanConfig> {
    let stdout_tty = std::io::stdout().is_terminal();
    let mut ingest = IngestConfig::default();
    let mut analyze = AnalyzeConfig::default();
    let recognize_toml = match &a.config {
        Some(p) => Some(config::load_config_file(p, &mut ingest, &mut analyze)?),
        None => None,
    };
    if let Some(n) = a.max_body_bytes {
        ingest.body.max_kept = n;
    }
    analyze.select.extend(a.select);
    analyze.ignore.extend(a.ignore);
    config::validate_rules(&analyze)?;
    let format = match a.format {
        Some(f) => match f {
            FormatArg::Table => OutputFormat::Table,
            FormatArg::Csv => OutputFormat::Csv,
            FormatArg::Json => OutputFormat::Json,
            FormatArg::Ndjson => OutputFormat::Ndjson,
            FormatArg::Parquet => OutputFormat::Parquet,
            FormatArg::Sarif => OutputFormat::Sarif,
        },
        None if stdout_tty && a.output.is_none() => OutputFormat::Table,
        None => OutputFormat::Ndjson,
    };
    let mut reports: Vec<ReportKind> = Vec::new();
    for r in &a.report {
        let k = match r {
            ReportArg::Findings => ReportKind::Findings,
            ReportArg::Summary => ReportKind::Summary,
            ReportArg::Keys => ReportKind::Keys,
            ReportArg::Exchanges => ReportKind::Exchanges,
            ReportArg::Sources => ReportKind::Sources,
        };
        if !reports.contains(&k) {
            reports.push(k);
        }
    }
    let default_reports = reports.is_empty();
    if default_reports {
        reports.push(ReportKind::Findings);
    }
    let stdin_count = a.paths.iter().filter(|p| p.as_os_str() == "-").count();
    if stdin_count > 1 {
        anyhow::bail!("`-` (standard input) can be given only once");
    }
    let inputs = a
        .paths
        .into_iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                Input::Stdin
            } else {
                Input::Path(p)
            }
        })
        .collect();
    let terminal = stdout_tty && a.output.is_none();
    let color = terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    Ok(ScanConfig {
        inputs,
        ingest,
        analyze,
        recognize_toml,
        salt: a.salt.map(String::into_bytes),
        threads: a.threads,
        reports,
        format,
        output: a.output,
        reveal: a.reveal,
        fail_on: a.fail_on.map(|s| match s {
            SeverityArg::Info => Severity::Info,
            SeverityArg::Low => Severity::Low,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::High => Severity::High,
            SeverityArg::Critical => Severity::Critical,
        }),
        quiet: a.quiet,
        verbose: a.verbose,
        color,
        terminal,
        progress: !a.quiet && std::io::stderr().is_terminal(),
        summary_after_table: default_reports && format == OutputFormat::Table && stdout_tty,
    })
}

/// Runs a scan and writes its reports; returns the exit code.
pub fn scan(cfg: &ScanConfig) -> Result<u8> {
    let (inputs, walk_errors) = engine::resolve_inputs(&cfg.inputs);
    for e in &walk_errors {
        if !cfg.quiet {
            eprintln!("credsift: warning: {e}");
        }
    }
    if inputs.is_empty() {
        anyhow::bail!("no input files found");
    }
    // One pool for the set-up (detectors compile in parallel), the scan and the reports:
    // `--threads` bounds all three, and no second pool is started.
    let pool = engine::thread_pool(cfg.threads).context("setting up the scan")?;
    let started = std::time::Instant::now();
    let mut engine = pool
        .install(|| Engine::new(cfg))
        .context("setting up the scan")?;
    let set_up = started.elapsed();
    if cfg.verbose > 0 && !cfg.quiet {
        // Which scan of long bodies this CPU got (timed at set-up): figures differ by it.
        if let Some(sc) = engine.recognizer.keyword_scanner() {
            eprintln!("credsift: keyword prefilter: {}", sc.preferred().describe());
        }
    }
    let quiet = cfg.quiet;
    engine.on_warning = Box::new(move |w| {
        if !quiet {
            eprintln!("credsift: warning: {w}");
        }
    });
    let progress = cfg.progress.then(|| {
        Progress::start(
            &inputs,
            engine.bytes_done.clone(),
            engine.files_done.clone(),
        )
    });
    let result = engine.scan_on(&pool, &inputs);
    if let Some(p) = progress {
        p.finish();
    }
    let result = result.context("finishing the scan")?;
    if cfg.verbose > 0 && !cfg.quiet {
        for s in &result.sources {
            eprintln!(
                "credsift: {}: {} ({} packets, {} exchanges)",
                s.source, s.format, s.packets, s.exchanges
            );
        }
    }
    let opts = ReportOptions {
        reports: cfg.reports.clone(),
        format: cfg.format,
        output: cfg.output.clone(),
        reveal: cfg.reveal,
        color: cfg.color,
        terminal: cfg.terminal,
        summary_after_table: cfg.summary_after_table,
    };
    // On a thread of the pool (the report's parts are serialized in parallel on it), which
    // therefore takes the stdout lock itself.
    let reporting = std::time::Instant::now();
    pool.install(|| -> Result<()> {
        let stdout = std::io::stdout();
        let mut lock = std::io::BufWriter::new(stdout.lock());
        report::write_reports(&result, &opts, &mut lock)?;
        lock.flush()?;
        Ok(())
    })?;
    if cfg.verbose > 0 && !cfg.quiet {
        // Where a long run's time went, for tuning `--threads` and for reports of slow runs.
        let t = result.timings;
        eprintln!(
            "credsift: time: set-up {:.3} s, scan {:.3} s, correlation and merging {:.3} s, \
             reports {:.3} s",
            set_up.as_secs_f64(),
            t.scan.as_secs_f64(),
            t.finish.as_secs_f64(),
            reporting.elapsed().as_secs_f64()
        );
    }
    let code = if !result.any_input_read() {
        if !cfg.quiet {
            eprintln!("credsift: error: no input could be read");
        }
        EXIT_ERROR
    } else if let (Some(threshold), Some(max)) = (cfg.fail_on, result.findings.max_severity())
        && max >= threshold
    {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    };
    // The process ends right after this: freeing every finding and sighting one by one would
    // cost a few percent of a large scan for memory the exit returns anyway.
    std::mem::forget(result);
    Ok(code)
}

fn print_rules(format: &str) -> Result<()> {
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    match format {
        "json" => {
            let v: Vec<serde_json::Value> = CATALOG
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "id": m.id, "severity": m.severity.as_str(), "title": m.title,
                        "cwe": m.cwe.map(|c| format!("CWE-{c}")),
                        "detects": m.detects, "why": m.why, "example": m.example,
                        "remediation": m.remediation,
                        "scope": if m.per_exchange { "exchange" } else { "correlation" },
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut w, &v)?;
            writeln!(w)?;
        }
        "table" => {
            let mut t = comfy_table::Table::new();
            t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
                .set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
            if !std::io::stdout().is_terminal() {
                t.set_width(120);
            }
            t.set_header(["id", "severity", "title", "CWE"]);
            for m in CATALOG {
                t.add_row([
                    m.id.to_string(),
                    m.severity.as_str().to_string(),
                    m.title.to_string(),
                    m.cwe.map(|c| format!("CWE-{c}")).unwrap_or_default(),
                ]);
            }
            writeln!(w, "{t}\n")?;
            for m in CATALOG {
                writeln!(
                    w,
                    "{} ({}{})\n  What it detects: {}\n  Why it matters: {}\n  Example: {}\n  Remediation: {}\n",
                    m.id,
                    m.severity,
                    m.cwe.map(|c| format!(", CWE-{c}")).unwrap_or_default(),
                    m.detects,
                    m.why,
                    m.example.replace('\n', "\n           "),
                    m.remediation
                )?;
            }
        }
        other => anyhow::bail!("unknown rules format `{other}` (table or json)"),
    }
    w.flush()?;
    Ok(())
}

/// A progress bar on stderr for scans that take a while: bytes, rate, ETA, files.
struct Progress {
    bar: indicatif::ProgressBar,
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    fn start(
        inputs: &[engine::ResolvedInput],
        done: Arc<std::sync::atomic::AtomicU64>,
        files_done: Arc<std::sync::atomic::AtomicU64>,
    ) -> Progress {
        let total: u64 = inputs.iter().filter_map(|i| i.size).sum();
        // Hidden until the scan has run for about a second, so quick scans print nothing.
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::hidden(),
        );
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} [{wide_bar}] {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let files = inputs.len();
        bar.set_message(format!("0/{files} files"));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (b, s) = (bar.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            let start = std::time::Instant::now();
            let mut shown = false;
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(100));
                if !shown && start.elapsed() > std::time::Duration::from_secs(1) {
                    b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                    shown = true;
                }
                b.set_position(done.load(Ordering::Relaxed));
                b.set_message(format!(
                    "{}/{files} files",
                    files_done.load(Ordering::Relaxed)
                ));
            }
        });
        Progress {
            bar,
            stop,
            handle: Some(handle),
        }
    }

    fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.bar.finish_and_clear();
    }
}
