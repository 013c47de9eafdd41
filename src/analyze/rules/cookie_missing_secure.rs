//! Rule `cookie-missing-secure`: a cookie set without Secure. Fed the parsed Set-Cookie lines of
//! one response (`Recognized::set_cookies`); feeds findings to `analyze::aggregate`.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::{ExchangeCtx, ExchangeRule, RuleMeta};
use crate::model::{Finding, Severity};

use super::common::{cookie_finding, cookie_noun, live_cookies, session_cookie};

pub static META: RuleMeta = RuleMeta {
    id: "cookie-missing-secure",
    severity: Severity::Medium,
    title: "Cookie set without Secure",
    cwe: Some(614),
    detects: "A Set-Cookie without the Secure attribute. Medium for session-like cookies; info for others (preference, consent, load-balancer and tracking cookies: real traffic sets dozens of them, and what they expose over cleartext is not a credential). Deletion cookies are skipped. For a HAR cookie object that does not record the flag, nothing is reported.",
    why: "Without Secure the browser sends the cookie over plain HTTP too, so a single cleartext request (a typed URL, a mixed-content image) exposes it to the network.",
    example: "Set-Cookie: SESSIONID=8f14e45fceea167a; Path=/; HttpOnly",
    remediation: "Add `Secure` to every cookie, prefer the `__Host-` prefix for session cookies, and serve the site over HTTPS only with HSTS.",
    per_exchange: true,
};

pub struct CookieMissingSecure;

impl ExchangeRule for CookieMissingSecure {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &ExchangeCtx<'_>, out: &mut Vec<Finding>) {
        // `None`: a HAR cookie object that did not record the flag; never guess.
        for c in live_cookies(cx).filter(|c| c.secure == Some(false)) {
            let session = session_cookie(cx, c).is_some();
            let mut f = cookie_finding(
                cx,
                &META,
                c,
                session,
                format!("{} set without Secure", cookie_noun(session)),
            );
            f.severity = if session {
                Severity::Medium
            } else {
                Severity::Info
            };
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::rules::common::testkit::*;
    use crate::model::{HarCookie, Location, Transport};
    use crate::recognize::SetCookie;

    #[test]
    fn session_cookie_without_secure_is_medium_other_info() {
        let e = ex(Transport::Tls, "https://app.example/login")
            .set_cookie("SESSIONID=8f14e45fceea167a; Path=/; HttpOnly", true)
            .set_cookie("theme=dark; Path=/", false);
        let f = e.run(&CookieMissingSecure);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].name, "SESSIONID");
        assert_eq!(f[0].kind, "session-cookie");
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(f[0].location, Some(Location::SetCookie));
        assert_eq!(f[0].key_fp, "");
        assert_eq!(f[0].evidence.masked(), "8f14…(16)");
        assert_eq!(f[0].host, "app.example");
        assert_eq!(f[1].name, "theme");
        assert_eq!(f[1].kind, "cookie");
        assert_eq!(f[1].severity, Severity::Info);
    }

    #[test]
    fn secure_deletion_and_unrecorded_flag_are_silent() {
        let har = SetCookie::from_har(&HarCookie {
            name: "sid".into(),
            value: "abcdef0123456789".into(),
            http_only: Some(true),
            ..HarCookie::default()
        });
        let e = ex(Transport::Tls, "https://app.example/")
            .set_cookie("sid=abcdef0123456789; Secure; HttpOnly", true)
            .set_cookie("old=; Max-Age=0", false)
            .set_cookie("gone=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT", false)
            .har_cookie(har, true);
        assert!(e.run(&CookieMissingSecure).is_empty());
    }

    #[test]
    fn same_cookie_on_many_responses_is_one_finding() {
        let a = ex(Transport::Tls, "https://app.example/a")
            .set_cookie("sid=aaaaaaaaaaaaaaaa", true)
            .run(&CookieMissingSecure);
        let b = ex(Transport::Tls, "https://app.example/b")
            .set_cookie("sid=bbbbbbbbbbbbbbbb", true)
            .run(&CookieMissingSecure);
        let merged = crate::analyze::aggregate(a.into_iter().chain(b).collect::<Vec<_>>());
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].count, 2);
    }
}
