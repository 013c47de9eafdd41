//! The normalized data every stage shares: `Exchange` (fed by `ingest`, read by `recognize` and
//! `analyze`), `Finding` (produced by `analyze`, written by `report`), and the typed anomalies and
//! per-source statistics that travel beside them.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::secret::Sensitive;

/// Nanoseconds since the Unix epoch, as read from the capture or the HAR entry.
pub type Timestamp = i64;

/// How the exchange crossed the network. Never guessed from a port number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Transport {
    /// Plain TCP: everything in the exchange was readable on the wire.
    Cleartext,
    /// TLS (HAR entry with an https/wss URL).
    Tls,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Cleartext => "cleartext",
            Transport::Tls => "tls",
        }
    }
}

/// Where in its source an exchange (or a finding) was first seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Locator {
    /// Frame number in a capture, counted from 1 across pcapng sections, as Wireshark does.
    Frame(u64),
    /// Entry index in a HAR file, counted from 0 as in the file's `log.entries` array.
    Entry(u64),
}

impl fmt::Display for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Locator::Frame(n) => write!(f, "frame {n}"),
            Locator::Entry(n) => write!(f, "entry {n}"),
        }
    }
}

/// One header line, name with its original case, value as text (invalid UTF-8 replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

impl Header {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// Ordered header list with case-insensitive lookups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push(Header::new(name, value));
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A message body as kept: a bounded prefix after de-chunking and content decoding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body {
    pub bytes: Vec<u8>,
    /// Content-Type header value, if any.
    pub content_type: Option<String>,
    /// Length of the body on the wire (after de-chunking, before decoding), when known.
    pub wire_len: u64,
    /// True when `bytes` is a prefix: the body was longer than the kept or decoded limit.
    pub truncated: bool,
}

/// A request URL split into parts. `host` comes from the Host header or the absolute-form target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Url {
    /// `http`, `https`, `ws`, `wss` (from HAR), or `http` for captures.
    pub scheme: String,
    /// Lowercased host name or IP literal, without port.
    pub host: String,
    pub port: Option<u16>,
    /// `user[:password]` from the URL, raw (a credential: never print it).
    pub userinfo: Option<String>,
    /// Path as sent, including any `;param=value` path parameters, without query or fragment.
    pub path: String,
    /// Query string without the leading `?`.
    pub query: Option<String>,
    /// Fragment without the leading `#` (only HAR can carry one).
    pub fragment: Option<String>,
}

impl Url {
    /// Parses a request target (origin-form `/p?q`, absolute-form `http://h/p`, or a full URL).
    /// `host_header` fills the host when the target has none.
    pub fn parse(target: &str, default_scheme: &str, host_header: Option<&str>) -> Url {
        let mut url = Url {
            scheme: default_scheme.to_string(),
            ..Url::default()
        };
        let mut rest = target;
        let mut authority: Option<&str> = None;
        if let Some(idx) = rest.find("://") {
            let scheme = &rest[..idx];
            if !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
            {
                url.scheme = scheme.to_ascii_lowercase();
                rest = &rest[idx + 3..];
                let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
                authority = Some(&rest[..end]);
                rest = &rest[end..];
            }
        }
        let (before_frag, frag) = match rest.find('#') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (path, query) = match before_frag.find('?') {
            Some(i) => (&before_frag[..i], Some(&before_frag[i + 1..])),
            None => (before_frag, None),
        };
        url.path = if path.is_empty() {
            "/".to_string()
        } else {
            path.to_string()
        };
        url.query = query.map(str::to_string);
        url.fragment = frag.map(str::to_string);
        let authority = authority.or(host_header);
        if let Some(auth) = authority {
            let hostport = match auth.rfind('@') {
                Some(i) => {
                    url.userinfo = Some(auth[..i].to_string());
                    &auth[i + 1..]
                }
                None => auth,
            };
            let (host, port) = split_host_port(hostport.trim());
            url.host = host.to_ascii_lowercase();
            url.port = port;
        }
        url
    }

    /// The origin (`scheme://host[:port]`), used to compare Referer targets.
    pub fn origin(&self) -> String {
        match self.port {
            Some(p) if Some(p) != default_port(&self.scheme) => {
                format!("{}://{}:{}", self.scheme, self.host, p)
            }
            _ => format!("{}://{}", self.scheme, self.host),
        }
    }

    /// Iterates over `name=value` pairs of the query, raw (not percent-decoded).
    pub fn query_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        split_pairs(self.query.as_deref().unwrap_or(""), '&')
    }
}

/// `ip` as text, as `Display` writes it. IPv4, the common case, is built from its octets: through
/// `core::fmt`, formatting the client and server of every finding and sighting was 3% of a scan.
pub fn ip_text(ip: std::net::IpAddr) -> CompactString {
    use compact_str::ToCompactString;
    match ip {
        std::net::IpAddr::V4(v4) => {
            let mut buf = [0u8; 21];
            let n = put_v4(&mut buf, v4);
            ascii(&buf[..n])
        }
        std::net::IpAddr::V6(v6) => v6_text((u128::from(v6), None, 0), || v6.to_compact_string()),
    }
}

/// The text of an IPv6 address (with the port and scope id it is shown with), through a small
/// per-thread memo of the ones formatted lately. `core::fmt` takes ~200 ns for one (zero-run
/// compression), and a capture's findings and sightings name the same endpoints over and over.
fn v6_text(key: (u128, Option<u16>, u32), fmt: impl FnOnce() -> CompactString) -> CompactString {
    use std::cell::RefCell;
    use std::hash::BuildHasher;
    const SLOTS: usize = 64;
    type Memo = RefCell<Vec<Option<((u128, Option<u16>, u32), CompactString)>>>;
    thread_local! {
        static MEMO: Memo = RefCell::new(vec![None; SLOTS]);
    }
    let slot = (foldhash::fast::FixedState::default().hash_one(key) as usize) % SLOTS;
    // `try_with`: on a thread whose memo is already gone (it is exiting), formatted directly.
    let cached = MEMO
        .try_with(|m| match m.borrow().get(slot) {
            Some(Some((k, text))) if *k == key => Some(text.clone()),
            _ => None,
        })
        .ok()
        .flatten();
    if let Some(text) = cached {
        return text;
    }
    let text = fmt();
    let _ = MEMO.try_with(|m| {
        if let Some(e) = m.borrow_mut().get_mut(slot) {
            *e = Some((key, text.clone()));
        }
    });
    text
}

/// `addr` as text (`1.2.3.4:80`, `[::1]:80`), as `Display` writes it; see `ip_text`.
pub fn addr_text(addr: SocketAddr) -> CompactString {
    match addr {
        SocketAddr::V4(a) => {
            let mut buf = [0u8; 21];
            let mut n = put_v4(&mut buf, *a.ip());
            buf[n] = b':';
            n += 1;
            n += put_decimal(&mut buf[n..], a.port());
            ascii(&buf[..n])
        }
        SocketAddr::V6(a) => v6_text((u128::from(*a.ip()), Some(a.port()), a.scope_id()), || {
            use compact_str::ToCompactString;
            a.to_compact_string()
        }),
    }
}

/// Writes `ip` in dotted decimal at the start of `buf` (at least 15 bytes); returns the length.
/// Digits by hand: `core::fmt`, or compact_str's integer text per octet, was ~1% of a run
/// (every finding and sighting names its endpoints).
fn put_v4(buf: &mut [u8; 21], ip: std::net::Ipv4Addr) -> usize {
    let mut n = 0;
    for (i, o) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        n += put_decimal(&mut buf[n..], u16::from(o));
    }
    n
}

/// Writes `v` in decimal at the start of `out`; returns the length (0 where it does not fit).
fn put_decimal(out: &mut [u8], v: u16) -> usize {
    let mut digits = [0u8; 5];
    let mut len = 0;
    let mut v = v;
    loop {
        digits[4 - len] = b'0' + (v % 10) as u8;
        len += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    match out.get_mut(..len) {
        Some(dst) => {
            dst.copy_from_slice(&digits[5 - len..]);
            len
        }
        None => 0,
    }
}

/// ASCII bytes as a string (inline in a `CompactString` up to 24 bytes).
fn ascii(b: &[u8]) -> CompactString {
    CompactString::from(std::str::from_utf8(b).unwrap_or_default())
}

/// Splits `a=b&c=d` style strings into raw pairs; a bare `a` yields `("a", "")`.
pub fn split_pairs(s: &str, sep: char) -> impl Iterator<Item = (&str, &str)> {
    s.split(sep)
        .filter(|p| !p.is_empty())
        .map(|p| match p.find('=') {
            Some(i) => (&p[..i], &p[i + 1..]),
            None => (p, ""),
        })
}

pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// Splits `host:port`, `[v6]:port`, or a bare host.
pub fn split_host_port(s: &str) -> (&str, Option<u16>) {
    if let Some(rest) = s.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            let host = &rest[..end];
            let port = rest[end + 1..]
                .strip_prefix(':')
                .and_then(|p| p.parse().ok());
            return (host, port);
        }
        return (s, None);
    }
    match s.rfind(':') {
        // More than one colon without brackets: a bare IPv6 literal, no port.
        Some(i) if s[..i].contains(':') => (s, None),
        Some(i) => match s[i + 1..].parse() {
            Ok(p) => (&s[..i], Some(p)),
            Err(_) => (s, None),
        },
        None => (s, None),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub locator: Option<Locator>,
    pub ts: Option<Timestamp>,
    pub method: String,
    /// The request target exactly as sent (a credential may be in it: never print it raw).
    pub target: String,
    pub url: Url,
    /// `HTTP/1.1`, `HTTP/1.0`, `HTTP/2`, `h3`... as given.
    pub version: String,
    pub headers: Headers,
    pub body: Body,
    /// Bytes of the whole request message on the wire (head and body).
    pub wire_bytes: u64,
}

impl Request {
    /// Request cookies as `(name, value)` pairs from every Cookie header.
    pub fn cookies(&self) -> Vec<(&str, &str)> {
        self.headers
            .get_all("cookie")
            .flat_map(|v| v.split(';'))
            .filter_map(|c| {
                let c = c.trim();
                if c.is_empty() {
                    return None;
                }
                Some(match c.find('=') {
                    Some(i) => (c[..i].trim(), c[i + 1..].trim()),
                    None => ("", c),
                })
            })
            .collect()
    }
}

/// A cookie that a HAR producer recorded only as a `response.cookies` object (no Set-Cookie line).
/// Flags that the HAR did not record are `None`: a missing flag must not become a finding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HarCookie {
    pub name: String,
    pub value: String,
    pub domain: Option<String>,
    pub path: Option<String>,
    pub expires: Option<String>,
    pub http_only: Option<bool>,
    pub secure: Option<bool>,
    pub same_site: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    pub locator: Option<Locator>,
    pub ts: Option<Timestamp>,
    pub status: u16,
    pub reason: String,
    pub version: String,
    pub headers: Headers,
    pub body: Body,
    /// Cookies that came only from a HAR `response.cookies` array, with the flags it recorded.
    pub har_cookies: Vec<HarCookie>,
    pub wire_bytes: u64,
}

impl Response {
    /// Every Set-Cookie line, in order. Some HAR producers put several cookies in one header
    /// value separated by newlines; they are split here.
    pub fn set_cookie_lines(&self) -> impl Iterator<Item = &str> {
        self.headers
            .get_all("set-cookie")
            .flat_map(|v| v.split('\n'))
            .map(str::trim)
            .filter(|l| !l.is_empty())
    }
}

/// Something unusual about an exchange or a source, counted and reported, never fatal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Anomaly {
    /// A body was longer than the kept limit; the rest was counted, not kept.
    BodyTruncated,
    /// A compressed body decoded past the decode limit (possible compression bomb).
    DecodeLimit,
    /// A Content-Encoding that could not be decoded (corrupt stream or unknown coding).
    DecodeError,
    /// Bytes were missing from the TCP stream (lost segment) inside or before this message.
    StreamGap,
    /// A response with no request seen before it (capture started mid-connection).
    ResponseWithoutRequest,
    /// A request whose response was never seen.
    RequestWithoutResponse,
    /// Bytes that did not parse as HTTP were skipped while resynchronising.
    UnparseableSkipped,
    /// A header block that did not parse strictly but was recovered by the lax parser.
    LaxHeaderSyntax,
    /// Overlapping TCP segments carried different bytes (first data wins).
    OverlapConflict,
    /// The message ended before its declared length (connection closed or capture ended).
    IncompleteMessage,
    /// HTTP parsing stopped at a CONNECT or protocol upgrade (websocket, h2c).
    ProtocolSwitched,
    /// A HAR entry field was missing or malformed and defaulted.
    HarFieldDefaulted,
    /// A bound (connections, buffered bytes, headers...) was hit.
    LimitHit,
}

impl Anomaly {
    pub fn as_str(&self) -> &'static str {
        match self {
            Anomaly::BodyTruncated => "body-truncated",
            Anomaly::DecodeLimit => "decode-limit",
            Anomaly::DecodeError => "decode-error",
            Anomaly::StreamGap => "stream-gap",
            Anomaly::ResponseWithoutRequest => "response-without-request",
            Anomaly::RequestWithoutResponse => "request-without-response",
            Anomaly::UnparseableSkipped => "unparseable-skipped",
            Anomaly::LaxHeaderSyntax => "lax-header-syntax",
            Anomaly::OverlapConflict => "overlap-conflict",
            Anomaly::IncompleteMessage => "incomplete-message",
            Anomaly::ProtocolSwitched => "protocol-switched",
            Anomaly::HarFieldDefaulted => "har-field-defaulted",
            Anomaly::LimitHit => "limit-hit",
        }
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One HTTP request with its response when one was seen: the only thing analyzers see.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Input path as the user gave it.
    pub source: Arc<str>,
    pub client: Option<SocketAddr>,
    pub server: Option<SocketAddr>,
    /// Connection id, unique within the source (HAR: the `connection` field when present).
    pub connection: Option<String>,
    /// 1-based position of this exchange on its connection (keep-alive order).
    pub seq_on_connection: u32,
    pub transport: Transport,
    /// Absent for a response whose request was not captured.
    pub request: Option<Request>,
    pub response: Option<Response>,
    pub anomalies: Vec<Anomaly>,
}

impl Exchange {
    pub fn new(source: Arc<str>, transport: Transport) -> Self {
        Exchange {
            source,
            client: None,
            server: None,
            connection: None,
            seq_on_connection: 1,
            transport,
            request: None,
            response: None,
            anomalies: Vec::new(),
        }
    }

    /// The first locator of the exchange: the request's, else the response's.
    pub fn locator(&self) -> Option<Locator> {
        self.request
            .as_ref()
            .and_then(|r| r.locator)
            .or_else(|| self.response.as_ref().and_then(|r| r.locator))
    }

    pub fn ts(&self) -> Option<Timestamp> {
        self.request
            .as_ref()
            .and_then(|r| r.ts)
            .or_else(|| self.response.as_ref().and_then(|r| r.ts))
    }

    /// Host the request was sent to: URL host, else the server address.
    pub fn host(&self) -> CompactString {
        if let Some(r) = &self.request
            && !r.url.host.is_empty()
        {
            return r.url.host.as_str().into();
        }
        self.server.map(|s| ip_text(s.ip())).unwrap_or_default()
    }

    pub fn status(&self) -> Option<u16> {
        self.response.as_ref().map(|r| r.status)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s.to_ascii_lowercase().as_str() {
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a credential was found (the contract's `location` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Location {
    Header,
    Cookie,
    Query,
    Path,
    Fragment,
    Userinfo,
    Body,
    SetCookie,
    Referer,
    ResponseBody,
    ResponseHeader,
}

impl Location {
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Header => "header",
            Location::Cookie => "cookie",
            Location::Query => "query",
            Location::Path => "path",
            Location::Fragment => "fragment",
            Location::Userinfo => "userinfo",
            Location::Body => "body",
            Location::SetCookie => "set-cookie",
            Location::Referer => "referer",
            Location::ResponseBody => "response-body",
            Location::ResponseHeader => "response-header",
        }
    }
    /// True for locations inside the request URL.
    pub fn in_url(self) -> bool {
        matches!(
            self,
            Location::Query | Location::Path | Location::Fragment | Location::Userinfo
        )
    }
    /// True for locations on the response side.
    pub fn in_response(self) -> bool {
        matches!(
            self,
            Location::SetCookie | Location::ResponseBody | Location::ResponseHeader
        )
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reported problem. Identical findings (rule, source, host, location, name, key_fp) are
/// merged by `analyze::aggregate` into one row with `count`, `first_seen` and `last_seen`.
/// `Serialize` is the spill files' encoding (`crate::spill`), raw values included when kept: no
/// report serializes a finding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    #[serde(deserialize_with = "catalog_str::rule")]
    pub rule: CatalogStr,
    pub severity: Severity,
    #[serde(deserialize_with = "catalog_str::title")]
    pub title: CatalogStr,
    pub source: Arc<str>,
    /// First occurrence (e.g. `frame 12`); `None` only when the source has no positions.
    pub locator: Option<Locator>,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub count: u64,
    pub client: CompactString,
    pub server: CompactString,
    pub host: CompactString,
    pub method: CompactString,
    /// Request URL with credential values masked (raw kept for `--reveal`).
    #[serde(with = "crate::secret::spill_form")]
    pub url: Sensitive,
    pub location: Option<Location>,
    pub name: CompactString,
    pub kind: CompactString,
    pub key_fp: CompactString,
    /// The credential, masked (raw kept for `--reveal`).
    #[serde(with = "crate::secret::spill_form")]
    pub evidence: Sensitive,
    pub detail: CompactString,
    pub cwe: Option<u32>,
}

impl Finding {
    /// The aggregation key: findings equal on it are one row.
    pub fn merge_key(&self) -> (&'static str, &str, &str, Option<Location>, &str, &str) {
        (
            self.rule,
            &self.source,
            &self.host,
            self.location,
            &self.name,
            &self.key_fp,
        )
    }

    pub fn cwe_str(&self) -> String {
        self.cwe.map(|c| format!("CWE-{c}")).unwrap_or_default()
    }
}

/// A string of the rule catalog. (Named, so that serde does not take a `&'static str` field for
/// one borrowed from its input.)
pub type CatalogStr = &'static str;

/// A finding's rule id and title read back (from a spill file) as the catalog's own strings.
pub(crate) mod catalog_str {
    use serde::{Deserialize, Deserializer, de::Error};

    pub fn rule<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
        let id = String::deserialize(d)?;
        crate::analyze::rule_meta(&id)
            .map(|m| m.id)
            .ok_or_else(|| D::Error::custom("not a rule of the catalog"))
    }

    pub fn title<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
        let t = String::deserialize(d)?;
        crate::analyze::CATALOG
            .iter()
            .find(|m| m.title == t)
            .map(|m| m.title)
            .ok_or_else(|| D::Error::custom("not a rule title of the catalog"))
    }
}

impl crate::spill::Spill for Finding {
    fn mem_bytes(&self) -> usize {
        use crate::spill::heap_str;
        std::mem::size_of::<Self>()
            + [
                &self.client,
                &self.server,
                &self.host,
                &self.method,
                &self.name,
                &self.kind,
                &self.key_fp,
                &self.detail,
            ]
            .into_iter()
            .map(heap_str)
            .sum::<usize>()
            + self.url.heap_bytes()
            + self.evidence.heap_bytes()
    }
}

/// What one input yielded besides exchanges: the `sources` report row.
#[derive(Debug, Clone, Default)]
pub struct SourceStats {
    pub source: String,
    /// `pcap`, `pcapng`, `har`, each possibly with `+gzip`/`+zstd`; `unknown` when skipped.
    pub format: String,
    /// Packets per link type name (`ethernet`, `linux-sll`...), unsupported ones included.
    pub link_types: BTreeMap<String, u64>,
    pub packets: u64,
    pub bytes: u64,
    pub tcp_connections: u64,
    pub tls_connections: u64,
    /// SNI names seen in TLS ClientHellos, with counts.
    pub snis: BTreeMap<String, u64>,
    pub exchanges: u64,
    pub anomalies: BTreeMap<String, u64>,
    /// Human-readable warnings, each naming the place (frame, byte offset, entry). Never secrets.
    pub warnings: Vec<String>,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// HAR only: the export had cookies/auth stripped (Chrome's sanitized export).
    pub sanitized: bool,
    /// Pcapng decryption secrets blocks seen (counted, not used).
    pub decryption_secrets: u64,
    /// The input could not be read at all (not a supported format, I/O error...).
    pub failed: bool,
}

impl SourceStats {
    pub fn new(source: &str) -> Self {
        SourceStats {
            source: source.to_string(),
            ..SourceStats::default()
        }
    }
    pub fn anomaly(&mut self, a: &Anomaly) {
        *self.anomalies.entry(a.as_str().to_string()).or_insert(0) += 1;
    }
    pub fn see_ts(&mut self, ts: Option<Timestamp>) {
        if let Some(t) = ts {
            self.first_ts = Some(self.first_ts.map_or(t, |f| f.min(t)));
            self.last_ts = Some(self.last_ts.map_or(t, |l| l.max(t)));
        }
    }
}

/// How much of each body is kept. A compression bomb costs at most `max_decoded` of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Bytes kept per body (default 1 MiB).
    pub max_kept: usize,
    /// Bytes produced by decoding one body before decoding stops (default 8 MiB).
    pub max_decoded: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        BodyLimits {
            max_kept: 1 << 20,
            max_decoded: 8 << 20,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn address_text_is_what_display_writes(
            v4 in any::<[u8; 4]>(),
            v6 in any::<[u16; 8]>(),
            port in any::<u16>(),
        ) {
            let ip4 = std::net::IpAddr::from(v4);
            let ip6 = std::net::IpAddr::from(v6);
            for ip in [ip4, ip6] {
                prop_assert_eq!(ip_text(ip).to_string(), ip.to_string());
                let a = SocketAddr::new(ip, port);
                prop_assert_eq!(addr_text(a).to_string(), a.to_string());
            }
        }
    }

    #[test]
    fn address_text_edges() {
        for (a, want) in [
            ("0.0.0.0:0", "0.0.0.0:0"),
            ("255.255.255.255:65535", "255.255.255.255:65535"),
            ("10.0.100.9:8080", "10.0.100.9:8080"),
            ("[::1]:443", "[::1]:443"),
            ("[fe80::1%2]:80", "[fe80::1%2]:80"),
            // The same address and port without the scope id: not the memo's earlier answer.
            ("[fe80::1]:80", "[fe80::1]:80"),
            ("[fe80::1]:81", "[fe80::1]:81"),
        ] {
            let a: SocketAddr = a.parse().unwrap();
            assert_eq!(addr_text(a), want);
        }
    }

    #[test]
    fn url_origin_form_with_host_header() {
        let u = Url::parse("/a/b?x=1&y#frag", "http", Some("Example.COM:8080"));
        assert_eq!(u.host, "example.com");
        assert_eq!(u.port, Some(8080));
        assert_eq!(u.path, "/a/b");
        assert_eq!(u.query.as_deref(), Some("x=1&y"));
        assert_eq!(u.fragment.as_deref(), Some("frag"));
        assert_eq!(u.origin(), "http://example.com:8080");
        let pairs: Vec<_> = u.query_pairs().collect();
        assert_eq!(pairs, vec![("x", "1"), ("y", "")]);
    }

    #[test]
    fn url_absolute_form_with_userinfo_and_v6() {
        let u = Url::parse("https://bob:pw@[::1]:8443/x", "http", Some("ignored"));
        assert_eq!(u.scheme, "https");
        assert_eq!(u.userinfo.as_deref(), Some("bob:pw"));
        assert_eq!(u.host, "::1");
        assert_eq!(u.port, Some(8443));
        assert_eq!(u.path, "/x");
        let d = Url::parse("http://h/", "http", None);
        assert_eq!(d.origin(), "http://h");
    }

    #[test]
    fn split_host_port_variants() {
        assert_eq!(split_host_port("a:80"), ("a", Some(80)));
        assert_eq!(split_host_port("a"), ("a", None));
        assert_eq!(split_host_port("fe80::1"), ("fe80::1", None));
        assert_eq!(split_host_port("a:xx"), ("a:xx", None));
    }

    #[test]
    fn request_cookies_split() {
        let mut r = Request::default();
        r.headers.push("Cookie", "a=1; b=2");
        r.headers.push("cookie", "c=3=3");
        assert_eq!(r.cookies(), vec![("a", "1"), ("b", "2"), ("c", "3=3")]);
    }
}
