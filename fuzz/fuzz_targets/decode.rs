//! libFuzzer entry point of the `decode` target; the harness is `credsift_fuzz::decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| credsift_fuzz::decode(data));
