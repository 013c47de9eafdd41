//! Robustness tests of the library on hostile input: replay of every input the fuzzers ever
//! crashed on (`fuzz_regressions`), adversarial inputs generated on the fly with their memory
//! and time measured (`adversarial`), and truncated captures losing nothing readable
//! (`truncated`). One test binary of its own, so that its peak-memory measurements are not
//! disturbed by other tests.

#[path = "../../fuzz/src/lib.rs"]
mod harness;

mod adversarial;
mod corpus;
mod fuzz_regressions;
mod synth;
mod truncated;
