//! Packet captures (pcap, pcapng) → `Exchange`s: the streaming reader loop (pcap-parser's
//! next/consume/refill over a bounded buffer), then `decode` (frame → TCP segment), `reassembly`
//! and `http1`, which emits each exchange to the sink as soon as it completes. Fed uncompressed
//! capture bytes by `ingest::detect` through the engine.

pub mod decode;
pub mod shard;

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::Arc;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

use super::{IngestConfig, IngestError};
use crate::http1::Http1Handler;
use crate::model::{Exchange, SourceStats, Timestamp};
use crate::reassembly::{Meta, ReasmConfig, Reassembler, Segment};
use decode::{Decoded, Decoder, LinkKind};

/// Read buffer of a capture; grown (up to `max_record_bytes`) only for a record that needs it.
/// Small, so that the packets a refill brings are parsed, and their payloads copied, while they
/// are still in the core's L2 cache: 4 MiB made a one-thread scan of 1 GiB ~2% slower (medians
/// of 9 and 11 interleaved runs), and a small buffer also costs small files less to zero-fill.
/// Larger than `detect::READ_BUF` (unless `max_record_bytes` is set below it), so refills read
/// the file straight into it instead of copying out of the `BufReader` in front.
const CAPTURE_BUF: usize = 256 << 10;
/// Wireshark's limit for one classic pcap record; a bigger record that also exceeds the
/// file's snaplen is corruption, whatever `max_record_bytes` allows.
const LEGACY_SANE_RECORD: usize = 262_144;
/// No pcapng block from a real capture comes near this; a longer claim is corruption.
const PCAPNG_SANE_BLOCK: usize = 16 << 20;
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Fills the whole buffer unless the input ends (gzip and zstd decoders, pipes and chained
/// readers hand out short reads; pcap-parser treats a short first read as a short file).
struct Full<'a>(&'a mut dyn Read);

impl Read for Full<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            match self.0.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if n > 0 => {
                    // Hand over what was read; the error comes back on the next call.
                    let _ = e;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }
}

/// One pcapng interface (or the single interface of a classic pcap).
#[derive(Debug, Clone, Copy)]
struct Iface {
    link: LinkKind,
    /// Timestamp units per second.
    units: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_s: i64,
}

/// Per-capture decoding and reassembly counters, merged into `SourceStats` at the end.
#[derive(Default)]
struct Counters {
    links: Vec<(LinkKind, u64)>,
    frame: u64,
    last_ts: Timestamp,
    /// Frame at which a bound (buffers, connections, IP reassembly) was first hit.
    first_bound: Option<u64>,
}

impl Counters {
    fn see_link(&mut self, link: LinkKind) {
        match self.links.iter_mut().find(|(l, _)| *l == link) {
            Some((_, n)) => *n += 1,
            None => self.links.push((link, 1)),
        }
    }
}

/// Where the frame loop hands each decoded TCP segment: one reassembler (`Local`), or the
/// router that spreads connections over worker threads (`shard`).
pub(crate) trait Segments {
    fn segment(&mut self, seg: &Segment<'_>, meta: Meta);
    /// A reassembly bound was hit so far (for the warning that names the first such frame).
    fn bound_hit(&self) -> bool;
}

/// The single-threaded consumer: one reassembler feeding one HTTP handler.
struct Local<'h, 'a> {
    reasm: Reassembler<Http1Handler<'a>>,
    handler: &'h mut Http1Handler<'a>,
}

impl Segments for Local<'_, '_> {
    fn segment(&mut self, seg: &Segment<'_>, meta: Meta) {
        self.reasm.segment(seg, meta, self.handler);
    }
    fn bound_hit(&self) -> bool {
        self.reasm.counters().bound_hit()
    }
}

/// Reads a whole pcap or pcapng stream, emitting every exchange to `sink` as soon as it completes.
/// Truncation and corruption after the header end the file with a warning in `stats` and `Ok`;
/// `Err` only when not even the file header is readable.
pub fn read_capture(
    input: &mut dyn Read,
    source: &Arc<str>,
    cfg: &IngestConfig,
    stats: &mut SourceStats,
    sink: &mut dyn FnMut(Exchange),
) -> Result<(), IngestError> {
    let mut hstats = SourceStats::default();
    let mut bounded = super::Bounded::default();
    let mut sink = |ex: Exchange| {
        super::tally_bounds(&mut bounded, &ex);
        sink(ex)
    };
    let mut pumped = {
        let mut handler = Http1Handler::new(source.clone(), cfg, &mut hstats, &mut sink);
        let mut local = Local {
            reasm: Reassembler::new(ReasmConfig::from(cfg)),
            handler: &mut handler,
        };
        let mut pumped = pump(input, cfg, stats, &mut local)?;
        local.reasm.finish_all(local.handler);
        pumped.reasm = local.reasm.counters().clone();
        pumped
    };
    pumped.hstats = hstats;
    finish_stats(stats, pumped);
    super::bound_warnings(cfg, &bounded, stats);
    Ok(())
}

/// What the frame loop and its consumers counted, merged into `SourceStats` by `finish_stats`.
#[derive(Default)]
pub(crate) struct Pumped {
    counters: Counters,
    decode: decode::DecodeCounters,
    pub(crate) reasm: crate::reassembly::ReasmCounters,
    pub(crate) hstats: SourceStats,
}

/// The frame loop: pcap-parser's next/consume/refill over a bounded buffer, each frame decoded
/// (IP fragments put back together) and its TCP segments handed to `out`. Stops with a warning
/// in `stats` at truncation or corruption; `Err` only when the file header is unreadable.
pub(crate) fn pump(
    input: &mut dyn Read,
    cfg: &IngestConfig,
    stats: &mut SourceStats,
    out: &mut dyn Segments,
) -> Result<Pumped, IngestError> {
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match input.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(IngestError::Io(e)),
        }
    }
    if got < 4 {
        return Err(IngestError::BadCaptureHeader {
            offset: 0,
            reason: format!("file is only {got} bytes long"),
        });
    }
    let mut chained = io::Cursor::new(magic).chain(input);
    let full = Full(&mut chained);
    let cap = CAPTURE_BUF.min(cfg.max_record_bytes.max(64 << 10));
    let bad = |e: PcapError<&[u8]>| IngestError::BadCaptureHeader {
        offset: 0,
        reason: describe(&e),
    };
    let mut reader: Box<dyn PcapReaderIterator + '_> = if magic == PCAPNG_MAGIC {
        Box::new(PcapNGReader::new(cap, full).map_err(bad)?)
    } else {
        Box::new(LegacyPcapReader::new(cap, full).map_err(bad)?)
    };

    let mut decoder = Decoder::new(cfg.max_ip_fragments);
    let mut counters = Counters {
        links: Vec::new(),
        frame: 0,
        last_ts: 0,
        first_bound: None,
    };
    {
        let mut ifaces: Vec<Iface> = Vec::new();
        let mut section_be = false;
        let mut legacy_snaplen = 0usize;
        let mut capacity = cap;
        let mut stalls = 0u32;
        loop {
            let step = match reader.next() {
                Ok((len, block)) => {
                    stalls = 0;
                    let prev_ts = counters.last_ts;
                    let mut frame_in = |link: LinkKind, ts: Timestamp, data: &[u8]| {
                        counters.frame += 1;
                        counters.last_ts = ts;
                        counters.see_link(link);
                        stats.packets += 1;
                        stats.bytes += data.len() as u64;
                        stats.see_ts(Some(ts));
                        if !link.supported() {
                            return;
                        }
                        let meta = Meta {
                            frame: counters.frame,
                            ts,
                        };
                        match decoder.decode(link, data, ts) {
                            Decoded::Tcp(seg) => out.segment(&seg, meta),
                            Decoded::Owned(segs) => {
                                for owned in &segs {
                                    out.segment(&owned.segment(), meta)
                                }
                            }
                            Decoded::Other => {}
                        }
                        if counters.first_bound.is_none()
                            && (decoder.counters.defrag_limit_hits > 0 || out.bound_hit())
                        {
                            counters.first_bound = Some(counters.frame);
                        }
                    };
                    match block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            legacy_snaplen = h.snaplen as usize;
                            let units = if h.is_nanosecond_precision() {
                                1_000_000_000
                            } else {
                                1_000_000
                            };
                            ifaces = vec![Iface {
                                link: LinkKind::from_linktype(h.network.0),
                                units,
                                offset_s: 0,
                            }];
                        }
                        PcapBlockOwned::Legacy(b) => {
                            if let Some(i) = ifaces.first().copied() {
                                let ts = ts_of(i, b.ts_sec.into(), b.ts_usec.into());
                                frame_in(i.link, ts, b.data);
                            }
                        }
                        PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                            section_be = shb.big_endian();
                            ifaces.clear();
                        }
                        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                            ifaces.push(Iface {
                                link: LinkKind::from_linktype(idb.linktype.0),
                                units: idb.ts_resolution().unwrap_or(1_000_000).max(1),
                                offset_s: idb.ts_offset(),
                            });
                        }
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                            let i = ifaces.get(epb.if_id as usize).copied();
                            let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                            packet_ng(i, raw, epb.data, &mut frame_in);
                        }
                        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                            // No timestamp: keep the previous packet's time.
                            let i = ifaces.first().copied();
                            let ts = prev_ts;
                            match i {
                                Some(i) => frame_in(i.link, ts, spb.data),
                                None => frame_in(LinkKind::Unsupported(-1), ts, spb.data),
                            }
                        }
                        PcapBlockOwned::NG(Block::DecryptionSecrets(_)) => {
                            stats.decryption_secrets += 1;
                        }
                        PcapBlockOwned::NG(Block::Unknown(ub)) if ub.block_type == 2 => {
                            // Obsolete Packet Block: if_id(2) drops(2) ts_high ts_low caplen len.
                            if let Some((if_id, raw, data)) = parse_opb(ub.data, section_be) {
                                let i = ifaces.get(if_id).copied();
                                packet_ng(i, raw, data, &mut frame_in);
                            }
                        }
                        PcapBlockOwned::NG(_) => {}
                    }
                    Step::Consume(len)
                }
                Err(PcapError::Eof) => Step::Stop(None),
                Err(PcapError::Incomplete(_)) => {
                    stalls += 1;
                    if stalls > 3 {
                        Step::Stop(Some(
                            "the reader made no progress (truncated record)".into(),
                        ))
                    } else {
                        Step::Refill
                    }
                }
                Err(PcapError::BufferTooSmall) => {
                    let claimed = claimed_len(reader.data(), magic, section_be);
                    let limit = cfg.max_record_bytes;
                    let sane = if magic == PCAPNG_MAGIC {
                        PCAPNG_SANE_BLOCK
                    } else {
                        LEGACY_SANE_RECORD.max(legacy_snaplen)
                    };
                    let bound = limit.min(sane);
                    if claimed > bound || capacity >= limit {
                        Step::Stop(Some(format!(
                            "a record claims {claimed} bytes, beyond the {bound}-byte limit \
                             (corrupt)"
                        )))
                    } else {
                        let want = (claimed + 4096).max(capacity * 2).min(limit);
                        Step::Grow(want)
                    }
                }
                Err(PcapError::UnexpectedEof) => {
                    Step::Stop(Some("the file is truncated inside a record".into()))
                }
                Err(PcapError::ReadError) => Step::Stop(Some("read error".into())),
                Err(e) => Step::Stop(Some(format!("corrupt record ({})", describe(&e)))),
            };
            match step {
                // `consume` moves what is left to the front of the buffer whenever half of it is
                // used (a memmove of up to half the buffer); `refill` moves the short rest anyway,
                // once per buffer.
                Step::Consume(n) => reader.consume_noshift(n),
                Step::Refill => {
                    if let Err(why) = reader.refill().map_err(|e| describe(&e)) {
                        warn_stop(stats, &*reader, counters.frame, &why);
                        break;
                    }
                }
                Step::Grow(n) => {
                    if reader.grow(n) {
                        capacity = n;
                        stalls = 0;
                        if let Err(why) = reader.refill().map_err(|e| describe(&e)) {
                            warn_stop(stats, &*reader, counters.frame, &why);
                            break;
                        }
                    } else {
                        warn_stop(
                            stats,
                            &*reader,
                            counters.frame,
                            "cannot grow the read buffer",
                        );
                        break;
                    }
                }
                Step::Stop(None) => break,
                Step::Stop(Some(why)) => {
                    warn_stop(stats, &*reader, counters.frame, &why);
                    break;
                }
            }
        }
    }
    Ok(Pumped {
        counters,
        decode: decoder.counters,
        ..Pumped::default()
    })
}

/// Merges what the loop and the consumers counted into the file's `SourceStats`.
pub(crate) fn finish_stats(stats: &mut SourceStats, p: Pumped) {
    let Pumped {
        counters,
        decode: dc,
        reasm: rc,
        hstats,
    } = p;
    for (link, n) in counters.links {
        *stats.link_types.entry(link.name()).or_insert(0) += n;
    }
    merge_http_stats(stats, &hstats);
    stats.tcp_connections += rc.connections;
    let mut extra: BTreeMap<String, u64> = BTreeMap::new();
    let mut note = |k: &str, n: u64| {
        if n > 0 {
            *extra.entry(k.to_string()).or_insert(0) += n;
        }
    };
    note("tcp-ooo-limit", rc.ooo_limit_hits);
    note("tcp-connection-limit", rc.evictions);
    note("tcp-idle-timeout", rc.idle_timeouts);
    note("tcp-overlap-conflict", rc.overlap_conflicts);
    note("tcp-gap", rc.gaps);
    note("frame-undecodable", dc.undecodable);
    note("ip-defrag-dropped", dc.defrag_dropped);
    note("ip-defrag-limit", dc.defrag_limit_hits);
    note("sctp-table-reset", dc.sctp_table_resets);
    for (k, n) in &dc.unsupported_encap {
        note(&format!("encapsulation-unsupported:{k}"), *n);
    }
    if let Some(frame) = counters.first_bound {
        stats.warnings.push(format!(
            "bounds hit (first at frame {frame}): {} out-of-order buffer limit(s), {} \
             connection(s) flushed early at the connection limit, {} IP reassembly table \
             overflow(s)",
            rc.ooo_limit_hits, rc.evictions, dc.defrag_limit_hits
        ));
    }
    for (k, n) in extra {
        *stats.anomalies.entry(k).or_insert(0) += n;
    }
}

enum Step {
    Consume(usize),
    Refill,
    Grow(usize),
    Stop(Option<String>),
}

fn warn_stop(stats: &mut SourceStats, reader: &dyn PcapReaderIterator, frame: u64, why: &str) {
    stats.warnings.push(format!(
        "capture ends early at byte offset {} after frame {frame}: {why}; everything before it was read",
        reader.consumed()
    ));
}

/// A short description of a pcap-parser error that never includes the raw bytes it carries.
fn describe<I>(e: &PcapError<I>) -> String {
    match e {
        PcapError::Eof => "end of file".into(),
        PcapError::BufferTooSmall => "record larger than the read buffer".into(),
        PcapError::UnexpectedEof => "unexpected end of file".into(),
        PcapError::ReadError => "read error".into(),
        PcapError::Incomplete(n) => format!("incomplete ({n} more bytes needed)"),
        PcapError::HeaderNotRecognized => "header not recognised as pcap or pcapng".into(),
        PcapError::NomError(_, k) | PcapError::OwnedNomError(_, k) => {
            format!("malformed ({})", k.description())
        }
    }
}

/// The length the record at the start of `data` claims, for the buffer-size decision.
fn claimed_len(data: &[u8], magic: [u8; 4], section_be: bool) -> usize {
    let rd = |b: &[u8], be: bool| -> usize {
        let a = [b[0], b[1], b[2], b[3]];
        (if be {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }) as usize
    };
    if magic == PCAPNG_MAGIC {
        match data.get(4..8) {
            Some(b) => rd(b, section_be),
            None => 0,
        }
    } else {
        // Classic pcap: caplen at offset 8, in the file's byte order (told by its magic).
        let be = magic == [0xa1, 0xb2, 0xc3, 0xd4] || magic == [0xa1, 0xb2, 0x3c, 0x4d];
        match data.get(8..12) {
            Some(b) => rd(b, be).saturating_add(16),
            None => 0,
        }
    }
}

fn ts_of(i: Iface, secs: i64, frac: u64) -> Timestamp {
    let ns = (u128::from(frac) * 1_000_000_000 / u128::from(i.units.max(1))) as i64;
    (secs.saturating_add(i.offset_s))
        .saturating_mul(1_000_000_000)
        .saturating_add(ns)
}

fn packet_ng(
    i: Option<Iface>,
    raw: u64,
    data: &[u8],
    frame_in: &mut impl FnMut(LinkKind, Timestamp, &[u8]),
) {
    match i {
        Some(i) => {
            let units = i.units.max(1);
            let secs = i64::try_from(raw / units).unwrap_or(i64::MAX / 2_000_000_000);
            let ts = ts_of(i, secs, raw % units);
            frame_in(i.link, ts, data);
        }
        None => frame_in(LinkKind::Unsupported(-1), 0, data),
    }
}

fn parse_opb(b: &[u8], be: bool) -> Option<(usize, u64, &[u8])> {
    let u16_at = |o: usize| -> Option<u16> {
        let x = b.get(o..o + 2)?;
        Some(if be {
            u16::from_be_bytes([x[0], x[1]])
        } else {
            u16::from_le_bytes([x[0], x[1]])
        })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let x = b.get(o..o + 4)?;
        let a = [x[0], x[1], x[2], x[3]];
        Some(if be {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    };
    let if_id = usize::from(u16_at(0)?);
    let raw = (u64::from(u32_at(4)?) << 32) | u64::from(u32_at(8)?);
    let caplen = u32_at(12)? as usize;
    let data = b.get(20..20 + caplen)?;
    Some((if_id, raw, data))
}

fn merge_http_stats(dst: &mut SourceStats, src: &SourceStats) {
    dst.exchanges += src.exchanges;
    dst.tls_connections += src.tls_connections;
    for (k, v) in &src.snis {
        *dst.snis.entry(k.clone()).or_insert(0) += v;
    }
    for (k, v) in &src.anomalies {
        *dst.anomalies.entry(k.clone()).or_insert(0) += v;
    }
}

#[cfg(test)]
mod corpus_check;

#[cfg(test)]
mod testutil;

#[cfg(test)]
mod tests;
