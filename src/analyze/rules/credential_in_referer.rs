//! Rule `credential-in-referer`: credential leaked to another origin via referer.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "credential-in-referer",
    severity: Severity::Medium,
    title: "Credential leaked to another origin via Referer",
    cwe: Some(598),
    detects: "A request whose Referer header carries a URL with a credential (session id, token, key) and that is sent to a different origin than the one in the Referer. `host` is the origin that received it, `name` the parameter, `detail` the origin it leaked from.",
    why: "Third-party sites (CDNs, analytics, ad servers, any linked page) receive the credential in their logs and can use it.",
    example: "GET /pixel.gif HTTP/1.1\nHost: tracker.example\nReferer: https://app.example/reset?token=9f8e7d...",
    remediation: "Keep credentials out of URLs; set `Referrer-Policy: strict-origin-when-cross-origin` or `no-referrer` on pages whose URLs may carry secrets.",
    per_exchange: true,
};
