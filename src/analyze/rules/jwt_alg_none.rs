//! Rule `jwt-alg-none`: an unsigned JWT that the server accepted. Fed the decoded JWTs of one
//! exchange (`Recognized::jwts`) and its response status; feeds findings to `analyze::aggregate`.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::{ExchangeCtx, ExchangeRule, RuleMeta};
use crate::model::{Finding, Severity};
use compact_str::format_compact;

use super::common::{accepted, display_alg, jwt_finding, jwt_presented};

pub static META: RuleMeta = RuleMeta {
    id: "jwt-alg-none",
    severity: Severity::High,
    title: "Unsigned JWT accepted",
    cwe: Some(347),
    detects: "A JWT with `alg: none` or an empty signature presented in the request that the server answered with 2xx. JWTs issued in a response are not judged here.",
    why: "A server that accepts unsigned tokens lets anyone forge any identity or role by editing the payload.",
    example: "Authorization: Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9. → 200 OK",
    remediation: "Verify signatures with an explicit allow-list of algorithms; reject `none`.",
    per_exchange: true,
};

pub struct JwtAlgNone;

impl ExchangeRule for JwtAlgNone {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &ExchangeCtx<'_>, out: &mut Vec<Finding>) {
        if cx.rec.jwts.is_empty() {
            return;
        }
        let Some(status) = accepted(cx) else {
            return;
        };
        for j in cx.rec.jwts.iter().filter(|j| j.unsigned) {
            if !jwt_presented(cx, j) {
                continue;
            }
            let mut f = jwt_finding(cx, &META, j);
            f.detail = format_compact!(
                "JWT with alg {} and no signature accepted with {status}",
                display_alg(j)
            );
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::rules::common::testkit::*;
    use crate::model::{Location, Transport};
    use crate::recognize::JwtInfo;

    fn unsigned() -> JwtInfo {
        JwtInfo {
            alg: Some("none".into()),
            unsigned: true,
            ..jwt("fp-eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.")
        }
    }

    fn bearer() -> crate::recognize::Credential {
        cred(
            Location::Header,
            "authorization",
            "bearer",
            "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.",
        )
    }

    #[test]
    fn unsigned_jwt_answered_2xx_fires() {
        let e = ex(Transport::Tls, "https://api.example/admin")
            .req_cred(bearer())
            .jwt(unsigned())
            .status(200);
        let f = e.run(&JwtAlgNone);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, "jwt");
        assert_eq!(f[0].location, Some(Location::Header));
        assert_eq!(f[0].name, "authorization");
        assert_eq!(f[0].key_fp, "fp-eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.");
        assert_eq!(f[0].evidence.masked(), "eyJh…(41)");
        assert_eq!(f[0].severity, Severity::High);
        assert!(f[0].detail.contains("alg none"));
        assert!(f[0].detail.contains("204") || f[0].detail.contains("200"));
    }

    #[test]
    fn jwt_without_location_counts_when_presented() {
        let e = ex(Transport::Tls, "https://api.example/")
            .req_cred(bearer())
            .jwt(JwtInfo {
                location: None,
                ..unsigned()
            })
            .status(204);
        assert_eq!(e.run(&JwtAlgNone).len(), 1);
    }

    #[test]
    fn look_alikes_are_silent() {
        // signed
        let e = ex(Transport::Tls, "https://api.example/")
            .jwt(jwt("fp-signed"))
            .status(200);
        assert!(e.run(&JwtAlgNone).is_empty());
        // rejected
        for s in [401, 403, 500, 302] {
            let e = ex(Transport::Tls, "https://api.example/")
                .jwt(unsigned())
                .status(s);
            assert!(e.run(&JwtAlgNone).is_empty(), "{s}");
        }
        // no response seen
        let e = ex(Transport::Tls, "https://api.example/").jwt(unsigned());
        assert!(e.run(&JwtAlgNone).is_empty());
        // issued by the server, not presented; or only in a Referer URL
        for l in [
            Location::ResponseBody,
            Location::SetCookie,
            Location::Referer,
        ] {
            let e = ex(Transport::Tls, "https://api.example/")
                .jwt(JwtInfo {
                    location: Some(l),
                    ..unsigned()
                })
                .status(200);
            assert!(e.run(&JwtAlgNone).is_empty(), "{l}");
        }
        // no location and no request credential with its fingerprint
        let e = ex(Transport::Tls, "https://api.example/")
            .jwt(JwtInfo {
                location: None,
                ..unsigned()
            })
            .status(200);
        assert!(e.run(&JwtAlgNone).is_empty());
    }
}
