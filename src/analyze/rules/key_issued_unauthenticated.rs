//! Rule `key-issued-unauthenticated`: credential handed to an unauthenticated caller and then used.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::analyze::{CorrelationCtx, CorrelationRule, Group, Sighting};
use crate::model::Finding;
use crate::model::Severity;
use crate::recognize::Side;
use compact_str::format_compact;

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

/// The issuing sighting must be the key's first sighting, on the response side, for a request
/// that carried no credential; a later request must present the key. Session cookies are left
/// out: every site hands an anonymous visitor a session before login, which is what the session
/// rules are about.
pub struct KeyIssuedUnauthenticated;

impl CorrelationRule for KeyIssuedUnauthenticated {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _cx: &CorrelationCtx, groups: &[Group<'_>], out: &mut Vec<Finding>) {
        for group in groups {
            let Some(first) = group.first() else {
                continue;
            };
            if first.side != Side::Response || first.request_authenticated || first.session_like {
                continue;
            }
            let uses: Vec<&Sighting> = group
                .iter()
                .filter(|s| s.presented() && s.order_key() > first.order_key())
                .collect();
            let Some(used) = uses.first() else {
                continue;
            };
            let mut f = first.finding(&META);
            f.count = uses.len() as u64;
            f.last_seen = uses.iter().filter_map(|s| s.ts).max().or(f.last_seen);
            f.detail = format_compact!(
                "issued to an unauthenticated {} {}; later presented {} time(s), first to {} in {} `{}` ({} {})",
                first.method,
                first.path,
                uses.len(),
                used.host,
                used.location,
                used.name,
                used.source,
                used.locator.map(|l| l.to_string()).unwrap_or_default()
            );
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::sighting::testing::{run, sighting};
    use crate::model::Location;
    use crate::recognize::Origin;

    fn issued(key: &str, seq: u64, authenticated: bool) -> Sighting {
        let mut s = sighting(key, "app.example", seq);
        s.side = Side::Response;
        s.origin = Origin::Issued;
        s.location = Location::ResponseBody;
        s.name = "api_key".into();
        s.request_authenticated = authenticated;
        s
    }

    #[test]
    fn fires_when_anonymous_issue_is_later_used() {
        let f = run(
            &KeyIssuedUnauthenticated,
            vec![issued("k", 1, false), sighting("k", "api.example", 5)],
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].host, "app.example");
        assert_eq!(f[0].locator, Some(crate::model::Locator::Frame(1)));
        assert!(f[0].detail.contains("api.example"), "{}", f[0].detail);
    }

    #[test]
    fn silent_when_authenticated_unused_or_not_first() {
        assert!(
            run(
                &KeyIssuedUnauthenticated,
                vec![issued("k", 1, true), sighting("k", "api", 5)]
            )
            .is_empty()
        );
        assert!(run(&KeyIssuedUnauthenticated, vec![issued("k", 1, false)]).is_empty());
        assert!(
            run(
                &KeyIssuedUnauthenticated,
                vec![
                    sighting("k", "api", 1),
                    issued("k", 2, false),
                    sighting("k", "api", 3)
                ]
            )
            .is_empty()
        );
        let mut s = issued("k", 1, false);
        s.session_like = true;
        assert!(run(&KeyIssuedUnauthenticated, vec![s, sighting("k", "api", 3)]).is_empty());
    }
}
