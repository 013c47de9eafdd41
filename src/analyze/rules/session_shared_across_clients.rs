//! Rule `session-shared-across-clients`: one session used from several clients.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "session-shared-across-clients",
    severity: Severity::Medium,
    title: "One session used from several clients",
    cwe: None,
    detects: "One session identifier presented from two or more client addresses or user agents (a hijacked or shared session). `detail` lists the clients and says whether addresses or user agents differ (NAT and proxies can explain one of them).",
    why: "A session used from a second client is the signature of session hijacking, or of a session shared on purpose, which defeats per-user accountability.",
    example: "Cookie: sid=9c2... from 10.0.0.5 (Firefox) and from 203.0.113.7 (curl)",
    remediation: "Bind sessions to client properties where feasible, detect concurrent use, and rotate session ids often.",
    per_exchange: false,
};
