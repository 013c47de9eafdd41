//! Rule `key-used-across-services`: one credential sent to several services.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "key-used-across-services",
    severity: Severity::Low,
    title: "One credential sent to several services",
    cwe: None,
    detects: "One credential presented to several distinct hosts.",
    why: "A key forwarded across service boundaries widens its exposure: each host can log or leak it, and revoking it breaks all of them.",
    example: "The same Bearer token sent to api.example and billing.example",
    remediation: "Use per-service credentials or token exchange with audience-restricted tokens.",
    per_exchange: false,
};
