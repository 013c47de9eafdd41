//! Rule `cookie-missing-httponly`: a session cookie set without HttpOnly. Fed the parsed
//! Set-Cookie lines of one response and the session cookies `recognize` found among them; feeds
//! findings to `analyze::aggregate`.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::{ExchangeCtx, ExchangeRule, RuleMeta};
use crate::model::{Finding, Severity};

use super::common::{cookie_finding, live_cookies, session_cookie};

pub static META: RuleMeta = RuleMeta {
    id: "cookie-missing-httponly",
    severity: Severity::Medium,
    title: "Session cookie set without HttpOnly",
    cwe: Some(1004),
    detects: "A session-like cookie (by name or value shape) set without the HttpOnly attribute. Non-session cookies are not reported: scripts often need to read preference cookies. Deletion cookies and HAR cookie objects that do not record the flag are not reported either.",
    why: "Any script running in the page, including one injected through XSS or a compromised third-party script, can read the session id and send it away.",
    example: "Set-Cookie: PHPSESSID=q8m3kd92ls0; Path=/; Secure",
    remediation: "Add `HttpOnly` to session cookies.",
    per_exchange: true,
};

pub struct CookieMissingHttponly;

impl ExchangeRule for CookieMissingHttponly {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &ExchangeCtx<'_>, out: &mut Vec<Finding>) {
        for c in live_cookies(cx).filter(|c| c.http_only == Some(false)) {
            if session_cookie(cx, c).is_none() {
                continue;
            }
            out.push(cookie_finding(
                cx,
                &META,
                c,
                true,
                "session cookie set without HttpOnly: page scripts can read it".to_string(),
            ));
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
    fn session_cookie_without_httponly_fires() {
        let e = ex(Transport::Tls, "https://app.example/")
            .set_cookie("PHPSESSID=q8m3kd92ls0abc; Path=/; Secure", true);
        let f = e.run(&CookieMissingHttponly);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].name, "PHPSESSID");
        assert_eq!(f[0].kind, "session-cookie");
        assert_eq!(f[0].severity, Severity::Medium);
    }

    #[test]
    fn look_alikes_are_silent() {
        let har = SetCookie::from_har(&HarCookie {
            name: "JSESSIONID".into(),
            value: "abcdef0123456789".into(),
            secure: Some(true),
            ..HarCookie::default()
        });
        let e = ex(Transport::Tls, "https://app.example/")
            .set_cookie("PHPSESSID=q8m3kd92ls0abc; Secure; HttpOnly", true)
            .set_cookie("theme=dark; Secure", false)
            .set_cookie("sid=; Max-Age=0", true)
            .har_cookie(har, true);
        assert!(e.run(&CookieMissingHttponly).is_empty());
    }
}
