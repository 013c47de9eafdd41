//! Rule `cookie-missing-samesite`: cookie set without a valid samesite attribute.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "cookie-missing-samesite",
    severity: Severity::Low,
    title: "Cookie set without a valid SameSite attribute",
    cwe: Some(1275),
    detects: "A Set-Cookie with no SameSite attribute or with a value browsers ignore (anything but Strict, Lax or None).",
    why: "Browsers then fall back to their own default (Lax in Chromium, None in older browsers and some others), so cross-site requests may carry the cookie and enable CSRF.",
    example: "Set-Cookie: sid=31d4d96e407aad42; Secure; HttpOnly",
    remediation: "Set `SameSite=Lax` (or `Strict`) explicitly; use `None` only with `Secure` for cookies that must be sent cross-site.",
    per_exchange: true,
};
