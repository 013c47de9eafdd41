//! Secret values and how they may be shown: `Secret` masks itself in `Display` and `Debug`, so no
//! report, log line, error or panic can print a raw credential by accident; `Fingerprinter` turns a
//! value into the stable, non-reversible `key_fp`. Fed by `recognize`, read by `analyze` and `report`.

use std::fmt;

use compact_str::CompactString;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Values shorter than this are masked without any prefix: a prefix of a short secret is too
/// large a share of it.
const PREFIX_MIN_LEN: usize = 12;
/// Characters of prefix kept for longer secrets (enough to tell `sk_l` from `pk_l` or `eyJh`).
const PREFIX_LEN: usize = 4;

/// A credential value. The only way to the raw text is `expose()`, which callers use for
/// matching and hashing, and which `report` uses only under `--reveal`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Secret(Box<str>);

impl Secret {
    pub fn new(value: impl Into<Box<str>>) -> Self {
        Secret(value.into())
    }
    /// The raw value. Never format it into anything a user sees without `--reveal`.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.chars().count()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The masked form: a short prefix and the length, e.g. `sk_l…(32)`; `…(8)` for short values.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks a raw value (see `Secret::masked`).
pub fn mask(value: &str) -> String {
    let n = value.chars().count();
    if n < PREFIX_MIN_LEN {
        format!("…({n})")
    } else {
        let prefix: String = value.chars().take(PREFIX_LEN).collect();
        format!("{prefix}…({n})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.masked())
    }
}

/// A text that contains secrets (a URL, a Basic credential): kept masked, and raw unless the
/// run will not `--reveal` (`drop_raw`); shown masked unless the report was asked to `--reveal`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Sensitive {
    /// Inline when short (most masked credentials are): no allocation of its own.
    masked: CompactString,
    /// `None` when the raw text is the masked one (nothing secret in it), or was dropped: a run
    /// that will not reveal holds no raw copy of a URL or a credential.
    raw: Option<Secret>,
}

impl Sensitive {
    pub fn new(masked: impl Into<CompactString>, raw: impl Into<Box<str>>) -> Self {
        let masked = masked.into();
        let raw: Box<str> = raw.into();
        Sensitive {
            raw: (*raw != *masked).then(|| Secret::new(raw)),
            masked,
        }
    }
    /// Text with nothing secret in it: masked and raw are the same.
    pub fn plain(text: impl Into<CompactString>) -> Self {
        Sensitive {
            masked: text.into(),
            raw: None,
        }
    }
    /// Forgets the raw text (for a run that will not reveal): `render(true)` shows the masked
    /// text from then on.
    pub fn drop_raw(&mut self) {
        self.raw = None;
    }
    pub fn masked(&self) -> &str {
        &self.masked
    }
    /// What a report prints: the raw text only when `reveal` is set.
    pub fn render(&self, reveal: bool) -> &str {
        match &self.raw {
            Some(raw) if reveal => raw.expose(),
            _ => &self.masked,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.masked.is_empty()
    }
    /// Heap bytes this text owns (for a spill budget).
    pub fn heap_bytes(&self) -> usize {
        crate::spill::heap_str(&self.masked) + self.raw.as_ref().map_or(0, |r| r.0.len())
    }
}

/// The spill files' form of a `Sensitive` (`#[serde(with = "crate::secret::spill_form")]` on
/// the fields of the records `crate::spill` writes): the masked text, and the raw one when the
/// run kept it, which only a run that will `--reveal` does (`drop_raw`). `Sensitive` itself is
/// not `Serialize`: nothing else may write its raw text.
pub mod spill_form {
    use super::{Secret, Sensitive};
    use compact_str::CompactString;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::sync::Arc;

    pub fn serialize<S: Serializer>(v: &Sensitive, s: S) -> Result<S::Ok, S::Error> {
        (v.masked.as_str(), v.raw.as_ref().map(Secret::expose)).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Sensitive, D::Error> {
        let (masked, raw): (CompactString, Option<String>) = Deserialize::deserialize(d)?;
        Ok(Sensitive {
            masked,
            raw: raw.map(Secret::new),
        })
    }

    /// The same for an `Arc<Sensitive>`.
    pub mod arc {
        use super::*;

        pub fn serialize<S: Serializer>(v: &Arc<Sensitive>, s: S) -> Result<S::Ok, S::Error> {
            super::serialize(v, s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<Sensitive>, D::Error> {
            super::deserialize(d).map(Arc::new)
        }
    }
}

impl fmt::Display for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked)
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sensitive({:?})", self.masked)
    }
}

/// Hex characters of the HMAC kept in `key_fp`: 64 bits, enough to tell keys of one run apart.
const FP_HEX_LEN: usize = 16;

/// Keyed fingerprints: HMAC-SHA256(salt, normalized value), hex, shortened. Same salt, same
/// fingerprint, across files, threads and runs; without the salt it cannot be reversed or
/// confirmed by guessing.
#[derive(Clone)]
pub struct Fingerprinter {
    mac: Hmac<Sha256>,
}

impl Fingerprinter {
    pub fn new(salt: &[u8]) -> Self {
        Fingerprinter {
            // HMAC accepts keys of any length, so this cannot fail.
            mac: <Hmac<Sha256> as KeyInit>::new_from_slice(salt)
                .expect("HMAC takes any key length"),
        }
    }

    /// A fingerprinter with a fresh random salt: fingerprints are stable within one run only.
    pub fn random() -> Self {
        let mut salt = [0u8; 32];
        // Without an OS random source, fall back to time and address entropy: the salt only has
        // to be unknown to a reader of the report, not cryptographically perfect.
        if getrandom::fill(&mut salt).is_err() {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            salt[..16].copy_from_slice(&t.to_le_bytes());
            let addr = &salt as *const _ as usize;
            salt[16..24].copy_from_slice(&addr.to_le_bytes());
        }
        Fingerprinter::new(&salt)
    }

    /// Fingerprint of an already-normalized value.
    pub fn fp(&self, value: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(value.as_bytes());
        let out = mac.finalize().into_bytes();
        // Only the bytes shown, through a buffer: `hex::encode` builds its string a char at a
        // time.
        let mut buf = [0u8; FP_HEX_LEN];
        let shown = out.get(..FP_HEX_LEN / 2).unwrap_or(&out);
        match hex::encode_to_slice(shown, &mut buf) {
            Ok(()) => String::from_utf8_lossy(&buf).into_owned(),
            Err(_) => hex::encode(shown),
        }
    }
}

impl fmt::Debug for Fingerprinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fingerprinter(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_debug_never_show_the_value() {
        let s = Secret::new("sk_live_abcdefghijklmnopqrstuvwxyz12");
        assert_eq!(s.to_string(), "sk_l…(36)");
        let dbg = format!("{s:?} {:?}", vec![s.clone()]);
        assert!(!dbg.contains("abcdefgh"), "{dbg}");
        assert_eq!(Secret::new("hunter2").to_string(), "…(7)");
    }

    #[test]
    fn sensitive_renders_raw_only_on_reveal() {
        let s = Sensitive::new("/x?k=…(5)", "/x?k=abcde");
        assert_eq!(s.render(false), "/x?k=…(5)");
        assert_eq!(s.render(true), "/x?k=abcde");
        let mut dropped = s.clone();
        dropped.drop_raw();
        assert_eq!(dropped.render(true), "/x?k=…(5)");
        assert_eq!(Sensitive::new("/x", "/x").render(true), "/x");
        assert_eq!(Sensitive::plain("/y").render(true), "/y");
        assert!(!format!("{s:?}").contains("abcde"));
    }

    #[test]
    fn fingerprints_are_keyed_and_stable() {
        let a = Fingerprinter::new(b"salt");
        let b = Fingerprinter::new(b"salt");
        let c = Fingerprinter::new(b"other");
        assert_eq!(a.fp("v"), b.fp("v"));
        assert_ne!(a.fp("v"), c.fp("v"));
        assert_ne!(a.fp("v"), a.fp("w"));
        assert_eq!(a.fp("v").len(), FP_HEX_LEN);
        // HMAC-SHA256("salt", "v"), its first 16 hex digits (Python's hmac module agrees).
        assert_eq!(a.fp("v"), "d1053253a067c3f5");
    }
}
