//! Cuts the elements of `log.entries` out of the HAR byte stream so each is parsed from a slice,
//! and hands serde_json's streaming walk (`stream`) the rest of the document with every cut
//! element replaced by a one-byte placeholder `0`. Fed by `har::read_har` (after `cap`); feeds
//! `stream::walk` (the skeleton, as a `Read`) and `stream`'s entry visitor (the cut elements,
//! through `Shared`).
//!
//! Why: serde_json reading from a `Read` takes every byte through a one-byte iterator; on HAR
//! bodies it parsed ~430 MB/s and was 42% of a HAR scan. From a slice it skips string runs with
//! a fast scan (a whole HAR as `IgnoredAny`: 426 MB/s from a reader, 3.2 GB/s from a slice).
//! This scanner only follows JSON's strings and brackets (`jsonstr` over string bodies), keeps the
//! few object keys on the way to `log.entries`, and never decides what is valid JSON: the walk
//! and the per-element parse still do, at the same line and column as before (`Positions` maps
//! the skeleton's positions back to the file's).
//!
//! It picks the same array the walk does: the first `entries` array of the first `log` object
//! of the root object. An element larger than `MAX_PIECE` is not cut but passed through to the
//! walk, which parses it from the stream as before (bounded memory; slower).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, BufRead, Read};

use super::jsonstr;

/// Largest element buffered whole; larger ones are streamed to the walk.
pub(crate) const MAX_PIECE: usize = 16 << 20;
/// Nesting followed inside one element; deeper, the element is ended there and its parse
/// reports serde_json's recursion limit (128) at that place, as the streaming parse would.
const MAX_ELEMENT_DEPTH: usize = 1024;
/// Skeleton nesting tracked; deeper levels are only counted (the walk fails on them anyway).
const MAX_FRAMES: usize = 256;
/// Raw key bytes kept to recognise `log` and `entries` (also in `\u` escapes).
const MAX_KEY: usize = 64;
/// Placeholders remembered for mapping positions back to the file.
const ANCHORS: usize = 8;
/// Elements cut but not yet taken by the walk; more means the two disagree on which array is
/// the entries array (a bug), and the oldest are dropped to keep memory bounded.
const MAX_QUEUED: usize = 4;

/// A position: 1-based line and bytes before it on that line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Pos {
    pub line: usize,
    pub col: usize,
}

impl Pos {
    const START: Pos = Pos { line: 1, col: 0 };

    fn advance(&mut self, bytes: &[u8]) {
        match memchr::memrchr(b'\n', bytes) {
            Some(last) => {
                self.line += memchr::memchr_iter(b'\n', bytes).count();
                self.col = bytes.len() - last - 1;
            }
            None => self.col += bytes.len(),
        }
    }
}

/// One cut element: its bytes and where its first byte is in the file.
#[derive(Debug)]
pub(crate) struct Piece {
    pub bytes: Vec<u8>,
    pub at: Pos,
    /// For a scalar, the byte that ended it: serde_json streaming saw it and reported a broken
    /// scalar (`tru]`) there, not at the end of the input.
    pub next: Option<u8>,
}

/// What the splitter and the walk share (single thread).
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub queue: VecDeque<Piece>,
    /// A buffer handed back by the walk for the next element (saves a growth per entry).
    pub spare: Vec<u8>,
    pub positions: Positions,
    /// Elements dropped because the walk did not take them (see `MAX_QUEUED`).
    pub dropped: u64,
    /// A cut element that is not valid JSON: serde_json's error and its place in the file.
    pub failed: Option<(serde_json::Error, usize, usize)>,
}

impl Shared {
    /// Parses the next cut element for the walk's placeholder. `Ok(None)` when nothing was cut
    /// (the placeholder is the file's own number); `Err` when the element is not valid JSON
    /// (the error is kept in `failed`).
    pub fn parse_next<T: serde::de::DeserializeOwned>(&mut self) -> Result<Option<T>, ()> {
        let Some(piece) = self.queue.pop_front() else {
            return Ok(None);
        };
        let mut parsed = parse_piece::<T>(&piece.bytes);
        if let (Err(e), Some(next)) = (&parsed, piece.next)
            && e.is_eof()
        {
            let mut with_next = piece.bytes.clone();
            with_next.push(next);
            parsed = parse_piece::<T>(&with_next);
        }
        self.spare = piece.bytes;
        match parsed {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                let (line, column) = piece_to_file(piece.at, e.line(), e.column());
                self.failed = Some((e, line, column));
                Err(())
            }
        }
    }
}

/// One element's value. Valid UTF-8 (nearly always) is checked once for the whole element and
/// parsed as `&str`, where serde_json does not check each string again (that check was ~5% of a
/// HAR scan, `simdutf8` over the element ~1%); anything else is parsed as bytes, so that the error
/// and its place are serde_json's own.
fn parse_piece<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

/// Maps a position in the skeleton (what serde_json saw) to the file's: between placeholders
/// the skeleton is the file byte for byte.
#[derive(Debug)]
pub(crate) struct Positions {
    /// (skeleton position, file position) just after each recent placeholder, oldest first.
    anchors: VecDeque<(Pos, Pos)>,
}

impl Default for Positions {
    fn default() -> Self {
        Positions {
            anchors: VecDeque::from([(Pos::START, Pos::START)]),
        }
    }
}

impl Positions {
    fn push(&mut self, skel: Pos, file: Pos) {
        if self.anchors.len() >= ANCHORS {
            self.anchors.pop_front();
        }
        self.anchors.push_back((skel, file));
    }

    /// The file's line and column for serde_json's `line`/`column` in the skeleton.
    pub fn to_file(&self, line: usize, column: usize) -> (usize, usize) {
        let at = Pos { line, col: column };
        let Some(&(skel, file)) = self
            .anchors
            .iter()
            .rev()
            .find(|(s, _)| *s <= at)
            .or(self.anchors.front())
        else {
            return (line, column);
        };
        if line == skel.line {
            (file.line, file.col + column.saturating_sub(skel.col))
        } else {
            (file.line + line.saturating_sub(skel.line), column)
        }
    }
}

/// The file's line and column of serde_json's `line`/`column` inside a piece.
pub(crate) fn piece_to_file(at: Pos, line: usize, column: usize) -> (usize, usize) {
    if line <= 1 {
        (at.line, at.col + column)
    } else {
        (at.line + line - 1, column)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Root,
    Log,
    Entries,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// An object's key (or its end).
    Key,
    /// An object's `:`.
    Colon,
    /// A value (an object's after `:`, an array's after `[` or `,`).
    Value,
    /// A `,` or the end.
    After,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    object: bool,
    role: Role,
    expect: Expect,
    /// The last key read in this object.
    key: Key,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Log,
    Entries,
    Other,
}

#[derive(Debug)]
enum Mode {
    Skeleton {
        in_string: bool,
        escape: bool,
        /// The string being read is an object key.
        key: bool,
    },
    Element {
        /// Open brackets; empty for a scalar or string element.
        stack: Vec<u8>,
        in_string: bool,
        escape: bool,
        scalar: bool,
        /// The byte that ended a scalar.
        next: Option<u8>,
        /// The element's bytes; `None` once it is passed through (too large, or cut by EOF).
        acc: Option<Vec<u8>>,
        at: Pos,
    },
}

/// Reads the HAR stream (a `BufRead`) and serves the skeleton as a `Read`.
pub(crate) struct Splitter<'s, R> {
    inner: R,
    st: State<'s>,
}

struct State<'s> {
    shared: &'s RefCell<Shared>,
    max_piece: usize,
    /// Skeleton bytes not yet read by the walk.
    out: Vec<u8>,
    out_pos: usize,
    mode: Mode,
    frames: Vec<Frame>,
    /// Levels deeper than `MAX_FRAMES`.
    extra_depth: usize,
    key_buf: Vec<u8>,
    key_long: bool,
    root_done: bool,
    log_seen: bool,
    entries_seen: bool,
    /// Position of the next input byte in the file, and of the next skeleton byte.
    file: Pos,
    skel: Pos,
    eof: bool,
}

const SKELETON: Mode = Mode::Skeleton {
    in_string: false,
    escape: false,
    key: false,
};

impl<'s, R: BufRead> Splitter<'s, R> {
    pub fn new(inner: R, shared: &'s RefCell<Shared>) -> Self {
        Self::with_max_piece(inner, shared, MAX_PIECE)
    }

    fn with_max_piece(inner: R, shared: &'s RefCell<Shared>, max_piece: usize) -> Self {
        Splitter {
            inner,
            st: State {
                shared,
                max_piece,
                out: Vec::new(),
                out_pos: 0,
                mode: SKELETON,
                frames: Vec::new(),
                extra_depth: 0,
                key_buf: Vec::new(),
                key_long: false,
                root_done: false,
                log_seen: false,
                entries_seen: false,
                file: Pos::START,
                skel: Pos::START,
                eof: false,
            },
        }
    }

    /// Processes input until some skeleton is ready to serve or the input ended.
    fn fill(&mut self) -> io::Result<()> {
        while self.st.out_pos >= self.st.out.len() && !self.st.eof {
            self.st.out.clear();
            self.st.out_pos = 0;
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                self.st.eof = true;
                self.st.finish_at_eof();
                break;
            }
            let used = self.st.step(buf);
            self.inner.consume(used);
        }
        Ok(())
    }
}

impl<R: BufRead> Read for Splitter<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.st.out_pos >= self.st.out.len() {
            self.fill()?;
        }
        let avail = self.st.out.get(self.st.out_pos..).unwrap_or_default();
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.st.out_pos += n;
        Ok(n)
    }
}

impl State<'_> {
    /// Appends bytes to the skeleton unchanged (they are the file's next bytes).
    fn pass(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
        self.skel.advance(bytes);
        self.file.advance(bytes);
    }

    /// A skeleton string's bytes (a key's are remembered).
    fn pass_string(&mut self, bytes: &[u8], key: bool) {
        if key {
            if self.key_buf.len() + bytes.len() <= MAX_KEY {
                self.key_buf.extend_from_slice(bytes);
            } else {
                self.key_long = true;
            }
        }
        self.pass(bytes);
    }

    /// Processes the start of `buf`; returns how many bytes were used. Stops after a
    /// placeholder so that the skeleton served holds at most one.
    fn step(&mut self, buf: &[u8]) -> usize {
        let mut i = 0;
        while i < buf.len() {
            match self.mode {
                Mode::Skeleton {
                    in_string: true,
                    escape,
                    key,
                } => {
                    let rest = &buf[i..];
                    match jsonstr::string_end(rest, escape) {
                        Err(pending) => {
                            self.pass_string(rest, key);
                            self.mode = Mode::Skeleton {
                                in_string: true,
                                escape: pending,
                                key,
                            };
                            i = buf.len();
                        }
                        Ok(k) => {
                            self.pass_string(&rest[..k], key);
                            self.pass(&rest[k..=k]);
                            i += k + 1;
                            self.mode = SKELETON;
                            if key {
                                self.end_key();
                            }
                        }
                    }
                }
                Mode::Skeleton { .. } => {
                    let b = buf[i];
                    match b {
                        b'"' if self.expects_key() => {
                            self.key_buf.clear();
                            self.key_long = false;
                            self.mode = Mode::Skeleton {
                                in_string: true,
                                escape: false,
                                key: true,
                            };
                        }
                        b'"' | b'{' | b'[' => {
                            if self.starts_element() {
                                self.enter_element(b);
                                continue;
                            }
                            let role = self.value_start(b);
                            if b == b'"' {
                                self.mode = Mode::Skeleton {
                                    in_string: true,
                                    escape: false,
                                    key: false,
                                };
                            } else if self.frames.len() < MAX_FRAMES && self.extra_depth == 0 {
                                let object = b == b'{';
                                self.frames.push(Frame {
                                    object,
                                    role,
                                    expect: if object { Expect::Key } else { Expect::Value },
                                    key: Key::Other,
                                });
                            } else {
                                self.extra_depth += 1;
                            }
                        }
                        b'}' | b']' => {
                            if self.extra_depth > 0 {
                                self.extra_depth -= 1;
                            } else {
                                self.frames.pop();
                            }
                        }
                        b':' => {
                            if let Some(f) = self.top()
                                && f.object
                                && f.expect == Expect::Colon
                            {
                                f.expect = Expect::Value;
                            }
                        }
                        b',' => {
                            if let Some(f) = self.top() {
                                f.expect = if f.object { Expect::Key } else { Expect::Value };
                            }
                        }
                        b' ' | b'\t' | b'\n' | b'\r' => {}
                        _ => {
                            if self.expects_value() {
                                if self.starts_element() {
                                    self.enter_element(b);
                                    continue;
                                }
                                self.value_start(b);
                            }
                        }
                    }
                    self.pass(&buf[i..=i]);
                    i += 1;
                }
                Mode::Element { .. } => {
                    let (used, ended) = self.element_bytes(&buf[i..]);
                    i += used;
                    if ended && self.end_element() {
                        return i;
                    }
                }
            }
        }
        i
    }

    fn top(&mut self) -> Option<&mut Frame> {
        if self.extra_depth > 0 {
            return None;
        }
        self.frames.last_mut()
    }

    fn expects_key(&self) -> bool {
        self.extra_depth == 0
            && self
                .frames
                .last()
                .is_some_and(|f| f.object && f.expect == Expect::Key)
    }

    fn expects_value(&self) -> bool {
        if self.extra_depth > 0 {
            return false;
        }
        match self.frames.last() {
            Some(f) => f.expect == Expect::Value,
            None => !self.root_done,
        }
    }

    /// The value starting here is an element of the entries array.
    fn starts_element(&self) -> bool {
        self.extra_depth == 0
            && self
                .frames
                .last()
                .is_some_and(|f| f.role == Role::Entries && f.expect == Expect::Value)
    }

    /// A value starts with byte `b`: the parent now expects what follows a value; returns the
    /// role of the value if it is a container.
    fn value_start(&mut self, b: u8) -> Role {
        if self.extra_depth > 0 {
            return Role::Other;
        }
        let Some(f) = self.frames.last_mut() else {
            let first = !self.root_done;
            self.root_done = true;
            return if first && b == b'{' {
                Role::Root
            } else {
                Role::Other
            };
        };
        f.expect = Expect::After;
        match (f.role, f.key, b) {
            (Role::Root, Key::Log, b'{') if !self.log_seen => {
                self.log_seen = true;
                Role::Log
            }
            (Role::Log, Key::Entries, b'[') if !self.entries_seen => {
                self.entries_seen = true;
                Role::Entries
            }
            _ => Role::Other,
        }
    }

    fn end_key(&mut self) {
        let key = if self.key_long {
            Key::Other
        } else if self.key_buf.contains(&b'\\') {
            let mut quoted = Vec::with_capacity(self.key_buf.len() + 2);
            quoted.push(b'"');
            quoted.extend_from_slice(&self.key_buf);
            quoted.push(b'"');
            match serde_json::from_slice::<String>(&quoted).as_deref() {
                Ok("log") => Key::Log,
                Ok("entries") => Key::Entries,
                _ => Key::Other,
            }
        } else {
            match self.key_buf.as_slice() {
                b"log" => Key::Log,
                b"entries" => Key::Entries,
                _ => Key::Other,
            }
        };
        if let Some(f) = self.top() {
            f.key = key;
            f.expect = Expect::Colon;
        }
    }

    fn enter_element(&mut self, b: u8) {
        if let Some(f) = self.top() {
            f.expect = Expect::After;
        }
        let mut acc = std::mem::take(&mut self.shared.borrow_mut().spare);
        acc.clear();
        self.mode = Mode::Element {
            stack: Vec::new(),
            in_string: false,
            escape: false,
            scalar: !matches!(b, b'{' | b'[' | b'"'),
            next: None,
            acc: Some(acc),
            at: self.file,
        };
    }

    /// Takes the element's bytes at the start of `buf`: how many, and whether it ended.
    fn element_bytes(&mut self, buf: &[u8]) -> (usize, bool) {
        let Mode::Element {
            stack,
            in_string,
            escape,
            scalar,
            ..
        } = &mut self.mode
        else {
            return (0, false);
        };
        let mut end = None;
        let mut j = 0;
        if *scalar {
            // Any byte that cannot continue a number or a literal ends it, as serde_json's
            // streaming parse ends it there: `0{` is the entry `0`, then a missing comma.
            match buf.iter().position(|b| {
                matches!(
                    b,
                    b',' | b']' | b'}' | b'{' | b'[' | b'"' | b':' | b' ' | b'\t' | b'\n' | b'\r'
                )
            }) {
                Some(k) => end = Some(k),
                None => j = buf.len(),
            }
        } else {
            while j < buf.len() {
                if *in_string {
                    match jsonstr::string_end(&buf[j..], *escape) {
                        Err(pending) => {
                            *escape = pending;
                            j = buf.len();
                        }
                        Ok(k) => {
                            j += k;
                            *escape = false;
                            *in_string = false;
                            if stack.is_empty() {
                                end = Some(j + 1);
                                break;
                            }
                            j += 1;
                        }
                    }
                } else {
                    match buf[j] {
                        b'"' => *in_string = true,
                        b @ (b'{' | b'[') => {
                            stack.push(b);
                            if stack.len() > MAX_ELEMENT_DEPTH {
                                end = Some(j + 1);
                                break;
                            }
                        }
                        b'}' | b']' => {
                            stack.pop();
                            if stack.is_empty() {
                                end = Some(j + 1);
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
            }
        }
        let used = end.unwrap_or(j);
        let bytes = &buf[..used];
        let scalar = *scalar;
        if scalar && let (Some(e), Mode::Element { next, .. }) = (end, &mut self.mode) {
            *next = buf.get(e).copied();
        }
        let spill = match &mut self.mode {
            Mode::Element { acc: Some(acc), .. } if acc.len() + bytes.len() <= self.max_piece => {
                acc.extend_from_slice(bytes);
                self.file.advance(bytes);
                None
            }
            // A scalar is never passed through: the walk would take a passed-through number
            // for a placeholder. One this long (a number of megabytes) is kept cut short.
            Mode::Element { acc: Some(acc), .. } if scalar => {
                let room = self.max_piece.saturating_sub(acc.len()).min(bytes.len());
                acc.extend_from_slice(&bytes[..room]);
                self.file.advance(bytes);
                None
            }
            Mode::Element { acc, .. } => Some(acc.take()),
            Mode::Skeleton { .. } => None,
        };
        if let Some(held) = spill {
            // Too large to hold (or already passed through): the walk reads it from the stream.
            if let Some(held) = held {
                // Already counted in `file` when it was taken.
                self.out.extend_from_slice(&held);
                self.skel.advance(&held);
            }
            self.pass(bytes);
        }
        (used, end.is_some())
    }

    /// The element is complete: queue it and serve a placeholder. True if a placeholder was
    /// served.
    fn end_element(&mut self) -> bool {
        let mode = std::mem::replace(&mut self.mode, SKELETON);
        let Mode::Element {
            acc: Some(bytes),
            at,
            next,
            ..
        } = mode
        else {
            return false;
        };
        let mut shared = self.shared.borrow_mut();
        if shared.queue.len() >= MAX_QUEUED {
            shared.queue.pop_front();
            shared.dropped += 1;
        }
        shared.queue.push_back(Piece { bytes, at, next });
        // The space keeps what follows from continuing the number (`0` then a stray `1.5`
        // would read as `01.5`, a different error than the file's).
        self.out.extend_from_slice(b"0 ");
        self.skel.advance(b"0 ");
        shared.positions.push(self.skel, self.file);
        true
    }

    /// Input ended inside an element: what was held goes to the walk, which reports the
    /// truncation where it is.
    fn finish_at_eof(&mut self) {
        let mode = std::mem::replace(&mut self.mode, SKELETON);
        if let Mode::Element {
            acc: Some(held), ..
        } = mode
        {
            self.out.extend_from_slice(&held);
            self.skel.advance(&held);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::har::stream;
    use proptest::prelude::*;
    use std::io::BufReader;

    /// What a walk produced: its error (line, column, category), `LogInfo`, and every entry.
    type Outcome = (Result<(), (usize, usize, String)>, String, Vec<String>);

    /// The error's category and message, without its position.
    fn category(e: &serde_json::Error) -> String {
        let msg = e.to_string();
        let msg = msg.rfind(" at line ").map_or(msg.as_str(), |i| &msg[..i]);
        format!("{:?}: {msg}", e.classify())
    }

    /// Byte offset of serde_json's (line, column) in `doc`.
    fn offset(doc: &[u8], line: usize, column: usize) -> usize {
        let start = if line <= 1 {
            0
        } else {
            memchr::memchr_iter(b'\n', doc)
                .nth(line - 2)
                .map_or(doc.len(), |i| i + 1)
        };
        start + column
    }

    /// Cut and streamed walks agree: the same entries, the same `LogInfo`, and the same error.
    /// One allowance: serde_json's readers differ by a byte on a few syntax errors, and then in
    /// wording (a raw control character in a skipped string is placed at it from a slice and
    /// just past it from a stream; `-}` is "invalid number" from a slice and "expected value" one
    /// byte earlier from a stream). Both still name the broken byte's place.
    fn agree(doc: &[u8], got: &Outcome, want: &Outcome) -> bool {
        if got == want {
            return true;
        }
        match (&got.0, &want.0) {
            (Err((gl, gc, gm)), Err((wl, wc, wm))) => {
                gm.starts_with("Syntax")
                    && wm.starts_with("Syntax")
                    && offset(doc, *gl, *gc).abs_diff(offset(doc, *wl, *wc)) <= 1
                    && got.1 == want.1
                    && got.2 == want.2
            }
            _ => false,
        }
    }

    /// The walk as it was before cutting: serde_json streams the whole document.
    fn streamed(doc: &[u8]) -> Outcome {
        let mut info = stream::LogInfo::default();
        let mut seen = Vec::new();
        let mut de = serde_json::Deserializer::from_reader(doc);
        let r = stream::walk(&mut de, &mut info, None, &mut |i, c, e| {
            seen.push(format!("{i} {c:?} {e:?}"))
        })
        .and_then(|()| de.end())
        .map_err(|e| (e.line(), e.column(), category(&e)));
        (r, format!("{info:?}"), seen)
    }

    fn cut(doc: &[u8], chunk: usize, max_piece: usize) -> Outcome {
        let shared = RefCell::new(Shared::default());
        let mut info = stream::LogInfo::default();
        let mut seen = Vec::new();
        let reader =
            Splitter::with_max_piece(BufReader::with_capacity(chunk, doc), &shared, max_piece);
        let mut de = serde_json::Deserializer::from_reader(reader);
        let r = stream::walk(&mut de, &mut info, Some(&shared), &mut |i, c, e| {
            seen.push(format!("{i} {c:?} {e:?}"))
        })
        .and_then(|()| de.end())
        .map_err(|e| {
            let mut sh = shared.borrow_mut();
            match sh.failed.take() {
                Some((pe, line, column)) => (line, column, category(&pe)),
                None => {
                    let (line, column) = sh.positions.to_file(e.line(), e.column());
                    (line, column, category(&e))
                }
            }
        });
        assert_eq!(
            shared.borrow().dropped,
            0,
            "the splitter and the walk disagreed"
        );
        (r, format!("{info:?}"), seen)
    }

    fn same(doc: &[u8]) {
        let want = streamed(doc);
        for (chunk, max_piece) in [(1, MAX_PIECE), (7, MAX_PIECE), (4096, MAX_PIECE), (64, 40)] {
            let got = cut(doc, chunk, max_piece);
            assert!(
                agree(doc, &got, &want),
                "chunk {chunk}, max piece {max_piece}: {}\n got {got:?}\nwant {want:?}",
                String::from_utf8_lossy(doc)
            );
        }
    }

    fn sample(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/samples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn shapes_are_walked_as_when_streamed() {
        for doc in [
            r#"{"log": {"entries": [{}, null, 5, "x", [1, {"a": 2}], {"request": {"url": "http://a/"}}]}}"#,
            r#"{"x": [1, {"log": 2}], "log": {"entries": [{}, null, {"request": {}}],
                "pages": [], "creator": {"name": "Firefox", "version": "1"}, "version": "1.2"}}"#,
            r#"{"\u006cog": {"ent\u0072ies": [{"time": 1}]}}"#,
            r#"{"log": 1, "log": {"entries": {"a": 1}, "entries": [{"time": 2}], "entries": [{}]}}"#,
            r#"{"log": {"entries": [{"a": "]}\"\\", "b": ["{", "["]}, -1.5e3, true, {"c": {}}]}}"#,
            r#"{"log": {"entries": [{"a": "x\"]}"}, {"b": "\\"}, {"c": "\\\"]"}]}}"#,
            r#"{"x\"]": 1, "log": {"creator": {"name": "a\"}[", "v": "\\"}, "entries": [{}]}}"#,
            r#"{"log": {"entries": []}} trailing"#,
            r#"{"log": {"entries": [{}]}}{"log": {"entries": [{}]}}"#,
            r#"[{"log": {"entries": [{}]}}]"#,
            r#"{"log": {"entries": [{"a": 1 "b": 2}]}}"#,
            r#"{"log": {"entries": [{"a": ]}]}}"#,
            r#"{"log": {"entries": [{}, {}],"#,
            r#"{"log": {"entries": [1 2]}}"#,
            r#"{"log": {"entries": [tru]}}"#,
            r#"{"log": {"entries": [0{"a": 1}]}}"#,
            r#"{"log": {"entries": [x{"a": 1}]}}"#,
            r#"{"log": {"entries": [1"a"]}}"#,
            r#"{"log": {"entries": [null[1]]}}"#,
            "{\"log\": {\"entries\": [{\"pageref\": \"\nx\"}, {\"a\": \"\t\"}]}}",
            "{\"log\": {\"entries\": [{\"request\": {\"url\": \"a\nb\"}}]}}",
            "{\"log\": {\"creator\": {\"name\": \"a\nb\"}, \"entries\": []}}",
            "{\"log\": {\"entries\": [\n{\"a\":\n 1},\n {\"b\": [\n}]}}",
            "",
            "   ",
            "{",
        ] {
            same(doc.as_bytes());
        }
    }

    /// An element that is not UTF-8 is parsed as bytes: serde_json's own error, at its place; one
    /// that is (multibyte characters) parses as when streamed.
    #[test]
    fn utf8_in_elements_is_checked_as_when_streamed() {
        for doc in [
            &b"{\"log\": {\"entries\": [{\"a\": \"ok\"}, {\"b\": \"x\xffy\"}]}}"[..],
            b"{\"log\": {\"entries\": [{\"a\": \"\xc3\"}]}}",
            b"{\"log\": {\"entries\": [{\"\xe2\x82\": 1}]}}",
            b"{\"log\": {\"entries\": [{\"a\": \"caf\xc3\xa9\"}]}}",
        ] {
            same(doc);
        }
    }

    #[test]
    fn nesting_deeper_than_serde_json_allows_fails_at_the_same_place() {
        let mut doc = br#"{"log": {"entries": [{"a": "#.to_vec();
        doc.extend(std::iter::repeat_n(b'[', 200));
        doc.extend(std::iter::repeat_n(b']', 200));
        doc.extend_from_slice(b"}]}}");
        same(&doc);
    }

    #[test]
    fn samples_pretty_and_minified_and_every_truncation() {
        for name in [
            "cross-source-services.har",
            "har-firefox.har",
            "malformed-truncated-json.har",
        ] {
            let doc = sample(name);
            same(&doc);
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&doc) {
                same(&serde_json::to_vec(&v).unwrap());
            }
        }
        let doc = sample("cross-source-services.har");
        for len in 0..doc.len() {
            same(&doc[..len]);
        }
    }

    proptest! {
        #[test]
        fn any_damage_is_reported_where_streaming_reports_it(
            at in 0usize..9000,
            with in prop::sample::select(vec![b'"', b'{', b'}', b'[', b']', b'\\', b',', b':', b'x', b'0', b' ', b'\n', 0xFF, 0xC3]),
            cut_at in prop::option::of(0usize..9000),
        ) {
            let mut doc = sample("har-firefox.har");
            if let Some(b) = doc.get_mut(at) {
                *b = with;
            }
            if let Some(n) = cut_at {
                doc.truncate(n);
            }
            let want = streamed(&doc);
            let got = cut(&doc, 4096, MAX_PIECE);
            prop_assert!(agree(&doc, &got, &want), "got {:?}\nwant {:?}", got, want);
            let got = cut(&doc, 13, 300);
            prop_assert!(agree(&doc, &got, &want), "got {:?}\nwant {:?}", got, want);
        }
    }
}
