//! libFuzzer entry point of the `pcap` target; the harness is `credsift_fuzz::pcap`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| credsift_fuzz::pcap(data));
