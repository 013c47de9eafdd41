//! Benchmark traffic: a realistic mix of many interleaved keep-alive connections over IPv4 and
//! IPv6 (credentials in headers, URLs, cookies and bodies; Set-Cookie with mixed flags; chunked
//! and gzip bodies from 100 B to 64 KiB; about 15% TLS connections; a few percent reordered and
//! retransmitted segments), streamed to a pcap, pcapng or HAR file of a requested size from a
//! seed. It returns the ground truth (what a perfect analyzer must find) for the performance
//! work to check recall. Built on `http`, `tls`, `tcp`, `frame`, `capture` and `har`.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use rand::{Rng, RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::Serialize;

use super::GenError;
use super::SAMPLE_EPOCH_NS;
use super::capture::{Interface, PacketSink, PcapWriter, PcapngWriter};
use super::frame::{Framer, Link};
use super::har::{Flavor, HarEntry, HarStream};
use super::http::{Exchange, Framing, Request, Response, form_body};
use super::tcp::{Dir, Impairment, Segment, TcpFlow, impair};
use super::tls;

/// Output format of a benchmark file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BenchFormat {
    Pcap,
    Pcapng,
    Har,
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct BenchConfig {
    /// Stop starting new connections once this many bytes are written; live connections then
    /// finish their current exchange, so files end slightly larger.
    pub size: u64,
    pub seed: u64,
    pub format: BenchFormat,
}

/// What the file contains, counted while writing it. Only complete exchanges are counted, and
/// every exchange is complete.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct GroundTruth {
    pub format: String,
    pub seed: u64,
    pub target_bytes: u64,
    pub bytes_written: u64,
    /// Packets written (pcap/pcapng only).
    pub packets: u64,
    /// TCP connections, of which TLS and IPv6 (pcap/pcapng); HAR: distinct connection ids
    /// that have entries (TLS: those whose entries are https).
    pub connections: u64,
    pub tls_connections: u64,
    pub ipv6_connections: u64,
    /// Cleartext HTTP exchanges in a capture; all entries in a HAR (https ones included).
    pub exchanges: u64,
    /// HAR only: entries with an https URL (the TLS connections' exchanges).
    pub https_exchanges: u64,
    pub requests_by_method: BTreeMap<String, u64>,
    pub requests_with_credentials: u64,
    /// `header`, `cookie`, `query`, `body`, `none`.
    pub requests_by_credential_location: BTreeMap<String, u64>,
    /// `bearer`, `basic`, `api-key`, `session-cookie`, `password`, `token`.
    pub credentials_by_kind: BTreeMap<String, u64>,
    pub set_cookies: u64,
    pub set_cookies_session: u64,
    pub set_cookies_without_secure: u64,
    pub set_cookies_without_httponly: u64,
    pub set_cookies_without_samesite: u64,
    pub chunked_responses: u64,
    pub gzip_responses: u64,
    /// Decoded response body bytes of the counted exchanges.
    pub response_body_bytes: u64,
    /// Segments delivered after a later one (pcap/pcapng).
    pub reordered_segments: u64,
    /// Exact duplicate segments (pcap/pcapng).
    pub retransmitted_segments: u64,
}

impl GroundTruth {
    fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
        *map.entry(key.to_string()).or_default() += 1;
    }
}

const WORDS: [&str; 24] = [
    "alpha",
    "order",
    "status",
    "shipped",
    "invoice",
    "customer",
    "total",
    "currency",
    "items",
    "price",
    "quantity",
    "warehouse",
    "region",
    "north",
    "south",
    "delivery",
    "tracking",
    "updated",
    "created",
    "label",
    "note",
    "priority",
    "account",
    "summary",
];

/// Precomputed bodies so that writing a gigabyte does not mean compressing a gigabyte.
struct Pools {
    text: Vec<u8>,
    /// (decoded length, gzip of `text[..len]`).
    gzip: Vec<(usize, Vec<u8>)>,
    hosts: Vec<(String, IpAddr, IpAddr)>,
}

fn log_uniform<R: Rng>(rng: &mut R, lo: usize, hi: usize) -> usize {
    let (l, h) = ((lo as f64).ln(), (hi as f64).ln());
    let x: f64 = rng.random_range(l..h);
    (x.exp() as usize).clamp(lo, hi)
}

fn hex<R: Rng>(rng: &mut R, n: usize) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    (0..n)
        .map(|_| char::from(H[(rng.next_u32() & 15) as usize]))
        .collect()
}

impl Pools {
    fn new(rng: &mut Pcg64Mcg) -> Pools {
        let mut text = Vec::with_capacity(65536 + 64);
        while text.len() < 65536 {
            let w = WORDS[rng.random_range(0..WORDS.len())];
            text.extend_from_slice(w.as_bytes());
            text.push(if rng.random_ratio(1, 12) { b'\n' } else { b' ' });
        }
        text.truncate(65536);
        let gzip = (0..24)
            .map(|_| {
                let n = log_uniform(rng, 100, 65536);
                (n, super::http::gzip(text.get(..n).unwrap_or(&text)))
            })
            .collect();
        let hosts = (0..48u16)
            .map(|i| {
                let name = format!(
                    "{}.bench{}.example.com",
                    ["api", "www", "auth", "shop", "cdn", "app"][usize::from(i % 6)],
                    i / 6
                );
                let v4 = IpAddr::V4(Ipv4Addr::new(203, 0, 113, (i + 1) as u8));
                let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xb, 0, 0, 0, 0, i + 1));
                (name, v4, v6)
            })
            .collect();
        Pools { text, gzip, hosts }
    }

    fn text(&self, n: usize) -> &[u8] {
        self.text
            .get(..n.min(self.text.len()))
            .unwrap_or(&self.text)
    }
}

/// Per-connection credentials: a client keeps its session and keys across its requests.
struct Identity {
    session: String,
    api_key: String,
    bearer: String,
    user: String,
    password: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshake,
    Request,
    Response,
    Close,
    Done,
}

struct Conn {
    id: u64,
    client: SocketAddr,
    server: SocketAddr,
    host: String,
    tls: bool,
    flow: TcpFlow,
    phase: Phase,
    remaining: u32,
    identity: Identity,
    pending: Option<(Request, &'static str)>,
    exchanges_done: u32,
}

/// Where output goes: frames or HAR entries.
enum Out<W: Write> {
    Pcap(PcapWriter<W>),
    Pcapng(PcapngWriter<W>),
    Har(HarStream<W>),
}

impl<W: Write> Out<W> {
    fn written(&self) -> u64 {
        match self {
            Out::Pcap(w) => w.written(),
            Out::Pcapng(w) => w.written(),
            Out::Har(w) => w.written(),
        }
    }
}

struct Gen<W: Write> {
    rng: Pcg64Mcg,
    pools: Pools,
    out: Out<W>,
    framer: Framer,
    frame: Vec<u8>,
    segs: Vec<Segment>,
    wire: Vec<u8>,
    clock_ns: u64,
    next_id: u64,
    next_port: u16,
    truth: GroundTruth,
}

impl<W: Write> Gen<W> {
    fn new_conn(&mut self) -> Conn {
        let rng = &mut self.rng;
        let v6 = rng.random_ratio(3, 10);
        let tls = rng.random_ratio(15, 100);
        let h = rng.random_range(0..self.pools.hosts.len());
        let (host, s4, s6) = self.pools.hosts.get(h).cloned().unwrap_or_else(|| {
            (
                "api.bench.example.com".into(),
                IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1)),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            )
        });
        let cid = rng.random_range(1..=4000u16);
        let client_ip = if v6 {
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xc, 0, 0, 0, cid >> 8, cid))
        } else {
            IpAddr::V4(Ipv4Addr::new(10, 20, (cid >> 8) as u8, (cid & 0xff) as u8))
        };
        self.next_port = if self.next_port >= 65000 {
            1025
        } else {
            self.next_port + 1
        };
        let port = if tls {
            443
        } else if rng.random_ratio(1, 10) {
            8080
        } else {
            80
        };
        let server = SocketAddr::new(if v6 { s6 } else { s4 }, port);
        let identity = Identity {
            session: hex(rng, 32),
            api_key: format!("bk_{}", hex(rng, 32)),
            bearer: format!("bt_{}", hex(rng, 40)),
            user: format!("user{}", rng.random_range(1..500)),
            password: format!("Pw-{}", hex(rng, 12)),
        };
        let id = self.next_id;
        self.next_id += 1;
        let mut flow = TcpFlow::new(rng.next_u32(), rng.next_u32(), if v6 { 1440 } else { 1460 });
        flow.packet_gap_ns = 30_000;
        flow.flight_gap_ns = 400_000;
        Conn {
            id,
            client: SocketAddr::new(client_ip, self.next_port),
            server,
            host,
            tls,
            flow,
            phase: Phase::Handshake,
            remaining: rng.random_range(1..=10),
            identity,
            pending: None,
            exchanges_done: 0,
        }
    }

    /// A request with maybe one credential; returns it with the credential location.
    fn request(&mut self, c: &Conn) -> (Request, &'static str) {
        let rng = &mut self.rng;
        let paths = [
            "/api/v1/orders",
            "/api/v1/items",
            "/account",
            "/search",
            "/",
            "/cart",
        ];
        let path = paths[rng.random_range(0..paths.len())];
        let roll = rng.random_range(0..100u32);
        let location = match roll {
            0..35 => "none",
            35..55 => "header",
            55..75 => "cookie",
            75..85 => "query",
            _ => "body",
        };
        let post = location == "body" || rng.random_ratio(1, 5);
        let method = if post { "POST" } else { "GET" };
        let id = &c.identity;
        let mut target = path.to_string();
        if location == "query" {
            let (k, v) = if rng.random_bool(0.5) {
                ("api_key", id.api_key.as_str())
            } else {
                ("access_token", id.bearer.as_str())
            };
            target = format!("{path}?page={}&{k}={v}", rng.random_range(1..20));
        } else if rng.random_ratio(1, 4) {
            target = format!(
                "{path}?_={}",
                1_714_564_800_000u64 + rng.random_range(0..1_000_000)
            );
        }
        let mut r = Request::new(method, &c.host, &target)
            .header("User-Agent", "bench-client/1.0")
            .header("Accept", "*/*");
        let mut kind = "";
        match location {
            "header" => match rng.random_range(0..3u32) {
                0 => {
                    r = r.header("Authorization", &format!("Bearer {}", id.bearer));
                    kind = "bearer";
                }
                1 => {
                    use base64::Engine;
                    let b = base64::engine::general_purpose::STANDARD
                        .encode(format!("{}:{}", id.user, id.password));
                    r = r.header("Authorization", &format!("Basic {b}"));
                    kind = "basic";
                }
                _ => {
                    r = r.header("X-API-Key", &id.api_key);
                    kind = "api-key";
                }
            },
            "cookie" => {
                r = r.header(
                    "Cookie",
                    &format!(
                        "sessionid={}; _ga=GA1.2.{}.1714564800",
                        id.session,
                        rng.next_u32()
                    ),
                );
                kind = "session-cookie";
            }
            "query" => {
                kind = if target.contains("api_key=") {
                    "api-key"
                } else {
                    "token"
                }
            }
            _ => {}
        }
        if post {
            if location == "body" {
                if rng.random_bool(0.5) {
                    r = r.body(
                        "application/x-www-form-urlencoded",
                        form_body(&[("username", &id.user), ("password", &id.password)]),
                    );
                    kind = "password";
                } else {
                    r = r.json(&serde_json::json!({"token": id.bearer, "action": "sync"}));
                    kind = "token";
                }
            } else {
                let n = log_uniform(rng, 20, 2000);
                let note = String::from_utf8_lossy(self.pools.text(n)).into_owned();
                r = r.json(&serde_json::json!({"note": note}));
            }
        }
        if !kind.is_empty() {
            GroundTruth::bump(&mut self.truth.credentials_by_kind, kind);
        }
        (r, location)
    }

    fn response(&mut self) -> Response {
        let rng = &mut self.rng;
        let status = match rng.random_range(0..100u32) {
            0..90 => 200,
            90..94 => 302,
            _ => 404,
        };
        let mut r = Response::new(status).header("Server", "bench/1.0");
        if status == 302 {
            r = r.header("Location", "/");
        }
        if rng.random_ratio(15, 100) {
            let session = rng.random_bool(0.5);
            let name = if session { "sessionid" } else { "pref" };
            let mut line = format!("{name}={}; Path=/", hex(rng, 32));
            let secure = rng.random_bool(0.6);
            let http_only = rng.random_bool(0.6);
            let same_site = rng.random_bool(0.5);
            if secure {
                line.push_str("; Secure");
            }
            if http_only {
                line.push_str("; HttpOnly");
            }
            if same_site {
                line.push_str("; SameSite=Lax");
            }
            r = r.set_cookie(&line);
            let t = &mut self.truth;
            t.set_cookies += 1;
            t.set_cookies_session += u64::from(session);
            t.set_cookies_without_secure += u64::from(!secure);
            t.set_cookies_without_httponly += u64::from(!http_only);
            t.set_cookies_without_samesite += u64::from(!same_site);
        }
        let gz = status == 200 && rng.random_ratio(3, 10);
        let (body, encoded) = if gz {
            let i = rng.random_range(0..self.pools.gzip.len());
            match self.pools.gzip.get(i) {
                Some((n, g)) => (self.pools.text(*n).to_vec(), Some(g.clone())),
                None => (Vec::new(), None),
            }
        } else if status == 200 {
            let n = log_uniform(rng, 100, 65536);
            (self.pools.text(n).to_vec(), None)
        } else {
            (b"<html><body>moved or missing</body></html>".to_vec(), None)
        };
        let ct = match rng.random_range(0..3u32) {
            0 => "application/json",
            1 => "text/html; charset=utf-8",
            _ => "text/plain",
        };
        r = r.body(ct, body);
        if let Some(g) = encoded {
            r.encoded = Some(g);
            r = r.header("Content-Encoding", "gzip");
            self.truth.gzip_responses += 1;
        }
        if rng.random_ratio(3, 10) {
            r.framing = Framing::Chunked {
                chunk: rng.random_range(1024..16384),
                extensions: false,
                trailer: None,
            };
            self.truth.chunked_responses += 1;
        }
        self.truth.response_body_bytes += r.body.len() as u64;
        r
    }

    /// Frames and writes `self.segs`, impairing data flights now and then.
    fn emit(&mut self, c: &Conn, flight: bool) -> Result<(), GenError> {
        if flight {
            let data = self.segs.iter().filter(|s| !s.payload.is_empty()).count();
            if data >= 2 && self.rng.random_ratio(3, 100) {
                let _ = impair(
                    &mut self.segs,
                    &[Impairment::Reorder {
                        segment: 0,
                        after: 1,
                    }],
                );
                self.truth.reordered_segments += 1;
            } else if data >= 1 && self.rng.random_ratio(2, 100) {
                let k = self.rng.random_range(0..data);
                let _ = impair(
                    &mut self.segs,
                    &[Impairment::Retransmit {
                        segment: k,
                        after: data - 1,
                    }],
                );
                self.truth.retransmitted_segments += 1;
            }
        }
        for seg in self.segs.drain(..) {
            let (src, dst) = match seg.dir {
                Dir::ToServer => (c.client, c.server),
                Dir::ToClient => (c.server, c.client),
            };
            // Retransmissions carry a long delay; keep bench timing compact.
            self.clock_ns += seg.delay_ns.min(5_000_000);
            self.frame.clear();
            self.framer
                .encode(src, dst, &seg, seg.dir == Dir::ToServer, &mut self.frame)?;
            match &mut self.out {
                Out::Pcap(w) => w.packet(0, self.clock_ns, &self.frame)?,
                Out::Pcapng(w) => w.packet(0, self.clock_ns, &self.frame)?,
                Out::Har(_) => {}
            }
            self.truth.packets += 1;
        }
        Ok(())
    }

    fn count_request(&mut self, r: &Request, location: &str) {
        let t = &mut self.truth;
        t.exchanges += 1;
        GroundTruth::bump(&mut t.requests_by_method, &r.method);
        GroundTruth::bump(&mut t.requests_by_credential_location, location);
        if location != "none" {
            t.requests_with_credentials += 1;
        }
    }

    /// Advances one connection by one step (a handshake, a flight, or the close).
    fn step(&mut self, c: &mut Conn, stopping: bool) -> Result<(), GenError> {
        let har = matches!(self.out, Out::Har(_));
        match c.phase {
            Phase::Handshake => {
                if !har {
                    c.flow.handshake(&mut self.segs);
                    self.emit(c, false)?;
                    if c.tls {
                        let sni = c.host.clone();
                        let hello = tls::client_hello(&mut self.rng, &sni);
                        c.flow.flight(Dir::ToServer, &hello, &mut self.segs);
                        self.emit(c, false)?;
                        let sh = tls::server_hello_flight(&mut self.rng);
                        c.flow.flight(Dir::ToClient, &sh, &mut self.segs);
                        self.emit(c, false)?;
                    }
                }
                c.phase = Phase::Request;
            }
            Phase::Request => {
                if c.tls && !har {
                    let n = self.rng.random_range(200..1500);
                    self.wire = tls::application_data(&mut self.rng, n);
                    c.flow.flight(Dir::ToServer, &self.wire, &mut self.segs);
                    self.emit(c, true)?;
                } else {
                    let (r, loc) = self.request(c);
                    if !har {
                        self.wire.clear();
                        r.write_wire(&mut self.wire);
                        c.flow.flight(Dir::ToServer, &self.wire, &mut self.segs);
                        self.emit(c, true)?;
                    }
                    c.pending = Some((r, loc));
                }
                c.phase = Phase::Response;
            }
            Phase::Response => {
                if c.tls && !har {
                    let n = log_uniform(&mut self.rng, 300, 65536);
                    self.wire = tls::application_data(&mut self.rng, n);
                    c.flow.flight(Dir::ToClient, &self.wire, &mut self.segs);
                    self.emit(c, true)?;
                } else {
                    let resp = self.response();
                    if let Some((req, loc)) = c.pending.take() {
                        self.count_request(&req, loc);
                        c.exchanges_done += 1;
                        if har {
                            let mut ex = Exchange::new(req, resp);
                            if c.tls {
                                ex = ex.https();
                                self.truth.https_exchanges += 1;
                            }
                            let ms = (self.clock_ns / 1_000_000) as i64;
                            let e = HarEntry {
                                exchange: ex,
                                started_ms: ms,
                                server_ip: Some(c.server.ip()),
                                connection: Some(c.id.to_string()),
                                base64_body: false,
                                http2: false,
                            };
                            self.clock_ns += 3_000_000;
                            if let Out::Har(h) = &mut self.out {
                                h.entry(&e)?;
                            }
                        } else {
                            self.wire.clear();
                            resp.write_wire(&mut self.wire);
                            c.flow.flight(Dir::ToClient, &self.wire, &mut self.segs);
                            self.emit(c, true)?;
                        }
                    }
                }
                c.remaining = c.remaining.saturating_sub(1);
                c.phase = if c.remaining == 0 || stopping {
                    Phase::Close
                } else {
                    Phase::Request
                };
            }
            Phase::Close => {
                if !har {
                    c.flow.close(&mut self.segs);
                    self.emit(c, false)?;
                }
                c.phase = Phase::Done;
            }
            Phase::Done => {}
        }
        Ok(())
    }

    /// Counts a finished connection: every one in a capture (it has its SYN), only those with
    /// an entry in a HAR.
    fn count_conn(&mut self, c: &Conn) {
        if matches!(self.out, Out::Har(_)) && c.exchanges_done == 0 {
            return;
        }
        let t = &mut self.truth;
        t.connections += 1;
        t.tls_connections += u64::from(c.tls);
        t.ipv6_connections += u64::from(c.client.is_ipv6());
    }
}

/// Writes a benchmark file to `w` and returns its ground truth.
pub fn generate<W: Write>(cfg: BenchConfig, w: W) -> Result<GroundTruth, GenError> {
    let mut rng = Pcg64Mcg::seed_from_u64(cfg.seed);
    let pools = Pools::new(&mut rng);
    let start_ns = SAMPLE_EPOCH_NS;
    let out = match cfg.format {
        BenchFormat::Pcap => {
            Out::Pcap(PcapWriter::new(w, Link::Ethernet.linktype(), false, false)?)
        }
        BenchFormat::Pcapng => Out::Pcapng(PcapngWriter::new(
            w,
            &[Interface {
                link: Link::Ethernet,
                name: "eth0".into(),
                nanos: true,
            }],
        )?),
        BenchFormat::Har => Out::Har(HarStream::new(
            w,
            Flavor::Chrome,
            (start_ns / 1_000_000) as i64,
            "credsift benchmark",
        )?),
    };
    let mut g = Gen {
        rng,
        pools,
        out,
        framer: Framer::new(Link::Ethernet),
        frame: Vec::with_capacity(2048),
        segs: Vec::with_capacity(64),
        wire: Vec::with_capacity(70_000),
        clock_ns: start_ns,
        next_id: 1,
        next_port: 1024,
        truth: GroundTruth {
            format: serde_json::to_value(cfg.format)?
                .as_str()
                .unwrap_or("")
                .to_string(),
            seed: cfg.seed,
            target_bytes: cfg.size,
            ..GroundTruth::default()
        },
    };
    // Live connections scale with the target so that small files still interleave and large
    // files do not overshoot much when the live connections finish.
    let live = (cfg.size / (1 << 20)).clamp(4, 64) as usize;
    let mut active: Vec<Conn> = Vec::with_capacity(live);
    for _ in 0..live {
        let c = g.new_conn();
        active.push(c);
    }
    let mut stopping = false;
    while !active.is_empty() {
        let i = g.rng.random_range(0..active.len());
        let Some(mut c) = (i < active.len()).then(|| active.swap_remove(i)) else {
            break;
        };
        g.step(&mut c, stopping)?;
        if !stopping && g.out.written() >= cfg.size {
            stopping = true;
            for a in active.iter_mut() {
                // Finish the exchange in flight, then close.
                a.remaining = a.remaining.min(1);
                if a.phase == Phase::Request {
                    a.phase = Phase::Close;
                }
            }
        }
        if c.phase == Phase::Done {
            g.count_conn(&c);
            if !stopping {
                let n = g.new_conn();
                active.push(n);
            }
        } else {
            active.push(c);
        }
    }
    if matches!(g.out, Out::Har(_)) {
        // A HAR has no TCP: report distinct connection ids, no packets.
        g.truth.packets = 0;
        g.truth.reordered_segments = 0;
        g.truth.retransmitted_segments = 0;
    } else {
        g.truth.https_exchanges = 0;
    }
    g.truth.bytes_written = match g.out {
        Out::Pcap(mut w) => {
            w.flush()?;
            w.written()
        }
        Out::Pcapng(mut w) => {
            w.flush()?;
            w.written()
        }
        Out::Har(h) => {
            let n = h.written() + 5;
            h.finish()?;
            n
        }
    };
    Ok(g.truth)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::r#gen::capture::readback::{read, streams};

    fn run(format: BenchFormat, size: u64, seed: u64) -> (GroundTruth, Vec<u8>) {
        let mut v = Vec::new();
        let t = generate(BenchConfig { size, seed, format }, &mut v).unwrap();
        (t, v)
    }

    #[test]
    fn pcap_matches_its_ground_truth() {
        let (t, bytes) = run(BenchFormat::Pcap, 3 << 20, 7);
        assert_eq!(t.bytes_written, bytes.len() as u64);
        assert!(bytes.len() as u64 >= 3 << 20);
        let (frames, truncated) = read(&bytes);
        assert!(!truncated);
        assert_eq!(frames.len() as u64, t.packets);
        let s = streams(&frames);
        assert_eq!(s.len() as u64, t.connections);
        // Count request lines in the reassembled cleartext streams; TLS streams start with a
        // handshake record instead.
        let mut requests = 0u64;
        let mut tls = 0u64;
        for (up, _) in s.values() {
            if up.first() == Some(&0x16) {
                tls += 1;
                continue;
            }
            // Every request line ends this way and is followed by its Host header; bodies
            // never contain it.
            let marker = b" HTTP/1.1\r\nHost: ";
            requests += up.windows(marker.len()).filter(|w| w == marker).count() as u64;
        }
        assert_eq!(tls, t.tls_connections);
        assert_eq!(requests, t.exchanges);
        assert!(t.tls_connections > 0 && t.ipv6_connections > 0);
        assert!(t.reordered_segments + t.retransmitted_segments > 0);
        assert_eq!(
            t.requests_by_credential_location.values().sum::<u64>(),
            t.exchanges
        );
        assert!(t.set_cookies > 0 && t.gzip_responses > 0 && t.chunked_responses > 0);
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let (t1, a) = run(BenchFormat::Pcapng, 1 << 20, 1);
        let (t2, b) = run(BenchFormat::Pcapng, 1 << 20, 1);
        let (_, c) = run(BenchFormat::Pcapng, 1 << 20, 2);
        assert_eq!(t1, t2);
        assert!(a == b);
        assert!(a != c);
        let (frames, truncated) = read(&a);
        assert!(!truncated);
        assert_eq!(frames.len() as u64, t1.packets);
    }

    #[test]
    fn har_is_valid_json_with_one_entry_per_exchange() {
        let (t, bytes) = run(BenchFormat::Har, 1 << 20, 3);
        assert_eq!(t.bytes_written, bytes.len() as u64);
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let entries = v["log"]["entries"].as_array().unwrap();
        assert_eq!(entries.len() as u64, t.exchanges);
        let https = entries
            .iter()
            .filter(|e| {
                e["request"]["url"]
                    .as_str()
                    .unwrap()
                    .starts_with("https://")
            })
            .count();
        assert_eq!(https as u64, t.https_exchanges);
        assert!(t.https_exchanges > 0);
    }
}

#[cfg(test)]
mod speed {
    use super::*;

    /// Measures generation speed: `CREDSIFT_GEN_MB=1024 cargo test --lib
    /// gen::bench::speed -- --ignored --nocapture` (writes to a temporary file).
    #[test]
    #[ignore]
    fn bench_generation_speed() {
        let mb: u64 = std::env::var("CREDSIFT_GEN_MB")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256);
        for format in [BenchFormat::Pcap, BenchFormat::Pcapng, BenchFormat::Har] {
            let file = tempfile::tempfile().unwrap();
            let t0 = std::time::Instant::now();
            let truth = generate(
                BenchConfig {
                    size: mb << 20,
                    seed: 42,
                    format,
                },
                std::io::BufWriter::with_capacity(1 << 20, file),
            )
            .unwrap();
            let s = t0.elapsed().as_secs_f64();
            println!(
                "{format:?}: {} bytes in {s:.2} s = {:.0} MB/s; {} exchanges, {} packets",
                truth.bytes_written,
                truth.bytes_written as f64 / 1e6 / s,
                truth.exchanges,
                truth.packets
            );
        }
    }
}
