//! Rule `key-reused-across-subjects`: one credential used on behalf of several users.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use compact_str::CompactString;
use std::collections::BTreeSet;

use crate::analyze::RuleMeta;
use crate::analyze::sighting::counted;
use crate::analyze::{CorrelationCtx, CorrelationRule, Group, sighting::group_finding};
use crate::model::Finding;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "key-reused-across-subjects",
    severity: Severity::High,
    title: "One credential used on behalf of several users",
    cwe: None,
    detects: "One credential (API key, basic credential, session id) presented on behalf of two or more distinct subjects, as shown by identity evidence beside it: a JWT `sub`, a Basic user, user headers, distinct authenticated sessions. JWTs themselves are not reported: their subject is fixed.",
    why: "A shared key cannot be attributed or revoked per user; one user's compromise is everyone's, and logs cannot tell who acted.",
    example: "X-API-Key: 6f1d... sent with `X-User: alice` and later with `X-User: bob`",
    remediation: "Issue one credential per user or per service identity; bind keys to their subject server-side.",
    per_exchange: false,
};

/// Subjects come from identity evidence beside the credential (JWT `sub`/email next to an API
/// key, Basic/Digest users, user headers, login form users). Sessions are not counted as
/// subjects: an anonymous session says nothing about who acts. JWTs are skipped: a JWT carries
/// its own fixed subject.
pub struct KeyReusedAcrossSubjects;

impl CorrelationRule for KeyReusedAcrossSubjects {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _cx: &CorrelationCtx, groups: &[Group<'_>], out: &mut Vec<Finding>) {
        for group in groups {
            let presented: Vec<_> = group
                .iter()
                .filter(|s| s.presented() && s.kind != "jwt")
                .collect();
            let subjects: BTreeSet<&str> = presented
                .iter()
                .flat_map(|s| s.subjects.iter().map(CompactString::as_str))
                .collect();
            if subjects.len() < 2 {
                continue;
            }
            let detail = format!(
                "{} subjects: {}",
                subjects.len(),
                counted(
                    presented
                        .iter()
                        .flat_map(|s| s.subjects.iter().map(CompactString::as_str))
                )
            );
            out.extend(group_finding(&META, &presented, detail));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::sighting::testing::{run, sighting};

    #[test]
    fn fires_for_two_users_of_one_key() {
        let mut a = sighting("k1", "api", 1);
        a.subjects = vec!["header:x-user:alice".into()];
        let mut b = sighting("k1", "api", 2);
        b.subjects = vec!["header:x-user:bob".into()];
        let f = run(&KeyReusedAcrossSubjects, vec![b, a]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].count, 2);
        assert_eq!(f[0].locator, Some(crate::model::Locator::Frame(1)));
        assert!(f[0].detail.contains("alice (1)") && f[0].detail.contains("bob (1)"));
    }

    #[test]
    fn silent_for_one_user_for_jwts_and_for_other_keys() {
        let mut a = sighting("k1", "api", 1);
        a.subjects = vec!["basic:alice".into()];
        let b = a.clone();
        let mut c = sighting("k2", "api", 3);
        c.subjects = vec!["basic:bob".into()];
        assert!(run(&KeyReusedAcrossSubjects, vec![a, b, c]).is_empty());
        let mut j1 = sighting("j", "api", 1);
        j1.kind = "jwt".into();
        j1.subjects = vec!["jwt-sub:a".into()];
        let mut j2 = j1.clone();
        j2.subjects = vec!["jwt-sub:b".into()];
        assert!(run(&KeyReusedAcrossSubjects, vec![j1, j2]).is_empty());
    }
}
