//! Rule `session-shared-across-clients`: one session used from several clients.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use std::collections::BTreeSet;

use crate::analyze::RuleMeta;
use crate::analyze::sighting::counted;
use crate::analyze::{CorrelationCtx, CorrelationRule, Group, Sighting, sighting::group_finding};
use crate::model::Finding;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "session-shared-across-clients",
    severity: Severity::Medium,
    title: "One session used from several clients",
    cwe: None,
    detects: "One session identifier presented from two or more client addresses or user agents (a hijacked or shared session). `detail` lists the clients and says whether addresses or user agents differ (NAT and proxies can explain one of them). From one address, user agents of one device count as one client: helpers a browser runs for the same user (`contype`, `Microsoft-CryptoAPI`, `Microsoft BITS`) and agents that name the same device (an Android app's `Dalvik/2.1.0 (Linux; U; Android 5.1.1; LGLS751 Build/LMY47V)` and its WebView's `Mozilla/5.0 (Linux; Android 5.1.1; LGLS751 Build/LMY47V; wv)`).",
    why: "A session used from a second client is the signature of session hijacking, or of a session shared on purpose, which defeats per-user accountability.",
    example: "Cookie: sid=9c2... from 10.0.0.5 (Firefox) and from 203.0.113.7 (curl)",
    remediation: "Bind sessions to client properties where feasible, detect concurrent use, and rotate session ids often.",
    per_exchange: false,
};

/// Longest user agent shown in `detail`.
const UA_SHOWN: usize = 48;

/// User agents that browsers and the OS send on behalf of the user of the main agent, from the
/// same machine: IE's `contype` probe for embedded content, Windows certificate and download
/// services.
const HELPER_AGENTS: &[&str] = &[
    "contype",
    "microsoft-cryptoapi",
    "microsoft bits",
    "windows-update-agent",
    "microsoft-webdav-miniredir",
];

fn is_helper(ua: &str) -> bool {
    let l = ua.trim().to_ascii_lowercase();
    HELPER_AGENTS.iter().any(|h| l.starts_with(h))
}

/// Tokens of a user agent's platform comment that name a device model and firmware build
/// (Android's `LGLS751 Build/LMY47V`). OS names and browser engine versions (`Windows NT 6.1`,
/// `Trident/7.0`) are left out: two machines behind one NAT share them.
fn device_tokens(ua: &str) -> Vec<String> {
    let Some(open) = ua.find('(') else {
        return Vec::new();
    };
    let rest = ua.get(open + 1..).unwrap_or("");
    let comment = rest.split(')').next().unwrap_or("");
    comment
        .split(';')
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| t.contains("build/"))
        .collect()
}

/// Distinct clients among the user agents seen from one address: agents merge when one is a
/// helper of another or when they name the same device.
fn distinct_agents(uas: &BTreeSet<&str>) -> usize {
    let main: Vec<&str> = uas.iter().copied().filter(|u| !is_helper(u)).collect();
    if main.is_empty() {
        return uas.len().min(1);
    }
    // Union-find over a handful of agents.
    let mut group: Vec<usize> = (0..main.len()).collect();
    let tokens: Vec<Vec<String>> = main.iter().map(|u| device_tokens(u)).collect();
    for i in 0..main.len() {
        for j in i + 1..main.len() {
            let shared = tokens
                .get(i)
                .zip(tokens.get(j))
                .is_some_and(|(a, b)| a.iter().any(|t| b.contains(t)));
            if shared {
                let (gi, gj) = (group.get(i).copied(), group.get(j).copied());
                if let (Some(gi), Some(gj)) = (gi, gj) {
                    for g in group.iter_mut() {
                        if *g == gj {
                            *g = gi;
                        }
                    }
                }
            }
        }
    }
    group.iter().collect::<BTreeSet<_>>().len()
}

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

    fn check(&self, _cx: &CorrelationCtx, groups: &[Group<'_>], out: &mut Vec<Finding>) {
        for group in groups {
            let presented: Vec<&Sighting> = group
                .iter()
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
            if ips.len() < 2 && (uas.len() < 2 || distinct_agents(&uas) < 2) {
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
    fn one_device_with_helper_or_webview_agents_is_one_client() {
        let mk = |seq, ua: &str| {
            let mut s = session("s", seq);
            s.user_agent = Some(ua.into());
            s
        };
        let ie = "Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko";
        assert!(
            run(
                &SessionSharedAcrossClients,
                vec![mk(1, ie), mk(2, "contype")]
            )
            .is_empty()
        );
        let wv = "Mozilla/5.0 (Linux; Android 5.1.1; LGLS751 Build/LMY47V; wv) AppleWebKit/537.36";
        let dalvik = "Dalvik/2.1.0 (Linux; U; Android 5.1.1; LGLS751 Build/LMY47V)";
        assert!(run(&SessionSharedAcrossClients, vec![mk(1, wv), mk(2, dalvik)]).is_empty());
        // Two devices behind one address still count, and so does a browser and curl.
        let other = "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A) AppleWebKit/537.36";
        let f = run(&SessionSharedAcrossClients, vec![mk(1, wv), mk(2, other)]);
        assert_eq!(f.len(), 1);
        assert!(f[0].detail.contains("2 user agents"), "{}", f[0].detail);
        let f = run(
            &SessionSharedAcrossClients,
            vec![mk(1, ie), mk(2, "curl/8.0")],
        );
        assert_eq!(f.len(), 1);
        // A second address counts even with a helper agent.
        let mut b = mk(2, "contype");
        b.client_ip = Some("203.0.113.9".into());
        assert_eq!(
            run(&SessionSharedAcrossClients, vec![mk(1, ie), b]).len(),
            1
        );
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
