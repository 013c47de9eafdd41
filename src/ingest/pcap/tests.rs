//! End-to-end tests of the capture path on hand-written pcap and pcapng files.

use std::io::Write;

use super::testutil::{Conv, Link, Pcap, PcapNg, pcap_of, run, run_with, tcp_frame};
use crate::ingest::IngestConfig;
use crate::model::{Anomaly, Locator, Transport};

const GET: &[u8] = b"GET /login?user=bob HTTP/1.1\r\nHost: Example.COM:8080\r\nX-Api-Key: k1\r\nCookie: a=1\r\n\r\n";
const OK: &[u8] = b"HTTP/1.1 200 OK\r\nSet-Cookie: s=1; HttpOnly\r\nset-cookie: t=2\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello";

#[test]
fn one_exchange_with_all_fields() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:8080");
    c.handshake().c(GET).s(OK).fin();
    let (ex, stats, res) = run(&pcap_of(&c.frames, 1));
    res.unwrap();
    assert_eq!(ex.len(), 1);
    let e = &ex[0];
    assert_eq!(e.client, Some("10.0.0.1:40000".parse().unwrap()));
    assert_eq!(e.server, Some("10.0.0.2:8080".parse().unwrap()));
    assert_eq!(e.connection.as_deref(), Some("tcp-1"));
    assert_eq!(e.seq_on_connection, 1);
    assert_eq!(e.transport, Transport::Cleartext);
    assert!(e.anomalies.is_empty(), "{:?}", e.anomalies);
    let r = e.request.as_ref().unwrap();
    assert_eq!(r.locator, Some(Locator::Frame(3)));
    assert_eq!(r.ts, Some(1_700_000_000_000_000_000 + 2_000_000));
    assert_eq!(r.method, "GET");
    assert_eq!(r.target, "/login?user=bob");
    assert_eq!(r.url.host, "example.com");
    assert_eq!(r.url.port, Some(8080));
    assert_eq!(r.url.query.as_deref(), Some("user=bob"));
    assert_eq!(r.version, "HTTP/1.1");
    assert_eq!(r.headers.0[1].name, "X-Api-Key");
    assert_eq!(r.wire_bytes, GET.len() as u64);
    let s = e.response.as_ref().unwrap();
    assert_eq!(s.locator, Some(Locator::Frame(4)));
    assert_eq!(s.status, 200);
    assert_eq!(s.reason, "OK");
    assert_eq!(
        s.set_cookie_lines().collect::<Vec<_>>(),
        vec!["s=1; HttpOnly", "t=2"]
    );
    assert_eq!(s.body.bytes, b"hello");
    assert_eq!(s.body.content_type.as_deref(), Some("text/plain"));
    assert_eq!(s.wire_bytes, OK.len() as u64);
    assert_eq!(stats.exchanges, 1);
    assert_eq!(stats.tcp_connections, 1);
    assert_eq!(stats.packets, 6);
    assert_eq!(stats.link_types.get("ethernet"), Some(&6));
    assert!(stats.warnings.is_empty());
}

#[test]
fn pipelining_keepalive_and_head() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake()
        .c(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nHEAD /b HTTP/1.1\r\nHost: h\r\n\r\nPOST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nx=1")
        .s(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nA1HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        .s(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        .fin();
    let (ex, _, _) = run(&pcap_of(&c.frames, 1));
    let lines: Vec<_> = ex
        .iter()
        .map(|e| {
            (
                e.seq_on_connection,
                e.request.as_ref().unwrap().target.clone(),
                e.status(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            (1, "/a".to_string(), Some(200)),
            (2, "/b".to_string(), Some(200)),
            (3, "/c".to_string(), Some(201)),
        ]
    );
    assert_eq!(ex[2].request.as_ref().unwrap().body.bytes, b"x=1");
    assert!(ex.iter().all(|e| e.anomalies.is_empty()));
}

#[test]
fn chunked_gzip_response_is_decoded() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"{\"token\":\"abc\"}").unwrap();
    let gz = gz.finish().unwrap();
    let (a, b) = gz.split_at(7);
    let mut body = Vec::new();
    body.extend_from_slice(format!("{:x};ext=1\r\n", a.len()).as_bytes());
    body.extend_from_slice(a);
    body.extend_from_slice(format!("\r\n{:X}\r\n", b.len()).as_bytes());
    body.extend_from_slice(b);
    body.extend_from_slice(b"\r\n0\r\nX-Trailer: yes\r\n\r\n");
    let mut resp =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n".to_vec();
    resp.extend_from_slice(&body);
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake().c(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    // The response in 5-byte segments.
    for piece in resp.chunks(5) {
        c.s(piece);
    }
    c.c(b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
        .s(b"HTTP/1.1 204 No Content\r\n\r\n");
    let (ex, _, _) = run(&pcap_of(&c.frames, 1));
    assert_eq!(ex.len(), 2);
    let s = ex[0].response.as_ref().unwrap();
    assert_eq!(s.body.bytes, b"{\"token\":\"abc\"}");
    assert_eq!(s.body.wire_len, gz.len() as u64);
    assert_eq!(s.headers.get("x-trailer"), Some("yes"));
    assert!(ex[0].anomalies.is_empty(), "{:?}", ex[0].anomalies);
    assert_eq!(ex[1].status(), Some(204));
}

#[test]
fn lax_headers_and_tiny_segments_and_long_url() {
    let long = format!("/{}", "q".repeat(16 << 10));
    let req = format!("GET {long} HTTP/1.1\r\nHost: h\r\n\r\n");
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    for b in req.as_bytes().chunks(1).take(200) {
        c.c(b);
    }
    c.c(&req.as_bytes()[200..]);
    c.s(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    // httparse rejects a space in the target and a line without a colon.
    c.c(b"GET /a b HTTP/1.1\r\nHost: h\r\nnot a header\r\nX-F: one\r\n two\r\n\r\n");
    c.s(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let (ex, _, _) = run(&pcap_of(&c.frames, 1));
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0].request.as_ref().unwrap().target, long);
    let r = ex[1].request.as_ref().unwrap();
    assert_eq!(r.target, "/a b");
    assert_eq!(r.headers.get("x-f"), Some("one two"));
    assert!(ex[1].anomalies.contains(&Anomaly::LaxHeaderSyntax));
}

#[test]
fn gap_then_resync_on_next_request() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake()
        .c(b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")
        .c_lost(20)
        .c(b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n")
        .s(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        .s(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        .fin();
    let (ex, stats, _) = run(&pcap_of(&c.frames, 1));
    let targets: Vec<_> = ex
        .iter()
        .map(|e| e.request.as_ref().map(|r| r.target.clone()))
        .collect();
    assert_eq!(
        targets,
        vec![Some("/a".to_string()), Some("/b".to_string())]
    );
    assert!(ex[0].anomalies.contains(&Anomaly::StreamGap));
    assert_eq!(stats.anomalies.get("tcp-gap"), Some(&1));
}

#[test]
fn out_of_order_and_retransmitted_segments() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake()
        .c(b"GET /x HTTP/1.1\r\n")
        .c(b"Host: h\r\n")
        .c(b"\r\n")
        .s(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let mut f = c.frames.clone();
    f.swap(2, 4); // third piece before the first
    let dup = f[3].clone();
    f.insert(4, dup);
    let (ex, _, _) = run(&pcap_of(&f, 1));
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].request.as_ref().unwrap().target, "/x");
    assert_eq!(ex[0].status(), Some(200));
    assert!(ex[0].anomalies.is_empty(), "{:?}", ex[0].anomalies);
}

#[test]
fn orphans_both_ways() {
    // Joined mid-stream: the first thing seen is a response; the last request gets no answer.
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.s(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        .c(b"GET /late HTTP/1.1\r\nHost: h\r\n\r\n");
    let (ex, stats, _) = run(&pcap_of(&c.frames, 1));
    assert_eq!(ex.len(), 2);
    assert!(ex[0].request.is_none());
    assert_eq!(ex[0].server, Some(c.server));
    assert!(ex[0].anomalies.contains(&Anomaly::ResponseWithoutRequest));
    assert!(ex[1].response.is_none());
    assert!(ex[1].anomalies.contains(&Anomaly::RequestWithoutResponse));
    assert_eq!(stats.anomalies.get("request-without-response"), Some(&1));
}

#[test]
fn continue_and_connect_tunnel() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:3128");
    c.handshake()
        .c(b"POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        .s(b"HTTP/1.1 100 Continue\r\n\r\n")
        .c(b"ok")
        .s(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        .c(b"CONNECT inner:80 HTTP/1.1\r\nHost: inner:80\r\n\r\nGET /tunneled HTTP/1.1\r\nHost: inner\r\n\r\n")
        .s(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .s(b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n");
    let (ex, _, _) = run(&pcap_of(&c.frames, 1));
    let got: Vec<_> = ex
        .iter()
        .map(|e| (e.request.as_ref().unwrap().method.clone(), e.status()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("POST".to_string(), Some(200)),
            ("CONNECT".to_string(), Some(200)),
            ("GET".to_string(), Some(302)),
        ]
    );
    assert!(ex[1].anomalies.contains(&Anomaly::ProtocolSwitched));
}

#[test]
fn websocket_upgrade_ends_parsing() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake()
        .c(b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        .s(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello")
        .c(b"\x81\x85GET / HTTP/1.1\r\n\r\n");
    let (ex, _, _) = run(&pcap_of(&c.frames, 1));
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].status(), Some(101));
    assert!(ex[0].anomalies.contains(&Anomaly::ProtocolSwitched));
}

#[test]
fn tls_is_counted_with_sni_and_never_parsed() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:443");
    let hello = crate::http1::tls::build_client_hello("secure.example.org");
    let (a, b) = hello.split_at(20);
    c.handshake()
        .c(a)
        .c(b)
        .s(b"\x16\x03\x03\x00\x10GET / HTTP/1.1\r\n\r\n");
    let (ex, stats, _) = run(&pcap_of(&c.frames, 1));
    assert!(ex.is_empty());
    assert_eq!(stats.tls_connections, 1);
    assert_eq!(stats.snis.get("secure.example.org"), Some(&1));
}

#[test]
fn non_http_is_skipped() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:22");
    c.handshake()
        .s(b"SSH-2.0-OpenSSH_9.0\r\n")
        .c(b"SSH-2.0-client\r\n")
        .c(&[0u8; 3000])
        .s(&[7u8; 3000]);
    let (ex, stats, _) = run(&pcap_of(&c.frames, 1));
    assert!(ex.is_empty());
    assert_eq!(stats.tcp_connections, 1);
    // HTTP on a non-HTTP port is still found.
    let mut d = Conv::new("10.0.0.1:40001", "10.0.0.2:22");
    d.handshake().c(GET).s(OK);
    let (ex, _, _) = run(&pcap_of(&d.frames, 1));
    assert_eq!(ex.len(), 1);
}

#[test]
fn port_reuse_makes_two_connections() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake().c(GET).s(OK).fin();
    let mut d = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    d.cseq = 900_000;
    d.handshake().c(GET).s(OK).fin();
    let mut frames = c.frames.clone();
    frames.extend(d.frames.clone());
    let (ex, stats, _) = run(&pcap_of(&frames, 1));
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[1].connection.as_deref(), Some("tcp-2"));
    assert_eq!(stats.tcp_connections, 2);
}

#[test]
fn link_types_vlan_raw_sll_null_ipv6() {
    for (link, lt, name, client, server) in [
        (Link::Vlan, 1, "ethernet", "10.0.0.1:40000", "10.0.0.2:80"),
        (Link::Raw, 101, "raw", "10.0.0.1:40000", "10.0.0.2:80"),
        (
            Link::Raw,
            229,
            "ipv6",
            "[2001:db8::1]:40000",
            "[2001:db8::2]:80",
        ),
        (Link::Sll, 113, "linux-sll", "10.0.0.1:40000", "10.0.0.2:80"),
        (Link::Null, 0, "null", "[fe80::1]:40000", "[fe80::2]:80"),
        (
            Link::Ethernet,
            1,
            "ethernet",
            "[2001:db8::1]:40000",
            "[2001:db8::2]:80",
        ),
    ] {
        let mut c = Conv::new(client, server);
        c.link = link;
        c.handshake().c(GET).s(OK).fin();
        let (ex, stats, _) = run(&pcap_of(&c.frames, lt));
        assert_eq!(ex.len(), 1, "{link:?}");
        assert_eq!(ex[0].client, Some(c.client));
        assert_eq!(stats.link_types.get(name), Some(&6), "{link:?}");
    }
}

#[test]
fn unsupported_link_type_is_counted() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake().c(GET);
    let (ex, stats, res) = run(&pcap_of(&c.frames, 147));
    res.unwrap();
    assert!(ex.is_empty());
    assert_eq!(stats.link_types.get("unsupported:147"), Some(&3));
}

#[test]
fn nanosecond_big_endian_pcap() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake().c(GET).s(OK);
    let mut p = Pcap::with(1, true, true);
    for (i, f) in c.frames.iter().enumerate() {
        p.record(1_700_000_000_123_456_789 + i as i64, f);
    }
    let (ex, stats, _) = run(&p.bytes);
    assert_eq!(ex.len(), 1);
    assert_eq!(
        ex[0].request.as_ref().unwrap().ts,
        Some(1_700_000_000_123_456_791)
    );
    assert_eq!(stats.first_ts, Some(1_700_000_000_123_456_789));
}

#[test]
fn kuznetzov_pcap_and_pcapng_tsoffset() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake().c(GET).s(OK);
    let mut p = Pcap::kuznetzov(1);
    for f in &c.frames {
        p.record(1_000_000_000, f);
    }
    let (ex, _, res) = run(&p.bytes);
    res.unwrap();
    assert_eq!(ex.len(), 1);
    let mut ng = PcapNg::new();
    ng.interface_with_offset(1, 3, 1_000); // milliseconds, +1000 s
    for f in &c.frames {
        ng.enhanced(0, 5_500, f);
    }
    let (ex, _, _) = run(&ng.bytes);
    assert_eq!(ex[0].ts(), Some(1_005_500_000_000));
}

#[test]
fn pcapng_sections_interfaces_and_blocks() {
    let mut eth = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    eth.handshake().c(GET).s(OK);
    let mut raw = Conv::new("10.0.0.3:40000", "10.0.0.4:80");
    raw.link = Link::Raw;
    raw.handshake().c(GET).s(OK);
    let mut ng = PcapNg::new();
    ng.interface(1, 6); // microseconds
    ng.interface(101, 9); // nanoseconds
    ng.decryption_secrets();
    for (i, (a, b)) in eth.frames.iter().zip(raw.frames.iter()).enumerate() {
        ng.enhanced(0, 1_700_000_000_000_000 + i as u64, a);
        ng.enhanced(1, 1_700_000_000_000_000_000 + i as u64, b);
    }
    // A second section with its own interface table; frame numbers go on.
    ng.section();
    ng.interface(1, 6);
    let mut third = Conv::new("10.0.0.5:40000", "10.0.0.6:80");
    third.handshake().c(GET);
    for f in &third.frames {
        ng.simple(f);
    }
    let (ex, stats, res) = run(&ng.bytes);
    res.unwrap();
    assert_eq!(stats.decryption_secrets, 1);
    assert_eq!(stats.packets, 11);
    assert_eq!(stats.link_types.get("raw"), Some(&4));
    assert_eq!(ex.len(), 3);
    let mut by_client: Vec<_> = ex
        .iter()
        .map(|e| (e.client.unwrap().ip().to_string(), e.locator(), e.ts()))
        .collect();
    by_client.sort();
    assert_eq!(by_client[0].1, Some(Locator::Frame(5)));
    assert_eq!(by_client[0].2, Some(1_700_000_000_000_002_000));
    assert_eq!(by_client[1].1, Some(Locator::Frame(6)));
    assert_eq!(by_client[1].2, Some(1_700_000_000_000_000_002));
    assert_eq!(by_client[2].1, Some(Locator::Frame(11)));
}

#[test]
fn truncated_file_keeps_what_came_before() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake()
        .c(GET)
        .s(OK)
        .c(b"GET /second HTTP/1.1\r\nHost: h\r\n\r\n");
    let bytes = pcap_of(&c.frames, 1);
    let cut = &bytes[..bytes.len() - 10];
    let (ex, stats, res) = run(cut);
    res.unwrap();
    assert_eq!(ex.len(), 1);
    assert_eq!(stats.warnings.len(), 1);
    let w = &stats.warnings[0];
    assert!(
        w.contains("after frame 4") && w.contains("byte offset"),
        "{w}"
    );
    // Also through gzip, which hands out short reads.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(cut).unwrap();
    let gz = gz.finish().unwrap();
    let mut dec = flate2::read::GzDecoder::new(&gz[..]);
    let mut seen = 0;
    let mut st = crate::model::SourceStats::default();
    super::read_capture(
        &mut dec,
        &std::sync::Arc::from("x"),
        &IngestConfig::default(),
        &mut st,
        &mut |_| seen += 1,
    )
    .unwrap();
    assert_eq!(seen, 1);
}

#[test]
fn absurd_record_length_is_not_allocated() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake().c(GET).s(OK);
    let mut bytes = pcap_of(&c.frames, 1);
    // A record header claiming 3 GB.
    bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xb0, 0, 0, 0, 0xb0]);
    bytes.extend_from_slice(&[0u8; 100]);
    let (ex, stats, res) = run(&bytes);
    res.unwrap();
    assert_eq!(ex.len(), 1);
    assert!(
        stats.warnings[0].contains("corrupt"),
        "{:?}",
        stats.warnings
    );
    // Bigger than the configured limit, though under Wireshark's: also refused.
    let cfg = IngestConfig {
        max_record_bytes: 64 << 10,
        ..IngestConfig::default()
    };
    let mut p = Pcap::new(1);
    p.record(0, &vec![0u8; 100 << 10]);
    let (_, stats, res) = run_with(&p.bytes, &cfg);
    res.unwrap();
    assert!(stats.warnings[0].contains("limit"), "{:?}", stats.warnings);
}

#[test]
fn unreadable_header_is_an_error() {
    let (_, _, res) = run(b"\xd4\xc3\xb2");
    assert!(res.is_err());
    let (_, _, res) = run(b"\x0a\x0d\x0d\x0a\x00\x00\x00\x00garbage");
    assert!(res.is_err());
}

#[test]
fn ipv4_fragments_are_reassembled() {
    let src: std::net::SocketAddr = "10.0.0.1:40000".parse().unwrap();
    let dst: std::net::SocketAddr = "10.0.0.2:80".parse().unwrap();
    let full = tcp_frame(Link::Raw, src, dst, 1, None, "", GET);
    // Split the IP payload (TCP header + data) at 24 bytes: two fragments.
    let (hdr, payload) = full.split_at(20);
    let frag = |off: usize, more: bool, data: &[u8]| {
        let mut h = hdr.to_vec();
        let total = (20 + data.len()) as u16;
        h[2..4].copy_from_slice(&total.to_be_bytes());
        let fo = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
        h[6..8].copy_from_slice(&fo.to_be_bytes());
        h[4..6].copy_from_slice(&77u16.to_be_bytes());
        h[10..12].copy_from_slice(&[0, 0]);
        h.extend_from_slice(data);
        h
    };
    let f2 = frag(24, false, &payload[24..]);
    let f1 = frag(0, true, &payload[..24]);
    let (ex, _, _) = run(&pcap_of(&[f2, f1], 101));
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].request.as_ref().unwrap().target, "/login?user=bob");
}

#[test]
fn wrapping_sequence_numbers() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.cseq = u32::MAX - 10;
    c.handshake().c(&GET[..5]).c(&GET[5..]).s(OK);
    let (ex, _, _) = run(&pcap_of(&c.frames, 1));
    assert_eq!(ex.len(), 1);
    assert!(ex[0].anomalies.is_empty());
}

/// A pcap produced on the fly: `conns` keep-alive connections, each with `reqs` request/response
/// pairs (a 4 KiB response in three segments), interleaved in groups of 50 live connections.
struct Synth {
    conns: u32,
    reqs: u32,
    next_conn: u32,
    pending: std::collections::VecDeque<u8>,
    header_done: bool,
}

impl Synth {
    fn fill(&mut self) -> bool {
        if !self.header_done {
            self.header_done = true;
            self.pending.extend(Pcap::new(1).bytes);
            return true;
        }
        if self.next_conn >= self.conns {
            return false;
        }
        // 50 connections at a time, their packets interleaved round-robin.
        let group: Vec<u32> = (self.next_conn..(self.next_conn + 50).min(self.conns)).collect();
        self.next_conn += group.len() as u32;
        let body = vec![b'x'; 4096];
        let mut resp =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        resp.extend_from_slice(&body);
        let mut convs: Vec<Conv> = group
            .iter()
            .map(|i| {
                let client = format!(
                    "10.{}.{}.{}:{}",
                    (i >> 16) & 255,
                    (i >> 8) & 255,
                    i & 255,
                    1024 + (i % 60000)
                );
                let mut c = Conv::new(&client, "10.255.0.1:80");
                c.handshake();
                c
            })
            .collect();
        for r in 0..self.reqs {
            for c in convs.iter_mut() {
                c.c(
                    format!("GET /item/{r} HTTP/1.1\r\nHost: h\r\nCookie: sid=abc\r\n\r\n")
                        .as_bytes(),
                );
                for piece in resp.chunks(1448) {
                    c.s(piece);
                }
            }
        }
        for c in convs.iter_mut() {
            c.fin();
        }
        let mut p = Pcap::new(1);
        p.bytes.clear();
        let n = convs.iter().map(|c| c.frames.len()).max().unwrap_or(0);
        let t0 = 1_700_000_000_000_000_000i64 + i64::from(self.next_conn) * 1_000_000_000;
        for k in 0..n {
            for c in &convs {
                if let Some(f) = c.frames.get(k) {
                    p.record(t0 + k as i64 * 1000, f);
                }
            }
        }
        self.pending.extend(p.bytes);
        true
    }
}

impl std::io::Read for Synth {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pending.len() < buf.len() && self.fill() {}
        let n = buf.len().min(self.pending.len());
        for (i, b) in self.pending.drain(..n).enumerate() {
            buf[i] = b;
        }
        Ok(n)
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|v| v.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

/// Memory stays flat when the capture grows tenfold with the same traffic mix (run alone:
/// `cargo test --lib memory_flat -- --ignored --nocapture`).
#[test]
#[ignore]
fn memory_flat_over_capture_size() {
    let mut results = Vec::new();
    for conns in [2_000u32, 20_000] {
        let mut s = Synth {
            conns,
            reqs: 3,
            next_conn: 0,
            pending: Default::default(),
            header_done: false,
        };
        let mut stats = crate::model::SourceStats::default();
        let mut n = 0u64;
        let t = std::time::Instant::now();
        super::read_capture(
            &mut s,
            &std::sync::Arc::from("synth"),
            &IngestConfig::default(),
            &mut stats,
            &mut |_| n += 1,
        )
        .unwrap();
        let rss = peak_rss_kib();
        println!(
            "conns={conns} exchanges={n} packets={} bytes={} time={:?} peak_rss={rss} KiB",
            stats.packets,
            stats.bytes,
            t.elapsed()
        );
        assert_eq!(n, u64::from(conns) * 3);
        results.push(rss);
    }
    // The second run is ten times larger; allow some allocator noise.
    assert!(results[1] < results[0] + 32 * 1024, "{results:?}");
}

fn rich_capture() -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"secret body secret body").unwrap();
    let gz = gz.finish().unwrap();
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n{:x}\r\n",
        gz.len()
    )
    .into_bytes();
    resp.extend_from_slice(&gz);
    resp.extend_from_slice(b"\r\n0\r\n\r\n");
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake()
        .c(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab")
        .c(b"cd")
        .s(&resp)
        .s(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nxyz")
        .c(b"CONNECT x:443 HTTP/1.1\r\n\r\n")
        .s(b"HTTP/1.1 200 OK\r\n\r\n")
        .c(&crate::http1::tls::build_client_hello("h.example"))
        .fin();
    pcap_of(&c.frames, 1)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    /// Corrupted and cut captures end with a warning at worst: never a panic or a hang.
    #[test]
    fn mutated_captures_never_panic(
        flips in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>()), 0..40),
        cut in proptest::prelude::any::<proptest::sample::Index>(),
    ) {
        let mut bytes = rich_capture();
        for (i, v) in &flips {
            let i = i.index(bytes.len());
            bytes[i] = *v;
        }
        let keep = cut.index(bytes.len() + 1);
        let _ = run(&bytes[..keep]);
    }
}

fn sctp_packet(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    chunks: &[(u32, &[u8])],
) -> Vec<u8> {
    let mut sctp = Vec::new();
    sctp.extend_from_slice(&sport.to_be_bytes());
    sctp.extend_from_slice(&dport.to_be_bytes());
    sctp.extend_from_slice(&[0u8; 8]); // verification tag, checksum
    for (tsn, data) in chunks {
        let len = 16 + data.len();
        sctp.extend_from_slice(&[0, 0x03]);
        sctp.extend_from_slice(&(len as u16).to_be_bytes());
        sctp.extend_from_slice(&tsn.to_be_bytes());
        sctp.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // stream, ssn, ppid
        sctp.extend_from_slice(data);
        while !sctp.len().is_multiple_of(4) {
            sctp.push(0);
        }
    }
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&((20 + sctp.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0, 0, 64, 132, 0, 0]);
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    ip.extend_from_slice(&sctp);
    ip
}

#[test]
fn http_over_sctp() {
    let (c, s) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let frames = vec![
        sctp_packet(c, s, 5000, 80, &[(7, &GET[..10]), (8, &GET[10..])]),
        sctp_packet(c, s, 5000, 80, &[(8, &GET[10..])]), // retransmitted chunk
        sctp_packet(s, c, 80, 5000, &[(100, OK)]),
    ];
    let (ex, _, _) = run(&pcap_of(&frames, 101));
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].request.as_ref().unwrap().target, "/login?user=bob");
    assert_eq!(ex[0].status(), Some(200));
    assert!(ex[0].anomalies.is_empty(), "{:?}", ex[0].anomalies);
}

#[test]
fn bounds_are_warned_with_the_frame() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake()
        .c_lost(10)
        .c(b"0123456789")
        .c(b"abcdefghij")
        .c(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let cfg = IngestConfig {
        max_ooo_bytes_per_flow: 15,
        ..IngestConfig::default()
    };
    let (ex, stats, _) = run_with(&pcap_of(&c.frames, 1), &cfg);
    assert_eq!(ex.len(), 1);
    assert_eq!(stats.anomalies.get("tcp-ooo-limit"), Some(&1));
    assert!(
        stats.warnings[0].contains("first at frame 4"),
        "{:?}",
        stats.warnings
    );
}
