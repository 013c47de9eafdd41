//! Authorization header parsing for `recognizer`: splits the scheme, decodes Basic
//! (`user:password`), reads Digest and AWS SigV4 parameters, and decodes NTLM type-3 messages
//! for the user and domain. Pure functions over the header value; no detector knowledge here.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

/// Standard base64, padding optional, lenient about trailing bits.
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Largest header value decoded (an NTLM type-3 message is a few hundred bytes).
const MAX_DECODE: usize = 16 * 1024;

/// `Scheme rest` → (`scheme` lowercase, `rest` trimmed). A value without whitespace that does
/// not look like a bare scheme name is a bare token: scheme `""`.
pub fn split_scheme(value: &str) -> (String, &str) {
    let v = value.trim();
    match v.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => {
            let scheme = &v[..i];
            if scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                (scheme.to_ascii_lowercase(), v[i..].trim())
            } else {
                (String::new(), v)
            }
        }
        None => {
            // `Basic` alone (no credentials) is a scheme with an empty rest.
            let lower = v.to_ascii_lowercase();
            if matches!(
                lower.as_str(),
                "basic" | "bearer" | "digest" | "ntlm" | "negotiate" | "token"
            ) {
                (lower, "")
            } else {
                (String::new(), v)
            }
        }
    }
}

/// Decodes Basic credentials to `(user, password)`. `None` when not base64 or not text; a
/// value without `:` is all user (some APIs put a token there).
pub fn decode_basic(rest: &str) -> Option<(String, String)> {
    let rest = rest.trim();
    if rest.is_empty() || rest.len() > MAX_DECODE {
        return None;
    }
    let bytes = B64.decode(rest).or_else(|_| B64URL.decode(rest)).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    if text.chars().any(|c| c.is_control()) {
        return None;
    }
    Some(match text.split_once(':') {
        Some((u, p)) => (u.to_string(), p.to_string()),
        None => (text, String::new()),
    })
}

/// `k=v, k="v"` auth parameters (Digest, AWS4, OAuth 1.0). Keys lowercase, quotes removed.
pub fn auth_params(rest: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() && out.len() < 64 {
        while i < b.len() && (b[i] == b',' || b[i].is_ascii_whitespace()) {
            i += 1;
        }
        let ks = i;
        while i < b.len() && b[i] != b'=' && b[i] != b',' {
            i += 1;
        }
        let key = rest.get(ks..i).unwrap_or("").trim().to_ascii_lowercase();
        if i >= b.len() || b[i] != b'=' {
            if !key.is_empty() {
                out.push((key, String::new()));
            }
            continue;
        }
        i += 1;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = if i < b.len() && b[i] == b'"' {
            i += 1;
            let mut v = String::new();
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                // Multi-byte UTF-8: copy the whole character.
                let ch_len = utf8_len(b[i]);
                if let Some(s) = rest.get(i..i + ch_len) {
                    v.push_str(s);
                }
                i += ch_len;
            }
            i += 1;
            v
        } else {
            let vs = i;
            while i < b.len() && b[i] != b',' {
                i += 1;
            }
            rest.get(vs..i).unwrap_or("").trim().to_string()
        };
        if !key.is_empty() {
            out.push((key, value));
        }
    }
    out
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

pub fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// What an NTLM message in an Authorization header carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ntlm {
    /// Type 1 (negotiate) or 2 (challenge): no credential.
    Handshake,
    /// Type 3 (authenticate), with the user and domain when they decode.
    Authenticate { user: String, domain: String },
}

/// Decodes base64 `rest` as an NTLMSSP message. `None` when it is not NTLMSSP.
pub fn decode_ntlm(rest: &str) -> Option<Ntlm> {
    if rest.len() > MAX_DECODE {
        return None;
    }
    let b = B64.decode(rest.trim()).ok()?;
    if b.get(..8)? != b"NTLMSSP\0" {
        return None;
    }
    let msg_type = u32::from_le_bytes(b.get(8..12)?.try_into().ok()?);
    if msg_type != 3 {
        return Some(Ntlm::Handshake);
    }
    let flags = b
        .get(60..64)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
        .unwrap_or(0);
    let unicode = flags & 1 != 0;
    let field = |off: usize| -> String {
        let len = b
            .get(off..off + 2)
            .and_then(|s| s.try_into().ok())
            .map(u16::from_le_bytes)
            .unwrap_or(0) as usize;
        let at = b
            .get(off + 4..off + 8)
            .and_then(|s| s.try_into().ok())
            .map(u32::from_le_bytes)
            .unwrap_or(0) as usize;
        let Some(raw) = b.get(at..at.saturating_add(len)) else {
            return String::new();
        };
        let s = if unicode {
            let units: Vec<u16> = raw
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        } else {
            String::from_utf8_lossy(raw).into_owned()
        };
        s.chars().filter(|c| !c.is_control()).take(256).collect()
    };
    Some(Ntlm::Authenticate {
        domain: field(28),
        user: field(36),
    })
}

/// True when base64 `rest` starts with the NTLMSSP signature (NTLM inside Negotiate).
pub fn is_ntlmssp(rest: &str) -> bool {
    rest.trim_start().starts_with("TlRMTVNTUA")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(
            split_scheme("Basic YWxpY2U6eA=="),
            ("basic".into(), "YWxpY2U6eA==")
        );
        assert_eq!(split_scheme("  BEARER   abc "), ("bearer".into(), "abc"));
        assert_eq!(split_scheme("abcdef123"), ("".into(), "abcdef123"));
        assert_eq!(split_scheme("Basic"), ("basic".into(), ""));
        assert_eq!(split_scheme("a/b c"), ("".into(), "a/b c"));
    }

    #[test]
    fn basic_decoding() {
        assert_eq!(
            decode_basic("YWxpY2U6czNjcmV0UGFzcw=="),
            Some(("alice".into(), "s3cretPass".into()))
        );
        assert_eq!(
            decode_basic("YWxpY2U6czNjcmV0UGFzcw"),
            Some(("alice".into(), "s3cretPass".into()))
        );
        assert_eq!(decode_basic("YTpiOmM="), Some(("a".into(), "b:c".into())));
        assert_eq!(decode_basic("!!!"), None);
        assert_eq!(decode_basic(""), None);
    }

    #[test]
    fn digest_and_aws_params() {
        let p = auth_params(r#"username="al\"ice", realm="r", nc=00000001, response="6629fae4""#);
        assert_eq!(param(&p, "username"), Some("al\"ice"));
        assert_eq!(param(&p, "nc"), Some("00000001"));
        assert_eq!(param(&p, "response"), Some("6629fae4"));
        let a = auth_params(
            "Credential=AKIAX/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab",
        );
        assert_eq!(
            param(&a, "credential"),
            Some("AKIAX/20240101/us-east-1/s3/aws4_request")
        );
        // Hostile input ends without panicking.
        let _ = auth_params("=,=\"\\");
        let _ = auth_params("a=\"é");
    }

    #[test]
    fn ntlm_type3_user_and_domain() {
        let t3 = "TlRMTVNTUAADAAAAGAAYAEAAAAAYABgAWAAAAAgACABwAAAACgAKAHgAAAAGAAYAggAAAAAAAACIAAAAAQIAABERERERERERERERERERERERERERERERESIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIkMATwBSAFAAYQBsAGkAYwBlAFcAUwAxAA==";
        assert_eq!(
            decode_ntlm(t3),
            Some(Ntlm::Authenticate {
                user: "alice".into(),
                domain: "CORP".into()
            })
        );
        assert_eq!(
            decode_ntlm("TlRMTVNTUAABAAAAB7IAAAAAAAAAAAAAAAAAAAAAAAA="),
            Some(Ntlm::Handshake)
        );
        assert_eq!(decode_ntlm("YWJj"), None);
        // Truncated type 3: offsets point past the end.
        assert_eq!(
            decode_ntlm("TlRMTVNTUAADAAAAGAAYAEAAAAAYABgAWAAAAAgACABwAAAA"),
            Some(Ntlm::Authenticate {
                user: String::new(),
                domain: String::new()
            })
        );
        assert!(is_ntlmssp(t3));
    }
}
