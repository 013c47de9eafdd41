//! Rule `cookie-samesite-none-insecure`: samesite=none without secure.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "cookie-samesite-none-insecure",
    severity: Severity::Medium,
    title: "SameSite=None without Secure",
    cwe: Some(1275),
    detects: "A Set-Cookie with `SameSite=None` but without Secure.",
    why: "Modern browsers reject such cookies (so the feature silently breaks), and older browsers send them cross-site over cleartext.",
    example: "Set-Cookie: tracking=abc123; SameSite=None",
    remediation: "Add `Secure` to every `SameSite=None` cookie.",
    per_exchange: true,
};
