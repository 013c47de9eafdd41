//! The project's own traffic generator: turns scenarios of HTTP/1.x exchanges and TLS
//! connections into packet captures (pcap, pcapng) and HAR exports. It feeds the committed
//! `samples/` directory (`samples`), the benchmark captures of the performance work (`bench`)
//! and tests; nothing in the analysis pipeline depends on it. `src/bin/credsift-gen.rs` is its
//! command line.
//!
//! Layers, bottom up: `http` (message bytes), `tls` (TLS records), `tcp` (a connection laid out
//! as segments, with impairments), `frame` (link/IP/TCP framing via etherparse), `capture` (pcap
//! and pcapng writers), `har` (HAR documents), then the two products `samples` and `bench`.
//! Every secret value that a sample carries is a constant in `secrets`.

pub mod bench;
pub mod capture;
pub mod frame;
pub mod har;
pub mod http;
pub mod samples;
pub mod secrets;
pub mod tcp;
pub mod tls;

/// Why generation failed. Generation reads no untrusted input, so these are I/O failures and
/// builder refusals (a frame too large for its headers).
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot build packet: {0}")]
    Build(String),
    #[error("invalid argument: {0}")]
    Invalid(String),
}

/// 2024-05-01T12:00:00Z in nanoseconds: the capture time of every sample. JWT expiry in the
/// samples is chosen relative to it.
pub const SAMPLE_EPOCH_NS: u64 = 1_714_564_800_000_000_000;

/// Parses a size such as `1G`, `1GiB`, `100M`, `64k` or `123456` (binary multiples).
pub fn parse_size(text: &str) -> Result<u64, GenError> {
    let t = text.trim();
    let digits_end = t
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(digits_end);
    let n: u64 = num
        .replace('_', "")
        .parse()
        .map_err(|_| GenError::Invalid(format!("size {text:?} is not a number with a unit")))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => return Err(GenError::Invalid(format!("unknown size unit {other:?}"))),
    };
    n.checked_mul(mult)
        .ok_or_else(|| GenError::Invalid(format!("size {text:?} overflows")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("123").unwrap(), 123);
        assert_eq!(parse_size("64k").unwrap(), 65536);
        assert_eq!(parse_size("100M").unwrap(), 100 << 20);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert!(parse_size("12parsecs").is_err());
        assert!(parse_size("").is_err());
    }
}
