//! Rule `credential-in-response`: credential exposed in a response.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "credential-in-response",
    severity: Severity::High,
    title: "Credential exposed in a response",
    cwe: Some(200),
    detects: "A credential in a response body or header: a request credential echoed back (matched by fingerprint), a key or token issued in a JSON field (`api_key`, `access_token`...), a known token format in HTML, JavaScript or JSON, or a credential in Location or another header. Tokens legitimately issued in Set-Cookie and OAuth token-endpoint responses over TLS are expected and not reported; over cleartext they are.",
    why: "Responses are cached by proxies and browsers, logged, and read by scripts on the page; a secret in a response reaches far more places than the server intended, and an echoed secret can be lifted by cross-site script inclusion or a cache.",
    example: "HTTP/1.1 200 OK\nContent-Type: application/json\n\n{\"user\":\"bob\",\"api_key\":\"sk_live_…\"}",
    remediation: "Return credentials only from dedicated token endpoints over TLS with `Cache-Control: no-store`; never echo request credentials; never embed server-side keys in pages or scripts.",
    per_exchange: true,
};
