//! Rule `cleartext-credential`: a credential crosses the network unencrypted. Fed one exchange
//! and its `Recognized` credentials; feeds findings to `analyze::aggregate`.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::{ExchangeCtx, ExchangeRule, RuleMeta};
use crate::model::{Finding, Location, Severity, Transport};
use crate::recognize::Origin;
use crate::secret::Sensitive;
use compact_str::format_compact;

use super::common::{bounded, is_public_browser_key};

pub static META: RuleMeta = RuleMeta {
    id: "cleartext-credential",
    severity: Severity::High,
    title: "A credential crosses the network unencrypted",
    cwe: Some(319),
    detects: "A recognised credential in a request sent over cleartext HTTP: an Authorization or Proxy-Authorization header, an API-key header, a session cookie, a password or token in the query, form or JSON body, URL userinfo, or a credential in the URL of the Referer header; and a session cookie or credential issued by a response sent over cleartext. A `WWW-Authenticate: Basic` challenge over cleartext is reported at medium severity with kind `basic-challenge`: it invites browsers to send a password in cleartext. Credentials a response echoes back are left to `credential-in-response`; a Google API key in a page or app config is a public browser key and is not counted as issued (presented in a cleartext request it is). Cookies of third-party ad and analytics hosts (the detector table's `[tracking] hosts`) are tracking ids, not sessions, and are not reported. One finding per host, location, name and key, with a count.",
    why: "Anyone on the path (shared Wi-Fi, a compromised router, an ISP, a corporate proxy) reads the credential and can replay it until it is revoked. Passive capture is enough: no attack on the client or server is needed.",
    example: "GET /api/orders HTTP/1.1\nHost: shop.example\nAuthorization: Bearer eyJhbGciOi...",
    remediation: "Serve the endpoint over HTTPS only, redirect HTTP to HTTPS before any credential is sent, enable HSTS, and rotate every credential that was seen in cleartext.",
    per_exchange: true,
};

pub struct CleartextCredential;

/// Severity of a cleartext Basic challenge: below a credential actually seen, as ZAP rates it.
const CHALLENGE_SEVERITY: Severity = Severity::Medium;

impl ExchangeRule for CleartextCredential {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &ExchangeCtx<'_>, out: &mut Vec<Finding>) {
        if cx.ex.transport != Transport::Cleartext {
            return;
        }
        for c in &cx.rec.request {
            let mut f = cx.credential_finding(&META, c);
            f.detail = format_compact!("{} sent over cleartext HTTP in {}", c.kind, c.location);
            out.push(f);
        }
        // The Referer header crosses the wire with the request: a credential in it is as readable.
        if let Some(referer) = cx.rec.referer.as_ref() {
            for c in &referer.credentials {
                let mut f = cx.credential_finding(&META, c);
                f.location = Some(Location::Referer);
                f.detail = format_compact!(
                    "{} from the {} of the Referer URL sent over cleartext HTTP",
                    c.kind,
                    c.location
                );
                out.push(f);
            }
        }
        for c in &cx.rec.response {
            // An echo repeats a request credential already reported above.
            if c.origin != Origin::Issued || !c.location.in_response() {
                continue;
            }
            if (c.location == Location::SetCookie && !c.session_like) || is_public_browser_key(c) {
                continue;
            }
            let mut f = cx.credential_finding(&META, c);
            f.detail = if c.location == Location::SetCookie {
                "session cookie issued over cleartext HTTP".into()
            } else {
                format_compact!("{} issued over cleartext HTTP in {}", c.kind, c.location)
            };
            out.push(f);
        }
        if let Some(resp) = cx.ex.response.as_ref() {
            for h in resp.headers.iter() {
                let name = if h.name.eq_ignore_ascii_case("www-authenticate") {
                    "www-authenticate"
                } else if h.name.eq_ignore_ascii_case("proxy-authenticate") {
                    "proxy-authenticate"
                } else {
                    continue;
                };
                if !offers_basic(&h.value) {
                    continue;
                }
                let mut f = cx.finding(&META);
                f.severity = CHALLENGE_SEVERITY;
                f.location = Some(Location::ResponseHeader);
                f.name = name.into();
                f.kind = "basic-challenge".into();
                f.evidence = Sensitive::plain(bounded(h.value.trim(), 120));
                f.detail = format_compact!(
                    "basic-challenge: {name} asks for Basic credentials over cleartext HTTP; a browser will send the password readable on the wire"
                );
                out.push(f);
            }
        }
    }
}

/// Whether a `WWW-Authenticate` value offers the Basic scheme. A value is a comma list of
/// challenges (`scheme [token68 | param=value, ...]`); an element is a scheme when its first
/// token is not followed by `=`. Commas inside quoted strings do not split.
fn offers_basic(value: &str) -> bool {
    let bytes = value.as_bytes();
    let mut start = 0;
    let mut in_quote = false;
    let mut escaped = false;
    for i in 0..=bytes.len() {
        let b = bytes.get(i).copied();
        if in_quote {
            match b {
                Some(b'\\') if !escaped => escaped = true,
                Some(b'"') if !escaped => in_quote = false,
                _ => escaped = false,
            }
            continue;
        }
        match b {
            Some(b'"') => in_quote = true,
            Some(b',') | None => {
                let elem = value.get(start..i).unwrap_or("").trim_start();
                let tok_end = elem.find([' ', '\t', '=']).unwrap_or(elem.len());
                let (tok, rest) = elem.split_at(tok_end);
                if tok.eq_ignore_ascii_case("basic") && !rest.trim_start().starts_with('=') {
                    return true;
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::rules::common::testkit::*;
    use crate::recognize::Origin;

    fn auth() -> crate::recognize::Credential {
        cred(
            Location::Header,
            "authorization",
            "bearer",
            "tok_0123456789abcdef",
        )
    }

    #[test]
    fn request_credentials_over_cleartext_fire_per_credential() {
        let e = ex(
            Transport::Cleartext,
            "http://shop.example/api?api_key=k_0123456789",
        )
        .req_cred(auth())
        .req_cred(cred(Location::Query, "api_key", "api-key", "k_0123456789"))
        .status(200);
        let f = e.run(&CleartextCredential);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].host, "shop.example");
        assert_eq!(f[0].location, Some(Location::Header));
        assert_eq!(f[0].name, "authorization");
        assert_eq!(f[0].kind, "bearer");
        assert_eq!(f[0].key_fp, "fp-tok_0123456789abcdef");
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].evidence.masked(), "tok_…(20)");
        assert_eq!(f[1].location, Some(Location::Query));
        assert!(f[1].detail.contains("cleartext"));
    }

    #[test]
    fn credential_in_referer_over_cleartext_fires_even_same_origin() {
        let mut e = ex(Transport::Cleartext, "http://shop.example/next");
        e.rec.referer = Some(crate::recognize::RefererInfo {
            origin: "http://shop.example".into(),
            credentials: vec![cred(
                Location::Query,
                "sid",
                "session-id",
                "abcdef0123456789",
            )],
        });
        let f = e.run(&CleartextCredential);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].location, Some(Location::Referer));
        assert_eq!(f[0].name, "sid");
        assert!(f[0].detail.contains("Referer"));
    }

    #[test]
    fn tls_is_silent() {
        let e = ex(Transport::Tls, "https://shop.example/api")
            .req_cred(auth())
            .resp_header("WWW-Authenticate", "Basic realm=\"x\"")
            .set_cookie("sid=abcdef0123456789", true);
        let mut e = e;
        e.rec.referer = Some(crate::recognize::RefererInfo {
            origin: "https://shop.example".into(),
            credentials: vec![cred(
                Location::Query,
                "sid",
                "session-id",
                "abcdef0123456789",
            )],
        });
        assert!(e.run(&CleartextCredential).is_empty());
    }

    #[test]
    fn session_cookie_and_issued_token_from_cleartext_response() {
        let e = ex(Transport::Cleartext, "http://shop.example/login")
            .set_cookie("sid=abcdef0123456789; Path=/", true)
            .resp_cred(resp(
                Location::ResponseBody,
                "access_token",
                "bearer",
                "at_abcdefghijklmnop",
                Origin::Issued,
            ));
        let f = e.run(&CleartextCredential);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].location, Some(Location::SetCookie));
        assert_eq!(f[0].name, "sid");
        assert!(f[0].detail.contains("session cookie"));
        assert_eq!(f[1].location, Some(Location::ResponseBody));
        assert_eq!(f[1].name, "access_token");
    }

    #[test]
    fn echoes_and_non_session_cookie_credentials_are_left_to_other_rules() {
        let mut pref = resp(
            Location::SetCookie,
            "theme",
            "cookie",
            "dark",
            Origin::Issued,
        );
        pref.session_like = false;
        let e = ex(Transport::Cleartext, "http://shop.example/")
            .resp_cred(pref)
            .resp_cred(resp(
                Location::ResponseBody,
                "token",
                "bearer",
                "tok_0123456789abcdef",
                Origin::Echoed,
            ));
        assert!(e.run(&CleartextCredential).is_empty());
    }

    #[test]
    fn basic_challenge_over_cleartext_is_a_lower_finding() {
        let e = ex(Transport::Cleartext, "http://router.example/")
            .status(401)
            .resp_header("WWW-Authenticate", "Basic realm=\"admin\"");
        let f = e.run(&CleartextCredential);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, "basic-challenge");
        assert_eq!(f[0].name, "www-authenticate");
        assert_eq!(f[0].location, Some(Location::ResponseHeader));
        assert!(f[0].severity < Severity::High);
        assert!(f[0].detail.contains("basic-challenge"));
    }

    #[test]
    fn other_challenges_are_silent() {
        let e = ex(Transport::Cleartext, "http://h.example/")
            .status(401)
            .resp_header("WWW-Authenticate", "Digest realm=\"Basic, area\", basic=1")
            .resp_header("WWW-Authenticate", "Bearer error=\"invalid_token\"")
            .resp_header("X-Auth", "Basic");
        assert!(e.run(&CleartextCredential).is_empty());
    }

    #[test]
    fn basic_scheme_detection() {
        assert!(offers_basic("Basic"));
        assert!(offers_basic("basic realm=x"));
        assert!(offers_basic("Negotiate, Basic realm=\"a\""));
        assert!(offers_basic(
            "Digest realm=\"a, b\", nonce=\"n\", Basic realm=\"c\""
        ));
        assert!(!offers_basic("Basically realm=x"));
        assert!(!offers_basic("Digest realm=\"x, Basic y\""));
        assert!(!offers_basic(""));
        assert!(!offers_basic("Bearer"));
    }

    proptest::proptest! {
        #[test]
        fn challenge_parsing_never_panics(v in "[ -~é\\t]{0,60}") {
            let _ = offers_basic(&v);
        }
    }
}
