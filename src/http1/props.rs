//! Property tests of the capture path from TCP segments to exchanges (`reassembly` feeding
//! `http1`): how a stream is cut, reordered and duplicated on the wire never changes the
//! exchanges, and a random exchange written as HTTP/1.1 and cut at random reads back as itself.

use std::sync::Arc;

use proptest::prelude::*;

use super::Http1Handler;
use crate::ingest::IngestConfig;
use crate::model::{Exchange, SourceStats};
use crate::reassembly::{Meta, ReasmConfig, Reassembler, Segment};

const CLIENT: &str = "10.0.0.1:40000";
const SERVER: &str = "10.0.0.2:80";
const CLIENT_ISN: u32 = 0xffff_ff00;
const SERVER_ISN: u32 = 77;

/// One segment to send: from the client or not, its offset in its direction's stream, its bytes.
#[derive(Debug, Clone)]
struct Piece {
    from_client: bool,
    off: usize,
    bytes: Vec<u8>,
}

/// Cuts `data` (at stream offset `base`) at the given points into pieces.
fn cut(from_client: bool, base: usize, data: &[u8], cuts: &[usize]) -> Vec<Piece> {
    let mut pts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    pts.extend([0, data.len()]);
    pts.sort_unstable();
    pts.dedup();
    pts.windows(2)
        .map(|w| Piece {
            from_client,
            off: base + w[0],
            bytes: data[w[0]..w[1]].to_vec(),
        })
        .collect()
}

/// The comparable content of an exchange (locators depend on frame order and are left out).
type Summary = (
    Option<(String, String, String, Vec<(String, String)>, Vec<u8>)>,
    Option<(u16, String, Vec<(String, String)>, Vec<u8>)>,
    Vec<crate::model::Anomaly>,
);

fn summary(e: &Exchange) -> Summary {
    let hs = |h: &crate::model::Headers| {
        h.iter()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect::<Vec<_>>()
    };
    (
        e.request.as_ref().map(|r| {
            (
                r.method.clone(),
                r.target.clone(),
                r.version.clone(),
                hs(&r.headers),
                r.body.bytes.clone(),
            )
        }),
        e.response.as_ref().map(|r| {
            (
                r.status,
                r.reason.clone(),
                hs(&r.headers),
                r.body.bytes.clone(),
            )
        }),
        e.anomalies.clone(),
    )
}

/// Feeds the handshake, then `pieces` in order, through reassembly and the HTTP parser; ends
/// with both FINs.
fn exchanges(pieces: &[Piece], client_len: usize, server_len: usize) -> Vec<Exchange> {
    let cfg = IngestConfig::default();
    let mut stats = SourceStats::default();
    let mut out = Vec::new();
    let mut sink = |e: Exchange| out.push(e);
    {
        let mut h = Http1Handler::new(Arc::from("p"), &cfg, &mut stats, &mut sink);
        let mut r = Reassembler::new(ReasmConfig::from(&cfg));
        let c: std::net::SocketAddr = CLIENT.parse().unwrap();
        let s: std::net::SocketAddr = SERVER.parse().unwrap();
        // (from the client, sequence number, SYN, FIN, payload)
        let mut segs: Vec<(bool, u32, bool, bool, &[u8])> = vec![
            (true, CLIENT_ISN, true, false, b""),
            (false, SERVER_ISN, true, false, b""),
        ];
        for p in pieces {
            let isn = if p.from_client {
                CLIENT_ISN
            } else {
                SERVER_ISN
            };
            let seq = isn.wrapping_add(1).wrapping_add(p.off as u32);
            segs.push((p.from_client, seq, false, false, &p.bytes));
        }
        let cfin = CLIENT_ISN.wrapping_add(1).wrapping_add(client_len as u32);
        let sfin = SERVER_ISN.wrapping_add(1).wrapping_add(server_len as u32);
        segs.push((true, cfin, false, true, b""));
        segs.push((false, sfin, false, true, b""));
        for (i, (from_client, seq, syn, fin, payload)) in segs.into_iter().enumerate() {
            let (src, dst) = if from_client { (c, s) } else { (s, c) };
            let seg = Segment {
                src,
                dst,
                seq,
                ack: None,
                syn,
                fin,
                rst: false,
                payload,
            };
            let frame = i as u64 + 1;
            r.segment(
                &seg,
                Meta {
                    frame,
                    ts: frame as i64 * 1000,
                },
                &mut h,
            );
        }
        r.finish_all(&mut h);
    }
    out
}

/// Request/response pairs of a keep-alive conversation covering the framings: no body,
/// Content-Length, chunked with extensions and trailers, gzip, pipelining, HEAD, 100-continue,
/// 204, and a final close-delimited body.
fn conversation() -> Vec<(Vec<u8>, Vec<u8>)> {
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b"{\"token\":\"abc\",\"n\":[1,2,3]}").unwrap();
        e.finish().unwrap()
    };
    let mut gz_resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        gz.len()
    )
    .into_bytes();
    gz_resp.extend_from_slice(&gz);
    vec![
        (
            b"GET /a?k=1 HTTP/1.1\r\nHost: h\r\nCookie: sid=1\r\n\r\n".to_vec(),
            b"HTTP/1.1 200 OK\r\nSet-Cookie: sid=2; HttpOnly\r\nContent-Length: 3\r\n\r\none".to_vec(),
        ),
        (
            b"POST /login HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nuser=\r\n9\r\nbob&pw=pw\r\n0\r\nT: 1\r\n\r\n".to_vec(),
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 302 Found\r\nLocation: /home\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n".to_vec(),
        ),
        (b"GET /data HTTP/1.1\r\nHost: h\r\n\r\n".to_vec(), gz_resp),
        (
            b"HEAD /c HTTP/1.1\r\nHost: h\r\n\r\n".to_vec(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n".to_vec(),
        ),
        (
            b"DELETE /d HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer t0k3n\r\n\r\n".to_vec(),
            b"HTTP/1.1 204 No Content\r\n\r\n".to_vec(),
        ),
        (
            b"GET /last HTTP/1.0\r\n\r\n".to_vec(),
            b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the connection closes".to_vec(),
        ),
    ]
}

/// Lays out a conversation on the wire: each request, then its response (or, `pipelined`, every
/// request first), each message cut at `cuts`, then reordered within the message by `order`
/// and followed by duplicates of earlier pieces of its direction chosen by `dups`.
fn wire(
    conv: &[(Vec<u8>, Vec<u8>)],
    pipelined: bool,
    cuts: &[usize],
    order: &[prop::sample::Index],
    dups: &[prop::sample::Index],
) -> (Vec<Piece>, usize, usize) {
    let (mut coff, mut soff) = (0usize, 0usize);
    let mut client_msgs = Vec::new();
    let mut server_msgs = Vec::new();
    for (i, (q, a)) in conv.iter().enumerate() {
        let k = cuts.len() / 2;
        let shift = |c: &[usize]| c.iter().map(|x| x.wrapping_add(i * 7)).collect::<Vec<_>>();
        client_msgs.push(cut(true, coff, q, &shift(&cuts[..k])));
        server_msgs.push(cut(false, soff, a, &shift(&cuts[k..])));
        coff += q.len();
        soff += a.len();
    }
    let mut msgs = Vec::new();
    if pipelined {
        msgs.extend(client_msgs);
        msgs.extend(server_msgs);
    } else {
        for (q, a) in client_msgs.into_iter().zip(server_msgs) {
            msgs.push(q);
            msgs.push(a);
        }
    }
    let mut sent: Vec<Piece> = Vec::new();
    let mut o = order.iter().cycle();
    let mut d = dups.iter();
    for mut m in msgs {
        // A random permutation of the message's pieces.
        for i in (1..m.len()).rev() {
            let j = o.next().map_or(0, |x| x.index(i + 1));
            m.swap(i, j);
        }
        let from_client = m.first().is_some_and(|p| p.from_client);
        sent.extend(m);
        // Retransmissions of something already sent in this direction.
        if let Some(x) = d.next() {
            let earlier: Vec<&Piece> = sent
                .iter()
                .filter(|p| p.from_client == from_client)
                .collect();
            if !earlier.is_empty() {
                let p = earlier[x.index(earlier.len())].clone();
                sent.push(p);
            }
        }
    }
    (sent, coff, soff)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any segmentation, reordering (within each message) and duplication of both streams gives
    /// the exchanges of the in-order stream sent in one segment per message.
    #[test]
    fn segmentation_reordering_duplication_do_not_matter(
        pipelined in any::<bool>(),
        cuts in proptest::collection::vec(0usize..600, 0..40),
        order in proptest::collection::vec(any::<prop::sample::Index>(), 1..40),
        dups in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let conv = conversation();
        let (base, cl, sl) = wire(&conv, pipelined, &[], &[], &[]);
        let want: Vec<Summary> = exchanges(&base, cl, sl).iter().map(summary).collect();
        prop_assert_eq!(want.len(), conv.len());
        let (pieces, cl2, sl2) = wire(&conv, pipelined, &cuts, &order, &dups);
        prop_assert_eq!((cl, sl), (cl2, sl2));
        let got: Vec<Summary> = exchanges(&pieces, cl, sl).iter().map(summary).collect();
        prop_assert_eq!(got, want);
    }
}

/// A random HTTP/1.1 message: head fields and a body with its framing.
#[derive(Debug, Clone)]
struct Msg {
    first: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Chunk sizes to frame the body with; `None`: Content-Length.
    chunks: Option<Vec<usize>>,
}

impl Msg {
    fn wire(&self) -> Vec<u8> {
        let mut w = format!("{}\r\n", self.first).into_bytes();
        for (n, v) in &self.headers {
            w.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        match &self.chunks {
            None => {
                w.extend_from_slice(
                    format!("Content-Length: {}\r\n\r\n", self.body.len()).as_bytes(),
                );
                w.extend_from_slice(&self.body);
            }
            Some(sizes) => {
                w.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                let mut rest = &self.body[..];
                let mut sizes = sizes.iter().cycle();
                while !rest.is_empty() {
                    let n = sizes.next().copied().unwrap_or(1).clamp(1, rest.len());
                    w.extend_from_slice(format!("{n:x}\r\n").as_bytes());
                    w.extend_from_slice(&rest[..n]);
                    w.extend_from_slice(b"\r\n");
                    rest = &rest[n..];
                }
                w.extend_from_slice(b"0\r\n\r\n");
            }
        }
        w
    }

    /// The headers as parsed back: the random ones, then the framing header.
    fn parsed_headers(&self) -> Vec<(String, String)> {
        let mut h = self.headers.clone();
        match &self.chunks {
            None => h.push(("Content-Length".into(), self.body.len().to_string())),
            Some(_) => h.push(("Transfer-Encoding".into(), "chunked".into())),
        }
        h
    }
}

fn header_strategy() -> impl Strategy<Value = (String, String)> {
    (
        "[A-Za-z][A-Za-z0-9-]{0,15}".prop_filter("not a framing or protocol header", |n| {
            ![
                "content-length",
                "transfer-encoding",
                "content-encoding",
                "upgrade",
                "connection",
            ]
            .contains(&n.to_ascii_lowercase().as_str())
        }),
        "[!-~]([ -~]{0,30}[!-~])?",
    )
}

fn msg_strategy(first: impl Strategy<Value = String>) -> impl Strategy<Value = Msg> {
    (
        first,
        proptest::collection::vec(header_strategy(), 0..8),
        proptest::collection::vec(any::<u8>(), 0..3000),
        proptest::option::of(proptest::collection::vec(1usize..700, 1..5)),
    )
        .prop_map(|(first, headers, body, chunks)| Msg {
            first,
            headers,
            body,
            chunks,
        })
}

fn request_strategy() -> impl Strategy<Value = Msg> {
    msg_strategy(
        (
            prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
            "/[!-~&&[^#]]{0,40}",
        )
            .prop_map(|(m, t)| format!("{m} {t} HTTP/1.1")),
    )
}

fn response_strategy() -> impl Strategy<Value = Msg> {
    msg_strategy(
        (200u16..600, "[A-Za-z]([A-Za-z ]{0,20}[A-Za-z])?")
            .prop_filter("a status with a body", |(s, _)| *s != 204 && *s != 304)
            .prop_map(|(s, r)| format!("HTTP/1.1 {s} {r}")),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Random exchanges written as HTTP/1.1 on one keep-alive connection, cut at random, read
    /// back as the same exchanges.
    #[test]
    fn random_exchanges_read_back_as_themselves(
        pairs in proptest::collection::vec((request_strategy(), response_strategy()), 1..5),
        cuts in proptest::collection::vec(0usize..4000, 0..30),
    ) {
        let conv: Vec<(Vec<u8>, Vec<u8>)> =
            pairs.iter().map(|(q, a)| (q.wire(), a.wire())).collect();
        let (pieces, cl, sl) = wire(&conv, false, &cuts, &[], &[]);
        let got = exchanges(&pieces, cl, sl);
        prop_assert_eq!(got.len(), pairs.len());
        for (e, (q, a)) in got.iter().zip(&pairs) {
            let (req, resp) = (e.request.as_ref().unwrap(), e.response.as_ref().unwrap());
            prop_assert_eq!(
                format!("{} {} {}", req.method, req.target, req.version),
                q.first.clone()
            );
            let hs = |h: &crate::model::Headers| {
                h.iter().map(|h| (h.name.clone(), h.value.clone())).collect::<Vec<_>>()
            };
            prop_assert_eq!(hs(&req.headers), q.parsed_headers());
            prop_assert_eq!(&req.body.bytes, &q.body);
            let status_line = format!("{} {} {}", resp.version, resp.status, resp.reason);
            prop_assert_eq!(status_line, a.first.clone());
            prop_assert_eq!(hs(&resp.headers), a.parsed_headers());
            prop_assert_eq!(&resp.body.bytes, &a.body);
            prop_assert!(e.anomalies.is_empty(), "{:?}", e.anomalies);
        }
    }
}
