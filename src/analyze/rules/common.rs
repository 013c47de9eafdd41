//! Helpers shared by the per-exchange rules (fed by `ExchangeCtx`, read by the rule files beside
//! it): response status classes, the Set-Cookie lines worth judging, session-cookie matching,
//! origin comparison, OAuth token endpoints, and a builder of cookie findings. Nothing here
//! allocates unless a finding is being built.

use crate::analyze::{ExchangeCtx, RuleMeta};
use crate::model::{Finding, Location, Timestamp, Url, default_port, split_host_port};
use crate::recognize::{Credential, JwtInfo, SetCookie, evidence_of};

/// The response was a success (2xx): the server accepted what the request presented.
pub fn accepted(cx: &ExchangeCtx<'_>) -> Option<u16> {
    cx.ex
        .response
        .as_ref()
        .map(|r| r.status)
        .filter(|s| (200..300).contains(s))
}

/// The time a Set-Cookie is judged at: the response's time, else the exchange's.
pub fn cookie_now(cx: &ExchangeCtx<'_>) -> Option<Timestamp> {
    cx.ex
        .response
        .as_ref()
        .and_then(|r| r.ts)
        .or_else(|| cx.ex.ts())
}

/// The cookies this response sets, deletions left out: clearing a cookie is never a finding.
pub fn live_cookies<'a>(cx: &ExchangeCtx<'a>) -> impl Iterator<Item = &'a SetCookie> + 'a {
    let now = cookie_now(cx);
    cx.rec
        .set_cookies
        .iter()
        .filter(move |c| !c.is_deletion(now))
}

/// The session credential `recognize` saw in this Set-Cookie, if it judged the cookie a session.
pub fn session_cookie<'a>(cx: &ExchangeCtx<'a>, cookie: &SetCookie) -> Option<&'a Credential> {
    cx.rec
        .response
        .iter()
        .find(|c| c.location == Location::SetCookie && c.session_like && c.name == cookie.name)
}

/// A finding about one Set-Cookie. `key_fp` stays empty on purpose: a session cookie gets a new
/// value on every login, and the problem (a flag missing on cookie `sid` of host `h`) is one
/// problem however many values it had, so the aggregation key must not split it by value.
pub fn cookie_finding(
    cx: &ExchangeCtx<'_>,
    meta: &'static RuleMeta,
    cookie: &SetCookie,
    session: bool,
    detail: String,
) -> Finding {
    let mut f = cx.finding(meta);
    f.location = Some(Location::SetCookie);
    f.name = cookie.name.as_str().into();
    f.kind = if session { "session-cookie" } else { "cookie" }.into();
    f.evidence = evidence_of(&cookie.value);
    f.detail = detail.into();
    f
}

/// `"session cookie"` or `"cookie"`, for details.
pub fn cookie_noun(session: bool) -> &'static str {
    if session { "session cookie" } else { "cookie" }
}

/// Splits an origin `scheme://host[:port]` into its parts with the port made explicit.
fn origin_parts(origin: &str) -> Option<(&str, &str, Option<u16>)> {
    let (scheme, rest) = origin.split_once("://")?;
    let rest = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let hostport = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let (host, port) = split_host_port(hostport);
    let host = host.strip_suffix('.').unwrap_or(host);
    Some((scheme, host, port.or_else(|| default_port_ci(scheme))))
}

fn default_port_ci(scheme: &str) -> Option<u16> {
    ["http", "https", "ws", "wss"]
        .into_iter()
        .find(|s| s.eq_ignore_ascii_case(scheme))
        .and_then(default_port)
}

/// Whether `origin` is the origin of `url`, without building the URL's origin string.
pub fn is_origin_of(origin: &str, url: &Url) -> bool {
    match origin_parts(origin) {
        Some((scheme, host, port)) => {
            scheme.eq_ignore_ascii_case(&url.scheme)
                && host.eq_ignore_ascii_case(url.host.strip_suffix('.').unwrap_or(&url.host))
                && port == url.port.or_else(|| default_port_ci(&url.scheme))
        }
        None => false,
    }
}

/// An origin fit for a detail line: userinfo dropped (a hostile Referer could carry one) and
/// bounded in length.
pub fn display_origin(origin: &str) -> String {
    let (scheme, rest) = origin.split_once("://").unwrap_or(("", origin));
    let hostport = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let mut s = String::with_capacity(scheme.len() + 3 + hostport.len().min(MAX_DETAIL_TEXT));
    if !scheme.is_empty() {
        s.push_str(scheme);
        s.push_str("://");
    }
    s.push_str(bounded(hostport, MAX_DETAIL_TEXT));
    s
}

/// Longest piece of input text (an origin, an `alg` value) copied into a detail.
pub const MAX_DETAIL_TEXT: usize = 100;

/// `s` cut to at most `max` bytes on a character boundary.
pub fn bounded(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// The request went to an OAuth 2.0 token endpoint, whose job is to return tokens: a token path
/// (`/token`, `/oauth/token`, `/oauth2/v2.0/token`, `/connect/token`, GitHub's `/access_token`,
/// PingFederate's `/token.oauth2`) or a body with a `grant_type` parameter or field.
pub fn is_token_endpoint(cx: &ExchangeCtx<'_>) -> bool {
    let Some(req) = cx.ex.request.as_ref() else {
        return false;
    };
    let path = req.url.path.split(';').next().unwrap_or("");
    let path = path.strip_suffix('/').unwrap_or(path);
    let last = path.rsplit('/').next().unwrap_or("");
    if ["token", "access_token", "token.oauth2"]
        .iter()
        .any(|t| last.eq_ignore_ascii_case(t))
    {
        return true;
    }
    let body = &req.body.bytes;
    memchr::memmem::find(body, b"grant_type=").is_some()
        || memchr::memmem::find(body, b"\"grant_type\"").is_some()
}

/// A Google API key (`AIza…`) that a response hands out in its body: a browser key, printed
/// into every page or app config that uses Maps, Firebase or YouTube embeds, public by design
/// and restricted by referrer or app id, not by secrecy. Not a leak by itself; the same key
/// presented in a request (cleartext, URL) is still reported, and so is an echo.
pub fn is_public_browser_key(c: &Credential) -> bool {
    c.kind == "google-api-key"
        && c.origin == crate::recognize::Origin::Issued
        && c.location == Location::ResponseBody
}

/// A duration for a detail line: `3 days`, `5 h`, `42 s`.
pub fn human_secs(secs: i64) -> String {
    let s = secs.unsigned_abs();
    if s >= 2 * 86_400 {
        format!("{} days", s / 86_400)
    } else if s >= 2 * 3_600 {
        format!("{} h", s / 3_600)
    } else if s >= 2 * 60 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// Whether a decoded JWT was presented by the client in this request (not issued in the response
/// nor merely carried in a Referer URL). A JWT without a location counts when a request credential
/// has its fingerprint.
pub fn jwt_presented(cx: &ExchangeCtx<'_>, j: &JwtInfo) -> bool {
    match j.location {
        Some(l) => !l.in_response() && l != Location::Referer,
        None => cx.rec.request.iter().any(|c| c.key_fp == j.key_fp),
    }
}

/// A finding about a presented JWT: evidence and kind from the request credential that carried
/// it, when `recognize` reported one.
pub fn jwt_finding(cx: &ExchangeCtx<'_>, meta: &'static RuleMeta, j: &JwtInfo) -> Finding {
    let cred = cx
        .rec
        .request
        .iter()
        .filter(|c| c.key_fp == j.key_fp)
        .min_by_key(|c| (Some(c.location) != j.location, c.name != j.name));
    let mut f = match cred {
        Some(c) => cx.credential_finding(meta, c),
        None => cx.finding(meta),
    };
    f.location = j.location.or(f.location);
    if !j.name.is_empty() {
        f.name = j.name.as_str().into();
    }
    f.kind = "jwt".into();
    f.key_fp = j.key_fp.as_str().into();
    f
}

/// An `alg` header value fit for a detail line: it is attacker-chosen text.
pub fn display_alg(j: &JwtInfo) -> &str {
    match j.alg.as_deref() {
        None => "(absent)",
        Some(a) if a.len() <= 20 && a.bytes().all(|b| b.is_ascii_graphic()) => a,
        Some(_) => "(unprintable)",
    }
}

/// Hand-built exchanges and recognitions for the rule tests: the recognizer is developed apart,
/// so the rules are tested against the `Recognized` contract directly.
#[cfg(test)]
pub mod testkit {
    use std::sync::Arc;

    use crate::analyze::{AnalyzeConfig, ExchangeCtx, ExchangeRule};
    use crate::model::{
        Exchange, Finding, Location, Locator, Request, Response, Timestamp, Transport, Url,
    };
    use crate::recognize::{Credential, JwtInfo, Origin, Recognized, SetCookie, Side};
    use crate::secret::{Secret, Sensitive};

    /// 2024-01-01T00:00:00Z in ns: the request time of every test exchange.
    pub const T0: Timestamp = 1_704_067_200_000_000_000;

    pub struct Ex {
        pub ex: Exchange,
        pub rec: Recognized,
        pub cfg: AnalyzeConfig,
    }

    /// A GET of `url` (absolute) over `transport`, at `T0`, with no response yet.
    pub fn ex(transport: Transport, url: &str) -> Ex {
        let mut ex = Exchange::new(Arc::from("test.pcap"), transport);
        ex.request = Some(Request {
            locator: Some(Locator::Frame(1)),
            ts: Some(T0),
            method: "GET".into(),
            target: url.into(),
            url: Url::parse(url, "http", None),
            version: "HTTP/1.1".into(),
            ..Request::default()
        });
        Ex {
            ex,
            rec: Recognized {
                url: Sensitive::plain(url),
                ts: Some(T0),
                ..Recognized::default()
            },
            cfg: AnalyzeConfig::default(),
        }
    }

    impl Ex {
        pub fn status(mut self, status: u16) -> Self {
            self.ex.response.get_or_insert_with(|| Response {
                locator: Some(Locator::Frame(2)),
                ts: Some(T0 + 1_000_000),
                ..Response::default()
            });
            if let Some(r) = self.ex.response.as_mut() {
                r.status = status;
            }
            self
        }
        pub fn resp_header(mut self, name: &str, value: &str) -> Self {
            if self.ex.response.is_none() {
                self = self.status(200);
            }
            if let Some(r) = self.ex.response.as_mut() {
                r.headers.push(name, value);
            }
            self
        }
        pub fn req_body(mut self, body: &str) -> Self {
            if let Some(r) = self.ex.request.as_mut() {
                r.method = "POST".into();
                r.body.bytes = body.as_bytes().to_vec();
            }
            self
        }
        pub fn no_ts(mut self) -> Self {
            if let Some(r) = self.ex.request.as_mut() {
                r.ts = None;
            }
            if let Some(r) = self.ex.response.as_mut() {
                r.ts = None;
            }
            self.rec.ts = None;
            self
        }
        pub fn req_cred(mut self, c: Credential) -> Self {
            self.rec.request.push(c);
            self
        }
        pub fn resp_cred(mut self, c: Credential) -> Self {
            self.rec.response.push(c);
            self
        }
        /// A Set-Cookie line as `recognize` would parse it; `session` adds the session credential
        /// that `recognize` would report for it.
        pub fn set_cookie(mut self, line: &str, session: bool) -> Self {
            if self.ex.response.is_none() {
                self = self.status(200);
            }
            if let Some(r) = self.ex.response.as_mut() {
                r.headers.push("Set-Cookie", line);
            }
            let Some(c) = SetCookie::parse(line) else {
                panic!("test cookie line does not parse");
            };
            if session {
                let mut cred = cred(
                    Location::SetCookie,
                    &c.name,
                    "session-cookie",
                    c.value.expose(),
                );
                cred.side = Side::Response;
                cred.origin = Origin::Issued;
                cred.session_like = true;
                self.rec.response.push(cred);
            }
            self.rec.set_cookies.push(c);
            self
        }
        pub fn har_cookie(mut self, c: SetCookie, session: bool) -> Self {
            if session {
                let mut cred = cred(
                    Location::SetCookie,
                    &c.name,
                    "session-cookie",
                    c.value.expose(),
                );
                cred.side = Side::Response;
                cred.origin = Origin::Issued;
                cred.session_like = true;
                self.rec.response.push(cred);
            }
            self.rec.set_cookies.push(c);
            self
        }
        pub fn jwt(mut self, j: JwtInfo) -> Self {
            self.rec.jwts.push(j);
            self
        }
        pub fn run(&self, rule: &dyn ExchangeRule) -> Vec<Finding> {
            let cx = ExchangeCtx {
                ex: &self.ex,
                rec: &self.rec,
                cfg: &self.cfg,
            };
            let mut out = Vec::new();
            rule.check(&cx, &mut out);
            for f in &out {
                assert_eq!(f.rule, rule.meta().id);
                // Nothing a rule writes in `detail` may carry a raw credential value.
                for c in self.rec.request.iter().chain(&self.rec.response) {
                    if c.value.len() >= 6 {
                        assert!(!f.detail.contains(c.value.expose()), "secret in detail");
                    }
                }
                for c in &self.rec.set_cookies {
                    if c.value.len() >= 6 {
                        assert!(!f.detail.contains(c.value.expose()), "cookie in detail");
                    }
                }
            }
            out
        }
    }

    /// A request-side credential presented by the client.
    pub fn cred(location: Location, name: &str, kind: &str, value: &str) -> Credential {
        let v = Secret::new(value);
        Credential {
            kind: kind.into(),
            detector: format!("test-{kind}"),
            side: Side::Request,
            origin: Origin::Presented,
            location,
            name: name.into(),
            key_fp: format!("fp-{value}"),
            evidence: crate::recognize::evidence_of(&v),
            value: v,
            session_like: kind == "session-cookie",
        }
    }

    /// A response-side credential with the given origin.
    pub fn resp(
        location: Location,
        name: &str,
        kind: &str,
        value: &str,
        origin: Origin,
    ) -> Credential {
        let mut c = cred(location, name, kind, value);
        c.side = Side::Response;
        c.origin = origin;
        c
    }

    /// A decoded JWT presented in the Authorization header.
    pub fn jwt(value_fp: &str) -> JwtInfo {
        JwtInfo {
            location: Some(Location::Header),
            name: "authorization".into(),
            key_fp: value_fp.into(),
            alg: Some("HS256".into()),
            ..JwtInfo::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;
    use crate::model::Transport;

    #[test]
    fn origins_compare_with_default_ports_and_case() {
        let u = |s: &str| Url::parse(s, "http", None);
        assert!(is_origin_of(
            "https://a.example",
            &u("https://A.example:443/x?y")
        ));
        assert!(is_origin_of(
            "http://a.example:8080",
            &u("http://a.example:8080/")
        ));
        assert!(!is_origin_of("https://a.example", &u("http://a.example/")));
        assert!(!is_origin_of(
            "https://a.example",
            &u("https://a.example:8443/")
        ));
        assert!(!is_origin_of("https://b.example", &u("https://a.example/")));
        assert!(is_origin_of(
            "HTTP://a.example.",
            &u("http://a.example:80/")
        ));
        assert!(!is_origin_of("garbage", &u("http://garbage/")));
    }

    #[test]
    fn display_origin_drops_userinfo_and_bounds() {
        assert_eq!(display_origin("https://u:p@a.example"), "https://a.example");
        let long = format!("https://{}", "é".repeat(200));
        assert!(display_origin(&long).len() <= 8 + MAX_DETAIL_TEXT);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_secs(5), "5 s");
        assert_eq!(human_secs(600), "10 min");
        assert_eq!(human_secs(7_200), "2 h");
        assert_eq!(human_secs(31_536_000), "365 days");
        assert_eq!(
            human_secs(i64::MIN),
            format!("{} days", i64::MIN.unsigned_abs() / 86_400)
        );
    }

    #[test]
    fn token_endpoints() {
        let is = |e: &Ex| {
            is_token_endpoint(&ExchangeCtx {
                ex: &e.ex,
                rec: &e.rec,
                cfg: &e.cfg,
            })
        };
        for u in [
            "https://id.example/oauth/token",
            "https://id.example/oauth2/v2.0/token",
            "https://id.example/connect/token/",
            "https://github.com/login/oauth/access_token",
            "https://sso.example/as/token.oauth2",
        ] {
            assert!(is(&ex(Transport::Tls, u)), "{u}");
        }
        assert!(is(
            &ex(Transport::Tls, "https://id.example/x").req_body("grant_type=password&u=a")
        ));
        assert!(!is(&ex(Transport::Tls, "https://id.example/tokens")));
        assert!(!is(&ex(Transport::Tls, "https://id.example/api/me")));
    }
}
