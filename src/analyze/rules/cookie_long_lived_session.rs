//! Rule `cookie-long-lived-session`: a session cookie that lives too long. Fed the parsed
//! Set-Cookie lines of one response, the session cookies `recognize` found among them and the
//! configured bound; feeds findings to `analyze::aggregate`.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::{ExchangeCtx, ExchangeRule, RuleMeta};
use crate::model::{Finding, Severity};

use super::common::{cookie_finding, cookie_now, human_secs, live_cookies, session_cookie};

pub static META: RuleMeta = RuleMeta {
    id: "cookie-long-lived-session",
    severity: Severity::Low,
    title: "Session cookie lives too long",
    cwe: Some(613),
    detects: "A session-like cookie whose Max-Age or Expires puts its lifetime above the configured bound (default 30 days), measured from the response's time. An Expires date cannot be measured without a capture time and is then not reported.",
    why: "A long-lived session id stays valid on shared and stolen devices and widens the window for replaying a stolen cookie.",
    example: "Set-Cookie: sessionid=8d7a...; Max-Age=31536000; Secure; HttpOnly",
    remediation: "Keep session cookies session-scoped or short-lived, expire sessions server-side, and use a separate, revocable remember-me token if needed.",
    per_exchange: true,
};

pub struct CookieLongLivedSession;

impl ExchangeRule for CookieLongLivedSession {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &ExchangeCtx<'_>, out: &mut Vec<Finding>) {
        let bound = cx.cfg.max_session_cookie_lifetime_secs;
        let now = cookie_now(cx);
        for c in live_cookies(cx) {
            // `None`: a browser-session cookie, or an Expires with no capture time to measure from.
            let Some(life) = c.lifetime_secs(now) else {
                continue;
            };
            if life <= bound || session_cookie(cx, c).is_none() {
                continue;
            }
            let how = if c.max_age.is_some() {
                "Max-Age"
            } else {
                "Expires"
            };
            out.push(cookie_finding(
                cx,
                &META,
                c,
                true,
                format!(
                    "session cookie lives {} ({how}), above the bound of {}",
                    human_secs(life),
                    human_secs(bound)
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::rules::common::testkit::*;
    use crate::model::Transport;

    #[test]
    fn year_long_session_cookie_fires() {
        let e = ex(Transport::Tls, "https://app.example/")
            .set_cookie(
                "sessionid=8d7a0123456789ab; Max-Age=31536000; Secure; HttpOnly",
                true,
            )
            .set_cookie(
                "sid2=8d7a0123456789ab; Expires=Wed, 01 Jan 2025 00:00:00 GMT; Secure",
                true,
            );
        let f = e.run(&CookieLongLivedSession);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].name, "sessionid");
        assert_eq!(f[0].severity, Severity::Low);
        assert_eq!(f[0].kind, "session-cookie");
        assert!(f[0].detail.contains("365 days"), "{}", f[0].detail);
        assert!(f[0].detail.contains("30 days"));
        assert!(f[1].detail.contains("Expires"));
    }

    #[test]
    fn bound_is_configurable() {
        let mut e = ex(Transport::Tls, "https://app.example/")
            .set_cookie("sessionid=8d7a0123456789ab; Max-Age=7200", true);
        assert!(e.run(&CookieLongLivedSession).is_empty());
        e.cfg.max_session_cookie_lifetime_secs = 3600;
        assert_eq!(e.run(&CookieLongLivedSession).len(), 1);
    }

    #[test]
    fn look_alikes_are_silent() {
        let e = ex(Transport::Tls, "https://app.example/")
            // a long-lived cookie that is not a session
            .set_cookie("consent=yes; Max-Age=31536000", false)
            // a browser-session cookie
            .set_cookie("sid=8d7a0123456789ab; Secure", true)
            // within the bound
            .set_cookie("s2=8d7a0123456789ab; Max-Age=86400", true)
            // a deletion
            .set_cookie("s3=; Max-Age=0", true)
            .set_cookie("s4=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT", true);
        assert!(e.run(&CookieLongLivedSession).is_empty());
        // Expires with no capture time to measure from
        let e = ex(Transport::Tls, "https://app.example/")
            .set_cookie(
                "sid=8d7a0123456789ab; Expires=Wed, 01 Jan 2099 00:00:00 GMT",
                true,
            )
            .no_ts();
        assert!(e.run(&CookieLongLivedSession).is_empty());
    }
}
