//! One file per rule (ruff style): each holds its documentation (`META`) and its check. The
//! registries below say which rules run per exchange and which over the run's sightings.

pub mod cleartext_credential;
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
    Vec::new()
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
