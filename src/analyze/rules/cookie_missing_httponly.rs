//! Rule `cookie-missing-httponly`: session cookie set without httponly.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "cookie-missing-httponly",
    severity: Severity::Medium,
    title: "Session cookie set without HttpOnly",
    cwe: Some(1004),
    detects: "A session-like cookie (by name or value shape) set without the HttpOnly attribute. Non-session cookies are not reported: scripts often need to read preference cookies.",
    why: "Any script running in the page, including one injected through XSS or a compromised third-party script, can read the session id and send it away.",
    example: "Set-Cookie: PHPSESSID=q8m3kd92ls0; Path=/; Secure",
    remediation: "Add `HttpOnly` to session cookies.",
    per_exchange: true,
};
