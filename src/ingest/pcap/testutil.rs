//! Test helper: writes small classic pcap and pcapng files by hand, with Ethernet/IP/TCP frames
//! built by etherparse's `PacketBuilder`, and runs `read_capture` over them.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use etherparse::PacketBuilder;

use crate::ingest::IngestConfig;
use crate::model::{Exchange, SourceStats};

/// A classic pcap file under construction.
pub struct Pcap {
    pub bytes: Vec<u8>,
    nanos: bool,
    be: bool,
    kuz: bool,
}

impl Pcap {
    pub fn new(linktype: u32) -> Self {
        Self::with(linktype, false, false)
    }

    pub fn with(linktype: u32, nanos: bool, be: bool) -> Self {
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let mut p = Pcap {
            bytes: Vec::new(),
            nanos,
            be,
            kuz: false,
        };
        p.u32(magic);
        p.u16(2);
        p.u16(4);
        p.u32(0);
        p.u32(0);
        p.u32(65535);
        p.u32(linktype);
        p
    }

    fn u16(&mut self, v: u16) {
        let b = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }

    fn u32(&mut self, v: u32) {
        let b = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }

    /// The modified ("Kuznetzov") little-endian variant: 24-byte record headers.
    pub fn kuznetzov(linktype: u32) -> Self {
        let mut p = Self::with(linktype, false, false);
        p.bytes[0..4].copy_from_slice(&0xa1b2_cd34u32.to_le_bytes());
        p.kuz = true;
        p
    }

    /// Appends one record captured at `ts_ns`.
    pub fn record(&mut self, ts_ns: i64, data: &[u8]) {
        let secs = (ts_ns / 1_000_000_000) as u32;
        let sub = (ts_ns % 1_000_000_000) as u32;
        self.u32(secs);
        self.u32(if self.nanos { sub } else { sub / 1000 });
        self.u32(data.len() as u32);
        self.u32(data.len() as u32);
        if self.kuz {
            // ifindex, protocol, packet type, padding
            self.bytes.extend_from_slice(&[0u8; 8]);
        }
        self.bytes.extend_from_slice(data);
    }
}

/// A pcapng file under construction (little-endian).
#[derive(Default)]
pub struct PcapNg {
    pub bytes: Vec<u8>,
}

fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

impl PcapNg {
    pub fn new() -> Self {
        let mut p = PcapNg::default();
        p.section();
        p
    }

    fn block(&mut self, ty: u32, body: &[u8]) {
        let len = (12 + body.len()) as u32;
        self.bytes.extend_from_slice(&ty.to_le_bytes());
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(body);
        self.bytes.extend_from_slice(&len.to_le_bytes());
    }

    pub fn section(&mut self) {
        let mut b = Vec::new();
        b.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&(-1i64).to_le_bytes());
        self.block(0x0a0d_0d0a, &b);
    }

    /// An interface with a link type and an `if_tsresol` (power of ten).
    pub fn interface(&mut self, linktype: u16, tsresol: u8) {
        self.interface_with_offset(linktype, tsresol, 0);
    }

    /// An interface with an `if_tsoffset` (seconds) as well.
    pub fn interface_with_offset(&mut self, linktype: u16, tsresol: u8, offset_s: i64) {
        let mut b = Vec::new();
        b.extend_from_slice(&linktype.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&9u16.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.push(tsresol);
        pad4(&mut b);
        if offset_s != 0 {
            b.extend_from_slice(&14u16.to_le_bytes());
            b.extend_from_slice(&8u16.to_le_bytes());
            b.extend_from_slice(&offset_s.to_le_bytes());
        }
        b.extend_from_slice(&[0, 0, 0, 0]);
        self.block(1, &b);
    }

    pub fn enhanced(&mut self, if_id: u32, ts_units: u64, data: &[u8]) {
        let mut b = Vec::new();
        b.extend_from_slice(&if_id.to_le_bytes());
        b.extend_from_slice(&((ts_units >> 32) as u32).to_le_bytes());
        b.extend_from_slice(&(ts_units as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
        pad4(&mut b);
        self.block(6, &b);
    }

    pub fn simple(&mut self, data: &[u8]) {
        let mut b = Vec::new();
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
        pad4(&mut b);
        self.block(3, &b);
    }

    pub fn decryption_secrets(&mut self) {
        let mut b = Vec::new();
        b.extend_from_slice(&0x544c_534bu32.to_le_bytes());
        b.extend_from_slice(&4u32.to_le_bytes());
        b.extend_from_slice(b"abcd");
        self.block(0x0a, &b);
    }
}

/// How a TCP frame is framed below IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Ethernet,
    Vlan,
    Raw,
    Sll,
    Null,
}

/// One TCP segment as a frame.
#[allow(clippy::too_many_arguments)]
pub fn tcp_frame(
    link: Link,
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: Option<u32>,
    flags: &str,
    payload: &[u8],
) -> Vec<u8> {
    let mac_a = [2, 0, 0, 0, 0, 1];
    let mac_b = [2, 0, 0, 0, 0, 2];
    let mut out = Vec::new();
    macro_rules! finish {
        ($ip:expr) => {{
            let mut t = $ip.tcp(src.port(), dst.port(), seq, 65535);
            if let Some(a) = ack {
                t = t.ack(a);
            }
            if flags.contains('S') {
                t = t.syn();
            }
            if flags.contains('F') {
                t = t.fin();
            }
            if flags.contains('R') {
                t = t.rst();
            }
            t.write(&mut out, payload).unwrap();
        }};
    }
    macro_rules! ip {
        ($base:expr) => {{
            match (src.ip(), dst.ip()) {
                (IpAddr::V4(a), IpAddr::V4(b)) => finish!($base.ipv4(a.octets(), b.octets(), 64)),
                (IpAddr::V6(a), IpAddr::V6(b)) => finish!($base.ipv6(a.octets(), b.octets(), 64)),
                _ => panic!("mixed address families"),
            }
        }};
    }
    match link {
        Link::Ethernet => ip!(PacketBuilder::ethernet2(mac_a, mac_b)),
        Link::Vlan => ip!(PacketBuilder::ethernet2(mac_a, mac_b)
            .single_vlan(etherparse::VlanId::try_new(42).unwrap())),
        Link::Raw | Link::Sll | Link::Null => {
            match (src.ip(), dst.ip()) {
                (IpAddr::V4(a), IpAddr::V4(b)) => {
                    finish!(PacketBuilder::ipv4(a.octets(), b.octets(), 64))
                }
                (IpAddr::V6(a), IpAddr::V6(b)) => {
                    finish!(PacketBuilder::ipv6(a.octets(), b.octets(), 64))
                }
                _ => panic!("mixed address families"),
            }
            let v6 = src.is_ipv6();
            match link {
                Link::Sll => {
                    let mut h = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
                    h.extend_from_slice(if v6 { &[0x86, 0xdd] } else { &[0x08, 0x00] });
                    h.extend_from_slice(&out);
                    out = h;
                }
                Link::Null => {
                    let fam: u32 = if v6 { 30 } else { 2 };
                    let mut h = fam.to_le_bytes().to_vec();
                    h.extend_from_slice(&out);
                    out = h;
                }
                _ => {}
            }
        }
    }
    out
}

/// A TCP conversation that keeps sequence numbers for both sides.
pub struct Conv {
    pub link: Link,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub cseq: u32,
    pub sseq: u32,
    pub frames: Vec<Vec<u8>>,
}

impl Conv {
    pub fn new(client: &str, server: &str) -> Self {
        Conv {
            link: Link::Ethernet,
            client: client.parse().unwrap(),
            server: server.parse().unwrap(),
            cseq: 1000,
            sseq: 5000,
            frames: Vec::new(),
        }
    }

    pub fn handshake(&mut self) -> &mut Self {
        let f = tcp_frame(
            self.link,
            self.client,
            self.server,
            self.cseq,
            None,
            "S",
            b"",
        );
        self.frames.push(f);
        let f = tcp_frame(
            self.link,
            self.server,
            self.client,
            self.sseq,
            Some(self.cseq + 1),
            "S",
            b"",
        );
        self.frames.push(f);
        self.cseq += 1;
        self.sseq += 1;
        self
    }

    /// The client sends `data` (one segment).
    pub fn c(&mut self, data: &[u8]) -> &mut Self {
        let f = tcp_frame(
            self.link,
            self.client,
            self.server,
            self.cseq,
            Some(self.sseq),
            "",
            data,
        );
        self.frames.push(f);
        self.cseq = self.cseq.wrapping_add(data.len() as u32);
        self
    }

    /// The server sends `data` (one segment).
    pub fn s(&mut self, data: &[u8]) -> &mut Self {
        let f = tcp_frame(
            self.link,
            self.server,
            self.client,
            self.sseq,
            Some(self.cseq),
            "",
            data,
        );
        self.frames.push(f);
        self.sseq = self.sseq.wrapping_add(data.len() as u32);
        self
    }

    /// The client's next `n` bytes are lost from the capture (sequence space skipped).
    pub fn c_lost(&mut self, n: u32) -> &mut Self {
        self.cseq = self.cseq.wrapping_add(n);
        self
    }

    pub fn fin(&mut self) -> &mut Self {
        let f = tcp_frame(
            self.link,
            self.client,
            self.server,
            self.cseq,
            Some(self.sseq),
            "F",
            b"",
        );
        self.frames.push(f);
        let f = tcp_frame(
            self.link,
            self.server,
            self.client,
            self.sseq,
            Some(self.cseq + 1),
            "F",
            b"",
        );
        self.frames.push(f);
        self
    }
}

/// Runs `read_capture` over `bytes`; returns the exchanges, the stats and the result.
pub fn run(bytes: &[u8]) -> (Vec<Exchange>, SourceStats, Result<(), String>) {
    run_with(bytes, &IngestConfig::default())
}

pub fn run_with(
    bytes: &[u8],
    cfg: &IngestConfig,
) -> (Vec<Exchange>, SourceStats, Result<(), String>) {
    let mut out = Vec::new();
    let mut stats = SourceStats::new("test.pcap");
    let src: Arc<str> = Arc::from("test.pcap");
    let mut input = std::io::Cursor::new(bytes.to_vec());
    let res = super::read_capture(&mut input, &src, cfg, &mut stats, &mut |e| out.push(e))
        .map_err(|e| e.to_string());
    (out, stats, res)
}

/// Writes frames as a classic Ethernet pcap, one millisecond apart.
pub fn pcap_of(frames: &[Vec<u8>], linktype: u32) -> Vec<u8> {
    let mut p = Pcap::new(linktype);
    for (i, f) in frames.iter().enumerate() {
        p.record(1_700_000_000_000_000_000 + i as i64 * 1_000_000, f);
    }
    p.bytes
}
