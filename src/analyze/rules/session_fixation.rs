//! Rule `session-fixation`: session id not rotated at login.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "session-fixation",
    severity: Severity::High,
    title: "Session id not rotated at login",
    cwe: Some(384),
    detects: "A session identifier that was set or sent before a successful login (credentials in a body or Basic auth to a login-like endpoint, answered 2xx or 3xx) and is still sent after it, with no new value issued for that cookie by the login response.",
    why: "An attacker who plants a session id in a victim's browser before login shares the victim's authenticated session afterwards.",
    example: "Cookie: JSESSIONID=A1 on GET /login, POST /login → 302 without Set-Cookie, Cookie: JSESSIONID=A1 on GET /account",
    remediation: "Issue a new session id on every privilege change (login, logout, role change) and invalidate the old one.",
    per_exchange: false,
};
