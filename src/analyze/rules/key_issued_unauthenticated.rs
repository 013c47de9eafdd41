//! Rule `key-issued-unauthenticated`: credential handed to an unauthenticated caller and then used.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "key-issued-unauthenticated",
    severity: Severity::Medium,
    title: "Credential handed to an unauthenticated caller and then used",
    cwe: None,
    detects: "A credential that first appears in a response to a request carrying no credential and is later presented as a credential. The finding points at the issuing exchange; `detail` says where it was used.",
    why: "Any anonymous client can obtain the credential and act with it; typical of API keys embedded in bootstrap endpoints or pages.",
    example: "GET /config.json (no credentials) → {\"apiKey\": \"...\"}; later: X-API-Key: ... on /admin/users",
    remediation: "Issue credentials only after authentication; scope keys that must ship to clients to public, read-only operations.",
    per_exchange: false,
};
