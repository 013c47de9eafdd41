//! libFuzzer entry point of the `har` target; the harness is `credsift_fuzz::har`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| credsift_fuzz::har(data));
