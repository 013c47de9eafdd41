//! credsift: a passive analyzer of captured HTTP traffic that reports how credentials are
//! mishandled. Data flows ingest → reassembly → http1 → model → recognize → analyze → report;
//! `engine` drives that flow over many inputs in parallel and `cli` is the command-line edge.

pub mod analyze;
pub mod chunked;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod engine;
pub mod r#gen;
pub mod http1;
pub mod ingest;
pub mod model;
pub mod reassembly;
pub mod recognize;
#[cfg(feature = "cli")]
pub mod report;
pub mod secret;
pub mod spill;
