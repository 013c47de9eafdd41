//! Rule `key-reused-across-subjects`: one credential used on behalf of several users.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "key-reused-across-subjects",
    severity: Severity::High,
    title: "One credential used on behalf of several users",
    cwe: None,
    detects: "One credential (API key, basic credential, session id) presented on behalf of two or more distinct subjects, as shown by identity evidence beside it: a JWT `sub`, a Basic user, user headers, distinct authenticated sessions. JWTs themselves are not reported: their subject is fixed.",
    why: "A shared key cannot be attributed or revoked per user; one user's compromise is everyone's, and logs cannot tell who acted.",
    example: "X-API-Key: 6f1d... sent with `X-User: alice` and later with `X-User: bob`",
    remediation: "Issue one credential per user or per service identity; bind keys to their subject server-side.",
    per_exchange: false,
};
