//! HAR output of the generator's exchanges, shaped like the devtools exports credsift must
//! read: Chrome (with `_`-prefixed private fields, HTTP/2 entries with pseudo-headers), Firefox
//! (`browser`, local-offset timestamps, base64 content), and Chrome's "sanitized" export
//! (Cookie, Set-Cookie and Authorization headers removed, cookie arrays kept). Fed `http`
//! exchanges by `samples` and `bench`; `HarStream` writes entries one by one for large files.

use std::io::Write;
use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use super::GenError;
use super::http::Exchange;

/// Which producer to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Chrome,
    Firefox,
    /// Chrome 130+ "Export HAR (sanitized)".
    ChromeSanitized,
}

/// One exchange with what a browser records beside it.
#[derive(Debug, Clone)]
pub struct HarEntry {
    pub exchange: Exchange,
    /// Start of the request, ms since the epoch.
    pub started_ms: i64,
    pub server_ip: Option<IpAddr>,
    /// Connection id as devtools shows it (Chrome: a number as text).
    pub connection: Option<String>,
    /// Export the response body base64-encoded (`content.encoding`).
    pub base64_body: bool,
    /// Record the entry as HTTP/2 (lowercase headers, pseudo-headers, no Host).
    pub http2: bool,
}

impl HarEntry {
    pub fn new(exchange: Exchange, started_ms: i64) -> HarEntry {
        HarEntry {
            exchange,
            started_ms,
            server_ip: None,
            connection: None,
            base64_body: false,
            http2: false,
        }
    }
    pub fn server(mut self, ip: &str, connection: &str) -> HarEntry {
        self.server_ip = ip.parse().ok();
        self.connection = Some(connection.to_string());
        self
    }
    pub fn base64(mut self) -> HarEntry {
        self.base64_body = true;
        self
    }
    pub fn h2(mut self) -> HarEntry {
        self.http2 = true;
        self
    }
}

/// ISO 8601 time as Chrome (UTC, `Z`) or Firefox (local offset, here +02:00) writes it.
fn iso_time(ms: i64, flavor: Flavor) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]");
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return String::new();
    };
    match flavor {
        Flavor::Firefox => {
            let off = time::UtcOffset::from_hms(2, 0, 0).unwrap_or(time::UtcOffset::UTC);
            format!("{}+02:00", t.to_offset(off).format(fmt).unwrap_or_default())
        }
        _ => format!("{}Z", t.format(fmt).unwrap_or_default()),
    }
}

fn pairs(headers: &[(String, String)]) -> Value {
    Value::Array(
        headers
            .iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect(),
    )
}

fn query_string(url: &str) -> Value {
    let q = url
        .split_once('?')
        .map(|(_, q)| q.split('#').next().unwrap_or(""))
        .unwrap_or("");
    Value::Array(
        q.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (n, v) = p.split_once('=').unwrap_or((p, ""));
                json!({"name": n, "value": v})
            })
            .collect(),
    )
}

fn request_cookies(cookie_header: Option<&str>) -> Value {
    Value::Array(
        cookie_header
            .unwrap_or("")
            .split(';')
            .filter_map(|c| {
                let c = c.trim();
                let (n, v) = c.split_once('=')?;
                Some(json!({"name": n, "value": v}))
            })
            .collect(),
    )
}

/// A Set-Cookie line as a HAR cookie object (flags as devtools record them).
fn response_cookie(line: &str, now_ms: i64) -> Value {
    let mut parts = line.split(';');
    let (name, value) = parts
        .next()
        .and_then(|nv| nv.split_once('='))
        .map(|(n, v)| (n.trim(), v.trim()))
        .unwrap_or(("", ""));
    let mut obj = serde_json::Map::new();
    obj.insert("name".into(), json!(name));
    obj.insert("value".into(), json!(value));
    let mut http_only = false;
    let mut secure = false;
    for attr in parts {
        let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "path" => {
                obj.insert("path".into(), json!(v.trim()));
            }
            "domain" => {
                obj.insert("domain".into(), json!(v.trim()));
            }
            "max-age" => {
                if let Ok(secs) = v.trim().parse::<i64>() {
                    obj.insert(
                        "expires".into(),
                        json!(iso_time(now_ms + secs * 1000, Flavor::Chrome)),
                    );
                }
            }
            "expires" => {
                obj.entry("expires").or_insert(json!(v.trim()));
            }
            "httponly" => http_only = true,
            "secure" => secure = true,
            "samesite" => {
                obj.insert("sameSite".into(), json!(v.trim()));
            }
            _ => {}
        }
    }
    obj.insert("httpOnly".into(), json!(http_only));
    obj.insert("secure".into(), json!(secure));
    Value::Object(obj)
}

const SANITIZED: [&str; 3] = ["cookie", "set-cookie", "authorization"];

/// The HAR entry for `e`.
pub fn entry_json(e: &HarEntry, flavor: Flavor) -> Value {
    let ex = &e.exchange;
    let req = &ex.request;
    let url = ex.url();
    let keep = |n: &str| {
        flavor != Flavor::ChromeSanitized || !SANITIZED.contains(&n.to_ascii_lowercase().as_str())
    };
    let (version, mut req_headers): (&str, Vec<(String, String)>) = if e.http2 {
        let path = match url
            .find("://")
            .and_then(|i| url[i + 3..].find('/').map(|j| i + 3 + j))
        {
            Some(p) => url[p..].to_string(),
            None => "/".to_string(),
        };
        let mut h = vec![
            (":authority".to_string(), req.host().to_string()),
            (":method".to_string(), req.method.clone()),
            (":path".to_string(), path),
            (":scheme".to_string(), ex.scheme.clone()),
        ];
        h.extend(
            req.headers
                .iter()
                .filter(|(n, _)| !n.eq_ignore_ascii_case("host"))
                .map(|(n, v)| (n.to_ascii_lowercase(), v.clone())),
        );
        ("h2", h)
    } else {
        ("HTTP/1.1", req.headers.clone())
    };
    req_headers.retain(|(n, _)| keep(n));
    let mut request = json!({
        "method": req.method,
        "url": url,
        "httpVersion": version,
        "headers": pairs(&req_headers),
        "queryString": query_string(&url),
        "cookies": request_cookies(req.header_value("cookie")),
        "headersSize": -1,
        "bodySize": req.body.len(),
    });
    if !req.body.is_empty() {
        let mime = req.header_value("content-type").unwrap_or("");
        let text = String::from_utf8_lossy(&req.body).to_string();
        let mut post = json!({"mimeType": mime, "text": text});
        if mime.starts_with("application/x-www-form-urlencoded") {
            post["params"] = Value::Array(
                text.split('&')
                    .map(|p| {
                        let (n, v) = p.split_once('=').unwrap_or((p, ""));
                        json!({"name": n, "value": v})
                    })
                    .collect(),
            );
        }
        request["postData"] = post;
    }
    let response = match &ex.response {
        Some(r) => {
            let mut headers: Vec<(String, String)> = if e.http2 {
                r.headers
                    .iter()
                    .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
                    .collect()
            } else {
                r.wire_headers()
            };
            let set_cookies: Vec<&str> = r
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
                .map(|(_, v)| v.as_str())
                .collect();
            headers.retain(|(n, _)| keep(n));
            let mime = r.header_value("content-type").unwrap_or("");
            let mut content = json!({"size": r.body.len(), "mimeType": mime});
            if !r.body.is_empty() {
                if e.base64_body {
                    content["text"] = json!(STANDARD.encode(&r.body));
                    content["encoding"] = json!("base64");
                } else {
                    content["text"] = json!(String::from_utf8_lossy(&r.body));
                }
            }
            if r.encoded.is_some() && flavor != Flavor::Firefox {
                content["compression"] = json!(r.body.len() as i64 - r.coded_body().len() as i64);
            }
            let location = r.header_value("location").unwrap_or("");
            let mut resp = json!({
                "status": r.status,
                "statusText": if e.http2 { "" } else { r.reason.as_str() },
                "httpVersion": version,
                "headers": pairs(&headers),
                "cookies": Value::Array(set_cookies.iter().map(|l| response_cookie(l, e.started_ms)).collect()),
                "content": content,
                "redirectURL": location,
                "headersSize": -1,
                "bodySize": r.coded_body().len(),
            });
            if flavor != Flavor::Firefox {
                resp["_transferSize"] = json!(r.to_wire().len());
                resp["_error"] = Value::Null;
            }
            resp
        }
        // A request that got no answer, as devtools records an aborted one.
        None => json!({
            "status": 0, "statusText": "", "httpVersion": "", "headers": [], "cookies": [],
            "content": {"size": 0, "mimeType": "x-unknown"}, "redirectURL": "",
            "headersSize": -1, "bodySize": -1, "_error": "net::ERR_ABORTED",
        }),
    };
    let wait = 40.0 + (e.started_ms % 97) as f64;
    let mut entry = json!({
        "startedDateTime": iso_time(e.started_ms, flavor),
        "time": wait + 3.5,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"blocked": 1.2, "dns": -1, "ssl": -1, "connect": -1, "send": 0.3, "wait": wait, "receive": 2.0},
        "pageref": "page_1",
    });
    if let Some(ip) = e.server_ip {
        entry["serverIPAddress"] = json!(ip.to_string());
    }
    if let Some(c) = &e.connection {
        entry["connection"] = json!(c);
    }
    if flavor != Flavor::Firefox {
        entry["_priority"] = json!("High");
        entry["_resourceType"] = json!(if req.method == "GET" {
            "document"
        } else {
            "fetch"
        });
        entry["_initiator"] = json!({"type": "other"});
    } else {
        entry["timings"]["ssl"] = json!(if ex.scheme == "https" { 12 } else { -1 });
    }
    entry
}

fn creator(flavor: Flavor) -> Value {
    match flavor {
        Flavor::Firefox => json!({"name": "Firefox", "version": "125.0.3"}),
        _ => json!({"name": "WebInspector", "version": "537.36"}),
    }
}

fn log_head(flavor: Flavor, first_ms: i64, title: &str) -> serde_json::Map<String, Value> {
    let mut log = serde_json::Map::new();
    log.insert("version".into(), json!("1.2"));
    log.insert("creator".into(), creator(flavor));
    if flavor == Flavor::Firefox {
        log.insert("browser".into(), creator(flavor));
    }
    log.insert(
        "pages".into(),
        json!([{
            "startedDateTime": iso_time(first_ms, flavor),
            "id": "page_1",
            "title": title,
            "pageTimings": {"onContentLoad": 412.3, "onLoad": 876.1},
        }]),
    );
    log
}

/// A whole HAR document.
pub fn document(entries: &[HarEntry], flavor: Flavor, title: &str) -> Value {
    let first = entries.first().map(|e| e.started_ms).unwrap_or(0);
    let mut log = log_head(flavor, first, title);
    log.insert(
        "entries".into(),
        Value::Array(entries.iter().map(|e| entry_json(e, flavor)).collect()),
    );
    json!({ "log": log })
}

/// A HAR document as the pretty-printed bytes devtools writes.
pub fn har_bytes(entries: &[HarEntry], flavor: Flavor, title: &str) -> Result<Vec<u8>, GenError> {
    let mut v = serde_json::to_vec_pretty(&document(entries, flavor, title))?;
    v.push(b'\n');
    Ok(v)
}

/// Writes a HAR entry by entry, so that a large file never sits in memory.
pub struct HarStream<W: Write> {
    w: W,
    flavor: Flavor,
    entries: u64,
    written: u64,
}

impl<W: Write> HarStream<W> {
    pub fn new(
        mut w: W,
        flavor: Flavor,
        first_ms: i64,
        title: &str,
    ) -> Result<HarStream<W>, GenError> {
        let head = serde_json::to_string(&Value::Object(log_head(flavor, first_ms, title)))?;
        // Open the log object, keep its fields, and start the entries array.
        let head = head.strip_suffix('}').unwrap_or(&head);
        let start = format!("{{\"log\":{head},\"entries\":[\n");
        w.write_all(start.as_bytes())?;
        Ok(HarStream {
            w,
            flavor,
            entries: 0,
            written: start.len() as u64,
        })
    }

    pub fn entry(&mut self, e: &HarEntry) -> Result<(), GenError> {
        let mut buf = Vec::with_capacity(4096);
        if self.entries > 0 {
            buf.extend_from_slice(b",\n");
        }
        serde_json::to_writer(&mut buf, &entry_json(e, self.flavor))?;
        self.w.write_all(&buf)?;
        self.written += buf.len() as u64;
        self.entries += 1;
        Ok(())
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn entries(&self) -> u64 {
        self.entries
    }

    pub fn finish(mut self) -> Result<W, GenError> {
        self.w.write_all(b"\n]}}\n")?;
        self.w.flush()?;
        Ok(self.w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::r#gen::http::{Request, Response};

    fn entries() -> Vec<HarEntry> {
        let login = Exchange::new(
            Request::post("app.example.org", "/login?next=%2Fhome")
                .header("Cookie", "sid=abc; theme=dark")
                .header("Authorization", "Bearer t0k")
                .form(&[("user", "alice"), ("password", "pw")]),
            Response::new(302)
                .header("Location", "/home")
                .set_cookie("sid=new; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=3600"),
        )
        .https();
        let page = Exchange::new(
            Request::get("app.example.org", "/home"),
            Response::new(200).json(&json!({"ok": true})).gzip(),
        )
        .https();
        vec![
            HarEntry::new(login, 1_714_564_800_000).server("203.0.113.5", "101"),
            HarEntry::new(page.clone(), 1_714_564_801_000).h2(),
            HarEntry::new(page, 1_714_564_802_000).base64(),
        ]
    }

    #[test]
    fn chrome_document_has_entries_and_fields() {
        let bytes = har_bytes(&entries(), Flavor::Chrome, "t").unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        let es = v["log"]["entries"].as_array().unwrap();
        assert_eq!(es.len(), 3);
        assert_eq!(v["log"]["creator"]["name"], "WebInspector");
        let e0 = &es[0];
        assert_eq!(e0["startedDateTime"], "2024-05-01T12:00:00.000Z");
        assert_eq!(e0["serverIPAddress"], "203.0.113.5");
        assert_eq!(e0["connection"], "101");
        assert_eq!(
            e0["request"]["url"],
            "https://app.example.org/login?next=%2Fhome"
        );
        assert_eq!(e0["request"]["queryString"][0]["name"], "next");
        assert_eq!(e0["request"]["cookies"][1]["value"], "dark");
        assert_eq!(e0["request"]["postData"]["params"][1]["name"], "password");
        let c = &e0["response"]["cookies"][0];
        assert_eq!(c["name"], "sid");
        assert_eq!(c["httpOnly"], true);
        assert_eq!(c["sameSite"], "Lax");
        assert_eq!(c["expires"], "2024-05-01T13:00:00.000Z");
        let h2 = &es[1]["request"];
        assert_eq!(h2["httpVersion"], "h2");
        assert_eq!(h2["headers"][0]["name"], ":authority");
        assert_eq!(es[1]["response"]["content"]["text"], "{\"ok\":true}");
        assert_eq!(es[2]["response"]["content"]["encoding"], "base64");
        // The wire headers of an HTTP/1.1 entry include its framing.
        let names: Vec<&str> = es[2]["response"]["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"Content-Length"));
    }

    #[test]
    fn sanitized_drops_sensitive_headers_but_keeps_cookie_arrays() {
        let v = document(&entries(), Flavor::ChromeSanitized, "t");
        let e0 = &v["log"]["entries"][0];
        let text = e0["request"]["headers"].to_string() + &e0["response"]["headers"].to_string();
        assert!(!text.to_ascii_lowercase().contains("cookie"));
        assert!(!text.to_ascii_lowercase().contains("authorization"));
        assert_eq!(e0["request"]["cookies"].as_array().unwrap().len(), 2);
        assert_eq!(e0["response"]["cookies"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn the_har_crate_reads_every_flavor() {
        for flavor in [Flavor::Chrome, Flavor::Firefox, Flavor::ChromeSanitized] {
            let bytes = har_bytes(&entries(), flavor, "t").unwrap();
            let parsed = har::from_slice(&bytes).unwrap();
            let n = match parsed.log {
                har::Spec::V1_2(l) => l.entries.len(),
                har::Spec::V1_3(l) => l.entries.len(),
            };
            assert_eq!(n, 3, "{flavor:?}");
        }
    }

    #[test]
    fn firefox_uses_local_offset_and_browser() {
        let v = document(&entries(), Flavor::Firefox, "t");
        assert_eq!(v["log"]["browser"]["name"], "Firefox");
        assert_eq!(
            v["log"]["entries"][0]["startedDateTime"],
            "2024-05-01T14:00:00.000+02:00"
        );
    }

    #[test]
    fn stream_writes_valid_json_with_all_entries() {
        let mut s = HarStream::new(Vec::new(), Flavor::Chrome, 0, "bench").unwrap();
        for e in entries().iter().cycle().take(10) {
            s.entry(e).unwrap();
        }
        assert_eq!(s.entries(), 10);
        let written = s.written();
        let bytes = s.finish().unwrap();
        assert!(written <= bytes.len() as u64);
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["log"]["entries"].as_array().unwrap().len(), 10);
        assert_eq!(v["log"]["version"], "1.2");
    }
}
