//! Rule `session-shared-across-clients`: one session used from several clients.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use std::collections::BTreeSet;

use crate::analyze::RuleMeta;
use crate::analyze::sighting::counted;
use crate::analyze::{CorrelationRule, Sighting, SightingPool, sighting::group_finding};
use crate::model::Finding;
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

/// Longest user agent shown in `detail`.
const UA_SHOWN: usize = 48;

/// Counts distinct client addresses and distinct user agents separately: behind NAT one address
/// carries many users, and one user may switch networks, so `detail` says which of the two
/// differed and lets the reader judge.
pub struct SessionSharedAcrossClients;

fn short(ua: &str) -> String {
    if ua.chars().count() <= UA_SHOWN {
        ua.to_string()
    } else {
        let mut s: String = ua.chars().take(UA_SHOWN - 1).collect();
        s.push('…');
        s
    }
}

impl CorrelationRule for SessionSharedAcrossClients {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, pool: &SightingPool, out: &mut Vec<Finding>) {
        for (_, group) in pool.by_key() {
            let presented: Vec<&Sighting> = group
                .iter()
                .copied()
                .filter(|s| s.presented() && s.session_like)
                .collect();
            let ips: BTreeSet<&str> = presented
                .iter()
                .filter_map(|s| s.client_ip.as_deref())
                .collect();
            let uas: BTreeSet<&str> = presented
                .iter()
                .filter_map(|s| s.user_agent.as_deref())
                .collect();
            if ips.len() < 2 && uas.len() < 2 {
                continue;
            }
            let mut parts = Vec::new();
            if ips.len() >= 2 {
                parts.push(format!(
                    "{} client addresses: {}",
                    ips.len(),
                    counted(presented.iter().filter_map(|s| s.client_ip.as_deref()))
                ));
            }
            if uas.len() >= 2 {
                let shown: Vec<String> = presented
                    .iter()
                    .filter_map(|s| s.user_agent.as_deref())
                    .map(short)
                    .collect();
                parts.push(format!(
                    "{} user agents: {}",
                    uas.len(),
                    counted(shown.iter().map(String::as_str))
                ));
            }
            if ips.len() < 2 {
                parts.push("one client address (possibly NAT or a proxy)".into());
            } else if uas.len() < 2 {
                parts.push("one user agent".into());
            }
            out.extend(group_finding(&META, &presented, parts.join("; ")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::sighting::testing::{run, session, sighting};

    #[test]
    fn fires_on_two_addresses_or_two_agents() {
        let a = session("s", 1);
        let mut b = session("s", 2);
        b.client_ip = Some("203.0.113.7".into());
        let f = run(&SessionSharedAcrossClients, vec![a.clone(), b]);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].detail.contains("2 client addresses"),
            "{}",
            f[0].detail
        );
        assert!(f[0].detail.contains("one user agent"));
        let mut c = session("s", 3);
        c.user_agent = Some("curl/8.0".into());
        let f = run(&SessionSharedAcrossClients, vec![a, c]);
        assert!(f[0].detail.contains("2 user agents") && f[0].detail.contains("NAT"));
    }

    #[test]
    fn silent_for_one_client_and_for_api_keys() {
        assert!(
            run(
                &SessionSharedAcrossClients,
                vec![session("s", 1), session("s", 2)]
            )
            .is_empty()
        );
        let a = sighting("k", "h", 1);
        let mut b = sighting("k", "h", 2);
        b.client_ip = Some("10.9.9.9".into());
        assert!(run(&SessionSharedAcrossClients, vec![a, b]).is_empty());
    }
}
