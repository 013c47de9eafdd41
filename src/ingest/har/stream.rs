//! Streams a HAR document: walks `{"log": {"entries": [...]}}` with serde visitors and hands each
//! entry, parsed into the tolerant `raw::Entry`, to a callback as soon as it is read, so memory
//! stays bounded by one entry whatever the file size. Fed by `har::read_har`; feeds `har::map`.

use std::cell::RefCell;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::raw::{self, Obj};
use super::split::Shared;

/// What the walk learnt about the document around the entries.
#[derive(Debug, Default)]
pub(crate) struct LogInfo {
    /// The root is a JSON object.
    pub root_object: bool,
    /// The root has a `log` member that is an object.
    pub log_object: bool,
    /// `log.entries` was present and an array.
    pub entries_array: bool,
    /// `log.entries` was present but not an array.
    pub entries_not_array: bool,
    pub version: Option<String>,
    /// `log.creator.name`.
    pub creator: Option<String>,
    pub entries: u64,
}

/// Receives each entry with its index (from 0, as in the file) and `log.creator.name` when it was
/// read before the entries. `None` when the element is not a JSON object: it still counts.
pub(crate) type OnEntry<'a> = dyn FnMut(u64, Option<&str>, Option<raw::Entry>) + 'a;

/// Walks the document from `de`, calling `on_entry` for each entry in order. Errors are
/// serde_json's (syntax, I/O); shapes that are not a HAR are reported in `LogInfo`, not as errors.
/// With `cut`, `de` reads `split`'s skeleton: a `0` element of the entries array stands for the
/// next element in `cut`'s queue, parsed from its bytes (an invalid one fails the walk with the
/// error kept in `Shared::failed`).
pub(crate) fn walk<'de, D>(
    de: D,
    info: &mut LogInfo,
    cut: Option<&RefCell<Shared>>,
    on_entry: &mut OnEntry<'_>,
) -> Result<(), D::Error>
where
    D: Deserializer<'de>,
{
    de.deserialize_any(RootVisitor {
        info,
        cut,
        on_entry,
    })
}

macro_rules! ignore_scalars {
    ($t:ty) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$t, E> {
            Ok(())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$t, E> {
            Ok(())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<$t, E> {
            Ok(())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$t, E> {
            Ok(())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<$t, E> {
            Ok(())
        }
        fn visit_unit<E: de::Error>(self) -> Result<$t, E> {
            Ok(())
        }
    };
}

/// Object keys the walk cares about, matched without allocating.
enum Key {
    Log,
    Version,
    Creator,
    Entries,
    Name,
    Other,
}

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "log" => Key::Log,
                    "version" => Key::Version,
                    "creator" => Key::Creator,
                    "entries" => Key::Entries,
                    "name" => Key::Name,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

struct RootVisitor<'a, 'b> {
    info: &'a mut LogInfo,
    cut: Option<&'a RefCell<Shared>>,
    on_entry: &'a mut OnEntry<'b>,
}

impl<'de> Visitor<'de> for RootVisitor<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a HAR document")
    }
    ignore_scalars!(());
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.info.root_object = true;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Log if !self.info.log_object => map.next_value_seed(LogSeed {
                    info: &mut *self.info,
                    cut: self.cut,
                    on_entry: &mut *self.on_entry,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct LogSeed<'a, 'b> {
    info: &'a mut LogInfo,
    cut: Option<&'a RefCell<Shared>>,
    on_entry: &'a mut OnEntry<'b>,
}

impl<'de> DeserializeSeed<'de> for LogSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LogSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a HAR log object")
    }
    ignore_scalars!(());
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.info.log_object = true;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Version => self.info.version = map.next_value::<raw::Text>()?.0,
                Key::Creator => {
                    let c = map.next_value::<Obj<raw::Creator>>()?;
                    self.info.creator = c.0.and_then(|c| c.name.0);
                }
                Key::Entries if !self.info.entries_array => map.next_value_seed(EntriesSeed {
                    info: &mut *self.info,
                    cut: self.cut,
                    on_entry: &mut *self.on_entry,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct EntriesSeed<'a, 'b> {
    info: &'a mut LogInfo,
    cut: Option<&'a RefCell<Shared>>,
    on_entry: &'a mut OnEntry<'b>,
}

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the HAR entries array")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.info.entries_not_array = true;
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.info.entries_not_array = true;
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.info.entries_not_array = true;
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.info.entries_not_array = true;
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.info.entries_not_array = true;
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.info.entries_not_array = true;
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.info.entries_not_array = true;
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.info.entries_array = true;
        self.info.entries_not_array = false;
        while let Some(element) = seq.next_element::<Element>()? {
            let entry = match (element, self.cut) {
                (Element::Entry(Obj(entry)), _) => entry,
                (Element::Number, None) => None,
                (Element::Number, Some(cut)) => {
                    match cut.borrow_mut().parse_next::<Obj<raw::Entry>>() {
                        Ok(parsed) => parsed.and_then(|Obj(e)| e),
                        Err(()) => return Err(de::Error::custom("invalid HAR entry")),
                    }
                }
            };
            (self.on_entry)(self.info.entries, self.info.creator.as_deref(), entry);
            self.info.entries += 1;
        }
        Ok(())
    }
}

/// An element of the entries array as the walk reads it: a number (the splitter's placeholder,
/// or the file's own number when nothing was cut) or anything else, read as an entry.
#[allow(clippy::large_enum_variant)] // lives on the stack for one element at a time
enum Element {
    Number,
    Entry(Obj<raw::Entry>),
}

impl<'de> serde::Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Element, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Element;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a HAR entry")
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Element, E> {
                Ok(Element::Number)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Element, E> {
                Ok(Element::Number)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Element, E> {
                Ok(Element::Number)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Element, E> {
                Ok(Element::Entry(Obj(None)))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Element, E> {
                Ok(Element::Entry(Obj(None)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Element, E> {
                Ok(Element::Entry(Obj(None)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Element::Entry(Obj(None)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Element, A::Error> {
                raw::Entry::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|e| Element::Entry(Obj(Some(e))))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(json: &str) -> (Result<(), serde_json::Error>, LogInfo, Vec<(u64, bool)>) {
        let mut info = LogInfo::default();
        let mut seen = Vec::new();
        let mut de = serde_json::Deserializer::from_str(json);
        let r = walk(&mut de, &mut info, None, &mut |i, _, e| {
            seen.push((i, e.is_some()))
        });
        (r, info, seen)
    }

    #[test]
    fn entries_are_streamed_in_order_whatever_the_key_order() {
        let (r, info, seen) = run(
            r#"{"x": [1, {"log": 2}], "log": {"entries": [{}, null, {"request": {}}],
                "pages": [], "creator": {"name": "Firefox", "version": "1"}, "version": "1.2"}}"#,
        );
        assert!(r.is_ok());
        assert_eq!(seen, vec![(0, true), (1, false), (2, true)]);
        assert_eq!(info.entries, 3);
        assert_eq!(info.creator.as_deref(), Some("Firefox"));
        assert_eq!(info.version.as_deref(), Some("1.2"));
        assert!(info.root_object && info.log_object && info.entries_array);
    }

    #[test]
    fn shapes_that_are_not_har_are_reported_not_errors() {
        let (r, info, seen) = run(r#"[1, 2]"#);
        assert!(r.is_ok());
        assert!(!info.root_object);
        assert!(seen.is_empty());
        let (r, info, _) = run(r#"{"log": [1]}"#);
        assert!(r.is_ok());
        assert!(info.root_object && !info.log_object);
        let (r, info, _) = run(r#"{"log": {"entries": {"a": 1}}}"#);
        assert!(r.is_ok());
        assert!(info.entries_not_array && !info.entries_array);
    }

    #[test]
    fn syntax_error_after_some_entries_keeps_them() {
        let (r, info, seen) = run("{\"log\": {\"entries\": [{}, {},\n {\"time\": 1 \"x\": 2}]}}");
        let err = r.err().map(|e| (e.line(), e.is_syntax()));
        assert_eq!(err, Some((2, true)));
        assert_eq!(seen.len(), 2);
        assert_eq!(info.entries, 2);
    }
}
