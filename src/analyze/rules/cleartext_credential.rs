//! Rule `cleartext-credential`: a credential crosses the network unencrypted.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "cleartext-credential",
    severity: Severity::High,
    title: "A credential crosses the network unencrypted",
    cwe: Some(319),
    detects: "A recognised credential in a request sent over cleartext HTTP: an Authorization or Proxy-Authorization header, an API-key header, a session cookie, a password or token in the query, form or JSON body, or URL userinfo; and a session cookie or credential issued by a response sent over cleartext. A `WWW-Authenticate: Basic` challenge over cleartext is reported at lower severity with `basic-challenge` in `detail`. One finding per host, location, name and key, with a count.",
    why: "Anyone on the path (shared Wi-Fi, a compromised router, an ISP, a corporate proxy) reads the credential and can replay it until it is revoked. Passive capture is enough: no attack on the client or server is needed.",
    example: "GET /api/orders HTTP/1.1\nHost: shop.example\nAuthorization: Bearer eyJhbGciOi...",
    remediation: "Serve the endpoint over HTTPS only, redirect HTTP to HTTPS before any credential is sent, enable HSTS, and rotate every credential that was seen in cleartext.",
    per_exchange: true,
};
