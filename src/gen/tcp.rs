//! TCP connections as packets: a `Connection` (two endpoints and the flights of bytes each side
//! sends, from `http` or `tls`) is laid out as segments (handshake, data split at the MSS, ACKs,
//! FIN), then impaired on purpose (reordered, retransmitted, overlapping, dropped segments) to
//! exercise credsift's reassembly. A `Scenario` of connections becomes timestamped `Packet`s that
//! `frame` and `capture` turn into files. `bench` uses `TcpFlow` directly to stream.

use std::net::SocketAddr;

/// Direction of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    ToServer,
    ToClient,
}

/// TCP flags the generator sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub psh: bool,
    pub rst: bool,
}

impl Flags {
    pub const ACK: Flags = Flags {
        syn: false,
        ack: true,
        fin: false,
        psh: false,
        rst: false,
    };
}

/// One TCP segment, before link and IP framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub dir: Dir,
    pub seq: u32,
    pub ack: u32,
    pub flags: Flags,
    pub payload: Vec<u8>,
    /// Time since the previous packet of the capture, in ns.
    pub delay_ns: u64,
}

/// Bytes one side sends in one go (a request, a response, a TLS flight).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flight {
    pub dir: Dir,
    pub bytes: Vec<u8>,
}

impl Flight {
    pub fn to_server(bytes: impl Into<Vec<u8>>) -> Flight {
        Flight {
            dir: Dir::ToServer,
            bytes: bytes.into(),
        }
    }
    pub fn to_client(bytes: impl Into<Vec<u8>>) -> Flight {
        Flight {
            dir: Dir::ToClient,
            bytes: bytes.into(),
        }
    }
}

/// A deliberate deviation from a clean capture. `segment` indexes the data-carrying segments of
/// the connection (or of the list given to `impair`) in layout order, counted from 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Impairment {
    /// Move data segment `segment` to just after data segment `after` (out-of-order delivery).
    Reorder { segment: usize, after: usize },
    /// Send data segment `segment` again, identical, just after data segment `after`.
    Retransmit { segment: usize, after: usize },
    /// Extend data segment `segment` backwards by `back` bytes, so it overlaps the tail of the
    /// data before it. With `conflicting`, the overlapping bytes are `X`s that differ from what
    /// was sent first (a reassembler that keeps the first data recovers the original stream).
    Overlap {
        segment: usize,
        back: usize,
        conflicting: bool,
    },
    /// Lose data segment `segment` for good (a gap in the capture).
    Drop { segment: usize },
}

/// Per-direction sequence state of one connection, for streaming layout.
#[derive(Debug, Clone)]
pub struct TcpFlow {
    pub mss: usize,
    /// Next sequence number of the client and of the server.
    pub client_seq: u32,
    pub server_seq: u32,
    /// Delay between packets of one flight and before a flight, in ns.
    pub packet_gap_ns: u64,
    pub flight_gap_ns: u64,
    /// Send a pure ACK from the receiver after each flight.
    pub acks: bool,
}

impl TcpFlow {
    pub fn new(client_isn: u32, server_isn: u32, mss: usize) -> TcpFlow {
        TcpFlow {
            mss: mss.max(1),
            client_seq: client_isn,
            server_seq: server_isn,
            packet_gap_ns: 40_000,
            flight_gap_ns: 2_000_000,
            acks: true,
        }
    }

    fn seqs(&self, dir: Dir) -> (u32, u32) {
        match dir {
            Dir::ToServer => (self.client_seq, self.server_seq),
            Dir::ToClient => (self.server_seq, self.client_seq),
        }
    }

    fn advance(&mut self, dir: Dir, n: u32) {
        match dir {
            Dir::ToServer => self.client_seq = self.client_seq.wrapping_add(n),
            Dir::ToClient => self.server_seq = self.server_seq.wrapping_add(n),
        }
    }

    /// SYN, SYN-ACK, ACK.
    pub fn handshake(&mut self, out: &mut Vec<Segment>) {
        let (c, s) = (self.client_seq, self.server_seq);
        out.push(Segment {
            dir: Dir::ToServer,
            seq: c,
            ack: 0,
            flags: Flags {
                syn: true,
                ..Flags::default()
            },
            payload: Vec::new(),
            delay_ns: self.flight_gap_ns,
        });
        out.push(Segment {
            dir: Dir::ToClient,
            seq: s,
            ack: c.wrapping_add(1),
            flags: Flags {
                syn: true,
                ack: true,
                ..Flags::default()
            },
            payload: Vec::new(),
            delay_ns: self.packet_gap_ns * 5,
        });
        self.client_seq = c.wrapping_add(1);
        self.server_seq = s.wrapping_add(1);
        out.push(Segment {
            dir: Dir::ToServer,
            seq: self.client_seq,
            ack: self.server_seq,
            flags: Flags::ACK,
            payload: Vec::new(),
            delay_ns: self.packet_gap_ns,
        });
    }

    /// The bytes of one flight split at the MSS, PSH on the last segment, then (optionally) the
    /// receiver's ACK.
    pub fn flight(&mut self, dir: Dir, bytes: &[u8], out: &mut Vec<Segment>) {
        let mut first = true;
        let pieces = bytes.chunks(self.mss);
        let n = pieces.len();
        for (i, piece) in pieces.enumerate() {
            let (seq, ack) = self.seqs(dir);
            out.push(Segment {
                dir,
                seq,
                ack,
                flags: Flags {
                    ack: true,
                    psh: i + 1 == n,
                    ..Flags::default()
                },
                payload: piece.to_vec(),
                delay_ns: if first {
                    self.flight_gap_ns
                } else {
                    self.packet_gap_ns
                },
            });
            first = false;
            self.advance(dir, piece.len() as u32);
        }
        if self.acks && n > 0 {
            let back = match dir {
                Dir::ToServer => Dir::ToClient,
                Dir::ToClient => Dir::ToServer,
            };
            let (seq, ack) = self.seqs(back);
            out.push(Segment {
                dir: back,
                seq,
                ack,
                flags: Flags::ACK,
                payload: Vec::new(),
                delay_ns: self.packet_gap_ns,
            });
        }
    }

    /// FIN from the client, FIN-ACK from the server, final ACK.
    pub fn close(&mut self, out: &mut Vec<Segment>) {
        let fin = Flags {
            fin: true,
            ack: true,
            ..Flags::default()
        };
        out.push(Segment {
            dir: Dir::ToServer,
            seq: self.client_seq,
            ack: self.server_seq,
            flags: fin,
            payload: Vec::new(),
            delay_ns: self.flight_gap_ns,
        });
        self.client_seq = self.client_seq.wrapping_add(1);
        out.push(Segment {
            dir: Dir::ToClient,
            seq: self.server_seq,
            ack: self.client_seq,
            flags: fin,
            payload: Vec::new(),
            delay_ns: self.packet_gap_ns,
        });
        self.server_seq = self.server_seq.wrapping_add(1);
        out.push(Segment {
            dir: Dir::ToServer,
            seq: self.client_seq,
            ack: self.server_seq,
            flags: Flags::ACK,
            payload: Vec::new(),
            delay_ns: self.packet_gap_ns,
        });
    }
}

/// Positions (in `segs`) of the data-carrying segments.
fn data_positions(segs: &[Segment]) -> Vec<usize> {
    segs.iter()
        .enumerate()
        .filter(|(_, s)| !s.payload.is_empty())
        .map(|(i, _)| i)
        .collect()
}

/// Applies impairments to a laid-out list of segments. Indices refer to the data segments of
/// the list as laid out (before any impairment); an index out of range is an error.
pub fn impair(segs: &mut Vec<Segment>, impairments: &[Impairment]) -> Result<(), String> {
    let data = data_positions(segs);
    let pos = |i: usize| -> Result<usize, String> {
        data.get(i).copied().ok_or_else(|| {
            format!(
                "impairment names data segment {i}, only {} exist",
                data.len()
            )
        })
    };
    // Payload changes first (they keep positions), then moves and copies, tracked by tagging
    // each segment with its original position.
    for imp in impairments {
        if let Impairment::Overlap {
            segment,
            back,
            conflicting,
        } = imp
        {
            let at = pos(*segment)?;
            let prev = if *segment == 0 {
                return Err("overlap needs a data segment before it".into());
            } else {
                pos(*segment - 1)?
            };
            let (Some(p), Some(s)) = (segs.get(prev), segs.get(at)) else {
                return Err("overlap index".into());
            };
            if p.dir != s.dir || p.seq.wrapping_add(p.payload.len() as u32) != s.seq {
                return Err("overlap needs the previous data segment of the same direction".into());
            }
            let back = (*back).min(p.payload.len());
            let mut prefix: Vec<u8> = match p.payload.get(p.payload.len() - back..) {
                Some(t) => t.to_vec(),
                None => return Err("overlap length".into()),
            };
            if *conflicting {
                prefix.iter_mut().for_each(|b| *b = b'X');
            }
            if let Some(s) = segs.get_mut(at) {
                prefix.extend_from_slice(&s.payload);
                s.payload = prefix;
                s.seq = s.seq.wrapping_sub(back as u32);
            }
        }
    }
    let mut tagged: Vec<(usize, Segment)> = segs.drain(..).enumerate().collect();
    for imp in impairments {
        match imp {
            Impairment::Reorder { segment, after } => {
                let from = pos(*segment)?;
                let to = pos(*after)?;
                let i = tagged
                    .iter()
                    .position(|(t, _)| *t == from)
                    .ok_or("reorder: segment already moved")?;
                let item = tagged.remove(i);
                let j = tagged
                    .iter()
                    .position(|(t, _)| *t == to)
                    .ok_or("reorder: target missing")?;
                tagged.insert(j + 1, item);
            }
            Impairment::Retransmit { segment, after } => {
                let from = pos(*segment)?;
                let to = pos(*after)?;
                let copy = tagged
                    .iter()
                    .find(|(t, _)| *t == from)
                    .map(|(_, s)| s.clone())
                    .ok_or("retransmit: segment missing")?;
                let j = tagged
                    .iter()
                    .rposition(|(t, _)| *t == to)
                    .ok_or("retransmit: target missing")?;
                // A retransmission comes after a timeout.
                let mut copy = copy;
                copy.delay_ns = 200_000_000;
                tagged.insert(j + 1, (usize::MAX, copy));
            }
            Impairment::Drop { segment } => {
                let from = pos(*segment)?;
                tagged.retain(|(t, _)| *t != from);
            }
            Impairment::Overlap { .. } => {}
        }
    }
    segs.extend(tagged.into_iter().map(|(_, s)| s));
    Ok(())
}

/// One TCP connection of a scenario.
#[derive(Debug, Clone)]
pub struct Connection {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub flights: Vec<Flight>,
    pub mss: usize,
    pub client_isn: u32,
    pub server_isn: u32,
    /// Lay out the SYN handshake (off: the capture joins the connection in progress).
    pub handshake: bool,
    pub close: bool,
    pub impairments: Vec<Impairment>,
    /// pcapng interface the connection's packets are captured on.
    pub iface: u32,
}

impl Connection {
    pub fn new(client: SocketAddr, server: SocketAddr) -> Connection {
        // ISNs derived from the ports so that every sample differs but stays deterministic;
        // the client's is close to 2^32 so sequence numbers wrap inside most samples.
        let c = u32::from(client.port());
        let s = u32::from(server.port());
        Connection {
            client,
            server,
            flights: Vec::new(),
            mss: 1460,
            client_isn: u32::MAX - 600 - (c % 1024) * 3,
            server_isn: 0x1000_0000u32.wrapping_add(s.wrapping_mul(104_729) ^ c),
            handshake: true,
            close: true,
            impairments: Vec::new(),
            iface: 0,
        }
    }

    /// Adds one exchange: the request flight, then the response flight if there is one.
    pub fn exchange(mut self, ex: &crate::r#gen::http::Exchange) -> Connection {
        self.flights.push(Flight::to_server(ex.request.to_wire()));
        if let Some(r) = &ex.response {
            self.flights.push(Flight::to_client(r.to_wire()));
        }
        self
    }

    pub fn exchanges(self, exs: &[crate::r#gen::http::Exchange]) -> Connection {
        exs.iter().fold(self, |c, e| c.exchange(e))
    }

    pub fn flight(mut self, f: Flight) -> Connection {
        self.flights.push(f);
        self
    }

    pub fn mss(mut self, mss: usize) -> Connection {
        self.mss = mss;
        self
    }

    pub fn impair(mut self, imp: Impairment) -> Connection {
        self.impairments.push(imp);
        self
    }

    pub fn on_iface(mut self, iface: u32) -> Connection {
        self.iface = iface;
        self
    }

    /// The bytes each direction carries, concatenated (what reassembly should recover when
    /// nothing is dropped).
    pub fn stream(&self, dir: Dir) -> Vec<u8> {
        self.flights
            .iter()
            .filter(|f| f.dir == dir)
            .flat_map(|f| f.bytes.iter().copied())
            .collect()
    }

    /// The connection as segments, impairments applied.
    pub fn segments(&self) -> Result<Vec<Segment>, String> {
        let mut flow = TcpFlow::new(self.client_isn, self.server_isn, self.mss);
        let mut segs = Vec::new();
        if self.handshake {
            flow.handshake(&mut segs);
        } else {
            flow.client_seq = flow.client_seq.wrapping_add(1);
            flow.server_seq = flow.server_seq.wrapping_add(1);
        }
        for f in &self.flights {
            flow.flight(f.dir, &f.bytes, &mut segs);
        }
        if self.close {
            flow.close(&mut segs);
        }
        impair(&mut segs, &self.impairments)?;
        Ok(segs)
    }
}

/// A segment with its addresses and capture time: what `frame` encodes.
#[derive(Debug, Clone)]
pub struct Packet {
    pub iface: u32,
    pub ts_ns: u64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub segment: Segment,
}

/// Connections laid out one after another (or interleaved packet by packet).
#[derive(Debug, Clone)]
pub struct Scenario {
    pub start_ns: u64,
    pub connections: Vec<Connection>,
    /// Interleave the connections' packets round-robin instead of one after another.
    pub interleave: bool,
}

impl Scenario {
    pub fn new(start_ns: u64) -> Scenario {
        Scenario {
            start_ns,
            connections: Vec::new(),
            interleave: false,
        }
    }

    pub fn connection(mut self, c: Connection) -> Scenario {
        self.connections.push(c);
        self
    }

    /// All packets in capture order with monotonic timestamps.
    pub fn packets(&self) -> Result<Vec<Packet>, String> {
        let mut per_conn: Vec<std::collections::VecDeque<Packet>> = Vec::new();
        for c in &self.connections {
            let segs = c.segments()?;
            per_conn.push(
                segs.into_iter()
                    .map(|s| {
                        let (src, dst) = match s.dir {
                            Dir::ToServer => (c.client, c.server),
                            Dir::ToClient => (c.server, c.client),
                        };
                        Packet {
                            iface: c.iface,
                            ts_ns: 0,
                            src,
                            dst,
                            segment: s,
                        }
                    })
                    .collect(),
            );
        }
        let mut out = Vec::new();
        if self.interleave {
            loop {
                let mut any = false;
                for q in per_conn.iter_mut() {
                    if let Some(p) = q.pop_front() {
                        out.push(p);
                        any = true;
                    }
                }
                if !any {
                    break;
                }
            }
        } else {
            for q in per_conn {
                out.extend(q);
            }
        }
        let mut t = self.start_ns;
        for p in out.iter_mut() {
            t += p.segment.delay_ns;
            p.ts_ns = t;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// Reassembles one direction, first data wins, from segment sequence numbers.
    fn reassemble(segs: &[Segment], dir: Dir, isn: u32) -> Vec<u8> {
        let base = isn.wrapping_add(1);
        let mut buf: Vec<Option<u8>> = Vec::new();
        for s in segs.iter().filter(|s| s.dir == dir) {
            let off = s.seq.wrapping_sub(base) as usize;
            for (i, b) in s.payload.iter().enumerate() {
                if buf.len() <= off + i {
                    buf.resize(off + i + 1, None);
                }
                if buf[off + i].is_none() {
                    buf[off + i] = Some(*b);
                }
            }
        }
        buf.into_iter().map(|b| b.unwrap_or(b'?')).collect()
    }

    fn conn() -> Connection {
        Connection::new(addr("10.0.0.1:40000"), addr("10.0.0.2:80"))
            .mss(10)
            .flight(Flight::to_server(
                b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(),
            ))
            .flight(Flight::to_client(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            ))
    }

    #[test]
    fn clean_layout_reassembles_and_wraps() {
        let c = conn();
        let segs = c.segments().unwrap();
        assert!(segs[0].flags.syn && !segs[0].flags.ack);
        assert!(segs[1].flags.syn && segs[1].flags.ack);
        // The client ISN is near 2^32: its sequence numbers wrap inside the request.
        assert!(c.client_isn > 0xffff_0000);
        assert_eq!(
            reassemble(&segs, Dir::ToServer, c.client_isn),
            c.stream(Dir::ToServer)
        );
        assert_eq!(
            reassemble(&segs, Dir::ToClient, c.server_isn),
            c.stream(Dir::ToClient)
        );
        assert!(segs.last().unwrap().flags.ack);
        assert_eq!(segs.iter().filter(|s| s.flags.fin).count(), 2);
    }

    #[test]
    fn impairments_change_order_but_not_bytes() {
        let c = conn()
            .impair(Impairment::Reorder {
                segment: 0,
                after: 2,
            })
            .impair(Impairment::Retransmit {
                segment: 1,
                after: 1,
            })
            .impair(Impairment::Overlap {
                segment: 4,
                back: 4,
                conflicting: true,
            });
        let segs = c.segments().unwrap();
        let data: Vec<&Segment> = segs.iter().filter(|s| !s.payload.is_empty()).collect();
        // Reordered: the first data segment now comes after the third; the second is sent twice.
        assert_eq!(data[0].payload, b"/1.1\r\nHost".to_vec());
        assert_eq!(data[1].payload, b"/1.1\r\nHost".to_vec());
        assert_eq!(data[3].payload, b"GET / HTTP".to_vec());
        assert!(data.iter().any(|s| s.payload.starts_with(b"XXXX")));
        assert_eq!(
            reassemble(&segs, Dir::ToServer, c.client_isn),
            c.stream(Dir::ToServer)
        );
    }

    #[test]
    fn drop_leaves_a_hole_and_bad_index_is_an_error() {
        let c = conn().impair(Impairment::Drop { segment: 1 });
        let segs = c.segments().unwrap();
        let got = reassemble(&segs, Dir::ToServer, c.client_isn);
        assert_eq!(&got[10..20], b"??????????");
        let bad = conn().impair(Impairment::Drop { segment: 99 });
        assert!(bad.segments().is_err());
    }

    #[test]
    fn interleaved_scenario_has_monotonic_time() {
        let s = Scenario {
            start_ns: 1000,
            connections: vec![conn(), conn().on_iface(1)],
            interleave: true,
        };
        let p = s.packets().unwrap();
        assert!(p.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns));
        assert_eq!(p[0].iface, 0);
        assert_eq!(p[1].iface, 1);
    }
}
