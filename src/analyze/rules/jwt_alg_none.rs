//! Rule `jwt-alg-none`: unsigned jwt accepted.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "jwt-alg-none",
    severity: Severity::High,
    title: "Unsigned JWT accepted",
    cwe: Some(347),
    detects: "A JWT with `alg: none` or an empty signature that the server answered with 2xx.",
    why: "A server that accepts unsigned tokens lets anyone forge any identity or role by editing the payload.",
    example: "Authorization: Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9. → 200 OK",
    remediation: "Verify signatures with an explicit allow-list of algorithms; reject `none`.",
    per_exchange: true,
};
