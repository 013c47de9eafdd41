//! libFuzzer entry point of the `http1` target; the harness is `credsift_fuzz::http1`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| credsift_fuzz::http1(data));
