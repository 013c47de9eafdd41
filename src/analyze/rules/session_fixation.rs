//! Rule `session-fixation`: session id not rotated at login.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use compact_str::format_compact;
use std::collections::{HashMap, HashSet};

use crate::analyze::RuleMeta;
use crate::analyze::{CorrelationRule, Sighting, SightingPool};
use crate::model::Severity;
use crate::model::{Finding, Location};
use crate::recognize::Side;

pub static META: RuleMeta = RuleMeta {
    id: "session-fixation",
    severity: Severity::High,
    title: "Session id not rotated at login",
    cwe: Some(384),
    detects: "A session identifier that was set or sent before a successful login (credentials in a body or Basic auth to a login-like endpoint, answered 2xx or 3xx) and is still sent after it, with no new value issued for that cookie by the login response.",
    why: "An attacker who plants a session id in a victim's browser before login shares the victim's authenticated session afterwards.",
    example: "Cookie: JSESSIONID=A1 on GET /login, POST /login → 302 without Set-Cookie, Cookie: JSESSIONID=A1 on GET /account",
    remediation: "Issue a new session id on every privilege change (login, logout, role change) and invalidate the old one.",
    per_exchange: false,
};

/// For each session identifier presented in a successful login request (2xx or 3xx): if the
/// login response did not set a new value for the same cookie name, and the identifier is
/// presented again after the login, the session was not rotated. A site that rotates (a new
/// Set-Cookie value for that name in the login response) is never flagged, and neither is one
/// whose old id is never sent again.
pub struct SessionFixation;

impl CorrelationRule for SessionFixation {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, pool: &SightingPool, out: &mut Vec<Finding>) {
        // What each login response set, by exchange (source, ordinal): only login exchanges
        // matter, so the map stays small even for large pools.
        let logins: HashSet<(&str, u64)> = pool
            .iter()
            .filter(|s| s.is_login)
            .map(|s| (&*s.source, s.seq))
            .collect();
        let mut set_at_login: HashMap<(&str, u64), Vec<&Sighting>> = HashMap::new();
        for r in pool.iter() {
            if r.side == Side::Response
                && r.location == Location::SetCookie
                && logins.contains(&(&*r.source, r.seq))
            {
                set_at_login.entry((&*r.source, r.seq)).or_default().push(r);
            }
        }
        for (_, group) in pool.by_key() {
            let logins: Vec<&Sighting> = group
                .iter()
                .filter(|s| {
                    s.presented()
                        && s.session_like
                        && s.is_login
                        && s.status.is_some_and(|c| (200..400).contains(&c))
                })
                .collect();
            let Some(login) = logins.first() else {
                continue;
            };
            let rotated = set_at_login
                .get(&(&*login.source, login.seq))
                .into_iter()
                .flatten()
                .any(|r| r.name == login.name && r.key_fp != login.key_fp);
            if rotated {
                continue;
            }
            let after: Vec<&Sighting> = group
                .iter()
                .filter(|s| s.presented() && !s.is_login && s.order_key() > login.order_key())
                .collect();
            let Some(next) = after.first() else {
                continue;
            };
            let mut f = login.finding(&META);
            f.count = after.len() as u64;
            f.last_seen = after.iter().filter_map(|s| s.ts).max().or(f.last_seen);
            f.detail = format_compact!(
                "login {} {} answered {} without a new `{}`; the same id was sent {} time(s) after it, first {} {} ({})",
                login.method,
                login.path,
                login.status.map(|c| c.to_string()).unwrap_or_default(),
                login.name,
                after.len(),
                next.method,
                next.path,
                next.locator.map(|l| l.to_string()).unwrap_or_default()
            );
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::sighting::testing::{run, session};
    use crate::recognize::Origin;

    fn login(key: &str, seq: u64, status: u16) -> Sighting {
        let mut s = session(key, seq);
        s.is_login = true;
        s.method = "POST".into();
        s.path = "/login".into();
        s.status = Some(status);
        s
    }

    fn set_cookie(key: &str, seq: u64) -> Sighting {
        let mut s = session(key, seq);
        s.side = Side::Response;
        s.origin = Origin::Issued;
        s.location = Location::SetCookie;
        s
    }

    #[test]
    fn fires_when_id_survives_login() {
        let f = run(
            &SessionFixation,
            vec![session("A", 1), login("A", 2, 302), session("A", 3)],
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].locator, Some(crate::model::Locator::Frame(2)));
        assert!(f[0].detail.contains("302"));
    }

    #[test]
    fn silent_when_rotated_failed_or_never_reused() {
        // The login response sets a new value for the same cookie: rotated.
        assert!(
            run(
                &SessionFixation,
                vec![
                    login("A", 2, 302),
                    set_cookie("B", 2),
                    session("A", 3),
                    session("B", 3)
                ]
            )
            .is_empty()
        );
        // Failed login.
        assert!(run(&SessionFixation, vec![login("A", 2, 401), session("A", 3)]).is_empty());
        // Old id never sent again.
        assert!(run(&SessionFixation, vec![login("A", 2, 200), session("B", 3)]).is_empty());
    }
}
