//! HAR exports (browser devtools and tools) → `Exchange`s, one per entry, with the entry index as
//! locator (`entry 17`, counted from 0 as in the file's `log.entries` array). Fed by the engine
//! after `detect` unwrapped compression; feeds the engine's exchange sink and the file's
//! `SourceStats`.
//!
//! The document is streamed (`stream`): each entry is parsed into a tolerant model (`raw`),
//! mapped (`map`) and emitted before the next one is read, so a 200 MB HAR costs one entry of
//! memory. Producer quirks handled: UTF-8 BOM, JSONP (`callback({...})`), `null` or strings where
//! numbers belong, missing optional objects, `cookies` as a single object (IE11), Set-Cookie lines
//! joined by newlines (Firebug), HTTP/2 and HTTP/3 pseudo-headers, base64 content, forms recorded
//! only as `postData.params`, cookies recorded only as objects, and sanitized exports (`sanitize`).
//! One JSON string is bounded too (`cap`), so a gzip-wrapped HAR with a 4 GB string is harmless.
//!
//! The `har` crate's typed models are not used for the entries: its `from_reader` holds the whole
//! document (bytes, then a `Value`, then typed structs), its types reject real browser exports,
//! and they drop fields the analysis needs (see `raw`). Only its version names are used.
//!
//! Whether a file is sanitized is known only once it was read, after its exchanges were emitted:
//! it is reported in `SourceStats::sanitized` (and one warning), which rules that reason from an
//! absent header must consult for the exchange's source.

mod cap;
mod jsonstr;
mod map;
mod raw;
mod sanitize;
mod split;
mod stream;

pub use sanitize::is_placeholder;

use std::cell::{Cell, RefCell};
use std::io::{BufReader, Cursor, Read};
use std::sync::Arc;

use serde_json::error::Category;

use super::{IngestConfig, IngestError};
use crate::model::{Exchange, SourceStats};

/// Warnings kept per file; beyond, they are counted in one closing line.
const MAX_WARNINGS: usize = 100;
/// Bytes examined for a BOM and a JSONP callback name before the JSON starts.
const HEAD_LEN: u64 = 4096;
/// Read buffer: large sequential reads.
const READ_BUF: usize = 256 << 10;

/// Reads a HAR document, emitting one exchange per entry. Broken JSON fails the file with the
/// JSON error's line and column; entries emitted before it stay emitted. JSON that is not a HAR
/// (no `log.entries` array) fails with `NotHar`.
pub fn read_har(
    input: &mut dyn Read,
    source: &Arc<str>,
    cfg: &IngestConfig,
    stats: &mut SourceStats,
    sink: &mut dyn FnMut(Exchange),
) -> Result<(), IngestError> {
    let count = Cell::new(0u64);
    let strings_cut = Cell::new(0u64);
    // The entry being read when the first string was cut, for the warning's place.
    let mut first_cut_entry: Option<u64> = None;
    let mut warn = Warnings::default();
    let mut mapper = map::Mapper::new(source, cfg);
    let mut info = stream::LogInfo::default();
    let limits = raw::Limits {
        text_keep: cfg.body.max_kept.saturating_mul(2).max(64),
        string_keep: cfg.max_header_bytes.max(cfg.body.max_kept),
        max_items: cfg.max_headers,
    };
    let cut = RefCell::new(split::Shared::default());
    let result = raw::with_limits(limits, || -> Result<(), IngestError> {
        let mut counted = Counting {
            inner: &mut *input,
            n: &count,
        };
        let mut head = Vec::new();
        (&mut counted).take(HEAD_LEN).read_to_end(&mut head)?;
        let (prefix, jsonp) = prefix_len(&head);
        // Blank the BOM and the JSONP callback instead of cutting them, so serde_json's line and
        // column are those of the file.
        if let Some(p) = head.get_mut(..prefix) {
            p.fill(b' ');
        }
        let capped = cap::StringCap::new(
            Cursor::new(head).chain(counted),
            string_cap(&limits),
            &strings_cut,
        );
        // Entries are cut out of the stream and parsed from slices; serde_json streams the
        // rest (`split`).
        let reader = split::Splitter::new(BufReader::with_capacity(READ_BUF, capped), &cut);
        let mut on_entry = |index: u64, creator: Option<&str>, entry: Option<raw::Entry>| {
            if strings_cut.get() > 0 && first_cut_entry.is_none() {
                first_cut_entry = Some(index);
            }
            let mapped = mapper.map(index, creator, entry);
            for w in mapped.warnings {
                warn.push(format!("entry {index}: {w}"));
            }
            let ex = mapped.ex;
            stats.exchanges += 1;
            stats.see_ts(ex.request.as_ref().and_then(|r| r.ts));
            stats.see_ts(ex.response.as_ref().and_then(|r| r.ts));
            for a in &ex.anomalies {
                stats.anomaly(a);
            }
            sink(ex);
        };
        let mut de = serde_json::Deserializer::from_reader(reader);
        let walked = stream::walk(&mut de, &mut info, Some(&cut), &mut on_entry);
        walked.map_err(|e| skeleton_error(e, &cut))?;
        // Only whitespace may follow the document. JSONP's closing `)` is not checked (the
        // reader is serde_json's now): what follows a JSONP document is ignored.
        if !jsonp && let Err(e) = de.end() {
            if e.is_io() {
                return Err(json_error(e));
            }
            let (line, column) = cut.borrow().positions.to_file(e.line(), e.column());
            warn.push(format!(
                "data after the end of the HAR document (line {line}, column {column}) was ignored"
            ));
        }
        drop(de);
        // Read to the end so `bytes` is the file's size.
        std::io::copy(
            &mut Counting {
                inner: &mut *input,
                n: &count,
            },
            &mut std::io::sink(),
        )?;
        Ok(())
    });
    stats.bytes = count.get();

    if strings_cut.get() > 0 {
        warn.push_always(format!(
            "{} JSON string(s) longer than {} bytes were cut while reading (memory bound){}; \
             the bodies or values they held are truncated and their lengths understated",
            strings_cut.get(),
            string_cap(&limits),
            first_cut_entry
                .map(|i| format!(", the first in entry {i}"))
                .unwrap_or_default()
        ));
    }
    if mapper.conn_limit_hit {
        warn.push(format!(
            "more than {} connection ids: later ones are not numbered per connection",
            cfg.max_connections
        ));
    }
    if let Some(v) = info.version.as_deref() {
        let known = [
            har::HarVersion::V1_2.as_str(),
            har::HarVersion::V1_3.as_str(),
            "1.1",
        ];
        if !known.contains(&v.trim()) {
            warn.push(format!(
                "log.version {} is not a known HAR version (1.1 to 1.3); read with the tolerant model",
                printable_version(v)
            ));
        }
    }
    if let Some(reason) = mapper.scan.verdict(info.creator.as_deref()) {
        stats.sanitized = true;
        warn.push_always(format!(
            "HAR export looks sanitized ({reason}); cookie and header checks were limited: an \
             absent Cookie, Set-Cookie or Authorization header says nothing about the traffic, \
             and placeholder values were ignored"
        ));
    }
    warn.finish(&mut stats.warnings);
    result?;

    if !info.root_object {
        return Err(IngestError::NotHar("the JSON root is not an object".into()));
    }
    if !info.log_object {
        return Err(IngestError::NotHar(
            "no `log` object at the top level".into(),
        ));
    }
    if !info.entries_array {
        return Err(IngestError::NotHar(
            "`log.entries` is missing or not an array".into(),
        ));
    }
    Ok(())
}

/// Longest JSON string passed whole to serde_json (which buffers each string entirely). Every
/// string the model keeps is shorter once decoded, and a JSON escape is at most 6 bytes for one
/// decoded byte, so a cut string is always longer than what the model keeps: its truncation is
/// still seen.
fn string_cap(limits: &raw::Limits) -> usize {
    limits
        .text_keep
        .max(limits.string_keep)
        .saturating_mul(6)
        .saturating_add(64)
}

/// Length of what precedes the JSON: a UTF-8 BOM, whitespace, and a JSONP callback name with its
/// `(`. Returns the length and whether the file is JSONP.
fn prefix_len(head: &[u8]) -> (usize, bool) {
    let bom = if head.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let rest = head.get(bom..).unwrap_or_default();
    let ws = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let rest = rest.get(ws..).unwrap_or_default();
    let ident = rest
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.'))
        .count();
    if ident == 0 {
        return (bom, false);
    }
    let after = rest.get(ident..).unwrap_or_default();
    let ws2 = after.iter().take_while(|b| b.is_ascii_whitespace()).count();
    if after.get(ws2) == Some(&b'(') {
        (bom + ws + ident + ws2 + 1, true)
    } else {
        (bom, false)
    }
}

/// The walk's error at its place in the file: a cut entry's own error when one failed, else
/// serde_json's error in the skeleton with its position mapped back.
fn skeleton_error(e: serde_json::Error, cut: &RefCell<split::Shared>) -> IngestError {
    let mut cut = cut.borrow_mut();
    match cut.failed.take() {
        Some((e, line, column)) => json_error_at(e, line, column),
        None => {
            let (line, column) = cut.positions.to_file(e.line(), e.column());
            json_error_at(e, line, column)
        }
    }
}

/// serde_json's error as an ingest error: I/O stays I/O; syntax, truncation and shape errors
/// carry line and column. serde_json's syntax messages never quote the input.
fn json_error(e: serde_json::Error) -> IngestError {
    let (line, column) = (e.line(), e.column());
    json_error_at(e, line, column)
}

fn json_error_at(e: serde_json::Error, line: usize, column: usize) -> IngestError {
    let reason = match e.classify() {
        Category::Io => return IngestError::Io(e.into()),
        Category::Syntax | Category::Eof => {
            let full = e.to_string();
            match full.rfind(" at line ") {
                Some(i) => full.get(..i).unwrap_or_default().to_string(),
                None => full,
            }
        }
        // The tolerant model accepts every value, so this is not expected; its messages may
        // quote the input, so none is passed on.
        Category::Data => "unexpected value".to_string(),
    };
    IngestError::Json {
        line,
        column,
        reason,
    }
}

/// A version string fit for a warning: short and made of version characters, else a stand-in
/// (the field could hold anything, and warnings never carry input that might be a secret).
fn printable_version(v: &str) -> String {
    let v = v.trim();
    if !v.is_empty() && v.len() <= 12 && v.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        format!("`{v}`")
    } else {
        "(unrecognised)".to_string()
    }
}

/// Counts the bytes read from the input for `SourceStats::bytes`.
struct Counting<'a, 'c> {
    inner: &'a mut dyn Read,
    n: &'c Cell<u64>,
}

impl Read for Counting<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n.set(self.n.get().saturating_add(n as u64));
        Ok(n)
    }
}

/// The file's warnings, bounded.
#[derive(Default)]
struct Warnings {
    kept: Vec<String>,
    dropped: u64,
}

impl Warnings {
    fn push(&mut self, w: String) {
        if self.kept.len() < MAX_WARNINGS {
            self.kept.push(w);
        } else {
            self.dropped += 1;
        }
    }
    /// For the once-per-file warnings that must not be lost to the bound.
    fn push_always(&mut self, w: String) {
        self.kept.push(w);
    }
    fn finish(self, out: &mut Vec<String>) {
        out.extend(self.kept);
        if self.dropped > 0 {
            out.push(format!(
                "{} more warnings like the above were not listed",
                self.dropped
            ));
        }
    }
}

#[cfg(test)]
mod tests;
