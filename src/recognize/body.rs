//! Body and URL field extraction for `recognizer`: form-urlencoded pairs, JSON string fields
//! (walked with their nearest key), multipart form-data fields, and percent-decoding. Bounded:
//! at most `MAX_FIELDS` fields per body; serde_json's recursion limit bounds nesting.

use std::borrow::Cow;

use percent_encoding::percent_decode;
use serde_json::Value;

/// Fields read from one body.
pub const MAX_FIELDS: usize = 10_000;
/// Multipart parts read from one body.
const MAX_PARTS: usize = 1000;

/// Percent-decodes, with `+` as space when `plus` (query strings and form bodies).
pub fn pct_decode(s: &str, plus: bool) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || (plus && b == b'+')) {
        return Cow::Borrowed(s);
    }
    let replaced: Cow<'_, str> = if plus && s.contains('+') {
        Cow::Owned(s.replace('+', " "))
    } else {
        Cow::Borrowed(s)
    };
    let decoded = percent_decode(replaced.as_bytes()).decode_utf8_lossy();
    Cow::Owned(decoded.into_owned())
}

/// What kind of structured body this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Form,
    Json,
    Multipart,
    /// XML or SOAP: `<name>value</name>` leaf elements are fields.
    Xml,
    Text,
}

/// Classifies a body by its content type, else by its first bytes.
pub fn body_kind(content_type: Option<&str>, bytes: &[u8]) -> BodyKind {
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    if ct.contains("x-www-form-urlencoded") {
        return BodyKind::Form;
    }
    if ct.contains("multipart/form-data") {
        return BodyKind::Multipart;
    }
    if ct.contains("json") {
        return BodyKind::Json;
    }
    if ct.contains("xml") {
        return BodyKind::Xml;
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if matches!(first, Some(b'{') | Some(b'[')) {
        return BodyKind::Json;
    }
    if first == Some(&b'<') && bytes.starts_with(b"<?xml") {
        return BodyKind::Xml;
    }
    if (ct.is_empty() || ct.starts_with("text/plain")) && looks_like_form(bytes) {
        return BodyKind::Form;
    }
    BodyKind::Text
}

/// `a=b&c=d` with no whitespace or markup: a form body sent without a content type.
fn looks_like_form(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes.len() < 64 * 1024
        && bytes.contains(&b'=')
        && bytes
            .iter()
            .all(|&b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'{' | b'}' | b'"'))
}

/// Calls `f(name, decoded value)` for each pair of a form body or query string.
pub fn form_fields(s: &str, mut f: impl FnMut(&str, &str)) {
    for (n, (k, v)) in crate::model::split_pairs(s, '&').enumerate() {
        if n >= MAX_FIELDS {
            break;
        }
        let k = pct_decode(k, true);
        let v = pct_decode(v, true);
        f(&k, &v);
    }
}

/// Calls `f(key, string value)` for each string (and short number) in a JSON document, with the
/// nearest enclosing object key (array items inherit it). `None` when it does not parse.
pub fn json_fields(bytes: &[u8], mut f: impl FnMut(&str, &str)) -> Option<()> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let mut count = 0usize;
    walk(&v, "", &mut f, &mut count);
    Some(())
}

fn walk(v: &Value, key: &str, f: &mut impl FnMut(&str, &str), count: &mut usize) {
    if *count >= MAX_FIELDS {
        return;
    }
    match v {
        Value::String(s) => {
            *count += 1;
            f(key, s);
        }
        Value::Number(n) if !key.is_empty() => {
            // A numeric PIN or password is still a password.
            *count += 1;
            f(key, &n.to_string());
        }
        Value::Array(a) => {
            for item in a {
                walk(item, key, f, count);
            }
        }
        Value::Object(m) => {
            for (k, item) in m {
                walk(item, k, f, count);
            }
        }
        _ => {}
    }
}

/// Leaf elements of an XML body: `<ns:Name attr="x">value</ns:Name>`.
pub const XML_LEAF: &str = r"<([A-Za-z_][A-Za-z0-9_.:-]{0,64})(?:\s[^<>]{0,512})?>([^<>]{1,4096})</([A-Za-z_][A-Za-z0-9_.:-]{0,64})>";

/// Calls `f(local name, text)` for each leaf element of an XML body (entities `&amp;` `&lt;`
/// `&gt;` `&quot;` `&apos;` decoded), bounded by `MAX_FIELDS`.
pub fn xml_fields(bytes: &[u8], leaf: &regex::bytes::Regex, mut f: impl FnMut(&str, &str)) {
    for (n, c) in leaf.captures_iter(bytes).enumerate() {
        if n >= MAX_FIELDS {
            break;
        }
        let (Some(open), Some(text), Some(close)) = (c.get(1), c.get(2), c.get(3)) else {
            continue;
        };
        if open.as_bytes() != close.as_bytes() {
            continue;
        }
        let name = String::from_utf8_lossy(open.as_bytes());
        let local = name.rsplit(':').next().unwrap_or(&name);
        let text = String::from_utf8_lossy(text.as_bytes());
        let text = if text.contains('&') {
            text.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&")
        } else {
            text.into_owned()
        };
        f(local, text.trim());
    }
}

/// The boundary parameter of a multipart content type.
pub fn multipart_boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty() && b.len() <= 200)
    })
}

/// One multipart part: its field name, whether it is a file, and its content.
pub struct Part<'a> {
    pub name: String,
    pub is_file: bool,
    pub content: &'a [u8],
}

/// Splits a multipart body into parts (bounded; a truncated last part is kept as far as seen).
pub fn multipart_parts<'a>(body: &'a [u8], boundary: &str) -> Vec<Part<'a>> {
    let delim = format!("--{boundary}");
    let finder = memchr::memmem::Finder::new(delim.as_bytes());
    let mut starts: Vec<usize> = finder.find_iter(body).take(MAX_PARTS + 1).collect();
    starts.push(body.len());
    let mut parts = Vec::new();
    for w in starts.windows(2) {
        let (a, b) = (w[0] + delim.len(), w[1]);
        let Some(seg) = body.get(a..b) else { continue };
        if seg.starts_with(b"--") {
            break;
        }
        let Some(head_end) = memchr::memmem::find(seg, b"\r\n\r\n")
            .map(|i| (i, 4))
            .or_else(|| memchr::memmem::find(seg, b"\n\n").map(|i| (i, 2)))
        else {
            continue;
        };
        let head = String::from_utf8_lossy(&seg[..head_end.0]);
        let mut content = &seg[head_end.0 + head_end.1..];
        // The CRLF before the next delimiter belongs to the delimiter.
        if let Some(c) = content.strip_suffix(b"\r\n") {
            content = c;
        } else if let Some(c) = content.strip_suffix(b"\n") {
            content = c;
        }
        let mut name = String::new();
        let mut is_file = false;
        for line in head.lines() {
            let Some((h, v)) = line.split_once(':') else {
                continue;
            };
            if !h.trim().eq_ignore_ascii_case("content-disposition") {
                continue;
            }
            for p in v.split(';') {
                if let Some((k, val)) = p.split_once('=') {
                    let k = k.trim().to_ascii_lowercase();
                    let val = val.trim().trim_matches('"');
                    if k == "name" {
                        name = val.to_string();
                    } else if k == "filename" || k == "filename*" {
                        is_file = true;
                    }
                }
            }
        }
        parts.push(Part {
            name,
            is_file,
            content,
        });
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_with_and_without_plus() {
        assert_eq!(pct_decode("a%2Bb+c", true), "a+b c");
        assert_eq!(pct_decode("a%2Bb+c", false), "a+b+c");
        assert!(matches!(pct_decode("plain", true), Cow::Borrowed(_)));
        assert_eq!(pct_decode("%ZZ%", true), "%ZZ%");
    }

    #[test]
    fn kinds() {
        assert_eq!(
            body_kind(
                Some("application/x-www-form-urlencoded; charset=UTF-8"),
                b"a=b"
            ),
            BodyKind::Form
        );
        assert_eq!(
            body_kind(Some("application/vnd.api+json"), b"{}"),
            BodyKind::Json
        );
        assert_eq!(body_kind(None, b"  [1]"), BodyKind::Json);
        assert_eq!(body_kind(None, b"user=a&pass=b"), BodyKind::Form);
        assert_eq!(body_kind(Some("text/html"), b"a=b"), BodyKind::Text);
        assert_eq!(body_kind(None, b"hello world"), BodyKind::Text);
    }

    #[test]
    fn json_walk_keeps_nearest_key() {
        let mut got = Vec::new();
        json_fields(
            br#"{"a":{"token":"t1","list":["x","y"]},"pin":1234,"n":null}"#,
            |k, v| got.push(format!("{k}={v}")),
        )
        .unwrap();
        got.sort();
        assert_eq!(got, vec!["list=x", "list=y", "pin=1234", "token=t1"]);
        assert!(json_fields(b"{not json", |_, _| {}).is_none());
    }

    #[test]
    fn xml_leaves_with_namespaces() {
        let re = regex::bytes::Regex::new(XML_LEAF).unwrap();
        let mut got = Vec::new();
        xml_fields(
            br#"<?xml version="1.0"?><s:Envelope><s:Header><wsse:UsernameToken><wsse:Username>alice</wsse:Username><wsse:Password Type="PasswordText">p&amp;ss</wsse:Password></wsse:UsernameToken></s:Header><a>1</b></s:Envelope>"#,
            &re,
            |k, v| got.push(format!("{k}={v}")),
        );
        assert_eq!(got, vec!["Username=alice", "Password=p&ss"]);
        assert_eq!(
            body_kind(Some("text/xml; charset=utf-8"), b"<a/>"),
            BodyKind::Xml
        );
    }

    #[test]
    fn multipart_fields_and_files() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nalice\r\n--XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\ns3cret\r\n--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n--XyZ--\r\n";
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=\"XyZ\"").as_deref(),
            Some("XyZ")
        );
        let parts = multipart_parts(body, "XyZ");
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[1].name, "password");
        assert_eq!(parts[1].content, b"s3cret");
        assert!(parts[2].is_file);
        // Truncated and hostile bodies end without panicking.
        let _ = multipart_parts(b"--XyZ", "XyZ");
        let _ = multipart_parts(b"--XyZ\r\n\r\n", "XyZ");
    }
}
