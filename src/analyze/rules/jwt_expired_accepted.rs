//! Rule `jwt-expired-accepted`: an expired JWT that the server accepted. Fed the decoded JWTs of
//! one exchange (`Recognized::jwts`), the request time and the response status; feeds findings to
//! `analyze::aggregate`.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::{ExchangeCtx, ExchangeRule, RuleMeta};
use crate::model::{Finding, Severity};
use compact_str::format_compact;

use super::common::{accepted, human_secs, jwt_finding, jwt_presented};

pub static META: RuleMeta = RuleMeta {
    id: "jwt-expired-accepted",
    severity: Severity::Medium,
    title: "Expired JWT accepted",
    cwe: Some(613),
    detects: "A JWT whose `exp` is before the request's time by more than a minute of clock skew, answered with 2xx. Not reported when the capture has no time.",
    why: "If expiry is not enforced, a stolen token works forever.",
    example: "Bearer token with exp=2021-01-01 sent in 2024 → 200 OK",
    remediation: "Enforce `exp` (with small clock skew) on every request; keep token lifetimes short.",
    per_exchange: true,
};

pub struct JwtExpiredAccepted;

/// Clock skew forgiven, in seconds: RFC 7519 lets verifiers allow "a few minutes", common libraries
/// default to about a minute, and capture clocks are not the server's.
pub const LEEWAY_SECS: i64 = 60;

impl ExchangeRule for JwtExpiredAccepted {
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
        let Some(now) = cx.ex.ts().map(|ns| ns.div_euclid(1_000_000_000)) else {
            return;
        };
        for j in &cx.rec.jwts {
            let Some(exp) = j.exp else {
                continue;
            };
            let late = now.saturating_sub(exp);
            if late <= LEEWAY_SECS || !jwt_presented(cx, j) {
                continue;
            }
            let mut f = jwt_finding(cx, &META, j);
            let when = time::OffsetDateTime::from_unix_timestamp(exp)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_else(|| exp.to_string());
            f.detail = format_compact!(
                "JWT expired {} before the request (exp {when}) and was accepted with {status}",
                human_secs(late)
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

    /// T0 in seconds.
    const NOW: i64 = T0 / 1_000_000_000;

    fn expired(by: i64) -> JwtInfo {
        JwtInfo {
            exp: Some(NOW - by),
            ..jwt("fp-eyJhbGciOiJIUzI1NiJ9.e30.c2ln")
        }
    }

    #[test]
    fn expired_jwt_answered_2xx_fires() {
        let e = ex(Transport::Tls, "https://api.example/me")
            .req_cred(cred(
                Location::Header,
                "authorization",
                "jwt",
                "eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
            ))
            .jwt(expired(3 * 86_400))
            .status(200);
        let f = e.run(&JwtExpiredAccepted);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, "jwt");
        assert_eq!(f[0].key_fp, "fp-eyJhbGciOiJIUzI1NiJ9.e30.c2ln");
        assert_eq!(f[0].evidence.masked(), "eyJh…(29)");
        assert_eq!(f[0].location, Some(Location::Header));
        assert_eq!(f[0].severity, Severity::Medium);
        assert!(f[0].detail.contains("3 days"), "{}", f[0].detail);
        assert!(
            f[0].detail.contains("2023-12-29T00:00:00Z"),
            "{}",
            f[0].detail
        );
        assert!(f[0].detail.contains("200"));
    }

    #[test]
    fn look_alikes_are_silent() {
        let run = |j: JwtInfo, status: u16| {
            ex(Transport::Tls, "https://api.example/")
                .jwt(j)
                .status(status)
                .run(&JwtExpiredAccepted)
        };
        // not expired, within the leeway, no exp
        assert!(
            run(
                JwtInfo {
                    exp: Some(NOW + 600),
                    ..jwt("a")
                },
                200
            )
            .is_empty()
        );
        assert!(run(expired(LEEWAY_SECS), 200).is_empty());
        assert!(run(jwt("b"), 200).is_empty());
        // rejected
        assert!(run(expired(86_400), 401).is_empty());
        // issued in the response
        assert!(
            run(
                JwtInfo {
                    location: Some(Location::ResponseBody),
                    ..expired(86_400)
                },
                200
            )
            .is_empty()
        );
        // no request time
        let e = ex(Transport::Tls, "https://api.example/")
            .jwt(expired(86_400))
            .status(200)
            .no_ts();
        assert!(e.run(&JwtExpiredAccepted).is_empty());
        // absurd exp does not overflow
        assert_eq!(
            run(
                JwtInfo {
                    exp: Some(i64::MIN),
                    ..jwt("c")
                },
                200
            )
            .len(),
            1
        );
    }
}
