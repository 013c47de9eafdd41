//! One direction of an HTTP/1.x connection: fed in-order bytes, gaps and the end of stream by the
//! connection parser in `http1`, cuts them into messages (head, then a Content-Length, chunked or
//! read-until-close body), resynchronises on the next message start after garbage or a gap, and
//! reports completed messages and protocol events back to the connection.
//!
//! Memory per direction: an unfinished head (at most `max_header_bytes` plus one segment), one
//! chunk-size or trailer line, and the kept body prefix. Bodies stream through, except that a
//! gzip body's wire bytes are held for one-shot decoding up to 256 KiB (`decode`).

use std::collections::VecDeque;

use super::decode::{BodyAcc, Finished};
use super::head::{self, Head, Kind, Start, StartLine};
use super::tls;
use crate::ingest::IngestConfig;
use crate::model::{Anomaly, Headers};
use crate::reassembly::Meta;

/// Bytes scanned for a first message start before a direction of a connection that shows no
/// HTTP at all is given up.
const DETECT_BUDGET: u64 = 64 << 10;
/// Longest chunk-size or trailer line.
const MAX_LINE: usize = 8 << 10;
/// Request bytes held while a CONNECT or Upgrade request waits for its response.
const MAX_PAUSED: usize = 64 << 10;
/// Request methods remembered for responses still to come (pipelining depth).
pub const MAX_PENDING_METHODS: usize = 256;
/// Longest ClientHello record read for the SNI.
const MAX_TLS_RECORD: usize = (16 << 10) + 5;

/// What a request means for the body of its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReqInfo {
    pub head: bool,
    pub connect: bool,
    pub upgrade: bool,
}

/// A complete message.
#[derive(Debug)]
pub struct Msg {
    pub head: Head,
    pub meta: Meta,
    pub body: Finished,
    pub anomalies: Vec<Anomaly>,
    pub wire_bytes: u64,
    /// Bytes of this direction were lost just before this message (earlier messages may be
    /// missing entirely).
    pub gap_before: bool,
}

impl Msg {
    pub fn kind(&self) -> Kind {
        match self.head.start {
            StartLine::Request { .. } => Kind::Request,
            StartLine::Response { .. } => Kind::Response,
        }
    }
}

/// What a direction reports to its connection.
#[derive(Debug)]
pub enum Event {
    Msg(Box<Msg>),
    /// TLS was recognised; the SNI when a ClientHello carried one.
    Tls(Option<String>),
    /// This direction shows no HTTP.
    NotHttp,
    /// A protocol upgrade was accepted (websocket, h2c): HTTP ends here.
    Switched,
    /// A CONNECT succeeded: what follows is a tunnel, told apart afresh (HTTP, TLS, other).
    Tunnel,
    /// A CONNECT/Upgrade was refused: the paused request direction may go on.
    Resume,
}

/// What a direction needs from its connection while parsing.
pub struct Env<'a> {
    pub cfg: &'a IngestConfig,
    pub methods: &'a mut VecDeque<ReqInfo>,
    pub out: &'a mut Vec<Event>,
    /// The other direction already showed HTTP (so keep looking, however long it takes).
    pub peer_is_http: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Detect,
    Head,
    Body,
    Resync,
    Paused,
    Tls,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Length(u64),
    Chunked(Chunk),
    UntilClose,
}

struct Cur {
    head: Head,
    meta: Meta,
    mode: Mode,
    body: BodyAcc,
    wire: u64,
    anomalies: Vec<Anomaly>,
    line: Vec<u8>,
    /// After this request, wait for the response (CONNECT, Upgrade).
    pause_after: bool,
    gap_before: bool,
    /// This response ends HTTP on the connection (`Some(true)`: a CONNECT tunnel begins).
    switch_after: Option<bool>,
}

/// The parser of one direction.
pub struct Side {
    pub role: Option<Kind>,
    st: St,
    buf: Vec<u8>,
    buf_meta: Meta,
    /// Where to resume looking for the end of a head in `buf`.
    scan_from: usize,
    scanned: u64,
    cur: Option<Cur>,
    /// Anomalies that belong to the next message (a gap or skipped bytes before it).
    pending: Vec<Anomaly>,
}

impl Default for Side {
    fn default() -> Self {
        Side {
            role: None,
            st: St::Detect,
            buf: Vec::new(),
            buf_meta: Meta::default(),
            scan_from: 0,
            scanned: 0,
            cur: None,
            pending: Vec::new(),
        }
    }
}

fn push_unique(v: &mut Vec<Anomaly>, a: Anomaly) {
    if !v.contains(&a) {
        v.push(a);
    }
}

impl Side {
    /// The start of the message being received, if one is under way.
    pub fn in_progress(&self) -> Option<Meta> {
        match self.st {
            St::Body => self.cur.as_ref().map(|c| c.meta),
            St::Head if !self.buf.is_empty() => Some(self.buf_meta),
            _ => None,
        }
    }

    /// Attaches an anomaly to the message under way, else to the next one.
    pub fn note(&mut self, a: Anomaly) {
        match self.cur.as_mut() {
            Some(c) => push_unique(&mut c.anomalies, a),
            None => push_unique(&mut self.pending, a),
        }
    }

    pub fn is_done(&self) -> bool {
        self.st == St::Done
    }

    pub fn is_paused(&self) -> bool {
        self.st == St::Paused
    }

    pub fn feed(&mut self, data: &[u8], meta: Meta, env: &mut Env<'_>) {
        if data.is_empty() {
            return;
        }
        match self.st {
            St::Done => return,
            St::Paused => {
                if self.buf.len() + data.len() <= MAX_PAUSED {
                    if self.buf.is_empty() {
                        self.buf_meta = meta;
                    }
                    self.buf.extend_from_slice(data);
                    return;
                }
                // The answer is not coming (or was lost): parse on.
                self.st = St::Head;
            }
            St::Head if !self.buf.is_empty() => {
                // Tiny segments of a long head: append and look only at the new bytes.
                let old_len = self.buf.len();
                self.buf.extend_from_slice(data);
                if head::head_end(&self.buf, self.scan_from).is_none()
                    && self.buf.len() <= env.cfg.max_header_bytes
                {
                    self.scan_from = self.buf.len().saturating_sub(3);
                    return;
                }
                let owned = std::mem::take(&mut self.buf);
                let bm = self.buf_meta;
                self.process(&owned, old_len, bm, meta, env);
                return;
            }
            _ => {}
        }
        if self.buf.is_empty() {
            self.process(data, 0, meta, meta, env);
        } else {
            let mut owned = std::mem::take(&mut self.buf);
            let split = owned.len();
            owned.extend_from_slice(data);
            let bm = self.buf_meta;
            self.process(&owned, split, bm, meta, env);
        }
    }

    /// Keeps the unconsumed tail for the next bytes.
    fn stash(&mut self, rest: &[u8], meta: Meta) {
        self.buf.clear();
        self.buf.extend_from_slice(rest);
        self.buf_meta = meta;
    }

    /// Parses `input`; bytes before `split` came with `old`, the rest with `new`.
    fn process(&mut self, input: &[u8], split: usize, old: Meta, new: Meta, env: &mut Env<'_>) {
        let meta_at = |p: usize| if p < split { old } else { new };
        let mut pos = 0usize;
        while pos < input.len() {
            let rest = &input[pos..];
            match self.st {
                St::Done => return,
                St::Paused => {
                    self.stash(rest, meta_at(pos));
                    return;
                }
                St::Detect => match tls::looks_like_tls(rest) {
                    None => {
                        self.stash(rest, meta_at(pos));
                        return;
                    }
                    Some(true) if self.role.is_none() => self.st = St::Tls,
                    _ => match head::message_start(rest, self.role) {
                        Start::Yes(_) => self.st = St::Head,
                        Start::NeedMore => {
                            self.stash(rest, meta_at(pos));
                            return;
                        }
                        Start::No => self.st = St::Resync,
                    },
                },
                St::Tls => {
                    let need = tls::first_record_len(rest).unwrap_or(5).min(MAX_TLS_RECORD);
                    let is_hello = rest.get(5) == Some(&1);
                    if is_hello && rest.len() < need {
                        self.stash(rest, meta_at(pos));
                        return;
                    }
                    let sni = if is_hello {
                        tls::client_hello_sni(rest)
                    } else {
                        None
                    };
                    env.out.push(Event::Tls(sni));
                    self.st = St::Done;
                    self.buf = Vec::new();
                    return;
                }
                St::Head => {
                    // Blank lines between messages are tolerated.
                    let blank = rest
                        .iter()
                        .take_while(|b| matches!(b, b'\r' | b'\n'))
                        .count();
                    if blank > 0 {
                        pos += blank;
                        continue;
                    }
                    let started = match head::message_start(rest, self.role) {
                        Start::No => {
                            self.st = St::Resync;
                            continue;
                        }
                        Start::NeedMore => {
                            self.stash(rest, meta_at(pos));
                            self.scan_from = 0;
                            return;
                        }
                        Start::Yes(k) => k,
                    };
                    // A head longer than the bound is refused however it was segmented (one
                    // big segment could otherwise bring a head of any length at once).
                    let max = env.cfg.max_header_bytes;
                    let Some(end) = head::head_end(rest, 0).filter(|&e| e <= max) else {
                        if rest.len() > max {
                            // A valid start line: this direction speaks HTTP, so the oversized
                            // head must not make it look like something else and be given up
                            // (that would hide every later message: an evasion).
                            self.role.get_or_insert(started);
                            push_unique(&mut self.pending, Anomaly::LimitHit);
                            push_unique(&mut self.pending, Anomaly::UnparseableSkipped);
                            self.st = St::Resync;
                            pos += 1;
                            continue;
                        }
                        self.stash(rest, meta_at(pos));
                        self.scan_from = rest.len().saturating_sub(3);
                        return;
                    };
                    let kind = match head::message_start(rest, self.role) {
                        Start::Yes(k) => k,
                        _ => Kind::Request,
                    };
                    match head::parse_head(&rest[..end], kind, env.cfg.max_headers) {
                        Some(h) => {
                            self.role.get_or_insert(kind);
                            pos += end;
                            self.begin(h, meta_at(pos - end), end as u64, env);
                        }
                        None => {
                            push_unique(&mut self.pending, Anomaly::UnparseableSkipped);
                            self.st = St::Resync;
                            pos += 1;
                        }
                    }
                }
                St::Body => {
                    let n = self.body(rest, env);
                    pos += n;
                }
                St::Resync => match self.resync(rest) {
                    Ok(skip) => {
                        if skip > 0 {
                            push_unique(&mut self.pending, Anomaly::UnparseableSkipped);
                        }
                        pos += skip;
                        self.st = St::Head;
                    }
                    Err(keep_from) => {
                        let skipped = keep_from.unwrap_or(rest.len());
                        if skipped > 0 {
                            push_unique(&mut self.pending, Anomaly::UnparseableSkipped);
                        }
                        self.scanned += skipped as u64;
                        if self.role.is_none() && !env.peer_is_http && self.scanned > DETECT_BUDGET
                        {
                            self.give_up(env);
                            return;
                        }
                        match keep_from {
                            Some(k) => self.stash(&rest[k..], meta_at(pos + k)),
                            None => self.buf.clear(),
                        }
                        return;
                    }
                },
            }
        }
    }

    fn give_up(&mut self, env: &mut Env<'_>) {
        self.st = St::Done;
        self.buf = Vec::new();
        env.out.push(Event::NotHttp);
    }

    /// Looks for a message start at the beginning of `b` or after a line feed. `Ok(offset)` of
    /// the start, or `Err(Some(offset))` of a possible start cut by the end of `b`.
    fn resync(&self, b: &[u8]) -> Result<usize, Option<usize>> {
        let check = |p: usize| head::message_start(&b[p..], self.role);
        match check(0) {
            Start::Yes(_) => return Ok(0),
            Start::NeedMore => return Err(Some(0)),
            Start::No => {}
        }
        for nl in memchr::memchr_iter(b'\n', b) {
            let p = nl + 1;
            if p >= b.len() {
                return Err(Some(p));
            }
            match check(p) {
                Start::Yes(_) => return Ok(p),
                Start::NeedMore if b.len() - p <= head::MAX_START_LINE => return Err(Some(p)),
                _ => {}
            }
        }
        Err(None)
    }

    /// Starts a message whose head was just parsed (`head_len` bytes on the wire).
    fn begin(&mut self, head: Head, meta: Meta, head_len: u64, env: &mut Env<'_>) {
        let mut anomalies = std::mem::take(&mut self.pending);
        let gap_before = anomalies.contains(&Anomaly::StreamGap);
        if head.lax {
            push_unique(&mut anomalies, Anomaly::LaxHeaderSyntax);
        }
        if head.dropped_lines > 0 {
            push_unique(&mut anomalies, Anomaly::UnparseableSkipped);
        }
        let hs = &head.headers;
        let chunked = transfer_chunked(hs);
        let te = hs.get("transfer-encoding").is_some();
        let cl = match content_length(hs) {
            Some(Ok((n, conflict))) => {
                if conflict {
                    push_unique(&mut anomalies, Anomaly::LaxHeaderSyntax);
                }
                Some(Ok(n))
            }
            Some(Err(())) => Some(Err(())),
            None => None,
        };
        let mut pause_after = false;
        let mut switch_after = None;
        let mode = match &head.start {
            StartLine::Request { method, .. } => {
                let info = ReqInfo {
                    head: method.eq_ignore_ascii_case("HEAD"),
                    connect: method.eq_ignore_ascii_case("CONNECT"),
                    upgrade: hs.get("upgrade").is_some(),
                };
                pause_after = info.connect || info.upgrade;
                if env.methods.len() >= MAX_PENDING_METHODS {
                    env.methods.pop_front();
                }
                env.methods.push_back(info);
                if chunked {
                    Some(Mode::Chunked(Chunk::Size))
                } else if te {
                    None
                } else {
                    match cl {
                        Some(Ok(0)) | None => None,
                        Some(Ok(n)) => Some(Mode::Length(n)),
                        Some(Err(())) => {
                            push_unique(&mut anomalies, Anomaly::IncompleteMessage);
                            None
                        }
                    }
                }
            }
            StartLine::Response { status, .. } => {
                let status = *status;
                if (100..200).contains(&status) && status != 101 {
                    // Interim response: not an exchange of its own, consumes no request.
                    self.st = St::Head;
                    self.pending = anomalies;
                    return;
                }
                let req = env.methods.pop_front();
                let connect_ok = req.is_some_and(|r| r.connect) && (200..300).contains(&status);
                if status == 101 || connect_ok {
                    push_unique(&mut anomalies, Anomaly::ProtocolSwitched);
                    switch_after = Some(connect_ok);
                    None
                } else {
                    if req.is_some_and(|r| r.connect || r.upgrade) {
                        env.out.push(Event::Resume);
                    }
                    if req.is_some_and(|r| r.head) || status == 204 || status == 304 {
                        None
                    } else if chunked {
                        Some(Mode::Chunked(Chunk::Size))
                    } else {
                        match cl {
                            Some(Ok(0)) => None,
                            Some(Ok(n)) if !te => Some(Mode::Length(n)),
                            _ => Some(Mode::UntilClose),
                        }
                    }
                }
            }
        };
        let ct = hs.get("content-type").map(str::to_string);
        let enc = hs.get("content-encoding").map(str::to_string);
        let mut body = BodyAcc::new(env.cfg.body, ct, enc.as_deref());
        if let Some(Mode::Length(n)) = mode {
            body.expect(n);
        }
        self.cur = Some(Cur {
            head,
            meta,
            mode: mode.unwrap_or(Mode::Length(0)),
            body,
            wire: head_len,
            anomalies,
            line: Vec::new(),
            pause_after,
            switch_after,
            gap_before,
        });
        self.st = St::Body;
        if mode.is_none() {
            self.complete(env);
        }
    }

    /// Consumes body bytes from `b`; returns how many.
    fn body(&mut self, b: &[u8], env: &mut Env<'_>) -> usize {
        let Some(cur) = self.cur.as_mut() else {
            self.st = St::Head;
            return 0;
        };
        match cur.mode {
            Mode::Length(rem) => {
                let n = usize::try_from(rem).unwrap_or(usize::MAX).min(b.len());
                cur.body.push(&b[..n]);
                cur.wire += n as u64;
                cur.mode = Mode::Length(rem - n as u64);
                if rem == n as u64 {
                    self.complete(env);
                }
                n
            }
            Mode::UntilClose => {
                cur.body.push(b);
                cur.wire += b.len() as u64;
                b.len()
            }
            Mode::Chunked(Chunk::Data(rem)) => {
                let n = usize::try_from(rem).unwrap_or(usize::MAX).min(b.len());
                cur.body.push(&b[..n]);
                cur.wire += n as u64;
                cur.mode = Mode::Chunked(if rem == n as u64 {
                    Chunk::DataEnd
                } else {
                    Chunk::Data(rem - n as u64)
                });
                n
            }
            Mode::Chunked(Chunk::DataEnd) => match b.first() {
                Some(b'\r') => {
                    cur.wire += 1;
                    1
                }
                Some(b'\n') => {
                    cur.wire += 1;
                    cur.mode = Mode::Chunked(Chunk::Size);
                    1
                }
                // A missing CRLF after chunk data: read on as the next size line.
                _ => {
                    cur.mode = Mode::Chunked(Chunk::Size);
                    0
                }
            },
            Mode::Chunked(c @ (Chunk::Size | Chunk::Trailer)) => {
                let (line_end, used) = match memchr::memchr(b'\n', b) {
                    Some(i) => (true, i + 1),
                    None => (false, b.len()),
                };
                if cur.line.len() + used > MAX_LINE {
                    push_unique(&mut cur.anomalies, Anomaly::IncompleteMessage);
                    self.fail_message(env);
                    return 0;
                }
                cur.line.extend_from_slice(&b[..used]);
                cur.wire += used as u64;
                if !line_end {
                    return used;
                }
                let line = std::mem::take(&mut cur.line);
                let text = trim_line(&line);
                if c == Chunk::Size {
                    match chunk_size(text) {
                        Some(0) => cur.mode = Mode::Chunked(Chunk::Trailer),
                        Some(n) => cur.mode = Mode::Chunked(Chunk::Data(n)),
                        None if text.is_empty() => {} // a stray blank line
                        None => {
                            push_unique(&mut cur.anomalies, Anomaly::IncompleteMessage);
                            self.fail_message(env);
                            return used;
                        }
                    }
                } else if text.is_empty() {
                    self.complete(env);
                } else if let Some(colon) = memchr::memchr(b':', text) {
                    // Trailer fields are headers that came late.
                    if cur.head.headers.len() < env.cfg.max_headers {
                        let name = String::from_utf8_lossy(&text[..colon]).trim().to_string();
                        let value = String::from_utf8_lossy(&text[colon + 1..])
                            .trim()
                            .to_string();
                        cur.head.headers.push(name, value);
                    }
                }
                used
            }
        }
    }

    /// The message framing broke: keep what was received, then look for the next message.
    fn fail_message(&mut self, env: &mut Env<'_>) {
        if let Some(cur) = self.cur.as_mut() {
            cur.body.mark_incomplete();
        }
        self.complete(env);
        if self.st == St::Head {
            self.st = St::Resync;
        }
    }

    fn complete(&mut self, env: &mut Env<'_>) {
        let Some(cur) = self.cur.take() else {
            return;
        };
        let body = cur.body.finish();
        let mut anomalies = cur.anomalies;
        for a in &body.anomalies {
            push_unique(&mut anomalies, a.clone());
        }
        env.out.push(Event::Msg(Box::new(Msg {
            head: cur.head,
            meta: cur.meta,
            body,
            anomalies,
            wire_bytes: cur.wire,
            gap_before: cur.gap_before,
        })));
        self.st = St::Head;
        self.scan_from = 0;
        if cur.switch_after == Some(true) {
            env.out.push(Event::Tunnel);
            self.restart();
        } else if cur.switch_after == Some(false) {
            env.out.push(Event::Switched);
            self.st = St::Done;
        } else if cur.pause_after {
            self.st = St::Paused;
        }
    }

    /// Forgets what this direction was: the next bytes are told apart from scratch.
    fn restart(&mut self) {
        self.role = None;
        self.st = St::Detect;
        self.scanned = 0;
        self.pending.clear();
    }

    /// A CONNECT succeeded: the held bytes and what follows are the tunnel's.
    pub fn enter_tunnel(&mut self, env: &mut Env<'_>) {
        let held = std::mem::take(&mut self.buf);
        let m = self.buf_meta;
        self.restart();
        if !held.is_empty() {
            self.process(&held, 0, m, m, env);
        }
    }

    /// A CONNECT or Upgrade request was answered without switching: parse what was held.
    pub fn resume(&mut self, env: &mut Env<'_>) {
        if self.st != St::Paused {
            return;
        }
        self.st = St::Head;
        let held = std::mem::take(&mut self.buf);
        let m = self.buf_meta;
        if !held.is_empty() {
            self.process(&held, 0, m, m, env);
        }
    }

    /// `len` bytes of this direction were lost.
    pub fn gap(&mut self, len: u64, env: &mut Env<'_>) {
        match self.st {
            St::Done => {}
            St::Detect | St::Resync => {
                self.buf.clear();
                push_unique(&mut self.pending, Anomaly::StreamGap);
            }
            St::Paused => self.buf.clear(),
            St::Tls => {
                env.out.push(Event::Tls(None));
                self.st = St::Done;
                self.buf = Vec::new();
            }
            St::Head => {
                self.buf.clear();
                push_unique(&mut self.pending, Anomaly::StreamGap);
                self.st = St::Resync;
            }
            St::Body => {
                let Some(cur) = self.cur.as_mut() else {
                    self.st = St::Resync;
                    return;
                };
                push_unique(&mut cur.anomalies, Anomaly::StreamGap);
                match cur.mode {
                    Mode::Length(rem) => {
                        let n = rem.min(len);
                        cur.body.gap(n);
                        cur.wire += n;
                        cur.mode = Mode::Length(rem - n);
                        if n == rem {
                            self.complete(env);
                            if len > n && self.st == St::Head {
                                push_unique(&mut self.pending, Anomaly::StreamGap);
                                self.st = St::Resync;
                            }
                        }
                    }
                    Mode::UntilClose => {
                        cur.body.gap(len);
                        cur.wire += len;
                    }
                    Mode::Chunked(Chunk::Data(rem)) if len < rem => {
                        // Lost inside one chunk: the framing survives.
                        cur.body.gap(len);
                        cur.wire += len;
                        cur.mode = Mode::Chunked(Chunk::Data(rem - len));
                    }
                    Mode::Chunked(_) => {
                        cur.body.gap(len);
                        self.fail_message(env);
                    }
                }
            }
        }
    }

    /// The direction ended (FIN, or the connection closed).
    pub fn end(&mut self, env: &mut Env<'_>) {
        match self.st {
            St::Body => {
                if let Some(cur) = self.cur.as_mut()
                    && cur.mode != Mode::UntilClose
                {
                    push_unique(&mut cur.anomalies, Anomaly::IncompleteMessage);
                    cur.body.mark_incomplete();
                }
                self.complete(env);
            }
            St::Head if !self.buf.is_empty() => {
                // A head cut by the end of the stream: keep it if its first line is whole.
                let mut held = std::mem::take(&mut self.buf);
                if memchr::memchr(b'\n', &held).is_some() {
                    held.extend_from_slice(b"\r\n\r\n");
                    let kind = match head::message_start(&held, self.role) {
                        Start::Yes(k) => Some(k),
                        _ => None,
                    };
                    if let Some(kind) = kind
                        && let Some(h) = head::parse_head(&held, kind, env.cfg.max_headers)
                    {
                        push_unique(&mut self.pending, Anomaly::IncompleteMessage);
                        let m = self.buf_meta;
                        self.begin(h, m, held.len() as u64 - 4, env);
                        if self.st == St::Body {
                            if let Some(cur) = self.cur.as_mut() {
                                cur.body.mark_incomplete();
                            }
                            self.complete(env);
                        }
                    }
                }
            }
            St::Tls => {
                let sni = tls::client_hello_sni(&self.buf);
                env.out.push(Event::Tls(sni));
            }
            _ => {}
        }
        self.st = St::Done;
        self.buf = Vec::new();
    }
}

fn trim_line(l: &[u8]) -> &[u8] {
    let l = l.strip_suffix(b"\n").unwrap_or(l);
    let l = l.strip_suffix(b"\r").unwrap_or(l);
    l.trim_ascii()
}

/// The size of a chunk from its size line (extensions after `;` ignored). `None` when the line
/// holds no hex digits or the number overflows.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return None;
    }
    let s = std::str::from_utf8(&line[..digits]).ok()?;
    u64::from_str_radix(s, 16).ok()
}

/// Whether the last transfer coding is `chunked`.
fn transfer_chunked(h: &Headers) -> bool {
    let mut last: Option<String> = None;
    for v in h.get_all("transfer-encoding") {
        for p in v.split(',') {
            let p = p.trim();
            if !p.is_empty() {
                last = Some(p.to_ascii_lowercase());
            }
        }
    }
    last.as_deref() == Some("chunked")
}

/// The Content-Length: `None` when absent, `Err` when not a number (or beyond what a signed
/// 64-bit length holds, as Wireshark reads it). Several differing values: the last one wins,
/// as in Wireshark, flagged by the `bool`.
fn content_length(h: &Headers) -> Option<Result<(u64, bool), ()>> {
    let mut found: Option<u64> = None;
    let mut conflict = false;
    for v in h.get_all("content-length") {
        for p in v.split(',') {
            let p = p.trim();
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Some(Err(()));
            }
            let n = match p.parse::<i64>() {
                Ok(n) => n as u64,
                Err(_) => return Some(Err(())),
            };
            if found.is_some_and(|f| f != n) {
                conflict = true;
            }
            found = Some(n);
        }
    }
    found.map(|n| Ok((n, conflict)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes() {
        assert_eq!(chunk_size(b"1a;ext=1"), Some(26));
        assert_eq!(chunk_size(b"0"), Some(0));
        assert_eq!(chunk_size(b"zz"), None);
        assert_eq!(chunk_size(b"10000000000000000"), None);
    }

    #[test]
    fn content_length_rules() {
        let mut h = Headers::default();
        assert_eq!(content_length(&h), None);
        h.push("Content-Length", "12");
        assert_eq!(content_length(&h), Some(Ok((12, false))));
        h.push("content-length", "12, 12");
        assert_eq!(content_length(&h), Some(Ok((12, false))));
        h.push("content-length", "13");
        assert_eq!(content_length(&h), Some(Ok((13, true))));
        let mut n = Headers::default();
        n.push("Content-Length", "-1");
        assert_eq!(content_length(&n), Some(Err(())));
        let mut m = Headers::default();
        m.push("Content-Length", "18446744073709551615");
        assert_eq!(content_length(&m), Some(Err(())));
    }

    #[test]
    fn te_last_coding() {
        let mut h = Headers::default();
        h.push("Transfer-Encoding", "gzip, chunked");
        assert!(transfer_chunked(&h));
        let mut g = Headers::default();
        g.push("Transfer-Encoding", "chunked, gzip");
        assert!(!transfer_chunked(&g));
    }
}
