//! Capture file writers for the generator: classic pcap (micro- or nanosecond magic, either
//! byte order) and pcapng (section header, one interface block per link type with optional
//! `if_tsresol`, enhanced packet blocks). They stream to any `Write`, so `bench` never holds a
//! capture in memory. Fed frames by `frame`; `samples` and `bench` choose the format.

use std::io::Write;

use super::GenError;
use super::frame::{Framer, Link};
use super::tcp::{Dir, Scenario};

/// Where frames go: a pcap or pcapng writer.
pub trait PacketSink {
    /// Writes one frame captured on interface `iface` at `ts_ns` (ns since the epoch).
    fn packet(&mut self, iface: u32, ts_ns: u64, frame: &[u8]) -> Result<(), GenError>;
    /// Bytes written so far, headers included.
    fn written(&self) -> u64;
    /// Frames written so far.
    fn frames(&self) -> u64;
    fn flush(&mut self) -> Result<(), GenError>;
}

/// Classic pcap.
pub struct PcapWriter<W: Write> {
    w: W,
    nanos: bool,
    big_endian: bool,
    snaplen: u32,
    written: u64,
    frames: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header. `nanos` selects the nanosecond magic; `big_endian` writes every
    /// field big-endian (as a capture taken on a big-endian host).
    pub fn new(
        mut w: W,
        linktype: u16,
        nanos: bool,
        big_endian: bool,
    ) -> Result<PcapWriter<W>, GenError> {
        let snaplen: u32 = 262_144;
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let mut h = Vec::with_capacity(24);
        let u32b = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u16b = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        h.extend_from_slice(&u32b(magic));
        h.extend_from_slice(&u16b(2));
        h.extend_from_slice(&u16b(4));
        h.extend_from_slice(&u32b(0));
        h.extend_from_slice(&u32b(0));
        h.extend_from_slice(&u32b(snaplen));
        h.extend_from_slice(&u32b(u32::from(linktype)));
        w.write_all(&h)?;
        Ok(PcapWriter {
            w,
            nanos,
            big_endian,
            snaplen,
            written: 24,
            frames: 0,
        })
    }

    pub fn into_inner(self) -> W {
        self.w
    }

    fn u32b(&self, v: u32) -> [u8; 4] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
}

impl<W: Write> PacketSink for PcapWriter<W> {
    fn packet(&mut self, _iface: u32, ts_ns: u64, frame: &[u8]) -> Result<(), GenError> {
        let secs = (ts_ns / 1_000_000_000) as u32;
        let frac = if self.nanos {
            (ts_ns % 1_000_000_000) as u32
        } else {
            ((ts_ns % 1_000_000_000) / 1000) as u32
        };
        let orig = u32::try_from(frame.len())
            .map_err(|_| GenError::Build("frame larger than 4 GiB".into()))?;
        let cap = orig.min(self.snaplen);
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&self.u32b(secs));
        h[4..8].copy_from_slice(&self.u32b(frac));
        h[8..12].copy_from_slice(&self.u32b(cap));
        h[12..16].copy_from_slice(&self.u32b(orig));
        self.w.write_all(&h)?;
        self.w
            .write_all(frame.get(..cap as usize).unwrap_or(frame))?;
        self.written += 16 + u64::from(cap);
        self.frames += 1;
        Ok(())
    }

    fn written(&self) -> u64 {
        self.written
    }

    fn frames(&self) -> u64 {
        self.frames
    }

    fn flush(&mut self) -> Result<(), GenError> {
        self.w.flush()?;
        Ok(())
    }
}

/// One pcapng interface.
#[derive(Debug, Clone)]
pub struct Interface {
    pub link: Link,
    pub name: String,
    /// Timestamps in ns (`if_tsresol` = 9) instead of the default µs.
    pub nanos: bool,
}

/// pcapng, one section, little-endian.
pub struct PcapngWriter<W: Write> {
    w: W,
    nanos: Vec<bool>,
    written: u64,
    frames: u64,
}

fn push_option(b: &mut Vec<u8>, code: u16, value: &[u8]) {
    b.extend_from_slice(&code.to_le_bytes());
    b.extend_from_slice(&(value.len() as u16).to_le_bytes());
    b.extend_from_slice(value);
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
}

/// Wraps a block body with its type and the two total-length fields.
fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let total = (body.len() + 12) as u32;
    let mut b = Vec::with_capacity(total as usize);
    b.extend_from_slice(&kind.to_le_bytes());
    b.extend_from_slice(&total.to_le_bytes());
    b.extend_from_slice(body);
    b.extend_from_slice(&total.to_le_bytes());
    b
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the section header and one interface description block per interface.
    pub fn new(mut w: W, ifaces: &[Interface]) -> Result<PcapngWriter<W>, GenError> {
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        push_option(&mut shb, 4, b"credsift-gen");
        push_option(&mut shb, 0, &[]);
        let mut out = block(0x0a0d_0d0a, &shb);
        for i in ifaces {
            let mut idb = Vec::new();
            idb.extend_from_slice(&i.link.linktype().to_le_bytes());
            idb.extend_from_slice(&0u16.to_le_bytes());
            idb.extend_from_slice(&262_144u32.to_le_bytes());
            push_option(&mut idb, 2, i.name.as_bytes());
            if i.nanos {
                push_option(&mut idb, 9, &[9]);
            }
            push_option(&mut idb, 0, &[]);
            out.extend_from_slice(&block(1, &idb));
        }
        w.write_all(&out)?;
        Ok(PcapngWriter {
            w,
            nanos: ifaces.iter().map(|i| i.nanos).collect(),
            written: out.len() as u64,
            frames: 0,
        })
    }

    pub fn into_inner(self) -> W {
        self.w
    }
}

impl<W: Write> PacketSink for PcapngWriter<W> {
    fn packet(&mut self, iface: u32, ts_ns: u64, frame: &[u8]) -> Result<(), GenError> {
        let nanos = *self
            .nanos
            .get(iface as usize)
            .ok_or_else(|| GenError::Build(format!("no interface {iface}")))?;
        let ts = if nanos { ts_ns } else { ts_ns / 1000 };
        let len =
            u32::try_from(frame.len()).map_err(|_| GenError::Build("frame too large".into()))?;
        let pad = (4 - frame.len() % 4) % 4;
        let total = 32 + frame.len() as u32 + pad as u32;
        let mut h = [0u8; 28];
        h[0..4].copy_from_slice(&6u32.to_le_bytes());
        h[4..8].copy_from_slice(&total.to_le_bytes());
        h[8..12].copy_from_slice(&iface.to_le_bytes());
        h[12..16].copy_from_slice(&((ts >> 32) as u32).to_le_bytes());
        h[16..20].copy_from_slice(&(ts as u32).to_le_bytes());
        h[20..24].copy_from_slice(&len.to_le_bytes());
        h[24..28].copy_from_slice(&len.to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(frame)?;
        self.w.write_all(&[0u8; 3][..pad])?;
        self.w.write_all(&total.to_le_bytes())?;
        self.written += u64::from(total);
        self.frames += 1;
        Ok(())
    }

    fn written(&self) -> u64 {
        self.written
    }

    fn frames(&self) -> u64 {
        self.frames
    }

    fn flush(&mut self) -> Result<(), GenError> {
        self.w.flush()?;
        Ok(())
    }
}

/// Frames every packet of `scenario` and writes it to `sink`; `links[i]` is the link type of
/// interface `i`.
pub fn write_scenario<S: PacketSink>(
    scenario: &Scenario,
    links: &[Link],
    sink: &mut S,
) -> Result<(), GenError> {
    let mut framers: Vec<Framer> = links.iter().map(|l| Framer::new(*l)).collect();
    let mut frame = Vec::with_capacity(2048);
    for p in scenario.packets().map_err(GenError::Build)? {
        let framer = framers
            .get_mut(p.iface as usize)
            .ok_or_else(|| GenError::Build(format!("no interface {}", p.iface)))?;
        frame.clear();
        framer.encode(
            p.src,
            p.dst,
            &p.segment,
            p.segment.dir == Dir::ToServer,
            &mut frame,
        )?;
        sink.packet(p.iface, p.ts_ns, &frame)?;
    }
    sink.flush()
}

/// A whole scenario as classic pcap bytes.
pub fn pcap_bytes(
    scenario: &Scenario,
    link: Link,
    nanos: bool,
    big_endian: bool,
) -> Result<Vec<u8>, GenError> {
    let mut w = PcapWriter::new(Vec::new(), link.linktype(), nanos, big_endian)?;
    write_scenario(scenario, &[link], &mut w)?;
    Ok(w.into_inner())
}

/// A whole scenario as pcapng bytes.
pub fn pcapng_bytes(scenario: &Scenario, ifaces: &[Interface]) -> Result<Vec<u8>, GenError> {
    let mut w = PcapngWriter::new(Vec::new(), ifaces)?;
    let links: Vec<Link> = ifaces.iter().map(|i| i.link).collect();
    write_scenario(scenario, &links, &mut w)?;
    Ok(w.into_inner())
}

/// Test helpers that read captures back with pcap-parser and etherparse; shared with the
/// tests of `samples` and `bench`.
#[cfg(test)]
pub(crate) mod readback {
    use std::collections::BTreeMap;
    use std::net::{IpAddr, SocketAddr};

    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
    use pcap_parser::{Linktype, PcapBlockOwned, PcapError, create_reader};

    /// One decoded frame.
    #[derive(Debug, Clone)]
    pub struct Frame {
        pub linktype: i32,
        pub iface: u32,
        /// Raw timestamp fields as stored (seconds and fraction for pcap; high/low for pcapng).
        pub ts: (u32, u32),
        pub src: SocketAddr,
        pub dst: SocketAddr,
        pub seq: u32,
        pub syn: bool,
        pub ack: bool,
        pub payload: Vec<u8>,
    }

    fn decode(linktype: Linktype, data: &[u8]) -> Option<SlicedPacket<'_>> {
        match linktype {
            Linktype::ETHERNET => SlicedPacket::from_ethernet(data).ok(),
            Linktype::LINUX_SLL => SlicedPacket::from_linux_sll(data).ok(),
            Linktype::RAW => SlicedPacket::from_ip(data).ok(),
            _ => None,
        }
    }

    fn frame(linktype: Linktype, iface: u32, ts: (u32, u32), data: &[u8]) -> Frame {
        let p = decode(linktype, data).expect("frame decodes");
        let (sip, dip): (IpAddr, IpAddr) = match &p.net {
            Some(NetSlice::Ipv4(ip)) => (
                ip.header().source_addr().into(),
                ip.header().destination_addr().into(),
            ),
            Some(NetSlice::Ipv6(ip)) => (
                ip.header().source_addr().into(),
                ip.header().destination_addr().into(),
            ),
            _ => panic!("no IP header"),
        };
        let Some(TransportSlice::Tcp(t)) = &p.transport else {
            panic!("no TCP header")
        };
        Frame {
            linktype: linktype.0,
            iface,
            ts,
            src: SocketAddr::new(sip, t.source_port()),
            dst: SocketAddr::new(dip, t.destination_port()),
            seq: t.sequence_number(),
            syn: t.syn(),
            ack: t.ack(),
            payload: t.payload().to_vec(),
        }
    }

    /// Reads every frame of a pcap or pcapng file. Returns the frames and whether the file
    /// ended early (cut in the middle of a record, or a corrupt record).
    pub fn read(bytes: &[u8]) -> (Vec<Frame>, bool) {
        let mut reader = create_reader(65536, bytes).expect("capture header");
        let mut frames = Vec::new();
        let mut links: Vec<Linktype> = Vec::new();
        let mut legacy_link = Linktype::ETHERNET;
        let mut truncated = false;
        let mut stalled = false;
        loop {
            match reader.next() {
                Ok((n, block)) => {
                    stalled = false;
                    match block {
                        PcapBlockOwned::LegacyHeader(h) => legacy_link = h.network,
                        PcapBlockOwned::Legacy(b) => {
                            frames.push(frame(legacy_link, 0, (b.ts_sec, b.ts_usec), b.data))
                        }
                        PcapBlockOwned::NG(pcap_parser::Block::InterfaceDescription(idb)) => {
                            links.push(idb.linktype)
                        }
                        PcapBlockOwned::NG(pcap_parser::Block::EnhancedPacket(epb)) => {
                            let l = links[epb.if_id as usize];
                            frames.push(frame(
                                l,
                                epb.if_id,
                                (epb.ts_high, epb.ts_low),
                                &epb.data[..epb.caplen as usize],
                            ))
                        }
                        _ => {}
                    }
                    reader.consume(n);
                }
                Err(PcapError::Eof) => break,
                Err(PcapError::UnexpectedEof) => {
                    truncated = true;
                    break;
                }
                Err(PcapError::Incomplete(_)) => {
                    // A refill that brings nothing new means the file was cut short.
                    if stalled {
                        truncated = true;
                        break;
                    }
                    reader.refill().expect("refill");
                    stalled = true;
                }
                // A corrupt record (absurd length) also ends the file.
                Err(_) => {
                    truncated = true;
                    break;
                }
            }
        }
        (frames, truncated)
    }

    /// Reassembles each direction of each connection (first data wins, holes as `?`), keyed by
    /// (client, server) with the SYN sender as client.
    pub fn streams(frames: &[Frame]) -> BTreeMap<(SocketAddr, SocketAddr), (Vec<u8>, Vec<u8>)> {
        let mut isn: BTreeMap<(SocketAddr, SocketAddr), u32> = BTreeMap::new();
        for f in frames.iter().filter(|f| f.syn) {
            isn.insert((f.src, f.dst), f.seq.wrapping_add(1));
        }
        let mut bufs: BTreeMap<(SocketAddr, SocketAddr), Vec<Option<u8>>> = BTreeMap::new();
        for f in frames.iter().filter(|f| !f.payload.is_empty()) {
            let base = *isn.get(&(f.src, f.dst)).expect("data after a SYN");
            let off = f.seq.wrapping_sub(base) as usize;
            let buf = bufs.entry((f.src, f.dst)).or_default();
            if buf.len() < off + f.payload.len() {
                buf.resize(off + f.payload.len(), None);
            }
            for (i, b) in f.payload.iter().enumerate() {
                if buf[off + i].is_none() {
                    buf[off + i] = Some(*b);
                }
            }
        }
        let flat = |v: Option<&Vec<Option<u8>>>| -> Vec<u8> {
            v.map(|v| v.iter().map(|b| b.unwrap_or(b'?')).collect())
                .unwrap_or_default()
        };
        let mut out = BTreeMap::new();
        for f in frames.iter().filter(|f| f.syn && !f.ack) {
            let up = flat(bufs.get(&(f.src, f.dst)));
            let down = flat(bufs.get(&(f.dst, f.src)));
            out.insert((f.src, f.dst), (up, down));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::readback::{read, streams};
    use super::*;
    use crate::r#gen::http::{Exchange, Request, Response};
    use crate::r#gen::tcp::{Connection, Dir, Impairment};

    fn scenario(v6: bool) -> Scenario {
        let (c, s) = if v6 {
            ("[2001:db8::10]:50000", "[2001:db8::80]:80")
        } else {
            ("10.9.0.1:50000", "10.9.0.2:80")
        };
        let ex = Exchange::new(
            Request::get("h.example", "/a").header("X-N", &"n".repeat(3000)),
            Response::new(200).html(&"<p>hello</p>".repeat(400)).gzip(),
        );
        Scenario::new(crate::r#gen::SAMPLE_EPOCH_NS).connection(
            Connection::new(c.parse().unwrap(), s.parse().unwrap())
                .mss(700)
                .exchanges(&[ex.clone(), ex]),
        )
    }

    #[test]
    fn pcap_reads_back_in_both_byte_orders_and_resolutions() {
        let scn = scenario(false);
        let conn = &scn.connections[0];
        let expect_frames = conn.segments().unwrap().len();
        for (nanos, be) in [(false, false), (true, true), (true, false), (false, true)] {
            for link in [Link::Ethernet, Link::LinuxSll, Link::RawIp, Link::Vlan(7)] {
                let bytes = pcap_bytes(&scn, link, nanos, be).unwrap();
                let magic = &bytes[..4];
                match (nanos, be) {
                    (false, false) => assert_eq!(magic, [0xd4, 0xc3, 0xb2, 0xa1]),
                    (true, true) => assert_eq!(magic, [0xa1, 0xb2, 0x3c, 0x4d]),
                    _ => {}
                }
                let (frames, truncated) = read(&bytes);
                assert!(!truncated);
                assert_eq!(frames.len(), expect_frames);
                assert!(
                    frames
                        .iter()
                        .all(|f| f.linktype == i32::from(link.linktype()))
                );
                // Timestamps: the first packet is 2 ms after the sample epoch.
                assert_eq!(frames[0].ts.0, 1_714_564_800);
                assert_eq!(frames[0].ts.1, if nanos { 2_000_000 } else { 2_000 });
                let s = streams(&frames);
                let (up, down) = s.values().next().unwrap();
                assert_eq!(up, &conn.stream(Dir::ToServer));
                assert_eq!(down, &conn.stream(Dir::ToClient));
            }
        }
    }

    #[test]
    fn pcapng_with_two_interfaces_reads_back() {
        let mut scn = scenario(false);
        let mut second = scenario(true).connections.remove(0).on_iface(1);
        second.impairments.push(Impairment::Reorder {
            segment: 0,
            after: 3,
        });
        scn.connections.push(second);
        scn.interleave = true;
        let ifaces = [
            Interface {
                link: Link::Ethernet,
                name: "eth0".into(),
                nanos: false,
            },
            Interface {
                link: Link::LinuxSll,
                name: "any".into(),
                nanos: true,
            },
        ];
        let bytes = pcapng_bytes(&scn, &ifaces).unwrap();
        let (frames, truncated) = read(&bytes);
        assert!(!truncated);
        let n0 = scn.connections[0].segments().unwrap().len();
        let n1 = scn.connections[1].segments().unwrap().len();
        assert_eq!(frames.len(), n0 + n1);
        assert_eq!(frames.iter().filter(|f| f.iface == 1).count(), n1);
        assert!(
            frames
                .iter()
                .all(|f| f.linktype == if f.iface == 0 { 1 } else { 113 })
        );
        // ns resolution on interface 1: the 64-bit timestamp is the capture time in ns.
        let f1 = frames.iter().find(|f| f.iface == 1).unwrap();
        let t = (u64::from(f1.ts.0) << 32) | u64::from(f1.ts.1);
        assert!(t > crate::r#gen::SAMPLE_EPOCH_NS);
        let s = streams(&frames);
        assert_eq!(s.len(), 2);
        for c in &scn.connections {
            let (up, down) = &s[&(c.client, c.server)];
            assert_eq!(up, &c.stream(Dir::ToServer));
            assert_eq!(down, &c.stream(Dir::ToClient));
        }
    }

    #[test]
    fn truncated_pcap_is_seen_as_cut_short() {
        let bytes = pcap_bytes(&scenario(false), Link::Ethernet, false, false).unwrap();
        let cut = &bytes[..bytes.len() - 30];
        let (frames, truncated) = read(cut);
        assert!(truncated);
        assert!(!frames.is_empty());
    }
}
