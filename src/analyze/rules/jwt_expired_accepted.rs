//! Rule `jwt-expired-accepted`: expired jwt accepted.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "jwt-expired-accepted",
    severity: Severity::Medium,
    title: "Expired JWT accepted",
    cwe: Some(613),
    detects: "A JWT whose `exp` is before the request's time, answered with 2xx.",
    why: "If expiry is not enforced, a stolen token works forever.",
    example: "Bearer token with exp=2021-01-01 sent in 2024 → 200 OK",
    remediation: "Enforce `exp` (with small clock skew) on every request; keep token lifetimes short.",
    per_exchange: true,
};
