//! libFuzzer entry point of the `recognize` target; the harness is `credsift_fuzz::recognize`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| credsift_fuzz::recognize(data));
