//! The rule catalog: stable ids, default severities, titles, CWE and documentation, gathered from
//! each rule's file in `rules/`. `credsift rules`, the SARIF writer and the findings all read it.

use crate::model::Severity;

use super::rules;

/// Documentation and defaults of one rule, in fixed sections.
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable id: never renamed once released.
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    pub cwe: Option<u32>,
    /// What it detects.
    pub detects: &'static str,
    /// Why it matters.
    pub why: &'static str,
    /// An example of traffic that fires it.
    pub example: &'static str,
    /// How to fix it.
    pub remediation: &'static str,
    /// Decided per exchange (true) or across exchanges (false).
    pub per_exchange: bool,
}

/// Every rule, in catalog order.
pub static CATALOG: &[&RuleMeta] = &[
    &rules::cleartext_credential::META,
    &rules::credential_in_url::META,
    &rules::credential_in_referer::META,
    &rules::credential_in_response::META,
    &rules::cookie_missing_secure::META,
    &rules::cookie_missing_httponly::META,
    &rules::cookie_missing_samesite::META,
    &rules::cookie_samesite_none_insecure::META,
    &rules::cookie_broad_scope::META,
    &rules::cookie_long_lived_session::META,
    &rules::key_reused_across_subjects::META,
    &rules::key_reused_across_roles::META,
    &rules::key_used_across_services::META,
    &rules::key_issued_unauthenticated::META,
    &rules::session_fixation::META,
    &rules::session_shared_across_clients::META,
    &rules::jwt_alg_none::META,
    &rules::jwt_expired_accepted::META,
];

pub fn rule_meta(id: &str) -> Option<&'static RuleMeta> {
    CATALOG.iter().copied().find(|m| m.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_unique_kebab_and_documented() {
        let mut ids: Vec<_> = CATALOG.iter().map(|m| m.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), CATALOG.len());
        for m in CATALOG {
            assert!(m.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
            for s in [m.title, m.detects, m.why, m.example, m.remediation] {
                assert!(!s.trim().is_empty(), "{} lacks a section", m.id);
            }
        }
    }
}
