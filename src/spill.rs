//! Spilling: the records a run accumulates (findings, sightings) are held in memory up to a
//! budget; beyond it they are sorted into runs in an anonymous temporary file and read back as one
//! sorted stream by a k-way merge, so that a run's memory does not grow with its input.
//!
//! The temporary file is unlinked when it is created (`tempfile::tempfile`, in `TMPDIR`): it
//! lives only as long as the run, even one that is killed. It holds what the run holds: masked
//! values, and raw ones only for a run that will `--reveal` them anyway.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A record that can be spilled.
pub trait Spill: Serialize + DeserializeOwned + Clone + Send + Sync {
    /// Approximate bytes the record holds in memory, itself and what it owns (for the budget).
    fn mem_bytes(&self) -> usize;
}

/// Bytes of heap a `CompactString` owns (none when inline, up to 24 bytes).
pub fn heap_str(s: &compact_str::CompactString) -> usize {
    if s.is_heap_allocated() {
        s.capacity()
    } else {
        0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpillError {
    #[error("temporary spill file: {0}")]
    Io(#[from] io::Error),
    #[error("temporary spill file: cannot encode a record: {0}")]
    Encode(postcard::Error),
    #[error("temporary spill file: record {record} of run {run} is unreadable: {err}")]
    Decode {
        run: usize,
        record: u64,
        err: postcard::Error,
    },
}

/// The order records are sorted and merged in.
pub type Order<T> = fn(&T, &T) -> Ordering;
/// Puts a buffer in `Order` before it is written; may also fold neighbours that are one record
/// (findings with one merge key), which the merge then has to fold again across runs.
pub type Prepare<T> = fn(&mut Vec<T>);

/// Where one sorted run lies in the file.
#[derive(Debug, Clone, Copy)]
struct Region {
    start: u64,
    end: u64,
    records: u64,
}

#[derive(Default)]
struct RunFile {
    file: Option<File>,
    len: u64,
    runs: Vec<Region>,
    /// Why spilling stopped, if it failed: everything is kept in memory from then on.
    failed: Option<String>,
}

struct Buffer<T> {
    items: Vec<T>,
    bytes: usize,
}

impl<T> Default for Buffer<T> {
    fn default() -> Self {
        Buffer {
            items: Vec::new(),
            bytes: 0,
        }
    }
}

/// Collects records from any thread; past `budget` bytes the buffer is written out as a sorted
/// run, by the thread that crossed it or (`in_background`) by a writer thread of its own, while
/// the others go on filling a fresh buffer.
pub struct Spiller<T> {
    shared: Arc<Shared<T>>,
    /// The background writer, started at the first spill (`in_background` only).
    writer: Mutex<Option<Writer<T>>>,
    background: bool,
}

struct Shared<T> {
    budget: usize,
    order: Order<T>,
    prepare: Prepare<T>,
    buf: Mutex<Buffer<T>>,
    file: Mutex<RunFile>,
    /// Spilling failed once: keep everything in memory from then on.
    failed: AtomicBool,
    /// Bytes of buffers taken to be written and not written yet; they count against the
    /// budget of the one filling.
    in_flight: AtomicUsize,
}

struct Writer<T> {
    /// Room for no buffer in the queue: a full buffer waits, in the hands of the one thread
    /// that holds the writer, until the writer has finished the one before; so at most three
    /// are in memory (one being written, one being handed over, one filling). As the ones taken
    /// count against the budget of the one filling, together they hold about a budget and a
    /// quarter (the one written up to a budget, the other two an eighth each), plus what each
    /// thread pushes past a limit in one go.
    tx: std::sync::mpsc::SyncSender<Buffer<T>>,
    handle: std::thread::JoinHandle<()>,
}

/// Records written per `write` call while a run is encoded.
const WRITE_CHUNK: usize = 1 << 20;

/// Most records a buffer reserves room for up front.
const RESERVE_MAX: usize = 1 << 20;

impl<T: Spill + 'static> Spiller<T> {
    pub fn new(budget: usize, order: Order<T>, prepare: Prepare<T>) -> Self {
        Spiller {
            shared: Arc::new(Shared {
                budget,
                order,
                prepare,
                buf: Mutex::new(Buffer::default()),
                file: Mutex::new(RunFile::default()),
                failed: AtomicBool::new(false),
                in_flight: AtomicUsize::new(0),
            }),
            writer: Mutex::new(None),
            background: false,
        }
    }

    /// Runs are sorted and written by a thread of their own: the thread that filled the buffer
    /// goes straight back to work (a scan worker that stopped to write would stall the reader
    /// feeding it, and with it every other worker).
    pub fn in_background(mut self) -> Self {
        self.background = true;
        self
    }

    /// Adds records; may start writing a run when the buffer passes the budget.
    pub fn push(&self, items: impl IntoIterator<Item = T>) {
        let sh = &self.shared;
        let full = {
            let mut b = sh.buf.lock().unwrap_or_else(PoisonError::into_inner);
            if b.items.capacity() == 0 {
                // Room for a budget's worth up front: a doubling `Vec` would hold its old and
                // new buffers at once, half again the budget, just as it fills. Pages not yet
                // written cost no memory.
                let n = (sh.budget / std::mem::size_of::<T>().max(1)).min(RESERVE_MAX);
                b.items.reserve_exact(n);
            }
            for item in items {
                b.bytes += item.mem_bytes();
                b.items.push(item);
            }
            if !sh.over(&b) {
                return;
            }
            // Without a writer thread, written here by the thread that filled it.
            (!self.background).then(|| sh.take(&mut b))
        };
        if let Some(full) = full {
            sh.spill(full);
            return;
        }
        // The buffer is taken only by the thread that holds the writer: threads waiting for it
        // hold nothing, so at most three buffers exist (one being written, one being handed
        // over, one filling) whatever the number of threads.
        let mut w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let full = {
            let mut b = sh.buf.lock().unwrap_or_else(PoisonError::into_inner);
            sh.take_full(&mut b)
        };
        let Some(full) = full else {
            // Another thread handed it over first.
            return;
        };
        if w.is_none() {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Buffer<T>>(0);
            let shared = self.shared.clone();
            let spawned = std::thread::Builder::new()
                .name("credsift-spill".into())
                .spawn(move || {
                    for b in rx {
                        shared.spill(b);
                    }
                });
            match spawned {
                Ok(handle) => *w = Some(Writer { tx, handle }),
                Err(_) => {
                    // No thread to be had: write here.
                    drop(w);
                    sh.spill(full);
                    return;
                }
            }
        }
        let Some(writer) = w.as_ref() else {
            return;
        };
        if let Err(std::sync::mpsc::SendError(b)) = writer.tx.send(full) {
            // The writer is gone (it can only have panicked): write here instead.
            sh.spill(b);
        }
    }

    /// Everything pushed: in memory as pushed if nothing was spilled, else as sorted runs (the
    /// records still in memory written as the last one).
    pub fn finish(self) -> Finished<T> {
        self.finish_and_failure().0
    }

    /// `finish`, and why spilling stopped if it did (known only once the writer has ended).
    pub fn finish_and_failure(self) -> (Finished<T>, Option<String>) {
        let writer = self
            .writer
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(Writer { tx, handle }) = writer {
            drop(tx);
            if let Err(p) = handle.join() {
                std::panic::resume_unwind(p);
            }
        }
        let sh = &self.shared;
        // Every buffer taken has been written (or put back) by now.
        debug_assert_eq!(sh.in_flight.load(AtomicOrdering::Relaxed), 0);
        let take_buf =
            || std::mem::take(&mut *sh.buf.lock().unwrap_or_else(PoisonError::into_inner));
        let mut b = take_buf();
        let has_runs = !sh
            .file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .runs
            .is_empty();
        if has_runs && !b.items.is_empty() && !sh.failed.load(AtomicOrdering::Relaxed) {
            // Once some records are on disk, the rest follow them: the runs are read back by a
            // merge that fills buffers of its own (folded findings, correlation output), and
            // this buffer (up to this spiller's budget), held through that merge, would add to
            // the run's peak. It costs one more write of at most a budget's worth, and only in
            // a run that spills anyway. (If the write fails the records come back to the
            // buffer.)
            let rest = sh.take(&mut b);
            sh.spill(rest);
            b = take_buf();
        }
        let f = std::mem::take(&mut *sh.file.lock().unwrap_or_else(PoisonError::into_inner));
        let finished = match f.file {
            Some(file) if !f.runs.is_empty() => {
                let mut mem = b.items;
                (sh.prepare)(&mut mem);
                Finished::Spilled(Sorted {
                    len: f.runs.iter().map(|r| r.records).sum::<u64>() + mem.len() as u64,
                    mem,
                    runs: f.runs,
                    file: Some(Arc::new(file)),
                    order: sh.order,
                })
            }
            _ => Finished::Memory(b.items),
        };
        (finished, f.failed)
    }
}

impl<T: Spill> Shared<T> {
    /// The buffer is over budget (and spilling still works). Buffers on their way to the file
    /// count against it, down to an eighth: with two scan threads and the writer on two cores,
    /// a write can take as long as the next buffer takes to fill, and at a whole budget each
    /// the three buffers a spiller can hold would triple it.
    fn over(&self, b: &Buffer<T>) -> bool {
        let in_flight = self.in_flight.load(AtomicOrdering::Relaxed);
        let limit = self.budget.saturating_sub(in_flight).max(self.budget / 8);
        b.bytes > limit && !self.failed.load(AtomicOrdering::Relaxed)
    }

    /// The buffer, counted as on its way to the file.
    fn take(&self, b: &mut Buffer<T>) -> Buffer<T> {
        let taken = std::mem::take(b);
        self.in_flight
            .fetch_add(taken.bytes, AtomicOrdering::Relaxed);
        taken
    }

    /// The buffer, taken, if it is over budget.
    fn take_full(&self, b: &mut Buffer<T>) -> Option<Buffer<T>> {
        self.over(b).then(|| self.take(b))
    }

    /// Writes `b`, a buffer from `take` (counted in `in_flight`), as one run, and uncounts it;
    /// if the write fails, puts the records back (nothing is lost, the run just holds them in
    /// memory) and stops spilling.
    fn spill(&self, mut b: Buffer<T>) {
        let bytes = b.bytes;
        (self.prepare)(&mut b.items);
        let mut f = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        // Another thread's run may have failed since this buffer was taken: the file's end is
        // then no longer where the next run would be recorded to start.
        let written = f.failed.is_none()
            && match write_run(&mut f, &b.items) {
                Ok(()) => true,
                Err(e) => {
                    f.failed = Some(e.to_string());
                    // Drop what the failed run left past the last good one (best effort:
                    // nothing is written after a failure anyway).
                    let good = f.len;
                    if let Some(file) = f.file.as_mut() {
                        let _ = file.set_len(good);
                    }
                    false
                }
            };
        if !written {
            self.failed.store(true, AtomicOrdering::Relaxed);
            drop(f);
            let mut mine = self.buf.lock().unwrap_or_else(PoisonError::into_inner);
            mine.bytes += b.bytes;
            mine.items.append(&mut b.items);
        }
        self.in_flight.fetch_sub(bytes, AtomicOrdering::Relaxed);
    }
}

/// Appends `items` to the file as one run of length-prefixed records.
fn write_run<T: Spill>(f: &mut RunFile, items: &[T]) -> Result<(), SpillError> {
    if items.is_empty() {
        return Ok(());
    }
    if f.file.is_none() {
        f.file = Some(tempfile::tempfile()?);
    }
    let Some(file) = f.file.as_mut() else {
        return Ok(());
    };
    let start = f.len;
    let mut out: Vec<u8> = Vec::with_capacity(WRITE_CHUNK + 4096);
    let mut written = 0u64;
    for item in items {
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        // `to_io` copies slices; `to_extend` would push byte by byte.
        postcard::to_io(item, &mut out).map_err(SpillError::Encode)?;
        let n = u32::try_from(out.len() - at - 4).map_err(|_| {
            SpillError::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                "record over 4 GiB",
            ))
        })?;
        if let Some(len) = out.get_mut(at..at + 4) {
            len.copy_from_slice(&n.to_le_bytes());
        }
        if out.len() >= WRITE_CHUNK {
            file.write_all(&out)?;
            written += out.len() as u64;
            out.clear();
        }
    }
    file.write_all(&out)?;
    written += out.len() as u64;
    f.len += written;
    f.runs.push(Region {
        start,
        end: f.len,
        records: items.len() as u64,
    });
    Ok(())
}

/// What a `Spiller` collected.
pub enum Finished<T> {
    /// Never over budget: the records as pushed, unsorted.
    Memory(Vec<T>),
    Spilled(Sorted<T>),
}

impl<T: Spill> Finished<T> {
    /// As sorted runs either way: records that stayed in memory are put in order by `prepare`.
    pub fn into_sorted(self, prepare: Prepare<T>, order: Order<T>) -> Sorted<T> {
        match self {
            Finished::Memory(mut v) => {
                prepare(&mut v);
                Sorted::in_memory(v, order)
            }
            Finished::Spilled(s) => s,
        }
    }
}

/// Sorted runs (on file, plus the last one in memory), readable as one sorted stream as many
/// times as needed.
pub struct Sorted<T> {
    mem: Vec<T>,
    runs: Vec<Region>,
    file: Option<Arc<File>>,
    order: Order<T>,
    len: u64,
}

impl<T: Spill> Sorted<T> {
    /// Records already in order, in memory (e.g. a table that did not spill).
    pub fn in_memory(mem: Vec<T>, order: Order<T>) -> Self {
        Sorted {
            len: mem.len() as u64,
            mem,
            runs: Vec::new(),
            file: None,
            order,
        }
    }

    /// Records in all runs (before any folding by the reader).
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every record, in order, in one table (the reports that need the whole table).
    pub fn to_vec(&self) -> Result<Vec<T>, SpillError> {
        if let Some(all) = self.as_slice() {
            return Ok(all.to_vec());
        }
        self.iter().collect()
    }

    /// All records, when none was spilled.
    pub fn as_slice(&self) -> Option<&[T]> {
        self.runs.is_empty().then_some(self.mem.as_slice())
    }

    /// Runs on file (0 when everything is in memory).
    pub fn spilled_runs(&self) -> usize {
        self.runs.len()
    }

    /// All records, in order.
    pub fn iter(&self) -> Merge<'_, T> {
        let mut heap = BinaryHeap::new();
        let mut cursors = Vec::new();
        let mut first_error = None;
        if let Some(file) = &self.file {
            for (i, r) in self.runs.iter().enumerate() {
                let mut c = Cursor {
                    run: i,
                    read: 0,
                    records: r.records,
                    left: r.end.saturating_sub(r.start),
                    reader: BufReader::with_capacity(
                        64 << 10,
                        RegionReader {
                            file: file.clone(),
                            pos: r.start,
                            end: r.end,
                        },
                    ),
                    scratch: Vec::new(),
                };
                match c.next() {
                    Some(Ok(item)) => heap.push(Head {
                        item,
                        from: i,
                        order: self.order,
                    }),
                    Some(Err(e)) => {
                        first_error.get_or_insert(e);
                    }
                    None => {}
                }
                cursors.push(c);
            }
        }
        let mem_from = cursors.len();
        let mut mem = self.mem.iter();
        if let Some(item) = mem.next() {
            heap.push(Head {
                item: item.clone(),
                from: mem_from,
                order: self.order,
            });
        }
        Merge {
            heap,
            cursors,
            mem,
            mem_from,
            error: first_error,
        }
    }

    /// Calls `f` with consecutive slices of at most `n` records, in order: slices of the memory
    /// run itself when nothing was spilled, else records read into a reused buffer.
    pub fn for_each_chunk<E: From<SpillError>>(
        &self,
        n: usize,
        mut f: impl FnMut(&[T]) -> Result<(), E>,
    ) -> Result<(), E> {
        let n = n.max(1);
        if self.runs.is_empty() {
            for c in self.mem.chunks(n) {
                f(c)?;
            }
            return Ok(());
        }
        let mut buf = Vec::with_capacity(n);
        for item in self.iter() {
            buf.push(item?);
            if buf.len() == n {
                f(&buf)?;
                buf.clear();
            }
        }
        if !buf.is_empty() {
            f(&buf)?;
        }
        Ok(())
    }
}

/// A run's next record, in the merge heap: the smallest first, then the earliest run (records
/// equal in `order` come out in run order, though such records cannot be told apart anyway).
struct Head<T> {
    item: T,
    from: usize,
    order: Order<T>,
}

impl<T> PartialEq for Head<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<T> Eq for Head<T> {}
impl<T> PartialOrd for Head<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Head<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        // `BinaryHeap` is a max-heap: reversed.
        (self.order)(&other.item, &self.item).then(other.from.cmp(&self.from))
    }
}

/// Reads one run's records back.
struct Cursor {
    run: usize,
    read: u64,
    records: u64,
    /// Bytes of the run not yet read (a damaged length prefix cannot ask for more).
    left: u64,
    reader: BufReader<RegionReader>,
    scratch: Vec<u8>,
}

impl Cursor {
    fn next<T: Spill>(&mut self) -> Option<Result<T, SpillError>> {
        if self.read >= self.records {
            return None;
        }
        let record = self.read;
        self.read += 1;
        let mut len = [0u8; 4];
        if let Err(e) = self.reader.read_exact(&mut len) {
            self.read = self.records;
            return Some(Err(e.into()));
        }
        let n = u64::from(u32::from_le_bytes(len));
        self.left = self.left.saturating_sub(4);
        if n > self.left {
            self.read = self.records;
            return Some(Err(SpillError::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a record claims {n} bytes, past the end of its run"),
            ))));
        }
        self.left -= n;
        self.scratch.resize(n as usize, 0);
        if let Err(e) = self.reader.read_exact(&mut self.scratch) {
            self.read = self.records;
            return Some(Err(e.into()));
        }
        Some(
            postcard::from_bytes(&self.scratch).map_err(|err| SpillError::Decode {
                run: self.run,
                record,
                err,
            }),
        )
    }
}

/// One run's bytes, read by position so that every cursor shares the one file.
struct RegionReader {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl Read for RegionReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end.saturating_sub(self.pos)).unwrap_or(usize::MAX);
        let want = buf.len().min(left);
        let Some(buf) = buf.get_mut(..want) else {
            return Ok(0);
        };
        if buf.is_empty() {
            return Ok(0);
        }
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(&*self.file, buf, self.pos)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(&*self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// The k-way merge of a `Sorted`'s runs.
pub struct Merge<'a, T> {
    heap: BinaryHeap<Head<T>>,
    cursors: Vec<Cursor>,
    mem: std::slice::Iter<'a, T>,
    mem_from: usize,
    error: Option<SpillError>,
}

impl<T: Spill> Iterator for Merge<'_, T> {
    type Item = Result<T, SpillError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.error.take() {
            // A run that cannot be read ends the stream: what follows would be out of order.
            self.heap.clear();
            self.cursors.clear();
            self.mem = [].iter();
            return Some(Err(e));
        }
        let Head { item, from, order } = self.heap.pop()?;
        let next = if from == self.mem_from {
            self.mem.next().cloned().map(Ok)
        } else {
            self.cursors.get_mut(from).and_then(|c| c.next())
        };
        match next {
            Some(Ok(n)) => self.heap.push(Head {
                item: n,
                from,
                order,
            }),
            Some(Err(e)) => self.error = Some(e),
            None => {}
        }
        Some(Ok(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    struct Rec {
        k: u32,
        text: String,
    }

    impl Spill for Rec {
        fn mem_bytes(&self) -> usize {
            std::mem::size_of::<Self>() + self.text.capacity()
        }
    }

    fn by_key(a: &Rec, b: &Rec) -> Ordering {
        a.k.cmp(&b.k).then_with(|| a.text.cmp(&b.text))
    }

    #[allow(clippy::ptr_arg)] // a `Prepare`
    fn sort(v: &mut Vec<Rec>) {
        v.sort_by(by_key);
    }

    /// Sums neighbours with one key into one record (as findings fold).
    fn sort_fold(v: &mut Vec<Rec>) {
        v.sort_by(by_key);
        v.dedup_by(|b, a| a.k == b.k && a.text == b.text);
    }

    fn all(s: &Sorted<Rec>) -> Vec<Rec> {
        s.iter().map(|r| r.unwrap()).collect()
    }

    #[test]
    fn under_budget_nothing_is_written() {
        let s = Spiller::new(1 << 20, by_key, sort);
        s.push((0..10).map(|k| Rec {
            k,
            text: "x".into(),
        }));
        match s.finish() {
            Finished::Memory(v) => assert_eq!(v.len(), 10),
            Finished::Spilled(_) => panic!("spilled under budget"),
        }
    }

    /// Once a run is on disk, what is still in memory at the end is written as one more run:
    /// nothing stays held while the runs are read back, and nothing is lost or doubled.
    #[test]
    fn the_rest_follows_the_runs_to_disk() {
        let one = Rec {
            k: 0,
            text: "x".into(),
        }
        .mem_bytes();
        // Spills at the 11th record; 4 more stay in the buffer until the end.
        let s = Spiller::new(10 * one, by_key, sort);
        for k in (0..15).rev() {
            s.push([Rec {
                k,
                text: "x".into(),
            }]);
        }
        let Finished::Spilled(sorted) = s.finish() else {
            panic!("nothing spilled")
        };
        assert!(sorted.mem.is_empty(), "{} records held", sorted.mem.len());
        assert_eq!(sorted.spilled_runs(), 2);
        let keys: Vec<u32> = sorted.iter().map(|r| r.unwrap().k).collect();
        assert_eq!(keys, (0..15).collect::<Vec<_>>());
    }

    #[test]
    fn chunks_cover_every_record_once_in_order() {
        let s = Spiller::new(1, by_key, sort);
        for k in (0..100).rev() {
            s.push([Rec {
                k,
                text: format!("{k}"),
            }]);
        }
        let Finished::Spilled(sorted) = s.finish() else {
            panic!("nothing spilled")
        };
        assert!(sorted.spilled_runs() > 1);
        let mut seen = Vec::new();
        sorted
            .for_each_chunk(7, |c| -> Result<(), SpillError> {
                assert!(c.len() <= 7);
                seen.extend(c.iter().map(|r| r.k));
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
        // Readable again, from the start.
        assert_eq!(all(&sorted).len(), 100);
    }

    #[test]
    fn a_damaged_run_is_an_error_not_a_panic() {
        let s = Spiller::new(1, by_key, sort);
        s.push([Rec {
            k: 1,
            text: "a".into(),
        }]);
        s.push([Rec {
            k: 2,
            text: "b".into(),
        }]);
        let Finished::Spilled(mut sorted) = s.finish() else {
            panic!("nothing spilled")
        };
        // Claim more records than the run holds: reading past its end fails cleanly.
        if let Some(r) = sorted.runs.first_mut() {
            r.records += 5;
        }
        let got: Vec<Result<Rec, SpillError>> = sorted.iter().collect();
        assert!(got.iter().any(|r| r.is_err()));
    }

    /// A record that fails to encode on demand: a write error part-way through a run.
    #[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
    struct Flaky {
        k: u32,
        pad: String,
        fail: bool,
    }

    impl Serialize for Flaky {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::{Error, SerializeStruct};
            if self.fail {
                return Err(S::Error::custom("boom"));
            }
            let mut st = s.serialize_struct("Flaky", 3)?;
            st.serialize_field("k", &self.k)?;
            st.serialize_field("pad", &self.pad)?;
            st.serialize_field("fail", &self.fail)?;
            st.end()
        }
    }

    impl Spill for Flaky {
        fn mem_bytes(&self) -> usize {
            64 + self.pad.len()
        }
    }

    fn flaky_order(a: &Flaky, b: &Flaky) -> Ordering {
        a.k.cmp(&b.k)
    }

    #[allow(clippy::ptr_arg)] // a `Prepare`
    fn flaky_sort(v: &mut Vec<Flaky>) {
        v.sort_by(flaky_order);
    }

    /// A run that fails after part of it was written, then a run from a thread that had taken
    /// its buffer before the failure: every record comes back exactly once (from memory), none
    /// from the failed run's leftovers.
    #[test]
    fn a_failed_run_loses_and_duplicates_nothing() {
        let s = Spiller::new(usize::MAX, flaky_order, flaky_sort);
        let mut a: Vec<Flaky> = (0..2000)
            .map(|k| Flaky {
                k,
                pad: "x".repeat(1024),
                fail: false,
            })
            .collect();
        // Fails after the first 1 MiB is on disk.
        a.push(Flaky {
            k: 5000,
            pad: String::new(),
            fail: true,
        });
        let b: Vec<Flaky> = (10_000..10_010)
            .map(|k| Flaky {
                k,
                pad: "y".repeat(1024),
                fail: false,
            })
            .collect();
        s.shared.spill(Buffer {
            items: a.clone(),
            bytes: 0,
        });
        s.shared.spill(Buffer {
            items: b.clone(),
            bytes: 0,
        });
        let (finished, failure) = s.finish_and_failure();
        assert!(failure.is_some());
        let got: Vec<u32> = match finished {
            Finished::Memory(mut v) => {
                flaky_sort(&mut v);
                v.iter().map(|r| r.k).collect()
            }
            Finished::Spilled(sorted) => sorted.iter().map(|r| r.expect("read back").k).collect(),
        };
        let mut want: Vec<u32> = a.iter().chain(&b).map(|r| r.k).collect();
        want.sort();
        assert_eq!(got, want);
    }

    /// A run the background writer fails to write is reported by `finish_and_failure`, which
    /// waits for the writer, and its records are kept.
    #[test]
    fn a_background_failure_is_reported_at_finish() {
        let s = Spiller::new(0, flaky_order, flaky_sort).in_background();
        s.push([
            Flaky {
                k: 2,
                pad: String::new(),
                fail: true,
            },
            Flaky {
                k: 1,
                pad: String::new(),
                fail: false,
            },
        ]);
        let (finished, failure) = s.finish_and_failure();
        assert!(failure.is_some());
        let Finished::Memory(v) = finished else {
            panic!("a failed run is kept in memory");
        };
        assert_eq!(v.len(), 2);
    }

    /// A length prefix larger than what is left of its run is an error, not an allocation.
    #[test]
    fn a_damaged_length_is_an_error() {
        let s = Spiller::new(0, by_key, sort);
        s.push([Rec {
            k: 1,
            text: "a".into(),
        }]);
        let Finished::Spilled(sorted) = s.finish() else {
            panic!("nothing spilled")
        };
        let file = sorted.file.as_ref().unwrap();
        #[cfg(unix)]
        std::os::unix::fs::FileExt::write_all_at(&**file, &u32::MAX.to_le_bytes(), 0).unwrap();
        let got: Vec<Result<Rec, SpillError>> = sorted.iter().collect();
        assert!(
            matches!(got.as_slice(), [Err(SpillError::Io(_))]),
            "{got:?}"
        );
    }

    proptest! {
        /// Whatever the budget and however records arrive (batches, threads), the merged
        /// stream is the sorted input; with folding, each key once.
        #[test]
        fn merge_is_the_sorted_input(
            batches in prop::collection::vec(
                prop::collection::vec((0u32..40, "[a-c]{0,30}"), 0..20), 0..12),
            budget in 0usize..4000,
            fold in any::<bool>(),
            background in any::<bool>(),
        ) {
            let prepare: Prepare<Rec> = if fold { sort_fold } else { sort };
            let mut s = Spiller::new(budget, by_key, prepare);
            if background {
                s = s.in_background();
            }
            let mut want: Vec<Rec> = Vec::new();
            std::thread::scope(|scope| {
                for (i, b) in batches.iter().enumerate() {
                    let recs: Vec<Rec> = b.iter().map(|(k, t)| Rec { k: *k, text: t.clone() }).collect();
                    want.extend(recs.iter().cloned());
                    let s = &s;
                    if i % 2 == 0 {
                        scope.spawn(move || s.push(recs));
                    } else {
                        s.push(recs);
                    }
                }
            });
            prepare(&mut want);
            let mut got = match s.finish() {
                Finished::Memory(mut v) => { prepare(&mut v); v }
                Finished::Spilled(sorted) => all(&sorted),
            };
            if fold {
                // Runs fold within themselves; the reader folds across them.
                got.dedup_by(|b, a| a.k == b.k && a.text == b.text);
            }
            prop_assert_eq!(got, want);
        }
    }
}
