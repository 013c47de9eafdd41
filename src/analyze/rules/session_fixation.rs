//! Rule `session-fixation`: session id not rotated at login.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use compact_str::format_compact;

use crate::analyze::RuleMeta;
use crate::analyze::{CorrelationCtx, CorrelationRule, Group, Sighting};
use crate::model::Finding;
use crate::model::Severity;

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

    fn check(&self, cx: &CorrelationCtx, groups: &[Group<'_>], out: &mut Vec<Finding>) {
        for group in groups {
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
            // What the login response set is in `cx` (it is another key's sighting).
            if cx.rotated_at_login(&login.source, login.seq, &login.name, &login.key_fp) {
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
    use crate::model::Location;
    use crate::recognize::{Origin, Side};

    fn login(key: &str, seq: u64, status: u16) -> Sighting {
        let mut s = session(key, seq);
        s.is_login = true;
        s.method = "POST".into();
        s.path = "/login".into();
        s.status = Some(status);
        s
    }

    /// A Set-Cookie in the response of login exchange `seq` (every sighting of a login exchange
    /// is marked as such).
    fn set_cookie(key: &str, seq: u64) -> Sighting {
        let mut s = session(key, seq);
        s.is_login = true;
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
