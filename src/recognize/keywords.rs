//! The keyword prefilter's scan loop: every (overlapping) occurrence of the detector keywords in a
//! text, found by aho-corasick's DFA driven over several slices of the text at once.
//!
//! Why not `AhoCorasick::find_overlapping_iter`: a DFA step is one table load that depends on the
//! previous one, so a single scan is bound by load latency (~2 ns a byte here, ~470 MB/s, 40% of a
//! whole scan's profile). Four independent scans over four slices of the same text keep four loads
//! in flight and run ~2.8x faster (measured on generated bodies: 470 MB/s → 1.3 GB/s). Each slice's
//! scan starts in the start state at the slice's first byte, so it finds every occurrence that
//! starts there or later; it runs on for `max_pattern_len - 1` bytes past its slice so occurrences
//! straddling the seam are completed, and it keeps only occurrences that start inside its slice.
//! Together the slices report each occurrence exactly once, as one scan would.
//!
//! The slices step `lean`'s copy of the DFA rather than the crate's own: fewer instructions a
//! step leave room for a fifth slice (2.26 against 1.90 GiB/s on body text in the `prefilter`
//! stage bench, a one-thread run of 1 GiB ~4.5% faster). The crate's own serves keyword sets too
//! large for that copy.
//!
//! Texts of `WIDE_MIN` bytes or more go to `wide` instead, where the CPU can run it and runs it
//! faster: the same idea with 64 windows driven by vector gathers. Whether it is faster depends on
//! the CPU's gathers, not on its flags, so the two scans are timed once, the first time the choice
//! is needed (`KeywordScanner::measure`).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, StartKind};

use super::lean::{Dense, LeanTable};
use super::wide::{self, WideTable};

/// Slices scanned at once over the DFA's own table. Measured on 4 KiB and 32 KiB texts:
/// 2 → 1.8x, 3 → 2.7x, 4 → 2.8x, 6 → 2.8x, 8 → 2.2x a single scan (registers run out).
const LANES: usize = 4;
/// Slices scanned at once over the lean table. On the Zen 4 VM, 64 KiB body texts: 4 → 1.98,
/// 5 → 2.26, 6 → 2.07 GiB/s (six lanes' pointers and states no longer fit in registers).
const LEAN_LANES: usize = 5;
/// Texts shorter than this are scanned in one piece (the seams' overlap would dominate).
const INTERLEAVE_MIN: usize = 256;
/// The same for the lean table's slices (measured with its five lanes; the four lanes of the
/// DFA's own table keep the older bound).
const LEAN_MIN: usize = 64;
/// Texts at least this long use the wide scan. Each of its 64 windows reads `max_pattern_len - 1`
/// bytes past its slice; at 4 KiB that is a third more bytes, and the wide scan was still ~1.4x
/// the (then four-) slice scan on the CPU where it was written; at 2 KiB they were even.
const WIDE_MIN: usize = 4096;

/// A compiled keyword set. Patterns are matched ASCII-case-insensitively.
#[derive(Debug)]
pub struct KeywordScanner {
    dfa: DFA,
    start: aho_corasick::automaton::StateID,
    overlap: usize,
    /// The DFA as a gather table, where the CPU runs the wide scan.
    wide: Option<WideTable>,
    /// The DFA re-laid for the slice scan (absent for a huge user keyword set).
    lean: Option<LeanTable>,
    /// Which scan `scan` runs on long texts: measured on the first one (a run that meets none,
    /// and the tests that build a scanner per case, never pay for the timing).
    prefer: OnceLock<Scan>,
}

/// The two scans of long texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// Five slices in lockstep, scalar (every CPU; four over the DFA's own table where the
    /// keyword set is too large for the lean one).
    Slices,
    /// 64 windows through AVX-512 gathers (`wide`).
    Wide,
}

impl Scan {
    /// What `-v` prints.
    pub fn describe(self) -> &'static str {
        match self {
            Scan::Slices => "slice scan",
            Scan::Wide => "wide scan (AVX-512 gathers)",
        }
    }
}

impl KeywordScanner {
    pub fn new(patterns: &[Vec<u8>]) -> Result<Self, aho_corasick::BuildError> {
        let dfa = aho_corasick::dfa::Builder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Unanchored)
            // The loop below never consults the automaton's own prefilter.
            .prefilter(false)
            .build(patterns)?;
        let start = dfa
            .start_state(Anchored::No)
            .expect("an unanchored DFA has an unanchored start state");
        let overlap = dfa.max_pattern_len().saturating_sub(1);
        // Read whole once for both tables: reading every state's 256 next states is most of the
        // work of building either.
        let dense = Dense::new(&dfa, start);
        let wide = dense.as_ref().and_then(|d| WideTable::new(&dfa, d));
        let lean = dense.as_ref().and_then(|d| LeanTable::new(&dfa, d));
        Ok(KeywordScanner {
            dfa,
            start,
            overlap,
            wide,
            lean,
            prefer: OnceLock::new(),
        })
    }

    /// Times the two scans over the same text and keeps the wide one only where it is clearly
    /// faster. AVX-512 says nothing about how fast a CPU's gathers are: on the Intel CPU where the
    /// wide scan was written it ran at ~1.8x the four slices, on the Zen 4 VM it runs at ~0.7x
    /// (`cargo bench --bench stages -- prefilter`: 1.0 against 1.44 GiB/s on body text), and the
    /// microcode that mitigates Gather Data Sampling slows gathers on many Intel CPUs too.
    ///
    /// 32 KiB of word-like text, each scan five times (alternating, the first round a warm-up),
    /// the best of each compared: ~0.3 ms, once per run, and only where the wide scan can run.
    /// Either scan reports the same occurrences (the tests below hold both to aho-corasick's own),
    /// so the choice changes speed only. They reach them in different orders, so a caller that
    /// stops early must not keep what it saw first: the prefilter, past `MAX_KEYWORD_HITS` in one
    /// text, scans again with `scan_in_order`.
    fn measure(&self) -> Scan {
        if self.wide.is_none() {
            return Scan::Slices;
        }
        let text = calibration_text(32 << 10);
        let mut best = [Duration::MAX; 2];
        let mut seen = 0usize;
        let mut count = |_, _| {
            seen += 1;
            true
        };
        for round in 0..6 {
            for (i, kind) in [Scan::Slices, Scan::Wide].into_iter().enumerate() {
                let t = Instant::now();
                self.scan_as(kind, &text, &mut count);
                let took = t.elapsed();
                if round > 0 {
                    best[i] = best[i].min(took);
                }
            }
        }
        std::hint::black_box(seen);
        // Wide only when at least 10% faster, so that a CPU where the two are close does not
        // flip between them from run to run.
        if best[1] * 10 < best[0] * 9 {
            Scan::Wide
        } else {
            Scan::Slices
        }
    }

    /// Which scan long texts get (measured on the first call).
    pub fn preferred(&self) -> Scan {
        *self.prefer.get_or_init(|| self.measure())
    }

    /// Calls `on(pattern, start)` for every occurrence of every pattern in `text`, overlapping
    /// ones included, until `on` returns false. Order: by end offset within each slice; how
    /// slices interleave depends on the text's length, the CPU and which scan was measured faster,
    /// so a caller that stops early gets different hits from run to run (`scan_in_order` does
    /// not).
    pub fn scan(&self, text: &[u8], on: impl FnMut(usize, usize) -> bool) {
        // Short texts never reach the wide scan: no need to know which one is faster.
        let kind = if text.len() < WIDE_MIN {
            Scan::Slices
        } else {
            self.preferred()
        };
        self.scan_as(kind, text, on);
    }

    /// `scan` with the scan of long texts chosen by the caller (the tests and benches run
    /// both); `Scan::Wide` where the CPU cannot run it is the slice scan.
    pub fn scan_as(&self, kind: Scan, text: &[u8], mut on: impl FnMut(usize, usize) -> bool) {
        if kind == Scan::Wide
            && text.len() >= WIDE_MIN
            && let Some(w) = &self.wide
            && self.scan_wide(w, text, &mut on)
        {
            return;
        }
        self.scan_narrow(text, on);
    }

    /// Every occurrence in one forward pass, in order of end offset, until `on` returns false:
    /// the same order on every CPU, for a caller that stops early and must keep the same hits
    /// wherever it runs (at a third of `scan`'s speed).
    pub fn scan_in_order(&self, text: &[u8], mut on: impl FnMut(usize, usize) -> bool) {
        self.scan_one(text, &mut on);
    }

    /// Whether this CPU can run the wide scan at all.
    #[cfg(test)]
    pub fn can_wide(&self) -> bool {
        self.wide.is_some()
    }

    /// The slice scan (one slice for short texts), whatever the text's length and the CPU
    /// (`scan` uses it below `WIDE_MIN`, and above where the wide scan is not faster).
    fn scan_narrow(&self, text: &[u8], mut on: impl FnMut(usize, usize) -> bool) {
        if let Some(lean) = &self.lean
            && text.len() >= LEAN_MIN
        {
            self.scan_lean(lean, text, &mut on);
            return;
        }
        if text.len() < INTERLEAVE_MIN {
            self.scan_one(text, &mut on);
            return;
        }
        let w = Sliced::<LANES>::new(text, self.overlap);
        let dfa = &self.dfa;
        let mut st = [self.start; LANES];
        let mut j = 0;
        loop {
            j = step_lanes(dfa, w.lanes, j, &mut st);
            if j >= w.len {
                return;
            }
            for (k, &s) in st.iter().enumerate() {
                if dfa.is_match(s) && !self.report(s, w.starts[k] + j, w.bounds[k], &mut on) {
                    return;
                }
            }
            j += 1;
        }
    }

    /// `scan_narrow` over the lean table, `LEAN_LANES` slices at once.
    fn scan_lean(&self, t: &LeanTable, text: &[u8], on: &mut impl FnMut(usize, usize) -> bool) {
        let w = Sliced::<LEAN_LANES>::new(text, self.overlap);
        let mut st = [t.start; LEAN_LANES];
        let mut j = 0;
        loop {
            j = step_lean(t, w.lanes, j, &mut st);
            if j >= w.len {
                return;
            }
            for (k, &s) in st.iter().enumerate() {
                if t.any_match(s) && !self.report(t.orig(s), w.starts[k] + j, w.bounds[k], on) {
                    return;
                }
            }
            j += 1;
        }
    }

    /// `wide::LANES` slices, each scanned in a window that starts at the slice (or earlier, for
    /// the last ones, so that every window has the same length) and runs `overlap` bytes past it.
    /// A window that starts early finds every occurrence that starts in its slice too, and only
    /// those are kept. False when the text does not suit it (nothing was reported then).
    fn scan_wide(
        &self,
        w: &WideTable,
        text: &[u8],
        on: &mut impl FnMut(usize, usize) -> bool,
    ) -> bool {
        let n = text.len();
        let len = (n.div_ceil(wide::LANES) + self.overlap).next_multiple_of(4);
        if len > n {
            return false;
        }
        let bounds: [(usize, usize); wide::LANES] =
            std::array::from_fn(|k| (k * n / wide::LANES, (k + 1) * n / wide::LANES));
        let starts: [usize; wide::LANES] = std::array::from_fn(|k| bounds[k].0.min(n - len));
        let Some(windows) = wide::Windows::new(text, starts, len) else {
            return false;
        };
        w.scan(&windows, &mut |h| {
            let (Some(&from), Some(&slice)) = (starts.get(h.lane), bounds.get(h.lane)) else {
                return true;
            };
            self.report(h.state, from + h.step, slice, on)
        })
    }

    fn scan_one(&self, text: &[u8], on: &mut impl FnMut(usize, usize) -> bool) {
        let mut s = self.start;
        for (i, &x) in text.iter().enumerate() {
            s = self.dfa.next_state(Anchored::No, s, x);
            if self.dfa.is_match(s) && !self.report(s, i, (0, text.len()), on) {
                return;
            }
        }
    }

    /// Reports the patterns of match state `s` reached at byte `at` whose start lies in
    /// `[lo, hi)`. False when the caller asked to stop.
    #[inline(never)]
    fn report(
        &self,
        s: aho_corasick::automaton::StateID,
        at: usize,
        (lo, hi): (usize, usize),
        on: &mut impl FnMut(usize, usize) -> bool,
    ) -> bool {
        for i in 0..self.dfa.match_len(s) {
            let pid = self.dfa.match_pattern(s, i);
            let start = (at + 1).saturating_sub(self.dfa.pattern_len(pid));
            if (lo..hi).contains(&start) && !on(pid.as_usize(), start) {
                return false;
            }
        }
        true
    }
}

/// `N` slices of a text, each with the window that scans it: the window starts at its slice (or
/// earlier, for the last ones) and runs `overlap` bytes past it, and all windows are equally
/// long (as `scan_wide`'s are). The lanes then run in lockstep to the end, with no lane finishing
/// alone, which is what makes texts down to `LEAN_MIN` bytes worth slicing. A window that starts
/// early finds every occurrence that starts in its slice too; `report` keeps only those.
struct Sliced<'t, const N: usize> {
    /// Each slice, `[lo, hi)`.
    bounds: [(usize, usize); N],
    /// Where each window starts.
    starts: [usize; N],
    /// The windows.
    lanes: [&'t [u8]; N],
    /// Every window's length.
    len: usize,
}

impl<'t, const N: usize> Sliced<'t, N> {
    fn new(text: &'t [u8], overlap: usize) -> Self {
        let n = text.len();
        let seg = n.div_ceil(N);
        let len = (seg + overlap).min(n);
        let bounds: [(usize, usize); N] =
            std::array::from_fn(|k| ((k * seg).min(n), ((k + 1) * seg).min(n)));
        let starts: [usize; N] = std::array::from_fn(|k| bounds[k].0.min(n - len));
        let lanes = std::array::from_fn(|k| &text[starts[k]..starts[k] + len]);
        Sliced {
            bounds,
            starts,
            lanes,
            len,
        }
    }
}

/// `len` bytes like a body's text: lowercase words of 2 to 9 letters, with spaces, digits and
/// punctuation, from a fixed seed (keywords turn up by chance, as in real text).
fn calibration_text(len: usize) -> Vec<u8> {
    const PUNCT: &[u8] = b" \n,.:=\"{}&";
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut t = Vec::with_capacity(len + 16);
    while t.len() < len {
        let r = next();
        for i in 0..2 + r % 8 {
            let c = (r >> (8 + 5 * i)) % 32;
            t.push(if c < 26 {
                b'a' + c as u8
            } else {
                b'0' + (c - 26) as u8
            });
        }
        t.push(PUNCT[(r >> 60) as usize % PUNCT.len()]);
    }
    t.truncate(len);
    t
}

/// Steps the DFA over `lanes` (equally long) in lockstep from byte `j`, until a byte takes any
/// lane into a match state (its index is returned, `st` holding the states after it) or the
/// lanes end (their length is returned).
///
/// A function of its own, never inlined: inlined into `scan_narrow`, beside the report callback's
/// captures, the loop ran out of registers. One lane's state lived in a stack slot, so that lane's
/// chain of dependent loads went through a store and a reload at every byte, and the other three
/// lanes waited for it: ~45 instructions and three stores for four bytes, against 34 and none
/// here. On the Zen 3 VM the prefilter's instructions over the 100 MiB bench capture went from
/// 1,046 to 890 million (cachegrind), and a one-thread run of 1 GiB became ~5% faster (paired
/// runs, one on each core at once).
#[inline(never)]
fn step_lanes(
    dfa: &DFA,
    lanes: [&[u8]; LANES],
    mut j: usize,
    st: &mut [aho_corasick::automaton::StateID; LANES],
) -> usize {
    let [a, b, c, d] = lanes;
    let n = a.len().min(b.len()).min(c.len()).min(d.len());
    let [mut s0, mut s1, mut s2, mut s3] = *st;
    while j < n {
        s0 = dfa.next_state(Anchored::No, s0, a[j]);
        s1 = dfa.next_state(Anchored::No, s1, b[j]);
        s2 = dfa.next_state(Anchored::No, s2, c[j]);
        s3 = dfa.next_state(Anchored::No, s3, d[j]);
        if dfa.is_match(s0) | dfa.is_match(s1) | dfa.is_match(s2) | dfa.is_match(s3) {
            break;
        }
        j += 1;
    }
    *st = [s0, s1, s2, s3];
    j
}

/// `step_lanes` over the lean table: the same contract, states as the lean table's.
#[inline(never)]
fn step_lean(
    t: &LeanTable,
    lanes: [&[u8]; LEAN_LANES],
    j: usize,
    st: &mut [usize; LEAN_LANES],
) -> usize {
    let n = lanes.iter().map(|l| l.len()).min().unwrap_or(0);
    if j >= n {
        return j;
    }
    // Every lane resliced to bytes j..n: one compare bounds every lane's index (the compiler
    // cannot see that the lanes are equally long, and kept a bounds check per lane).
    let lanes: [&[u8]; LEAN_LANES] = std::array::from_fn(|k| &lanes[k][j..n]);
    let m = n - j;
    let mut s = *st;
    let mut i = 0;
    while i < m {
        let mut any = 0;
        for k in 0..LEAN_LANES {
            s[k] = t.next(s[k], lanes[k][i]);
            any |= s[k];
        }
        if t.any_match(any) {
            break;
        }
        i += 1;
    }
    *st = s;
    j + i
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::AhoCorasick;
    use proptest::prelude::*;

    fn reference(patterns: &[Vec<u8>], text: &[u8]) -> Vec<(usize, usize)> {
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(patterns)
            .unwrap();
        let mut v: Vec<_> = ac
            .find_overlapping_iter(text)
            .map(|m| (m.pattern().as_usize(), m.start()))
            .collect();
        v.sort_unstable();
        v
    }

    /// A pattern set's scanner, and the same without the lean table (the fallback for keyword
    /// sets too large for it), built once for many texts.
    struct Both(KeywordScanner, KeywordScanner);

    fn both(patterns: &[Vec<u8>]) -> Both {
        let sc = KeywordScanner::new(patterns).unwrap();
        assert!(sc.lean.is_some());
        let mut plain = KeywordScanner::new(patterns).unwrap();
        plain.lean = None;
        Both(sc, plain)
    }

    /// The occurrences every scan reports: the slices over the lean table and over the DFA's
    /// own, and the wide scan (the slices again where the CPU has none). They must agree.
    fn ours(Both(sc, plain): &Both, text: &[u8]) -> Vec<(usize, usize)> {
        let run = |sc: &KeywordScanner, kind| {
            let mut v = Vec::new();
            sc.scan_as(kind, text, |p, s| {
                v.push((p, s));
                true
            });
            v.sort_unstable();
            v
        };
        let slices = run(sc, Scan::Slices);
        assert_eq!(
            slices,
            run(plain, Scan::Slices),
            "lean and DFA slices disagree"
        );
        assert_eq!(slices, run(sc, Scan::Wide), "the wide scan disagrees");
        slices
    }

    #[test]
    fn occurrences_across_every_seam_are_found_once() {
        let pats: Vec<Vec<u8>> = ["token", "ok", "kEn", "tokentoken"]
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        let sc = both(&pats);
        // Occurrences at every offset of texts around `LEAN_MIN` (windows that overlap most),
        // below and above `INTERLEAVE_MIN`, and of 1,000 bytes.
        for n in [LEAN_MIN - 1, LEAN_MIN, LEAN_MIN + 1, 100, 255, 257, 1000] {
            for at in 0..n - 10 {
                let mut text = vec![b'.'; n];
                text[at..at + 10].copy_from_slice(b"TokenToken");
                assert_eq!(ours(&sc, &text), reference(&pats, &text), "n {n} at {at}");
            }
        }
    }

    #[test]
    fn stopping_early_is_honoured() {
        let sc = KeywordScanner::new(&[b"ab".to_vec()]).unwrap();
        let mut plain = KeywordScanner::new(&[b"ab".to_vec()]).unwrap();
        plain.lean = None;
        // A short text (one slice), then a long one through each scan.
        for (repeat, stop) in [(100, 7), (1000, 7), (20_000, 700)] {
            for (sc, kind) in [
                (&sc, Scan::Slices),
                (&plain, Scan::Slices),
                (&sc, Scan::Wide),
            ] {
                let text = b"ab".repeat(repeat);
                let mut n = 0;
                sc.scan_as(kind, &text, |_, _| {
                    n += 1;
                    n < stop
                });
                assert_eq!(n, stop, "{repeat} repeats, {kind:?}");
            }
        }
    }

    #[test]
    fn wide_table_is_built_where_the_cpu_has_it() {
        let sc = KeywordScanner::new(&[b"token".to_vec()]).unwrap();
        assert_eq!(sc.can_wide(), wide::available());
        if sc.can_wide() {
            eprintln!("measured here: {}", sc.preferred().describe());
        } else {
            assert_eq!(sc.preferred(), Scan::Slices);
            eprintln!("this CPU has no AVX-512 VBMI: only the slice scans are tested");
        }
    }

    #[test]
    fn calibration_text_is_word_like_and_fixed() {
        let t = calibration_text(32 << 10);
        assert_eq!(t.len(), 32 << 10);
        assert_eq!(t, calibration_text(32 << 10));
        let spaces = t.iter().filter(|&&b| b == b' ').count();
        // About one separator in six bytes, a tenth of them spaces.
        assert!(spaces > 100 && spaces < 2000, "{spaces} spaces");
        assert!(
            t.iter()
                .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
        );
    }

    #[test]
    fn occurrences_across_every_wide_seam_are_found_once() {
        let pats: Vec<Vec<u8>> = ["token", "ok", "kEn", "tokentoken", "t"]
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        let sc = both(&pats);
        // Lengths where the last windows start early, and where they do not.
        for n in [WIDE_MIN, 5000, 9001, 70_000] {
            let seams: Vec<usize> = (1..wide::LANES).map(|k| k * n / wide::LANES).collect();
            for &seam in &seams {
                for at in seam.saturating_sub(12)..(seam + 3).min(n - 10) {
                    let mut text = vec![b'.'; n];
                    text[at..at + 10].copy_from_slice(b"TokenToken");
                    assert_eq!(ours(&sc, &text), reference(&pats, &text), "n {n} at {at}");
                }
            }
        }
        // Occurrences everywhere: the match buffer fills and is handed back many times.
        let text = b"tokenTOKEN.".repeat(3000);
        assert_eq!(ours(&sc, &text), reference(&pats, &text));
    }

    proptest! {
        #[test]
        fn long_texts_same_occurrences_as_aho_corasick(
            pats in proptest::collection::vec("[abAB.]{1,9}", 1..12),
            seed in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'A'), Just(b'.'), any::<u8>()], 1..64),
            len in WIDE_MIN..20_000usize,
        ) {
            let pats: Vec<Vec<u8>> = pats.into_iter().map(String::into_bytes).collect();
            // A short random seed repeated with a stride that is prime to it keeps texts varied
            // without generating 20,000 values per case.
            let text: Vec<u8> = (0..len).map(|i| seed[(i * 7 + i / seed.len()) % seed.len()]).collect();
            prop_assert_eq!(ours(&both(&pats), &text), reference(&pats, &text));
        }

        #[test]
        fn same_occurrences_as_aho_corasick(
            pats in proptest::collection::vec("[abAB.]{1,6}", 1..12),
            text in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'A'), Just(b'.'), any::<u8>()], 0..1500),
        ) {
            let pats: Vec<Vec<u8>> = pats.into_iter().map(String::into_bytes).collect();
            prop_assert_eq!(ours(&both(&pats), &text), reference(&pats, &text));
        }
    }
}
