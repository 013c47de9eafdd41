//! The run: expands inputs, opens each (format by magic bytes), streams its exchanges through
//! `recognize` and the per-exchange rules as they arrive, pools the compact sightings for the
//! correlation rules, and returns everything `report` needs. Files run in parallel (rayon); the
//! result is the same whatever the thread count or input order.

use std::collections::{BTreeSet, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rayon::prelude::*;

use crate::analyze::sighting::{groups, par_sort_sightings, sort_sightings};
use crate::analyze::{
    self, AnalyzeConfig, CorrelationCtx, CorrelationRule, ExchangeCtx, ExchangeRule, FindingMerger,
    Findings, KeyRow, Keys, Sighting,
};
use crate::chunked::Chunked;
use crate::config::{Input, ReportKind, ScanConfig};
use crate::ingest::detect::{self, Format};
use crate::ingest::pcap::shard::ExchangeSink;
use crate::ingest::{self, IngestConfig, IngestError};
use crate::model::{Exchange, Finding, Locator, Severity, SourceStats, Timestamp, Transport};
use crate::recognize::{RecognizeError, Recognizer};
use crate::secret::{Fingerprinter, Sensitive};
use crate::spill::{Finished, SpillError, Spiller};

/// One row of the `exchanges` report: a masked summary of one exchange.
#[derive(Debug, Clone)]
pub struct ExchangeRow {
    pub source: Arc<str>,
    pub locator: Option<Locator>,
    /// Frame of the response (captures) when there was one.
    pub response_locator: Option<Locator>,
    pub ts: Option<Timestamp>,
    pub client: String,
    pub server: String,
    pub connection: String,
    pub seq_on_connection: u32,
    pub transport: Transport,
    pub method: String,
    pub host: String,
    pub url: Sensitive,
    pub version: String,
    pub status: Option<u16>,
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub credentials: u32,
    pub anomalies: String,
    /// Order of the exchange within its source (for stable sorting).
    pub seq: u64,
}

/// What one input produced.
#[derive(Debug, Default)]
pub struct SourceResult {
    /// Exchanges that hit a message bound: `[limit-hit, decode-limit]`, count and first place.
    pub bounded: ingest::Bounded,
    pub stats: SourceStats,
    pub findings: Chunked<Finding>,
    pub sightings: Chunked<Sighting>,
    pub exchanges: Vec<ExchangeRow>,
}

/// Everything a run produced, ready for `report`.
#[derive(Debug, Default)]
pub struct ScanResult {
    /// Aggregated and sorted findings.
    pub findings: Findings,
    pub sources: Vec<SourceStats>,
    /// One row per key, in key order (only when the `keys` report was asked for).
    pub keys: Keys,
    pub exchanges: Vec<ExchangeRow>,
    /// How long the run's phases took (`-v` prints them).
    pub timings: Timings,
}

/// Wall-clock time of a scan's phases.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// Reading every input: ingest, recognition and the per-exchange rules.
    pub scan: std::time::Duration,
    /// After the last input: the correlation rules, and merging and sorting the findings.
    pub finish: std::time::Duration,
}

impl ScanResult {
    /// True when at least one input was read (even partially).
    pub fn any_input_read(&self) -> bool {
        self.sources.iter().any(|s| !s.failed)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Recognize(#[from] RecognizeError),
    #[error("cannot build the thread pool: {0}")]
    Threads(String),
    #[error("{path}: {err}")]
    Walk { path: String, err: String },
    #[error(transparent)]
    Spill(#[from] SpillError),
}

/// The shared, read-only machinery of a run.
pub struct Engine {
    pub ingest: IngestConfig,
    pub analyze: AnalyzeConfig,
    pub recognizer: Recognizer,
    pub exchange_rules: Vec<Box<dyn ExchangeRule>>,
    pub correlation_rules: Vec<Box<dyn CorrelationRule>>,
    pub keep_exchanges: bool,
    /// Keep the raw text of URLs and credentials (only a run that will `--reveal` needs it; the
    /// rest of the run then holds masked text only).
    pub keep_raw: bool,
    /// Called with each warning as it happens (already prefixed with the source).
    pub on_warning: Box<dyn Fn(&str) + Send + Sync>,
    /// Bytes of input consumed so far, for progress reporting.
    pub bytes_done: Arc<AtomicU64>,
    /// Inputs finished so far, for progress reporting.
    pub files_done: Arc<AtomicU64>,
    /// Captures at least this large have their connections spread over the scan's threads
    /// (below, starting threads costs more than it saves). `CREDSIFT_SHARD_MIN_BYTES` sets it.
    pub shard_min_bytes: u64,
    /// Build the `keys` report's rows while the sightings stream past.
    pub keep_keys: bool,
    /// Bytes of findings and sightings held in memory (half each) before they spill to a
    /// temporary file. `CREDSIFT_MEMORY_BUDGET` sets it.
    pub memory_budget: usize,
}

/// Default for `Engine::shard_min_bytes`.
pub const SHARD_MIN_BYTES: u64 = 32 << 20;

/// Default for `Engine::memory_budget`. A scan of the generated mix makes ~40 MB of findings and
/// ~40 MB of sightings a GiB: with 64 MiB a 1 GiB scan spilled, ~10% of its time, and held more
/// at its peak than one that does not (the spill's own buffers). With 96 it fits; larger inputs
/// still peak under ~200 MiB on two threads (3 and 10 GiB), as their remainders follow their
/// runs to disk (`Spiller::finish`).
pub const MEMORY_BUDGET: usize = 96 << 20;

/// The kinds of record a run has already warned it could not spill.
type Warned = Mutex<BTreeSet<&'static str>>;

/// Records a worker collects before it hands them to the run's `Accumulator`.
const FLUSH_RECORDS: usize = 4096;

/// Sightings handed to the correlation rules at a time (whole keys: a batch ends between keys).
const CORRELATION_BATCH: usize = 16384;

/// What a run accumulates across its inputs, bounded by the memory budget: past it, findings
/// and sightings spill to a temporary file as sorted runs.
pub struct Accumulator {
    findings: Spiller<Finding>,
    sightings: Spiller<Sighting>,
    cx: Mutex<CorrelationCtx>,
}

impl Accumulator {
    /// With `background`, runs are written by writer threads of their own (for a run of
    /// several threads; a run of one stays on its one thread).
    pub fn new(budget: usize, background: bool) -> Self {
        let mut findings = Spiller::new(budget / 2, analyze::merge_order, analyze::sort_and_fold);
        let mut sightings = Spiller::new(
            budget / 2,
            analyze::sighting::sighting_order,
            sort_sightings,
        );
        if background {
            findings = findings.in_background();
            sightings = sightings.in_background();
        }
        Accumulator {
            findings,
            sightings,
            cx: Mutex::new(CorrelationCtx::default()),
        }
    }

    fn push_findings(&self, v: Vec<Finding>) {
        if !v.is_empty() {
            self.findings.push(v);
        }
    }

    fn push_sightings(&self, v: Vec<Sighting>) {
        if v.is_empty() {
            return;
        }
        {
            let mut cx = self.cx.lock().unwrap_or_else(PoisonError::into_inner);
            v.iter().for_each(|s| cx.note(s));
        }
        self.sightings.push(v);
    }
}

impl Engine {
    pub fn new(cfg: &ScanConfig) -> Result<Engine, EngineError> {
        let fp = match &cfg.salt {
            Some(s) => Fingerprinter::new(s),
            None => Fingerprinter::random(),
        };
        let recognizer = Recognizer::new(cfg.recognize_toml.as_deref(), fp)?;
        Ok(Engine {
            ingest: cfg.ingest.clone(),
            analyze: cfg.analyze.clone(),
            recognizer,
            exchange_rules: analyze::rules::exchange_rules(),
            correlation_rules: analyze::rules::correlation_rules(),
            keep_exchanges: cfg.reports.contains(&ReportKind::Exchanges),
            keep_raw: cfg.reveal,
            on_warning: Box::new(|_| {}),
            bytes_done: Arc::new(AtomicU64::new(0)),
            files_done: Arc::new(AtomicU64::new(0)),
            shard_min_bytes: std::env::var("CREDSIFT_SHARD_MIN_BYTES")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(SHARD_MIN_BYTES),
            keep_keys: cfg.reports.contains(&ReportKind::Keys),
            memory_budget: std::env::var("CREDSIFT_MEMORY_BUDGET")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(MEMORY_BUDGET),
        })
    }

    /// Scans every input and runs the correlation rules over the pooled sightings, on a pool
    /// of `threads` threads (default: all cores).
    pub fn scan(
        &self,
        inputs: &[ResolvedInput],
        threads: Option<usize>,
    ) -> Result<ScanResult, EngineError> {
        self.scan_on(&thread_pool(threads)?, inputs)
    }

    /// `scan` on a given pool (the CLI writes its reports on the same one). Fails only if a
    /// spill file cannot be read back.
    pub fn scan_on(
        &self,
        pool: &rayon::ThreadPool,
        inputs: &[ResolvedInput],
    ) -> Result<ScanResult, EngineError> {
        let shards = pool.current_num_threads().max(1);
        let acc = Accumulator::new(self.memory_budget, shards > 1);
        let started = std::time::Instant::now();
        let per_source: Vec<SourceResult> = pool.install(|| {
            inputs
                .par_iter()
                .map(|i| {
                    let r = self.scan_input_into(i, shards, Some(&acc));
                    self.files_done.fetch_add(1, Ordering::Relaxed);
                    r
                })
                .collect()
        });
        let scan = started.elapsed();
        let mut result = pool.install(|| self.finish_with(acc, per_source))?;
        result.timings = Timings {
            scan,
            finish: started.elapsed().saturating_sub(scan),
        };
        Ok(result)
    }

    /// Merges per-source results: correlation over all sightings, aggregation, stable order.
    pub fn finish(&self, per_source: Vec<SourceResult>) -> Result<ScanResult, EngineError> {
        self.finish_with(Accumulator::new(self.memory_budget, false), per_source)
    }

    /// `finish`, with what the sources already handed to `acc` while they were scanned.
    fn finish_with(
        &self,
        acc: Accumulator,
        per_source: Vec<SourceResult>,
    ) -> Result<ScanResult, EngineError> {
        let mut sources = Vec::new();
        let mut exchanges = Vec::new();
        for r in per_source {
            acc.push_findings(r.findings.into_vec());
            acc.push_sightings(r.sightings.into_vec());
            append_moving(&mut exchanges, r.exchanges);
            sources.push(r.stats);
        }
        // A sanitized HAR had its Cookie and Authorization headers removed: a request that looks
        // anonymous may not have been. Every request of one counts as authenticated, so that the
        // absence of a stripped header never becomes a finding.
        let sanitized: HashSet<Arc<str>> = sources
            .iter()
            .filter(|s| s.sanitized)
            .map(|s| Arc::from(s.source.as_str()))
            .collect();
        let fix = |s: &mut Sighting| {
            if sanitized.contains(&s.source) {
                s.request_authenticated = true;
            }
        };
        let Accumulator {
            findings: found,
            sightings,
            cx,
        } = acc;
        let cx = cx.into_inner().unwrap_or_else(PoisonError::into_inner);
        let half = self.memory_budget / 2;
        let warned = Warned::default();
        let keys = Spiller::new(
            half,
            analyze::sighting::key_order,
            analyze::sighting::sort_keys,
        );
        // The scan's findings are folded while the correlation rules run: two merges of spilled
        // runs, each on one thread, side by side. Both fill one output spiller; the correlation
        // rules' findings have rule ids of their own, so no merge key is on both sides. On one
        // thread the correlation goes first, while the output spiller is still nearly empty.
        let out = analyze::output_spiller(half);
        let (correlated, scanned) = rayon::join(
            || -> Result<Option<Severity>, EngineError> {
                let corr = Spiller::new(half, analyze::merge_order, analyze::sort_and_fold);
                let (sightings, failed) = sightings.finish_and_failure();
                self.spill_failed(&warned, "sightings", failed);
                match sightings {
                    Finished::Memory(mut v) => {
                        v.iter_mut().for_each(fix);
                        par_sort_sightings(&mut v);
                        self.correlate(&cx, &v, &corr, &keys);
                        // Freed on every thread: by now the scanned findings' fold is often done
                        // and the other threads idle, while one thread alone took ~35 ms to free
                        // the 1 GiB bench's sightings on two threads (`perf`), most of them into
                        // the heaps of the shard threads that made them.
                        v.into_par_iter().with_min_len(4096).for_each(drop);
                    }
                    Finished::Spilled(sorted) => {
                        let mut batch: Vec<Sighting> = Vec::with_capacity(CORRELATION_BATCH);
                        for s in sorted.iter() {
                            let mut s = s?;
                            fix(&mut s);
                            let new_key = batch.last().is_some_and(|l| l.key_fp != s.key_fp);
                            if batch.len() >= CORRELATION_BATCH && new_key {
                                self.correlate(&cx, &batch, &corr, &keys);
                                batch.clear();
                            }
                            batch.push(s);
                        }
                        self.correlate(&cx, &batch, &corr, &keys);
                    }
                }
                let (corr, failed) = corr.finish_and_failure();
                self.spill_failed(&warned, "findings", failed);
                Ok(analyze::fold_into(corr, &out)?)
            },
            || -> Result<Option<Severity>, EngineError> {
                let (found, failed) = found.finish_and_failure();
                self.spill_failed(&warned, "findings", failed);
                Ok(analyze::fold_into(found, &out)?)
            },
        );
        let max = scanned?.max(correlated?);
        let (out, failed) = out.finish_and_failure();
        self.spill_failed(&warned, "findings", failed);
        let findings = Findings::from_output(out, max);
        let keys = if self.keep_keys {
            self.key_rows(keys, &findings, &warned)?
        } else {
            Keys::default()
        };
        exchanges.sort_by(|a, b| (&a.source, a.seq).cmp(&(&b.source, b.seq)));
        sources.sort_by(|a, b| a.source.cmp(&b.source));
        Ok(ScanResult {
            findings,
            sources,
            keys,
            exchanges,
            timings: Timings::default(),
        })
    }

    /// The key rows, each with the rules that found something about its key: the (key, rule)
    /// pairs of the findings, sorted by key (spilled past the budget like the rest), are joined
    /// with the rows, which are in key order too.
    fn key_rows(
        &self,
        rows: Spiller<KeyRow>,
        findings: &Findings,
        warned: &Warned,
    ) -> Result<Keys, EngineError> {
        use analyze::sighting::{KeyRule, key_order, key_rule_order, sort_key_rules, sort_keys};
        const BATCH: usize = 4096;
        let half = self.memory_budget / 2;
        let pairs = Spiller::new(half, key_rule_order, sort_key_rules);
        findings.for_each_chunk(BATCH, |c| -> Result<(), SpillError> {
            pairs.push(c.iter().filter(|f| !f.key_fp.is_empty()).map(|f| KeyRule {
                key_fp: f.key_fp.clone(),
                rule: f.rule,
            }));
            Ok(())
        })?;
        let (pairs, failed) = pairs.finish_and_failure();
        self.spill_failed(warned, "key findings", failed);
        let pairs = pairs.into_sorted(sort_key_rules, key_rule_order);
        let mut join = RuleJoin {
            pairs: pairs.iter(),
            pending: None,
        };
        let (rows, failed) = rows.finish_and_failure();
        self.spill_failed(warned, "keys", failed);
        let rows = match rows {
            // In memory: filled in place.
            Finished::Memory(mut v) => {
                sort_keys(&mut v);
                for row in &mut v {
                    row.findings = join.rules_of(&row.key_fp)?;
                }
                return Ok(Keys::from(crate::spill::Sorted::in_memory(v, key_order)));
            }
            Finished::Spilled(rows) => rows,
        };
        let out = Spiller::new(half, key_order, sort_keys);
        let mut batch = Vec::with_capacity(BATCH);
        for row in rows.iter() {
            let mut row = row?;
            row.findings = join.rules_of(&row.key_fp)?;
            batch.push(row);
            if batch.len() >= BATCH {
                out.push(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
            }
        }
        out.push(batch);
        // The rows' own runs are not needed once the filled ones are written.
        drop(rows);
        let (out, failed) = out.finish_and_failure();
        self.spill_failed(warned, "keys", failed);
        Ok(Keys::from(out.into_sorted(sort_keys, key_order)))
    }

    /// The warning for records that could not be spilled (they were kept in memory).
    /// Once per kind of record and run: several spillers hold findings (the scan's, the
    /// correlation rules', the report order's), and one that cannot write a file means they all
    /// cannot.
    fn spill_failed(&self, warned: &Warned, what: &'static str, failure: Option<String>) {
        if let Some(e) = failure
            && warned
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(what)
        {
            (self.on_warning)(&format!(
                "cannot spill {what} (in {}): {e}; they were kept in memory",
                std::env::temp_dir().display()
            ));
        }
    }

    /// The correlation rules (in parallel) over sightings in `sighting_order` that hold whole
    /// keys; their findings go to `found`, and the keys' rows to `keys` when asked for.
    fn correlate(
        &self,
        cx: &CorrelationCtx,
        sorted: &[Sighting],
        found: &Spiller<Finding>,
        keys: &Spiller<KeyRow>,
    ) {
        let groups = groups(sorted);
        let correlated: Vec<Vec<Finding>> = self
            .correlation_rules
            .par_iter()
            .filter(|r| self.analyze.enabled(r.meta().id))
            .map(|r| {
                let mut out = Vec::new();
                r.check(cx, &groups, &mut out);
                out
            })
            .collect();
        found.push(correlated.into_iter().flatten());
        if self.keep_keys {
            let rows: Vec<KeyRow> = groups.par_iter().map(|g| KeyRow::of(*g)).collect();
            keys.push(rows);
        }
    }

    /// Scans one input on the calling thread; never fails: problems become warnings in its
    /// `SourceStats`.
    pub fn scan_input(&self, input: &ResolvedInput) -> SourceResult {
        self.scan_input_on(input, 1)
    }

    /// Scans one input; a capture of at least `shard_min_bytes` (or of unknown size) has its
    /// connections spread over `shards` worker threads when `shards` > 1.
    pub fn scan_input_on(&self, input: &ResolvedInput, shards: usize) -> SourceResult {
        self.scan_input_into(input, shards, None)
    }

    /// `scan_input_on`; with `acc`, findings and sightings are handed to it as they pile up
    /// (the result holds only the last few).
    fn scan_input_into(
        &self,
        input: &ResolvedInput,
        shards: usize,
        acc: Option<&Accumulator>,
    ) -> SourceResult {
        let mut result = SourceResult {
            stats: SourceStats::new(&input.display),
            ..SourceResult::default()
        };
        let source: Arc<str> = Arc::from(input.display.as_str());
        let reader: Box<dyn Read + Send> = match &input.input {
            Input::Stdin => Box::new(CountingReader::new(
                std::io::stdin(),
                self.bytes_done.clone(),
            )),
            Input::Path(p) => match File::open(p) {
                Ok(f) => Box::new(CountingReader::new(f, self.bytes_done.clone())),
                Err(e) => {
                    self.fail(&mut result.stats, &format!("cannot open: {e}"));
                    return result;
                }
            },
        };
        let mut opened = match detect::open(reader) {
            Ok(Ok(o)) => o,
            Ok(Err(head)) => {
                result.stats.format = "unknown".into();
                self.fail(
                    &mut result.stats,
                    &format!("skipped: not a pcap, pcapng or HAR file (first bytes: {head})"),
                );
                return result;
            }
            Err(e) => {
                self.fail(&mut result.stats, &format!("cannot read: {e}"));
                return result;
            }
        };
        let format = opened.format_label();
        let mut stats = SourceStats::new(&input.display);
        stats.format = format;
        let big = input.size.is_none_or(|n| n >= self.shard_min_bytes);
        let sharded = shards > 1 && matches!(opened.format, Format::Pcap | Format::PcapNg) && big;
        // A HAR cannot be split by connection, but its entries are independent: the reader
        // parses on this thread and workers recognise and check the entries.
        let pipelined = shards > 1 && opened.format == Format::Har && big;
        let mut produced = SourceResult::default();
        let count: u64;
        let outcome: Result<(), IngestError> = if sharded {
            let sinks: Vec<Collector<'_>> =
                (0..shards).map(|_| Collector::new(self, acc)).collect();
            let (outcome, done) = ingest::pcap::shard::read_capture_sharded(
                &mut opened.reader,
                &source,
                &self.ingest,
                &mut stats,
                sinks,
                self.keep_exchanges,
            );
            count = merge_collectors(done.sinks, &mut produced, |w, conn| {
                done.conn_ids.relabel(w, conn)
            });
            outcome
        } else if pipelined {
            let (outcome, collectors) = self.pipeline(shards, acc, |sink| {
                ingest::har::read_har(&mut opened.reader, &source, &self.ingest, &mut stats, sink)
            });
            count = merge_collectors(collectors, &mut produced, |_, conn| conn.to_string());
            outcome
        } else {
            let mut c = Collector::new(self, acc);
            let outcome = {
                let mut sink = |ex: Exchange| c.exchange(ex);
                match opened.format {
                    Format::Pcap | Format::PcapNg => ingest::pcap::read_capture(
                        &mut opened.reader,
                        &source,
                        &self.ingest,
                        &mut stats,
                        &mut sink,
                    ),
                    Format::Har => ingest::har::read_har(
                        &mut opened.reader,
                        &source,
                        &self.ingest,
                        &mut stats,
                        &mut sink,
                    ),
                }
            };
            count = c.count;
            produced = c.into_result();
            outcome
        };
        if sharded {
            // The single-threaded reader reports these itself; the sharded one cannot see the
            // exchanges, so the engine does.
            ingest::bound_warnings(&self.ingest, &produced.bounded, &mut stats);
        }
        for w in &stats.warnings {
            (self.on_warning)(&format!("{}: {w}", input.display));
        }
        // The reader counts what it emitted; the engine counts what it processed. They agree
        // unless a reader forgot, so keep the larger.
        stats.exchanges = stats.exchanges.max(count);
        if let Err(e) = outcome {
            let msg = e.to_string();
            if count == 0 && stats.packets == 0 {
                self.fail(&mut stats, &msg);
            } else {
                (self.on_warning)(&format!("{}: {msg}", input.display));
                stats.warnings.push(msg);
            }
        }
        result.stats = stats;
        result.exchanges = produced.exchanges;
        match acc {
            // What is left goes to the run's accumulator now, not at the end of the run:
            // thousands of small inputs would otherwise all be held until then.
            Some(acc) => {
                acc.push_findings(produced.findings.into_vec());
                acc.push_sightings(produced.sightings.into_vec());
            }
            None => {
                result.findings = produced.findings;
                result.sightings = produced.sightings;
            }
        }
        result
    }

    fn fail(&self, stats: &mut SourceStats, msg: &str) {
        (self.on_warning)(&format!("{}: {msg}", stats.source));
        stats.warnings.push(msg.to_string());
        stats.failed = true;
    }

    /// Recognition, per-exchange rules and sightings for one exchange, as it streams past.
    fn process_exchange(
        &self,
        ex: &Exchange,
        scratch: &mut Vec<Finding>,
        acc: &mut FindingMerger,
        result: &mut SourceResult,
    ) {
        let seq = order_key(ex);
        let mut rec = self.recognizer.recognize(ex);
        if !self.keep_raw {
            rec.drop_raw();
        }
        let cx = ExchangeCtx {
            ex,
            rec: &rec,
            cfg: &self.analyze,
        };
        scratch.clear();
        analyze::check_exchange(&self.exchange_rules, &cx, scratch);
        // Merge as we go so that a million identical findings cost one row, not a million.
        for mut f in scratch.drain(..) {
            if !self.keep_raw {
                f.url.drop_raw();
                f.evidence.drop_raw();
            }
            acc.add(f);
        }
        result
            .sightings
            .extend(analyze::sighting::sightings_of(ex, &rec, seq));
        if self.keep_exchanges {
            result.exchanges.push(exchange_row(ex, &rec, seq));
        }
    }
}

impl Engine {
    /// Runs `read` on the calling thread and hands the exchanges it produces, in batches, to
    /// `workers` threads (round robin, bounded queues: a slow worker slows the reader instead
    /// of piling up exchanges), each with its own `Collector`. Which worker saw an exchange does
    /// not show in the result: findings merge and sightings sort by content, exchanges by
    /// `order_key`.
    fn pipeline<'e>(
        &'e self,
        workers: usize,
        acc: Option<&'e Accumulator>,
        read: impl FnOnce(&mut dyn FnMut(Exchange)) -> Result<(), IngestError>,
    ) -> (Result<(), IngestError>, Vec<Collector<'e>>) {
        const BATCH: usize = 64;
        const QUEUE_DEPTH: usize = 4;
        std::thread::scope(|scope| {
            let mut txs = Vec::with_capacity(workers);
            let mut handles = Vec::with_capacity(workers);
            for _ in 0..workers.max(1) {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Exchange>>(QUEUE_DEPTH);
                txs.push(tx);
                handles.push(scope.spawn(move || {
                    let mut c = Collector::new(self, acc);
                    for batch in rx {
                        for ex in batch {
                            c.exchange(ex);
                        }
                    }
                    c
                }));
            }
            let mut batch: Vec<Exchange> = Vec::with_capacity(BATCH);
            let mut next = 0usize;
            let send = |batch: Vec<Exchange>, next: &mut usize| {
                if let Some(tx) = txs.get(*next % txs.len()) {
                    // A worker only hangs up by panicking, which `join` reports below.
                    let _ = tx.send(batch);
                }
                *next += 1;
            };
            let outcome = read(&mut |ex| {
                batch.push(ex);
                if batch.len() >= BATCH {
                    send(
                        std::mem::replace(&mut batch, Vec::with_capacity(BATCH)),
                        &mut next,
                    );
                }
            });
            if !batch.is_empty() {
                send(batch, &mut next);
            }
            drop(txs);
            let collectors = handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect();
            (outcome, collectors)
        })
    }
}

/// The rules of each key, from (key, rule) pairs sorted by key then rule, asked in key order.
struct RuleJoin<'a> {
    pairs: crate::spill::Merge<'a, analyze::sighting::KeyRule>,
    /// A pair read ahead, for a later key.
    pending: Option<analyze::sighting::KeyRule>,
}

impl RuleJoin<'_> {
    /// The rules with findings about `key`, comma-separated, each once.
    fn rules_of(&mut self, key: &str) -> Result<String, SpillError> {
        let mut names: Vec<&'static str> = Vec::new();
        loop {
            let p = match self.pending.take() {
                Some(p) => p,
                None => match self.pairs.next() {
                    Some(p) => p?,
                    None => break,
                },
            };
            match p.key_fp.as_str().cmp(key) {
                std::cmp::Ordering::Less => {}
                // Sorted by rule within a key; a pair spilled in two runs comes twice.
                std::cmp::Ordering::Equal if names.last() != Some(&p.rule) => names.push(p.rule),
                std::cmp::Ordering::Equal => {}
                std::cmp::Ordering::Greater => {
                    self.pending = Some(p);
                    break;
                }
            }
        }
        Ok(names.join(","))
    }
}

/// A pool of `threads` threads (default: all cores) for a run.
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, EngineError> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        builder = builder.num_threads(n.max(1));
    }
    builder
        .build()
        .map_err(|e| EngineError::Threads(e.to_string()))
}

/// The results of several workers' collectors, as one source's: returns how many exchanges
/// they processed. `relabel` names worker `w`'s connection ids in the source's numbering.
fn merge_collectors(
    collectors: Vec<Collector<'_>>,
    produced: &mut SourceResult,
    relabel: impl Fn(usize, &str) -> String,
) -> u64 {
    let mut count = 0;
    for (w, c) in collectors.into_iter().enumerate() {
        count += c.count;
        let out = c.into_result();
        for (acc, b) in produced.bounded.iter_mut().zip(out.bounded) {
            acc.0 += b.0;
            acc.1 = ingest::min_locator(acc.1, b.1);
        }
        produced.findings.append(out.findings);
        produced.sightings.append(out.sightings);
        produced
            .exchanges
            .extend(out.exchanges.into_iter().map(|mut row| {
                row.connection = relabel(w, &row.connection);
                row
            }));
    }
    count
}

/// `src` appended to `dst`, taking `src`'s buffer whole when `dst` is empty: a lone large
/// source's (or first worker's) records are not copied into a second buffer of the same size at
/// the run's memory peak.
fn append_moving<T>(dst: &mut Vec<T>, mut src: Vec<T>) {
    if dst.is_empty() {
        std::mem::swap(dst, &mut src);
    }
    dst.append(&mut src);
}

/// Where an exchange sits in its source, the same whatever thread handled it or when it
/// completed: its first frame (entry for HAR) in the high 40 bits, its position on its connection
/// in the low 24 (exchanges that start in one frame are on one connection).
pub fn order_key(ex: &Exchange) -> u64 {
    let at = match ex.locator() {
        Some(Locator::Frame(n)) | Some(Locator::Entry(n)) => n,
        None => 0,
    };
    (at.min((1 << 40) - 1) << 24) | u64::from(ex.seq_on_connection & 0xFF_FFFF)
}

/// Recognition, rules and sightings for the exchanges of one input (or of one worker's share
/// of a large capture).
struct Collector<'e> {
    engine: &'e Engine,
    /// Where findings and sightings go as they pile up (else they stay here).
    acc: Option<&'e Accumulator>,
    scratch: Vec<Finding>,
    findings: FindingMerger,
    out: SourceResult,
    count: u64,
}

impl<'e> Collector<'e> {
    fn new(engine: &'e Engine, acc: Option<&'e Accumulator>) -> Self {
        Collector {
            engine,
            acc,
            scratch: Vec::new(),
            findings: FindingMerger::default(),
            out: SourceResult::default(),
            count: 0,
        }
    }

    /// Everything collected, findings merged.
    fn into_result(mut self) -> SourceResult {
        self.out.findings = self.findings.into_chunked();
        self.out
    }
}

impl ExchangeSink for Collector<'_> {
    fn exchange(&mut self, ex: Exchange) {
        self.count += 1;
        ingest::tally_bounds(&mut self.out.bounded, &ex);
        self.engine
            .process_exchange(&ex, &mut self.scratch, &mut self.findings, &mut self.out);
        if let Some(acc) = self.acc {
            if self.findings.len() >= FLUSH_RECORDS {
                acc.push_findings(std::mem::take(&mut self.findings).into_vec());
            }
            if self.out.sightings.len() >= FLUSH_RECORDS {
                acc.push_sightings(std::mem::take(&mut self.out.sightings).into_vec());
            }
        }
    }
}

fn exchange_row(ex: &Exchange, rec: &crate::recognize::Recognized, seq: u64) -> ExchangeRow {
    let req = ex.request.as_ref();
    let resp = ex.response.as_ref();
    let anomalies: BTreeSet<&str> = ex.anomalies.iter().map(|a| a.as_str()).collect();
    ExchangeRow {
        source: ex.source.clone(),
        locator: ex.locator(),
        response_locator: resp.and_then(|r| r.locator),
        ts: ex.ts(),
        client: ex.client.map(|c| c.to_string()).unwrap_or_default(),
        server: ex.server.map(|s| s.to_string()).unwrap_or_default(),
        connection: ex.connection.clone().unwrap_or_default(),
        seq_on_connection: ex.seq_on_connection,
        transport: ex.transport,
        method: req.map(|r| r.method.clone()).unwrap_or_default(),
        host: ex.host().into(),
        url: rec.url.clone(),
        version: req
            .map(|r| r.version.clone())
            .or_else(|| resp.map(|r| r.version.clone()))
            .unwrap_or_default(),
        status: ex.status(),
        request_bytes: req.map(|r| r.wire_bytes).unwrap_or(0),
        response_bytes: resp.map(|r| r.wire_bytes).unwrap_or(0),
        credentials: u32::try_from(rec.request.len()).unwrap_or(u32::MAX),
        anomalies: anomalies.into_iter().collect::<Vec<_>>().join(","),
        seq,
    }
}

/// An input after directory expansion, with the name reports show for it.
#[derive(Debug, Clone)]
pub struct ResolvedInput {
    pub input: Input,
    /// The path as given by the user (or as found under a given directory), `-` for stdin.
    pub display: String,
    /// Size in bytes when known (progress).
    pub size: Option<u64>,
}

/// Expands directories (recursively, sorted, so runs are reproducible) into files.
/// Unreadable directories become errors naming them.
pub fn resolve_inputs(inputs: &[Input]) -> (Vec<ResolvedInput>, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for input in inputs {
        match input {
            Input::Stdin => out.push(ResolvedInput {
                input: Input::Stdin,
                display: "-".into(),
                size: None,
            }),
            Input::Path(p) if p.is_dir() => {
                for entry in walkdir::WalkDir::new(p)
                    .sort_by_file_name()
                    .follow_links(true)
                {
                    match entry {
                        Ok(e) if e.file_type().is_file() => out.push(file_input(e.path())),
                        Ok(_) => {}
                        Err(e) => errors.push(format!(
                            "{}: {}",
                            e.path().unwrap_or(p).display(),
                            e.io_error()
                                .map(|x| x.to_string())
                                .unwrap_or_else(|| e.to_string())
                        )),
                    }
                }
            }
            Input::Path(p) => out.push(file_input(p)),
        }
    }
    (out, errors)
}

fn file_input(p: &Path) -> ResolvedInput {
    ResolvedInput {
        input: Input::Path(PathBuf::from(p)),
        display: p.display().to_string(),
        size: std::fs::metadata(p).ok().map(|m| m.len()),
    }
}

/// Counts bytes as they are read, for the progress bar.
struct CountingReader<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R> CountingReader<R> {
    fn new(inner: R, counter: Arc<AtomicU64>) -> Self {
        CountingReader { inner, counter }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::sighting::{key_order, sort_keys};
    use crate::model::{Location, Locator, Severity};

    /// A key's findings column names each rule once, in order, however the (key, rule) pairs
    /// were spread over spill runs (a budget of nothing: every part of the findings is a run).
    #[test]
    fn key_rows_name_each_rule_once_across_runs() {
        let cfg = ScanConfig {
            salt: Some(b"t".to_vec()),
            ..ScanConfig::default()
        };
        let mut engine = Engine::new(&cfg).unwrap();
        let finding = |i: usize, rule: &'static str, key: &str| Finding {
            rule,
            severity: Severity::High,
            title: crate::analyze::rule_meta(rule).map_or("", |m| m.title),
            source: Arc::from(format!("s{i}.pcap")),
            locator: Some(Locator::Frame(1)),
            first_seen: None,
            last_seen: None,
            count: 1,
            client: Default::default(),
            server: Default::default(),
            host: "h".into(),
            method: "GET".into(),
            url: Sensitive::default(),
            location: Some(Location::Header),
            name: "x-api-key".into(),
            kind: "api-key".into(),
            key_fp: key.into(),
            evidence: Sensitive::default(),
            detail: Default::default(),
            cwe: None,
        };
        // More findings than one part (4,096) about key `b`, under two rules, and one about `a`.
        let mut v: Vec<Finding> = (0..5000)
            .map(|i| finding(i, "cleartext-credential", "b"))
            .collect();
        v.extend((0..5000).map(|i| finding(i, "credential-in-url", "b")));
        v.push(finding(0, "credential-in-url", "a"));
        let findings = Findings::from(analyze::aggregate(v));
        // Rows spilled (a budget of nothing) and rows in memory.
        for budget in [0, 1 << 30] {
            engine.memory_budget = budget;
            let rows = Spiller::new(budget / 2, key_order, sort_keys);
            rows.push(["c", "a", "b"].map(|k| KeyRow {
                key_fp: k.into(),
                ..KeyRow::default()
            }));
            let keys = engine
                .key_rows(rows, &findings, &Warned::default())
                .unwrap()
                .to_vec()
                .unwrap();
            let got: Vec<(&str, &str)> = keys
                .iter()
                .map(|r| (r.key_fp.as_str(), r.findings.as_str()))
                .collect();
            assert_eq!(
                got,
                vec![
                    ("a", "credential-in-url"),
                    ("b", "cleartext-credential,credential-in-url"),
                    ("c", ""),
                ],
                "budget {budget}"
            );
        }
    }
}
