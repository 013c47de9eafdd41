//! One tolerant `raw::Entry` → one `model::Exchange`, always exactly one per entry: fields that
//! are missing or malformed are defaulted and flagged (`Anomaly::HarFieldDefaulted`) rather than
//! dropping the entry. Fed by `har::stream` through `har::read_har`; feeds the engine's sink.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_PAD_INDIFFERENT, URL_SAFE_PAD_INDIFFERENT};

use super::raw::{self, BodyText};
use super::sanitize::{self, Scan};
use crate::ingest::IngestConfig;
use crate::model::{
    Anomaly, Body, Exchange, HarCookie, Headers, Locator, Request, Response, Timestamp, Transport,
    Url, default_port,
};

/// Boundary used when a multipart body is rebuilt from `postData.params` without one.
const MULTIPART_BOUNDARY: &str = "credsift-har-params";

/// Maps entries of one file, carrying what spans entries: connection positions and the
/// sanitization evidence.
pub(crate) struct Mapper<'a> {
    source: Arc<str>,
    cfg: &'a IngestConfig,
    pub scan: Scan,
    /// Exchanges seen per connection id, for `seq_on_connection`; bounded by `max_connections`.
    conn_seq: HashMap<String, u32>,
    pub conn_limit_hit: bool,
}

/// An exchange and the warnings its entry deserves (without the `entry N: ` prefix).
pub(crate) struct Mapped {
    pub ex: Exchange,
    pub warnings: Vec<String>,
}

impl<'a> Mapper<'a> {
    pub fn new(source: &Arc<str>, cfg: &'a IngestConfig) -> Self {
        Mapper {
            source: Arc::clone(source),
            cfg,
            scan: Scan::default(),
            conn_seq: HashMap::new(),
            conn_limit_hit: false,
        }
    }

    /// `creator` is `log.creator.name` when it came before the entries (it does in every known
    /// producer); Chrome's fields need it to be read right.
    pub fn map(&mut self, index: u64, creator: Option<&str>, entry: Option<raw::Entry>) -> Mapped {
        let chrome = creator.is_some_and(|c| c.eq_ignore_ascii_case("WebInspector"));
        let mut m = EntryMapper {
            defaulted: Vec::new(),
            warnings: Vec::new(),
            anomalies: Vec::new(),
            max_kept: self.cfg.body.max_kept,
            scan: &mut self.scan,
        };
        let entry = entry.unwrap_or_else(|| {
            m.defaulted.push("the entry (not an object)");
            raw::Entry::default()
        });
        let locator = Some(Locator::Entry(index));
        let started = match entry.started.non_empty() {
            Some(s) => {
                let ts = parse_ts(s);
                if ts.is_none() {
                    m.defaulted.push("startedDateTime");
                }
                ts
            }
            None => {
                m.defaulted.push("startedDateTime");
                None
            }
        };
        let finished = match (started, entry.time.known()) {
            (Some(t), Some(ms)) => t.checked_add((ms * 1e6) as i64),
            _ => None,
        };

        let req = entry.request.0.unwrap_or_else(|| {
            m.defaulted.push("request");
            raw::Request::default()
        });
        let mut request = m.request(req, locator, started);
        let transport = match request.url.scheme.as_str() {
            "https" | "wss" => Transport::Tls,
            _ => Transport::Cleartext,
        };
        if matches!(request.url.scheme.as_str(), "http" | "https" | "ws" | "wss")
            && !request.headers.is_empty()
        {
            m.scan.network_entries += 1;
            if transport == Transport::Tls {
                m.scan.https_entries += 1;
            }
        }

        let response = match entry.response.0 {
            Some(resp) => m.response(resp, locator, finished),
            None => None,
        };

        let mut ex = Exchange::new(Arc::clone(&self.source), transport);
        // `connection` is meant to be a connection id, but Chrome (which keeps its id in
        // `_connectionId`) and Firefox write the remote port there: a value equal to the
        // server's port is the port. `0` is what chrome-har writes when there is no id.
        let url_port = request.url.port.or(default_port(&request.url.scheme));
        let given_conn = entry.connection.non_empty().map(str::trim);
        let conn_port = given_conn.and_then(|p| p.parse::<u16>().ok());
        let conn_is_port = chrome || (conn_port.is_some() && conn_port == url_port);
        let conn = entry
            .connection_id
            .non_empty()
            .or(given_conn.filter(|_| !conn_is_port))
            .filter(|c| *c != "0")
            .map(str::to_string);
        let port = if chrome {
            conn_port.or(url_port)
        } else {
            url_port
        };
        ex.server = entry
            .server_ip
            .non_empty()
            .and_then(|ip| server_addr(ip, port));
        if let Some(c) = &conn {
            ex.seq_on_connection = next_seq(
                &mut self.conn_seq,
                self.cfg.max_connections,
                &mut self.conn_limit_hit,
                c,
            );
        }
        ex.connection = conn;
        if response.is_none() {
            m.anomalies.push(Anomaly::RequestWithoutResponse);
        }
        if !m.defaulted.is_empty() {
            m.anomalies.push(Anomaly::HarFieldDefaulted);
            let fields = m.defaulted.join(", ");
            m.warnings
                .push(format!("missing or malformed {fields}; defaulted"));
        }
        let hits = raw::take_limit_hits();
        if hits > 0 {
            m.anomalies.push(Anomaly::LimitHit);
            m.warnings.push(format!(
                "{hits} value(s) or list item(s) were cut at the configured bounds"
            ));
        }
        request.locator = locator;
        ex.request = Some(request);
        ex.response = response;
        ex.anomalies = m.anomalies;
        Mapped {
            ex,
            warnings: m.warnings,
        }
    }
}

/// The 1-based position of the next exchange on `conn`; 1 for every new id once `max` ids are
/// tracked.
fn next_seq(seen: &mut HashMap<String, u32>, max: usize, limit_hit: &mut bool, conn: &str) -> u32 {
    if let Some(n) = seen.get_mut(conn) {
        *n = n.saturating_add(1);
        return *n;
    }
    if seen.len() >= max {
        *limit_hit = true;
        return 1;
    }
    seen.insert(conn.to_string(), 1);
    1
}

/// The per-entry state of a mapping.
struct EntryMapper<'s> {
    defaulted: Vec<&'static str>,
    warnings: Vec<String>,
    anomalies: Vec<Anomaly>,
    max_kept: usize,
    scan: &'s mut Scan,
}

impl EntryMapper<'_> {
    fn request(
        &mut self,
        req: raw::Request,
        locator: Option<Locator>,
        ts: Option<Timestamp>,
    ) -> Request {
        let mut headers = self.headers(req.headers, "request");
        let url_text = match req.url.non_empty() {
            Some(u) => u.to_string(),
            None => {
                self.defaulted.push("request.url");
                String::new()
            }
        };
        let url_text = with_query_string(url_text, &req.query_string.0);
        let (url_text, blanked) = sanitize::blank_query(&url_text);
        self.scan.placeholders += blanked;
        let host_header = headers
            .get("host")
            .or_else(|| headers.get(":authority"))
            .map(str::to_string);
        let url = Url::parse(&url_text, "http", host_header.as_deref());
        let method = match req.method.non_empty() {
            Some(m) => m.to_string(),
            None => {
                self.defaulted.push("request.method");
                headers.get(":method").unwrap_or_default().to_string()
            }
        };

        // A producer that recorded cookies only as objects: give them to the analysis as the
        // Cookie header the browser sent.
        if !req.cookies.0.is_empty() {
            self.scan.cookie_arrays += 1;
            if headers.get("cookie").is_none() {
                let pairs: Vec<String> = req
                    .cookies
                    .0
                    .iter()
                    .filter_map(|c| {
                        let name = c.name.non_empty()?;
                        let value = self.unplaceholder(c.value.as_deref().unwrap_or_default());
                        Some(format!("{name}={value}"))
                    })
                    .collect();
                if !pairs.is_empty() {
                    headers.push("Cookie", pairs.join("; "));
                }
            }
        }

        let mut body = Body::default();
        if let Some(pd) = req.post_data.0 {
            let base64 = is_base64(&pd.encoding);
            if pd.text.given && pd.text.total > 0 {
                self.fill_body(&mut body, &pd.text, base64, "request.postData.text");
            } else if !pd.params.0.is_empty() {
                let mut params = pd.params.0;
                for p in &mut params {
                    if p.value.as_deref().is_some_and(sanitize::is_placeholder) {
                        self.scan.placeholders += 1;
                        p.value = raw::Text(Some(String::new()));
                    }
                }
                let mime = pd.mime_type.as_deref().unwrap_or_default();
                let (bytes, content_type) = body_from_params(&params, mime);
                body.wire_len = bytes.len() as u64;
                self.keep(&mut body, bytes);
                body.content_type = Some(content_type);
            }
            if body.content_type.is_none() {
                body.content_type = pd.mime_type.non_empty().map(str::to_string);
            }
        }
        if body.content_type.is_none() && !body.bytes.is_empty() {
            body.content_type = headers.get("content-type").map(str::to_string);
        }
        if let Some(n) = req.body_size.known() {
            body.wire_len = n as u64;
        }
        Request {
            locator,
            ts,
            method,
            target: target_of(&url_text),
            url,
            version: req.http_version.as_deref().unwrap_or_default().to_string(),
            headers,
            body,
            wire_bytes: wire_bytes(req.headers_size, req.body_size),
        }
    }

    fn response(
        &mut self,
        resp: raw::Response,
        locator: Option<Locator>,
        ts: Option<Timestamp>,
    ) -> Option<Response> {
        let status = resp
            .status
            .known()
            .filter(|s| s.fract() == 0.0 && *s < 1000.0);
        let has_text = resp
            .content
            .0
            .as_ref()
            .is_some_and(|c| c.text.given && c.text.total > 0);
        // Status 0 with nothing recorded: the request failed or was blocked; there was no response.
        if status.is_none_or(|s| s == 0.0) && resp.headers.0.is_empty() && !has_text {
            return None;
        }
        if status.is_none() {
            self.defaulted.push("response.status");
        }
        let headers = self.headers(resp.headers, "response");
        let mut har_cookies = Vec::new();
        if !resp.cookies.0.is_empty() {
            self.scan.cookie_arrays += 1;
            // Set-Cookie lines are the better source (every attribute as sent); the objects are
            // used only when the producer recorded no line.
            if headers.get("set-cookie").is_none() {
                har_cookies = resp
                    .cookies
                    .0
                    .into_iter()
                    .filter_map(|c| self.har_cookie(c))
                    .collect();
            }
        }
        let mut body = Body::default();
        if let Some(content) = resp.content.0 {
            if content.text.given && content.text.total > 0 {
                let base64 = is_base64(&content.encoding);
                self.fill_body(&mut body, &content.text, base64, "response.content.text");
            }
            body.content_type = content.mime_type.non_empty().map(str::to_string);
            if let Some(size) = content.size.known()
                && body.wire_len == 0
            {
                body.wire_len = size as u64;
            }
        }
        if body.content_type.is_none() {
            body.content_type = headers.get("content-type").map(str::to_string);
        }
        if let Some(n) = resp.body_size.known() {
            body.wire_len = n as u64;
        }
        Some(Response {
            locator,
            ts,
            status: status.map_or(0, |s| s as u16),
            reason: resp.status_text.as_deref().unwrap_or_default().to_string(),
            version: resp.http_version.as_deref().unwrap_or_default().to_string(),
            headers,
            body,
            har_cookies,
            wire_bytes: wire_bytes(resp.headers_size, resp.body_size),
        })
    }

    /// Headers in order, names as given (HTTP/2 and HTTP/3 pseudo-headers included).
    /// Placeholder credential values are blanked; Set-Cookie values holding several lines joined
    /// by newlines (Firebug, old Firefox) are split into one header per line.
    fn headers(&mut self, list: raw::List<raw::NameValue>, side: &'static str) -> Headers {
        let mut out = Headers(Vec::with_capacity(list.0.len()));
        for h in list.0 {
            let Some(name) = h.name.0.filter(|n| !n.is_empty()) else {
                self.defaulted.push(if side == "request" {
                    "a request header name"
                } else {
                    "a response header name"
                });
                continue;
            };
            let value = h.value.0.unwrap_or_default();
            if !sanitize::is_credential_header(&name) {
                // `X-Api-Key: [REDACTED]` must not become an API key either.
                let v = self.unplaceholder(&value);
                out.push(name, v);
                continue;
            }
            self.scan.credential_headers += 1;
            if name.eq_ignore_ascii_case("set-cookie") {
                for line in value.split('\n') {
                    let line = line.trim_end_matches('\r');
                    if line.trim().is_empty() {
                        continue;
                    }
                    let (line, found) = sanitize::blank_set_cookie(line);
                    self.scan.placeholders += u64::from(found);
                    out.push(name.clone(), line);
                }
            } else if name.eq_ignore_ascii_case("cookie") {
                let (v, found) = sanitize::blank_cookie_header(&value);
                self.scan.placeholders += u64::from(found);
                out.push(name, v);
            } else {
                let v = self.unplaceholder(&value);
                out.push(name, v);
            }
        }
        out
    }

    fn har_cookie(&mut self, c: raw::Cookie) -> Option<HarCookie> {
        let name = c.name.0.filter(|n| !n.is_empty())?;
        let value = self.unplaceholder(c.value.as_deref().unwrap_or_default());
        let given = |t: raw::Text| t.0.filter(|s| !s.is_empty());
        Some(HarCookie {
            name,
            value,
            domain: given(c.domain),
            path: given(c.path),
            expires: given(c.expires),
            http_only: c.http_only.0,
            secure: c.secure.0,
            same_site: given(c.same_site),
        })
    }

    /// `value`, or empty when it is a placeholder for a removed secret (counted).
    fn unplaceholder(&mut self, value: &str) -> String {
        if sanitize::is_placeholder(value) {
            self.scan.placeholders += 1;
            String::new()
        } else {
            value.to_string()
        }
    }

    /// Fills `body` from a HAR text, decoding base64 when the producer says so.
    fn fill_body(&mut self, body: &mut Body, text: &BodyText, base64: bool, field: &str) {
        body.wire_len = text.total as u64;
        if base64 {
            match decode_base64(text) {
                Some((bytes, whole)) => {
                    if !whole {
                        // Only a prefix of the text was kept, so the decoded body is a prefix.
                        body.truncated = true;
                    }
                    body.wire_len = base64_decoded_len(text.total) as u64;
                    self.keep(body, bytes);
                    return;
                }
                None => {
                    self.anomalies.push(Anomaly::DecodeError);
                    self.warnings.push(format!(
                        "{field} is marked base64 but does not decode; kept as text"
                    ));
                }
            }
        }
        if text.total > text.kept.len() {
            body.truncated = true;
        }
        // One byte past the limit is enough for `keep` to see the truncation.
        let end = text.kept.len().min(self.max_kept.saturating_add(1));
        self.keep(body, text.kept.get(..end).unwrap_or_default().to_vec());
    }

    /// Keeps at most `max_kept` bytes, flagging truncation.
    fn keep(&mut self, body: &mut Body, mut bytes: Vec<u8>) {
        if bytes.len() > self.max_kept {
            bytes.truncate(self.max_kept);
            body.truncated = true;
        }
        if body.truncated && !self.anomalies.contains(&Anomaly::BodyTruncated) {
            self.anomalies.push(Anomaly::BodyTruncated);
        }
        body.bytes = bytes;
    }
}

fn is_base64(encoding: &raw::Text) -> bool {
    encoding
        .as_deref()
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("base64"))
}

/// Decodes a base64 body text (whitespace ignored, padding optional, URL-safe accepted). When only
/// a prefix of the text was kept, decodes the longest whole-quantum prefix. Returns the bytes and
/// whether they are the whole body.
fn decode_base64(text: &BodyText) -> Option<(Vec<u8>, bool)> {
    let whole = text.kept.len() >= text.total;
    let mut clean: Vec<u8> = text
        .kept
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if !whole {
        clean.truncate(clean.len() / 4 * 4);
    }
    STANDARD_PAD_INDIFFERENT
        .decode(&clean)
        .or_else(|_| URL_SAFE_PAD_INDIFFERENT.decode(&clean))
        .ok()
        .map(|b| (b, whole))
}

fn base64_decoded_len(text_len: usize) -> usize {
    text_len / 4 * 3
}

/// Sum of the known header and body sizes (HAR uses -1 for unknown).
fn wire_bytes(headers: raw::Num, body: raw::Num) -> u64 {
    headers.known().unwrap_or(0.0) as u64 + body.known().unwrap_or(0.0) as u64
}

/// RFC 3339 as most producers write it, else the wider ISO 8601 forms (`+0200`, no seconds).
fn parse_ts(s: &str) -> Option<Timestamp> {
    use time::OffsetDateTime;
    use time::format_description::well_known::{Iso8601, Rfc3339};
    let s = s.trim();
    let dt = OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(s, &Iso8601::DEFAULT))
        .ok()?;
    i64::try_from(dt.unix_timestamp_nanos()).ok()
}

/// `serverIPAddress` as an address: bare IPv4/IPv6, bracketed IPv6 (Chrome), or with a port.
fn server_addr(ip: &str, port: Option<u16>) -> Option<SocketAddr> {
    let ip = ip.trim();
    if let Ok(sa) = ip.parse::<SocketAddr>() {
        return Some(sa);
    }
    let bare = ip
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(ip);
    let addr = bare.parse::<IpAddr>().ok()?;
    Some(SocketAddr::new(addr, port?))
}

/// The request target: path and query of an absolute URL (fragment excluded), else the whole
/// text (`data:` URLs and other odd ones).
fn target_of(url: &str) -> String {
    let Some(i) = url.find("://") else {
        return url.to_string();
    };
    let rest = url.get(i + 3..).unwrap_or_default();
    let Some(start) = rest.find(['/', '?', '#']) else {
        return "/".to_string();
    };
    let pq = rest.get(start..).unwrap_or_default();
    let pq = pq.split('#').next().unwrap_or_default();
    if pq.is_empty() || pq.starts_with('?') {
        format!("/{pq}")
    } else {
        pq.to_string()
    }
}

/// Producers that keep the query only in `queryString` (none known, but the spec allows it):
/// put it back into the URL so the analysis sees it.
fn with_query_string(url: String, params: &[raw::NameValue]) -> String {
    if params.is_empty() || url.contains('?') || url.is_empty() {
        return url;
    }
    let query: Vec<String> = params
        .iter()
        .filter_map(|p| {
            let name = p.name.non_empty()?;
            Some(format!("{name}={}", p.value.as_deref().unwrap_or_default()))
        })
        .collect();
    if query.is_empty() {
        return url;
    }
    match url.split_once('#') {
        Some((before, frag)) => format!("{before}?{}#{frag}", query.join("&")),
        None => format!("{url}?{}", query.join("&")),
    }
}

/// A body rebuilt from `postData.params` (Firebug and Fiddler record forms that way): a real
/// multipart body when the MIME type says multipart, else `name=value&...` as sent (HAR values
/// are the raw, still-encoded form values). Returns the bytes and the content type to use.
fn body_from_params(params: &[raw::Param], mime: &str) -> (Vec<u8>, String) {
    if mime
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/")
    {
        let boundary = mime
            .split(';')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
            .map(|(_, v)| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty());
        let (boundary, content_type) = match boundary {
            Some(b) => (b, mime.to_string()),
            None => (
                MULTIPART_BOUNDARY.to_string(),
                format!("multipart/form-data; boundary={MULTIPART_BOUNDARY}"),
            ),
        };
        let mut out = String::new();
        for p in params {
            let Some(name) = p.name.non_empty() else {
                continue;
            };
            out.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\""
            ));
            if let Some(file) = p.file_name.non_empty() {
                out.push_str(&format!("; filename=\"{file}\""));
            }
            out.push_str("\r\n");
            if let Some(ct) = p.content_type.non_empty() {
                out.push_str(&format!("Content-Type: {ct}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(p.value.as_deref().unwrap_or_default());
            out.push_str("\r\n");
        }
        out.push_str(&format!("--{boundary}--\r\n"));
        return (out.into_bytes(), content_type);
    }
    let pairs: Vec<String> = params
        .iter()
        .filter_map(|p| {
            let name = p.name.non_empty()?;
            Some(format!("{name}={}", p.value.as_deref().unwrap_or_default()))
        })
        .collect();
    let content_type = if mime.trim().is_empty() {
        "application/x-www-form-urlencoded".to_string()
    } else {
        mime.to_string()
    };
    (pairs.join("&").into_bytes(), content_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_from_every_producer_shape() {
        let z = parse_ts("2023-03-30T04:39:18.981Z");
        assert_eq!(z, Some(1_680_151_158_981_000_000));
        assert_eq!(parse_ts("2023-03-30T06:39:18.981+02:00"), z);
        // Fiddler writes seven fraction digits.
        assert_eq!(
            parse_ts("2023-03-30T06:39:18.9810000+02:00"),
            Some(1_680_151_158_981_000_000)
        );
        assert_eq!(
            parse_ts("2023-03-30T04:39:18Z"),
            Some(1_680_151_158_000_000_000)
        );
        assert_eq!(parse_ts("yesterday"), None);
    }

    #[test]
    fn targets_and_servers() {
        assert_eq!(target_of("https://u:p@h:8/a/b?q=1#f"), "/a/b?q=1");
        assert_eq!(target_of("http://h?x"), "/?x");
        assert_eq!(target_of("http://h"), "/");
        assert_eq!(target_of("data:text/plain,hi"), "data:text/plain,hi");
        assert_eq!(
            server_addr("[2001:db8::1]", Some(443)),
            "[2001:db8::1]:443".parse().ok()
        );
        assert_eq!(
            server_addr("10.0.0.1", Some(80)),
            "10.0.0.1:80".parse().ok()
        );
        assert_eq!(
            server_addr("10.0.0.1:8080", Some(80)),
            "10.0.0.1:8080".parse().ok()
        );
        assert_eq!(server_addr("10.0.0.1", None), None);
        assert_eq!(server_addr("not an ip", Some(80)), None);
    }

    #[test]
    fn query_string_is_restored_only_when_the_url_lacks_one() {
        let p = vec![raw::NameValue {
            name: raw::Text(Some("k".into())),
            value: raw::Text(Some("v".into())),
        }];
        assert_eq!(
            with_query_string("http://h/p#f".into(), &p),
            "http://h/p?k=v#f"
        );
        assert_eq!(
            with_query_string("http://h/p?a=1".into(), &p),
            "http://h/p?a=1"
        );
    }

    #[test]
    fn base64_prefix_decoding() {
        let full = BodyText {
            kept: b"aGVs bG8=".to_vec(),
            total: 9,
            given: true,
        };
        assert_eq!(decode_base64(&full), Some((b"hello".to_vec(), true)));
        let prefix = BodyText {
            kept: b"aGVsbG8gd29y".to_vec(),
            total: 100,
            given: true,
        };
        assert_eq!(decode_base64(&prefix), Some((b"hello wor".to_vec(), false)));
        let bad = BodyText {
            kept: b"Not base 64".to_vec(),
            total: 11,
            given: true,
        };
        assert_eq!(decode_base64(&bad), None);
    }
}
