//! Rule `cookie-broad-scope`: a cookie scoped wider than the host that set it, or a broken
//! `__Host-`/`__Secure-` prefix. Fed the parsed Set-Cookie lines of one response and the request
//! host, judged with the public-suffix list (`psl`); feeds findings to `analyze::aggregate`.
//!
//! What it detects, why it matters, an example, remediation and CWE are in `META` below, the text
//! that `credsift rules` prints.

use std::net::IpAddr;

use crate::analyze::{ExchangeCtx, ExchangeRule, RuleMeta};
use crate::model::{Finding, Severity};
use crate::recognize::SetCookie;

use super::common::{
    MAX_DETAIL_TEXT, bounded, cookie_finding, cookie_noun, live_cookies, session_cookie,
};

pub static META: RuleMeta = RuleMeta {
    id: "cookie-broad-scope",
    severity: Severity::Low,
    title: "Cookie scoped wider than the host that set it",
    cwe: None,
    detects: "A Set-Cookie whose Domain attribute is a parent of the host that set it (so every sibling subdomain receives it), judged with the public-suffix list; a Domain on a public suffix or one that does not domain-match the host at all (browsers reject both, the detail says so); and broken `__Host-`/`__Secure-` prefix rules (`__Host-` needs Secure, Path=/ and no Domain; `__Secure-` needs Secure; both need a secure origin). A Domain equal to the setting host is not reported: it adds only the host's own subdomains. Flags a HAR cookie object did not record are not reported. A parent Domain on a cookie that is not session-like (preferences, consent, analytics ids shared across a site's hosts on purpose) is info; on a session cookie, and for rejected cookies and broken prefixes, low.",
    why: "Every host under the parent domain (staging servers, user-content hosts, forgotten marketing sites) receives the cookie and can read or overwrite it; a takeover of any subdomain becomes a session theft.",
    example: "Set-Cookie: session=abc; Domain=example.com (set by login.example.com)",
    remediation: "Omit Domain so the cookie is host-only, or use the `__Host-` prefix, which enforces that.",
    per_exchange: true,
};

pub struct CookieBroadScope;

/// What is wrong with a cookie's Domain attribute, relative to the host that set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// A parent domain of the host: all its subdomains receive the cookie.
    Parent,
    /// A public suffix (`co.uk`, `github.io`): browsers reject the cookie.
    PublicSuffix,
    /// Neither the host nor a parent of it: browsers reject the cookie.
    Foreign,
}

/// Judges a Domain attribute (lowercase, leading dot removed) against the setting host.
/// `Domain` equal to the host is not reported: it widens the scope only to the host's own
/// subdomains, which its owner controls; ZAP's loosely-scoped-cookie check draws the line at the
/// same place.
fn judge_domain(domain: &str, host: &str) -> Option<Scope> {
    if domain.eq_ignore_ascii_case(host) {
        return None;
    }
    // An IP host can only set host-only cookies (or Domain equal to its own literal).
    if host.parse::<IpAddr>().is_ok() {
        return Some(Scope::Foreign);
    }
    let is_parent = host.len() > domain.len()
        && host
            .get(host.len() - domain.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(domain))
        && host.as_bytes().get(host.len() - domain.len() - 1) == Some(&b'.');
    if !is_parent {
        return Some(Scope::Foreign);
    }
    // Only listed suffixes count: the list's default `*` rule would make every unknown
    // single-label parent (`corp`, `lan`) a "public suffix".
    let is_suffix = psl::suffix(domain.as_bytes())
        .is_some_and(|s| s.is_known() && s.as_bytes().len() == domain.len());
    Some(if is_suffix {
        Scope::PublicSuffix
    } else {
        Scope::Parent
    })
}

/// The Domain attribute as browsers apply it: leading and trailing dots dropped, empty ignored.
fn domain_attr(c: &SetCookie) -> Option<&str> {
    let d = c.domain.as_deref()?.trim();
    let d = d.strip_prefix('.').unwrap_or(d);
    let d = d.strip_suffix('.').unwrap_or(d);
    (!d.is_empty()).then_some(d)
}

fn has_prefix(name: &str, prefix: &str) -> bool {
    // RFC 6265bis matches cookie prefixes case-insensitively.
    name.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

fn push_problem(detail: &mut String, p: &str) {
    if !detail.is_empty() {
        detail.push_str("; ");
    }
    detail.push_str(p);
}

impl ExchangeRule for CookieBroadScope {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &ExchangeCtx<'_>, out: &mut Vec<Finding>) {
        if cx.rec.set_cookies.is_empty() {
            return;
        }
        // The setting host: without a request it is unknown, and Domain cannot be judged.
        let host = cx
            .ex
            .request
            .as_ref()
            .map(|r| r.url.host.as_str())
            .unwrap_or("");
        let host = host.strip_suffix('.').unwrap_or(host);
        for c in live_cookies(cx) {
            let domain = domain_attr(c);
            let scope = match domain {
                Some(d) if !host.is_empty() => judge_domain(d, host),
                _ => None,
            };
            let host_prefix = has_prefix(&c.name, "__Host-");
            let secure_prefix = !host_prefix && has_prefix(&c.name, "__Secure-");
            if scope.is_none() && !host_prefix && !secure_prefix {
                continue;
            }
            let mut detail = String::new();
            let d = bounded(domain.unwrap_or(""), MAX_DETAIL_TEXT);
            let h = bounded(host, MAX_DETAIL_TEXT);
            let session = session_cookie(cx, c).is_some();
            match scope {
                Some(Scope::Parent) => {
                    detail = format!(
                        "Domain={d} is wider than {h}: every host under {d} receives this {}",
                        cookie_noun(session)
                    )
                }
                Some(Scope::PublicSuffix) => {
                    detail = format!("Domain={d} is a public suffix: browsers reject the cookie")
                }
                Some(Scope::Foreign) => {
                    detail =
                        format!("Domain={d} does not domain-match {h}: browsers reject the cookie")
                }
                None => {}
            }
            if host_prefix || secure_prefix {
                let prefix = if host_prefix { "__Host-" } else { "__Secure-" };
                let before = detail.len();
                // `None` flags come from HAR cookie objects that did not record them.
                if c.secure == Some(false) {
                    push_problem(&mut detail, &format!("{prefix} cookie without Secure"));
                }
                if host_prefix {
                    match c.path.as_deref() {
                        Some("/") => {}
                        None if c.from_har_object => {}
                        _ => push_problem(&mut detail, "__Host- cookie without Path=/"),
                    }
                    // A HAR object may fill `domain` with the host itself for a host-only cookie.
                    let domain_set = match domain {
                        Some(d) => !(c.from_har_object && d.eq_ignore_ascii_case(host)),
                        None => false,
                    };
                    if domain_set {
                        push_problem(&mut detail, "__Host- cookie with a Domain attribute");
                    }
                }
                if detail.len() != before {
                    detail.push_str(": browsers reject it");
                }
            }
            if detail.is_empty() {
                continue;
            }
            // Spreading a preference or tracking cookie over a site's hosts is what it is for;
            // only a session cookie's wide scope hands out authority. Rejected cookies and
            // broken prefixes stay low: they are bugs whatever the cookie holds.
            let info_only =
                !session && scope == Some(Scope::Parent) && !host_prefix && !secure_prefix;
            let mut f = cookie_finding(cx, &META, c, session, detail);
            if info_only {
                f.severity = Severity::Info;
            }
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::rules::common::testkit::*;
    use crate::model::Transport;
    use crate::model::{HarCookie, Location};

    fn one(url: &str, line: &str) -> Vec<Finding> {
        let t = if url.starts_with("https") {
            Transport::Tls
        } else {
            Transport::Cleartext
        };
        ex(t, url).set_cookie(line, true).run(&CookieBroadScope)
    }

    #[test]
    fn parent_domain_fires() {
        let f = one(
            "https://login.example.com/",
            "session=abcdef0123456789; Domain=example.com; Secure",
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Low);
        assert_eq!(f[0].host, "login.example.com");
        assert_eq!(f[0].name, "session");
        assert_eq!(f[0].location, Some(Location::SetCookie));
        assert_eq!(f[0].key_fp, "");
        assert!(
            f[0].detail.contains("wider than login.example.com"),
            "{}",
            f[0].detail
        );
        // leading dot and case do not matter
        let f = one(
            "https://a.b.example.co.uk/",
            "s=1; Domain=.Example.CO.UK; Secure",
        );
        assert_eq!(f.len(), 1);
        assert!(f[0].detail.contains("example.co.uk"));
    }

    #[test]
    fn parent_domain_on_a_non_session_cookie_is_info() {
        let f = ex(Transport::Tls, "https://www.example.com/")
            .set_cookie("lang=en; Domain=example.com; Secure", false)
            .set_cookie("s=1; Domain=co.uk; Secure", false)
            .run(&CookieBroadScope);
        assert_eq!(f.len(), 2);
        let lang = f.iter().find(|x| x.name == "lang").unwrap();
        assert_eq!(lang.severity, Severity::Info);
        assert_eq!(lang.kind, "cookie");
        // A cookie browsers reject stays low whatever it holds.
        let s = f.iter().find(|x| x.name == "s").unwrap();
        assert_eq!(s.severity, Severity::Low);
    }

    #[test]
    fn public_suffix_and_foreign_domains_fire() {
        let f = one("https://shop.example.co.uk/", "s=1; Domain=co.uk; Secure");
        assert_eq!(f.len(), 1);
        assert!(f[0].detail.contains("public suffix"), "{}", f[0].detail);
        let f = one("https://alice.github.io/", "s=1; Domain=github.io; Secure");
        assert!(f[0].detail.contains("public suffix"));
        let f = one(
            "https://app.example.com/",
            "s=1; Domain=other.example; Secure",
        );
        assert!(f[0].detail.contains("does not domain-match"));
        // a suffix look-alike is not a parent
        let f = one("https://badexample.com/", "s=1; Domain=example.com; Secure");
        assert!(f[0].detail.contains("does not domain-match"));
        let f = one("https://10.0.0.5/", "s=1; Domain=0.0.5; Secure");
        assert!(f[0].detail.contains("does not domain-match"));
    }

    #[test]
    fn host_only_and_domain_equal_to_host_are_silent() {
        for (url, line) in [
            ("https://app.example.com/", "s=1; Secure"),
            (
                "https://app.example.com/",
                "s=1; Domain=app.example.com; Secure",
            ),
            (
                "https://app.example.com/",
                "s=1; Domain=.APP.example.com.; Secure",
            ),
            ("https://github.io/", "s=1; Domain=github.io; Secure"),
            ("https://10.0.0.5/", "s=1; Domain=10.0.0.5; Secure"),
            ("https://app.example.com/", "__Host-s=1; Secure; Path=/"),
            (
                "https://app.example.com/",
                "__Secure-s=1; Secure; Domain=app.example.com",
            ),
            (
                "https://app.example.com/",
                "s=1; Domain=example.com; Max-Age=0",
            ),
            ("https://app.example.com/", "s=1; Domain="),
        ] {
            assert!(one(url, line).is_empty(), "{line}");
        }
        // Unknown setting host: Domain cannot be judged.
        let mut e = ex(Transport::Tls, "https://app.example.com/")
            .set_cookie("s=1; Domain=example.com; Secure", true);
        e.ex.request = None;
        assert!(e.run(&CookieBroadScope).is_empty());
    }

    #[test]
    fn broken_prefixes_fire() {
        let f = one(
            "https://app.example.com/",
            "__Host-sid=1; Path=/app; Domain=example.com",
        );
        assert_eq!(f.len(), 1);
        let d = &f[0].detail;
        assert!(d.contains("wider than"), "{d}");
        assert!(d.contains("without Secure"), "{d}");
        assert!(d.contains("Path=/"), "{d}");
        assert!(d.contains("Domain attribute"), "{d}");
        assert!(d.ends_with("browsers reject it"), "{d}");
        let f = one("https://app.example.com/", "__host-sid=1; Secure");
        assert!(f[0].detail.contains("Path=/"));
        let f = one("https://app.example.com/", "__Secure-id=1; Path=/");
        assert_eq!(f.len(), 1);
        assert!(f[0].detail.contains("__Secure- cookie without Secure"));
        // Set over cleartext, a prefixed cookie is rejected by browsers: nothing is exposed, so
        // nothing is reported here (the cleartext rules cover the connection).
        assert!(one("http://app.example.com/", "__Secure-id=1; Secure").is_empty());
    }

    #[test]
    fn har_objects_do_not_report_unrecorded_prefix_attributes() {
        let har = SetCookie::from_har(&HarCookie {
            name: "__Host-sid".into(),
            value: "abcdef0123456789".into(),
            domain: Some("app.example.com".into()),
            ..HarCookie::default()
        });
        let e = ex(Transport::Tls, "https://app.example.com/").har_cookie(har, true);
        assert!(e.run(&CookieBroadScope).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn any_cookie_line_and_host_never_panics(
            line in "[ -~é\\.;=]{0,80}",
            host in "[a-zé0-9\\.:\\[\\]-]{0,30}",
        ) {
            if SetCookie::parse(&line).is_some() {
                let mut e = ex(Transport::Tls, "https://x/").set_cookie(&line, true);
                if let Some(r) = e.ex.request.as_mut() {
                    r.url.host = host;
                }
                let _ = e.run(&CookieBroadScope);
            }
        }
    }
}
