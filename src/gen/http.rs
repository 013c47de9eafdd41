//! HTTP/1.x messages for the generator: a scenario describes each exchange as a `Request` and an
//! optional `Response` with ordered headers and a decoded body; this module renders their wire
//! bytes (Content-Length or chunked framing, gzip coding) for `tcp`, and the same header list
//! and decoded body are what `har` writes, so a capture and a HAR of one scenario agree.

use std::io::Write;

use flate2::{Compression, GzBuilder};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Characters left as they are in `application/x-www-form-urlencoded` values (as browsers do).
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'*')
    .remove(b' ');

/// Percent-encodes a form value the way a browser does.
pub fn form_encode(value: &str) -> String {
    utf8_percent_encode(value, FORM)
        .to_string()
        .replace(' ', "+")
}

/// Encodes `pairs` as an `application/x-www-form-urlencoded` body.
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push('&');
        }
        s.push_str(&form_encode(k));
        s.push('=');
        s.push_str(&form_encode(v));
    }
    s
}

/// Gzip with a fixed header (mtime 0, OS unknown) so that output is byte-for-byte reproducible.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::with_capacity(data.len() / 2 + 64), Compression::new(6));
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// Standard reason phrase for the statuses the generator uses.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

/// One request as sent: the header list is exactly what goes on the wire, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// Request target as on the request line: origin-form (`/a?b`) or absolute-form.
    pub target: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A request with a `Host` header, the first header as browsers send it.
    pub fn new(method: &str, host: &str, target: &str) -> Request {
        Request {
            method: method.to_string(),
            target: target.to_string(),
            version: "HTTP/1.1".to_string(),
            headers: vec![("Host".to_string(), host.to_string())],
            body: Vec::new(),
        }
    }

    pub fn get(host: &str, target: &str) -> Request {
        Request::new("GET", host, target)
    }

    pub fn post(host: &str, target: &str) -> Request {
        Request::new("POST", host, target)
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn version(mut self, version: &str) -> Request {
        self.version = version.to_string();
        self
    }

    /// Sets the body with its `Content-Type` and `Content-Length` headers.
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self.headers
            .push(("Content-Type".to_string(), content_type.to_string()));
        self.headers
            .push(("Content-Length".to_string(), self.body.len().to_string()));
        self
    }

    pub fn form(self, pairs: &[(&str, &str)]) -> Request {
        self.body("application/x-www-form-urlencoded", form_body(pairs))
    }

    pub fn json(self, value: &serde_json::Value) -> Request {
        self.body("application/json", value.to_string())
    }

    pub fn header_value(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    pub fn host(&self) -> &str {
        self.header_value("host").unwrap_or("")
    }

    /// Appends the wire bytes of this request to `out`.
    pub fn write_wire(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.target.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.version.as_bytes());
        out.extend_from_slice(b"\r\n");
        write_headers(&self.headers, out);
        out.extend_from_slice(&self.body);
    }

    pub fn to_wire(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_wire(&mut v);
        v
    }
}

/// How a response body is delimited on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length` (also used for an empty body).
    Length,
    /// `Transfer-Encoding: chunked` in chunks of `chunk` bytes, optionally with chunk extensions
    /// and a trailer header.
    Chunked {
        chunk: usize,
        extensions: bool,
        trailer: Option<(String, String)>,
    },
    /// No length: the body runs until the server closes the connection (HTTP/1.0 style).
    UntilClose,
}

/// One response. `body` is the decoded content; `encoded` is what goes on the wire before
/// framing (the gzip stream when the response is gzip-coded, else `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub encoded: Option<Vec<u8>>,
    pub framing: Framing,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            version: "HTTP/1.1".to_string(),
            status,
            reason: reason_phrase(status).to_string(),
            headers: Vec::new(),
            body: Vec::new(),
            encoded: None,
            framing: Framing::Length,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn set_cookie(self, line: &str) -> Response {
        self.header("Set-Cookie", line)
    }

    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        self.body = body.into();
        self.headers
            .push(("Content-Type".to_string(), content_type.to_string()));
        self
    }

    pub fn json(self, value: &serde_json::Value) -> Response {
        self.body("application/json", value.to_string())
    }

    pub fn html(self, text: &str) -> Response {
        self.body("text/html; charset=utf-8", text)
    }

    /// Codes the body with gzip (adds `Content-Encoding: gzip`).
    pub fn gzip(mut self) -> Response {
        self.encoded = Some(gzip(&self.body));
        self.headers
            .push(("Content-Encoding".to_string(), "gzip".to_string()));
        self
    }

    pub fn chunked(mut self, chunk: usize) -> Response {
        self.framing = Framing::Chunked {
            chunk: chunk.max(1),
            extensions: false,
            trailer: None,
        };
        self
    }

    pub fn framing(mut self, framing: Framing) -> Response {
        self.framing = framing;
        self
    }

    pub fn header_value(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    /// The bytes of the body after content coding, before framing.
    pub fn coded_body(&self) -> &[u8] {
        self.encoded.as_deref().unwrap_or(&self.body)
    }

    /// The headers as sent: the scenario's headers plus the framing header.
    pub fn wire_headers(&self) -> Vec<(String, String)> {
        let mut h = self.headers.clone();
        match &self.framing {
            Framing::Length => {
                h.push((
                    "Content-Length".to_string(),
                    self.coded_body().len().to_string(),
                ));
            }
            Framing::Chunked { .. } => {
                h.push(("Transfer-Encoding".to_string(), "chunked".to_string()));
            }
            Framing::UntilClose => {
                h.push(("Connection".to_string(), "close".to_string()));
            }
        }
        h
    }

    /// Appends the wire bytes of this response to `out`.
    pub fn write_wire(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.version.as_bytes());
        out.extend_from_slice(format!(" {} {}\r\n", self.status, self.reason).as_bytes());
        write_headers(&self.wire_headers(), out);
        let coded = self.coded_body();
        match &self.framing {
            Framing::Length | Framing::UntilClose => out.extend_from_slice(coded),
            Framing::Chunked {
                chunk,
                extensions,
                trailer,
            } => {
                for (i, piece) in coded.chunks((*chunk).max(1)).enumerate() {
                    if *extensions {
                        out.extend_from_slice(format!("{:x};n={i}\r\n", piece.len()).as_bytes());
                    } else {
                        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                    }
                    out.extend_from_slice(piece);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n");
                if let Some((n, v)) = trailer {
                    out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    pub fn to_wire(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_wire(&mut v);
        v
    }
}

/// One HTTP exchange of a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// `http` or `https`: only HAR output shows it; captures carry cleartext HTTP only.
    pub scheme: String,
    pub request: Request,
    pub response: Option<Response>,
}

impl Exchange {
    pub fn new(request: Request, response: Response) -> Exchange {
        Exchange {
            scheme: "http".to_string(),
            request,
            response: Some(response),
        }
    }

    pub fn https(mut self) -> Exchange {
        self.scheme = "https".to_string();
        self
    }

    /// The full URL as a browser would show it.
    pub fn url(&self) -> String {
        let t = &self.request.target;
        if t.starts_with("http://") || t.starts_with("https://") {
            t.clone()
        } else {
            format!("{}://{}{}", self.scheme, self.request.host(), t)
        }
    }
}

fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn write_headers(headers: &[(String, String)], out: &mut Vec<u8>) {
    for (n, v) in headers {
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn request_wire_has_length_and_form_encoding() {
        let r = Request::post("a.example", "/login").form(&[("user", "al ice"), ("pw", "a&b=c")]);
        let wire = String::from_utf8(r.to_wire()).unwrap();
        assert!(wire.starts_with("POST /login HTTP/1.1\r\nHost: a.example\r\n"));
        assert!(wire.contains("Content-Length: 24\r\n"));
        assert!(wire.ends_with("\r\n\r\nuser=al+ice&pw=a%26b%3Dc"));
    }

    #[test]
    fn chunked_gzip_response_decodes_to_body() {
        let body = b"{\"k\":\"v\"}".repeat(50);
        let r = Response::new(200)
            .body("application/json", body.clone())
            .gzip()
            .framing(Framing::Chunked {
                chunk: 37,
                extensions: true,
                trailer: Some(("X-Trailer".into(), "1".into())),
            });
        let wire = r.to_wire();
        let text = String::from_utf8_lossy(&wire);
        assert!(text.contains("Transfer-Encoding: chunked\r\n"));
        assert!(text.contains("Content-Encoding: gzip\r\n"));
        assert!(!text.contains("Content-Length"));
        // De-chunk by hand.
        let start = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let mut rest = &wire[start..];
        let mut coded = Vec::new();
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size_text = std::str::from_utf8(&rest[..eol]).unwrap();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap(), 16).unwrap();
            rest = &rest[eol + 2..];
            if size == 0 {
                assert_eq!(rest, b"X-Trailer: 1\r\n\r\n");
                break;
            }
            coded.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&coded[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, body);
    }

    #[test]
    fn gzip_is_reproducible() {
        assert_eq!(gzip(b"hello hello hello"), gzip(b"hello hello hello"));
    }

    #[test]
    fn url_uses_host_or_absolute_target() {
        let e = Exchange::new(Request::get("h.example", "/p?q=1"), Response::new(200));
        assert_eq!(e.url(), "http://h.example/p?q=1");
        let e = Exchange::new(
            Request::get("h.example", "http://u:p@h.example/x"),
            Response::new(200),
        )
        .https();
        assert_eq!(e.url(), "http://u:p@h.example/x");
    }
}
