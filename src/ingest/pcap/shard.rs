//! One large capture over several cores: the frame loop of `ingest::pcap` runs on the calling
//! thread and only decodes frames far enough to route them (IP fragments are put back together
//! first, so every piece of a datagram lands in one place); each TCP segment goes, by a hash of
//! its symmetric connection key (`reassembly::key_of`, so both directions meet), to one of N
//! worker threads. Each worker owns a `Reassembler`, an `Http1Handler` and an `ExchangeSink`
//! (the engine's recognition, rules and sightings), so connections never share state.
//!
//! Segments travel in batches (payload bytes copied once into a reused buffer) over bounded
//! channels, so memory stays flat whatever the file size and a slow worker slows the reader
//! instead of piling up data. The reader also keeps the capture clock and tells every worker
//! when a single reassembler would have swept idle connections, so results do not depend on
//! how connections were spread (as long as no reassembly bound is hit: the connection and
//! buffer bounds are divided between workers).

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

/// What a worker does with each exchange its connections produce. Moved into the worker thread
/// and handed back at the end.
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

/// Which worker a connection belongs to: a mix of its symmetric key, so both directions agree.
fn shard_of(a: SocketAddr, b: SocketAddr, n: usize) -> usize {
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
    ((u128::from(h) * n as u128) >> 64) as usize
}

/// The reader side: routes segments into per-worker batches and keeps the capture clock.
struct Router {
    clock: SweepClock,
    current: Vec<Batch>,
    txs: Vec<SyncSender<Batch>>,
    spare: Receiver<Batch>,
    /// A worker is gone (it panicked): nothing more is sent; the panic surfaces at join.
    broken: bool,
}

impl Router {
    fn fresh(&self) -> Batch {
        self.spare.try_recv().unwrap_or_default()
    }

    fn send(&mut self, w: usize) {
        if self.broken {
            if let Some(b) = self.current.get_mut(w) {
                b.recs.clear();
                b.bytes.clear();
            }
            return;
        }
        let next = self.fresh();
        let (Some(slot), Some(tx)) = (self.current.get_mut(w), self.txs.get(w)) else {
            return;
        };
        let full = std::mem::replace(slot, next);
        if tx.send(full).is_err() {
            self.broken = true;
        }
    }

    /// Sends whatever is gathered, and the final capture time, to every worker.
    fn close(&mut self) {
        let now = self.clock.now();
        for w in 0..self.current.len() {
            if let Some(b) = self.current.get_mut(w) {
                b.control(Op::Clock, Meta::default(), now);
            }
            self.send(w);
        }
        self.txs.clear();
    }
}

impl Segments for Router {
    fn segment(&mut self, seg: &Segment<'_>, meta: Meta) {
        let n = self.current.len();
        if self.clock.advance(meta.ts) {
            let now = self.clock.now();
            for w in 0..n {
                if let Some(b) = self.current.get_mut(w) {
                    b.control(Op::Sweep, meta, now);
                }
            }
        }
        let w = shard_of(seg.src, seg.dst, n);
        let Some(b) = self.current.get_mut(w) else {
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
            self.send(w);
        }
    }

    fn bound_hit(&self) -> bool {
        // Workers note their own reassembly bounds; only IP reassembly happens here.
        false
    }
}

/// What one worker hands back.
struct WorkerOut<K> {
    sink: K,
    reasm: ReasmCounters,
    hstats: SourceStats,
    first_bound: Option<u64>,
    opens: Vec<u64>,
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
    let mut first_bound = None;
    let (reasm, opens) = {
        let mut emit = |ex: Exchange| sink.exchange(ex);
        let mut handler = Http1Handler::new(source, cfg, &mut hstats, &mut emit);
        let mut reasm = Reassembler::new(reasm_cfg);
        reasm.use_external_clock();
        if record_opens {
            reasm.record_opens();
        }
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
                        reasm.segment(&seg, r.meta, &mut handler);
                        if first_bound.is_none() {
                            let rc = reasm.counters();
                            if rc.ooo_limit_hits + rc.evictions > 0 {
                                first_bound = Some(r.meta.frame);
                            }
                        }
                    }
                    Op::Sweep => reasm.tick(r.now, r.meta, &mut handler),
                    Op::Clock => reasm.set_now(r.now),
                }
            }
            batch.recs.clear();
            batch.bytes.clear();
            // The reader may be gone already (end of input): then the batch is simply freed.
            let _ = back.send(batch);
        }
        reasm.finish_all(&mut handler);
        let opens = reasm.take_opens();
        (reasm.counters().clone(), opens)
    };
    WorkerOut {
        sink,
        reasm,
        hstats,
        first_bound,
        opens,
    }
}

/// Connection ids as a single reassembler would have numbered them (in the order connections
/// opened), from each worker's own numbering.
#[derive(Debug, Default)]
pub struct ConnIds {
    /// `global[w][local - 1]` is the id of worker `w`'s connection `local`.
    global: Vec<Vec<u64>>,
}

impl ConnIds {
    fn new(opens: Vec<Vec<u64>>) -> ConnIds {
        let mut all: Vec<(u64, usize, usize)> = opens
            .iter()
            .enumerate()
            .flat_map(|(w, v)| v.iter().enumerate().map(move |(i, &f)| (f, w, i)))
            .collect();
        // Connections opened in one frame come from one worker (one frame, one connection
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

    /// The run-wide label of worker `w`'s connection label `tcp-N` (as `Http1Handler` writes
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

/// What a sharded read produced: each worker's sink (in worker order) and the connection
/// numbering (filled only when asked for).
pub struct Sharded<K> {
    pub sinks: Vec<K>,
    pub conn_ids: ConnIds,
}

/// Reads a whole pcap or pcapng stream like `read_capture`, spreading connections over one
/// worker thread per sink. `number_connections`: also work out `ConnIds` (costs 8 bytes per
/// connection), for callers that show connection ids.
pub fn read_capture_sharded<K: ExchangeSink>(
    input: &mut dyn Read,
    source: &Arc<str>,
    cfg: &IngestConfig,
    stats: &mut SourceStats,
    sinks: Vec<K>,
    number_connections: bool,
) -> (Result<(), IngestError>, Sharded<K>) {
    let n = sinks.len().max(1);
    let base = ReasmConfig::from(cfg);
    let reasm_cfg = ReasmConfig {
        max_connections: base.max_connections.div_ceil(n).max(1),
        max_ooo_bytes_total: base.max_ooo_bytes_total.div_ceil(n),
        ..base
    };
    let (spare_tx, spare_rx) = channel::<Batch>();
    let mut txs = Vec::with_capacity(n);
    let mut rxs = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = sync_channel::<Batch>(QUEUE_DEPTH);
        txs.push(tx);
        rxs.push(rx);
    }
    let mut router = Router {
        clock: SweepClock::new(cfg.idle_timeout_ns),
        current: (0..n).map(|_| Batch::default()).collect(),
        txs,
        spare: spare_rx,
        broken: false,
    };
    let (res, outs) = std::thread::scope(|scope| {
        let handles: Vec<_> = sinks
            .into_iter()
            .zip(rxs)
            .enumerate()
            .map(|(w, (sink, rx))| {
                let back = spare_tx.clone();
                let source = source.clone();
                let reasm_cfg = reasm_cfg.clone();
                std::thread::Builder::new()
                    .name(format!("credsift-shard-{w}"))
                    .spawn_scoped(scope, move || {
                        work(rx, back, source, cfg, reasm_cfg, sink, number_connections)
                    })
            })
            .collect();
        let res = if handles.iter().any(|h| h.is_err()) {
            Err(IngestError::Unsupported(
                "cannot start worker threads".to_string(),
            ))
        } else {
            pump(input, cfg, stats, &mut router)
        };
        router.close();
        let outs: Vec<WorkerOut<K>> = handles
            .into_iter()
            .filter_map(Result::ok)
            .map(|h| match h.join() {
                Ok(o) => o,
                Err(p) => std::panic::resume_unwind(p),
            })
            .collect();
        (res, outs)
    });
    let mut pumped = match res {
        Ok(p) => p,
        Err(e) => {
            return (
                Err(e),
                Sharded {
                    sinks: outs.into_iter().map(|o| o.sink).collect(),
                    conn_ids: ConnIds::default(),
                },
            );
        }
    };
    let mut sinks = Vec::with_capacity(outs.len());
    let mut opens = Vec::with_capacity(outs.len());
    for o in outs {
        add_reasm(&mut pumped.reasm, &o.reasm);
        super::merge_http_stats(&mut pumped.hstats, &o.hstats);
        pumped.counters.first_bound = match (pumped.counters.first_bound, o.first_bound) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        sinks.push(o.sink);
        opens.push(o.opens);
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
                assert_eq!(got.len(), want.len(), "{n} workers");
                for (g, w) in got.iter().zip(&want) {
                    assert_eq!(g, w, "{n} workers");
                }
                assert_eq!(got_stats, want_stats, "{n} workers");
            }
        }
    }

    #[test]
    fn idle_sweeps_happen_at_the_same_points() {
        // A short idle timeout makes sweeps matter: connections are flushed mid-capture.
        let cfg = IngestConfig {
            idle_timeout_ns: 200_000_000,
            ..IngestConfig::default()
        };
        let bytes = capture(1 << 20, BenchFormat::Pcap);
        let (want, want_stats) = single(&bytes, &cfg);
        let (got, got_stats) = sharded(&bytes, &cfg, 3);
        assert_eq!(got, want);
        assert_eq!(got_stats, want_stats);
    }

    #[test]
    fn both_directions_go_to_one_worker() {
        let a: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        let b: SocketAddr = "[2001:db8::1]:80".parse().unwrap();
        for n in 1..8 {
            assert_eq!(shard_of(a, b, n), shard_of(b, a, n));
            assert!(shard_of(a, b, n) < n);
        }
        // Connections spread over the workers.
        let mut seen = [0usize; 4];
        for port in 1000..1400u16 {
            let c = SocketAddr::new(a.ip(), port);
            seen[shard_of(c, b, 4)] += 1;
        }
        assert!(seen.iter().all(|&k| k > 60), "{seen:?}");
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
