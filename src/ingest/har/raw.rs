//! The tolerant serde model of one HAR entry, fed by the `entries` stream in `har::stream` and
//! read by `har::map`. Every field accepts any JSON value: a wrong type, `null` or a missing field
//! becomes "not given" instead of an error, because one odd field must never cost the file (nor
//! shift the entry count). Strings and arrays are bounded while they are parsed.
//!
//! Why not `har::v1_2`/`v1_3`: those types reject real exports (`"time": null`, missing `cache` or
//! `timings`, `cookies` as a single object in IE11, `null` header values, version `1.1`), and
//! they drop fields the analysis needs (`sameSite` on cookies, Chrome's `_connectionId`).

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Bounds applied while an entry is parsed. Derived `Deserialize` impls cannot carry a seed into
/// nested fields, so the bounds travel in a thread-local set for the duration of one file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Bytes kept of one body text (enough for `max_kept` bytes after base64 decoding).
    pub text_keep: usize,
    /// Bytes kept of any other string (header value, cookie, URL...).
    pub string_keep: usize,
    /// Elements kept of one array (headers, cookies, params...).
    pub max_items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            text_keep: 2 << 20,
            string_keep: 1 << 20,
            max_items: 1000,
        }
    }
}

thread_local! {
    static LIMITS: Cell<Limits> = Cell::new(Limits::default());
    /// Strings cut or array elements dropped since the last `take_limit_hits`.
    static LIMIT_HITS: Cell<u64> = const { Cell::new(0) };
}

/// Runs `f` with `limits` in force on this thread, restoring the previous ones afterwards.
pub(crate) fn with_limits<T>(limits: Limits, f: impl FnOnce() -> T) -> T {
    struct Restore(Limits);
    impl Drop for Restore {
        fn drop(&mut self) {
            LIMITS.with(|l| l.set(self.0));
        }
    }
    let _restore = Restore(LIMITS.with(|l| l.replace(limits)));
    LIMIT_HITS.with(|h| h.set(0));
    f()
}

fn limits() -> Limits {
    LIMITS.with(Cell::get)
}

fn hit_limit() {
    LIMIT_HITS.with(|h| h.set(h.get().saturating_add(1)));
}

/// How many bounds were hit since the last call (per entry, read by the mapper).
pub(crate) fn take_limit_hits() -> u64 {
    LIMIT_HITS.with(|h| h.replace(0))
}

/// Drains a container the model does not want, so the stream stays in step.
fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

fn cut_str(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    hit_limit();
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_string()
}

/// A scalar read as text: strings as given, numbers and booleans in their JSON spelling; `null`,
/// arrays and objects are "not given".
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Text(pub Option<String>);

impl Text {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
    /// The text when given and not empty.
    pub fn non_empty(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !s.is_empty())
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(Some(cut_str(v, limits().string_keep))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                if v.len() <= limits().string_keep {
                    Ok(Text(Some(v)))
                } else {
                    self.visit_str(&v)
                }
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Text, D2::Error> {
                Text::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Text, A::Error> {
                drain_seq(seq).map(|()| Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Text, A::Error> {
                drain_map(map).map(|()| Text(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A number; numeric strings are accepted (`"12.5"`), anything else is "not given".
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Num(pub Option<f64>);

impl Num {
    /// The value when given, finite and not negative (HAR uses -1 for "unknown").
    pub fn known(self) -> Option<f64> {
        self.0.filter(|v| v.is_finite() && *v >= 0.0)
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
                Ok(Num(v.trim().parse::<f64>().ok().filter(|n| n.is_finite())))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Num, E> {
                Ok(Num(None))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(Some(v as f64)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(Some(v as f64)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num(Some(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Num, E> {
                Ok(Num(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Num, E> {
                Ok(Num(None))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Num, D2::Error> {
                Num::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Num, A::Error> {
                drain_seq(seq).map(|()| Num(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Num, A::Error> {
                drain_map(map).map(|()| Num(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A boolean; `"true"`/`"false"` strings (Fiddler) are accepted, anything else is "not given".
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Flag(pub Option<bool>);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(Some(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
                let v = v.trim();
                Ok(Flag(if v.eq_ignore_ascii_case("true") {
                    Some(true)
                } else if v.eq_ignore_ascii_case("false") {
                    Some(false)
                } else {
                    None
                }))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Flag, E> {
                Ok(Flag(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Flag, E> {
                Ok(Flag(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Flag, E> {
                Ok(Flag(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Flag, E> {
                Ok(Flag(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Flag, E> {
                Ok(Flag(None))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Flag, D2::Error> {
                Flag::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Flag, A::Error> {
                drain_seq(seq).map(|()| Flag(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Flag, A::Error> {
                drain_map(map).map(|()| Flag(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A body text (`postData.text`, `content.text`) kept up to `Limits::text_keep` bytes; the full
/// length is counted so truncation can be reported.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct BodyText {
    pub kept: Vec<u8>,
    /// Length of the whole text in bytes (UTF-8, after JSON unescaping).
    pub total: usize,
    pub given: bool,
}

impl<'de> Deserialize<'de> for BodyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BodyText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<BodyText, E> {
                let keep = v.len().min(limits().text_keep);
                Ok(BodyText {
                    kept: v.as_bytes().get(..keep).unwrap_or_default().to_vec(),
                    total: v.len(),
                    given: true,
                })
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<BodyText, E> {
                if v.len() <= limits().text_keep {
                    let total = v.len();
                    Ok(BodyText {
                        kept: v.into_bytes(),
                        total,
                        given: true,
                    })
                } else {
                    self.visit_str(&v)
                }
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<BodyText, E> {
                self.visit_str(if v { "true" } else { "false" })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<BodyText, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<BodyText, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<BodyText, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_unit<E: de::Error>(self) -> Result<BodyText, E> {
                Ok(BodyText::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<BodyText, E> {
                Ok(BodyText::default())
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<BodyText, D2::Error> {
                BodyText::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<BodyText, A::Error> {
                drain_seq(seq).map(|()| BodyText::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<BodyText, A::Error> {
                drain_map(map).map(|()| BodyText::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// An object field: `Some` when the value is a JSON object, `None` for anything else (drained).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Obj<T>(pub Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Obj(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|t| Obj(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Obj<T>, A::Error> {
                drain_seq(seq).map(|()| Obj(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Obj<T>, D2::Error> {
                Obj::deserialize(d)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// An array of objects, bounded by `Limits::max_items`. Non-object elements are skipped; a single
/// object where an array belongs (IE11's `"cookies": {...}`) counts as a one-element array.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
                let max = limits().max_items;
                let mut out = Vec::new();
                while let Some(Obj(item)) = seq.next_element::<Obj<T>>()? {
                    if let Some(item) = item {
                        if out.len() < max {
                            out.push(item);
                        } else {
                            hit_limit();
                        }
                    }
                }
                Ok(List(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<List<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|t| List(vec![t]))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<List<T>, E> {
                Ok(List::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<List<T>, E> {
                Ok(List::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<List<T>, E> {
                Ok(List::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<List<T>, E> {
                Ok(List::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<List<T>, E> {
                Ok(List::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<List<T>, E> {
                Ok(List::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<List<T>, E> {
                Ok(List::default())
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<List<T>, D2::Error> {
                List::deserialize(d)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// Object keys up to this many bytes are matched; longer ones are never model fields.
const KEY_MAX: usize = 24;

/// An object key held without allocating (keys arrive borrowed from serde_json's scratch).
struct Key {
    buf: [u8; KEY_MAX],
    len: usize,
}

impl Key {
    fn as_str(&self) -> &str {
        self.buf
            .get(..self.len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                let mut key = Key {
                    buf: [0; KEY_MAX],
                    len: 0,
                };
                if let Some(dst) = key.buf.get_mut(..v.len()) {
                    dst.copy_from_slice(v.as_bytes());
                    key.len = v.len();
                }
                Ok(key)
            }
        }
        d.deserialize_identifier(V)
    }
}

/// A struct of tolerant fields read from a JSON object. Unlike serde's derive, a repeated key is
/// not an error (JSON allows it; the last one wins), so valid JSON never fails the file here.
/// Keys the model does not name (`cache`, `timings`, custom `_fields`...) are skipped unstored.
macro_rules! tolerant_struct {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty = $key:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        pub(crate) struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str(concat!("a HAR ", stringify!($name), " object"))
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        let mut out = $name::default();
                        while let Some(key) = map.next_key::<Key>()? {
                            match key.as_str() {
                                $($key => out.$field = map.next_value()?,)*
                                _ => {
                                    map.next_value::<IgnoredAny>()?;
                                }
                            }
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

tolerant_struct! {
    /// One `log.entries[i]`.
    Entry {
        started: Text = "startedDateTime",
        time: Num = "time",
        request: Obj<Request> = "request",
        response: Obj<Response> = "response",
        server_ip: Text = "serverIPAddress",
        connection: Text = "connection",
        /// Chrome: the real connection id (its `connection` field holds the remote port).
        connection_id: Text = "_connectionId",
    }
}

tolerant_struct! {
    Request {
        method: Text = "method",
        url: Text = "url",
        http_version: Text = "httpVersion",
        cookies: List<Cookie> = "cookies",
        headers: List<NameValue> = "headers",
        query_string: List<NameValue> = "queryString",
        post_data: Obj<PostData> = "postData",
        headers_size: Num = "headersSize",
        body_size: Num = "bodySize",
    }
}

tolerant_struct! {
    Response {
        status: Num = "status",
        status_text: Text = "statusText",
        http_version: Text = "httpVersion",
        cookies: List<Cookie> = "cookies",
        headers: List<NameValue> = "headers",
        content: Obj<Content> = "content",
        headers_size: Num = "headersSize",
        body_size: Num = "bodySize",
    }
}

tolerant_struct! {
    NameValue {
        name: Text = "name",
        value: Text = "value",
    }
}

tolerant_struct! {
    Cookie {
        name: Text = "name",
        value: Text = "value",
        path: Text = "path",
        domain: Text = "domain",
        expires: Text = "expires",
        http_only: Flag = "httpOnly",
        secure: Flag = "secure",
        same_site: Text = "sameSite",
    }
}

tolerant_struct! {
    PostData {
        mime_type: Text = "mimeType",
        text: BodyText = "text",
        params: List<Param> = "params",
        /// HAR 1.3 (and some tools): `base64` when the text is encoded.
        encoding: Text = "encoding",
    }
}

tolerant_struct! {
    Param {
        name: Text = "name",
        value: Text = "value",
        file_name: Text = "fileName",
        content_type: Text = "contentType",
    }
}

tolerant_struct! {
    Content {
        size: Num = "size",
        mime_type: Text = "mimeType",
        text: BodyText = "text",
        encoding: Text = "encoding",
    }
}

tolerant_struct! {
    /// `log.creator`.
    Creator {
        name: Text = "name",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(json: &str) -> Entry {
        serde_json::from_str::<Obj<Entry>>(json)
            .ok()
            .and_then(|o| o.0)
            .unwrap_or_default()
    }

    #[test]
    fn wrong_types_become_not_given() {
        let e = entry(
            r#"{"startedDateTime": 12, "time": null, "request": [1,2],
                "response": {"status": "404", "headers": {"name": "A", "value": null},
                             "cookies": [1, {"name": "c", "httpOnly": "true", "secure": 1}]},
                "connection": 443, "_x": {"deep": [[[]]]}, "connection": 8443}"#,
        );
        assert_eq!(e.started.as_deref(), Some("12"));
        assert_eq!(e.time.0, None);
        assert!(e.request.0.is_none());
        let r = e.response.0.as_ref().map(|r| r.status.0);
        assert_eq!(r, Some(Some(404.0)));
        let resp = e.response.0.unwrap_or_default();
        assert_eq!(resp.headers.0.len(), 1);
        assert_eq!(resp.headers.0[0].value.0, None);
        assert_eq!(resp.cookies.0.len(), 1);
        assert_eq!(resp.cookies.0[0].http_only.0, Some(true));
        assert_eq!(resp.cookies.0[0].secure.0, None);
        // A repeated key is valid JSON: the last one wins.
        assert_eq!(e.connection.as_deref(), Some("8443"));
    }

    #[test]
    fn bounds_cut_strings_arrays_and_bodies() {
        let limits = Limits {
            text_keep: 4,
            string_keep: 3,
            max_items: 2,
        };
        let e = with_limits(limits, || {
            let e = entry(
                r#"{"request": {"url": "héllo", "headers": [{"name":"a"},{"name":"b"},{"name":"c"}],
                    "postData": {"text": "0123456789"}}}"#,
            );
            (e, take_limit_hits())
        });
        let (e, hits) = e;
        let req = e.request.0.unwrap_or_default();
        // "hé" is 3 bytes: the cut stays on a character boundary.
        assert_eq!(req.url.as_deref(), Some("hé"));
        assert_eq!(req.headers.0.len(), 2);
        let body = req.post_data.0.unwrap_or_default().text;
        assert_eq!(body.kept, b"0123");
        assert_eq!(body.total, 10);
        assert_eq!(hits, 2);
    }
}
