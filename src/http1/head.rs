//! HTTP/1.x message heads: finding where a head ends, telling whether bytes start a message, and
//! parsing a head with httparse, falling back to a lax line parser for real-world syntax that
//! httparse rejects but Wireshark and browsers accept. Fed by `http1::side`, feeds it `Head`s.

use crate::model::Headers;

/// Headers httparse is given room for; a head with more goes to the lax parser (still bounded).
const HTTPARSE_HEADERS: usize = 128;
/// Longest first line accepted when deciding whether bytes start a message with an unknown
/// method (a 16 KiB URL must fit).
pub const MAX_START_LINE: usize = 64 << 10;

/// Methods Wireshark's HTTP dissector recognises, plus a few more seen in the wild.
const METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"PUT",
    b"HEAD",
    b"DELETE",
    b"OPTIONS",
    b"PATCH",
    b"CONNECT",
    b"TRACE",
    b"COPY",
    b"LOCK",
    b"MOVE",
    b"POLL",
    b"MKCOL",
    b"SEARCH",
    b"UNLOCK",
    b"BDELETE",
    b"PROPFIND",
    b"NOTIFY",
    b"SUBSCRIBE",
    b"UNSUBSCRIBE",
    b"PROPPATCH",
    b"M-SEARCH",
    b"BPROPFIND",
    b"BPROPPATCH",
    b"BCOPY",
    b"BMOVE",
    b"X-MS-ENUMATTS",
    b"RPC_IN_DATA",
    b"RPC_OUT_DATA",
    b"MKWORKSPACE",
    b"VERSION-CONTROL",
    b"REPORT",
    b"CHECKOUT",
    b"CHECKIN",
    b"UNCHECKOUT",
    b"MKACTIVITY",
    b"MERGE",
    b"LABEL",
    b"UPDATE",
    b"BASELINE-CONTROL",
    b"ACL",
    b"ORDERPATCH",
    b"PURGE",
    b"SSTP_DUPLEX_POST",
    b"MKCALENDAR",
    b"MKREDIRECTREF",
    b"UPDATEREDIRECTREF",
    b"BIND",
    b"UNBIND",
    b"REBIND",
    b"LINK",
    b"UNLINK",
    b"QUERY",
    b"CCM_POST",
];

/// The first line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    Request { method: String, target: String },
    Response { status: u16, reason: String },
}

/// A parsed message head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub start: StartLine,
    pub version: String,
    pub headers: Headers,
    /// httparse rejected it; the lax parser recovered it.
    pub lax: bool,
    /// Header lines the lax parser had to drop (no colon, over the limit).
    pub dropped_lines: usize,
}

/// Which kind of message a side is expected to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Request,
    Response,
}

/// Whether bytes start a message: yes (which kind), no, or not enough bytes to tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Yes(Kind),
    No,
    NeedMore,
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_uppercase() || b == b'-' || b == b'_' || b.is_ascii_digit()
}

/// Tells whether `b` begins an HTTP/1.x request or response line.
pub fn message_start(b: &[u8], want: Option<Kind>) -> Start {
    if want != Some(Kind::Request) {
        match response_start(b) {
            Start::No => {}
            s => return s,
        }
    }
    if want != Some(Kind::Response) {
        return request_start(b);
    }
    Start::No
}

fn response_start(b: &[u8]) -> Start {
    const P: &[u8] = b"HTTP/";
    let n = b.len().min(P.len());
    if b[..n] != P[..n] {
        return Start::No;
    }
    match b.get(5) {
        None => Start::NeedMore,
        Some(d) if d.is_ascii_digit() => Start::Yes(Kind::Response),
        Some(_) => Start::No,
    }
}

fn request_start(b: &[u8]) -> Start {
    let tok = b.iter().take_while(|&&c| is_token_byte(c)).count();
    if tok == b.len() {
        // Only token bytes so far: could still become a known method.
        if tok > 24 {
            return Start::No;
        }
        return if METHODS.iter().any(|m| m.starts_with(b)) || tok < 3 {
            Start::NeedMore
        } else {
            generic_need_more(b)
        };
    }
    let method = &b[..tok];
    if tok >= 3 && matches!(b.get(tok), Some(b'\r' | b'\n')) && METHODS.contains(&method) {
        // A known method alone on its line (`OPTIONS\n`): malformed, but a request.
        return Start::Yes(Kind::Request);
    }
    if tok == 0 || b.get(tok) != Some(&b' ') {
        return Start::No;
    }
    if METHODS.contains(&method) {
        // "GET " must be followed by a target, not by another space or a line end.
        return match b.get(tok + 1) {
            None => Start::NeedMore,
            Some(b'\r' | b'\n') => Start::No,
            Some(_) => Start::Yes(Kind::Request),
        };
    }
    if method == b"PRI" {
        // The HTTP/2 connection preface, not an HTTP/1 request.
        return Start::No;
    }
    if !(3..=24).contains(&tok)
        || method
            .iter()
            .any(|c| !c.is_ascii_uppercase() && *c != b'-' && *c != b'_')
    {
        return Start::No;
    }
    // An unknown method counts only on a line that ends with an HTTP version.
    let rest = &b[tok + 1..];
    match memchr::memchr(b'\n', rest) {
        None if rest.len() > MAX_START_LINE => Start::No,
        None => Start::NeedMore,
        Some(i) => {
            let line = trim_cr(&rest[..i]);
            match line.iter().rposition(|&c| c == b' ') {
                Some(sp) if line[sp + 1..].starts_with(b"HTTP/") => Start::Yes(Kind::Request),
                _ => Start::No,
            }
        }
    }
}

fn generic_need_more(b: &[u8]) -> Start {
    if b.iter()
        .all(|c| c.is_ascii_uppercase() || *c == b'-' || *c == b'_')
    {
        Start::NeedMore
    } else {
        Start::No
    }
}

fn trim_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// Finds the end of a head (just past the empty line) in `buf`, starting the search at `from`.
/// Accepts CRLF CRLF and bare LF LF (and mixes).
pub fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut start = from.min(buf.len());
    while let Some(i) = memchr::memchr(b'\n', &buf[start..]) {
        let nl = start + i;
        match buf.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if buf.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => {}
        }
        start = nl + 1;
    }
    None
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Parses a complete head (through its empty line): strictly with httparse, else laxly.
pub fn parse_head(bytes: &[u8], kind: Kind, max_headers: usize) -> Option<Head> {
    let mut head = strict(bytes, kind).or_else(|| lax(bytes, kind, max_headers))?;
    // httparse's own limit is its storage, not the configured bound (fuzz: 28 headers under a
    // bound of 24); beyond the bound, headers are dropped and counted, as the lax parser does.
    if head.headers.0.len() > max_headers {
        head.dropped_lines += head.headers.0.len() - max_headers;
        head.headers.0.truncate(max_headers);
    }
    Some(head)
}

fn strict(bytes: &[u8], kind: Kind) -> Option<Head> {
    let mut storage = [httparse::EMPTY_HEADER; HTTPARSE_HEADERS];
    // httparse knows only 1.0 and 1.1; `format!` for each message was ~0.3% of a scan.
    let version = |v: Option<u8>| match v {
        Some(0) => String::from("HTTP/1.0"),
        Some(1) | None => String::from("HTTP/1.1"),
        Some(n) => format!("HTTP/1.{n}"),
    };
    let collect = |hs: &[httparse::Header<'_>]| {
        let mut h = Headers(Vec::with_capacity(hs.len()));
        for x in hs {
            h.push(x.name, lossy(x.value));
        }
        h
    };
    match kind {
        Kind::Request => {
            let mut req = httparse::Request::new(&mut storage);
            let mut cfg = httparse::ParserConfig::default();
            cfg.allow_multiple_spaces_in_request_line_delimiters(true);
            match cfg.parse_request(&mut req, bytes) {
                Ok(httparse::Status::Complete(_)) => Some(Head {
                    start: StartLine::Request {
                        method: req.method?.to_string(),
                        target: req.path?.to_string(),
                    },
                    version: version(req.version),
                    headers: collect(req.headers),
                    lax: false,
                    dropped_lines: 0,
                }),
                _ => None,
            }
        }
        Kind::Response => {
            let mut resp = httparse::Response::new(&mut storage);
            let mut cfg = httparse::ParserConfig::default();
            cfg.allow_multiple_spaces_in_response_status_delimiters(true)
                .allow_spaces_after_header_name_in_responses(true)
                .allow_obsolete_multiline_headers_in_responses(true);
            match cfg.parse_response(&mut resp, bytes) {
                Ok(httparse::Status::Complete(_)) => {
                    let mut headers = collect(resp.headers);
                    // httparse keeps folded values with their line breaks; unfold them.
                    for h in headers.0.iter_mut() {
                        if h.value.contains('\n') {
                            h.value = unfold(&h.value);
                        }
                    }
                    Some(Head {
                        start: StartLine::Response {
                            status: resp.code?,
                            reason: resp.reason.unwrap_or("").to_string(),
                        },
                        version: version(resp.version),
                        headers,
                        lax: false,
                        dropped_lines: 0,
                    })
                }
                _ => None,
            }
        }
    }
}

fn unfold(v: &str) -> String {
    v.split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The lax parser: lines split on LF (CR optional), a start line split on its first and last
/// space (so a target with spaces survives), `name: value` headers, folded continuation lines
/// joined, lines without a colon dropped and counted.
fn lax(bytes: &[u8], kind: Kind, max_headers: usize) -> Option<Head> {
    let mut lines = bytes.split(|&b| b == b'\n').map(trim_cr);
    let first = lines.by_ref().find(|l| !l.is_empty())?;
    let (start, version) = match kind {
        Kind::Request => lax_request_line(first)?,
        Kind::Response => lax_status_line(first)?,
    };
    let mut headers = Headers::default();
    let mut dropped = 0usize;
    for line in lines {
        if line.is_empty() {
            break;
        }
        if matches!(line.first(), Some(b' ' | b'\t'))
            && let Some(last) = headers.0.last_mut()
        {
            let cont = lossy(line);
            let cont = cont.trim();
            if !cont.is_empty() {
                if !last.value.is_empty() {
                    last.value.push(' ');
                }
                last.value.push_str(cont);
            }
            continue;
        }
        let Some(colon) = memchr::memchr(b':', line) else {
            dropped += 1;
            continue;
        };
        let name = lossy(&line[..colon]);
        let name = name.trim();
        if name.is_empty() || headers.len() >= max_headers {
            dropped += 1;
            continue;
        }
        let value = lossy(&line[colon + 1..]);
        headers.push(name, value.trim());
    }
    Some(Head {
        start,
        version,
        headers,
        lax: true,
        dropped_lines: dropped,
    })
}

fn lax_request_line(line: &[u8]) -> Option<(StartLine, String)> {
    let line = lossy(line);
    let line = line.trim();
    let (method, rest) = line.split_once([' ', '\t']).unwrap_or((line, ""));
    let rest = rest.trim();
    let (target, version) = match rest.rsplit_once([' ', '\t']) {
        Some((t, v)) if v.starts_with("HTTP/") => (t.trim(), v),
        _ if rest.starts_with("HTTP/") => ("", rest),
        _ if rest.is_empty() => ("", ""),
        _ => (rest, "HTTP/0.9"),
    };
    if method.is_empty() {
        return None;
    }
    Some((
        StartLine::Request {
            method: method.to_string(),
            target: target.to_string(),
        },
        version.to_string(),
    ))
}

fn lax_status_line(line: &[u8]) -> Option<(StartLine, String)> {
    let line = lossy(line);
    let line = line.trim();
    let (version, rest) = match line.split_once([' ', '\t']) {
        Some((v, r)) => (v, r.trim_start()),
        None => (line, ""),
    };
    if !version.starts_with("HTTP/") {
        return None;
    }
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let status: u16 = digits.parse().ok()?;
    let reason = rest[digits.len()..].trim();
    Some((
        StartLine::Response {
            status,
            reason: reason.to_string(),
        },
        version.to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts() {
        assert_eq!(
            message_start(b"GET / HTTP/1.1", None),
            Start::Yes(Kind::Request)
        );
        assert_eq!(message_start(b"GE", None), Start::NeedMore);
        assert_eq!(
            message_start(b"HTTP/1.1 200", None),
            Start::Yes(Kind::Response)
        );
        assert_eq!(message_start(b"HTT", None), Start::NeedMore);
        assert_eq!(message_start(b"\x16\x03\x01", None), Start::No);
        assert_eq!(message_start(b"SSH-2.0-x", None), Start::No);
        assert_eq!(
            message_start(b"FOO /x HTTP/1.1\r\n", None),
            Start::Yes(Kind::Request)
        );
        assert_eq!(message_start(b"FOO /x\r\n", None), Start::No);
        assert_eq!(message_start(b"FOO /x", None), Start::NeedMore);
        assert_eq!(
            message_start(b"GET / HTTP/1.1", Some(Kind::Response)),
            Start::No
        );
        assert_eq!(message_start(b"get / HTTP/1.1", None), Start::No);
        assert_eq!(message_start(b"PRI * HTTP/2.0\r\n\r\nSM", None), Start::No);
        assert_eq!(
            message_start(b"OPTIONS\nHost: x", None),
            Start::Yes(Kind::Request)
        );
        assert_eq!(
            message_start(b"CCM_POST /HTTP/1.1\n", None),
            Start::Yes(Kind::Request)
        );
    }

    #[test]
    fn head_end_variants() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest", 0), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.1\nA: b\n\nrest", 0), Some(21));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n", 0), None);
    }

    #[test]
    fn strict_request_keeps_case_and_order() {
        let h = parse_head(
            b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Key: v\r\n\r\n",
            Kind::Request,
            100,
        )
        .unwrap();
        assert!(!h.lax);
        assert_eq!(h.version, "HTTP/1.1");
        assert_eq!(
            h.start,
            StartLine::Request {
                method: "GET".into(),
                target: "/a?b=1".into()
            }
        );
        assert_eq!(h.headers.0[1].name, "X-Key");
    }

    #[test]
    fn the_header_bound_holds_for_well_formed_heads_too() {
        let mut raw = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..30 {
            raw.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        let h = parse_head(&raw, Kind::Request, 24).unwrap();
        assert!(!h.lax);
        assert_eq!(h.headers.0.len(), 24);
        assert_eq!(h.dropped_lines, 6);
        assert_eq!(h.headers.0[23].name, "X-H23");
        assert_eq!(
            parse_head(&raw, Kind::Request, 100)
                .unwrap()
                .headers
                .0
                .len(),
            30
        );
    }

    #[test]
    fn lax_recovers_what_httparse_rejects() {
        // Spaces in the target, a header without colon, a folded header, HTTP/1.2.
        let raw = b"GET /a b/c HTTP/1.2\r\nHost: x\r\nbogus line\r\nX-Long: one\r\n  two\r\n\r\n";
        let h = parse_head(raw, Kind::Request, 100).unwrap();
        assert!(h.lax);
        assert_eq!(h.dropped_lines, 1);
        assert_eq!(h.version, "HTTP/1.2");
        assert_eq!(
            h.start,
            StartLine::Request {
                method: "GET".into(),
                target: "/a b/c".into()
            }
        );
        assert_eq!(h.headers.get("x-long"), Some("one two"));
        let r = parse_head(b"HTTP/1.0 200\nServer : a\n\n", Kind::Response, 100).unwrap();
        assert_eq!(
            r.start,
            StartLine::Response {
                status: 200,
                reason: String::new()
            }
        );
        assert_eq!(r.headers.get("server"), Some("a"));
    }

    #[test]
    fn folded_response_header_is_unfolded() {
        let r = parse_head(
            b"HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\n\r\n",
            Kind::Response,
            10,
        )
        .unwrap();
        assert_eq!(r.headers.get("x-a"), Some("one two"));
    }

    #[test]
    fn long_url_parses() {
        let url = format!("/{}", "a".repeat(16 << 10));
        let raw = format!("GET {url} HTTP/1.1\r\nHost: h\r\n\r\n");
        let h = parse_head(raw.as_bytes(), Kind::Request, 10).unwrap();
        assert!(
            matches!(h.start, StartLine::Request { ref target, .. } if target.len() == url.len())
        );
    }
}
