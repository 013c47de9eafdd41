//! Rule `cookie-samesite-none-insecure`: `SameSite=None` without Secure. Fed the parsed
//! Set-Cookie lines of one response; feeds findings to `analyze::aggregate`.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::{ExchangeCtx, ExchangeRule, RuleMeta};
use crate::model::{Finding, Severity};
use crate::recognize::setcookie::SameSite;

use super::common::{cookie_finding, cookie_noun, live_cookies, session_cookie};

pub static META: RuleMeta = RuleMeta {
    id: "cookie-samesite-none-insecure",
    severity: Severity::Medium,
    title: "SameSite=None without Secure",
    cwe: Some(1275),
    detects: "A Set-Cookie with `SameSite=None` but without Secure (deletion cookies skipped).",
    why: "Modern browsers reject such cookies (so the feature silently breaks), and older browsers send them cross-site over cleartext.",
    example: "Set-Cookie: tracking=abc123; SameSite=None",
    remediation: "Add `Secure` to every `SameSite=None` cookie.",
    per_exchange: true,
};

pub struct CookieSamesiteNoneInsecure;

impl ExchangeRule for CookieSamesiteNoneInsecure {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &ExchangeCtx<'_>, out: &mut Vec<Finding>) {
        for c in live_cookies(cx)
            .filter(|c| c.same_site == Some(SameSite::None) && c.secure == Some(false))
        {
            let session = session_cookie(cx, c).is_some();
            out.push(cookie_finding(
                cx,
                &META,
                c,
                session,
                format!(
                    "{} set with SameSite=None but without Secure: modern browsers reject it, older ones send it cross-site in cleartext",
                    cookie_noun(session)
                ),
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
    fn none_without_secure_fires() {
        let e = ex(Transport::Cleartext, "http://ads.example/")
            .set_cookie("tracking=abc123456789; SameSite=None", false);
        let f = e.run(&CookieSamesiteNoneInsecure);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].name, "tracking");
        assert_eq!(f[0].severity, Severity::Medium);
    }

    #[test]
    fn secure_other_values_and_unrecorded_secure_are_silent() {
        let har = SetCookie::from_har(&HarCookie {
            name: "h".into(),
            value: "v".into(),
            same_site: Some("None".into()),
            ..HarCookie::default()
        });
        let e = ex(Transport::Tls, "https://ads.example/")
            .set_cookie("a=1; SameSite=None; Secure", false)
            .set_cookie("b=1; SameSite=Lax", false)
            .set_cookie("c=1", false)
            .set_cookie("d=1; SameSite=None; Max-Age=0", false)
            .har_cookie(har, false);
        assert!(e.run(&CookieSamesiteNoneInsecure).is_empty());
    }
}
