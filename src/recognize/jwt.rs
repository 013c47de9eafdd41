//! JSON Web Token decoding for `recognize`: base64url header and payload parsed as JSON, the
//! signature not verified. Fed candidate tokens by the format scanner (which uses a successful
//! decode as its validation), feeds `JwtInfo` and the identity evidence (subjects, roles).

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

use super::JwtInfo;

/// Tokens longer than this are skipped: no legitimate JWT is this large, and decoding one costs.
pub const MAX_JWT_LEN: usize = 16 * 1024;
/// Roles kept per token.
const MAX_ROLES: usize = 256;
/// Characters kept of a role or identity claim.
const MAX_CLAIM_CHARS: usize = 256;

/// base64url, padding optional, lenient about trailing bits (some issuers emit them).
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes `token` (`header.payload.signature`). `None` when it is not a JWT: wrong shape, not
/// base64url, header or payload not a JSON object, too large or too deeply nested.
pub fn decode(token: &str) -> Option<JwtInfo> {
    if token.len() > MAX_JWT_LEN {
        return None;
    }
    let mut parts = token.split('.');
    let h = parts.next()?;
    let p = parts.next()?;
    let sig = parts.next()?;
    if parts.next().is_some() || h.is_empty() || p.is_empty() {
        return None;
    }
    let header = decode_object(h)?;
    let payload = decode_object(p)?;
    let alg = header.get("alg").and_then(Value::as_str).map(clip);
    let unsigned = sig.is_empty()
        || alg
            .as_deref()
            .is_none_or(|a| a.is_empty() || a.eq_ignore_ascii_case("none"));
    let mut info = JwtInfo {
        alg,
        unsigned,
        exp: payload.get("exp").and_then(num_claim),
        iat: payload.get("iat").and_then(num_claim),
        nbf: payload.get("nbf").and_then(num_claim),
        sub: str_claim(&payload, "sub"),
        iss: str_claim(&payload, "iss"),
        client_id: str_claim(&payload, "client_id")
            .or_else(|| str_claim(&payload, "azp"))
            .or_else(|| str_claim(&payload, "cid")),
        email: str_claim(&payload, "email"),
        preferred_username: str_claim(&payload, "preferred_username")
            .or_else(|| str_claim(&payload, "username"))
            .or_else(|| str_claim(&payload, "cognito:username")),
        ..JwtInfo::default()
    };
    info.roles = roles_of(&payload);
    Some(info)
}

/// Decodes one part to a JSON object. serde_json refuses nesting deeper than 128 levels, which
/// is our bound on hostile claims.
fn decode_object(part: &str) -> Option<serde_json::Map<String, Value>> {
    let bytes = B64URL.decode(part.trim_end_matches('=')).ok()?;
    match serde_json::from_slice::<Value>(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn num_claim(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A string claim (numbers too: `sub` is sometimes numeric), clipped.
fn str_claim(m: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    match m.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(clip(s.trim())),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn clip(s: &str) -> String {
    s.chars().take(MAX_CLAIM_CHARS).collect()
}

/// Roles, scopes, groups and permissions from every claim that conventionally carries them:
/// `role`, `roles`, `scope`/`scp` (space-separated or arrays), `groups`, `permissions`,
/// `realm_access.roles`, `resource_access.<client>.roles` (as `<client>:<role>`), and
/// namespaced claims ending in `/roles`, `/groups`, `/permissions` or `:groups`.
pub fn roles_of(payload: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in payload {
        let kl = k.to_ascii_lowercase();
        let direct = matches!(
            kl.as_str(),
            "role"
                | "roles"
                | "scope"
                | "scp"
                | "scopes"
                | "groups"
                | "permissions"
                | "authorities"
        ) || kl.ends_with("/roles")
            || kl.ends_with("/groups")
            || kl.ends_with("/permissions")
            || kl.ends_with(":groups")
            || kl.ends_with(":roles");
        if direct {
            push_roles(v, "", &mut out);
        } else if kl == "realm_access" {
            if let Some(r) = v.get("roles") {
                push_roles(r, "", &mut out);
            }
        } else if kl == "resource_access"
            && let Value::Object(clients) = v
        {
            for (client, cv) in clients {
                if let Some(r) = cv.get("roles") {
                    push_roles(r, client, &mut out);
                }
            }
        }
        if out.len() >= MAX_ROLES {
            break;
        }
    }
    out.truncate(MAX_ROLES);
    out.sort();
    out.dedup();
    out
}

fn push_roles(v: &Value, prefix: &str, out: &mut Vec<String>) {
    let mut push = |s: &str| {
        let s = s.trim();
        if !s.is_empty() && out.len() < MAX_ROLES {
            if prefix.is_empty() {
                out.push(clip(s));
            } else {
                out.push(clip(&format!("{prefix}:{s}")));
            }
        }
    };
    match v {
        Value::String(s) => s.split_whitespace().for_each(&mut push),
        Value::Array(a) => {
            for item in a {
                if let Value::String(s) = item {
                    push(s);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HS: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImVtYWlsIjoiYWxpY2VAZXhhbXBsZS5jb20iLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTkwMDAwMDAwMCwic2NvcGUiOiJyZWFkOnVzZXJzIHdyaXRlOnVzZXJzIiwicmVhbG1fYWNjZXNzIjp7InJvbGVzIjpbImFkbWluIl19fQ.Zm9vYmFyYmF6cXV4c2lnbmF0dXJlMTIzNDU2Nzg5MA";
    const NONE: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJtYWxsb3J5Iiwicm9sZSI6ImFkbWluIiwiZXhwIjoxNTAwMDAwMDAwfQ.";
    const RS: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJzdmMtNDIiLCJhenAiOiJiaWxsaW5nIiwicm9sZXMiOlsicmVhZGVyIl0sImlzcyI6Imh0dHBzOi8vaWRwLmV4YW1wbGUifQ.c2lnbmF0dXJlLXBhcnQtMDEyMzQ1Njc4OWFiY2RlZg";

    fn b64(s: &str) -> String {
        B64URL.encode(s)
    }

    #[test]
    fn decodes_claims_and_roles() {
        let j = decode(HS).unwrap();
        assert_eq!(j.alg.as_deref(), Some("HS256"));
        assert!(!j.unsigned);
        assert_eq!(j.sub.as_deref(), Some("alice"));
        assert_eq!(j.email.as_deref(), Some("alice@example.com"));
        assert_eq!(j.iat, Some(1_700_000_000));
        assert_eq!(j.exp, Some(1_900_000_000));
        assert_eq!(j.roles, vec!["admin", "read:users", "write:users"]);
        let r = decode(RS).unwrap();
        assert_eq!(r.client_id.as_deref(), Some("billing"));
        assert_eq!(r.iss.as_deref(), Some("https://idp.example"));
        assert_eq!(r.roles, vec!["reader"]);
    }

    #[test]
    fn alg_none_and_empty_signature_are_unsigned() {
        let n = decode(NONE).unwrap();
        assert!(n.unsigned);
        assert_eq!(n.alg.as_deref(), Some("none"));
        assert_eq!(n.exp, Some(1_500_000_000));
        let no_sig = format!("{}.{}.", b64(r#"{"alg":"HS256"}"#), b64(r#"{"sub":"x"}"#));
        assert!(decode(&no_sig).unwrap().unsigned);
        let no_alg = format!("{}.{}.sig", b64(r#"{"typ":"JWT"}"#), b64(r#"{"sub":"x"}"#));
        assert!(decode(&no_alg).unwrap().unsigned);
    }

    #[test]
    fn keycloak_and_namespaced_roles() {
        let payload = r#"{"sub":"u1","resource_access":{"account":{"roles":["manage-account"]}},"https://example.com/roles":["ops"],"scp":["files.read"],"permissions":["read:all"],"cognito:groups":["g1"]}"#;
        let t = format!("{}.{}.s", b64(r#"{"alg":"RS256"}"#), b64(payload));
        let j = decode(&t).unwrap();
        assert_eq!(
            j.roles,
            vec![
                "account:manage-account",
                "files.read",
                "g1",
                "ops",
                "read:all"
            ]
        );
    }

    #[test]
    fn rejects_non_jwts_and_hostile_sizes() {
        assert!(decode("eyJhbGciOiJIUzI1NiJ9.eyJub3QganNvbg.c2ln").is_none());
        assert!(decode("a.b").is_none());
        assert!(decode("a.b.c.d").is_none());
        assert!(decode(&format!("{}.{}.s", b64("[1]"), b64("{}"))).is_none());
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        assert!(decode(&format!("{}.{}.s", b64(r#"{"alg":"HS256"}"#), b64(&deep))).is_none());
        let huge = format!(
            "{}.{}.s",
            b64(r#"{"alg":"HS256"}"#),
            b64(&format!("{{\"x\":\"{}\"}}", "a".repeat(20_000)))
        );
        assert!(decode(&huge).is_none());
    }

    #[test]
    fn numeric_and_string_claims() {
        let t = format!(
            "{}.{}.s",
            b64(r#"{"alg":"HS256"}"#),
            b64(r#"{"sub":12345,"exp":"1900000000","iat":1.7e9}"#)
        );
        let j = decode(&t).unwrap();
        assert_eq!(j.sub.as_deref(), Some("12345"));
        assert_eq!(j.exp, Some(1_900_000_000));
        assert_eq!(j.iat, Some(1_700_000_000));
    }
}
