//! Rule `credential-in-url`: credential in a url.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "credential-in-url",
    severity: Severity::High,
    title: "Credential in a URL",
    cwe: Some(598),
    detects: "A credential in the request URL: a query parameter (`api_key`, `access_token`, `sig`...), a path segment holding a known token format, a `;jsessionid=` path parameter, the fragment, or `user:password@` userinfo. Session ids in URLs (`jsessionid`, `PHPSESSID`, `sid`) count. High over cleartext, medium over TLS.",
    why: "URLs are written to browser history, server and proxy access logs, analytics, crash reports and the Referer header of the next request; TLS protects them in transit but not at rest in all those places.",
    example: "GET /v1/report?api_key=AIzaSyD...&format=csv HTTP/1.1",
    remediation: "Send credentials in an Authorization header or a cookie, never in the URL. Rotate credentials that have appeared in URLs and purge the logs that hold them.",
    per_exchange: true,
};
