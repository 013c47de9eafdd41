//! Rule `credential-in-referer`: a credential leaked to another origin via the Referer header.
//! Fed one exchange and the `RefererInfo` that `recognize` built from its Referer; feeds findings
//! to `analyze::aggregate`.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::{ExchangeCtx, ExchangeRule, RuleMeta};
use crate::model::{Finding, Location, Severity};
use compact_str::format_compact;

use super::common::{display_origin, is_origin_of};

pub static META: RuleMeta = RuleMeta {
    id: "credential-in-referer",
    severity: Severity::Medium,
    title: "Credential leaked to another origin via Referer",
    cwe: Some(598),
    detects: "A request whose Referer header carries a URL with a credential (session id, token, key) and that is sent to a different origin than the one in the Referer. `host` is the origin that received it, `name` the parameter, `detail` the origin it leaked from. A same-origin Referer is not reported (the credential stays with the site that put it in its URL), nor a request whose own host is unknown.",
    why: "Third-party sites (CDNs, analytics, ad servers, any linked page) receive the credential in their logs and can use it.",
    example: "GET /pixel.gif HTTP/1.1\nHost: tracker.example\nReferer: https://app.example/reset?token=9f8e7d...",
    remediation: "Keep credentials out of URLs; set `Referrer-Policy: strict-origin-when-cross-origin` or `no-referrer` on pages whose URLs may carry secrets.",
    per_exchange: true,
};

pub struct CredentialInReferer;

impl ExchangeRule for CredentialInReferer {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &ExchangeCtx<'_>, out: &mut Vec<Finding>) {
        let Some(referer) = cx.rec.referer.as_ref() else {
            return;
        };
        if referer.credentials.is_empty() {
            return;
        }
        let Some(req) = cx.ex.request.as_ref() else {
            return;
        };
        // Without a host the receiving origin is unknown: no claim that it differs.
        if req.url.host.is_empty() || is_origin_of(&referer.origin, &req.url) {
            return;
        }
        for c in &referer.credentials {
            let mut f = cx.credential_finding(&META, c);
            f.location = Some(Location::Referer);
            let what = if c.session_like {
                "session id"
            } else {
                c.kind.as_str()
            };
            f.detail = format_compact!(
                "{what} in the {} of a {} URL, sent as Referer to another origin",
                c.location,
                display_origin(&referer.origin)
            );
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::rules::common::testkit::*;
    use crate::model::Transport;
    use crate::recognize::RefererInfo;

    fn with_referer(target: &str, origin: &str) -> Ex {
        let mut e = ex(Transport::Tls, target);
        e.rec.referer = Some(RefererInfo {
            origin: origin.into(),
            credentials: vec![cred(
                Location::Query,
                "token",
                "api-key",
                "9f8e7d6c5b4a3210",
            )],
        });
        e
    }

    #[test]
    fn cross_origin_referer_with_token_fires() {
        let e = with_referer("https://tracker.example/pixel.gif", "https://app.example");
        let f = e.run(&CredentialInReferer);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].host, "tracker.example");
        assert_eq!(f[0].location, Some(Location::Referer));
        assert_eq!(f[0].name, "token");
        assert_eq!(f[0].key_fp, "fp-9f8e7d6c5b4a3210");
        assert_eq!(f[0].severity, Severity::Medium);
        assert!(f[0].detail.contains("https://app.example"));
        assert!(f[0].detail.contains("query"));
    }

    #[test]
    fn same_host_other_port_or_scheme_is_another_origin() {
        assert_eq!(
            with_referer("https://app.example:8443/x", "https://app.example")
                .run(&CredentialInReferer)
                .len(),
            1
        );
        assert_eq!(
            with_referer("http://app.example/x", "https://app.example")
                .run(&CredentialInReferer)
                .len(),
            1
        );
    }

    #[test]
    fn same_origin_referer_is_silent() {
        for target in ["https://app.example/next", "https://APP.example:443/next"] {
            let e = with_referer(target, "https://app.example");
            assert!(e.run(&CredentialInReferer).is_empty(), "{target}");
        }
    }

    #[test]
    fn referer_without_credentials_or_unknown_host_is_silent() {
        let mut e = ex(Transport::Tls, "https://tracker.example/p");
        e.rec.referer = Some(RefererInfo {
            origin: "https://app.example".into(),
            credentials: Vec::new(),
        });
        assert!(e.run(&CredentialInReferer).is_empty());
        let e = with_referer("/p", "https://app.example");
        assert!(e.run(&CredentialInReferer).is_empty());
    }
}
