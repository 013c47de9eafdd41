//! Rule `key-used-across-services`: one credential sent to several services.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use crate::analyze::RuleMeta;
use crate::model::Severity;
use compact_str::format_compact;

pub static META: RuleMeta = RuleMeta {
    id: "key-used-across-services",
    severity: Severity::Low,
    title: "One credential sent to several services",
    cwe: None,
    detects: "One credential presented to several distinct hosts. Cookies are left out (a browser sends a cookie to every host its Domain covers: `cookie-broad-scope`'s concern). A vendor's own key format (a Google API key, a GitHub or Stripe token...) sent only to hosts of one registrable domain (`clients4.google.com` and `www.google.com`, judged with the public-suffix list) is info: the vendor serves its APIs from many hosts and the key is made for all of them. Generic credentials (bearer tokens, API-key headers, Basic, JWTs) stay low even within one domain: `api.example.com` and `billing.example.com` are two services.",
    why: "A key forwarded across service boundaries widens its exposure: each host can log or leak it, and revoking it breaks all of them.",
    example: "The same Bearer token sent to api.example and billing.example",
    remediation: "Use per-service credentials or token exchange with audience-restricted tokens.",
    per_exchange: false,
};

use std::collections::BTreeSet;

use crate::analyze::sighting::counted;
use crate::analyze::{CorrelationCtx, CorrelationRule, Group, Sighting, sighting::span};
use crate::model::{Finding, Location};

/// Kinds that say nothing about who issued the credential. Every other kind is a vendor's
/// own format (`google-api-key`, `github-token`, `stripe-secret-key`...).
const GENERIC_KINDS: &[&str] = &[
    "api-key",
    "bearer",
    "basic",
    "digest",
    "ntlm",
    "negotiate",
    "jwt",
    "password",
    "client-secret",
    "session-cookie",
    "session-id",
    "aws-access-key-id",
    "aws-session-token",
];

fn is_vendor_format(kind: &str) -> bool {
    !GENERIC_KINDS.contains(&kind)
}

/// The registrable domain of a host (`www.google.com` → `google.com`) when its suffix is on the
/// public-suffix list; otherwise (IP addresses, `localhost`, internal names) the host itself, so
/// that two internal services stay two.
fn organisation(host: &str) -> String {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    if h.parse::<std::net::IpAddr>().is_ok() {
        return h;
    }
    match psl::domain(h.as_bytes()) {
        Some(d) if d.suffix().is_known() => String::from_utf8_lossy(d.as_bytes()).into_owned(),
        _ => h,
    }
}

/// Cookies are left out: a browser sends a cookie to every host its Domain covers, which is the
/// cookie-broad-scope rule's concern, not a key deliberately forwarded.
pub struct KeyUsedAcrossServices;

impl CorrelationRule for KeyUsedAcrossServices {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _cx: &CorrelationCtx, groups: &[Group<'_>], out: &mut Vec<Finding>) {
        for group in groups {
            let presented: Vec<&Sighting> = group
                .iter()
                .filter(|s| s.presented() && s.location != Location::Cookie && !s.host.is_empty())
                .collect();
            let hosts: BTreeSet<&str> = presented.iter().map(|s| s.host.as_str()).collect();
            if hosts.len() < 2 {
                continue;
            }
            let Some(first) = presented.first() else {
                continue;
            };
            let orgs: BTreeSet<String> = hosts.iter().map(|h| organisation(h)).collect();
            let mut f = first.finding(&META);
            f.count = presented.len() as u64;
            (f.first_seen, f.last_seen) = span(&presented);
            f.detail = format_compact!(
                "{} hosts: {}",
                hosts.len(),
                counted(presented.iter().map(|s| s.host.as_str()))
            );
            if orgs.len() == 1
                && is_vendor_format(&first.kind)
                && let Some(org) = orgs.first()
            {
                f.severity = Severity::Info;
                f.detail.push_str(&format!(
                    "; all under {org}: a {} used with its vendor's own hosts",
                    first.kind
                ));
            }
            out.push(f);
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
        // A vendor key within the vendor's registrable domain: info.
        let g = |host: &str, seq| {
            let mut s = sighting("g", host, seq);
            s.kind = "google-api-key".into();
            s
        };
        let f = run(
            &KeyUsedAcrossServices,
            vec![g("www.google.com", 1), g("clients4.google.com", 2)],
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
        assert!(
            f[0].detail.contains("all under google.com"),
            "{}",
            f[0].detail
        );
        // The same vendor key across domains, and a generic key within one domain: low.
        let f = run(
            &KeyUsedAcrossServices,
            vec![g("maps.googleapis.com", 1), g("api.shop.example.com", 2)],
        );
        assert_eq!(f[0].severity, Severity::Low);
        let f = run(
            &KeyUsedAcrossServices,
            vec![
                sighting("k", "api.example.com", 1),
                sighting("k", "billing.example.com", 2),
            ],
        );
        assert_eq!(f[0].severity, Severity::Low);
        let mut c1 = session("s", 1);
        c1.host = "a.example".into();
        let mut c2 = session("s", 2);
        c2.host = "b.example".into();
        assert!(run(&KeyUsedAcrossServices, vec![c1, c2]).is_empty());
    }
}
