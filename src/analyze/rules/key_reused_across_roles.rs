//! Rule `key-reused-across-roles`: one credential used with several roles or beyond its scope.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use compact_str::CompactString;
use std::collections::BTreeSet;

use crate::analyze::RuleMeta;
use crate::analyze::sighting::counted;
use crate::analyze::{CorrelationCtx, CorrelationRule, Group, Sighting, sighting::group_finding};
use crate::model::Finding;
use crate::model::Severity;

pub static META: RuleMeta = RuleMeta {
    id: "key-reused-across-roles",
    severity: Severity::High,
    title: "One credential used with several roles or beyond its scope",
    cwe: Some(269),
    detects: "One credential presented with two or more distinct roles or scopes (JWT claims, role headers), or used for a successful write (POST/PUT/PATCH/DELETE answered 2xx) where its own scope claims say read-only.",
    why: "Privileges should follow the credential; a key that acts as both reader and admin means the server trusts the client's claim of role, or a key has more power than it should.",
    example: "The same key sent with `X-Role: viewer` and `X-Role: admin`",
    remediation: "Derive the role server-side from the credential; issue separate keys per role; enforce scopes on every write.",
    per_exchange: false,
};

/// Two checks: (1) one non-JWT credential presented with two or more distinct non-empty role
/// sets (role headers, claims of a JWT sent beside it); (2) any credential, JWTs included, whose
/// roles are all read-only scopes, used for a write (POST/PUT/PATCH/DELETE) answered 2xx.
pub struct KeyReusedAcrossRoles;

fn is_write(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
}

/// A scope or role that only grants reading: `read`, `readonly`, `viewer`, `read:users`,
/// `users.read`, `https://www.googleapis.com/auth/drive.readonly`...
fn read_only(role: &str) -> bool {
    let r = role.to_ascii_lowercase();
    let last = r.rsplit(['/', ':', '.']).next().unwrap_or(&r);
    let first = r.split([':', '.']).next().unwrap_or(&r);
    [
        "read",
        "readonly",
        "read-only",
        "read_only",
        "viewer",
        "view",
        "reader",
        "ro",
    ]
    .iter()
    .any(|k| last == *k || first == *k)
}

fn role_set(s: &Sighting) -> Vec<&str> {
    let mut v: Vec<&str> = s.roles.iter().map(CompactString::as_str).collect();
    v.sort_unstable();
    v.dedup();
    v
}

impl CorrelationRule for KeyReusedAcrossRoles {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _cx: &CorrelationCtx, groups: &[Group<'_>], out: &mut Vec<Finding>) {
        for group in groups {
            let presented: Vec<&Sighting> = group.iter().filter(|s| s.presented()).collect();
            let non_jwt: Vec<&Sighting> = presented
                .iter()
                .copied()
                .filter(|s| s.kind != "jwt" && !s.roles.is_empty())
                .collect();
            let sets: BTreeSet<Vec<&str>> = non_jwt.iter().map(|s| role_set(s)).collect();
            if sets.len() >= 2 {
                let shown: Vec<String> = non_jwt.iter().map(|s| role_set(s).join("+")).collect();
                let detail = format!(
                    "{} role sets: {}",
                    sets.len(),
                    counted(shown.iter().map(String::as_str))
                );
                out.extend(group_finding(&META, &non_jwt, detail));
                continue;
            }
            let writes: Vec<&Sighting> = presented
                .iter()
                .copied()
                .filter(|s| {
                    is_write(&s.method)
                        && s.status.is_some_and(|c| (200..300).contains(&c))
                        && !s.roles.is_empty()
                        && s.roles.iter().all(|r| read_only(r))
                })
                .collect();
            if let Some(w) = writes.first() {
                let detail = format!(
                    "read-only scope ({}) used to write: {}",
                    role_set(w).join(" "),
                    counted(writes.iter().map(|s| s.method.as_str()))
                );
                out.extend(group_finding(&META, &writes, detail));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::sighting::testing::{run, sighting};

    #[test]
    fn fires_on_two_role_sets() {
        let mut a = sighting("k", "api", 1);
        a.roles = vec!["viewer".into()];
        let mut b = sighting("k", "api", 2);
        b.roles = vec!["admin".into()];
        let f = run(&KeyReusedAcrossRoles, vec![a, b]);
        assert_eq!(f.len(), 1);
        assert!(f[0].detail.contains("admin (1)"), "{}", f[0].detail);
    }

    #[test]
    fn fires_on_successful_write_with_read_scope() {
        let mut a = sighting("k", "api", 1);
        a.kind = "jwt".into();
        a.roles = vec!["read:orders".into(), "orders.read".into()];
        a.method = "DELETE".into();
        a.status = Some(204);
        let f = run(&KeyReusedAcrossRoles, vec![a.clone()]);
        assert_eq!(f.len(), 1);
        a.status = Some(403);
        assert!(run(&KeyReusedAcrossRoles, vec![a.clone()]).is_empty());
        a.status = Some(200);
        a.roles = vec!["write:orders".into()];
        assert!(run(&KeyReusedAcrossRoles, vec![a]).is_empty());
    }

    #[test]
    fn silent_on_one_role_set_and_for_jwts_with_their_own_roles() {
        let mut a = sighting("k", "api", 1);
        a.roles = vec!["admin".into()];
        let b = a.clone();
        assert!(run(&KeyReusedAcrossRoles, vec![a, b]).is_empty());
        let mut j1 = sighting("j", "api", 1);
        j1.kind = "jwt".into();
        j1.roles = vec!["admin".into()];
        let mut j2 = j1.clone();
        j2.roles = vec!["user".into()];
        assert!(run(&KeyReusedAcrossRoles, vec![j1, j2]).is_empty());
        assert!(read_only("https://www.googleapis.com/auth/drive.readonly"));
        assert!(!read_only("thread"));
    }
}
