//! The fuzz harnesses: one function per target, fed raw bytes by the libFuzzer entry points in
//! `fuzz_targets/` and by the regression replay test of the main crate
//! (`tests/fuzz_regressions.rs` includes this file), so a crash input kept under
//! `tests/data/fuzz-regressions/<target>/` is replayed by `cargo test` through the same code.
//!
//! Each harness drives one stage of the library on hostile input and asserts the invariants that
//! are cheap to check: no panic, every body kept within its limit, every bounded collection
//! within its bound, reassembled bytes in their stream position.
//!
//! Configurations are deliberately tight (a few connections, small buffers, small bodies) so that
//! the bound-handling paths are reached by small inputs.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Cursor, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};

use arbitrary::{Arbitrary, Unstructured};
use credsift::analyze::{self, AnalyzeConfig, ExchangeCtx};
use credsift::config::{Input, OutputFormat, ReportKind, ScanConfig};
use credsift::engine::{Engine, ResolvedInput};
use credsift::http1::Http1Handler;
use credsift::ingest::IngestConfig;
use credsift::ingest::pcap::decode::{Decoded, Decoder, LinkKind};
use credsift::model::{
    Anomaly, Body, BodyLimits, Exchange, Headers, Request, Response, SourceStats, Transport, Url,
};
use credsift::reassembly::{
    ConnInfo, Meta, ReasmConfig, Reassembler, Segment, StreamHandler, Verdict,
};
use credsift::recognize::Recognizer;
use credsift::secret::Fingerprinter;

/// Names of the targets, as in `fuzz_targets/<name>.rs` and the regression directories.
pub const TARGETS: &[&str] = &[
    "pcap",
    "decode",
    "reassembly",
    "http1",
    "har",
    "setcookie",
    "jwt",
    "recognize",
    "scan",
];

/// Runs the harness of `target` on `data`.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "pcap" => pcap(data),
        "decode" => decode(data),
        "reassembly" => reassembly(data),
        "http1" => http1(data),
        "har" => har(data),
        "setcookie" => setcookie(data),
        "jwt" => jwt(data),
        "recognize" => recognize(data),
        "scan" => scan(data),
        other => panic!("unknown fuzz target {other}"),
    }
}

/// Small bounds everywhere, so that small inputs reach every bound.
pub fn tight_config() -> IngestConfig {
    IngestConfig {
        body: BodyLimits {
            max_kept: 512,
            max_decoded: 16 << 10,
        },
        max_connections: 8,
        max_ooo_bytes_per_flow: 2048,
        max_ooo_bytes_total: 6144,
        idle_timeout_ns: 5_000_000_000,
        max_header_bytes: 2048,
        max_headers: 24,
        max_ip_fragments: 8,
        max_record_bytes: 1 << 20,
    }
}

/// Invariants every emitted exchange keeps, whatever the input.
pub fn check_exchange(ex: &Exchange, cfg: &IngestConfig) {
    let body = |b: &Body| {
        assert!(
            b.bytes.len() <= cfg.body.max_kept,
            "kept body of {} bytes beyond the {}-byte limit",
            b.bytes.len(),
            cfg.body.max_kept
        );
    };
    if let Some(r) = &ex.request {
        body(&r.body);
        assert!(
            r.headers.len() <= cfg.max_headers,
            "{} request headers",
            r.headers.len()
        );
    }
    if let Some(r) = &ex.response {
        body(&r.body);
        assert!(
            r.headers.len() <= cfg.max_headers,
            "{} response headers",
            r.headers.len()
        );
    }
    assert!(
        ex.request.is_some() || ex.response.is_some(),
        "an exchange with neither request nor response"
    );
    let mut seen = ex.anomalies.clone();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), ex.anomalies.len(), "duplicate anomalies");
}

/// Warnings are few and short (they name a place, never quote input at length).
fn check_stats(stats: &SourceStats) {
    assert!(
        stats.warnings.len() <= 128,
        "{} warnings",
        stats.warnings.len()
    );
    for w in &stats.warnings {
        assert!(w.len() <= 512, "warning of {} bytes", w.len());
    }
}

// ---------------------------------------------------------------------------------------------
// pcap / pcapng reader

/// `ingest::pcap::read_capture` on arbitrary bytes.
pub fn pcap(data: &[u8]) {
    let cfg = tight_config();
    let source: Arc<str> = Arc::from("fuzz.pcap");
    let mut stats = SourceStats::new("fuzz.pcap");
    let mut n = 0u64;
    let mut sink = |ex: Exchange| {
        check_exchange(&ex, &cfg);
        n += 1;
    };
    let r = credsift::ingest::pcap::read_capture(
        &mut Cursor::new(data),
        &source,
        &cfg,
        &mut stats,
        &mut sink,
    );
    if r.is_ok() {
        assert_eq!(stats.exchanges, n, "exchanges counted and emitted differ");
        assert_eq!(stats.packets, stats.link_types.values().sum::<u64>());
    }
    check_stats(&stats);
}

// ---------------------------------------------------------------------------------------------
// link and IP decoding

const LINKS: &[i32] = &[
    1, 113, 276, 101, 228, 229, 0, 108, 239, 104, 127, 105, 129, 147,
];

/// `Decoder::decode` on a sequence of frames: the first byte picks the link type, then each
/// frame is a little-endian u16 length and its bytes (the last one takes what is left).
pub fn decode(data: &[u8]) {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let link = LinkKind::from_linktype(LINKS[usize::from(sel) % LINKS.len()]);
    let max_frags = 4;
    let mut dec = Decoder::new(max_frags);
    let mut ts = 0i64;
    while !rest.is_empty() {
        let (frame, tail) = match rest {
            [a, b, tail @ ..] => {
                let n = usize::from(u16::from_le_bytes([*a, *b]));
                let n = n.min(tail.len());
                (&tail[..n], &tail[n..])
            }
            _ => (rest, &[][..]),
        };
        rest = tail;
        // Time moves so that fragments also expire.
        ts += 1_000_000_000;
        let lo = frame.as_ptr() as usize;
        let hi = lo + frame.len();
        match dec.decode(link, frame, ts) {
            Decoded::Tcp(seg) => {
                let p = seg.payload.as_ptr() as usize;
                assert!(
                    seg.payload.is_empty() || (p >= lo && p + seg.payload.len() <= hi),
                    "TCP payload outside its frame"
                );
            }
            Decoded::Owned(segs) => {
                for s in &segs {
                    assert!(
                        s.segment().payload.len() <= 1 << 17,
                        "oversized owned segment"
                    );
                }
            }
            Decoded::Other => {}
        }
        assert!(
            dec.defrag.pending() <= max_frags,
            "IP reassembly table beyond its bound"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// TCP reassembly

/// One segment as the fuzzer describes it. Sequence numbers are mostly relative to a per-
/// direction base so that segments land near each other (in order, overlapping, holes).
#[derive(Debug, Arbitrary)]
pub struct ArbSegment {
    /// Which of a few endpoints sends and receives (so several connections and port reuse).
    pub from: u8,
    pub to: u8,
    pub seq: ArbSeq,
    pub ack: Option<ArbSeq>,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub len: u16,
    /// Milliseconds since the previous segment (idle timeouts, sweeps).
    pub dt_ms: u16,
}

#[derive(Debug, Arbitrary)]
pub enum ArbSeq {
    Near(i16),
    Abs(u32),
}

#[derive(Debug, Arbitrary)]
pub struct ArbReasm {
    /// Payload bytes are their own sequence number (mod 256), so that any misplaced byte shows;
    /// when `conflicting`, some payloads carry other bytes (overlap conflicts).
    pub conflicting: bool,
    pub segments: Vec<ArbSegment>,
}

fn endpoint(i: u8) -> SocketAddr {
    let i = i % 6;
    let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1 + i % 3));
    SocketAddr::new(ip, if i < 3 { 80 } else { 40000 + u16::from(i) })
}

/// What the checking handler keeps per connection direction.
#[derive(Default)]
struct DirCheck {
    /// The byte expected next (payload bytes are their sequence number mod 256), once known.
    expect: Option<u8>,
    ended: bool,
    delivered: u64,
}

struct ConnCheck {
    dirs: [DirCheck; 2],
    verify: bool,
}

struct Checker {
    verify: bool,
    open: HashMap<u64, ()>,
    closed: u64,
    opened: u64,
}

impl StreamHandler for Checker {
    type State = (u64, ConnCheck);
    fn open(&mut self, info: &ConnInfo, _meta: Meta) -> Self::State {
        assert!(
            self.open.insert(info.id, ()).is_none(),
            "connection opened twice"
        );
        self.opened += 1;
        (
            info.id,
            ConnCheck {
                dirs: [DirCheck::default(), DirCheck::default()],
                verify: self.verify,
            },
        )
    }
    fn data(
        &mut self,
        st: &mut Self::State,
        _info: &ConnInfo,
        dir: usize,
        data: &[u8],
        _meta: Meta,
    ) -> Verdict {
        let verify = st.1.verify;
        let d = &mut st.1.dirs[dir];
        assert!(!d.ended, "data after the end of a direction");
        assert!(!data.is_empty(), "empty delivery");
        if verify {
            let mut want = d.expect.unwrap_or(data[0]);
            for &b in data {
                assert_eq!(b, want, "byte delivered out of its stream position");
                want = want.wrapping_add(1);
            }
            d.expect = Some(want);
        }
        d.delivered += data.len() as u64;
        Verdict::Continue
    }
    fn gap(
        &mut self,
        st: &mut Self::State,
        _info: &ConnInfo,
        dir: usize,
        len: u64,
        _meta: Meta,
    ) -> Verdict {
        let d = &mut st.1.dirs[dir];
        assert!(!d.ended, "gap after the end of a direction");
        assert!(len > 0, "empty gap");
        if let Some(e) = d.expect.as_mut() {
            *e = e.wrapping_add(len as u8);
        }
        Verdict::Continue
    }
    fn anomaly(&mut self, _st: &mut Self::State, _info: &ConnInfo, _dir: usize, _a: Anomaly) {}
    fn end(&mut self, st: &mut Self::State, _info: &ConnInfo, dir: usize, _meta: Meta) {
        let d = &mut st.1.dirs[dir];
        assert!(!d.ended, "a direction ended twice");
        d.ended = true;
    }
    fn close(&mut self, st: Self::State, _info: &ConnInfo, _meta: Meta) {
        assert!(
            self.open.remove(&st.0).is_some(),
            "close of a connection not open"
        );
        self.closed += 1;
    }
}

/// `Reassembler` driven by arbitrary segment sequences.
pub fn reassembly(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(input) = ArbReasm::arbitrary(&mut u) else {
        return;
    };
    let cfg = ReasmConfig {
        max_connections: 3,
        max_ooo_bytes_per_flow: 3000,
        max_ooo_bytes_total: 5000,
        idle_timeout_ns: 2_000_000_000,
    };
    let mut h = Checker {
        verify: !input.conflicting,
        open: HashMap::new(),
        closed: 0,
        opened: 0,
    };
    let mut r = Reassembler::new(cfg.clone());
    // Per (sender, receiver): the base sequence number that `Near` offsets are taken from.
    let mut base: HashMap<(SocketAddr, SocketAddr), u32> = HashMap::new();
    let mut ts = 0i64;
    let mut payload = Vec::new();
    for (i, s) in input.segments.iter().take(2000).enumerate() {
        let src = endpoint(s.from);
        let dst = endpoint(s.to);
        let b = *base
            .entry((src, dst))
            .or_insert(0x7fff_ff00u32.wrapping_mul(u32::from(s.from) + 1));
        let seq = match s.seq {
            ArbSeq::Near(o) => b.wrapping_add(o as i32 as u32),
            ArbSeq::Abs(a) => a,
        };
        let ack = s.ack.as_ref().map(|a| {
            let pb = base.get(&(dst, src)).copied().unwrap_or(0);
            match a {
                ArbSeq::Near(o) => pb.wrapping_add(*o as i32 as u32),
                ArbSeq::Abs(a) => *a,
            }
        });
        // A SYN's sequence number is not a data byte: data starts one later.
        let first = if s.syn { seq.wrapping_add(1) } else { seq };
        payload.clear();
        let len = usize::from(s.len % 1500);
        payload.extend((0..len).map(|k| first.wrapping_add(k as u32) as u8));
        if input.conflicting && s.len % 3 == 0 {
            for p in payload.iter_mut() {
                *p ^= 0x5a;
            }
        }
        ts += i64::from(s.dt_ms) * 1_000_000;
        let seg = Segment {
            src,
            dst,
            seq,
            ack,
            syn: s.syn,
            fin: s.fin,
            rst: s.rst,
            payload: &payload,
        };
        r.segment(
            &seg,
            Meta {
                frame: i as u64 + 1,
                ts,
            },
            &mut h,
        );
        assert!(
            r.buffered_bytes() <= cfg.max_ooo_bytes_total,
            "{} bytes buffered beyond the total bound",
            r.buffered_bytes()
        );
        assert!(
            r.live() <= cfg.max_connections + 1,
            "{} connections tracked",
            r.live()
        );
    }
    r.finish_all(&mut h);
    assert!(
        h.open.is_empty(),
        "connections never closed: {}",
        h.open.len()
    );
    assert_eq!(h.opened, h.closed);
    assert_eq!(r.buffered_bytes(), 0, "buffers left after the end");
    assert_eq!(h.opened, r.counters().connections);
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.x connection parser

/// The HTTP/1.x connection parser (`Http1Handler`) fed directly, as reassembly would: records of
/// a tag byte (bit 0: direction; bits 1-2: 0 or 3 data, 1 gap, 2 end), a little-endian u16
/// length, then for data that many bytes (the last record takes what is left).
pub fn http1(data: &[u8]) {
    let cfg = tight_config();
    let source: Arc<str> = Arc::from("fuzz");
    let mut stats = SourceStats::default();
    let mut emitted = 0u64;
    let mut sink = |ex: Exchange| {
        check_exchange(&ex, &cfg);
        emitted += 1;
    };
    let mut h = Http1Handler::new(source, &cfg, &mut stats, &mut sink);
    let info = ConnInfo {
        id: 1,
        addrs: [
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:80".parse().unwrap(),
        ],
    };
    let mut meta = Meta { frame: 0, ts: 0 };
    let mut st = Some(h.open(&info, meta));
    let mut ended = [false; 2];
    let mut rest = data;
    while let [tag, tail @ ..] = rest {
        let dir = usize::from(tag & 1);
        let op = (tag >> 1) & 3;
        let (len, tail) = match tail {
            [a, b, t @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), t),
            _ => (tail.len(), &[][..]),
        };
        meta.frame += 1;
        meta.ts += 1000;
        let Some(s) = st.as_mut() else { break };
        let verdict = match op {
            1 => {
                rest = tail;
                if ended[dir] {
                    continue;
                }
                h.gap(s, &info, dir, len as u64 + 1, meta)
            }
            2 => {
                rest = tail;
                if !ended[dir] {
                    ended[dir] = true;
                    h.end(s, &info, dir, meta);
                }
                Verdict::Continue
            }
            _ => {
                let n = len.min(tail.len());
                rest = &tail[n..];
                if ended[dir] || n == 0 {
                    continue;
                }
                h.data(s, &info, dir, &tail[..n], meta)
            }
        };
        if verdict == Verdict::Abandon
            && let Some(s) = st.take()
        {
            h.close(s, &info, meta);
        }
    }
    if let Some(s) = st.take() {
        h.close(s, &info, meta);
    }
    drop(h);
    assert_eq!(stats.exchanges, emitted);
}

// ---------------------------------------------------------------------------------------------
// HAR reader

/// `ingest::har::read_har` on arbitrary bytes.
pub fn har(data: &[u8]) {
    let cfg = tight_config();
    let source: Arc<str> = Arc::from("fuzz.har");
    let mut stats = SourceStats::new("fuzz.har");
    let mut n = 0u64;
    let mut sink = |ex: Exchange| {
        check_exchange(&ex, &cfg);
        n += 1;
    };
    let _ = credsift::ingest::har::read_har(
        &mut Cursor::new(data),
        &source,
        &cfg,
        &mut stats,
        &mut sink,
    );
    assert_eq!(stats.exchanges, n);
    check_stats(&stats);
}

// ---------------------------------------------------------------------------------------------
// Set-Cookie, JWT

/// `SetCookie::parse` on an arbitrary line, then its date arithmetic at arbitrary times.
pub fn setcookie(data: &[u8]) {
    let (now, line) = match data.split_first_chunk::<8>() {
        Some((n, rest)) => (Some(i64::from_le_bytes(*n)), rest),
        None => (None, data),
    };
    let line = String::from_utf8_lossy(line);
    if let Some(c) = credsift::recognize::setcookie::SetCookie::parse(&line) {
        let _ = c.is_deletion(now);
        let _ = c.lifetime_secs(now);
        let _ = c.is_deletion(None);
        let _ = c.lifetime_secs(None);
        let _ = format!("{c:?}");
    }
}

/// `recognize::jwt::decode`: on the bytes as a token, and on two JSON documents (split at the
/// first 0xff byte) made into a token, so that the claims parsing is reached.
pub fn jwt(data: &[u8]) {
    use base64::Engine as _;
    let raw = String::from_utf8_lossy(data);
    check_jwt(credsift::recognize::jwt::decode(&raw));
    let mut parts = data.splitn(3, |&b| b == 0xff);
    let h = parts.next().unwrap_or_default();
    let p = parts.next().unwrap_or_default();
    let sig = parts.next().unwrap_or_default();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = format!("{}.{}.{}", b64.encode(h), b64.encode(p), b64.encode(sig));
    check_jwt(credsift::recognize::jwt::decode(&token));
}

fn check_jwt(info: Option<credsift::recognize::JwtInfo>) {
    let Some(i) = info else { return };
    assert!(i.roles.len() <= 256, "{} roles", i.roles.len());
    for s in [
        &i.sub,
        &i.iss,
        &i.email,
        &i.client_id,
        &i.preferred_username,
        &i.alg,
    ]
    .into_iter()
    .flatten()
    {
        assert!(
            s.chars().count() <= 256 || s.parse::<f64>().is_ok(),
            "claim not clipped"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// recognizer and per-exchange rules

/// Header names worth trying: the fuzzer picks one by index or gives its own.
const HEADER_NAMES: &[&str] = &[
    "Authorization",
    "Cookie",
    "Set-Cookie",
    "Content-Type",
    "Content-Encoding",
    "Referer",
    "Host",
    "X-Api-Key",
    "X-Auth-Token",
    "Proxy-Authorization",
    "Location",
    "WWW-Authenticate",
    "User-Agent",
    "X-CSRF-Token",
    "Api-Key",
];

const CONTENT_TYPES: &[&str] = &[
    "application/x-www-form-urlencoded",
    "application/json",
    "multipart/form-data; boundary=xyz",
    "text/html",
    "text/plain",
    "application/xml",
];

#[derive(Debug, Arbitrary)]
pub enum ArbName {
    Known(u8),
    Other(String),
}

#[derive(Debug, Arbitrary)]
pub struct ArbMessage {
    pub headers: Vec<(ArbName, String)>,
    pub content_type: Option<u8>,
    pub body: Vec<u8>,
    pub truncated: bool,
}

#[derive(Debug, Arbitrary)]
pub struct ArbExchange {
    pub tls: bool,
    pub method: String,
    pub target: String,
    pub host: Option<String>,
    pub request: Option<ArbMessage>,
    pub response: Option<(u16, ArbMessage)>,
    pub ts: Option<i64>,
    pub anomalies: bool,
}

fn headers_of(m: &ArbMessage) -> Headers {
    let mut h = Headers::default();
    for (n, v) in m.headers.iter().take(64) {
        let name = match n {
            ArbName::Known(i) => HEADER_NAMES[usize::from(*i) % HEADER_NAMES.len()].to_string(),
            ArbName::Other(s) => s.clone(),
        };
        h.push(name, v.clone());
    }
    if let Some(c) = m.content_type {
        h.push(
            "Content-Type",
            CONTENT_TYPES[usize::from(c) % CONTENT_TYPES.len()],
        );
    }
    h
}

fn body_of(m: &ArbMessage, h: &Headers) -> Body {
    Body {
        bytes: m.body.clone(),
        content_type: h.get("content-type").map(str::to_string),
        wire_len: m.body.len() as u64,
        truncated: m.truncated,
    }
}

fn recognizer() -> &'static Recognizer {
    static R: OnceLock<Recognizer> = OnceLock::new();
    R.get_or_init(|| {
        Recognizer::new(None, Fingerprinter::new(b"fuzz")).expect("built-in detectors load")
    })
}

/// The recognizer and every per-exchange rule on an arbitrary exchange.
pub fn recognize(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(a) = ArbExchange::arbitrary(&mut u) else {
        return;
    };
    let transport = if a.tls {
        Transport::Tls
    } else {
        Transport::Cleartext
    };
    let mut ex = Exchange::new(Arc::from("fuzz"), transport);
    ex.client = Some("10.0.0.1:40000".parse().unwrap());
    ex.server = Some("10.0.0.2:80".parse().unwrap());
    if let Some(m) = &a.request {
        let headers = headers_of(m);
        let host = a.host.as_deref().or(headers.get("host"));
        let scheme = if a.tls { "https" } else { "http" };
        let url = Url::parse(&a.target, scheme, host);
        let body = body_of(m, &headers);
        ex.request = Some(Request {
            locator: Some(credsift::model::Locator::Frame(1)),
            ts: a.ts,
            method: a.method.clone(),
            target: a.target.clone(),
            url,
            version: "HTTP/1.1".into(),
            headers,
            body,
            wire_bytes: 0,
        });
    }
    if let Some((status, m)) = &a.response {
        let headers = headers_of(m);
        let body = body_of(m, &headers);
        ex.response = Some(Response {
            locator: Some(credsift::model::Locator::Frame(2)),
            ts: a.ts.map(|t| t.saturating_add(1000)),
            status: *status,
            reason: String::new(),
            version: "HTTP/1.1".into(),
            headers,
            body,
            har_cookies: Vec::new(),
            wire_bytes: 0,
        });
    }
    if a.anomalies {
        ex.anomalies = vec![Anomaly::StreamGap, Anomaly::BodyTruncated];
    }
    let rec = recognizer().recognize(&ex);
    assert!(
        rec.request.len() <= 256 && rec.response.len() <= 256,
        "credentials unbounded"
    );
    assert!(rec.jwts.len() <= 32, "{} JWTs", rec.jwts.len());
    for c in rec.request.iter().chain(rec.response.iter()) {
        let v = c.value.expose();
        // A value long enough to be told apart must not show in the credential's Debug output
        // (unless the fuzzer made it part of the name).
        if v.chars().count() >= 12
            && !c.name.contains(v)
            && !c.kind.contains(v)
            && !c.detector.contains(v)
        {
            assert!(
                !format!("{c:?}").contains(v),
                "a credential's Debug output shows its value"
            );
        }
    }
    let rules = analyze::rules::exchange_rules();
    let cfg = AnalyzeConfig::default();
    let cx = ExchangeCtx {
        ex: &ex,
        rec: &rec,
        cfg: &cfg,
    };
    let mut out = Vec::new();
    analyze::check_exchange(&rules, &cx, &mut out);
    let mut sightings = analyze::sighting::sightings_of(&ex, &rec, 1);
    let ccx = analyze::CorrelationCtx::of(&sightings);
    analyze::sighting::sort_sightings(&mut sightings);
    let groups = analyze::sighting::groups(&sightings);
    for r in analyze::rules::correlation_rules() {
        r.check(&ccx, &groups, &mut out);
    }
    let _ = analyze::aggregate(out);
}

// ---------------------------------------------------------------------------------------------
// whole scan

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| make_engine(credsift::engine::MEMORY_BUDGET))
}

/// An engine whose every finding and sighting spills to a temporary file (the merge path).
fn spilling_engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| make_engine(0))
}

fn make_engine(memory_budget: usize) -> Engine {
    let cfg = ScanConfig {
        salt: Some(b"fuzz".to_vec()),
        threads: Some(1),
        reports: vec![ReportKind::Findings, ReportKind::Exchanges],
        format: OutputFormat::Json,
        ..ScanConfig::default()
    };
    let mut e = Engine::new(&cfg).expect("engine builds");
    e.memory_budget = memory_budget;
    e
}

/// A whole scan of arbitrary bytes through the engine's per-input path (format detection,
/// decompression, the reader, recognition, rules), then the run's correlation. Inputs starting
/// with `GZ:` or `ZS:` are gzip- or zstd-wrapped first, so the wrappers are covered too.
pub fn scan(data: &[u8]) {
    let bytes: Vec<u8> = if let Some(rest) = data.strip_prefix(b"GZ:") {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(rest).expect("in memory");
        gz.finish().expect("in memory")
    } else if let Some(rest) = data.strip_prefix(b"ZS:") {
        zstd::encode_all(rest, 1).expect("in memory")
    } else {
        data.to_vec()
    };
    let dir = std::env::temp_dir();
    let path = dir.join(format!("credsift-fuzz-scan-{}", std::process::id()));
    std::fs::write(&path, &bytes).expect("temporary file");
    let input = ResolvedInput {
        input: Input::Path(path.clone()),
        display: "fuzz-input".into(),
        size: Some(bytes.len() as u64),
    };
    // Odd lengths take the spilling engine: both ways of finishing a run are fuzzed.
    let e = if bytes.len().is_multiple_of(2) {
        engine()
    } else {
        spilling_engine()
    };
    let r = e.scan_input(&input);
    check_stats(&r.stats);
    for w in &r.stats.warnings {
        assert!(!w.is_empty());
    }
    let done = e.finish(vec![r]).expect("spill files read back");
    assert_eq!(done.sources.len(), 1);
    done.findings.to_vec().expect("spill files read back");
    let _ = std::fs::remove_file(&path);
}
