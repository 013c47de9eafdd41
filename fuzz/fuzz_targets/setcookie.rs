//! libFuzzer entry point of the `setcookie` target; the harness is `credsift_fuzz::setcookie`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| credsift_fuzz::setcookie(data));
