//! Rule `cookie-broad-scope`: cookie scoped wider than the host that set it.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "cookie-broad-scope",
    severity: Severity::Low,
    title: "Cookie scoped wider than the host that set it",
    cwe: None,
    detects: "A Set-Cookie whose Domain attribute is a parent of the host that set it (so every sibling subdomain receives it), judged with the public-suffix list; a Domain on a public suffix; and broken `__Host-`/`__Secure-` prefix rules (`__Host-` needs Secure, Path=/ and no Domain; `__Secure-` needs Secure).",
    why: "Every host under the parent domain (staging servers, user-content hosts, forgotten marketing sites) receives the cookie and can read or overwrite it; a takeover of any subdomain becomes a session theft.",
    example: "Set-Cookie: session=abc; Domain=example.com (set by login.example.com)",
    remediation: "Omit Domain so the cookie is host-only, or use the `__Host-` prefix, which enforces that.",
    per_exchange: true,
};
