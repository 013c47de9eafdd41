//! Link, IP and TCP framing of the generator's segments, through etherparse's `PacketBuilder`
//! (correct lengths and checksums): Ethernet, 802.1Q VLAN and QinQ, Linux cooked (SLL) and raw
//! IP link types, IPv4 or IPv6 from the endpoints' addresses. Fed by `tcp`, feeds `capture`.

use std::net::{IpAddr, SocketAddr};

use etherparse::{
    IpHeaders, IpNumber, Ipv4Header, Ipv6FlowLabel, Ipv6Header, LinuxSllPacketType, PacketBuilder,
    PacketBuilderStep, TcpHeader, TcpOptionElement, VlanId,
};

use super::GenError;
use super::tcp::Segment;

/// LINKTYPE_ETHERNET.
pub const LINKTYPE_ETHERNET: u16 = 1;
/// LINKTYPE_RAW (raw IPv4/IPv6, no link header).
pub const LINKTYPE_RAW: u16 = 101;
/// LINKTYPE_LINUX_SLL (Linux cooked capture v1).
pub const LINKTYPE_LINUX_SLL: u16 = 113;

/// The link layer under IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Ethernet,
    /// Ethernet with one 802.1Q tag.
    Vlan(u16),
    /// Ethernet with an outer (802.1ad) and an inner tag.
    QinQ(u16, u16),
    LinuxSll,
    RawIp,
}

impl Link {
    pub fn linktype(self) -> u16 {
        match self {
            Link::Ethernet | Link::Vlan(_) | Link::QinQ(..) => LINKTYPE_ETHERNET,
            Link::LinuxSll => LINKTYPE_LINUX_SLL,
            Link::RawIp => LINKTYPE_RAW,
        }
    }
}

/// A locally administered MAC derived from an IP address, so frames look like real hosts.
pub fn mac_of(ip: IpAddr) -> [u8; 6] {
    let h = match ip {
        IpAddr::V4(a) => u32::from(a).to_be_bytes(),
        IpAddr::V6(a) => {
            let o = a.octets();
            [o[12], o[13], o[14], o[15]]
        }
    };
    [0x02, 0x42, h[0], h[1], h[2], h[3]]
}

/// Encodes segments as frames of one link type. Keeps the IPv4 identification counter.
#[derive(Debug, Clone)]
pub struct Framer {
    pub link: Link,
    ip_id: u16,
}

impl Framer {
    pub fn new(link: Link) -> Framer {
        Framer {
            link,
            ip_id: 0x1c46,
        }
    }

    fn vlan(id: u16) -> Result<VlanId, GenError> {
        VlanId::try_new(id).map_err(|e| GenError::Build(e.to_string()))
    }

    /// Appends the frame for `seg` sent from `src` to `dst` to `out`. `outgoing` tells the
    /// Linux cooked header whether the capturing host (the client) sent it.
    pub fn encode(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        seg: &Segment,
        outgoing: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), GenError> {
        let ip = match (src.ip(), dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let mut h = Ipv4Header::new(0, 64, IpNumber::TCP, s.octets(), d.octets())
                    .map_err(|e| GenError::Build(e.to_string()))?;
                h.identification = self.ip_id;
                h.dont_fragment = true;
                self.ip_id = self.ip_id.wrapping_add(1);
                IpHeaders::Ipv4(h, Default::default())
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => IpHeaders::Ipv6(
                Ipv6Header {
                    traffic_class: 0,
                    flow_label: Ipv6FlowLabel::ZERO,
                    payload_length: 0,
                    next_header: IpNumber::TCP,
                    hop_limit: 64,
                    source: s.octets(),
                    destination: d.octets(),
                },
                Default::default(),
            ),
            _ => {
                return Err(GenError::Build(format!(
                    "endpoints {src} and {dst} mix IPv4 and IPv6"
                )));
            }
        };
        let (smac, dmac) = (mac_of(src.ip()), mac_of(dst.ip()));
        let step: PacketBuilderStep<IpHeaders> = match self.link {
            Link::Ethernet => PacketBuilder::ethernet2(smac, dmac).ip(ip),
            Link::Vlan(id) => PacketBuilder::ethernet2(smac, dmac)
                .single_vlan(Self::vlan(id)?)
                .ip(ip),
            Link::QinQ(outer, inner) => PacketBuilder::ethernet2(smac, dmac)
                .double_vlan(Self::vlan(outer)?, Self::vlan(inner)?)
                .ip(ip),
            Link::LinuxSll => {
                let mut addr = [0u8; 8];
                addr[..6].copy_from_slice(&smac);
                let kind = if outgoing {
                    LinuxSllPacketType::OUTGOING
                } else {
                    LinuxSllPacketType::HOST
                };
                PacketBuilder::linux_sll(kind, 6, addr).ip(ip)
            }
            Link::RawIp => PacketBuilder::ip(ip),
        };
        let mut tcp = TcpHeader::new(src.port(), dst.port(), seg.seq, 64240);
        tcp.syn = seg.flags.syn;
        tcp.fin = seg.flags.fin;
        tcp.rst = seg.flags.rst;
        tcp.psh = seg.flags.psh;
        tcp.ack = seg.flags.ack;
        tcp.acknowledgment_number = if seg.flags.ack { seg.ack } else { 0 };
        if seg.flags.syn {
            tcp.set_options(&[
                TcpOptionElement::MaximumSegmentSize(1460),
                TcpOptionElement::Noop,
                TcpOptionElement::WindowScale(7),
                TcpOptionElement::SelectiveAcknowledgementPermitted,
            ])
            .map_err(|e| GenError::Build(e.to_string()))?;
        }
        step.tcp_header(tcp)
            .write_to_vec(out, &seg.payload)
            .map_err(|e| GenError::Build(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::r#gen::tcp::{Dir, Flags};
    use etherparse::{LinkSlice, NetSlice, SlicedPacket, TransportSlice};

    fn seg() -> Segment {
        Segment {
            dir: Dir::ToServer,
            seq: 4_294_967_000,
            ack: 77,
            flags: Flags {
                ack: true,
                psh: true,
                ..Flags::default()
            },
            payload: b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            delay_ns: 0,
        }
    }

    fn check(link: Link, src: &str, dst: &str) -> Vec<u8> {
        let mut f = Framer::new(link);
        let mut out = Vec::new();
        f.encode(
            src.parse().unwrap(),
            dst.parse().unwrap(),
            &seg(),
            true,
            &mut out,
        )
        .unwrap();
        let p = match link {
            Link::RawIp => SlicedPacket::from_ip(&out).unwrap(),
            Link::LinuxSll => SlicedPacket::from_linux_sll(&out).unwrap(),
            _ => SlicedPacket::from_ethernet(&out).unwrap(),
        };
        let Some(TransportSlice::Tcp(t)) = &p.transport else {
            panic!("no TCP in {link:?}");
        };
        assert_eq!(t.sequence_number(), 4_294_967_000);
        assert_eq!(t.acknowledgment_number(), 77);
        assert!(t.psh() && t.ack());
        assert_eq!(t.payload(), seg().payload.as_slice());
        match &p.net {
            Some(NetSlice::Ipv4(ip)) => {
                // A wrong checksum fails this recomputation.
                let h = ip.header().to_header();
                assert_eq!(h.calc_header_checksum(), h.header_checksum);
            }
            Some(NetSlice::Ipv6(_)) => assert!(dst.starts_with('[')),
            _ => panic!("no IP"),
        }
        if let Link::Vlan(_) | Link::QinQ(..) = link {
            assert!(p.vlan().is_some());
        }
        if link == Link::LinuxSll {
            assert!(matches!(p.link, Some(LinkSlice::LinuxSll(_))));
        }
        drop(p);
        out
    }

    #[test]
    fn every_link_type_decodes_with_etherparse() {
        check(Link::Ethernet, "10.0.0.1:4000", "10.0.0.2:80");
        check(Link::Vlan(100), "10.0.0.1:4000", "10.0.0.2:80");
        check(Link::QinQ(200, 300), "10.0.0.1:4000", "10.0.0.2:80");
        check(Link::LinuxSll, "10.0.0.1:4000", "10.0.0.2:80");
        check(Link::RawIp, "10.0.0.1:4000", "10.0.0.2:80");
        check(Link::Ethernet, "[2001:db8::1]:4000", "[2001:db8::2]:80");
        check(Link::RawIp, "[2001:db8::1]:4000", "[2001:db8::2]:80");
    }

    #[test]
    fn tcp_checksum_is_valid() {
        let out = check(Link::RawIp, "10.0.0.1:4000", "10.0.0.2:80");
        let p = SlicedPacket::from_ip(&out).unwrap();
        let (Some(NetSlice::Ipv4(ip)), Some(TransportSlice::Tcp(t))) = (p.net, p.transport) else {
            panic!()
        };
        let expect = t
            .to_header()
            .calc_checksum_ipv4(&ip.header().to_header(), t.payload())
            .unwrap();
        assert_eq!(t.checksum(), expect);
    }

    #[test]
    fn mixed_families_are_refused() {
        let mut f = Framer::new(Link::Ethernet);
        let r = f.encode(
            "10.0.0.1:1".parse().unwrap(),
            "[::1]:2".parse().unwrap(),
            &seg(),
            true,
            &mut Vec::new(),
        );
        assert!(r.is_err());
    }
}
