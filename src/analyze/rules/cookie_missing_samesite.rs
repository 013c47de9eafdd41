//! Rule `cookie-missing-samesite`: a cookie set without a valid SameSite attribute. Fed the parsed
//! Set-Cookie lines of one response; feeds findings to `analyze::aggregate`.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::{ExchangeCtx, ExchangeRule, RuleMeta};
use crate::model::{Finding, Severity};
use crate::recognize::setcookie::SameSite;

use super::common::{cookie_finding, cookie_noun, live_cookies, session_cookie};

pub static META: RuleMeta = RuleMeta {
    id: "cookie-missing-samesite",
    severity: Severity::Low,
    title: "Cookie set without a valid SameSite attribute",
    cwe: Some(1275),
    detects: "A Set-Cookie with no SameSite attribute or with a value browsers ignore (anything but Strict, Lax or None). Low for session-like cookies; info for others, whose cross-site sending carries no authority (CSRF needs the session cookie). Deletion cookies are skipped, and so are HAR cookie objects without a `sameSite` field (the export may simply not record it).",
    why: "Browsers then fall back to their own default (Lax in Chromium, None in older browsers and some others), so cross-site requests may carry the cookie and enable CSRF.",
    example: "Set-Cookie: sid=31d4d96e407aad42; Secure; HttpOnly",
    remediation: "Set `SameSite=Lax` (or `Strict`) explicitly; use `None` only with `Secure` for cookies that must be sent cross-site.",
    per_exchange: true,
};

pub struct CookieMissingSamesite;

impl ExchangeRule for CookieMissingSamesite {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &ExchangeCtx<'_>, out: &mut Vec<Finding>) {
        for c in live_cookies(cx) {
            let problem = match &c.same_site {
                Some(SameSite::Strict | SameSite::Lax | SameSite::None) => continue,
                Some(SameSite::Invalid(_)) => "with a SameSite value browsers ignore",
                // A HAR cookie object without `sameSite` may simply not have recorded it.
                None if c.from_har_object => continue,
                None => "without SameSite",
            };
            let session = session_cookie(cx, c).is_some();
            let mut f = cookie_finding(
                cx,
                &META,
                c,
                session,
                format!("{} set {problem}", cookie_noun(session)),
            );
            if !session {
                f.severity = Severity::Info;
            }
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::rules::common::testkit::*;
    use crate::model::{HarCookie, Transport};
    use crate::recognize::SetCookie;

    #[test]
    fn missing_and_invalid_samesite_fire() {
        let e = ex(Transport::Tls, "https://app.example/")
            .set_cookie("sid=31d4d96e407aad42; Secure; HttpOnly", true)
            .set_cookie("pref=1; SameSite=Bogus", false);
        let f = e.run(&CookieMissingSamesite);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].severity, Severity::Low);
        assert_eq!(f[0].kind, "session-cookie");
        assert!(f[0].detail.contains("without SameSite"));
        assert_eq!(f[1].name, "pref");
        assert_eq!(f[1].severity, Severity::Info);
        assert!(f[1].detail.contains("ignore"));
    }

    #[test]
    fn valid_samesite_deletion_and_unrecorded_are_silent() {
        let har = SetCookie::from_har(&HarCookie {
            name: "h".into(),
            value: "v".into(),
            secure: Some(true),
            ..HarCookie::default()
        });
        let e = ex(Transport::Tls, "https://app.example/")
            .set_cookie("a=1; SameSite=Lax", false)
            .set_cookie("b=1; samesite=strict", false)
            .set_cookie("c=1; SameSite=None; Secure", false)
            .set_cookie("d=; Max-Age=0", false)
            .har_cookie(har, false);
        assert!(e.run(&CookieMissingSamesite).is_empty());
    }
}
