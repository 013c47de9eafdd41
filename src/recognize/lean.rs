//! The keyword DFA re-laid for the scalar scan: one load and one add per byte and lane, and one
//! OR per lane to learn whether any lane reached a match.
//!
//! Why: stepping aho-corasick's own DFA costs eight instructions a byte and lane (the byte, its
//! class, the add, a bounds check, the next state, two compares for "match and not dead"). Four
//! lanes were then bound by the chain of dependent loads and by instruction throughput at about
//! the same speed, so neither more lanes nor fewer instructions alone gained anything (a 16-bit
//! table with one compare less: ratio 1.001). Here a step is the byte, its class, the add and the
//! next state, with no bounds check (every entry is a row start, so state + class is in bounds by
//! construction), and match states are numbered at and above a power of two, so that the OR of
//! all lanes' states tells whether any lane matched. That leaves room for more lanes.

use aho_corasick::Anchored;
use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;

/// DFAs with more next states than this (256 a state) are not read, and tables larger than this
/// (entries) are not built: such a keyword set is a user's own, and the DFA's own stepping serves
/// it.
const MAX_ENTRIES: usize = 1 << 24;
/// States at or above this are match states, below it are not: a constant, so the scan loop
/// keeps no register for it. The plain states of the built-in keywords take ~80,000 entries.
pub const FLAG: u32 = 1 << 20;

/// The keyword DFA as a dense table: states renumbered breadth first, match states at and above
/// `FLAG`.
#[derive(Debug)]
pub struct LeanTable {
    /// Next state (premultiplied by the number of classes), at index state + class. Every entry
    /// is the start of a row of `stride` entries inside `trans`.
    trans: Box<[u32]>,
    classes: [u8; 256],
    pub start: usize,
    stride: u32,
    /// Row (state / stride) → the DFA's own state id (`StateID::ZERO` for padding rows, which no
    /// state reaches).
    orig: Box<[StateID]>,
}

/// The DFA read whole, once per scanner: the common start of `LeanTable` and `wide::WideTable`.
pub(super) struct Dense {
    /// Every state reachable from the start state, breadth first (the start state first).
    pub order: Vec<StateID>,
    /// The 256 next states of each, by breadth-first number: `full[k * 256 + byte]`.
    pub full: Vec<u32>,
    /// Each byte's class: bytes with the same column (next state from every state) share one.
    pub classes: [u8; 256],
    /// A byte of each class, in class order.
    pub reps: Vec<usize>,
}

impl Dense {
    /// `None` when more than `MAX_ENTRIES` next states would be read, or more than 256 classes
    /// found.
    pub fn new(dfa: &DFA, start: StateID) -> Option<Dense> {
        // States are numbered through a `Vec` indexed by the DFA's own ids and the full
        // 256-column table is read once (through `HashMap`s of `StateID`s and per-byte columns
        // it took 8 ms of every run's start-up).
        let mut number: Vec<u32> = Vec::new();
        let mut order = vec![start];
        let mut number_of = |sid: StateID, order: &mut Vec<StateID>| -> u32 {
            let at = sid.as_usize();
            if number.len() <= at {
                number.resize(at + 1, u32::MAX);
            }
            if number[at] == u32::MAX {
                number[at] = order.len() as u32;
                order.push(sid);
            }
            number[at]
        };
        number_of(start, &mut order);
        let mut full: Vec<u32> = Vec::new();
        let mut i = 0;
        while let Some(&s) = order.get(i) {
            for b in 0..=255u8 {
                let n = number_of(dfa.next_state(Anchored::No, s, b), &mut order);
                full.push(n);
            }
            if order.len().saturating_mul(256) > MAX_ENTRIES {
                return None;
            }
            i += 1;
        }
        let mut columns: foldhash::HashMap<Vec<u32>, u8> = foldhash::HashMap::default();
        let mut classes = [0u8; 256];
        let mut reps: Vec<usize> = Vec::new();
        for (b, class) in classes.iter_mut().enumerate() {
            let col: Vec<u32> = full.iter().skip(b).step_by(256).copied().collect();
            let fresh = u8::try_from(columns.len()).ok()?;
            *class = *columns.entry(col).or_insert_with(|| {
                reps.push(b);
                fresh
            });
        }
        Some(Dense {
            order,
            full,
            classes,
            reps,
        })
    }
}

impl LeanTable {
    /// The table of `dfa` (read whole as `d`), or `None` when it would be larger than
    /// `MAX_ENTRIES`.
    pub fn new(dfa: &DFA, d: &Dense) -> Option<LeanTable> {
        let Dense {
            order,
            full,
            classes,
            reps,
        } = d;
        let stride = reps.len();
        let n_plain = order.iter().filter(|&&s| !dfa.is_match(s)).count();
        let flag = FLAG as usize;
        if n_plain.saturating_mul(stride) > flag {
            return None;
        }
        // New row of each breadth-first number: plain states from 0, match states from `flag`.
        let mut row = vec![0usize; order.len()];
        let (mut plain, mut matching) = (0usize, flag.div_ceil(stride));
        for (k, &s) in order.iter().enumerate() {
            if dfa.is_match(s) {
                row[k] = matching;
                matching += 1;
            } else {
                row[k] = plain;
                plain += 1;
            }
        }
        // Match rows start at `flag_row * stride`, which is at least `flag`; plain rows end
        // below `flag`.
        let rows = matching;
        if rows.saturating_mul(stride) > MAX_ENTRIES {
            return None;
        }
        let mut trans = vec![0u32; rows * stride].into_boxed_slice();
        let mut orig = vec![StateID::ZERO; rows].into_boxed_slice();
        for (k, &s) in order.iter().enumerate() {
            let r = row[k];
            *orig.get_mut(r)? = s;
            for (c, &b) in reps.iter().enumerate() {
                let next = *full.get(k * 256 + b)? as usize;
                *trans.get_mut(r * stride + c)? = u32::try_from(row.get(next)? * stride).ok()?;
            }
        }
        Some(LeanTable {
            trans,
            classes: *classes,
            start: row.first()? * stride,
            stride: u32::try_from(stride).ok()?,
            orig,
        })
    }

    /// The state after `s` consumes `byte`.
    #[inline(always)]
    pub fn next(&self, s: usize, byte: u8) -> usize {
        let i = s + usize::from(self.classes[usize::from(byte)]);
        debug_assert!(i < self.trans.len());
        // SAFETY: `s` is `start` or an entry of `trans`, each the first index of a row of
        // `stride` entries inside `trans` (`new` writes only such values), and every class is
        // below `stride`, so `i` is inside `trans`.
        unsafe { *self.trans.get_unchecked(i) as usize }
    }

    /// Whether any of the states OR'ed into `any` is a match state.
    #[inline(always)]
    pub fn any_match(&self, any: usize) -> bool {
        any >= FLAG as usize
    }

    /// The DFA's own id of state `s` (for its match list).
    pub fn orig(&self, s: usize) -> StateID {
        self.orig
            .get(s / self.stride as usize)
            .copied()
            .unwrap_or(StateID::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recognize::wide::tests::dfa;

    /// Every reachable state steps on every byte as the DFA's own does, and is a match state
    /// (at or above `FLAG`) exactly when the DFA's is; every entry is a row start in bounds.
    #[test]
    fn steps_like_the_dfa_it_was_built_from() {
        for pats in [
            &["token", "ok", "kEn", "tokentoken", "t"][..],
            &["password", "pass", "pw", "sid", "-----begin", "eyJ"],
            &["a"],
        ] {
            let (dfa, start) = dfa(pats);
            let t = LeanTable::new(&dfa, &Dense::new(&dfa, start).unwrap()).unwrap();
            assert_eq!(t.orig(t.start), start);
            let stride = t.stride as usize;
            assert!(
                t.trans
                    .iter()
                    .all(|&e| e as usize + stride <= t.trans.len())
            );
            let mut seen = vec![t.start];
            let mut i = 0;
            while let Some(&s) = seen.get(i) {
                assert_eq!(t.any_match(s), dfa.is_match(t.orig(s)), "{pats:?}");
                for b in 0..=255u8 {
                    let n = t.next(s, b);
                    assert_eq!(t.orig(n), dfa.next_state(Anchored::No, t.orig(s), b));
                    if !seen.contains(&n) {
                        seen.push(n);
                    }
                }
                i += 1;
            }
        }
    }
}
