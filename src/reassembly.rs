//! TCP reassembly: fed decoded TCP segments (`Segment`, from `ingest::pcap::decode`), keeps one
//! state per connection for both directions and delivers in-order byte runs, gaps and ends to a
//! `StreamHandler` (the HTTP/1.x parser in `http1`).
//!
//! Policies, in one place:
//! - Connections are keyed by their 4-tuple (both directions share one entry). A SYN that is not
//!   a retransmission, or data far (> `MAX_JUMP`) from the expected sequence, on a known tuple
//!   starts a new connection (port reuse). Closed connections stay as cheap tombstones for
//!   `TOMBSTONE_NS` so late retransmissions and ACKs do not start phantom connections; new data
//!   after the close (even right after a RST) starts a new one.
//! - Sequence numbers are mapped to 64-bit stream offsets with wrapping 32-bit arithmetic, so ISNs
//!   near 2^32 work. Without a SYN the first data segment starts the stream (mid-stream join).
//! - Out-of-order data is buffered (bounded per direction and in total) and delivered in order.
//!   Overlaps keep the bytes that arrived first; differing bytes in an overlap are reported as
//!   `Anomaly::OverlapConflict`. Data already delivered is never delivered again.
//! - A hole becomes a gap (delivered as `gap(len)`) when the peer acknowledges past it (the bytes
//!   were received, just not captured), when a buffer bound is hit, or at FIN/RST/timeout/EOF.
//! - Connections idle for `idle_timeout_ns` of capture time are flushed and forgotten; at most
//!   `max_connections` are tracked, the least recently active ones being flushed first.

use std::collections::BTreeMap;

// foldhash rather than SipHash: this table is looked up once per segment. It is still seeded
// per process, so crafted 4-tuples cannot be aimed at one bucket chain ahead of time.
use foldhash::{HashMap, HashMapExt};
use std::net::SocketAddr;

use crate::model::{Anomaly, Timestamp};

/// A jump of the sequence number larger than this (either way) on a live tuple is not the same
/// connection any more.
const MAX_JUMP: i64 = 64 << 20;
/// A mid-stream direction starts at the peer's acknowledgment when its first data is at most
/// this far beyond it (the missing bytes become a gap).
const MAX_HINT_GAP: i64 = 1 << 20;
/// A closed connection is remembered this long (capture time) to absorb late retransmissions.
const TOMBSTONE_NS: i64 = 60 * 1_000_000_000;
/// Idle and closed connections are looked for at least this often (capture time).
const SWEEP_EVERY_NS: i64 = 10 * 1_000_000_000;

/// One TCP segment as decoded from a frame; the payload borrows the frame's bytes.
#[derive(Debug, Clone)]
pub struct Segment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    /// The acknowledgment number when the ACK flag is set.
    pub ack: Option<u32>,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub payload: &'a [u8],
}

/// Where a piece of stream data came from: the capture frame number and its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Meta {
    pub frame: u64,
    pub ts: Timestamp,
}

/// A connection as the handler sees it. `addrs[d]` is the sender of direction `d`; direction 0
/// is the side that sent the first SYN (or, joined mid-stream, the first segment seen).
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// Unique within one reassembler (one capture), counted from 1.
    pub id: u64,
    pub addrs: [SocketAddr; 2],
}

/// What a handler wants after seeing some data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Continue,
    /// Not interested in this connection any more (not HTTP, TLS, switched protocol): the
    /// reassembler closes the handler state and stops buffering its data.
    Abandon,
}

/// The consumer of reassembled streams. One `State` per connection.
pub trait StreamHandler {
    type State;
    fn open(&mut self, info: &ConnInfo, meta: Meta) -> Self::State;
    /// In-order bytes of direction `dir`.
    fn data(
        &mut self,
        st: &mut Self::State,
        info: &ConnInfo,
        dir: usize,
        data: &[u8],
        meta: Meta,
    ) -> Verdict;
    /// `len` bytes of direction `dir` were lost from the capture at this point of the stream.
    fn gap(
        &mut self,
        st: &mut Self::State,
        info: &ConnInfo,
        dir: usize,
        len: u64,
        meta: Meta,
    ) -> Verdict;
    /// Something unusual in direction `dir` at the current point of the stream.
    fn anomaly(&mut self, st: &mut Self::State, info: &ConnInfo, dir: usize, a: Anomaly);
    /// Direction `dir` ended (FIN reached in order).
    fn end(&mut self, st: &mut Self::State, info: &ConnInfo, dir: usize, meta: Meta);
    /// The connection is over (both FINs, RST, timeout, eviction, port reuse, end of capture).
    fn close(&mut self, st: Self::State, info: &ConnInfo, meta: Meta);
}

/// Bounds of one reassembler.
#[derive(Debug, Clone)]
pub struct ReasmConfig {
    pub max_connections: usize,
    pub max_ooo_bytes_per_flow: usize,
    pub max_ooo_bytes_total: usize,
    pub idle_timeout_ns: i64,
}

impl From<&crate::ingest::IngestConfig> for ReasmConfig {
    fn from(c: &crate::ingest::IngestConfig) -> Self {
        ReasmConfig {
            max_connections: c.max_connections,
            max_ooo_bytes_per_flow: c.max_ooo_bytes_per_flow,
            max_ooo_bytes_total: c.max_ooo_bytes_total,
            idle_timeout_ns: c.idle_timeout_ns,
        }
    }
}

/// What the reassembler counted, for the `sources` report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReasmCounters {
    pub connections: u64,
    /// Out-of-order buffer bounds hit (a hole was given up early).
    pub ooo_limit_hits: u64,
    /// Connections flushed early because `max_connections` was reached.
    pub evictions: u64,
    pub idle_timeouts: u64,
    pub overlap_conflicts: u64,
    /// Gaps delivered (holes that never filled).
    pub gaps: u64,
    /// Segments dropped as exact or partial retransmissions of delivered data.
    pub retransmissions: u64,
}

impl ReasmCounters {
    /// A bound (out-of-order buffers, connections) was hit: data was given up or flushed early.
    pub fn bound_hit(&self) -> bool {
        self.ooo_limit_hits + self.evictions > 0
    }
}

#[derive(Debug)]
struct Buffered {
    data: Vec<u8>,
    meta: Meta,
}

#[derive(Debug, Default)]
struct Flow {
    started: bool,
    syn_seen: bool,
    isn: u32,
    /// Sequence number of the byte at `next_off`.
    next_seq: u32,
    /// Stream offset of the next byte to deliver.
    next_off: u64,
    /// Stream offset just after the last byte (where the FIN sits), once a FIN was seen.
    fin_off: Option<u64>,
    ended: bool,
    ooo: BTreeMap<u64, Buffered>,
    ooo_bytes: usize,
    /// Data was seen in this direction (not just handshake).
    had_data: bool,
    /// Before this direction started: the first acknowledgment the peer sent for it.
    ack_hint: Option<u32>,
}

impl Flow {
    fn start_at(&mut self, seq: u32) {
        self.started = true;
        self.next_seq = seq;
        self.next_off = 0;
    }

    /// Stream offset of a sequence number, relative to what is expected next.
    fn offset_of(&self, seq: u32) -> i64 {
        self.next_off as i64 + i64::from(seq.wrapping_sub(self.next_seq) as i32)
    }

    fn advance(&mut self, n: u64) {
        self.next_off += n;
        self.next_seq = self.next_seq.wrapping_add(n as u32);
    }
}

struct Conn<S> {
    info: ConnInfo,
    flows: [Flow; 2],
    /// Handler state; `None` once abandoned or closed.
    state: Option<S>,
    /// Closed: kept only to absorb late retransmissions (a tombstone).
    closed: bool,
    last_ts: Timestamp,
}

/// A connection's table key: its two endpoints, the lower first.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Key(SocketAddr, SocketAddr);

impl std::hash::Hash for Key {
    /// Three words instead of `SocketAddr`'s derived hash, which feeds the hasher a dozen small
    /// pieces (discriminants, octets, flow info, scope), and the table is looked up a few times
    /// per segment. Each address goes to the seeded hasher whole: combining them first (xor)
    /// would let a crafted capture make colliding keys whatever the seed.
    fn hash<S: std::hash::Hasher>(&self, state: &mut S) {
        fn bits(a: &SocketAddr) -> u128 {
            match a.ip() {
                std::net::IpAddr::V4(ip) => u128::from(u32::from(ip)),
                std::net::IpAddr::V6(ip) => u128::from(ip),
            }
        }
        state.write_u128(bits(&self.0));
        state.write_u128(bits(&self.1));
        state.write_u32(u32::from(self.0.port()) << 16 | u32::from(self.1.port()));
    }
}

/// The connection key of a segment: the same for both directions (order-independent), so it
/// is also what to hash when connections are spread over workers.
pub fn key_of(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b { (a, b) } else { (b, a) }
}

/// When idle connections are looked for: every quarter of the idle timeout (at most every
/// `SWEEP_EVERY_NS`) of capture time, decided at segment arrivals. Public so that a router that
/// spreads one capture's segments over several reassemblers can make the very same decisions
/// and tell each reassembler when to sweep (`Reassembler::tick`), which keeps sharded results
/// identical to a single reassembler's.
#[derive(Debug, Clone)]
pub struct SweepClock {
    quarter: i64,
    now: Timestamp,
    last_sweep: Option<Timestamp>,
}

impl SweepClock {
    pub fn new(idle_timeout_ns: i64) -> Self {
        SweepClock {
            quarter: (idle_timeout_ns / 4).clamp(1, SWEEP_EVERY_NS),
            now: Timestamp::MIN,
            last_sweep: None,
        }
    }

    /// Capture time so far (the latest segment time seen).
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Notes a segment captured at `ts`; true when a sweep is due before it is handled.
    pub fn advance(&mut self, ts: Timestamp) -> bool {
        self.now = self.now.max(ts);
        match self.last_sweep {
            None => {
                self.last_sweep = Some(self.now);
                false
            }
            Some(t) if self.now.saturating_sub(t) < self.quarter => false,
            Some(_) => {
                self.last_sweep = Some(self.now);
                true
            }
        }
    }
}

/// A TCP reassembler over many connections, generic over what consumes the streams.
pub struct Reassembler<H: StreamHandler> {
    conns: HashMap<Key, Conn<H::State>>,
    core: Core,
    next_id: u64,
    clock: SweepClock,
    /// Sweeps are decided by whoever feeds this reassembler (`tick`), not by `segment`.
    external_clock: bool,
    /// Frame that opened each connection, by id, when asked for (`record_opens`).
    opens: Option<Vec<u64>>,
}

/// What the per-connection work shares: bounds, the global buffer account, counters. Kept apart
/// from the connection table so one connection can be worked on in place.
struct Core {
    cfg: ReasmConfig,
    ooo_total: usize,
    counters: ReasmCounters,
}

impl<H: StreamHandler> Reassembler<H> {
    pub fn new(cfg: ReasmConfig) -> Self {
        let cfg_idle = cfg.idle_timeout_ns;
        Reassembler {
            conns: HashMap::new(),
            core: Core {
                cfg,
                ooo_total: 0,
                counters: ReasmCounters::default(),
            },
            next_id: 0,
            clock: SweepClock::new(cfg_idle),
            external_clock: false,
            opens: None,
        }
    }

    /// Lets the feeder decide when to sweep (see `SweepClock`): `segment` no longer does.
    pub fn use_external_clock(&mut self) {
        self.external_clock = true;
    }

    /// Capture time advanced to `now` and a sweep is due (external clock): idle connections
    /// are flushed as a single reassembler would have at this point.
    pub fn tick(&mut self, now: Timestamp, meta: Meta, h: &mut H) {
        self.clock.now = self.clock.now.max(now);
        self.sweep(meta, h);
    }

    /// Capture time advanced to `now` (external clock), with no sweep.
    pub fn set_now(&mut self, now: Timestamp) {
        self.clock.now = self.clock.now.max(now);
    }

    /// Remembers the frame that opened each connection (see `opens`).
    pub fn record_opens(&mut self) {
        self.opens.get_or_insert_with(Vec::new);
    }

    /// The frame that opened each connection, indexed by connection id - 1 (empty unless
    /// `record_opens` was called first).
    pub fn take_opens(&mut self) -> Vec<u64> {
        self.opens.take().unwrap_or_default()
    }

    /// What was counted so far.
    pub fn counters(&self) -> &ReasmCounters {
        &self.core.counters
    }

    /// Connections tracked right now (tombstones included).
    pub fn live(&self) -> usize {
        self.conns.len()
    }

    /// Out-of-order bytes buffered right now across all connections.
    pub fn buffered_bytes(&self) -> usize {
        self.core.ooo_total
    }

    /// Feeds one segment captured at `meta`.
    pub fn segment(&mut self, seg: &Segment<'_>, meta: Meta, h: &mut H) {
        if !self.external_clock && self.clock.advance(meta.ts) {
            self.sweep(meta, h);
        }
        let (lo, hi) = key_of(seg.src, seg.dst);
        let key = Key(lo, hi);
        let pure_syn = seg.syn && seg.ack.is_none();
        let has_data = !seg.payload.is_empty();

        // One lookup for the common case, a segment of a connection that goes on.
        let restart = match self.conns.get_mut(&key) {
            None => {
                if !(seg.syn || has_data) {
                    return; // a stray ACK/FIN/RST of a connection we never saw
                }
                false
            }
            Some(c) => {
                let d = usize::from(c.info.addrs[0] != seg.src);
                let f = &c.flows[d];
                let restart = if seg.syn {
                    let dup = f.syn_seen && f.isn == seg.seq;
                    if dup {
                        false
                    } else {
                        c.closed
                            || (pure_syn
                                && (f.had_data
                                    || c.flows[1 - d].had_data
                                    || f.syn_seen
                                    || f.fin_off.is_some()))
                    }
                } else if has_data && f.started {
                    let rel = f.offset_of(seg.seq) - f.next_off as i64;
                    if c.closed {
                        // New data after the close (a reused port, or data sent after a RST,
                        // an evasion trick) is a new connection; retransmissions stay here.
                        !(-MAX_JUMP..0).contains(&rel)
                    } else {
                        !(-MAX_JUMP..=MAX_JUMP).contains(&rel)
                    }
                } else {
                    false
                };
                if !restart {
                    Self::feed(&mut self.core, c, seg, meta, h);
                    return;
                }
                true
            }
        };
        if restart && let Some(mut c) = self.conns.remove(&key) {
            self.core.finish(&mut c, meta, h);
        }
        // A new connection: only a SYN or data opens one, which both arms above have made sure of.
        self.make_room(meta, h);
        self.next_id += 1;
        self.core.counters.connections += 1;
        if let Some(o) = &mut self.opens {
            o.push(meta.frame);
        }
        // The client is the SYN sender; a SYN-ACK seen first comes from the server.
        let addrs = if seg.syn && seg.ack.is_some() {
            [seg.dst, seg.src]
        } else {
            [seg.src, seg.dst]
        };
        let info = ConnInfo {
            id: self.next_id,
            addrs,
        };
        let state = h.open(&info, meta);
        let conn = self.conns.entry(key).insert_entry(Conn {
            info,
            flows: [Flow::default(), Flow::default()],
            state: Some(state),
            closed: false,
            last_ts: meta.ts,
        });
        Self::feed(&mut self.core, conn.into_mut(), seg, meta, h);
    }

    /// A segment of connection `conn`, known or just opened.
    fn feed(core: &mut Core, conn: &mut Conn<H::State>, seg: &Segment<'_>, meta: Meta, h: &mut H) {
        conn.last_ts = meta.ts;
        if conn.closed {
            // A tombstone swallows retransmissions and late ACKs.
            return;
        }
        let d = usize::from(conn.info.addrs[0] != seg.src);
        core.on_segment(conn, d, seg, meta, h);
        if seg.rst || (conn.flows[0].ended && conn.flows[1].ended) {
            core.finish(conn, meta, h);
        }
    }

    /// Flushes every connection (end of capture).
    pub fn finish_all(&mut self, h: &mut H) {
        let meta = Meta {
            frame: 0,
            ts: self.clock.now,
        };
        let mut conns: Vec<_> = self.conns.drain().map(|(_, c)| c).collect();
        // Oldest first, so exchanges come out roughly in capture order.
        conns.sort_by_key(|c| c.info.id);
        for mut c in conns {
            self.core.finish(&mut c, meta, h);
        }
    }
}

impl Core {
    fn on_segment<H: StreamHandler>(
        &mut self,
        conn: &mut Conn<H::State>,
        d: usize,
        seg: &Segment<'_>,
        meta: Meta,
        h: &mut H,
    ) {
        let Conn {
            info, flows, state, ..
        } = conn;
        // The peer's acknowledgment tells which of our holes will never be filled, and, before
        // the other direction showed any data, where its stream stands.
        if let Some(ack) = seg.ack {
            let o = 1 - d;
            let f = &mut flows[o];
            if !f.started && f.ack_hint.is_none() {
                f.ack_hint = Some(ack);
            }
            if f.started && !f.ooo.is_empty() {
                let ack_off = f.offset_of(ack);
                if ack_off > f.next_off as i64 {
                    let first = f.ooo.keys().next().copied().unwrap_or(ack_off as u64);
                    let upto = first.min(ack_off as u64);
                    self.skip_to(info, state, f, o, upto, meta, h);
                    self.drain(info, state, f, o, h);
                }
            }
        }
        let f = &mut flows[d];
        let mut seq = seg.seq;
        if seg.syn {
            if !f.syn_seen && !f.had_data {
                f.syn_seen = true;
                f.isn = seg.seq;
                f.start_at(seg.seq.wrapping_add(1));
            }
            seq = seg.seq.wrapping_add(1);
        }
        if !f.started {
            // Joined mid-stream: start where the peer said it was, when that is just before
            // this data (the bytes in between were lost); else at this segment.
            let start = match f.ack_hint {
                Some(h) if (1..=MAX_HINT_GAP).contains(&i64::from(seq.wrapping_sub(h) as i32)) => h,
                _ => seq,
            };
            f.start_at(start);
        }
        let payload = seg.payload;
        // The FIN is placed before the data is delivered: delivering could drain buffered bytes
        // that lie past it.
        if seg.fin {
            let end = f.offset_of(seq) + payload.len() as i64;
            if end >= f.next_off as i64 && f.fin_off.is_none() {
                f.fin_off = Some(end as u64);
                self.cut_at_fin(f);
            }
        }
        if !payload.is_empty() {
            f.had_data = true;
            let off = f.offset_of(seq);
            self.data(info, state, f, d, off, payload, meta, h);
        }
        self.check_end(info, state, f, d, meta, h);
    }

    fn check_end<H: StreamHandler>(
        &mut self,
        info: &ConnInfo,
        state: &mut Option<H::State>,
        f: &mut Flow,
        d: usize,
        meta: Meta,
        h: &mut H,
    ) {
        if let Some(fin) = f.fin_off
            && !f.ended
            && f.next_off >= fin
        {
            f.ended = true;
            if let Some(s) = state {
                h.end(s, info, d, meta);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn data<H: StreamHandler>(
        &mut self,
        info: &ConnInfo,
        state: &mut Option<H::State>,
        f: &mut Flow,
        d: usize,
        off: i64,
        payload: &[u8],
        meta: Meta,
        h: &mut H,
    ) {
        // Nothing follows a FIN in its direction: bytes past it are dropped (they would come
        // after the end of the stream; a new connection on the same ports starts with a SYN).
        let payload = match f.fin_off {
            Some(fin) => {
                let keep = (fin as i64)
                    .saturating_sub(off)
                    .clamp(0, payload.len() as i64);
                payload.get(..keep as usize).unwrap_or_default()
            }
            None => payload,
        };
        let end = off + payload.len() as i64;
        let next = f.next_off as i64;
        if end <= next {
            self.counters.retransmissions += 1;
            return;
        }
        if state.is_none() {
            // Abandoned: keep the sequence space moving, buffer nothing.
            if off <= next {
                f.advance((end - next) as u64);
            }
            return;
        }
        if off <= next {
            let skip = (next - off) as usize;
            let fresh = payload.get(skip..).unwrap_or(&[]);
            f.advance(fresh.len() as u64);
            deliver(h, info, state, d, fresh, meta);
            self.drain(info, state, f, d, h);
            return;
        }
        self.buffer(info, state, f, d, off as u64, payload, meta, h);
    }

    /// Stores data that arrived ahead of a hole, first data winning on overlaps.
    #[allow(clippy::too_many_arguments)]
    fn buffer<H: StreamHandler>(
        &mut self,
        info: &ConnInfo,
        state: &mut Option<H::State>,
        f: &mut Flow,
        d: usize,
        start: u64,
        payload: &[u8],
        meta: Meta,
        h: &mut H,
    ) {
        let end = start + payload.len() as u64;
        // Existing pieces that overlap [start, end), in order.
        let mut overlaps: Vec<(u64, u64)> = Vec::new();
        if let Some((&k, v)) = f.ooo.range(..start).next_back() {
            let e = k + v.data.len() as u64;
            if e > start {
                overlaps.push((k, e));
            }
        }
        overlaps.extend(
            f.ooo
                .range(start..end)
                .map(|(&k, v)| (k, k + v.data.len() as u64)),
        );
        let mut pieces: Vec<(u64, u64)> = Vec::new();
        let mut cur = start;
        let mut conflict = false;
        for (k, e) in overlaps {
            if k > cur {
                pieces.push((cur, k));
            }
            let (os, oe) = (k.max(start), e.min(end));
            if os < oe
                && let Some(old) = f.ooo.get(&k)
            {
                let a = old.data.get((os - k) as usize..(oe - k) as usize);
                let b = payload.get((os - start) as usize..(oe - start) as usize);
                if a != b {
                    conflict = true;
                }
            }
            cur = cur.max(e);
        }
        if cur < end {
            pieces.push((cur, end));
        }
        if conflict {
            self.counters.overlap_conflicts += 1;
            if let Some(s) = state {
                h.anomaly(s, info, d, Anomaly::OverlapConflict);
            }
        }
        let new_bytes: usize = pieces.iter().map(|(s, e)| (e - s) as usize).sum();
        if new_bytes == 0 {
            self.counters.retransmissions += 1;
            return;
        }
        if f.ooo_bytes + new_bytes > self.cfg.max_ooo_bytes_per_flow
            || self.ooo_total + new_bytes > self.cfg.max_ooo_bytes_total
        {
            // Waiting for this hole costs too much: declare it lost and move on.
            self.counters.ooo_limit_hits += 1;
            if let Some(s) = state {
                h.anomaly(s, info, d, Anomaly::LimitHit);
            }
            let first = f.ooo.keys().next().copied().unwrap_or(start).min(start);
            self.skip_to(info, state, f, d, first, meta, h);
            self.drain(info, state, f, d, h);
            // Whatever is still missing before this segment is lost too; then it is in order.
            self.skip_to(info, state, f, d, start, meta, h);
            self.data(info, state, f, d, start as i64, payload, meta, h);
            return;
        }
        for (s, e) in pieces {
            let Some(bytes) = payload.get((s - start) as usize..(e - start) as usize) else {
                continue;
            };
            f.ooo.insert(
                s,
                Buffered {
                    data: bytes.to_vec(),
                    meta,
                },
            );
        }
        f.ooo_bytes += new_bytes;
        self.ooo_total += new_bytes;
    }

    /// Drops buffered bytes at or past the FIN (they arrived before it).
    fn cut_at_fin(&mut self, f: &mut Flow) {
        let Some(fin) = f.fin_off else {
            return;
        };
        let beyond = f.ooo.split_off(&fin);
        let mut freed: usize = beyond.values().map(|b| b.data.len()).sum();
        if let Some((&k, b)) = f.ooo.iter_mut().next_back() {
            let keep = usize::try_from(fin - k).unwrap_or(usize::MAX);
            if b.data.len() > keep {
                freed += b.data.len() - keep;
                b.data.truncate(keep);
            }
        }
        f.ooo_bytes -= freed;
        self.ooo_total -= freed;
    }

    /// Delivers buffered data that has become contiguous.
    fn drain<H: StreamHandler>(
        &mut self,
        info: &ConnInfo,
        state: &mut Option<H::State>,
        f: &mut Flow,
        d: usize,
        h: &mut H,
    ) {
        while let Some(entry) = f.ooo.first_entry() {
            let k = *entry.key();
            if k > f.next_off {
                break;
            }
            let b = entry.remove();
            f.ooo_bytes -= b.data.len();
            self.ooo_total -= b.data.len();
            let end = k + b.data.len() as u64;
            if end <= f.next_off {
                continue;
            }
            let skip = (f.next_off - k) as usize;
            let fresh = b.data.get(skip..).unwrap_or(&[]);
            f.advance(fresh.len() as u64);
            if state.is_some() {
                deliver(h, info, state, d, fresh, b.meta);
            }
        }
    }

    /// Declares the bytes up to `upto` lost.
    #[allow(clippy::too_many_arguments)]
    fn skip_to<H: StreamHandler>(
        &mut self,
        info: &ConnInfo,
        state: &mut Option<H::State>,
        f: &mut Flow,
        d: usize,
        upto: u64,
        meta: Meta,
        h: &mut H,
    ) {
        if upto <= f.next_off {
            return;
        }
        let len = upto - f.next_off;
        f.advance(len);
        self.counters.gaps += 1;
        if let Some(s) = state
            && h.gap(s, info, d, len, meta) == Verdict::Abandon
            && let Some(s) = state.take()
        {
            h.close(s, info, meta);
        }
    }

    /// Flushes a connection (holes become gaps), closes its handler state and leaves a
    /// tombstone.
    fn finish<H: StreamHandler>(&mut self, c: &mut Conn<H::State>, meta: Meta, h: &mut H) {
        if c.closed {
            return;
        }
        let Conn {
            info, flows, state, ..
        } = c;
        for (d, f) in flows.iter_mut().enumerate() {
            while let Some(&k) = f.ooo.keys().next() {
                self.skip_to(info, state, f, d, k, meta, h);
                self.drain(info, state, f, d, h);
            }
            if let Some(fin) = f.fin_off
                && !f.ended
                && fin > f.next_off
            {
                // The FIN was seen but bytes before it never came.
                self.skip_to(info, state, f, d, fin, meta, h);
            }
            if f.fin_off.is_some_and(|fin| f.next_off >= fin) && !f.ended {
                f.ended = true;
                if let Some(s) = state {
                    h.end(s, info, d, meta);
                }
            }
        }
        if let Some(s) = state.take() {
            h.close(s, info, meta);
        }
        c.closed = true;
    }
}

impl<H: StreamHandler> Reassembler<H> {
    fn sweep(&mut self, meta: Meta, h: &mut H) {
        let now = self.clock.now;
        let timeout = self.core.cfg.idle_timeout_ns;
        let expired: Vec<Key> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                let idle = now.saturating_sub(c.last_ts);
                idle > timeout || (c.closed && idle > TOMBSTONE_NS.min(timeout))
            })
            .map(|(k, _)| *k)
            .collect();
        self.expire(expired, meta, h, false);
    }

    fn make_room(&mut self, meta: Meta, h: &mut H) {
        if self.conns.len() < self.core.cfg.max_connections.max(1) {
            return;
        }
        // Flush the least recently active eighth in one pass (amortised O(1) per connection).
        let mut stamps: Vec<(Timestamp, u64)> = self
            .conns
            .values()
            .map(|c| (c.last_ts, c.info.id))
            .collect();
        let n = (stamps.len() / 8).max(1);
        let idx = n.min(stamps.len()) - 1;
        stamps.select_nth_unstable(idx);
        let cut = stamps[idx];
        let victims: Vec<Key> = self
            .conns
            .iter()
            .filter(|(_, c)| (c.last_ts, c.info.id) <= cut)
            .map(|(k, _)| *k)
            .collect();
        self.expire(victims, meta, h, true);
    }

    fn expire(&mut self, keys: Vec<Key>, meta: Meta, h: &mut H, evicted: bool) {
        let mut victims: Vec<Conn<H::State>> =
            keys.iter().filter_map(|k| self.conns.remove(k)).collect();
        victims.sort_by_key(|c| c.info.id);
        for mut c in victims {
            if !c.closed {
                if evicted {
                    self.core.counters.evictions += 1;
                    if let Some(s) = &mut c.state {
                        h.anomaly(s, &c.info, 0, Anomaly::LimitHit);
                    }
                } else {
                    self.core.counters.idle_timeouts += 1;
                }
            }
            self.core.finish(&mut c, meta, h);
            // Buffers are freed with the connection.
            for f in &c.flows {
                self.core.ooo_total -= f.ooo_bytes;
            }
        }
    }
}

fn deliver<H: StreamHandler>(
    h: &mut H,
    info: &ConnInfo,
    state: &mut Option<H::State>,
    d: usize,
    bytes: &[u8],
    meta: Meta,
) {
    if bytes.is_empty() {
        return;
    }
    if let Some(s) = state
        && h.data(s, info, d, bytes, meta) == Verdict::Abandon
        && let Some(s) = state.take()
    {
        h.close(s, info, meta);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Keys built to collide under an xor of the two addresses (A^x, B^rot(x)) hash apart: a
    /// crafted capture cannot put its connections on one probe chain.
    #[test]
    fn crafted_keys_do_not_collide() {
        use std::hash::BuildHasher;
        use std::net::{IpAddr, Ipv6Addr};
        let state = foldhash::fast::RandomState::default();
        let a: u128 = 0x2001_0db8_0000_0000_0000_0000_0000_0001;
        let b: u128 = 0x2001_0db8_0000_0000_0000_0000_0000_0002;
        let hashes: std::collections::HashSet<u64> = (1u128..1000)
            .map(|x| {
                let lo = SocketAddr::new(IpAddr::V6(Ipv6Addr::from(a ^ x)), 80);
                let hi = SocketAddr::new(IpAddr::V6(Ipv6Addr::from(b ^ x.rotate_left(64))), 80);
                state.hash_one(Key(lo, hi))
            })
            .collect();
        assert!(
            hashes.len() > 990,
            "{} distinct hashes of 999 keys",
            hashes.len()
        );
    }

    /// A closed connection: id, bytes per direction (`#<len>` marks gaps), anomalies, ends.
    type Closed = (u64, [Vec<u8>; 2], Vec<Anomaly>, [bool; 2]);

    /// Records what each connection delivered.
    #[derive(Default)]
    struct Rec {
        opened: Vec<u64>,
        closed: Vec<Closed>,
    }

    #[derive(Default)]
    struct St {
        id: u64,
        out: [Vec<u8>; 2],
        anomalies: Vec<Anomaly>,
        ended: [bool; 2],
    }

    impl StreamHandler for Rec {
        type State = St;
        fn open(&mut self, info: &ConnInfo, _m: Meta) -> St {
            self.opened.push(info.id);
            St {
                id: info.id,
                ..St::default()
            }
        }
        fn data(&mut self, st: &mut St, _i: &ConnInfo, d: usize, data: &[u8], _m: Meta) -> Verdict {
            st.out[d].extend_from_slice(data);
            Verdict::Continue
        }
        fn gap(&mut self, st: &mut St, _i: &ConnInfo, d: usize, len: u64, _m: Meta) -> Verdict {
            st.out[d].extend_from_slice(format!("#{len}").as_bytes());
            Verdict::Continue
        }
        fn anomaly(&mut self, st: &mut St, _i: &ConnInfo, _d: usize, a: Anomaly) {
            st.anomalies.push(a);
        }
        fn end(&mut self, st: &mut St, _i: &ConnInfo, d: usize, _m: Meta) {
            st.ended[d] = true;
        }
        fn close(&mut self, st: St, _i: &ConnInfo, _m: Meta) {
            self.closed.push((st.id, st.out, st.anomalies, st.ended));
        }
    }

    fn cfg() -> ReasmConfig {
        ReasmConfig {
            max_connections: 100,
            max_ooo_bytes_per_flow: 1 << 20,
            max_ooo_bytes_total: 1 << 22,
            idle_timeout_ns: 1_000_000_000_000,
        }
    }

    const C: &str = "10.0.0.1:40000";
    const S: &str = "10.0.0.2:80";

    fn seg<'a>(
        from_client: bool,
        seq: u32,
        ack: Option<u32>,
        flags: &str,
        p: &'a [u8],
    ) -> Segment<'a> {
        let (src, dst) = if from_client { (C, S) } else { (S, C) };
        Segment {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            seq,
            ack,
            syn: flags.contains('S'),
            fin: flags.contains('F'),
            rst: flags.contains('R'),
            payload: p,
        }
    }

    fn run(segs: &[Segment<'_>]) -> Rec {
        let mut r = Reassembler::new(cfg());
        let mut h = Rec::default();
        for (i, s) in segs.iter().enumerate() {
            r.segment(
                s,
                Meta {
                    frame: i as u64 + 1,
                    ts: i as i64,
                },
                &mut h,
            );
        }
        r.finish_all(&mut h);
        h
    }

    /// Splits `msg` into segments at the given cut points, starting at sequence `isn + 1`.
    fn split(msg: &[u8], cuts: &[usize], isn: u32) -> Vec<(u32, Vec<u8>)> {
        let mut pts: Vec<usize> = cuts.iter().map(|c| c % (msg.len() + 1)).collect();
        pts.push(0);
        pts.push(msg.len());
        pts.sort_unstable();
        pts.dedup();
        pts.windows(2)
            .map(|w| {
                (
                    isn.wrapping_add(1).wrapping_add(w[0] as u32),
                    msg[w[0]..w[1]].to_vec(),
                )
            })
            .collect()
    }

    #[test]
    fn in_order_with_handshake_and_fin() {
        let h = run(&[
            seg(true, 100, None, "S", b""),
            seg(false, 500, Some(101), "S", b""),
            seg(true, 101, Some(501), "", b"hello "),
            seg(true, 107, Some(501), "", b"world"),
            seg(false, 501, Some(112), "", b"ok"),
            seg(true, 112, Some(503), "F", b""),
            seg(false, 503, Some(113), "F", b""),
        ]);
        assert_eq!(h.closed.len(), 1);
        let (_, out, an, ended) = &h.closed[0];
        assert_eq!(out[0], b"hello world");
        assert_eq!(out[1], b"ok");
        assert!(an.is_empty());
        assert_eq!(*ended, [true, true]);
    }

    /// Found by fuzzing: bytes after a FIN (sent after it, or buffered before it arrived) were
    /// delivered, or declared lost, after the direction had ended.
    #[test]
    fn nothing_is_delivered_past_a_fin() {
        // Data after the FIN, in order.
        let h = run(&[
            seg(true, 100, None, "S", b""),
            seg(true, 101, None, "F", b"abc"),
            seg(true, 104, None, "", b"late"),
        ]);
        let (_, out, _, ended) = &h.closed[0];
        assert_eq!(out[0], b"abc");
        assert!(ended[0]);
        // Data past the FIN buffered before it, then the hole filled.
        let h = run(&[
            seg(true, 100, None, "S", b""),
            seg(true, 106, None, "", b"xyzw"),
            seg(true, 103, None, "F", b"cde"),
            seg(true, 101, None, "", b"ab"),
            seg(false, 900, Some(200), "", b""),
        ]);
        let (_, out, _, ended) = &h.closed[0];
        assert_eq!(out[0], b"abcde", "nothing past the FIN, no gap after it");
        assert!(ended[0]);
        // A segment straddling the FIN keeps only its bytes before it.
        let h = run(&[
            seg(true, 100, None, "S", b""),
            seg(true, 104, None, "", b"defgh"),
            seg(true, 101, None, "F", b"abcdef"),
        ]);
        assert_eq!(h.closed[0].1[0], b"abcdef");
    }

    #[test]
    fn wraparound_isn() {
        let isn = u32::MAX - 3;
        let msg = b"abcdefghijklmnop";
        let mut segs = vec![seg(true, isn, None, "S", b"")];
        let parts = split(msg, &[2, 5, 9], isn);
        for (s, p) in parts.iter().rev() {
            segs.push(seg(true, *s, None, "", p));
        }
        let h = run(&segs);
        assert_eq!(h.closed[0].1[0], msg);
    }

    #[test]
    fn overlap_first_data_wins_and_conflict_is_counted() {
        let h = run(&[
            seg(true, 0, None, "S", b""),
            seg(true, 5, None, "", b"EFGH"),     // ahead of a hole
            seg(true, 3, None, "", b"CDxxGHIJ"), // overlaps EF differently
            seg(true, 1, None, "", b"AB"),
        ]);
        let (_, out, an, _) = &h.closed[0];
        assert_eq!(out[0], b"ABCDEFGHIJ");
        assert!(an.contains(&Anomaly::OverlapConflict));
    }

    #[test]
    fn gap_is_declared_when_peer_acks_past_it() {
        let h = run(&[
            seg(true, 0, None, "S", b""),
            seg(false, 900, Some(1), "S", b""),
            seg(true, 1, Some(901), "", b"GET /a HTTP/1.1\r\n\r\n"),
            // 10 bytes lost at offset 19..29
            seg(true, 30, Some(901), "", b"GET /b HTTP/1.1\r\n\r\n"),
            seg(false, 901, Some(49), "", b"HTTP/1.1 200 OK\r\n"),
        ]);
        let (_, out, _, _) = &h.closed[0];
        assert_eq!(
            String::from_utf8_lossy(&out[0]),
            "GET /a HTTP/1.1\r\n\r\n#10GET /b HTTP/1.1\r\n\r\n"
        );
    }

    #[test]
    fn hole_at_end_becomes_gap_on_close() {
        let h = run(&[
            seg(true, 0, None, "S", b""),
            seg(true, 1, None, "", b"abc"),
            seg(true, 7, None, "F", b"ghi"),
        ]);
        assert_eq!(String::from_utf8_lossy(&h.closed[0].1[0]), "abc#3ghi");
    }

    #[test]
    fn port_reuse_starts_a_new_connection() {
        let h = run(&[
            seg(true, 1000, None, "S", b""),
            seg(true, 1001, None, "", b"first"),
            seg(true, 1006, None, "F", b""),
            seg(false, 50, None, "F", b""),
            // retransmission after close must not open a phantom connection
            seg(true, 1001, None, "", b"first"),
            seg(true, 777_777, None, "S", b""),
            seg(true, 777_778, None, "", b"second"),
        ]);
        assert_eq!(h.opened, vec![1, 2]);
        assert_eq!(h.closed[0].1[0], b"first");
        assert_eq!(h.closed[1].1[0], b"second");
    }

    #[test]
    fn data_after_rst_is_not_lost() {
        let h = run(&[
            seg(true, 10, None, "S", b""),
            seg(true, 11, None, "R", b""),
            seg(true, 11, None, "", b"GET / HTTP/1.1\r\n\r\n"),
        ]);
        assert_eq!(h.opened.len(), 2);
        assert_eq!(h.closed[1].1[0], b"GET / HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn mid_stream_join_and_big_jump() {
        let h = run(&[
            seg(false, 5000, None, "", b"HTTP/1.1 200 OK\r\n"),
            seg(false, 5017, None, "", b"more"),
            seg(false, 5000u32.wrapping_add(200 << 20), None, "", b"other"),
        ]);
        assert_eq!(h.opened.len(), 2);
        assert_eq!(h.closed[0].1[0], b"HTTP/1.1 200 OK\r\nmore");
        assert_eq!(h.closed[1].1[0], b"other");
    }

    #[test]
    fn mid_stream_direction_starts_at_the_peers_ack() {
        // The client acknowledged server byte 1000, but the first server data seen is at 1010:
        // ten bytes were lost, and the gap is delivered once the client acknowledges past it.
        let h = run(&[
            seg(true, 1, Some(1000), "", b"GET / HTTP/1.1\r\n\r\n"),
            seg(false, 1010, Some(20), "", b"tail"),
            seg(true, 20, Some(1014), "", b""),
        ]);
        assert_eq!(String::from_utf8_lossy(&h.closed[0].1[1]), "#10tail");
    }

    #[test]
    fn ooo_bound_forces_a_gap() {
        let mut c = cfg();
        c.max_ooo_bytes_per_flow = 8;
        let mut r = Reassembler::new(c);
        let mut h = Rec::default();
        let segs = [
            seg(true, 0, None, "S", b""),
            seg(true, 11, None, "", b"0123456"),
            seg(true, 18, None, "", b"789"),
        ];
        for (i, s) in segs.iter().enumerate() {
            r.segment(
                s,
                Meta {
                    frame: i as u64,
                    ts: 0,
                },
                &mut h,
            );
        }
        assert!(r.buffered_bytes() <= 8);
        r.finish_all(&mut h);
        let (_, out, an, _) = &h.closed[0];
        assert_eq!(String::from_utf8_lossy(&out[0]), "#100123456789");
        assert!(an.contains(&Anomaly::LimitHit));
        assert_eq!(r.counters().ooo_limit_hits, 1);
    }

    #[test]
    fn connection_bound_evicts_oldest() {
        let mut c = cfg();
        c.max_connections = 4;
        let mut r = Reassembler::new(c);
        let mut h = Rec::default();
        for i in 0..20u16 {
            let s = Segment {
                src: SocketAddr::new([10, 0, 0, 1].into(), 1000 + i),
                dst: S.parse().unwrap(),
                seq: 1,
                ack: None,
                syn: false,
                fin: false,
                rst: false,
                payload: b"x",
            };
            r.segment(
                &s,
                Meta {
                    frame: u64::from(i),
                    ts: i64::from(i),
                },
                &mut h,
            );
            assert!(r.live() <= 4);
        }
        r.finish_all(&mut h);
        assert_eq!(h.closed.len(), 20);
        assert!(r.counters().evictions > 0);
    }

    #[test]
    fn idle_connections_time_out() {
        let mut c = cfg();
        c.idle_timeout_ns = 100;
        let mut r = Reassembler::new(c);
        let mut h = Rec::default();
        r.segment(
            &seg(true, 1, None, "", b"a"),
            Meta { frame: 1, ts: 0 },
            &mut h,
        );
        let other = Segment {
            src: "10.9.9.9:1".parse().unwrap(),
            ..seg(true, 1, None, "", b"b")
        };
        r.segment(&other, Meta { frame: 2, ts: 1000 }, &mut h);
        assert_eq!(h.closed.len(), 1);
        assert_eq!(r.counters().idle_timeouts, 1);
    }

    proptest! {
        /// Any order and any duplication of the segments of a message yields the message.
        #[test]
        fn permutations_and_duplicates_reassemble(
            cuts in proptest::collection::vec(0usize..200, 0..12),
            order in proptest::collection::vec(any::<prop::sample::Index>(), 1..40),
            isn in any::<u32>(),
        ) {
            let msg: Vec<u8> = (0..157u32).map(|i| (i * 7 % 251) as u8).collect();
            let parts = split(&msg, &cuts, isn);
            let mut segs = vec![seg(true, isn, None, "S", b"")];
            // Every part at least once, then extra copies in a random order.
            let mut idx: Vec<usize> = order.iter().map(|o| o.index(parts.len())).collect();
            idx.extend(0..parts.len());
            let n = idx.len();
            idx.rotate_left(order.len() % n);
            for i in idx {
                let (s, p) = &parts[i];
                segs.push(seg(true, *s, None, "", p));
            }
            let h = run(&segs);
            prop_assert_eq!(h.closed.len(), 1);
            prop_assert_eq!(&h.closed[0].1[0], &msg);
            prop_assert!(h.closed[0].2.is_empty());
        }
    }
}
