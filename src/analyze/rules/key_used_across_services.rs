//! Rule `key-used-across-services`: one credential sent to several services.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use std::collections::BTreeSet;

use crate::analyze::RuleMeta;
use crate::analyze::sighting::counted;
use crate::analyze::{CorrelationRule, Sighting, SightingPool, sighting::group_finding};
use crate::model::Severity;
use crate::model::{Finding, Location};

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

/// Cookies are left out: a browser sends a cookie to every host its Domain covers, which is the
/// cookie-broad-scope rule's concern, not a key deliberately forwarded.
pub struct KeyUsedAcrossServices;

impl CorrelationRule for KeyUsedAcrossServices {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, pool: &SightingPool, out: &mut Vec<Finding>) {
        for (_, group) in pool.by_key() {
            let presented: Vec<&Sighting> = group
                .iter()
                .copied()
                .filter(|s| s.presented() && s.location != Location::Cookie && !s.host.is_empty())
                .collect();
            let hosts: BTreeSet<&str> = presented.iter().map(|s| s.host.as_str()).collect();
            if hosts.len() < 2 {
                continue;
            }
            let detail = format!(
                "{} hosts: {}",
                hosts.len(),
                counted(presented.iter().map(|s| s.host.as_str()))
            );
            out.extend(group_finding(&META, &presented, detail));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::sighting::testing::{run, session, sighting};

    #[test]
    fn fires_for_two_hosts_not_for_one_or_for_cookies() {
        let f = run(
            &KeyUsedAcrossServices,
            vec![sighting("k", "a.example", 1), sighting("k", "b.example", 2)],
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].host, "a.example");
        assert!(f[0].detail.starts_with("2 hosts"));
        assert!(
            run(
                &KeyUsedAcrossServices,
                vec![sighting("k", "a.example", 1), sighting("k", "a.example", 2)]
            )
            .is_empty()
        );
        let mut c1 = session("s", 1);
        c1.host = "a.example".into();
        let mut c2 = session("s", 2);
        c2.host = "b.example".into();
        assert!(run(&KeyUsedAcrossServices, vec![c1, c2]).is_empty());
    }
}
