//! libFuzzer entry point of the `reassembly` target; the harness is `credsift_fuzz::reassembly`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| credsift_fuzz::reassembly(data));
