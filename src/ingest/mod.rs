//! Inputs: tells a file's format by its magic bytes (pcap, pcapng, HAR, each possibly gzip or
//! zstd wrapped) and hands its bytes to the matching reader, which emits `model::Exchange`s to a
//! sink and fills the file's `SourceStats`. Readers never know about rules.

pub mod detect;
pub mod har;
pub mod pcap;

use crate::model::{Anomaly, BodyLimits, Exchange, Locator, SourceStats};

/// Bounds for the ingest stage. Every collection a hostile input could grow has one here.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    pub body: BodyLimits,
    /// Live TCP connections tracked at once per capture; the oldest idle one is flushed beyond.
    pub max_connections: usize,
    /// Out-of-order bytes buffered per connection direction.
    pub max_ooo_bytes_per_flow: usize,
    /// Out-of-order bytes buffered across all connections of one capture.
    pub max_ooo_bytes_total: usize,
    /// A connection idle for this long (capture time, ns) is flushed and forgotten.
    pub idle_timeout_ns: i64,
    /// Largest header block accepted for one HTTP message.
    pub max_header_bytes: usize,
    /// Largest number of header lines in one HTTP message.
    pub max_headers: usize,
    /// IP fragments buffered (datagrams being reassembled) per capture.
    pub max_ip_fragments: usize,
    /// Largest capture record accepted (bigger ones are corrupt, never allocated).
    pub max_record_bytes: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            body: BodyLimits::default(),
            max_connections: 100_000,
            max_ooo_bytes_per_flow: 4 << 20,
            max_ooo_bytes_total: 64 << 20,
            idle_timeout_ns: 600 * 1_000_000_000,
            max_header_bytes: 256 << 10,
            max_headers: 1000,
            max_ip_fragments: 10_000,
            max_record_bytes: 256 << 20,
        }
    }
}

/// Why an input could not be read (further). Messages name the place and never carry secrets;
/// the engine prefixes the file name.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a pcap, pcapng or HAR file (first bytes: {0})")]
    UnknownFormat(String),
    #[error("unsupported input: {0}")]
    Unsupported(String),
    #[error("capture header unreadable at byte offset {offset}: {reason}")]
    BadCaptureHeader { offset: u64, reason: String },
    #[error("not valid JSON at line {line}, column {column}: {reason}")]
    Json {
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("not a HAR document: {0}")]
    NotHar(String),
}

/// Exchanges that hit a message bound: `[limit-hit, decode-limit]`, each with a count and the
/// first place it happened.
pub type Bounded = [(u64, Option<Locator>); 2];

/// Counts an exchange into `bounded` if it hit a message bound.
pub fn tally_bounds(bounded: &mut Bounded, ex: &Exchange) {
    for (i, a) in [Anomaly::LimitHit, Anomaly::DecodeLimit].iter().enumerate() {
        if ex.anomalies.contains(a) {
            let (n, first) = &mut bounded[i];
            *n += 1;
            *first = min_locator(*first, ex.locator());
        }
    }
}

pub fn min_locator(a: Option<Locator>, b: Option<Locator>) -> Option<Locator> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// One warning per kind of message bound hit in a source, naming the first place.
pub fn bound_warnings(cfg: &IngestConfig, bounded: &Bounded, stats: &mut SourceStats) {
    let first = |l: Option<Locator>| l.map(|l| format!(" (first at {l})")).unwrap_or_default();
    let [(limits, first_limit), (bombs, first_bomb)] = *bounded;
    if limits > 0 {
        stats.warnings.push(format!(
            "{limits} exchange(s) hit a bound{}: a header block over {} bytes or {} lines, more \
             than {} requests waiting for responses, or a connection or buffer bound; what was \
             beyond it was skipped and counted",
            first(first_limit),
            cfg.max_header_bytes,
            cfg.max_headers,
            crate::http1::MAX_QUEUED
        ));
    }
    if bombs > 0 {
        stats.warnings.push(format!(
            "{bombs} body(ies) decoded past the {}-byte decode limit{} (possible compression \
             bomb); the rest was counted, not decoded",
            cfg.body.max_decoded,
            first(first_bomb)
        ));
    }
}
