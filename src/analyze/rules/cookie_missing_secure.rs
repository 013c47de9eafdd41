//! Rule `cookie-missing-secure`: cookie set without secure.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "cookie-missing-secure",
    severity: Severity::Medium,
    title: "Cookie set without Secure",
    cwe: Some(614),
    detects: "A Set-Cookie without the Secure attribute. Medium for session-like cookies, low for others. Deletion cookies are skipped. For a HAR cookie object that does not record the flag, nothing is reported.",
    why: "Without Secure the browser sends the cookie over plain HTTP too, so a single cleartext request (a typed URL, a mixed-content image) exposes it to the network.",
    example: "Set-Cookie: SESSIONID=8f14e45fceea167a; Path=/; HttpOnly",
    remediation: "Add `Secure` to every cookie, prefer the `__Host-` prefix for session cookies, and serve the site over HTTPS only with HSTS.",
    per_exchange: true,
};
