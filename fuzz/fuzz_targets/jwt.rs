//! libFuzzer entry point of the `jwt` target; the harness is `credsift_fuzz::jwt`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| credsift_fuzz::jwt(data));
