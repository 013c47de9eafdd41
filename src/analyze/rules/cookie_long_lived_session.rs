//! Rule `cookie-long-lived-session`: session cookie lives too long.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "cookie-long-lived-session",
    severity: Severity::Low,
    title: "Session cookie lives too long",
    cwe: Some(613),
    detects: "A session-like cookie whose Max-Age or Expires puts its lifetime above the configured bound (default 30 days).",
    why: "A long-lived session id stays valid on shared and stolen devices and widens the window for replaying a stolen cookie.",
    example: "Set-Cookie: sessionid=8d7a...; Max-Age=31536000; Secure; HttpOnly",
    remediation: "Keep session cookies session-scoped or short-lived, expire sessions server-side, and use a separate, revocable remember-me token if needed.",
    per_exchange: true,
};
