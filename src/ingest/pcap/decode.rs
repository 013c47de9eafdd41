//! One captured frame → an optional TCP segment view: fed raw frame bytes and the interface link
//! type by the reader loop in `ingest::pcap`, feeds `reassembly`. Link, VLAN, IP and TCP headers
//! are read by etherparse (lax slicing, so snaplen-cut and TSO frames still decode) and by
//! pcap-parser's link helpers (SLL, SLL2, NFLOG); IP fragments are put back together with
//! etherparse's `IpDefragBuf` in a bounded, time-limited table. Encapsulations that neither crate
//! opens but that real captures carry HTTP in (MPLS, PPPoE, GRE/ERSPAN, VXLAN, Geneve, Teredo,
//! AYIYA, GTP-U, 802.11 data frames, and SCTP DATA chunks read as a byte stream) are peeled here
//! with bounds-checked reads; anything else is counted, never guessed at.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use etherparse::defrag::IpDefragBuf;
use etherparse::{
    EtherType, Ethernet2Slice, IpNumber, LaxIpPayloadSlice, LaxIpSlice, LaxLinkExtSlice,
    LaxNetSlice, LaxSlicedPacket, LinkSlice, TcpSlice, TransportSlice,
};
use pcap_parser::data::PacketData;

use crate::model::Timestamp;
use crate::reassembly::Segment;

/// Nested encapsulations followed before a frame is given up (a hostile frame could nest
/// tunnels without end).
const MAX_DEPTH: u8 = 8;
/// Bytes held by IP datagrams under reassembly across the capture, whatever their count.
const MAX_DEFRAG_BYTES: usize = 64 << 20;
/// An IP datagram whose fragments stop arriving is dropped after this much capture time.
const DEFRAG_TIMEOUT_NS: i64 = 30 * 1_000_000_000;

/// How a capture interface frames its packets, from the pcap/pcapng link type number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    Ethernet,
    LinuxSll,
    LinuxSll2,
    /// Bare IPv4 or IPv6, told apart by the version nibble (101, 12, 14, 228, 229).
    Raw(&'static str),
    /// BSD loopback: a 4-byte address family (host or network byte order), then IP.
    Null(&'static str),
    Nflog,
    Chdlc,
    Radiotap,
    Ieee80211,
    ArcnetLinux,
    Unsupported(i32),
}

impl LinkKind {
    pub fn from_linktype(lt: i32) -> LinkKind {
        match lt {
            1 => LinkKind::Ethernet,
            113 => LinkKind::LinuxSll,
            276 => LinkKind::LinuxSll2,
            101 | 12 | 14 => LinkKind::Raw("raw"),
            228 => LinkKind::Raw("ipv4"),
            229 => LinkKind::Raw("ipv6"),
            0 => LinkKind::Null("null"),
            108 => LinkKind::Null("loop"),
            239 => LinkKind::Nflog,
            104 => LinkKind::Chdlc,
            127 => LinkKind::Radiotap,
            105 => LinkKind::Ieee80211,
            129 => LinkKind::ArcnetLinux,
            n => LinkKind::Unsupported(n),
        }
    }

    /// The name counted in `SourceStats::link_types`.
    pub fn name(self) -> String {
        match self {
            LinkKind::Ethernet => "ethernet".into(),
            LinkKind::LinuxSll => "linux-sll".into(),
            LinkKind::LinuxSll2 => "linux-sll2".into(),
            LinkKind::Raw(n) | LinkKind::Null(n) => n.into(),
            LinkKind::Nflog => "nflog".into(),
            LinkKind::Chdlc => "chdlc".into(),
            LinkKind::Radiotap => "ieee802.11-radiotap".into(),
            LinkKind::Ieee80211 => "ieee802.11".into(),
            LinkKind::ArcnetLinux => "arcnet-linux".into(),
            LinkKind::Unsupported(n) => format!("unsupported:{n}"),
        }
    }

    pub fn supported(self) -> bool {
        !matches!(self, LinkKind::Unsupported(_))
    }
}

/// A TCP segment whose payload is owned because its IP datagram was reassembled from fragments.
#[derive(Debug, Clone)]
pub struct OwnedSegment {
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: Option<u32>,
    flags: (bool, bool, bool),
    datagram: Vec<u8>,
    payload_start: usize,
}

impl OwnedSegment {
    pub fn copy_of(seg: &Segment<'_>) -> Self {
        OwnedSegment {
            src: seg.src,
            dst: seg.dst,
            seq: seg.seq,
            ack: seg.ack,
            flags: (seg.syn, seg.fin, seg.rst),
            datagram: seg.payload.to_vec(),
            payload_start: 0,
        }
    }

    pub fn segment(&self) -> Segment<'_> {
        Segment {
            src: self.src,
            dst: self.dst,
            seq: self.seq,
            ack: self.ack,
            syn: self.flags.0,
            fin: self.flags.1,
            rst: self.flags.2,
            payload: self.datagram.get(self.payload_start..).unwrap_or(&[]),
        }
    }
}

/// What one frame turned out to be.
#[derive(Debug)]
pub enum Decoded<'a> {
    /// A TCP segment borrowing the frame's bytes.
    Tcp(Segment<'a>),
    /// Segments with owned payloads: from a reassembled IP datagram, or the DATA chunks of an
    /// SCTP packet (each association direction read as one ordered byte stream).
    Owned(Vec<OwnedSegment>),
    /// Nothing for the TCP path (UDP, ARP, a fragment still waiting, an unknown protocol...).
    Other,
}

/// Things decoding met and did not follow, counted per capture (`SourceStats::anomalies`).
#[derive(Debug, Default, Clone)]
pub struct DecodeCounters {
    /// Frames whose headers did not parse far enough to reach IP.
    pub undecodable: u64,
    /// Encapsulations seen but not opened (by name).
    pub unsupported_encap: HashMap<&'static str, u64>,
    /// IP datagrams given up on (timeout, table full, inconsistent fragments).
    pub defrag_dropped: u64,
    pub defrag_limit_hits: u64,
    pub datagrams_reassembled: u64,
    pub sctp_table_resets: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FragKey {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: u8,
}

struct Pending {
    buf: IpDefragBuf,
    last_ts: Timestamp,
}

/// Reassembles IPv4 and IPv6 fragments, bounded in datagrams and bytes, forgetting datagrams
/// whose fragments stop arriving (by capture time).
pub struct Defragmenter {
    pending: HashMap<FragKey, Pending>,
    max_datagrams: usize,
    bytes: usize,
    last_sweep: Timestamp,
}

impl Defragmenter {
    pub fn new(max_datagrams: usize) -> Self {
        Defragmenter {
            pending: HashMap::new(),
            max_datagrams: max_datagrams.max(1),
            bytes: 0,
            last_sweep: Timestamp::MIN,
        }
    }

    /// Datagrams currently waiting for fragments.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn sweep(&mut self, now: Timestamp, counters: &mut DecodeCounters) {
        if now.saturating_sub(self.last_sweep) < DEFRAG_TIMEOUT_NS / 4 {
            return;
        }
        self.last_sweep = now;
        let before = self.pending.len();
        let mut freed = 0usize;
        self.pending.retain(|_, p| {
            let keep = now.saturating_sub(p.last_ts) <= DEFRAG_TIMEOUT_NS;
            if !keep {
                freed += p.buf.data().len();
            }
            keep
        });
        self.bytes = self.bytes.saturating_sub(freed);
        counters.defrag_dropped += (before - self.pending.len()) as u64;
    }

    /// Adds one fragment; returns the whole IP payload when this fragment completed it.
    fn add(
        &mut self,
        key: FragKey,
        offset: etherparse::IpFragOffset,
        more: bool,
        payload: &[u8],
        now: Timestamp,
        counters: &mut DecodeCounters,
    ) -> Option<Vec<u8>> {
        self.sweep(now, counters);
        if !self.pending.contains_key(&key)
            && (self.pending.len() >= self.max_datagrams || self.bytes >= MAX_DEFRAG_BYTES)
        {
            // Table full: the oldest datagrams are the least likely to complete.
            counters.defrag_limit_hits += 1;
            self.evict_oldest(counters);
        }
        let proto = IpNumber(key.proto);
        let entry = self.pending.entry(key.clone()).or_insert_with(|| Pending {
            buf: IpDefragBuf::new(proto, Vec::new(), Vec::new()),
            last_ts: now,
        });
        let before = entry.buf.data().len();
        let res = entry.buf.add(offset, more, payload);
        entry.last_ts = now;
        let after = entry.buf.data().len();
        self.bytes = self.bytes.saturating_add(after.saturating_sub(before));
        if res.is_err() {
            counters.defrag_dropped += 1;
            self.remove(&key);
            return None;
        }
        if entry.buf.is_complete() {
            let p = self.remove(&key)?;
            counters.datagrams_reassembled += 1;
            return Some(p.buf.take_bufs().0);
        }
        None
    }

    fn remove(&mut self, key: &FragKey) -> Option<Pending> {
        let p = self.pending.remove(key)?;
        self.bytes = self.bytes.saturating_sub(p.buf.data().len());
        Some(p)
    }

    fn evict_oldest(&mut self, counters: &mut DecodeCounters) {
        // Drop the older half in one pass so a fragment flood costs amortised O(1) per fragment.
        let mut stamps: Vec<Timestamp> = self.pending.values().map(|p| p.last_ts).collect();
        if stamps.is_empty() {
            return;
        }
        let mid = stamps.len() / 2;
        let (_, cut, _) = stamps.select_nth_unstable(mid);
        let cut = *cut;
        let before = self.pending.len();
        let mut freed = 0usize;
        self.pending.retain(|_, p| {
            let keep = p.last_ts > cut;
            if !keep {
                freed += p.buf.data().len();
            }
            keep
        });
        self.bytes = self.bytes.saturating_sub(freed);
        counters.defrag_dropped += (before - self.pending.len()) as u64;
    }
}

/// SCTP protocol number.
const SCTP: u8 = 132;
/// SCTP association directions remembered (the table is reset, and counted, beyond).
const MAX_SCTP_DIRECTIONS: usize = 65_536;

struct SctpDir {
    next_seq: u32,
    last_tsn: Option<u32>,
}

/// Turns frames into TCP segments. Holds the IP reassembly table, so one per capture (or shard).
pub struct Decoder {
    pub defrag: Defragmenter,
    pub counters: DecodeCounters,
    sctp: HashMap<(SocketAddr, SocketAddr), SctpDir>,
}

struct Ctx {
    now: Timestamp,
}

impl Decoder {
    pub fn new(max_ip_fragments: usize) -> Self {
        Decoder {
            defrag: Defragmenter::new(max_ip_fragments),
            counters: DecodeCounters::default(),
            sctp: HashMap::new(),
        }
    }

    /// Decodes one frame of the given link kind, captured at `now`.
    pub fn decode<'a>(&mut self, link: LinkKind, data: &'a [u8], now: Timestamp) -> Decoded<'a> {
        let ctx = Ctx { now };
        match link {
            LinkKind::Ethernet => self.ethernet(data, &ctx, 0),
            LinkKind::LinuxSll | LinkKind::LinuxSll2 | LinkKind::Nflog => {
                let lt = match link {
                    LinkKind::LinuxSll => pcap_parser::Linktype::LINUX_SLL,
                    LinkKind::LinuxSll2 => pcap_parser::Linktype::LINUX_SLL2,
                    _ => pcap_parser::Linktype::NFLOG,
                };
                match pcap_parser::data::get_packetdata(data, lt, data.len()) {
                    Some(PacketData::L3(et, payload)) => self.ether_type(et, payload, &ctx, 0),
                    Some(PacketData::L2(payload)) => self.ethernet(payload, &ctx, 0),
                    _ => self.undecodable(),
                }
            }
            LinkKind::Raw(_) => self.ip(data, &ctx, 0),
            LinkKind::Null(_) => match data.get(4..) {
                Some(rest) => self.ip(rest, &ctx, 0),
                None => self.undecodable(),
            },
            LinkKind::Chdlc => match (data.get(2..4), data.get(4..)) {
                (Some(p), Some(rest)) => {
                    self.ether_type(u16::from_be_bytes([p[0], p[1]]), rest, &ctx, 0)
                }
                _ => self.undecodable(),
            },
            LinkKind::Radiotap => {
                let len = data
                    .get(2..4)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
                match len.and_then(|l| data.get(l..)) {
                    Some(frame) => self.ieee80211(frame, &ctx, 0),
                    None => self.undecodable(),
                }
            }
            LinkKind::Ieee80211 => self.ieee80211(data, &ctx, 0),
            LinkKind::ArcnetLinux => {
                // src, dst, 2-byte offset, protocol id; RFC 1201 IP adds split flag + sequence.
                match data.get(4) {
                    Some(0xF0) => self.ip(data.get(5..).unwrap_or(&[]), &ctx, 0),
                    Some(0xD4) => self.ip(data.get(8..).unwrap_or(&[]), &ctx, 0),
                    _ => Decoded::Other,
                }
            }
            LinkKind::Unsupported(_) => Decoded::Other,
        }
    }

    fn undecodable<'a>(&mut self) -> Decoded<'a> {
        self.counters.undecodable += 1;
        Decoded::Other
    }

    fn unsupported<'a>(&mut self, what: &'static str) -> Decoded<'a> {
        *self.counters.unsupported_encap.entry(what).or_insert(0) += 1;
        Decoded::Other
    }

    fn ethernet<'a>(&mut self, data: &'a [u8], ctx: &Ctx, depth: u8) -> Decoded<'a> {
        if let Ok(eth) = Ethernet2Slice::from_slice_without_fcs(data)
            && matches!(eth.ether_type(), EtherType::IPV4 | EtherType::IPV6)
            && let Some(seg) = plain_tcp(eth.payload_slice())
        {
            return Decoded::Tcp(seg);
        }
        match LaxSlicedPacket::from_ethernet(data) {
            Ok(p) => self.sliced(p, ctx, depth),
            Err(_) => self.undecodable(),
        }
    }

    fn ether_type<'a>(&mut self, et: u16, data: &'a [u8], ctx: &Ctx, depth: u8) -> Decoded<'a> {
        if depth > MAX_DEPTH {
            return self.unsupported("too-deep");
        }
        match et {
            0x0800 | 0x86dd => self.ip(data, ctx, depth),
            // Transparent Ethernet bridging (GRE, Geneve) carries a whole Ethernet frame.
            0x6558 => self.ethernet(data, ctx, depth + 1),
            0x8847 | 0x8848 => self.mpls(data, ctx, depth + 1),
            0x8864 => self.pppoe(data, ctx, depth + 1),
            0x0806 | 0x8035 | 0x88cc | 0x8863 => Decoded::Other,
            _ => match LaxSlicedPacket::from_ether_type(EtherType(et), data) {
                p if p.net.is_some() || !p.link_exts.is_empty() => self.sliced(p, ctx, depth),
                _ => self.unsupported("ether-type"),
            },
        }
    }

    fn ip<'a>(&mut self, data: &'a [u8], ctx: &Ctx, depth: u8) -> Decoded<'a> {
        if let Some(seg) = plain_tcp(data) {
            return Decoded::Tcp(seg);
        }
        match data.first().map(|b| b >> 4) {
            Some(4) | Some(6) => match LaxSlicedPacket::from_ip(data) {
                Ok(p) => self.sliced(p, ctx, depth),
                Err(_) => self.undecodable(),
            },
            _ => self.undecodable(),
        }
    }

    /// Follows a laxly sliced packet to its TCP segment, through fragments and tunnels.
    fn sliced<'a>(&mut self, p: LaxSlicedPacket<'a>, ctx: &Ctx, depth: u8) -> Decoded<'a> {
        let Some(net) = &p.net else {
            // Stopped below IP: an ether type etherparse does not open (MPLS, PPPoE...).
            let inner = match p.link_exts.last() {
                Some(LaxLinkExtSlice::Vlan(v)) => Some((v.ether_type().0, v.payload_slice())),
                Some(_) => None,
                None => match &p.link {
                    Some(LinkSlice::Ethernet2(e)) => Some((e.ether_type().0, e.payload_slice())),
                    _ => None,
                },
            };
            return match inner {
                Some((et, payload)) if matches!(et, 0x8847 | 0x8848 | 0x8864 | 0x6558) => {
                    self.ether_type(et, payload, ctx, depth + 1)
                }
                Some((0x0800 | 0x86dd, _)) => self.undecodable(),
                // 802.3 with an LLC/SNAP header carrying an ether type.
                Some((et, payload)) if et < 0x0600 => match payload.get(0..8) {
                    Some([0xAA, 0xAA, 0x03, 0, 0, 0, a, b]) => {
                        let et = u16::from_be_bytes([*a, *b]);
                        self.ether_type(et, payload.get(8..).unwrap_or(&[]), ctx, depth + 1)
                    }
                    _ => self.unsupported("802.3-llc"),
                },
                _ => Decoded::Other,
            };
        };
        let Some((src, dst)) = ip_addrs(net) else {
            return Decoded::Other;
        };
        if let Some(TransportSlice::Tcp(tcp)) = &p.transport {
            return Decoded::Tcp(segment_of(src, dst, tcp));
        }
        let Some(ip_payload) = net.ip_payload_ref() else {
            return Decoded::Other;
        };
        if ip_payload.fragmented {
            return self.fragment(net, src, dst, ip_payload, ctx);
        }
        if let Some(TransportSlice::Udp(udp)) = &p.transport {
            return self.udp_tunnel(
                udp.source_port(),
                udp.destination_port(),
                udp.payload(),
                ctx,
                depth,
            );
        }
        if ip_payload.ip_number == IpNumber(SCTP) {
            return self.sctp(src, dst, ip_payload.payload);
        }
        self.ip_payload(ip_payload.ip_number, ip_payload.payload, ctx, depth)
    }

    /// SCTP DATA chunks, in TSN order as they arrive (repeats dropped), become consecutive
    /// segments of one byte stream per direction, so HTTP over SCTP goes the TCP way.
    fn sctp<'a>(&mut self, src: IpAddr, dst: IpAddr, p: &[u8]) -> Decoded<'a> {
        let (Some(ports), Some(mut chunks)) = (p.get(0..4), p.get(12..)) else {
            return self.undecodable();
        };
        let src = SocketAddr::new(src, u16::from_be_bytes([ports[0], ports[1]]));
        let dst = SocketAddr::new(dst, u16::from_be_bytes([ports[2], ports[3]]));
        let mut out = Vec::new();
        while let Some(h) = chunks.get(0..4) {
            let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
            let (Some(chunk), true) = (chunks.get(..len), len >= 4) else {
                break;
            };
            chunks = chunks.get(len.next_multiple_of(4)..).unwrap_or(&[]);
            let rst = h[0] == 6; // ABORT
            if h[0] != 0 && !rst {
                continue;
            }
            if self.sctp.len() >= MAX_SCTP_DIRECTIONS && !self.sctp.contains_key(&(src, dst)) {
                self.sctp.clear();
                self.counters.sctp_table_resets += 1;
            }
            let dir = self.sctp.entry((src, dst)).or_insert(SctpDir {
                next_seq: 1,
                last_tsn: None,
            });
            let data: &[u8] = if rst {
                &[]
            } else {
                let Some(t) = chunk.get(4..8) else { break };
                let tsn = u32::from_be_bytes([t[0], t[1], t[2], t[3]]);
                if dir
                    .last_tsn
                    .is_some_and(|l| tsn.wrapping_sub(l) as i32 <= 0)
                {
                    continue;
                }
                dir.last_tsn = Some(tsn);
                chunk.get(16..).unwrap_or(&[])
            };
            out.push(OwnedSegment {
                src,
                dst,
                seq: dir.next_seq,
                ack: None,
                flags: (false, false, rst),
                datagram: data.to_vec(),
                payload_start: 0,
            });
            dir.next_seq = dir.next_seq.wrapping_add(data.len() as u32);
        }
        if out.is_empty() {
            Decoded::Other
        } else {
            Decoded::Owned(out)
        }
    }

    /// An IP payload that is neither TCP nor UDP: IP-in-IP and GRE are followed.
    fn ip_payload<'a>(
        &mut self,
        proto: IpNumber,
        payload: &'a [u8],
        ctx: &Ctx,
        depth: u8,
    ) -> Decoded<'a> {
        if depth > MAX_DEPTH {
            return self.unsupported("too-deep");
        }
        match proto {
            IpNumber::IPV4 | IpNumber::IPV6 => self.ip(payload, ctx, depth + 1),
            IpNumber::GRE => self.gre(payload, ctx, depth + 1),
            IpNumber::TCP => self.undecodable(),
            IpNumber::UDP => Decoded::Other,
            _ => Decoded::Other,
        }
    }

    fn fragment<'a>(
        &mut self,
        net: &LaxNetSlice<'a>,
        src: IpAddr,
        dst: IpAddr,
        ip_payload: &LaxIpPayloadSlice<'a>,
        ctx: &Ctx,
    ) -> Decoded<'a> {
        let (id, offset, more) = match net {
            LaxNetSlice::Ipv4(v4) => {
                let h = v4.header();
                (
                    u32::from(h.identification()),
                    h.fragments_offset(),
                    h.more_fragments(),
                )
            }
            LaxNetSlice::Ipv6(v6) => {
                let frag = v6.extensions().clone().into_iter().find_map(|e| match e {
                    etherparse::Ipv6ExtensionSlice::Fragment(f) => Some(f),
                    _ => None,
                });
                match frag {
                    Some(f) => (f.identification(), f.fragment_offset(), f.more_fragments()),
                    None => return self.undecodable(),
                }
            }
            LaxNetSlice::Arp(_) => return Decoded::Other,
        };
        if ip_payload.incomplete {
            // A snaplen-cut fragment cannot complete a datagram; it would only poison it.
            return self.undecodable();
        }
        let key = FragKey {
            src,
            dst,
            id,
            proto: ip_payload.ip_number.0,
        };
        let Some(whole) = self.defrag.add(
            key,
            offset,
            more,
            ip_payload.payload,
            ctx.now,
            &mut self.counters,
        ) else {
            return Decoded::Other;
        };
        // The whole datagram is owned here; whatever TCP segment it leads to is copied out.
        let inner = match ip_payload.ip_number {
            IpNumber::TCP => match TcpSlice::from_slice(&whole) {
                Ok(tcp) => Decoded::Tcp(segment_of(src, dst, &tcp)),
                Err(_) => self.undecodable(),
            },
            IpNumber::UDP => match etherparse::UdpSlice::from_slice_lax(&whole) {
                Ok(udp) => self.udp_tunnel(
                    udp.source_port(),
                    udp.destination_port(),
                    udp.payload(),
                    ctx,
                    0,
                ),
                Err(_) => Decoded::Other,
            },
            IpNumber(SCTP) => self.sctp(src, dst, &whole),
            n => self.ip_payload(n, &whole, ctx, 0),
        };
        match inner {
            Decoded::Tcp(seg) => Decoded::Owned(vec![OwnedSegment::copy_of(&seg)]),
            Decoded::Owned(o) => Decoded::Owned(o),
            Decoded::Other => Decoded::Other,
        }
    }

    fn mpls<'a>(&mut self, data: &'a [u8], ctx: &Ctx, depth: u8) -> Decoded<'a> {
        let mut rest = data;
        // Label stack entries until the bottom-of-stack bit.
        for _ in 0..16 {
            let Some(entry) = rest.get(..4) else {
                return self.undecodable();
            };
            rest = &rest[4..];
            if entry[2] & 1 == 1 {
                return match rest.first().map(|b| b >> 4) {
                    Some(4) | Some(6) => self.ip(rest, ctx, depth),
                    // A pseudowire control word, then Ethernet.
                    Some(0) => self.ethernet(rest.get(4..).unwrap_or(&[]), ctx, depth),
                    Some(_) => self.ethernet(rest, ctx, depth),
                    None => Decoded::Other,
                };
            }
        }
        self.unsupported("mpls")
    }

    fn pppoe<'a>(&mut self, data: &'a [u8], ctx: &Ctx, depth: u8) -> Decoded<'a> {
        match data.get(6..) {
            Some(ppp) => self.ppp(ppp, ctx, depth),
            None => self.undecodable(),
        }
    }

    /// A PPP frame: optional address/control bytes, a 1-byte (compressed) or 2-byte protocol.
    fn ppp<'a>(&mut self, data: &'a [u8], ctx: &Ctx, depth: u8) -> Decoded<'a> {
        let ppp = data.strip_prefix(&[0xFF, 0x03]).unwrap_or(data);
        let (proto, rest) = match ppp.first() {
            Some(&b) if b & 1 == 1 => (u16::from(b), ppp.get(1..).unwrap_or(&[])),
            Some(_) => match ppp.get(0..2) {
                Some(p) => (
                    u16::from_be_bytes([p[0], p[1]]),
                    ppp.get(2..).unwrap_or(&[]),
                ),
                None => return Decoded::Other,
            },
            None => return Decoded::Other,
        };
        match proto {
            0x0021 | 0x0057 => self.ip(rest, ctx, depth),
            _ => Decoded::Other,
        }
    }

    fn gre<'a>(&mut self, data: &'a [u8], ctx: &Ctx, depth: u8) -> Decoded<'a> {
        let (Some(flags), Some(proto)) = (data.get(0..2), data.get(2..4)) else {
            return self.undecodable();
        };
        let (f0, f1) = (flags[0], flags[1]);
        let proto = u16::from_be_bytes([proto[0], proto[1]]);
        let version = f1 & 0x07;
        let mut len = 4usize;
        if f0 & 0xC0 != 0 {
            len += 4; // checksum (+ offset)
        }
        if f0 & 0x20 != 0 {
            len += 4; // key
        }
        let seq = f0 & 0x10 != 0;
        if seq {
            len += 4;
        }
        if version == 1 && f1 & 0x80 != 0 {
            len += 4; // enhanced GRE acknowledgment
        }
        if f0 & 0x40 != 0 && version == 0 {
            // Source routing entries are obsolete and never seen with HTTP inside.
            return self.unsupported("gre-routing");
        }
        let Some(inner) = data.get(len..) else {
            return self.undecodable();
        };
        match proto {
            0x88BE => {
                // ERSPAN type II has a sequence number in GRE and an 8-byte header; type I none.
                if seq {
                    self.ethernet(inner.get(8..).unwrap_or(&[]), ctx, depth)
                } else {
                    self.ethernet(inner, ctx, depth)
                }
            }
            0x22EB => {
                // ERSPAN type III: 12 bytes, plus 8 when the optional sub-header flag is set.
                let opt = inner.get(11).is_some_and(|b| b & 1 == 1);
                let skip = if opt { 20 } else { 12 };
                self.ethernet(inner.get(skip..).unwrap_or(&[]), ctx, depth)
            }
            // PPTP carries PPP.
            0x880B => self.ppp(inner, ctx, depth),
            // Aruba WLAN controllers tunnel 802.11 frames in GRE with these protocol types.
            0x8200..=0x8400 | 0x9000 => self.ieee80211(inner, ctx, depth),
            _ => self.ether_type(proto, inner, ctx, depth),
        }
    }

    fn udp_tunnel<'a>(
        &mut self,
        sport: u16,
        dport: u16,
        payload: &'a [u8],
        ctx: &Ctx,
        depth: u8,
    ) -> Decoded<'a> {
        if depth > MAX_DEPTH {
            return self.unsupported("too-deep");
        }
        let port = |p: u16| sport == p || dport == p;
        let depth = depth + 1;
        if port(4789) || port(8472) {
            // VXLAN: 8-byte header with the I flag, then Ethernet.
            if payload.first().is_some_and(|f| f & 0x08 != 0) {
                return self.ethernet(payload.get(8..).unwrap_or(&[]), ctx, depth);
            }
        } else if port(6081) {
            if let (Some(b0), Some(p)) = (payload.first(), payload.get(2..4)) {
                let len = 8 + usize::from(b0 & 0x3f) * 4;
                let et = u16::from_be_bytes([p[0], p[1]]);
                return self.ether_type(et, payload.get(len..).unwrap_or(&[]), ctx, depth);
            }
        } else if port(4754) {
            return self.gre(payload, ctx, depth);
        } else if port(3544) {
            return self.teredo(payload, ctx, depth);
        } else if port(5072) {
            return self.ayiya(payload, ctx, depth);
        } else if port(2152) {
            return self.gtp_u(payload, ctx, depth);
        }
        Decoded::Other
    }

    fn teredo<'a>(&mut self, data: &'a [u8], ctx: &Ctx, depth: u8) -> Decoded<'a> {
        let mut rest = data;
        // Authentication indicator: 0x0001, id len, auth len, id, auth, nonce (8), confirmation.
        if rest.get(0..2) == Some(&[0, 1]) {
            let (Some(&idl), Some(&al)) = (rest.get(2), rest.get(3)) else {
                return Decoded::Other;
            };
            let skip = 4 + usize::from(idl) + usize::from(al) + 9;
            rest = rest.get(skip..).unwrap_or(&[]);
        }
        // Origin indication: 0x0000, port, address.
        if rest.get(0..2) == Some(&[0, 0]) {
            rest = rest.get(8..).unwrap_or(&[]);
        }
        if rest.first().is_some_and(|b| b >> 4 == 6) {
            return self.ip(rest, ctx, depth);
        }
        Decoded::Other
    }

    fn ayiya<'a>(&mut self, data: &'a [u8], ctx: &Ctx, depth: u8) -> Decoded<'a> {
        let (Some(&b0), Some(&b1), Some(&next)) = (data.first(), data.get(1), data.get(3)) else {
            return Decoded::Other;
        };
        let id_len = 1usize << (b0 >> 4);
        let sig_len = usize::from(b1 >> 4) * 4;
        let len = 8 + id_len + sig_len;
        let inner = data.get(len..).unwrap_or(&[]);
        self.ip_payload(IpNumber(next), inner, ctx, depth)
    }

    fn gtp_u<'a>(&mut self, data: &'a [u8], ctx: &Ctx, depth: u8) -> Decoded<'a> {
        let (Some(&flags), Some(&msg)) = (data.first(), data.get(1)) else {
            return Decoded::Other;
        };
        if flags >> 5 != 1 || msg != 0xFF {
            return Decoded::Other;
        }
        let mut len = 8usize;
        if flags & 0x07 != 0 {
            len += 4;
            // Extension headers: length in 4-byte units, next type in the last byte.
            let mut next = data.get(len - 1).copied().unwrap_or(0);
            let mut guard = 0;
            while next != 0 && guard < 16 {
                let Some(&units) = data.get(len) else {
                    return Decoded::Other;
                };
                if units == 0 {
                    return Decoded::Other;
                }
                len += usize::from(units) * 4;
                next = data.get(len - 1).copied().unwrap_or(0);
                guard += 1;
            }
        }
        self.ip(data.get(len..).unwrap_or(&[]), ctx, depth)
    }

    /// An 802.11 data frame carrying LLC/SNAP: the rest is an ether type and its payload.
    fn ieee80211<'a>(&mut self, data: &'a [u8], ctx: &Ctx, depth: u8) -> Decoded<'a> {
        let (Some(&fc0), Some(&fc1)) = (data.first(), data.get(1)) else {
            return self.undecodable();
        };
        let ftype = (fc0 >> 2) & 0x3;
        let subtype = fc0 >> 4;
        if ftype != 2 {
            return Decoded::Other; // management or control
        }
        if fc1 & 0x40 != 0 {
            return self.unsupported("802.11-protected");
        }
        let mut len = 24usize;
        if fc1 & 0x03 == 0x03 {
            len += 6; // four-address frame
        }
        if subtype & 0x08 != 0 {
            len += 2; // QoS control
            if fc1 & 0x80 != 0 {
                len += 4; // HT control
            }
        }
        if subtype & 0x04 != 0 {
            return Decoded::Other; // null data
        }
        let Some(llc) = data.get(len..) else {
            return self.undecodable();
        };
        if llc.get(0..3) == Some(&[0xAA, 0xAA, 0x03])
            && let Some(et) = llc.get(6..8)
        {
            let et = u16::from_be_bytes([et[0], et[1]]);
            return self.ether_type(et, llc.get(8..).unwrap_or(&[]), ctx, depth + 1);
        }
        self.unsupported("802.11-non-snap")
    }
}

/// The common case, TCP in unfragmented IPv4 or IPv6, read with etherparse's IP and TCP slices
/// alone: `LaxSlicedPacket` builds (and moves) a struct of every layer it might meet, ~3% of a
/// scan. Gives exactly what `Decoder::sliced` gives for such a packet, and `None` for anything
/// else (which then goes the general way).
fn plain_tcp(ip: &[u8]) -> Option<Segment<'_>> {
    let (ip, None) = LaxIpSlice::from_slice(ip).ok()? else {
        return None;
    };
    let payload = ip.payload();
    if payload.fragmented || payload.ip_number != IpNumber::TCP {
        return None;
    }
    let tcp = TcpSlice::from_slice(payload.payload).ok()?;
    let (src, dst) = ip_addrs(&LaxNetSlice::from(ip))?;
    Some(segment_of(src, dst, &tcp))
}

/// Source and destination of an IP packet (`None` for ARP).
fn ip_addrs(net: &LaxNetSlice<'_>) -> Option<(IpAddr, IpAddr)> {
    match net {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            Some((
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
            ))
        }
        LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            Some((
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
            ))
        }
        LaxNetSlice::Arp(_) => None,
    }
}

fn segment_of<'a>(src: IpAddr, dst: IpAddr, tcp: &TcpSlice<'a>) -> Segment<'a> {
    Segment {
        src: SocketAddr::new(src, tcp.source_port()),
        dst: SocketAddr::new(dst, tcp.destination_port()),
        seq: tcp.sequence_number(),
        ack: tcp.ack().then(|| tcp.acknowledgment_number()),
        syn: tcp.syn(),
        fin: tcp.fin(),
        rst: tcp.rst(),
        payload: tcp.payload(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;
    use proptest::prelude::*;

    /// An Ethernet frame carrying TCP over IPv4 or IPv6.
    fn frame(v6: bool, ports: (u16, u16), seq: u32, ack: Option<u32>, payload: &[u8]) -> Vec<u8> {
        let eth = PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]);
        let mut out = Vec::new();
        let tcp = if v6 {
            eth.ipv6([0x20; 16], [0x21; 16], 64)
                .tcp(ports.0, ports.1, seq, 1000)
        } else {
            eth.ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .tcp(ports.0, ports.1, seq, 1000)
        };
        let tcp = match ack {
            Some(a) => tcp.ack(a),
            None => tcp,
        };
        tcp.write(&mut out, payload).unwrap();
        out
    }

    proptest! {
        /// The plain-TCP shortcut is invisible: on well-formed, cut and corrupted frames alike,
        /// decoding gives what the general `LaxSlicedPacket` path gives, counters included.
        #[test]
        fn plain_tcp_shortcut_equals_the_general_path(
            v6 in any::<bool>(),
            ports in any::<(u16, u16)>(),
            seq in any::<u32>(),
            ack in proptest::option::of(any::<u32>()),
            payload in proptest::collection::vec(any::<u8>(), 0..200),
            // Flips land in the headers (the first 94 bytes hold every header here) or anywhere.
            flips in proptest::collection::vec((0usize..94, any::<u8>()), 0..4),
            cut in proptest::option::of(0usize..400),
            raw_ip in any::<bool>(),
        ) {
            let mut f = frame(v6, ports, seq, ack, &payload);
            for (i, v) in flips {
                if let Some(b) = f.get_mut(i) {
                    *b = v;
                }
            }
            if let Some(c) = cut {
                f.truncate(c);
            }
            let (link, data) = if raw_ip {
                (LinkKind::Raw("raw"), f.get(14..).unwrap_or(&[]))
            } else {
                (LinkKind::Ethernet, &f[..])
            };
            let mut fast = Decoder::new(16);
            let got = format!("{:?}", fast.decode(link, data, 0));
            let mut slow = Decoder::new(16);
            let ctx = Ctx { now: 0 };
            let want = if raw_ip {
                match data.first().map(|b| b >> 4) {
                    Some(4 | 6) => match LaxSlicedPacket::from_ip(data) {
                        Ok(p) => slow.sliced(p, &ctx, 0),
                        Err(_) => slow.undecodable(),
                    },
                    _ => slow.undecodable(),
                }
            } else {
                match LaxSlicedPacket::from_ethernet(data) {
                    Ok(p) => slow.sliced(p, &ctx, 0),
                    Err(_) => slow.undecodable(),
                }
            };
            prop_assert_eq!(got, format!("{want:?}"));
            prop_assert_eq!(format!("{:?}", fast.counters), format!("{:?}", slow.counters));
        }
    }

    #[test]
    fn plain_tcp_takes_ordinary_frames() {
        for v6 in [false, true] {
            let f = frame(v6, (40000, 80), 7, Some(9), b"GET / HTTP/1.1\r\n\r\n");
            let seg = plain_tcp(&f[14..]).expect("plain TCP");
            assert_eq!(seg.payload, b"GET / HTTP/1.1\r\n\r\n");
            assert_eq!((seg.src.port(), seg.dst.port(), seg.seq), (40000, 80, 7));
        }
    }
}
