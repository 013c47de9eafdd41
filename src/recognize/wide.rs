//! The keyword prefilter's wide scan: the keyword DFA driven over 64 windows of one text at
//! once with AVX-512 gathers, on x86-64 CPUs that have AVX-512 F, BW and VBMI (elsewhere
//! `WideTable::new` gives `None` and `keywords` keeps its slice scan).
//!
//! Why: the (then four-) slice scan was bound by the latency of its four dependent table loads
//! per step (~1.5 GiB/s, a quarter of a one-thread run's profile). Four 16-lane gathers keep 64
//! loads in flight: ~2.6 GiB/s on body text, ~1.5 with a keyword every ~450 bytes (the
//! `prefilter_*` stage benches, which run both scans).
//!
//! The table is the aho-corasick DFA copied into a dense `u32` table of our own (the crate's own
//! table is private): states renumbered so that the match states come first (a lane matched when
//! its state is below one bound, one compare for 16 lanes), entries premultiplied by the number of
//! byte classes (the next index is state + class), byte classes found by comparing columns.
//! Matches are not branched on: every step stores each vector's states and a mask to a small
//! buffer, and advances the buffer only when the mask is not empty; the buffer is handed back
//! (states translated to the DFA's own) when it is nearly full and at the end.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;

use super::lean::Dense;

/// 16-lane vectors driven at once: 1 → 1.4, 2 → 2.2, 4 → 2.8, 8 → 2.2 GB/s (a stand-alone copy
/// of this loop, 64 KiB texts).
const VECS: usize = 4;
/// Windows scanned at once.
pub const LANES: usize = 16 * VECS;
/// Matches buffered before they are handed back (each a 16-lane state vector).
const EVENTS: usize = 256;
/// Tables larger than this (entries) are not copied: such a keyword set is a user's own, and the
/// slice scan serves it.
const MAX_ENTRIES: usize = 1 << 22;

/// `LANES` windows of one text, all `len` bytes long, `starts[k]` the first byte of window `k`.
#[derive(Debug, Clone, Copy)]
pub struct Windows<'t> {
    text: &'t [u8],
    starts: [usize; LANES],
    len: usize,
}

impl<'t> Windows<'t> {
    /// `None` unless `len` is a multiple of 4 (the scan reads 4 bytes a lane at a time), every
    /// window lies inside `text`, and `text` is at most `i32::MAX` bytes (gather offsets are
    /// signed 32-bit).
    pub fn new(text: &'t [u8], starts: [usize; LANES], len: usize) -> Option<Windows<'t>> {
        let fits = len.is_multiple_of(4)
            && i32::try_from(text.len()).is_ok()
            && starts
                .iter()
                .all(|&s| s.checked_add(len).is_some_and(|e| e <= text.len()));
        fits.then_some(Windows { text, starts, len })
    }
}

/// A lane's state reached a match state: its window (`lane`), the offset in the window of the
/// byte it consumed (`step`) and the DFA's own state id, for `KeywordScanner::report`.
#[derive(Debug, Clone, Copy)]
pub struct Hit {
    pub lane: usize,
    pub step: usize,
    pub state: StateID,
}

/// The keyword DFA as a dense table for the gather loop.
#[derive(Debug)]
pub struct WideTable {
    /// Next state (premultiplied by `stride`), at index state (premultiplied) + class.
    trans: Vec<u32>,
    classes: [u8; 256],
    stride: u32,
    /// States (premultiplied) below this are match states.
    match_below: u32,
    start: u32,
    /// Our state number → the DFA's state id.
    orig: Vec<StateID>,
}

impl WideTable {
    /// The table of `dfa` (read whole as `d`), when this CPU can run the wide scan and the table
    /// is of a sane size.
    pub fn new(dfa: &DFA, d: &Dense) -> Option<WideTable> {
        if !available() {
            return None;
        }
        Self::build(dfa, d)
    }

    /// Built once per run, before the first input.
    fn build(dfa: &DFA, d: &Dense) -> Option<WideTable> {
        let Dense {
            order,
            full,
            classes,
            reps,
        } = d;
        if order.len().saturating_mul(256) > MAX_ENTRIES {
            return None;
        }
        // Renumbered with the match states first (stable, so the rest keeps breadth-first
        // order): `rank[bfs number]` is the new number, `by_rank` the inverse.
        let mut by_rank: Vec<usize> = (0..order.len()).collect();
        by_rank.sort_by_key(|&k| !dfa.is_match(order[k]));
        let mut rank = vec![0u32; order.len()];
        for (r, &k) in by_rank.iter().enumerate() {
            rank[k] = r as u32;
        }
        let n_match = order.iter().filter(|&&s| dfa.is_match(s)).count();
        let stride = reps.len();
        let mut trans = Vec::with_capacity(order.len() * stride);
        for &k in &by_rank {
            for &b in reps {
                let next = *full.get(k * 256 + b)?;
                trans.push(rank.get(next as usize)? * stride as u32);
            }
        }
        let stride = u32::try_from(stride).ok()?;
        // Premultiplied indices go through signed 32-bit gather offsets.
        i32::try_from(trans.len()).ok()?;
        Some(WideTable {
            trans,
            classes: *classes,
            stride,
            match_below: u32::try_from(n_match).ok()? * stride,
            start: rank.first()? * stride,
            orig: by_rank.iter().map(|&k| order[k]).collect(),
        })
    }

    /// Runs the DFA from its start state over the windows, in lockstep, and calls `on` with each
    /// hit (handed back a buffer at a time, each in step order) until it returns false. False
    /// when this CPU cannot run it (nothing was scanned then).
    pub fn scan(&self, w: &Windows<'_>, on: &mut dyn FnMut(Hit) -> bool) -> bool {
        if !available() {
            return false;
        }
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: `available` checked that the CPU has the features `run` is compiled for,
            // and `Windows::new` that every 4-byte read `run` makes lies inside the text.
            unsafe { self.run(w, on) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (w, on);
            false
        }
    }

    /// Turns buffered match vectors into hits for `on`.
    fn hand_back(
        &self,
        states: &[[u32; 16]],
        events: &[(u32, u16)],
        vec_of: &[u8],
        on: &mut dyn FnMut(Hit) -> bool,
    ) -> bool {
        for ((v, &(step, mask)), &k) in states.iter().zip(events).zip(vec_of) {
            let mut m = mask;
            while m != 0 {
                let l = m.trailing_zeros() as usize;
                m &= m - 1;
                let s = v.get(l).copied().unwrap_or(self.start) / self.stride;
                if let Some(&state) = self.orig.get(s as usize) {
                    let hit = Hit {
                        lane: usize::from(k) * 16 + l,
                        step: step as usize,
                        state,
                    };
                    if !on(hit) {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// # Safety
    /// The CPU has AVX-512 F, BW and VBMI.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    unsafe fn run(&self, w: &Windows<'_>, on: &mut dyn FnMut(Hit) -> bool) -> bool {
        use std::arch::x86_64::*;
        let Windows { text, starts, len } = *w;
        let table = |q: usize| {
            let part: [u8; 64] = std::array::from_fn(|i| self.classes[64 * q + i]);
            // SAFETY: `part` is 64 readable bytes.
            unsafe { _mm512_loadu_si512(part.as_ptr().cast()) }
        };
        let (c0, c1, c2, c3) = (table(0), table(1), table(2), table(3));
        let offsets: [__m512i; VECS] = std::array::from_fn(|k| {
            let o: [i32; 16] = std::array::from_fn(|l| starts[k * 16 + l] as i32);
            // SAFETY: `o` is 64 readable bytes.
            unsafe { _mm512_loadu_si512(o.as_ptr().cast()) }
        });
        let mut st = [_mm512_set1_epi32(self.start as i32); VECS];
        let match_below = _mm512_set1_epi32(self.match_below as i32);
        let byte = _mm512_set1_epi32(0xFF);
        let trans = self.trans.as_ptr().cast::<i32>();
        let bytes = text.as_ptr().cast::<i32>();
        let mut states = [[0u32; 16]; EVENTS];
        let mut events = [(0u32, 0u16); EVENTS];
        let mut vec_of = [0u8; EVENTS];
        let mut n = 0usize;
        let mut j = 0usize;
        while j < len {
            // Each pass adds at most 4 * VECS events.
            if n + 4 * VECS > EVENTS {
                let go = self.hand_back(&states[..n], &events[..n], &vec_of[..n], on);
                if !go {
                    return true;
                }
                n = 0;
            }
            let at = _mm512_set1_epi32(j as i32);
            let mut cls = [_mm512_setzero_si512(); VECS];
            for (k, c) in cls.iter_mut().enumerate() {
                // SAFETY: lane l reads text[starts[l] + j .. + 4], inside `text`: j + 4 <= len
                // (a multiple of 4), and `Windows::new` checked starts[l] + len <= text.len().
                let x =
                    unsafe { _mm512_i32gather_epi32::<1>(_mm512_add_epi32(offsets[k], at), bytes) };
                // Byte → class: bit 6 picks the table within a pair, bit 7 the pair.
                let lo = _mm512_permutex2var_epi8(c0, x, c1);
                let hi = _mm512_permutex2var_epi8(c2, x, c3);
                *c = _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), lo, hi);
            }
            for step in 0..4 {
                for k in 0..VECS {
                    let c = match step {
                        0 => _mm512_and_si512(cls[k], byte),
                        1 => _mm512_and_si512(_mm512_srli_epi32::<8>(cls[k]), byte),
                        2 => _mm512_and_si512(_mm512_srli_epi32::<16>(cls[k]), byte),
                        _ => _mm512_srli_epi32::<24>(cls[k]),
                    };
                    // SAFETY: a premultiplied state plus a class is an index into `trans`: the
                    // table has a row for every state and a column for every class.
                    st[k] =
                        unsafe { _mm512_i32gather_epi32::<4>(_mm512_add_epi32(st[k], c), trans) };
                    let m = _mm512_cmplt_epu32_mask(st[k], match_below);
                    // Stored always, kept only when a lane matched: no branch on matches.
                    if let (Some(slot), Some(ev), Some(vk)) =
                        (states.get_mut(n), events.get_mut(n), vec_of.get_mut(n))
                    {
                        // SAFETY: `slot` is 64 writable bytes.
                        unsafe { _mm512_storeu_si512(slot.as_mut_ptr().cast(), st[k]) };
                        *ev = ((j + step) as u32, m);
                        *vk = k as u8;
                    }
                    n += usize::from(m != 0);
                }
            }
            j += 4;
        }
        if n > 0 {
            self.hand_back(&states[..n], &events[..n], &vec_of[..n], on);
        }
        true
    }
}

/// Whether this CPU runs the wide scan.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vbmi")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use aho_corasick::{Anchored, StartKind};

    /// The keyword DFA of `patterns`, built as `KeywordScanner` builds it, and its start state.
    pub(in crate::recognize) fn dfa(patterns: &[&str]) -> (DFA, StateID) {
        let dfa = aho_corasick::dfa::Builder::new()
            .ascii_case_insensitive(true)
            .start_kind(StartKind::Unanchored)
            .build(patterns)
            .unwrap();
        let start = dfa.start_state(Anchored::No).unwrap();
        (dfa, start)
    }

    /// The table agrees with the DFA on every state and byte, and numbers match states first
    /// (checked whether or not this CPU runs the wide scan).
    #[test]
    fn table_is_the_dfa() {
        let (dfa, start) = dfa(&["token", "api_key", "sk_live_", "pw", "q~", "eyJ"]);
        let t = WideTable::build(&dfa, &Dense::new(&dfa, start).unwrap()).unwrap();
        assert_eq!(t.orig[(t.start / t.stride) as usize], start);
        for (i, &s) in t.orig.iter().enumerate() {
            let here = i as u32 * t.stride;
            assert_eq!(here < t.match_below, dfa.is_match(s), "state {i}");
            for b in 0..=255u8 {
                let class = u32::from(t.classes[usize::from(b)]);
                let next = t.trans[(here + class) as usize];
                assert_eq!(next % t.stride, 0);
                assert_eq!(
                    t.orig[(next / t.stride) as usize],
                    dfa.next_state(Anchored::No, s, b),
                    "state {i} byte {b}"
                );
            }
        }
    }

    #[test]
    fn windows_outside_the_text_are_refused() {
        let text = vec![b'a'; 1000];
        let mut starts = [0usize; LANES];
        assert!(Windows::new(&text, starts, 12).is_some());
        starts[LANES - 1] = 990;
        assert!(Windows::new(&text, starts, 12).is_none(), "past the end");
        assert!(
            Windows::new(&text, [0; LANES], 10).is_none(),
            "not a multiple of 4"
        );
        assert!(
            Windows::new(&text, [usize::MAX; LANES], 4).is_none(),
            "overflow"
        );
    }
}
