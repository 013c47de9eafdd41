//! HTTP/1.x stream parsing: fed in-order bytes, gaps and ends of both directions of each TCP
//! connection by `reassembly` (as its `StreamHandler`), recognises HTTP by content on any port
//! (and TLS by its record header, counting it and its SNI without parsing it), pairs requests
//! with responses in order (pipelining, keep-alive), and emits each `model::Exchange` to the
//! sink as soon as it is complete.

pub mod decode;
mod gunzip;
pub mod head;
pub mod side;
pub mod tls;

#[cfg(test)]
mod props;

use std::collections::VecDeque;
use std::sync::Arc;

use crate::ingest::IngestConfig;
use crate::model::{Anomaly, Exchange, Locator, Request, Response, SourceStats, Transport, Url};
use crate::reassembly::{ConnInfo, Meta, StreamHandler, Verdict};
use head::{Kind, StartLine};
use side::{Env, Event, Msg, ReqInfo, Side};

/// Completed requests waiting for their responses on one connection; beyond this the oldest is
/// emitted without a response.
pub const MAX_QUEUED: usize = 256;

/// The HTTP state of one TCP connection.
#[derive(Default)]
pub struct HttpConn {
    sides: [Side; 2],
    methods: VecDeque<ReqInfo>,
    requests: VecDeque<(usize, Box<Msg>)>,
    responses: VecDeque<(usize, Box<Msg>)>,
    emitted: u32,
    tls: bool,
    not_http: [bool; 2],
    switched: bool,
    events: Vec<Event>,
}

impl HttpConn {
    fn client_dir(&self) -> Option<usize> {
        self.sides
            .iter()
            .position(|s| s.role == Some(Kind::Request))
    }
}

/// Turns reassembled streams into exchanges for one source.
pub struct Http1Handler<'a> {
    pub source: Arc<str>,
    pub cfg: &'a IngestConfig,
    pub stats: &'a mut SourceStats,
    pub sink: &'a mut dyn FnMut(Exchange),
}

impl<'a> Http1Handler<'a> {
    pub fn new(
        source: Arc<str>,
        cfg: &'a IngestConfig,
        stats: &'a mut SourceStats,
        sink: &'a mut dyn FnMut(Exchange),
    ) -> Self {
        Http1Handler {
            source,
            cfg,
            stats,
            sink,
        }
    }

    /// Runs `f` on one direction with its environment, then acts on what it reported.
    fn with_side(
        &mut self,
        st: &mut HttpConn,
        info: &ConnInfo,
        dir: usize,
        f: impl FnOnce(&mut Side, &mut Env<'_>),
    ) -> Verdict {
        let mut out = std::mem::take(&mut st.events);
        {
            let peer_is_http = st.sides[1 - dir].role.is_some();
            let (a, b) = st.sides.split_at_mut(1);
            let side = if dir == 0 { &mut a[0] } else { &mut b[0] };
            let mut env = Env {
                cfg: self.cfg,
                methods: &mut st.methods,
                out: &mut out,
                peer_is_http,
            };
            f(side, &mut env);
        }
        self.handle_events(st, info, dir, &mut out);
        out.clear();
        st.events = out;
        self.verdict(st)
    }

    /// TLS, a switched protocol, or no HTTP in either direction: nothing more to parse. While
    /// only one direction has shown no HTTP, the other may still.
    fn verdict(&self, st: &HttpConn) -> Verdict {
        if st.tls || st.switched || (st.not_http[0] && st.not_http[1]) {
            Verdict::Abandon
        } else {
            Verdict::Continue
        }
    }

    fn handle_events(
        &mut self,
        st: &mut HttpConn,
        info: &ConnInfo,
        dir: usize,
        out: &mut Vec<Event>,
    ) {
        let mut guard = 0;
        while !out.is_empty() && guard < 64 {
            guard += 1;
            let events = std::mem::take(out);
            for ev in events {
                match ev {
                    Event::Msg(m) => {
                        match m.kind() {
                            Kind::Request => st.requests.push_back((dir, m)),
                            Kind::Response => st.responses.push_back((dir, m)),
                        }
                        self.pair(st, info, false);
                    }
                    Event::Tls(sni) => {
                        if !st.tls {
                            st.tls = true;
                            self.stats.tls_connections += 1;
                        }
                        if let Some(s) = sni {
                            *self.stats.snis.entry(s).or_insert(0) += 1;
                        }
                    }
                    Event::NotHttp => st.not_http[dir] = true,
                    Event::Switched => st.switched = true,
                    Event::Tunnel => {
                        st.methods.clear();
                        let c = 1 - dir;
                        let (a, b) = st.sides.split_at_mut(1);
                        let side = if c == 0 { &mut a[0] } else { &mut b[0] };
                        let mut env = Env {
                            cfg: self.cfg,
                            methods: &mut st.methods,
                            out,
                            peer_is_http: false,
                        };
                        side.enter_tunnel(&mut env);
                    }
                    Event::Resume => {
                        if let Some(c) = st.client_dir()
                            && st.sides[c].is_paused()
                        {
                            let peer_is_http = true;
                            let (a, b) = st.sides.split_at_mut(1);
                            let side = if c == 0 { &mut a[0] } else { &mut b[0] };
                            let mut env = Env {
                                cfg: self.cfg,
                                methods: &mut st.methods,
                                out,
                                peer_is_http,
                            };
                            side.resume(&mut env);
                        }
                    }
                }
            }
        }
    }

    /// Pairs queued requests and responses in order and emits what is complete. `closing`:
    /// nothing more will come, so every leftover is emitted alone.
    fn pair(&mut self, st: &mut HttpConn, info: &ConnInfo, closing: bool) {
        loop {
            if !st.requests.is_empty()
                && let Some((_, resp)) = st.responses.front()
            {
                if resp.gap_before && st.requests.len() > 1 {
                    // Responses were lost before this one: it answers the latest request sent
                    // before it (as Wireshark pairs), not the oldest one still waiting.
                    let at = resp.meta.frame;
                    let latest = st
                        .requests
                        .iter()
                        .rposition(|(_, r)| r.meta.frame <= at)
                        .unwrap_or(0);
                    for _ in 0..latest {
                        let req = st.requests.pop_front();
                        self.emit(st, info, req, None, vec![Anomaly::RequestWithoutResponse]);
                    }
                }
                let req = st.requests.pop_front();
                let resp = st.responses.pop_front();
                self.emit(st, info, req, resp, Vec::new());
                continue;
            }
            if let Some((_, resp)) = st.responses.front() {
                // A response with no request yet: wait while a request that started earlier
                // is still arriving, else it answers a request the capture missed.
                let waiting = !closing
                    && st.responses.len() < MAX_QUEUED
                    && st.client_dir().is_some_and(|c| {
                        st.sides[c]
                            .in_progress()
                            .is_some_and(|m| m.frame <= resp.meta.frame)
                    });
                if waiting {
                    break;
                }
                let resp = st.responses.pop_front();
                self.emit(st, info, None, resp, vec![Anomaly::ResponseWithoutRequest]);
                continue;
            }
            break;
        }
        while st.requests.len() > MAX_QUEUED || (closing && !st.requests.is_empty()) {
            let req = st.requests.pop_front();
            let mut extra = vec![Anomaly::RequestWithoutResponse];
            if !closing {
                extra.push(Anomaly::LimitHit);
            }
            self.emit(st, info, req, None, extra);
        }
    }

    fn emit(
        &mut self,
        st: &mut HttpConn,
        info: &ConnInfo,
        req: Option<(usize, Box<Msg>)>,
        resp: Option<(usize, Box<Msg>)>,
        extra: Vec<Anomaly>,
    ) {
        st.emitted += 1;
        let mut ex = Exchange::new(self.source.clone(), Transport::Cleartext);
        ex.connection = Some(format!("tcp-{}", info.id));
        ex.seq_on_connection = st.emitted;
        let client_dir = match (&req, &resp) {
            (Some((d, _)), _) => *d,
            (None, Some((d, _))) => 1 - *d,
            (None, None) => 0,
        };
        ex.client = Some(info.addrs[client_dir]);
        ex.server = Some(info.addrs[1 - client_dir]);
        let mut anomalies: Vec<Anomaly> = Vec::new();
        let mut add = |a: &Anomaly| {
            if !anomalies.contains(a) {
                anomalies.push(a.clone());
            }
        };
        if let Some((_, m)) = req {
            m.anomalies.iter().for_each(&mut add);
            ex.request = Some(to_request(*m));
        }
        if let Some((_, m)) = resp {
            m.anomalies.iter().for_each(&mut add);
            ex.response = Some(to_response(*m));
        }
        extra.iter().for_each(&mut add);
        for a in &anomalies {
            self.stats.anomaly(a);
        }
        ex.anomalies = anomalies;
        self.stats.exchanges += 1;
        (self.sink)(ex);
    }
}

fn to_request(m: Msg) -> Request {
    let (method, target) = match m.head.start {
        StartLine::Request { method, target } => (method, target),
        StartLine::Response { .. } => (String::new(), String::new()),
    };
    let url = Url::parse(&target, "http", m.head.headers.get("host"));
    Request {
        locator: Some(Locator::Frame(m.meta.frame)),
        ts: Some(m.meta.ts),
        method,
        target,
        url,
        version: m.head.version,
        headers: m.head.headers,
        body: m.body.body,
        wire_bytes: m.wire_bytes,
    }
}

fn to_response(m: Msg) -> Response {
    let (status, reason) = match m.head.start {
        StartLine::Response { status, reason } => (status, reason),
        StartLine::Request { .. } => (0, String::new()),
    };
    Response {
        locator: Some(Locator::Frame(m.meta.frame)),
        ts: Some(m.meta.ts),
        status,
        reason,
        version: m.head.version,
        headers: m.head.headers,
        body: m.body.body,
        har_cookies: Vec::new(),
        wire_bytes: m.wire_bytes,
    }
}

impl StreamHandler for Http1Handler<'_> {
    /// Allocated on the first byte, gap or anomaly: a connection that never carries data (a
    /// SYN flood, a port scan) costs the reassembler's table entry and nothing here.
    type State = Option<Box<HttpConn>>;

    fn open(&mut self, _info: &ConnInfo, _meta: Meta) -> Self::State {
        None
    }

    fn data(
        &mut self,
        st: &mut Self::State,
        info: &ConnInfo,
        dir: usize,
        data: &[u8],
        meta: Meta,
    ) -> Verdict {
        let st = st.get_or_insert_with(Box::default);
        self.with_side(st, info, dir, |s, env| s.feed(data, meta, env))
    }

    fn gap(
        &mut self,
        st: &mut Self::State,
        info: &ConnInfo,
        dir: usize,
        len: u64,
        _meta: Meta,
    ) -> Verdict {
        let st = st.get_or_insert_with(Box::default);
        self.with_side(st, info, dir, |s, env| s.gap(len, env))
    }

    fn anomaly(&mut self, st: &mut Self::State, _info: &ConnInfo, dir: usize, a: Anomaly) {
        // Reassembly anomalies (overlap conflicts, bounds) belong to the message under way in
        // that direction, or to the next one.
        st.get_or_insert_with(Box::default).sides[dir].note(a);
    }

    fn end(&mut self, st: &mut Self::State, info: &ConnInfo, dir: usize, _meta: Meta) {
        // Without any data there is nothing to end.
        if let Some(st) = st {
            self.with_side(st, info, dir, |s, env| s.end(env));
        }
    }

    fn close(&mut self, st: Self::State, info: &ConnInfo, _meta: Meta) {
        let Some(mut st) = st else {
            return;
        };
        for dir in 0..2 {
            if !st.sides[dir].is_done() {
                self.with_side(&mut st, info, dir, |s, env| s.end(env));
            }
        }
        self.pair(&mut st, info, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reassembly::{ReasmConfig, Reassembler, Segment};
    use proptest::prelude::*;

    const CLIENT: &[u8] = b"GET /a?k=1 HTTP/1.1\r\nHost: h\r\nCookie: sid=1\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\nHEAD /c HTTP/1.0\r\n\r\nPUT /d HTTP/1.1\r\nContent-Length: 2\r\n\r\nzz";
    const SERVER: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nonefoo\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";

    type Summary = Vec<(Option<String>, Option<u16>, Vec<u8>, Vec<u8>, Vec<Anomaly>)>;

    fn run(client_cuts: &[usize], server_cuts: &[usize]) -> Summary {
        let cfg = IngestConfig::default();
        let mut stats = SourceStats::default();
        let mut out = Vec::new();
        let mut sink = |e: Exchange| out.push(e);
        {
            let mut h = Http1Handler::new(Arc::from("t"), &cfg, &mut stats, &mut sink);
            let mut r = Reassembler::new(ReasmConfig::from(&cfg));
            let c: std::net::SocketAddr = "10.0.0.1:1000".parse().unwrap();
            let s: std::net::SocketAddr = "10.0.0.2:80".parse().unwrap();
            let mut segs: Vec<(bool, u32, &[u8])> = Vec::new();
            for (from_client, data, cuts, isn) in [
                (true, CLIENT, client_cuts, 7u32),
                (false, SERVER, server_cuts, u32::MAX - 30),
            ] {
                let mut pts: Vec<usize> = cuts.iter().map(|x| x % (data.len() + 1)).collect();
                pts.extend([0, data.len()]);
                pts.sort_unstable();
                pts.dedup();
                for w in pts.windows(2) {
                    segs.push((
                        from_client,
                        isn.wrapping_add(w[0] as u32),
                        &data[w[0]..w[1]],
                    ));
                }
            }
            for (i, (from_client, seq, payload)) in segs.into_iter().enumerate() {
                let (src, dst) = if from_client { (c, s) } else { (s, c) };
                let seg = Segment {
                    src,
                    dst,
                    seq,
                    ack: None,
                    syn: false,
                    fin: false,
                    rst: false,
                    payload,
                };
                let frame = i as u64 + 1;
                r.segment(
                    &seg,
                    Meta {
                        frame,
                        ts: frame as i64,
                    },
                    &mut h,
                );
            }
            r.finish_all(&mut h);
        }
        out.into_iter()
            .map(|e| {
                (
                    e.request
                        .as_ref()
                        .map(|r| format!("{} {}", r.method, r.target)),
                    e.status(),
                    e.request
                        .as_ref()
                        .map(|r| r.body.bytes.clone())
                        .unwrap_or_default(),
                    e.response
                        .as_ref()
                        .map(|r| r.body.bytes.clone())
                        .unwrap_or_default(),
                    e.anomalies,
                )
            })
            .collect()
    }

    #[test]
    fn conversation_parses_as_expected() {
        let got = run(&[], &[]);
        let lines: Vec<_> = got.iter().map(|g| (g.0.clone(), g.1)).collect();
        assert_eq!(
            lines,
            vec![
                (Some("GET /a?k=1".into()), Some(200)),
                (Some("POST /b".into()), Some(201)),
                (Some("HEAD /c".into()), Some(200)),
                (Some("PUT /d".into()), Some(204)),
            ]
        );
        assert_eq!(got[0].3, b"one");
        assert_eq!(got[1].2, b"abc");
        assert_eq!(got[1].3, b"ok");
        // The stray "foo\r\n" after the first response body is skipped and flagged.
        assert!(got[1].4.contains(&Anomaly::UnparseableSkipped));
        assert!(got[3].4.is_empty());
    }

    /// Exchanges of one connection whose client sends `client` in segments of `mss` bytes.
    fn client_only(client: &[u8], mss: usize, cfg: &IngestConfig) -> Vec<Exchange> {
        let mut stats = SourceStats::default();
        let mut out = Vec::new();
        let mut sink = |e: Exchange| out.push(e);
        {
            let mut h = Http1Handler::new(Arc::from("t"), cfg, &mut stats, &mut sink);
            let mut r = Reassembler::new(ReasmConfig::from(cfg));
            let c: std::net::SocketAddr = "10.0.0.1:1000".parse().unwrap();
            let s: std::net::SocketAddr = "10.0.0.2:80".parse().unwrap();
            for (i, part) in client.chunks(mss).enumerate() {
                let seg = Segment {
                    src: c,
                    dst: s,
                    seq: (i * mss) as u32,
                    ack: None,
                    syn: false,
                    fin: false,
                    rst: false,
                    payload: part,
                };
                let frame = i as u64 + 1;
                r.segment(&seg, Meta { frame, ts: 0 }, &mut h);
            }
            r.finish_all(&mut h);
        }
        out
    }

    #[test]
    fn oversized_first_head_does_not_hide_later_requests() {
        let cfg = IngestConfig::default();
        let mut client = b"GET /big HTTP/1.1\r\nHost: h\r\n".to_vec();
        while client.len() < 3 * cfg.max_header_bytes {
            client.extend_from_slice(b"X-Filler: 0123456789abcdef\r\n");
        }
        client.extend_from_slice(b"\r\nGET /login?password=hunter2 HTTP/1.1\r\nHost: h\r\n\r\n");
        for mss in [1460, 1 << 20] {
            let got = client_only(&client, mss, &cfg);
            let targets: Vec<_> = got
                .iter()
                .filter_map(|e| e.request.as_ref().map(|r| r.target.as_str()))
                .collect();
            assert_eq!(targets, vec!["/login?password=hunter2"], "mss {mss}");
            assert!(got[0].anomalies.contains(&Anomaly::LimitHit));
            assert!(got[0].anomalies.contains(&Anomaly::UnparseableSkipped));
        }
    }

    #[test]
    fn connection_without_data_emits_nothing() {
        let cfg = IngestConfig::default();
        assert!(client_only(b"", 1, &cfg).is_empty());
        let mut stats = SourceStats::default();
        let mut sink = |_: Exchange| panic!("nothing to emit");
        let mut h = Http1Handler::new(Arc::from("t"), &cfg, &mut stats, &mut sink);
        let info = ConnInfo {
            id: 1,
            addrs: ["10.0.0.1:1".parse().unwrap(), "10.0.0.2:2".parse().unwrap()],
        };
        let mut st = h.open(&info, Meta::default());
        assert!(st.is_none(), "no state before data");
        h.end(&mut st, &info, 0, Meta::default());
        h.close(st, &info, Meta::default());
    }

    proptest! {
        /// However the two streams are cut into segments, the exchanges are the same.
        #[test]
        fn segmentation_does_not_matter(
            cc in proptest::collection::vec(0usize..400, 0..30),
            sc in proptest::collection::vec(0usize..400, 0..30),
        ) {
            prop_assert_eq!(run(&cc, &sc), run(&[], &[]));
        }
    }
}
