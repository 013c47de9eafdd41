//! One file per rule (ruff style): each holds its documentation (`META`) and its check. The
//! registries below say which rules run per exchange and which over the run's sightings.

pub mod cleartext_credential;
pub mod common;
pub mod cookie_broad_scope;
pub mod cookie_long_lived_session;
pub mod cookie_missing_httponly;
pub mod cookie_missing_samesite;
pub mod cookie_missing_secure;
pub mod cookie_samesite_none_insecure;
pub mod credential_in_referer;
pub mod credential_in_response;
pub mod credential_in_url;
pub mod jwt_alg_none;
pub mod jwt_expired_accepted;
pub mod key_issued_unauthenticated;
pub mod key_reused_across_roles;
pub mod key_reused_across_subjects;
pub mod key_used_across_services;
pub mod session_fixation;
pub mod session_shared_across_clients;

use super::{CorrelationRule, ExchangeRule};

/// Rules decided on one exchange at a time.
pub fn exchange_rules() -> Vec<Box<dyn ExchangeRule>> {
    vec![
        Box::new(cleartext_credential::CleartextCredential),
        Box::new(credential_in_url::CredentialInUrl),
        Box::new(credential_in_referer::CredentialInReferer),
        Box::new(credential_in_response::CredentialInResponse),
        Box::new(cookie_missing_secure::CookieMissingSecure),
        Box::new(cookie_missing_httponly::CookieMissingHttponly),
        Box::new(cookie_missing_samesite::CookieMissingSamesite),
        Box::new(cookie_samesite_none_insecure::CookieSamesiteNoneInsecure),
        Box::new(cookie_broad_scope::CookieBroadScope),
        Box::new(cookie_long_lived_session::CookieLongLivedSession),
        Box::new(jwt_alg_none::JwtAlgNone),
        Box::new(jwt_expired_accepted::JwtExpiredAccepted),
    ]
}

/// Rules decided over the sightings of the whole run.
pub fn correlation_rules() -> Vec<Box<dyn CorrelationRule>> {
    vec![
        Box::new(key_reused_across_subjects::KeyReusedAcrossSubjects),
        Box::new(key_reused_across_roles::KeyReusedAcrossRoles),
        Box::new(key_used_across_services::KeyUsedAcrossServices),
        Box::new(key_issued_unauthenticated::KeyIssuedUnauthenticated),
        Box::new(session_fixation::SessionFixation),
        Box::new(session_shared_across_clients::SessionSharedAcrossClients),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_per_exchange_rule_of_the_catalog_is_registered_once() {
        let mut ids: Vec<&str> = exchange_rules().iter().map(|r| r.meta().id).collect();
        ids.sort_unstable();
        let mut want: Vec<&str> = crate::analyze::CATALOG
            .iter()
            .filter(|m| m.per_exchange)
            .map(|m| m.id)
            .collect();
        want.sort_unstable();
        assert_eq!(ids, want);
    }
}
