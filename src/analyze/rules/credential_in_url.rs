//! Rule `credential-in-url`: a credential in the request URL. Fed one exchange and its
//! `Recognized` request credentials; feeds findings to `analyze::aggregate`.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::{ExchangeCtx, ExchangeRule, RuleMeta};
use crate::model::{Finding, Location, Severity, Transport};
use compact_str::format_compact;

pub static META: RuleMeta = RuleMeta {
    id: "credential-in-url",
    severity: Severity::High,
    title: "Credential in a URL",
    cwe: Some(598),
    detects: "A credential in the request URL: a query parameter (`api_key`, `access_token`, `sig`...), a path segment holding a known token format, a `;jsessionid=` path parameter, the fragment, or `user:password@` userinfo. Session ids in URLs (`jsessionid`, `PHPSESSID`, `sid`) count. High over cleartext, medium over TLS.",
    why: "URLs are written to browser history, server and proxy access logs, analytics, crash reports and the Referer header of the next request; TLS protects them in transit but not at rest in all those places.",
    example: "GET /v1/report?api_key=AIzaSyD...&format=csv HTTP/1.1",
    remediation: "Send credentials in an Authorization header or a cookie, never in the URL. Rotate credentials that have appeared in URLs and purge the logs that hold them.",
    per_exchange: true,
};

pub struct CredentialInUrl;

impl ExchangeRule for CredentialInUrl {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &ExchangeCtx<'_>, out: &mut Vec<Finding>) {
        let cleartext = cx.ex.transport == Transport::Cleartext;
        for c in cx.rec.request.iter().filter(|c| c.location.in_url()) {
            let mut f = cx.credential_finding(&META, c);
            // TLS hides the URL on the wire but not in logs, history and Referers.
            f.severity = if cleartext {
                Severity::High
            } else {
                Severity::Medium
            };
            let place = match c.location {
                Location::Query => "query string",
                Location::Path => "URL path",
                Location::Fragment => "URL fragment",
                Location::Userinfo => "URL userinfo",
                _ => "URL",
            };
            let what = if c.session_like {
                "session id"
            } else {
                c.kind.as_str()
            };
            f.detail = format_compact!(
                "{what} in the {place} ({})",
                if cleartext { "cleartext HTTP" } else { "TLS" }
            );
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::rules::common::testkit::*;

    #[test]
    fn query_key_over_cleartext_is_high() {
        let e = ex(
            Transport::Cleartext,
            "http://api.example/v1?api_key=AIzaSyD0123456789",
        )
        .req_cred(cred(
            Location::Query,
            "api_key",
            "api-key",
            "AIzaSyD0123456789",
        ));
        let f = e.run(&CredentialInUrl);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].location, Some(Location::Query));
        assert_eq!(f[0].name, "api_key");
        assert_eq!(f[0].key_fp, "fp-AIzaSyD0123456789");
        assert_eq!(f[0].host, "api.example");
        assert!(f[0].detail.contains("query string"));
    }

    #[test]
    fn session_id_path_param_userinfo_and_fragment_over_tls_are_medium() {
        let mut sid = cred(
            Location::Path,
            "jsessionid",
            "session-id",
            "0123456789ABCDEF",
        );
        sid.session_like = true;
        let e = ex(
            Transport::Tls,
            "https://u:p@app.example/a;jsessionid=0123456789ABCDEF#t=x",
        )
        .req_cred(sid)
        .req_cred(cred(Location::Userinfo, "u", "basic", "u:p4ssw0rd"))
        .req_cred(cred(
            Location::Fragment,
            "access_token",
            "bearer",
            "tok_abcdefghijkl",
        ));
        let f = e.run(&CredentialInUrl);
        assert_eq!(f.len(), 3);
        assert!(f.iter().all(|f| f.severity == Severity::Medium));
        assert!(f[0].detail.starts_with("session id in the URL path"));
        assert_eq!(f[1].location, Some(Location::Userinfo));
        assert_eq!(f[2].location, Some(Location::Fragment));
    }

    #[test]
    fn credentials_outside_the_url_are_silent() {
        let e = ex(Transport::Cleartext, "http://api.example/v1?page=2")
            .req_cred(cred(
                Location::Header,
                "authorization",
                "bearer",
                "tok_abcdefghijkl",
            ))
            .req_cred(cred(
                Location::Cookie,
                "sid",
                "session-cookie",
                "abcdef0123456789",
            ))
            .req_cred(cred(
                Location::Body,
                "password",
                "password",
                "hunter2hunter2",
            ));
        assert!(e.run(&CredentialInUrl).is_empty());
    }
}
