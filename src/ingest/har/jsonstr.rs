//! Where a JSON string's body ends: the first `"` not escaped by a backslash, found 64 bytes at a
//! time with bit masks (simdjson's escape scan). Used by `cap` and `split`, which both follow
//! every string of a HAR.
//!
//! Why: a HAR's `content.text` is often JSON or HTML in a string, with an escaped quote every few
//! bytes (`{\"id\": \"…\"}`). `memchr2('"', '\\')` stops at each backslash: a call, a branch and a
//! restart for every escape, which made the two string scans before serde_json ~20% of a HAR
//! scan. Here a block costs the same whatever it holds.

/// Bytes per block: one bit each in a `u64` mask.
const BLOCK: usize = 64;
/// Bits at even positions.
const EVEN: u64 = 0x5555_5555_5555_5555;

/// The index in `buf` of the first `"` that ends the string, or, when `buf` holds none, whether
/// the byte after `buf` is escaped (a string body cut after an escaping backslash). `escaped`:
/// whether the first byte of `buf` is escaped (the previous piece ended with an escaping
/// backslash).
///
/// A backslash escapes exactly the byte after it, whatever that byte is, as `split` always
/// assumed. (`cap` follows `\u` escapes for its cuts; it takes a string's end from here only when
/// the end comes before any cut, and a `\u` that is not followed by four hex digits is invalid
/// JSON at that escape, where serde_json stops whatever follows.)
pub(crate) fn string_end(buf: &[u8], escaped: bool) -> Result<usize, bool> {
    let mut carry = u64::from(escaped);
    let mut blocks = buf.chunks_exact(BLOCK);
    for (i, block) in blocks.by_ref().enumerate() {
        let (ends, _) = block_ends(block, &mut carry);
        if ends != 0 {
            return Ok(i * BLOCK + ends.trailing_zeros() as usize);
        }
    }
    let tail = blocks.remainder();
    if tail.is_empty() {
        return Err(carry != 0);
    }
    // The tail, padded with bytes that are neither quotes nor backslashes.
    let mut last = [0u8; BLOCK];
    last[..tail.len()].copy_from_slice(tail);
    let (ends, escaped) = block_ends(&last, &mut carry);
    if ends != 0 {
        return Ok(buf.len() - tail.len() + ends.trailing_zeros() as usize);
    }
    // The first padding byte stands for the byte after `buf`.
    Err(escaped >> tail.len() & 1 != 0)
}

/// A 64-byte block's unescaped quotes, and its escaped bytes (`carry` as in `escaped_bits`).
fn block_ends(block: &[u8], carry: &mut u64) -> (u64, u64) {
    let (quotes, backslashes) = masks(block);
    let escaped = escaped_bits(backslashes, carry);
    (quotes & !escaped, escaped)
}

/// The bytes of the block that a backslash escapes. `carry`: in, whether the block's first byte is
/// escaped; out, whether the next block's is. A run of backslashes escapes every other byte of
/// itself and, when its length is odd, the byte after it; the addition finds each run's end and
/// the parity of its start in one step (simdjson's `find_escaped_branchless`).
fn escaped_bits(backslashes: u64, carry: &mut u64) -> u64 {
    let backslashes = backslashes & !*carry;
    let follows_escape = (backslashes << 1) | *carry;
    let odd_starts = backslashes & !EVEN & !follows_escape;
    let (even_starts, overflow) = odd_starts.overflowing_add(backslashes);
    *carry = u64::from(overflow);
    (EVEN ^ (even_starts << 1)) & follows_escape
}

/// Bit `k` set where byte `k` of the 64-byte `block` is a quote, and where it is a backslash.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn masks(block: &[u8]) -> (u64, u64) {
    use std::arch::x86_64::*;
    debug_assert_eq!(block.len(), BLOCK);
    let mut quotes = 0u64;
    let mut backslashes = 0u64;
    // SAFETY: SSE2 is part of x86-64; each 16-byte load is inside the 64-byte block (the
    // `chunks_exact` above, or the padded copy).
    unsafe {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        for (k, part) in block.chunks_exact(16).enumerate() {
            let v = _mm_loadu_si128(part.as_ptr().cast());
            let q = _mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)) as u16;
            let b = _mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash)) as u16;
            quotes |= u64::from(q) << (16 * k);
            backslashes |= u64::from(b) << (16 * k);
        }
    }
    (quotes, backslashes)
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn masks(block: &[u8]) -> (u64, u64) {
    masks_scalar(block)
}

/// `masks` one byte at a time (elsewhere than x86-64, and the tests' reference).
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn masks_scalar(block: &[u8]) -> (u64, u64) {
    let mut quotes = 0u64;
    let mut backslashes = 0u64;
    for (k, &b) in block.iter().enumerate() {
        quotes |= u64::from(b == b'"') << k;
        backslashes |= u64::from(b == b'\\') << k;
    }
    (quotes, backslashes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One byte at a time, as `split` scanned before.
    fn reference(buf: &[u8], mut escaped: bool) -> Result<usize, bool> {
        for (i, &b) in buf.iter().enumerate() {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                return Ok(i);
            }
        }
        Err(escaped)
    }

    #[test]
    fn escapes_and_runs_of_backslashes() {
        for (text, escaped, want) in [
            (&br#"abc"def"#[..], false, Ok(3)),
            (br#"a\"b"c"#, false, Ok(4)),
            (br#"a\\"b"#, false, Ok(3)),
            (br#"a\\\"b"c"#, false, Ok(6)),
            (br#""x"#, true, Err(false)),
            (br#"\"#, false, Err(true)),
            (br#"\\"#, false, Err(false)),
            (br#"\\"#, true, Err(true)),
            (b"", true, Err(true)),
            (b"", false, Err(false)),
        ] {
            assert_eq!(
                string_end(text, escaped),
                want,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    /// Runs of backslashes across the 64-byte seams, and the padded tail.
    #[test]
    fn seams() {
        for len in 0..200 {
            for run in 0..70 {
                let mut buf = vec![b'x'; len];
                buf.extend(std::iter::repeat_n(b'\\', run));
                buf.extend_from_slice(b"\"tail\"");
                for escaped in [false, true] {
                    assert_eq!(
                        string_end(&buf, escaped),
                        reference(&buf, escaped),
                        "len {len} run {run} escaped {escaped}"
                    );
                    let cut = &buf[..len + run];
                    assert_eq!(string_end(cut, escaped), reference(cut, escaped));
                }
            }
        }
    }

    proptest! {
        #[test]
        fn agrees_with_a_byte_at_a_time(
            bytes in prop::collection::vec(
                prop_oneof![1 => Just(b'"'), 20 => Just(b'\\'), 30 => any::<u8>()],
                0..400,
            ),
            escaped in any::<bool>(),
        ) {
            prop_assert_eq!(string_end(&bytes, escaped), reference(&bytes, escaped));
            for block in bytes.chunks_exact(BLOCK) {
                prop_assert_eq!(masks(block), masks_scalar(block));
            }
        }
    }
}
