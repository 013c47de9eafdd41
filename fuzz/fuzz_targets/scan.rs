//! libFuzzer entry point of the `scan` target; the harness is `credsift_fuzz::scan`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| credsift_fuzz::scan(data));
