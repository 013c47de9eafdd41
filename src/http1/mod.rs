//! HTTP/1.x stream parsing: fed in-order bytes, gaps and ends of both directions of each TCP
//! connection by `reassembly` (as its `StreamHandler`), recognises HTTP by content on any port
//! (and TLS by its record header, counting it and its SNI without parsing it), pairs requests
//! with responses in order (pipelining, keep-alive), and emits each `model::Exchange` to the
//! sink as soon as it is complete.

pub mod decode;
pub mod head;
pub mod side;
pub mod tls;

use std::collections::VecDeque;
use std::sync::Arc;

use crate::ingest::IngestConfig;
use crate::model::{Anomaly, Exchange, Locator, Request, Response, SourceStats, Transport, Url};
use crate::reassembly::{ConnInfo, Meta, StreamHandler, Verdict};
use head::{Kind, StartLine};
use side::{Env, Event, Msg, ReqInfo, Side};

/// Completed requests waiting for their responses on one connection; beyond this the oldest is
/// emitted without a response.
const MAX_QUEUED: usize = 256;

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

    /// TLS, a switched protocol, or no HTTP in either direction: nothing more to parse. One
    /// silent side is kept (its state is small) in case the other turns out to be HTTP.
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
            if !st.requests.is_empty() && !st.responses.is_empty() {
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
    type State = HttpConn;

    fn open(&mut self, _info: &ConnInfo, _meta: Meta) -> HttpConn {
        HttpConn::default()
    }

    fn data(
        &mut self,
        st: &mut HttpConn,
        info: &ConnInfo,
        dir: usize,
        data: &[u8],
        meta: Meta,
    ) -> Verdict {
        self.with_side(st, info, dir, |s, env| s.feed(data, meta, env))
    }

    fn gap(
        &mut self,
        st: &mut HttpConn,
        info: &ConnInfo,
        dir: usize,
        len: u64,
        _meta: Meta,
    ) -> Verdict {
        self.with_side(st, info, dir, |s, env| s.gap(len, env))
    }

    fn anomaly(&mut self, st: &mut HttpConn, _info: &ConnInfo, dir: usize, a: Anomaly) {
        // Reassembly anomalies (overlap conflicts, bounds) belong to the message under way in
        // that direction, or to the next one.
        st.sides[dir].note(a);
    }

    fn end(&mut self, st: &mut HttpConn, info: &ConnInfo, dir: usize, _meta: Meta) {
        self.with_side(st, info, dir, |s, env| s.end(env));
    }

    fn close(&mut self, mut st: HttpConn, info: &ConnInfo, _meta: Meta) {
        for dir in 0..2 {
            if !st.sides[dir].is_done() {
                self.with_side(&mut st, info, dir, |s, env| s.end(env));
            }
        }
        self.pair(&mut st, info, true);
    }
}
