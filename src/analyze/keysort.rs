//! Sorting records of a few hundred bytes (the sightings) by small keys: the keys are sorted,
//! with their records' index, and each record is then moved once, to its place.
//!
//! Why: sorting the records themselves moves each about log2(n) times, most of the sort's time
//! in `memmove` (`perf`). The 1 GiB bench's 74,708 sightings (~400 bytes each), two runs each:
//! 24-26 ms in place, 17-19 ms by keys on one thread; ~14 ms either way on two. The findings
//! (~390 bytes, 67,303 of them) were tried too and sorted slower by keys (22 against 17 ms):
//! their keys tie more often, down to the locator, and the ties compare whole records.

use std::cmp::Ordering;

use rayon::iter::{IndexedParallelIterator, IntoParallelRefIterator, ParallelIterator};
use rayon::slice::ParallelSliceMut;

/// Sorts `v` into `order` on the current rayon pool. `cmp_keys` compares the keys `key` made:
/// `Less` or `Greater` only where `order` says the same of their records, `Equal` where the
/// keys cannot tell (then `order` decides).
pub fn par_sort_by_keys<T, K>(
    v: &mut [T],
    key: impl Fn(&T) -> K + Sync + Send,
    cmp_keys: impl Fn(&K, &K) -> Ordering + Sync,
    order: impl Fn(&T, &T) -> Ordering + Sync,
) where
    T: Send + Sync,
    K: Send,
{
    if u32::try_from(v.len()).is_err() {
        v.par_sort_unstable_by(order);
        return;
    }
    let mut keys: Vec<(K, u32)> = v
        .par_iter()
        .enumerate()
        .map(|(i, x)| (key(x), i as u32))
        .collect();
    {
        let v = &*v;
        keys.par_sort_unstable_by(|a, b| {
            cmp_keys(&a.0, &b.0).then_with(|| match (v.get(a.1 as usize), v.get(b.1 as usize)) {
                (Some(x), Some(y)) => order(x, y),
                _ => a.1.cmp(&b.1),
            })
        });
    }
    let from: Vec<usize> = keys.iter().map(|k| k.1 as usize).collect();
    drop(keys);
    permute(v, &from);
}

/// Puts `v[from[k]]` at `k` for every `k`, a swap per item, cycle by cycle. `from` must be a
/// permutation of `0..v.len()`.
fn permute<T>(v: &mut [T], from: &[usize]) {
    let mut done = vec![false; v.len()];
    for start in 0..v.len() {
        let mut k = start;
        // The item first at `start` travels along its cycle to the place that wants it.
        while !done[k] {
            done[k] = true;
            let src = from[k];
            if src == start {
                break;
            }
            v.swap(k, src);
            k = src;
        }
    }
}

/// A string's first 16 bytes, big-endian and zero-padded, with its length when that is all of
/// it: keys that order strings as `str::cmp` does wherever they can tell (`cmp_prefix`).
#[derive(Debug, Clone, Copy)]
pub struct Prefix {
    head: u128,
    len: Option<u8>,
}

impl Prefix {
    pub fn of(s: &str) -> Prefix {
        let b = s.as_bytes();
        let mut head = [0u8; 16];
        let n = b.len().min(16);
        head[..n].copy_from_slice(&b[..n]);
        Prefix {
            head: u128::from_be_bytes(head),
            len: u8::try_from(b.len()).ok().filter(|&l| l <= 16),
        }
    }

    /// `Some` order of the two strings, `None` when only the whole strings can tell (both are
    /// longer than 16 bytes and share those). With equal padded heads, a string that is all in
    /// its head is a prefix of the other (which goes on with NULs, or past 16 bytes), so it
    /// comes first.
    pub fn cmp_prefix(&self, other: &Prefix) -> Option<Ordering> {
        match self.head.cmp(&other.head) {
            Ordering::Equal => match (self.len, other.len) {
                (Some(a), Some(b)) => Some(a.cmp(&b)),
                (Some(_), None) => Some(Ordering::Less),
                (None, Some(_)) => Some(Ordering::Greater),
                (None, None) => None,
            },
            o => Some(o),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn permute_places_every_item(n in 0usize..60, seed in any::<u64>()) {
            // A permutation from the seed (Fisher-Yates with a small LCG).
            let mut from: Vec<usize> = (0..n).collect();
            let mut s = seed | 1;
            for i in (1..n).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                from.swap(i, (s >> 33) as usize % (i + 1));
            }
            let mut v: Vec<usize> = (0..n).map(|i| i * 10).collect();
            permute(&mut v, &from);
            let want: Vec<usize> = from.iter().map(|&i| i * 10).collect();
            prop_assert_eq!(v, want);
        }

        #[test]
        fn prefixes_order_as_strings(
            a in "(deadbeefdeadbeef|a|\u{0}|é){0,3}[a-c\u{0}]{0,3}",
            b in "(deadbeefdeadbeef|a|\u{0}|é){0,3}[a-c\u{0}]{0,3}",
        ) {
            if let Some(o) = Prefix::of(&a).cmp_prefix(&Prefix::of(&b)) {
                prop_assert_eq!(o, a.cmp(&b));
            } else {
                prop_assert!(a.len() > 16 && b.len() > 16);
            }
        }
    }
}
