//! One large capture over several cores: the frame loop of `ingest::pcap` runs on the calling
//! thread and only decodes frames far enough to route them (IP fragments are put back together
//! first, so every piece of a datagram lands in one place); each TCP segment goes, by a hash of
//! its symmetric connection key (`reassembly::key_of`, so both directions meet), to one of N
//! shards. Each shard owns a `Reassembler`, an `Http1Handler` and an `ExchangeSink` (the
//! engine's recognition, rules and sightings), so connections never share state. Shard 0 runs
//! on the reading thread itself, on segments borrowed from the read buffer; the others run on
//! worker threads, so N shards keep N cores busy, not N + 1 threads on N cores.
//!
//! Segments travel to the workers in batches (payload bytes copied once into a reused buffer)
//! over bounded channels, so memory stays flat whatever the file size and a slow worker slows
//! the reader instead of piling up data. The reader also keeps the capture clock and tells every
//! shard when a single reassembler would have swept idle connections, so results do not depend
//! on how connections were spread (as long as no reassembly bound is hit: the connection and
//! buffer bounds are divided between shards in proportion to their share of connections).

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

use super::{Segments, finish_stats, pump};
use crate::http1::Http1Handler;
use crate::ingest::{IngestConfig, IngestError};
use crate::model::{Exchange, SourceStats, Timestamp};
use crate::reassembly::{
    Meta, ReasmConfig, ReasmCounters, Reassembler, Segment, SweepClock, key_of,
};

/// Payload bytes gathered before a batch is sent to its worker.
const BATCH_BYTES: usize = 256 << 10;
/// Segments gathered before a batch is sent, whatever their size.
const BATCH_SEGMENTS: usize = 2048;
/// Batches queued per worker; the reader waits beyond. Deep enough that a worker busy with a
/// few large bodies does not stall the reader while the other worker idles (4 → 16: 2 threads
/// on 1 GiB 1.92 → 1.81 s; 64 gained nothing and held 30 MiB more).
const QUEUE_DEPTH: usize = 16;
/// The reader's own work (reading, frame decoding, routing to the workers) as a share of a
/// whole 2-thread scan's CPU. Shard 0, on the reader's thread, takes that much less of the
/// connections, so every thread ends at about the same time. Measured on the generated 1 GiB
/// capture: with 0.14 (the reader's share of a 1-thread profile) the reader's thread was busy
/// 100% and the worker 85%, which solves to 0.21. 2 threads, medians of 7 interleaved runs:
/// 0.14 1.76 s, 0.20 1.69 s, 0.26 1.79 s.
const READER_COST: f64 = 0.21;

/// What a shard does with each exchange its connections produce. Moved into the shard's worker
/// thread (shard 0's stays on the reading thread) and handed back at the end.
pub trait ExchangeSink: Send {
    fn exchange(&mut self, ex: Exchange);
}

#[derive(Debug, Clone, Copy)]
enum Op {
    /// A segment whose payload is `bytes[start..start + len]` of the batch.
    Segment,
    /// Capture time reached `now` and a sweep for idle connections is due.
    Sweep,
    /// End of the capture: capture time is `now`.
    Clock,
}

#[derive(Debug, Clone, Copy)]
struct Rec {
    op: Op,
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: Option<u32>,
    syn: bool,
    fin: bool,
    rst: bool,
    meta: Meta,
    now: Timestamp,
    start: usize,
    len: usize,
}

/// Segments for one worker, payloads packed in one buffer; recycled once the worker is done.
#[derive(Default)]
struct Batch {
    recs: Vec<Rec>,
    bytes: Vec<u8>,
}

impl Batch {
    fn full(&self) -> bool {
        self.bytes.len() >= BATCH_BYTES || self.recs.len() >= BATCH_SEGMENTS
    }

    fn control(&mut self, op: Op, meta: Meta, now: Timestamp) {
        let any: SocketAddr = SocketAddr::from(([0, 0, 0, 0], 0));
        self.recs.push(Rec {
            op,
            src: any,
            dst: any,
            seq: 0,
            ack: None,
            syn: false,
            fin: false,
            rst: false,
            meta,
            now,
            start: 0,
            len: 0,
        });
    }
}

/// How connections are spread over shards: shard `i` takes the connections whose hash is
/// below `cuts[i]` (and not below the cut before).
#[derive(Debug, Clone)]
struct Split {
    cuts: Vec<u64>,
    shares: Vec<f64>,
}

impl Split {
    /// `n` shards; shard 0 shares its thread with the reader, so it takes less.
    fn new(n: usize) -> Split {
        let n = n.max(1);
        let shares: Vec<f64> = if n == 1 {
            vec![1.0]
        } else {
            let first = ((1.0 / n as f64 - READER_COST) / (1.0 - READER_COST)).max(0.0);
            let rest = (1.0 - first) / (n - 1) as f64;
            std::iter::once(first)
                .chain(std::iter::repeat_n(rest, n - 1))
                .collect()
        };
        let mut sum = 0.0;
        let cuts = shares
            .iter()
            .enumerate()
            .map(|(i, s)| {
                sum += s;
                if i + 1 == n {
                    u64::MAX
                } else {
                    // Saturating cast: a share of 1.0 is the whole space.
                    (sum * 18_446_744_073_709_551_616.0) as u64
                }
            })
            .collect();
        Split { cuts, shares }
    }

    /// Which shard a connection belongs to: a mix of its symmetric key, so both directions
    /// agree.
    fn of(&self, a: SocketAddr, b: SocketAddr) -> usize {
        let h = conn_hash(a, b);
        self.cuts
            .iter()
            .position(|&c| h < c)
            .unwrap_or(self.cuts.len().saturating_sub(1))
    }

    /// Shard `i`'s part of a bound shared by all shards (at least 1).
    fn part(&self, i: usize, whole: usize) -> usize {
        let share = self.shares.get(i).copied().unwrap_or(1.0);
        ((whole as f64 * share).ceil() as usize).max(1)
    }
}

/// A hash of a connection's symmetric key.
fn conn_hash(a: SocketAddr, b: SocketAddr) -> u64 {
    let (x, y) = key_of(a, b);
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut mix = |v: u64| {
        h = (h ^ v).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^= h >> 32;
    };
    for addr in [x, y] {
        match addr.ip() {
            std::net::IpAddr::V4(ip) => mix(u64::from(u32::from(ip))),
            std::net::IpAddr::V6(ip) => {
                let v = u128::from(ip);
                mix(v as u64);
                mix((v >> 64) as u64);
            }
        }
        mix(u64::from(addr.port()));
    }
    h
}

/// One shard's connection state: a reassembler feeding an HTTP handler, on whichever thread.
struct Shard<'h, 'a> {
    reasm: Reassembler<Http1Handler<'a>>,
    handler: &'h mut Http1Handler<'a>,
    first_bound: Option<u64>,
}

/// What a shard counted, handed back at the end.
struct ShardOut {
    reasm: ReasmCounters,
    first_bound: Option<u64>,
    opens: Vec<u64>,
}

impl<'h, 'a> Shard<'h, 'a> {
    fn new(cfg: ReasmConfig, handler: &'h mut Http1Handler<'a>, record_opens: bool) -> Self {
        let mut reasm = Reassembler::new(cfg);
        reasm.use_external_clock();
        if record_opens {
            reasm.record_opens();
        }
        Shard {
            reasm,
            handler,
            first_bound: None,
        }
    }

    fn segment(&mut self, seg: &Segment<'_>, meta: Meta) {
        self.reasm.segment(seg, meta, self.handler);
        if self.first_bound.is_none() && self.reasm.counters().bound_hit() {
            self.first_bound = Some(meta.frame);
        }
    }

    fn sweep(&mut self, now: Timestamp, meta: Meta) {
        self.reasm.tick(now, meta, self.handler);
    }

    /// The capture ends at capture time `now`.
    fn clock(&mut self, now: Timestamp) {
        self.reasm.set_now(now);
    }

    /// Every connection still open is closed.
    fn finish(mut self) -> ShardOut {
        self.reasm.finish_all(self.handler);
        ShardOut {
            opens: self.reasm.take_opens(),
            reasm: self.reasm.counters().clone(),
            first_bound: self.first_bound,
        }
    }
}

/// The reader side: runs shard 0 in place, routes the other shards' segments into per-worker
/// batches and keeps the capture clock.
struct Router<'h, 'a> {
    clock: SweepClock,
    split: Split,
    local: Shard<'h, 'a>,
    /// The batch being filled for shard `w`, at `w - 1`.
    current: Vec<Batch>,
    txs: Vec<SyncSender<Batch>>,
    spare: Receiver<Batch>,
    /// A worker is gone (it panicked): nothing more is sent; the panic surfaces at join.
    broken: bool,
}

impl Router<'_, '_> {
    fn fresh(&self) -> Batch {
        self.spare.try_recv().unwrap_or_default()
    }

    /// Sends the batch of worker slot `i` (shard `i + 1`).
    fn send(&mut self, i: usize) {
        if self.broken {
            if let Some(b) = self.current.get_mut(i) {
                b.recs.clear();
                b.bytes.clear();
            }
            return;
        }
        let next = self.fresh();
        let (Some(slot), Some(tx)) = (self.current.get_mut(i), self.txs.get(i)) else {
            return;
        };
        let full = std::mem::replace(slot, next);
        if tx.send(full).is_err() {
            self.broken = true;
        }
    }

    /// Sends whatever is gathered, and the final capture time, to every worker, and ends
    /// shard 0.
    fn close(mut self) -> ShardOut {
        let now = self.clock.now();
        for i in 0..self.current.len() {
            if let Some(b) = self.current.get_mut(i) {
                b.control(Op::Clock, Meta::default(), now);
            }
            self.send(i);
        }
        self.txs.clear();
        self.local.clock(now);
        self.local.finish()
    }
}

impl Segments for Router<'_, '_> {
    fn segment(&mut self, seg: &Segment<'_>, meta: Meta) {
        if self.clock.advance(meta.ts) {
            let now = self.clock.now();
            self.local.sweep(now, meta);
            for b in &mut self.current {
                b.control(Op::Sweep, meta, now);
            }
        }
        let w = self.split.of(seg.src, seg.dst);
        let Some(i) = w.checked_sub(1) else {
            self.local.segment(seg, meta);
            return;
        };
        let Some(b) = self.current.get_mut(i) else {
            return;
        };
        let start = b.bytes.len();
        b.bytes.extend_from_slice(seg.payload);
        b.recs.push(Rec {
            op: Op::Segment,
            src: seg.src,
            dst: seg.dst,
            seq: seg.seq,
            ack: seg.ack,
            syn: seg.syn,
            fin: seg.fin,
            rst: seg.rst,
            meta,
            now: 0,
            start,
            len: seg.payload.len(),
        });
        if b.full() {
            self.send(i);
        }
    }

    fn bound_hit(&self) -> bool {
        // Shards note their own reassembly bounds; only IP reassembly happens here.
        false
    }
}

/// What one worker hands back.
struct WorkerOut<K> {
    sink: K,
    hstats: SourceStats,
    shard: ShardOut,
}

fn work<K: ExchangeSink>(
    rx: Receiver<Batch>,
    back: Sender<Batch>,
    source: Arc<str>,
    cfg: &IngestConfig,
    reasm_cfg: ReasmConfig,
    mut sink: K,
    record_opens: bool,
) -> WorkerOut<K> {
    let mut hstats = SourceStats::default();
    let shard = {
        let mut emit = |ex: Exchange| sink.exchange(ex);
        let mut handler = Http1Handler::new(source, cfg, &mut hstats, &mut emit);
        let mut shard = Shard::new(reasm_cfg, &mut handler, record_opens);
        while let Ok(mut batch) = rx.recv() {
            for r in &batch.recs {
                match r.op {
                    Op::Segment => {
                        let payload = batch.bytes.get(r.start..r.start + r.len).unwrap_or(&[]);
                        let seg = Segment {
                            src: r.src,
                            dst: r.dst,
                            seq: r.seq,
                            ack: r.ack,
                            syn: r.syn,
                            fin: r.fin,
                            rst: r.rst,
                            payload,
                        };
                        shard.segment(&seg, r.meta);
                    }
                    Op::Sweep => shard.sweep(r.now, r.meta),
                    Op::Clock => shard.clock(r.now),
                }
            }
            batch.recs.clear();
            batch.bytes.clear();
            // The reader may be gone already (end of input): then the batch is simply freed.
            let _ = back.send(batch);
        }
        shard.finish()
    };
    WorkerOut {
        sink,
        hstats,
        shard,
    }
}

/// Connection ids as a single reassembler would have numbered them (in the order connections
/// opened), from each shard's own numbering.
#[derive(Debug, Default)]
pub struct ConnIds {
    /// `global[w][local - 1]` is the id of shard `w`'s connection `local`.
    global: Vec<Vec<u64>>,
}

impl ConnIds {
    fn new(opens: Vec<Vec<u64>>) -> ConnIds {
        let mut all: Vec<(u64, usize, usize)> = opens
            .iter()
            .enumerate()
            .flat_map(|(w, v)| v.iter().enumerate().map(move |(i, &f)| (f, w, i)))
            .collect();
        // Connections opened in one frame come from one shard (one frame, one connection
        // key), so frame then local order is the single reassembler's order.
        all.sort_unstable();
        let mut global: Vec<Vec<u64>> = opens.iter().map(|v| vec![0; v.len()]).collect();
        for (rank, (_, w, i)) in all.into_iter().enumerate() {
            if let Some(slot) = global.get_mut(w).and_then(|g| g.get_mut(i)) {
                *slot = rank as u64 + 1;
            }
        }
        ConnIds { global }
    }

    /// The run-wide label of shard `w`'s connection label `tcp-N` (as `Http1Handler` writes
    /// it); other labels are returned unchanged.
    pub fn relabel(&self, w: usize, label: &str) -> String {
        let global = label
            .strip_prefix("tcp-")
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| self.global.get(w)?.get(i));
        match global {
            Some(g) => format!("tcp-{g}"),
            None => label.to_string(),
        }
    }
}

/// What a sharded read produced: each shard's sink (in shard order) and the connection
/// numbering (filled only when asked for).
pub struct Sharded<K> {
    pub sinks: Vec<K>,
    pub conn_ids: ConnIds,
}

/// Reads a whole pcap or pcapng stream like `read_capture`, spreading connections over one
/// shard per sink: the first runs on the calling thread, each other one on a worker thread.
/// `number_connections`: also work out `ConnIds` (costs 8 bytes per connection), for callers
/// that show connection ids.
pub fn read_capture_sharded<K: ExchangeSink>(
    input: &mut dyn Read,
    source: &Arc<str>,
    cfg: &IngestConfig,
    stats: &mut SourceStats,
    sinks: Vec<K>,
    number_connections: bool,
) -> (Result<(), IngestError>, Sharded<K>) {
    let mut sinks = sinks.into_iter();
    let Some(mut first) = sinks.next() else {
        let e = IngestError::Unsupported("no shard to read into".to_string());
        let none = Sharded {
            sinks: Vec::new(),
            conn_ids: ConnIds::default(),
        };
        return (Err(e), none);
    };
    let others: Vec<K> = sinks.collect();
    let split = Split::new(1 + others.len());
    let base = ReasmConfig::from(cfg);
    let reasm_cfg = |w: usize| ReasmConfig {
        max_connections: split.part(w, base.max_connections),
        max_ooo_bytes_total: split.part(w, base.max_ooo_bytes_total),
        ..base.clone()
    };
    let (spare_tx, spare_rx) = channel::<Batch>();
    let mut txs = Vec::with_capacity(others.len());
    let mut rxs = Vec::with_capacity(others.len());
    for _ in 0..others.len() {
        let (tx, rx) = sync_channel::<Batch>(QUEUE_DEPTH);
        txs.push(tx);
        rxs.push(rx);
    }
    let mut hstats = SourceStats::default();
    let (res, local, outs) = std::thread::scope(|scope| {
        let handles: Vec<_> = others
            .into_iter()
            .zip(rxs)
            .enumerate()
            .map(|(i, (sink, rx))| {
                let back = spare_tx.clone();
                // A string of its own, not a clone of the reader's `Arc`: every exchange,
                // finding and sighting clones its source, and two threads counting references
                // on one shared counter pass its cache line back and forth at every clone.
                let source: Arc<str> = Arc::from(&**source);
                let reasm_cfg = reasm_cfg(i + 1);
                std::thread::Builder::new()
                    .name(format!("credsift-shard-{}", i + 1))
                    .spawn_scoped(scope, move || {
                        work(rx, back, source, cfg, reasm_cfg, sink, number_connections)
                    })
            })
            .collect();
        let mut emit = |ex: Exchange| first.exchange(ex);
        let mut handler = Http1Handler::new(source.clone(), cfg, &mut hstats, &mut emit);
        let mut router = Router {
            clock: SweepClock::new(cfg.idle_timeout_ns),
            current: (0..txs.len()).map(|_| Batch::default()).collect(),
            local: Shard::new(reasm_cfg(0), &mut handler, number_connections),
            split: split.clone(),
            txs,
            spare: spare_rx,
            broken: false,
        };
        let res = if handles.iter().any(|h| h.is_err()) {
            Err(IngestError::Unsupported(
                "cannot start worker threads".to_string(),
            ))
        } else {
            pump(input, cfg, stats, &mut router)
        };
        let local = router.close();
        let outs: Vec<WorkerOut<K>> = handles
            .into_iter()
            .filter_map(Result::ok)
            .map(|h| match h.join() {
                Ok(o) => o,
                Err(p) => std::panic::resume_unwind(p),
            })
            .collect();
        (res, local, outs)
    });
    let mut sinks = Vec::with_capacity(1 + outs.len());
    sinks.push(first);
    let mut pumped = match res {
        Ok(p) => p,
        Err(e) => {
            sinks.extend(outs.into_iter().map(|o| o.sink));
            let conn_ids = ConnIds::default();
            return (Err(e), Sharded { sinks, conn_ids });
        }
    };
    let mut opens = Vec::with_capacity(1 + outs.len());
    let mut add = |pumped: &mut super::Pumped, hstats: &SourceStats, shard: ShardOut| {
        add_reasm(&mut pumped.reasm, &shard.reasm);
        super::merge_http_stats(&mut pumped.hstats, hstats);
        pumped.counters.first_bound = match (pumped.counters.first_bound, shard.first_bound) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        opens.push(shard.opens);
    };
    add(&mut pumped, &hstats, local);
    for o in outs {
        add(&mut pumped, &o.hstats, o.shard);
        sinks.push(o.sink);
    }
    finish_stats(stats, pumped);
    let conn_ids = if number_connections {
        ConnIds::new(opens)
    } else {
        ConnIds::default()
    };
    (Ok(()), Sharded { sinks, conn_ids })
}

fn add_reasm(a: &mut ReasmCounters, b: &ReasmCounters) {
    a.connections += b.connections;
    a.ooo_limit_hits += b.ooo_limit_hits;
    a.evictions += b.evictions;
    a.idle_timeouts += b.idle_timeouts;
    a.overlap_conflicts += b.overlap_conflicts;
    a.gaps += b.gaps;
    a.retransmissions += b.retransmissions;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::r#gen::bench::{BenchConfig, BenchFormat, generate};

    struct Keep(Vec<Exchange>);

    impl ExchangeSink for Keep {
        fn exchange(&mut self, ex: Exchange) {
            self.0.push(ex);
        }
    }

    fn order(ex: &Exchange) -> (u64, u32) {
        let at = match ex.locator() {
            Some(crate::model::Locator::Frame(n)) => n,
            _ => 0,
        };
        (at, ex.seq_on_connection)
    }

    fn capture(size: u64, format: BenchFormat) -> Vec<u8> {
        let mut bytes = Vec::new();
        generate(
            BenchConfig {
                size,
                seed: 7,
                format,
            },
            &mut bytes,
        )
        .unwrap();
        bytes
    }

    fn single(bytes: &[u8], cfg: &IngestConfig) -> (Vec<String>, String) {
        let mut out = Vec::new();
        let mut stats = SourceStats::new("t");
        let src: Arc<str> = Arc::from("t");
        super::super::read_capture(&mut &bytes[..], &src, cfg, &mut stats, &mut |e| out.push(e))
            .unwrap();
        out.sort_by_key(order);
        (
            out.iter().map(|e| format!("{e:?}")).collect(),
            format!("{stats:?}"),
        )
    }

    fn sharded(bytes: &[u8], cfg: &IngestConfig, n: usize) -> (Vec<String>, String) {
        let mut stats = SourceStats::new("t");
        let src: Arc<str> = Arc::from("t");
        let sinks = (0..n).map(|_| Keep(Vec::new())).collect();
        let (res, done) = read_capture_sharded(&mut &bytes[..], &src, cfg, &mut stats, sinks, true);
        res.unwrap();
        let mut out = Vec::new();
        for (w, k) in done.sinks.into_iter().enumerate() {
            for mut e in k.0 {
                e.connection = e.connection.map(|c| done.conn_ids.relabel(w, &c));
                out.push(e);
            }
        }
        out.sort_by_key(order);
        (
            out.iter().map(|e| format!("{e:?}")).collect(),
            format!("{stats:?}"),
        )
    }

    #[test]
    fn sharded_read_equals_single_read() {
        let cfg = IngestConfig::default();
        for format in [BenchFormat::Pcap, BenchFormat::Pcapng] {
            let bytes = capture(3 << 20, format);
            let (want, want_stats) = single(&bytes, &cfg);
            assert!(want.len() > 200, "{} exchanges", want.len());
            for n in [1, 2, 3] {
                let (got, got_stats) = sharded(&bytes, &cfg, n);
                assert_eq!(got.len(), want.len(), "{n} shards");
                for (g, w) in got.iter().zip(&want) {
                    assert_eq!(g, w, "{n} shards");
                }
                assert_eq!(got_stats, want_stats, "{n} shards");
            }
        }
    }

    #[test]
    fn idle_sweeps_happen_at_the_same_points() {
        // A short idle timeout makes sweeps matter: connections are flushed mid-capture.
        let cfg = IngestConfig {
            idle_timeout_ns: 2_000_000,
            ..IngestConfig::default()
        };
        let bytes = capture(1 << 20, BenchFormat::Pcap);
        let (want, want_stats) = single(&bytes, &cfg);
        assert!(want_stats.contains("tcp-idle-timeout"), "{want_stats}");
        // Every shard sweeps, the reading thread's own one included.
        for n in [2, 3] {
            let (got, got_stats) = sharded(&bytes, &cfg, n);
            assert_eq!(got, want, "{n} shards");
            assert_eq!(got_stats, want_stats, "{n} shards");
        }
    }

    #[test]
    fn both_directions_go_to_one_shard() {
        let a: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        let b: SocketAddr = "[2001:db8::1]:80".parse().unwrap();
        for n in 1..8 {
            let split = Split::new(n);
            assert_eq!(split.cuts.len(), n);
            assert_eq!(split.of(a, b), split.of(b, a));
            assert!(split.of(a, b) < n);
        }
    }

    #[test]
    fn the_reading_shard_takes_less_and_the_rest_share_evenly() {
        let a: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        let b: SocketAddr = "[2001:db8::1]:80".parse().unwrap();
        let spread = |n: usize| {
            let split = Split::new(n);
            let mut seen = vec![0usize; n];
            for port in 1000..11000u16 {
                seen[split.of(SocketAddr::new(a.ip(), port), b)] += 1;
            }
            seen
        };
        assert_eq!(spread(1), vec![10_000]);
        // Two shards: (1/2 - READER_COST) / (1 - READER_COST) = 36.7% on the reader.
        let two = spread(2);
        assert!((3400..4000).contains(&two[0]), "{two:?}");
        // Four: 5.1% on the reader, 31.6% on each worker.
        let four = spread(4);
        assert!((200..900).contains(&four[0]), "{four:?}");
        assert!(
            four[1..].iter().all(|&k| (2800..3500).contains(&k)),
            "{four:?}"
        );
        // So many shards that the reader has no time left for one: it takes nothing.
        let many = spread(8);
        assert_eq!(many[0], 0, "{many:?}");
        assert!(many[1..].iter().all(|&k| k > 1100), "{many:?}");
        // Bounds follow the shares and never reach zero.
        let split = Split::new(8);
        assert_eq!(split.part(0, 1000), 1);
        assert_eq!(split.part(3, 700), 100);
    }

    #[test]
    fn header_errors_come_back_and_workers_end() {
        let cfg = IngestConfig::default();
        let mut stats = SourceStats::new("t");
        let src: Arc<str> = Arc::from("t");
        let sinks = vec![Keep(Vec::new()), Keep(Vec::new())];
        let (res, done) =
            read_capture_sharded(&mut &b"ab"[..], &src, &cfg, &mut stats, sinks, false);
        assert!(res.is_err());
        assert_eq!(done.sinks.len(), 2);
    }
}
