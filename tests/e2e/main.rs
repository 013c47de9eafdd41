//! End-to-end tests: the real `credsift` binary on real files (samples/, generated inputs, and
//! the shared corpus when present). One test binary, split by topic.

mod cli;
mod common;
mod corpus;
mod formats;
mod samples;
mod secrets;
mod snapshots;
