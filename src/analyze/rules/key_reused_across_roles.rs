//! Rule `key-reused-across-roles`: one credential used with several roles or beyond its scope.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "key-reused-across-roles",
    severity: Severity::High,
    title: "One credential used with several roles or beyond its scope",
    cwe: Some(269),
    detects: "One credential presented with two or more distinct roles or scopes (JWT claims, role headers), or used for a successful write (POST/PUT/PATCH/DELETE answered 2xx) where its own scope claims say read-only.",
    why: "Privileges should follow the credential; a key that acts as both reader and admin means the server trusts the client's claim of role, or a key has more power than it should.",
    example: "The same key sent with `X-Role: viewer` and `X-Role: admin`",
    remediation: "Derive the role server-side from the credential; issue separate keys per role; enforce scopes on every write.",
    per_exchange: false,
};
