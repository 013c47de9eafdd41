//! Rule `credential-in-response`: a credential exposed in a response body or header. Fed one
//! exchange and its `Recognized` response credentials; feeds findings to `analyze::aggregate`.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::{ExchangeCtx, ExchangeRule, RuleMeta};
use crate::model::{Finding, Location, Severity, Transport};
use crate::recognize::Origin;

use super::common::{is_public_browser_key, is_token_endpoint};

pub static META: RuleMeta = RuleMeta {
    id: "credential-in-response",
    severity: Severity::High,
    title: "Credential exposed in a response",
    cwe: Some(200),
    detects: "A credential in a response body or header: a request credential echoed back (matched by fingerprint), a key or token issued in a JSON field (`api_key`, `access_token`...), a known token format in HTML, JavaScript or JSON, or a credential in Location or another header. Tokens legitimately issued in Set-Cookie and OAuth token-endpoint responses over TLS (a path ending in `/token`, `/access_token`, `/token.oauth2`, or a request with `grant_type`) are expected and not reported, echoes included (a refresh grant may return the same refresh token); over cleartext they are. Google API keys (`AIza…`) issued in a response body are browser keys, public by design (Maps, Firebase and embed configs print them into every page; they are restricted by referrer or app, not kept secret) and are not reported; an echoed one is.",
    why: "Responses are cached by proxies and browsers, logged, and read by scripts on the page; a secret in a response reaches far more places than the server intended, and an echoed secret can be lifted by cross-site script inclusion or a cache.",
    example: "HTTP/1.1 200 OK\nContent-Type: application/json\n\n{\"user\":\"bob\",\"api_key\":\"sk_live_…\"}",
    remediation: "Return credentials only from dedicated token endpoints over TLS with `Cache-Control: no-store`; never echo request credentials; never embed server-side keys in pages or scripts.",
    per_exchange: true,
};

pub struct CredentialInResponse;

impl ExchangeRule for CredentialInResponse {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &ExchangeCtx<'_>, out: &mut Vec<Finding>) {
        let mut reportable = cx.rec.response.iter().filter(|c| {
            matches!(
                c.location,
                Location::ResponseBody | Location::ResponseHeader
            ) && matches!(c.origin, Origin::Issued | Origin::Echoed)
                && !is_public_browser_key(c)
        });
        let Some(first) = reportable.next() else {
            return;
        };
        // Handing out tokens is the token endpoint's job; over TLS that is expected.
        let cleartext = cx.ex.transport == Transport::Cleartext;
        if !cleartext && is_token_endpoint(cx) {
            return;
        }
        for c in std::iter::once(first).chain(reportable) {
            let mut f = cx.credential_finding(&META, c);
            let place = match c.location {
                Location::ResponseHeader => "header",
                _ => "body",
            };
            let mut detail = match c.origin {
                Origin::Echoed => format!("request credential echoed back in the response {place}"),
                _ => format!("{} in the response {place}", c.kind),
            };
            if cleartext {
                detail.push_str(", over cleartext HTTP");
            }
            f.detail = detail.into();
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::rules::common::testkit::*;

    fn issued_key() -> crate::recognize::Credential {
        resp(
            Location::ResponseBody,
            "api_key",
            "stripe-secret-key",
            "sk_live_0123456789abcdef",
            Origin::Issued,
        )
    }

    #[test]
    fn key_in_json_body_fires() {
        let e = ex(Transport::Tls, "https://app.example/api/me").resp_cred(issued_key());
        let f = e.run(&CredentialInResponse);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].location, Some(Location::ResponseBody));
        assert_eq!(f[0].name, "api_key");
        assert_eq!(f[0].kind, "stripe-secret-key");
        assert_eq!(f[0].key_fp, "fp-sk_live_0123456789abcdef");
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].evidence.masked(), "sk_l…(24)");
    }

    #[test]
    fn echoed_credential_in_header_fires() {
        let e = ex(Transport::Tls, "https://app.example/debug")
            .req_cred(cred(
                Location::Header,
                "x-api-key",
                "api-key",
                "k_0123456789ab",
            ))
            .resp_cred(resp(
                Location::ResponseHeader,
                "x-echo-key",
                "api-key",
                "k_0123456789ab",
                Origin::Echoed,
            ));
        let f = e.run(&CredentialInResponse);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].location, Some(Location::ResponseHeader));
        assert!(f[0].detail.contains("echoed"));
    }

    #[test]
    fn set_cookie_and_presented_are_silent() {
        let e = ex(Transport::Tls, "https://app.example/login")
            .set_cookie("sid=abcdef0123456789; Secure", true)
            .resp_cred(resp(
                Location::ResponseBody,
                "x",
                "api-key",
                "k_0123456789ab",
                Origin::Presented,
            ));
        assert!(e.run(&CredentialInResponse).is_empty());
    }

    #[test]
    fn token_endpoint_over_tls_is_silent() {
        let e = ex(Transport::Tls, "https://id.example/oauth2/token").resp_cred(resp(
            Location::ResponseBody,
            "access_token",
            "bearer",
            "at_abcdefghijklmnop",
            Origin::Issued,
        ));
        assert!(e.run(&CredentialInResponse).is_empty());
        let e = ex(Transport::Tls, "https://id.example/auth")
            .req_body("grant_type=refresh_token&refresh_token=rt_x")
            .resp_cred(resp(
                Location::ResponseBody,
                "refresh_token",
                "bearer",
                "rt_abcdefghijklmnop",
                Origin::Echoed,
            ));
        assert!(e.run(&CredentialInResponse).is_empty());
    }

    #[test]
    fn token_endpoint_over_cleartext_fires() {
        let e = ex(Transport::Cleartext, "http://id.example/oauth/token").resp_cred(resp(
            Location::ResponseBody,
            "access_token",
            "bearer",
            "at_abcdefghijklmnop",
            Origin::Issued,
        ));
        let f = e.run(&CredentialInResponse);
        assert_eq!(f.len(), 1);
        assert!(f[0].detail.contains("cleartext"));
    }
}
