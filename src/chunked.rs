//! `Chunked`: an append-only list kept in chunks of at most `CHUNK` elements, for the records a
//! scan accumulates (findings, sightings). Growing never moves more than one chunk (a doubling
//! `Vec` briefly holds two copies of a large table and leaves the old buffer to the allocator,
//! which showed as steps of tens of MiB in a scan's peak memory), and two lists join by moving
//! chunk pointers.

/// Elements per chunk: large enough that the chunk table is negligible, small enough that the
/// last, partly filled chunk of each worker costs little.
const CHUNK: usize = 1024;

#[derive(Debug)]
pub struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
    /// Every chunk but the last is full (true until `append`), so position `i` is in chunk
    /// `i / CHUNK`.
    dense: bool,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
            dense: true,
        }
    }
}

impl<T> Chunked<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push(&mut self, v: T) {
        match self.chunks.last_mut() {
            // A chunk grows like a `Vec` up to `CHUNK` elements (a source with three findings
            // does not reserve room for a thousand: 10,000 small files would reserve gigabytes),
            // then the next one starts; only a chunk's own growth ever copies.
            Some(c) if c.len() < CHUNK => c.push(v),
            _ => self.chunks.push(vec![v]),
        }
        self.len += 1;
    }

    /// `other`'s elements after this list's, without copying them.
    pub fn append(&mut self, other: Chunked<T>) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            *self = other;
            return;
        }
        self.len += other.len;
        self.dense = false;
        self.chunks.extend(other.chunks);
    }

    /// Chunk and offset of position `i`.
    fn locate(&self, i: usize) -> Option<(usize, usize)> {
        if i >= self.len {
            return None;
        }
        if self.dense {
            return Some((i / CHUNK, i % CHUNK));
        }
        let mut at = i;
        for (n, c) in self.chunks.iter().enumerate() {
            if at < c.len() {
                return Some((n, at));
            }
            at -= c.len();
        }
        None
    }

    /// The element at position `i`.
    pub fn get(&self, i: usize) -> Option<&T> {
        let (c, at) = self.locate(i)?;
        self.chunks.get(c)?.get(at)
    }

    /// The element at position `i`.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        let (c, at) = self.locate(i)?;
        self.chunks.get_mut(c)?.get_mut(at)
    }

    /// The elements in order, in one `Vec` of exactly their number; each chunk is freed as soon
    /// as it has been moved.
    pub fn into_vec(self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        for mut c in self.chunks {
            out.append(&mut c);
        }
        out
    }
}

impl<T> Extend<T> for Chunked<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for v in iter {
            self.push(v);
        }
    }
}

impl<T> From<Vec<T>> for Chunked<T> {
    fn from(v: Vec<T>) -> Self {
        let mut c = Chunked::new();
        c.extend(v);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Pushes and appends keep every element once, in order, and `get_mut` finds each.
        #[test]
        fn behaves_like_a_vec(parts in prop::collection::vec(0usize..3000, 0..5)) {
            let mut want: Vec<usize> = Vec::new();
            let mut all: Chunked<usize> = Chunked::new();
            let mut next = 0;
            for n in parts {
                let mut part = Chunked::new();
                for _ in 0..n {
                    part.push(next);
                    want.push(next);
                    next += 1;
                }
                all.append(part);
            }
            prop_assert_eq!(all.len(), want.len());
            for (i, w) in want.iter().enumerate() {
                prop_assert_eq!(all.get(i).copied(), Some(*w));
                prop_assert_eq!(all.get_mut(i).copied(), Some(*w));
            }
            prop_assert_eq!(all.get_mut(want.len()), None);
            let v = all.into_vec();
            prop_assert_eq!(v.capacity(), want.len());
            prop_assert_eq!(v, want);
        }
    }
}
