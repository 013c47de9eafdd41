//! Bounds the memory of one JSON string: a byte filter between the file and serde_json that cuts
//! every string longer than a cap, keeping it valid JSON. serde_json buffers a whole string before
//! handing it to a visitor, so without this one 4 GB `content.text` (a few MB once gzip-wrapped)
//! would need 4 GB. Fed by the file reader in `har::read_har`; feeds serde_json.
//!
//! It follows JSON's string syntax only (quotes, backslash escapes), which is all it needs: outside
//! a string a `"` always opens one. A string is cut only between whole characters and whole
//! escapes, and never between the two halves of a surrogate pair, so what serde_json sees is a
//! valid string whose value is a prefix of the original. Strings are cut far above every bound of
//! the model, so nothing the analysis keeps is lost; only lengths of such bodies are understated.

use std::cell::Cell;
use std::io::{self, Read};

use super::jsonstr;

#[derive(Debug, Clone, Copy)]
enum State {
    Outside,
    Inside {
        /// Encoded bytes of the string passed so far.
        len: usize,
        /// The previous byte was a backslash.
        backslash: bool,
        /// Hex digits still expected in a `\uXXXX` escape, and their value so far.
        hex_left: u8,
        hex: u16,
        /// The last escape was a high surrogate: a cut here would leave it alone (invalid).
        high_pending: bool,
    },
    /// Past the cap: dropping bytes until the closing quote.
    Skipping {
        backslash: bool,
    },
}

/// Inside a string, `len` bytes into it, after plain text: no escape open, none just ended.
const fn plain(len: usize) -> State {
    State::Inside {
        len,
        backslash: false,
        hex_left: 0,
        hex: 0,
        high_pending: false,
    }
}

pub(crate) struct StringCap<'c, R> {
    inner: R,
    cap: usize,
    state: State,
    /// Strings cut so far.
    cut: &'c Cell<u64>,
    /// Whether string ends are looked for 64 bytes at a time (off only in tests, which compare
    /// the two ways).
    fast: bool,
}

impl<'c, R: Read> StringCap<'c, R> {
    pub fn new(inner: R, cap: usize, cut: &'c Cell<u64>) -> Self {
        StringCap {
            inner,
            cap,
            state: State::Outside,
            cut,
            fast: true,
        }
    }

    /// Follows every string byte by byte (the reference for the fast path).
    #[cfg(test)]
    fn slow_only(mut self) -> Self {
        self.fast = false;
        self
    }

    /// Filters `data` in place and returns how many bytes are kept at its start.
    fn filter(&mut self, data: &mut [u8]) -> usize {
        let n = data.len();
        let (mut r, mut w) = (0usize, 0usize);
        // Below this index the steps that follow escapes one by one take over: the fast scan
        // found no string end there.
        let mut slow_until = 0usize;
        // Moves `len` bytes from `r` to `w` (a no-op while nothing was dropped).
        let keep = |data: &mut [u8], r: usize, w: usize, len: usize| {
            if r != w {
                data.copy_within(r..r + len, w);
            }
        };
        while r < n {
            match self.state {
                State::Outside => match memchr::memchr(b'"', &data[r..]) {
                    Some(k) => {
                        keep(data, r, w, k + 1);
                        r += k + 1;
                        w += k + 1;
                        self.state = plain(0);
                    }
                    None => {
                        keep(data, r, w, n - r);
                        w += n - r;
                        r = n;
                    }
                },
                State::Skipping { backslash } => {
                    if backslash {
                        r += 1;
                        self.state = State::Skipping { backslash: false };
                        continue;
                    }
                    match memchr::memchr2(b'"', b'\\', &data[r..]) {
                        Some(k) if data[r + k] == b'"' => {
                            data[w] = b'"';
                            w += 1;
                            r += k + 1;
                            self.state = State::Outside;
                        }
                        Some(k) => {
                            r += k + 1;
                            self.state = State::Skipping { backslash: true };
                        }
                        None => r = n,
                    }
                }
                State::Inside {
                    len,
                    backslash,
                    hex_left,
                    hex,
                    high_pending,
                } => {
                    // The string ends before the cap (nearly every string): no cut to place, so
                    // nothing to follow but where it ends.
                    if self.fast && hex_left == 0 && r >= slow_until {
                        let room = self.cap.saturating_sub(len).min(n - r);
                        let window = r + room;
                        match jsonstr::string_end(&data[r..window], backslash) {
                            Ok(k) => {
                                keep(data, r, w, k + 1);
                                r += k + 1;
                                w += k + 1;
                                self.state = State::Outside;
                                continue;
                            }
                            Err(_) => {
                                slow_until = window;
                                // It goes on past the window (the chunk ends, or the cap comes):
                                // up to a point with no backslash in the 7 bytes before it, the
                                // bytes are plain text, and the state there is known (no escape
                                // open, none that just ended a high surrogate). The steps below
                                // follow escapes from there only.
                                if let Some(p) = clean_point(&data[..window], r)
                                    && p > r
                                {
                                    keep(data, r, w, p - r);
                                    w += p - r;
                                    self.state = plain(len + (p - r));
                                    r = p;
                                    continue;
                                }
                            }
                        }
                    }
                    let b = data[r];
                    if backslash {
                        keep(data, r, w, 1);
                        r += 1;
                        w += 1;
                        self.state = State::Inside {
                            len: len + 1,
                            backslash: false,
                            hex_left: if b == b'u' { 4 } else { 0 },
                            hex: 0,
                            high_pending: high_pending && b == b'u',
                        };
                        continue;
                    }
                    if hex_left > 0 {
                        keep(data, r, w, 1);
                        r += 1;
                        w += 1;
                        let digit = (b as char).to_digit(16).unwrap_or(0) as u16;
                        let hex = hex.wrapping_mul(16).wrapping_add(digit);
                        let done = hex_left == 1;
                        self.state = State::Inside {
                            len: len + 1,
                            backslash: false,
                            hex_left: hex_left - 1,
                            hex,
                            high_pending: if done {
                                (0xD800..=0xDBFF).contains(&hex)
                            } else {
                                high_pending
                            },
                        };
                        continue;
                    }
                    if len >= self.cap && !high_pending && !is_continuation(b) && b != b'"' {
                        self.cut.set(self.cut.get().saturating_add(1));
                        self.state = State::Skipping { backslash: false };
                        continue;
                    }
                    // Plain bytes up to the next quote or backslash, or up to the cap (then one
                    // byte at a time until a character boundary allows the cut).
                    let room = self.cap.saturating_sub(len).max(1).min(n - r);
                    let window = &data[r..r + room];
                    match memchr::memchr2(b'"', b'\\', window) {
                        Some(k) => {
                            let special = data[r + k];
                            keep(data, r, w, k + 1);
                            r += k + 1;
                            w += k + 1;
                            self.state = if special == b'"' {
                                State::Outside
                            } else {
                                State::Inside {
                                    len: len + k + 1,
                                    backslash: true,
                                    hex_left: 0,
                                    hex: 0,
                                    high_pending: high_pending && k == 0,
                                }
                            };
                        }
                        None => {
                            keep(data, r, w, room);
                            r += room;
                            w += room;
                            self.state = plain(len + room);
                        }
                    }
                }
            }
        }
        w
    }
}

/// The last point of `data[from..]` with 7 bytes before it, all in `data[from..]`, none of them a
/// backslash. An escape is at most 6 bytes (`\uXXXX`), so the byte before such a point is plain
/// text, whatever came before `from`.
fn clean_point(data: &[u8], from: usize) -> Option<usize> {
    let mut end = data.len();
    loop {
        let lo = end.checked_sub(7).filter(|&lo| lo >= from)?;
        match memchr::memrchr(b'\\', &data[lo..end]) {
            None => return Some(end),
            Some(i) => end = lo + i,
        }
    }
}

fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

impl<R: Read> Read for StringCap<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.inner.read(buf)?;
            if n == 0 {
                return Ok(0);
            }
            let kept = self.filter(buf.get_mut(..n).unwrap_or_default());
            // Zero kept is not the end of the file: everything read was dropped; read on.
            if kept > 0 {
                return Ok(kept);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reads `input` through the filter in chunks of `chunk` bytes.
    fn filtered(input: &[u8], cap: usize, chunk: usize) -> (Vec<u8>, u64) {
        filtered_as(input, cap, chunk, true)
    }

    /// `filtered`, with or without the fast path.
    fn filtered_as(input: &[u8], cap: usize, chunk: usize, fast: bool) -> (Vec<u8>, u64) {
        struct Chunks<'a>(&'a [u8], usize);
        impl Read for Chunks<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let cut = Cell::new(0);
        let mut out = Vec::new();
        let filter = StringCap::new(Chunks(input, chunk), cap, &cut);
        let mut filter = if fast { filter } else { filter.slow_only() };
        filter
            .read_to_end(&mut out)
            .expect("reading a slice cannot fail");
        (out, cut.get())
    }

    /// JSON text of `s` with every non-ASCII character as `\u` escapes (surrogate pairs beyond
    /// the BMP), to exercise the escape paths.
    fn ascii_json(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{u:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    #[test]
    fn long_strings_are_cut_and_the_rest_is_untouched() {
        let doc = r#"{"a": "0123456789", "b\"c": "xy", "n": [1, 2]}"#;
        let (out, cut) = filtered(doc.as_bytes(), 4, 7);
        assert_eq!(
            std::str::from_utf8(&out).ok(),
            Some(r#"{"a": "0123", "b\"c": "xy", "n": [1, 2]}"#)
        );
        assert_eq!(cut, 1);
        let (out, cut) = filtered(doc.as_bytes(), 100, 3);
        assert_eq!(out, doc.as_bytes());
        assert_eq!(cut, 0);
    }

    #[test]
    fn cuts_never_split_a_character_an_escape_or_a_surrogate_pair() {
        let doc = "[\"ab\\u00e9\\ud83d\\ude00é😀\\n\\\"xyz\"]";
        for cap in 0..doc.len() {
            for chunk in [1, 2, 5, 64] {
                let (out, _) = filtered(doc.as_bytes(), cap, chunk);
                let v: Vec<String> = serde_json::from_slice(&out)
                    .unwrap_or_else(|e| panic!("cap {cap} chunk {chunk}: {e}"));
                assert!("abé😀é😀\n\"xyz".starts_with(v[0].as_str()), "cap {cap}");
            }
        }
    }

    /// Strings of up to `max` characters, weighted to escapes, multibyte characters and surrogate
    /// pairs, as JSON text (raw or all-ASCII escapes).
    fn tricky_doc(max: usize) -> impl Strategy<Value = String> {
        let ch = prop_oneof![
            4 => Just('a'),
            1 => Just('"'),
            1 => Just('\\'),
            1 => Just('\n'),
            1 => Just('é'),
            1 => Just('😀'),
        ];
        (
            proptest::collection::vec(proptest::collection::vec(ch, 0..max), 0..4),
            any::<bool>(),
        )
            .prop_map(|(strings, escaped)| {
                let strings: Vec<String> = strings.into_iter().map(String::from_iter).collect();
                if escaped {
                    let parts: Vec<String> = strings.iter().map(|s| ascii_json(s)).collect();
                    format!("[{}]", parts.join(", "))
                } else {
                    serde_json::to_string(&strings).unwrap_or_default()
                }
            })
    }

    proptest! {
        /// The fast path keeps and cuts exactly what following every escape does.
        #[test]
        fn fast_and_byte_by_byte_agree(
            doc in tricky_doc(200),
            cap in 0usize..400,
            chunk in 1usize..300,
        ) {
            let fast = filtered_as(doc.as_bytes(), cap, chunk, true);
            let slow = filtered_as(doc.as_bytes(), cap, chunk, false);
            prop_assert_eq!(fast, slow);
        }

        #[test]
        fn output_is_valid_json_with_prefixes_of_the_strings(
            strings in proptest::collection::vec(any::<String>(), 0..6),
            escaped in any::<bool>(),
            cap in 0usize..40,
            chunk in 1usize..50,
        ) {
            let doc = if escaped {
                format!("[{}]", strings.iter().map(|s| ascii_json(s)).collect::<Vec<_>>().join(","))
            } else {
                serde_json::to_string(&strings).unwrap_or_default()
            };
            let (out, _) = filtered(doc.as_bytes(), cap, chunk);
            let got: Vec<String> = serde_json::from_slice(&out)
                .map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&out))))?;
            prop_assert_eq!(got.len(), strings.len());
            for (g, s) in got.iter().zip(&strings) {
                prop_assert!(s.starts_with(g.as_str()), "{:?} is not a prefix of {:?}", g, s);
                let encoded = if escaped { ascii_json(s) } else { serde_json::to_string(s).unwrap_or_default() };
                if encoded.len() - 2 <= cap {
                    prop_assert_eq!(g, s);
                }
            }
        }
    }
}
