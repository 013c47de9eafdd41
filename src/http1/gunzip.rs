//! One-shot gzip decoding of a whole, buffered body with libdeflate: the fast path of
//! `decode`, used only where it gives what the streaming decoder would: one member spanning the
//! whole input, no header CRC, content within the limits. (libdeflate is laxer than zlib on a few
//! malformed deflate streams: distance codes 30 and 31, code counts over zlib's maxima,
//! incomplete precodes. It decodes those where zlib stops with a decode error. No encoder writes
//! them.)
//!
//! Why: libdeflate decodes the generated bench bodies at ~1.4 GB/s against ~0.75 GB/s for the
//! streaming zlib-rs decoder behind flate2's writer (which also copies its output through a
//! 32 KiB buffer, into a `Vec` that grows by doubling). A one-shot decoder needs the whole input
//! and the output size up front: gzip's trailer gives the size (ISIZE), and a body is short.
//!
//! Why the FFI here rather than the `libdeflater` wrapper: the wrapper does not report how much
//! input was consumed, so a body of two gzip members would silently decode as its first one.
//! `libdeflate_gzip_decompress_ex` does, and anything but exactly one member spanning the whole
//! input is left to the streaming decoder.

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr::NonNull;

use libdeflate_sys::{
    libdeflate_alloc_decompressor, libdeflate_decompressor, libdeflate_free_decompressor,
    libdeflate_gzip_decompress_ex, libdeflate_result_LIBDEFLATE_SUCCESS,
};

/// The smallest gzip member: a 10-byte header, an empty deflate block (2 bytes), the 8-byte
/// trailer.
const MIN_MEMBER: usize = 20;
/// Deflate expands a byte to at most 258 bytes per 2 bits (a length code with its shortest
/// distance code): a trailer claiming more than this for its input is refused before its buffer
/// is allocated.
const MAX_EXPANSION: usize = 1032;
/// FHCRC: the header carries a CRC-16, which libdeflate skips and zlib checks.
const FHCRC: u8 = 0x02;

/// An owned libdeflate decompressor.
struct Decompressor(NonNull<libdeflate_decompressor>);

impl Decompressor {
    fn new() -> Option<Decompressor> {
        // SAFETY: no preconditions; a null return (out of memory) is handled.
        NonNull::new(unsafe { libdeflate_alloc_decompressor() }).map(Decompressor)
    }
}

impl Drop for Decompressor {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `libdeflate_alloc_decompressor` and is freed only here.
        unsafe { libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

thread_local! {
    /// One per thread: a decompressor holds ~10 KiB of tables, and is not to be shared.
    static DECOMPRESSOR: RefCell<Option<Decompressor>> = const { RefCell::new(None) };
}

/// The decoded content of `input` if it is exactly one complete gzip member whose content is
/// at most `max_len` bytes; `None` otherwise (corrupt, truncated, several members, trailing
/// bytes, or longer), and the caller decodes it the streaming way.
pub fn gunzip_one(input: &[u8], max_len: usize) -> Option<Vec<u8>> {
    if input.len() < MIN_MEMBER || input.get(3).is_some_and(|flg| flg & FHCRC != 0) {
        return None;
    }
    // ISIZE, the content length mod 2^32, is the member's last four bytes; libdeflate checks it
    // (and the CRC) against what it decoded.
    let tail: [u8; 4] = input.get(input.len() - 4..)?.try_into().ok()?;
    let size = usize::try_from(u32::from_le_bytes(tail)).ok()?;
    if size > max_len || size > input.len().saturating_mul(MAX_EXPANSION) {
        return None;
    }
    let mut out = vec![0u8; size];
    let (mut used_in, mut used_out) = (0usize, 0usize);
    // `try_with`: during a thread's teardown there is no decompressor; streaming takes over.
    let ok = DECOMPRESSOR.try_with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Decompressor::new();
        }
        let Some(d) = slot.as_ref() else {
            return false;
        };
        // SAFETY: `d` is a live decompressor used by this thread only; the input and output
        // pointers and lengths come from live slices; libdeflate writes at most `out.len()`
        // bytes to `out` and the two counts to the two locals.
        let res = unsafe {
            libdeflate_gzip_decompress_ex(
                d.0.as_ptr(),
                input.as_ptr().cast::<c_void>(),
                input.len(),
                out.as_mut_ptr().cast::<c_void>(),
                out.len(),
                &mut used_in,
                &mut used_out,
            )
        };
        res == libdeflate_result_LIBDEFLATE_SUCCESS
    }) == Ok(true);
    (ok && used_in == input.len() && used_out == size).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    use crate::r#gen::http::gzip as gz;

    #[test]
    fn one_member_decodes() {
        let plain = b"token=abc; the quick brown fox ".repeat(500);
        assert_eq!(gunzip_one(&gz(&plain), 1 << 20), Some(plain.clone()));
        assert_eq!(gunzip_one(&gz(b""), 1 << 20), Some(Vec::new()));
        // Exactly at the bound, and one byte over it.
        assert_eq!(
            gunzip_one(&gz(&plain), plain.len()).map(|v| v.len()),
            Some(plain.len())
        );
        assert_eq!(gunzip_one(&gz(&plain), plain.len() - 1), None);
        // Deflate's densest output (a run of one byte, ~1030:1 at best) is within the expansion
        // guard.
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&[0u8; 1 << 20]).unwrap();
        let dense = e.finish().unwrap();
        assert_eq!(gunzip_one(&dense, 1 << 20).map(|v| v.len()), Some(1 << 20));
    }

    #[test]
    fn anything_else_is_left_to_the_streaming_decoder() {
        let a = gz(b"first member, a credential=1");
        // Two members with equal content: the trailer's size and CRC match the first member's
        // too, so only the consumed-input count tells them from one.
        let two = [a.clone(), a.clone()].concat();
        assert_eq!(gunzip_one(&two, 1 << 20), None);
        let mut trailing = a.clone();
        trailing.extend_from_slice(&[0u8; 8]);
        assert_eq!(gunzip_one(&trailing, 1 << 20), None);
        assert_eq!(gunzip_one(&a[..a.len() - 1], 1 << 20), None);
        let mut corrupt = a.clone();
        corrupt[12] ^= 0x55;
        assert_eq!(gunzip_one(&corrupt, 1 << 20), None);
        // A trailer claiming 4 GiB is refused before any allocation.
        let mut huge = a;
        let n = huge.len();
        huge[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(gunzip_one(&huge, 1 << 20), None);
        assert_eq!(gunzip_one(b"", 1 << 20), None);
        // A header CRC: left to zlib, which checks it.
        let mut hcrc = gz(b"with a header crc");
        hcrc[3] |= FHCRC;
        assert_eq!(gunzip_one(&hcrc, 1 << 20), None);
    }
}
