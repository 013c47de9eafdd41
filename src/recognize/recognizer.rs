//! The recognizer: walks one `model::Exchange` (request headers, cookies, URL, body, Referer;
//! response Set-Cookie, headers, body) with the compiled `tables` and fills `Recognized` for
//! `analyze`. Values are normalised (percent-decoded, `Bearer ` stripped, Basic decoded) before
//! fingerprinting so that one secret written three ways has one `key_fp`.

use std::collections::HashSet;

use super::auth::{self, Ntlm};
use super::body::{self, BodyKind};
use super::config::{self, Action};
use super::tables::{Det, Tables};
use super::{
    Credential, Identity, JwtInfo, Origin, RecognizeError, Recognized, RefererInfo, SetCookie, Side,
};
use crate::model::{Exchange, Location, Request, Response, Url};
use crate::secret::{Fingerprinter, Secret, Sensitive, mask};

/// Credentials kept per list (request, response, referer) of one exchange.
const MAX_CREDS: usize = 256;
/// JWTs decoded per exchange.
const MAX_JWTS: usize = 32;
/// Subjects and roles kept per exchange.
const MAX_IDENTITY: usize = 64;
/// Request credentials shorter than this are not searched for verbatim in the response (a
/// short password would match by chance).
const MIN_ECHO_LEN: usize = 10;
/// Characters of an identity value (user header, form user) kept.
const MAX_IDENTITY_CHARS: usize = 256;
/// Bytes of a body scanned. Ingest already keeps at most 1 MiB per body by default; this holds
/// the cost bounded if a user raises that limit.
const MAX_SCAN_BYTES: usize = 1 << 20;

/// The scanned prefix of a body, counting a cut as a hit bound.
fn scan_prefix<'b>(bytes: &'b [u8], st: &mut St) -> &'b [u8] {
    if bytes.len() > MAX_SCAN_BYTES {
        st.rec.limits_hit += 1;
        bytes.get(..MAX_SCAN_BYTES).unwrap_or(bytes)
    } else {
        bytes
    }
}

/// Recognises credentials in exchanges, using the built-in detector table plus the user's
/// `--config` additions. Shared read-only across threads.
pub struct Recognizer {
    fp: Fingerprinter,
    t: Tables,
}

impl std::fmt::Debug for Recognizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recognizer")
            .field("detectors", &self.t.dets.len())
            .finish()
    }
}

/// Which list a credential goes to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Request,
    Response,
    Referer,
}

/// Where one value was found.
#[derive(Clone, Copy)]
struct Place<'a> {
    target: Target,
    side: Side,
    origin: Origin,
    location: Location,
    name: &'a str,
    /// Lowercase the name when a credential is made (header names).
    lower_name: bool,
}

impl<'a> Place<'a> {
    fn req(location: Location, name: &'a str) -> Self {
        Place {
            target: Target::Request,
            side: Side::Request,
            origin: Origin::Presented,
            location,
            name,
            lower_name: false,
        }
    }
    fn resp(location: Location, name: &'a str) -> Self {
        Place {
            target: Target::Response,
            side: Side::Response,
            origin: Origin::Issued,
            location,
            name,
            lower_name: false,
        }
    }
    fn lower(mut self) -> Self {
        self.lower_name = true;
        self
    }
}

/// Working state of one `recognize` call.
#[derive(Default)]
struct St {
    rec: Recognized,
    referer_creds: Vec<Credential>,
    subjects: Vec<String>,
    roles: Vec<String>,
    /// Username field of a form whose body also carries a password.
    form_user: Option<String>,
    /// Raw secrets found in the request path (masked by replacement).
    path_secrets: Vec<String>,
    /// The request goes to a third-party ad, analytics or beacon host (`[tracking] hosts`):
    /// its cookies and key/token parameters are not credentials (known formats still are).
    tracker: bool,
}

impl St {
    fn list(&mut self, t: Target) -> &mut Vec<Credential> {
        match t {
            Target::Request => &mut self.rec.request,
            Target::Response => &mut self.rec.response,
            Target::Referer => &mut self.referer_creds,
        }
    }
}

impl Recognizer {
    /// `user_toml` is the text of the user's `--config` file (same shape as the built-in table).
    pub fn new(user_toml: Option<&str>, fp: Fingerprinter) -> Result<Recognizer, RecognizeError> {
        let builtin = config::parse_table(config::BUILTIN_TOML, "built-in detectors")?;
        let user = user_toml
            .map(|u| config::parse_table(u, "--config"))
            .transpose()?;
        let merged = config::merge(builtin, user);
        config::validate(&merged)?;
        Ok(Recognizer {
            fp,
            t: Tables::build(&merged)?,
        })
    }

    pub fn fingerprinter(&self) -> &Fingerprinter {
        &self.fp
    }

    #[cfg(test)]
    pub(crate) fn tables(&self) -> &Tables {
        &self.t
    }

    /// Ids and kinds of the credential detectors, in priority order (for documentation).
    pub fn detectors(&self) -> Vec<(&str, &str)> {
        self.t
            .dets
            .iter()
            .filter(|d| d.action == Action::Credential)
            .map(|d| (d.id.as_str(), d.kind.as_str()))
            .collect()
    }

    /// The keyword prefilter's scanner, for the benches and `-v`.
    pub fn keyword_scanner(&self) -> Option<&super::keywords::KeywordScanner> {
        self.t.scanner()
    }

    /// Everything this module can tell about one exchange.
    pub fn recognize(&self, ex: &Exchange) -> Recognized {
        let mut st = St::default();
        st.rec.ts = ex.ts();
        st.tracker = match &ex.request {
            Some(req) => self.t.is_tracking_host(&req.url.host),
            None => self.t.is_tracking_host(&ex.host()),
        };
        if let Some(req) = &ex.request {
            self.request(req, &mut st);
        }
        if let Some(resp) = &ex.response {
            self.response(resp, ex.ts(), &mut st);
        }
        if let Some(req) = &ex.request
            && self.t.allowlisted_place(&req.url.host, &req.url.path)
        {
            st.rec.request.clear();
            st.rec.response.clear();
            st.referer_creds.clear();
            st.rec.jwts.clear();
        }
        self.finish(ex, st)
    }

    fn finish(&self, ex: &Exchange, mut st: St) -> Recognized {
        // Echoes: a response credential with a request credential's fingerprint.
        if !st.rec.response.is_empty() && !st.rec.request.is_empty() {
            let req_fps: HashSet<&str> = st.rec.request.iter().map(|c| c.key_fp.as_str()).collect();
            let echoed: Vec<bool> = st
                .rec
                .response
                .iter()
                .map(|c| c.location != Location::SetCookie && req_fps.contains(c.key_fp.as_str()))
                .collect();
            for (c, e) in st.rec.response.iter_mut().zip(echoed) {
                if e {
                    c.origin = Origin::Echoed;
                }
            }
        }
        // Identity.
        let mut subjects = std::mem::take(&mut st.subjects);
        let mut roles = std::mem::take(&mut st.roles);
        for j in &st.rec.jwts {
            if j.location.is_some_and(|l| l.in_response()) {
                continue;
            }
            if let Some(s) = &j.sub {
                subjects.push(format!("jwt-sub:{s}"));
            } else if let Some(c) = &j.client_id {
                subjects.push(format!("jwt-client:{c}"));
            }
            if let Some(e) = &j.email {
                subjects.push(format!("jwt-email:{e}"));
            }
            if let Some(u) = &j.preferred_username {
                subjects.push(format!("jwt-user:{u}"));
            }
            roles.extend(j.roles.iter().cloned());
        }
        let has_pw = st.rec.request.iter().any(|c| {
            c.kind == "password" && matches!(c.location, Location::Body | Location::Query)
        });
        if has_pw && let Some(u) = st.form_user.take() {
            subjects.push(format!("form:{u}"));
        }
        subjects.sort();
        subjects.dedup();
        roles.sort();
        roles.dedup();
        if subjects.len() > MAX_IDENTITY || roles.len() > MAX_IDENTITY {
            st.rec.limits_hit += 1;
        }
        subjects.truncate(MAX_IDENTITY);
        roles.truncate(MAX_IDENTITY);
        let session_fp = st
            .rec
            .request
            .iter()
            .filter(|c| c.session_like)
            // A cookie named as a session beats one recognised by its shape, which beats a URL
            // session id.
            .min_by_key(|c| {
                (
                    c.location != Location::Cookie,
                    c.detector == "cookie-opaque-token",
                    c.name.clone(),
                )
            })
            .map(|c| c.key_fp.clone());
        st.rec.identity = Identity {
            subjects,
            roles,
            session_fp,
        };
        if let Some(req) = &ex.request {
            st.rec.is_login = self.is_login(req, &st.rec);
        }
        if let Some(r) = &mut st.rec.referer {
            r.credentials = std::mem::take(&mut st.referer_creds);
        }
        st.rec
    }

    fn is_login(&self, req: &Request, rec: &Recognized) -> bool {
        let basic = rec
            .request
            .iter()
            .any(|c| c.location == Location::Header && c.detector == "auth-basic");
        if basic {
            return true;
        }
        let login_path = self.is_login_path(&req.url.path);
        let digest = rec.request.iter().any(|c| c.kind == "digest");
        if digest && login_path {
            return true;
        }
        let body_method = matches!(
            req.method.to_ascii_uppercase().as_str(),
            "POST" | "PUT" | "PATCH"
        );
        let pw_body = rec
            .request
            .iter()
            .any(|c| c.kind == "password" && c.location == Location::Body);
        let user_field = rec.identity.subjects.iter().any(|s| s.starts_with("form:"));
        pw_body && body_method && (login_path || user_field)
    }

    fn is_login_path(&self, path: &str) -> bool {
        let lower = path.to_ascii_lowercase();
        for seg in lower.split('/') {
            let squashed: String = seg.chars().filter(|c| !matches!(c, '-' | '_')).collect();
            if self
                .t
                .login_contains
                .iter()
                .any(|c| seg.contains(c.as_str()) || squashed.contains(c.as_str()))
            {
                return true;
            }
            let stem = seg.split(['.', ';']).next().unwrap_or("");
            if self.t.login_words.iter().any(|w| w == stem) {
                return true;
            }
            if seg
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .any(|w| self.t.login_words.iter().any(|lw| lw == w))
            {
                return true;
            }
        }
        false
    }

    // ----------------------------------------------------------------------------------------
    // Request
    // ----------------------------------------------------------------------------------------

    fn request(&self, req: &Request, st: &mut St) {
        for h in req.headers.iter() {
            let n = h.name.as_str();
            if n.eq_ignore_ascii_case("cookie") || n.eq_ignore_ascii_case("referer") {
                continue;
            }
            if self
                .t
                .auth_headers
                .iter()
                .any(|a| n.eq_ignore_ascii_case(a))
            {
                self.auth_header(n, &h.value, st);
                continue;
            }
            self.header(Place::req(Location::Header, n).lower(), &h.value, st);
        }
        if req.headers.get("cookie").is_some() {
            for (name, value) in req.cookies() {
                self.cookie(Place::req(Location::Cookie, name), value, st);
            }
        }
        let masked = self.url(&req.url, Target::Request, st);
        st.rec.url = masked;
        self.request_body(req, st);
        if let Some(r) = req.headers.get("referer") {
            let u = Url::parse(r.trim(), "http", None);
            st.rec.referer = Some(RefererInfo {
                origin: u.origin(),
                credentials: Vec::new(),
            });
            let _ = self.url(&u, Target::Referer, st);
        }
    }

    /// A header other than Authorization-style and Cookie, on either side.
    fn header(&self, place: Place<'_>, value: &str, st: &mut St) {
        let det = self.t.headers.lookup(place.name);
        match det.and_then(|d| self.t.dets.get(d)).map(|d| d.action) {
            Some(Action::Ignore) => {}
            Some(Action::Csrf) => st.rec.csrf_tokens += 1,
            Some(Action::Subject) => {
                if place.side == Side::Request {
                    let v = value.trim();
                    if !v.is_empty() && !self.t.placeholders.is_placeholder_always(v) {
                        st.subjects.push(format!(
                            "header:{}:{}",
                            place.name.to_ascii_lowercase(),
                            clip(v)
                        ));
                    }
                }
            }
            Some(Action::Role) => {
                if place.side == Side::Request {
                    for r in value
                        .split([',', ' ', ';'])
                        .map(str::trim)
                        .filter(|r| !r.is_empty())
                    {
                        st.roles.push(clip(r));
                    }
                }
            }
            Some(Action::Credential) | None => {
                self.slot(place, value, det, st);
            }
        }
    }

    fn cookie(&self, place: Place<'_>, raw: &str, st: &mut St) {
        // A tracker's cookies are its identifiers: only known token formats count there.
        let det = if st.tracker {
            None
        } else {
            self.t.cookies.lookup(place.name)
        };
        match det.and_then(|d| self.t.dets.get(d)).map(|d| d.action) {
            Some(Action::Ignore) | Some(Action::Subject) | Some(Action::Role) => {}
            Some(Action::Csrf) => st.rec.csrf_tokens += 1,
            Some(Action::Credential) | None => {
                let v = raw.trim().trim_matches('"');
                let v = body::pct_decode(v, false);
                self.slot(place, &v, det, st);
            }
        }
    }

    /// Looks for credentials in one value: known formats first; else, when a credential detector
    /// claims the name, the whole value if it passes that detector's checks. Returns whether a
    /// credential was found.
    fn slot(&self, place: Place<'_>, value: &str, det: Option<usize>, st: &mut St) -> bool {
        let mut v = value.trim();
        if v.is_empty() {
            return false;
        }
        if v.len() > 7
            && v.get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case("bearer "))
        {
            v = v.get(7..).unwrap_or("").trim();
        }
        let name_det = det
            .and_then(|d| self.t.dets.get(d).map(|x| (d, x)))
            .filter(|(_, d)| d.action == Action::Credential);
        let session = name_det.is_some_and(|(_, d)| d.session);
        let pre = self.t.prefilter(v.as_bytes());
        if pre.truncated {
            st.rec.limits_hit += 1;
        }
        let mut found = false;
        if pre.any_format() {
            for m in self
                .t
                .scan_formats(v.as_bytes(), &pre, place.side == Side::Response)
            {
                let Some(fd) = self.t.dets.get(m.det) else {
                    continue;
                };
                found |= self.push(place, fd, m.secret, None, session || fd.session, m.jwt, st);
            }
        }
        if found {
            return true;
        }
        let Some((_, d)) = name_det else { return false };
        let side_ok = match place.side {
            Side::Request => d.request,
            Side::Response => d.response,
        };
        if !side_ok || !self.t.value_ok(d, v) {
            return false;
        }
        self.push(place, d, v.to_string(), None, session, None, st)
    }

    /// Makes a credential (deduplicated by location, name and fingerprint; bounded).
    #[allow(clippy::too_many_arguments)]
    fn push(
        &self,
        place: Place<'_>,
        det: &Det,
        value: String,
        evidence: Option<String>,
        session_like: bool,
        jwt: Option<JwtInfo>,
        st: &mut St,
    ) -> bool {
        self.push_fp(place, det, value, None, evidence, session_like, jwt, st)
    }

    /// `push`, with the fingerprint taken from `fp_basis` instead of the value when given (a
    /// challenge response that changes per request but stands for one account).
    #[allow(clippy::too_many_arguments)]
    fn push_fp(
        &self,
        place: Place<'_>,
        det: &Det,
        value: String,
        fp_basis: Option<&str>,
        evidence: Option<String>,
        session_like: bool,
        jwt: Option<JwtInfo>,
        st: &mut St,
    ) -> bool {
        if self.t.has_allowlist_values() && self.t.allowlisted_value(&value) {
            return false;
        }
        let key_fp = self.fp.fp(fp_basis.unwrap_or(&value));
        let list = st.list(place.target);
        // A nameless free-text match adds nothing to a named one at the same place.
        let dup = list.iter().any(|c| {
            c.key_fp == key_fp
                && c.location == place.location
                && (place.name.is_empty() || c.name.eq_ignore_ascii_case(place.name))
        });
        if dup {
            return true;
        }
        if list.len() >= MAX_CREDS {
            st.rec.limits_hit += 1;
            return false;
        }
        let name = if place.lower_name {
            place.name.to_ascii_lowercase()
        } else {
            place.name.to_string()
        };
        let masked = match evidence {
            Some(e) => e,
            None if det.userpass => mask_userpass(&value),
            // A password's first characters are a real share of it (people pick them): show
            // its length only. Tokens keep a prefix, which tells `sk_live` from `pk_live`.
            None if det.kind == "password" => format!("…({})", value.chars().count()),
            None => mask(&value),
        };
        let evidence = Sensitive::new(masked, value.as_str());
        if let Some(mut j) = jwt
            && place.side == Side::Request
            && place.target == Target::Request
        {
            if st.rec.jwts.len() < MAX_JWTS {
                j.location = Some(place.location);
                j.name = name.clone();
                j.key_fp = key_fp.clone();
                st.rec.jwts.push(j);
            } else {
                st.rec.limits_hit += 1;
            }
        }
        st.list(place.target).push(Credential {
            kind: det.kind.clone(),
            detector: det.id.clone(),
            side: place.side,
            origin: place.origin,
            location: place.location,
            name,
            value: Secret::new(value),
            key_fp,
            evidence,
            session_like,
        });
        true
    }

    fn scheme_det(&self, scheme: &str) -> Option<&Det> {
        let idx = self.t.schemes.get(scheme).copied()?;
        self.t.dets.get(idx)
    }

    /// Authorization and Proxy-Authorization.
    fn auth_header(&self, name: &str, value: &str, st: &mut St) {
        let place = Place::req(Location::Header, name).lower();
        let (scheme, rest) = auth::split_scheme(value);
        match scheme.as_str() {
            "basic" => self.basic(place, rest, st),
            "digest" => {
                let Some(d) = self.scheme_det("digest") else {
                    return;
                };
                let params = auth::auth_params(rest);
                let user = auth::param(&params, "username").unwrap_or("").to_string();
                let Some(resp) = auth::param(&params, "response").filter(|r| !r.is_empty()) else {
                    return;
                };
                let realm = auth::param(&params, "realm").unwrap_or("");
                let ev = format!("{}:…({})", clip(&user), resp.chars().count());
                // The response hash changes with every nonce; what stays is who logs in where.
                // Fingerprinting `username@realm` makes one Digest login one key for the
                // correlation rules (the hash itself is replay-limited).
                let basis = (!user.is_empty()).then(|| format!("digest:{user}@{realm}"));
                if self.push_fp(
                    place,
                    d,
                    resp.to_string(),
                    basis.as_deref(),
                    Some(ev),
                    false,
                    None,
                    st,
                ) && !user.is_empty()
                {
                    st.subjects.push(format!("digest:{}", clip(&user)));
                }
            }
            "ntlm" => self.ntlm(place, rest, st),
            "negotiate" => {
                if auth::is_ntlmssp(rest) {
                    self.ntlm(place, rest, st);
                } else if let Some(d) = self.scheme_det("negotiate")
                    && self.t.value_ok(d, rest)
                {
                    self.push(place, d, rest.to_string(), None, false, None, st);
                }
            }
            "aws4-hmac-sha256" => {
                let Some(d) = self.scheme_det("aws4-hmac-sha256") else {
                    return;
                };
                let params = auth::auth_params(rest);
                let key = auth::param(&params, "credential")
                    .and_then(|c| c.split('/').next())
                    .unwrap_or("")
                    .trim();
                if !key.is_empty() && !self.t.placeholders.is_placeholder_token(key) {
                    self.push(place, d, key.to_string(), None, false, None, st);
                }
            }
            _ => {
                // Bearer, token, bare tokens and any other scheme: known formats first, then the
                // scheme's detector. OAuth 1.0 headers carry their token as a parameter.
                let mut token = rest;
                let oauth;
                if scheme == "oauth" {
                    let params = auth::auth_params(rest);
                    oauth = auth::param(&params, "oauth_token")
                        .map(|t| body::pct_decode(t, false).into_owned());
                    match &oauth {
                        Some(t) => token = t,
                        None => return,
                    }
                }
                let token = token.trim().trim_matches('"');
                let det = self.t.schemes.get(scheme.as_str()).copied().or_else(|| {
                    if scheme.is_empty() {
                        self.t.schemes.get("").copied()
                    } else {
                        self.t.schemes.get("*").copied()
                    }
                });
                self.slot(place, token, det, st);
            }
        }
    }

    fn basic(&self, place: Place<'_>, rest: &str, st: &mut St) {
        let Some(d) = self.scheme_det("basic") else {
            return;
        };
        match auth::decode_basic(rest) {
            Some((user, pass)) => {
                // A known token as user or password (Stripe `sk_live_…:`): report the token.
                let mut token_found = false;
                for part in [&user, &pass] {
                    let pre = self.t.prefilter(part.as_bytes());
                    if pre.any_format() {
                        for m in self.t.scan_formats(part.as_bytes(), &pre, false) {
                            if let Some(fd) = self.t.dets.get(m.det) {
                                token_found |=
                                    self.push(place, fd, m.secret, None, fd.session, m.jwt, st);
                            }
                        }
                    }
                }
                if token_found {
                    return;
                }
                let ph = &self.t.placeholders;
                if (user.is_empty() || ph.is_placeholder_always(&user))
                    && (pass.is_empty() || ph.is_placeholder_always(&pass))
                {
                    return;
                }
                let value = format!("{user}:{pass}");
                if self.push(place, d, value, None, false, None, st) && !user.is_empty() {
                    st.subjects.push(format!("basic:{}", clip(&user)));
                }
            }
            None => {
                let rest = rest.trim();
                if !rest.is_empty() && !self.t.placeholders.is_placeholder_token(rest) {
                    self.push(
                        place,
                        d,
                        rest.to_string(),
                        Some(mask(rest)),
                        false,
                        None,
                        st,
                    );
                }
            }
        }
    }

    fn ntlm(&self, place: Place<'_>, rest: &str, st: &mut St) {
        let Some(d) = self.scheme_det("ntlm") else {
            return;
        };
        match auth::decode_ntlm(rest) {
            Some(Ntlm::Handshake) => {}
            Some(Ntlm::Authenticate { user, domain }) => {
                let who = match (domain.is_empty(), user.is_empty()) {
                    (_, true) => String::new(),
                    (true, false) => user.clone(),
                    (false, false) => format!("{domain}\\{user}"),
                };
                let rest = rest.trim();
                let ev = if who.is_empty() {
                    mask(rest)
                } else {
                    format!("{who}:…({})", rest.chars().count())
                };
                // As for Digest: the challenge response changes per handshake, the account does
                // not. `DOMAIN\user` (case-insensitive, as Windows compares it) is the key.
                let basis = (!who.is_empty()).then(|| format!("ntlm:{}", who.to_lowercase()));
                if self.push_fp(
                    place,
                    d,
                    rest.to_string(),
                    basis.as_deref(),
                    Some(ev),
                    false,
                    None,
                    st,
                ) && !who.is_empty()
                {
                    st.subjects.push(format!("ntlm:{}", clip(&who)));
                }
            }
            None => {}
        }
    }

    /// Userinfo, path (formats and `;name=value` parameters), query and fragment of a URL.
    /// Returns the URL as text, masked and raw.
    fn url(&self, u: &Url, target: Target, st: &mut St) -> Sensitive {
        fn place(target: Target, location: Location, name: &str) -> Place<'_> {
            Place {
                target,
                side: Side::Request,
                origin: Origin::Presented,
                location: if target == Target::Referer {
                    Location::Referer
                } else {
                    location
                },
                name,
                lower_name: false,
            }
        }
        // Userinfo.
        let mut masked_userinfo: Option<String> = None;
        if let Some(ui) = &u.userinfo {
            let (user_raw, pass_raw) = match ui.split_once(':') {
                Some((a, b)) => (a, Some(b)),
                None => (ui.as_str(), None),
            };
            let user = body::pct_decode(user_raw, false);
            let pass = pass_raw.map(|p| body::pct_decode(p, false));
            let mut found = false;
            for part in [Some(&user), pass.as_ref()].into_iter().flatten() {
                let pre = self.t.prefilter(part.as_bytes());
                if pre.any_format() {
                    for m in self.t.scan_formats(part.as_bytes(), &pre, false) {
                        if let Some(fd) = self.t.dets.get(m.det) {
                            found |= self.push(
                                place(target, Location::Userinfo, "userinfo"),
                                fd,
                                m.secret,
                                None,
                                false,
                                m.jwt,
                                st,
                            );
                        }
                    }
                }
            }
            if found {
                masked_userinfo = Some(mask(ui));
            } else if let Some(p) = &pass
                && !p.is_empty()
                && !self.t.placeholders.is_placeholder_always(p)
                && let Some(d) = self.scheme_det("basic")
            {
                let value = format!("{user}:{p}");
                if self.push(
                    place(target, Location::Userinfo, "userinfo"),
                    d,
                    value,
                    None,
                    false,
                    None,
                    st,
                ) {
                    masked_userinfo = Some(format!("{user_raw}:…({})", p.chars().count()));
                }
            }
        }
        // Path: `;name=value` parameters by name, then known formats in the rest (with the host
        // in front, so that webhook URLs are whole).
        let mut masked_path = u.path.clone();
        let mut plain_path = String::with_capacity(u.path.len());
        let mut path_secrets: Vec<String> = Vec::new();
        for (i, seg) in u.path.split('/').enumerate() {
            if i > 0 {
                plain_path.push('/');
            }
            let mut pieces = seg.split(';');
            plain_path.push_str(pieces.next().unwrap_or(""));
            for p in pieces {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                let v = body::pct_decode(v, false);
                let det = self.t.params.lookup(k);
                match det.and_then(|d| self.t.dets.get(d)).map(|d| d.action) {
                    Some(Action::Credential) | None => {
                        let before = st.list(target).len();
                        if self.slot(place(target, Location::Path, k), &v, det, st) {
                            path_secrets.extend(
                                st.list(target)
                                    .iter()
                                    .skip(before)
                                    .map(|c| c.value.expose().to_string()),
                            );
                            path_secrets.push(v.to_string());
                        }
                    }
                    Some(Action::Csrf) => st.rec.csrf_tokens += 1,
                    _ => {}
                }
            }
        }
        let decoded_path = body::pct_decode(&plain_path, false);
        let mut text = String::with_capacity(u.host.len() + decoded_path.len());
        text.push_str(&u.host);
        text.push_str(&decoded_path);
        let pre = self.t.prefilter(text.as_bytes());
        if pre.any_format() {
            for m in self.t.scan_formats(text.as_bytes(), &pre, false) {
                let Some(fd) = self.t.dets.get(m.det) else {
                    continue;
                };
                let secret = m.secret.clone();
                if self.push(
                    place(target, Location::Path, ""),
                    fd,
                    m.secret,
                    None,
                    fd.session,
                    m.jwt,
                    st,
                ) {
                    path_secrets.push(secret);
                }
            }
        }
        path_secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        path_secrets.dedup();
        for s in &path_secrets {
            if s.is_empty() {
                continue;
            }
            if u.path.contains(s.as_str()) {
                masked_path = masked_path.replace(s.as_str(), &mask(s));
            } else {
                // Written encoded: mask the whole path rather than risk showing it.
                masked_path = format!("/{}", mask(u.path.trim_start_matches('/')));
                break;
            }
        }
        if target == Target::Request {
            st.path_secrets.extend(path_secrets);
        }
        // Query.
        let masked_query = u
            .query
            .as_deref()
            .map(|q| self.pairs(q, Location::Query, target, st));
        // Fragment: `#a=b&c=d`, `#/route?a=b`, or a bare token.
        let masked_fragment = u.fragment.as_deref().map(|f| {
            if let Some((route, q)) = f.split_once('?') {
                format!("{route}?{}", self.pairs(q, Location::Fragment, target, st))
            } else if f.contains('=') {
                self.pairs(f, Location::Fragment, target, st)
            } else {
                let d = body::pct_decode(f, false);
                let pre = self.t.prefilter(d.as_bytes());
                let mut out = f.to_string();
                if pre.any_format() {
                    for m in self.t.scan_formats(d.as_bytes(), &pre, false) {
                        if let Some(fd) = self.t.dets.get(m.det) {
                            let s = m.secret.clone();
                            if self.push(
                                place(target, Location::Fragment, ""),
                                fd,
                                m.secret,
                                None,
                                fd.session,
                                m.jwt,
                                st,
                            ) {
                                out = if out.contains(s.as_str()) {
                                    out.replace(s.as_str(), &mask(&s))
                                } else {
                                    mask(f)
                                };
                            }
                        }
                    }
                }
                out
            }
        });
        if target != Target::Request {
            return Sensitive::default();
        }
        st.rec.path.clone_from(&masked_path);
        let host = if u.host.contains(':') {
            format!("[{}]", u.host)
        } else {
            u.host.clone()
        };
        let port = match u.port {
            Some(p) if Some(p) != crate::model::default_port(&u.scheme) => format!(":{p}"),
            _ => String::new(),
        };
        let scheme = if u.scheme.is_empty() {
            "http"
        } else {
            u.scheme.as_str()
        };
        // Both built at their final size (the masked one can be longer: a mask may be longer
        // than what it hides); `format!` and growing by pushes showed up at ~1% of a scan.
        let parts = |path: &str, query: Option<&str>, frag: Option<&str>, ui: Option<&str>| {
            scheme.len()
                + 3
                + ui.map_or(0, |u| u.len() + 1)
                + host.len()
                + port.len()
                + path.len()
                + query.map_or(0, |q| q.len() + 1)
                + frag.map_or(0, |f| f.len() + 1)
        };
        let mut raw = String::with_capacity(parts(
            &u.path,
            u.query.as_deref(),
            u.fragment.as_deref(),
            u.userinfo.as_deref(),
        ));
        let mut masked = String::with_capacity(parts(
            &masked_path,
            masked_query.as_deref().or(u.query.as_deref()),
            masked_fragment.as_deref().or(u.fragment.as_deref()),
            masked_userinfo.as_deref().or(u.userinfo.as_deref()),
        ));
        for s in [&mut raw, &mut masked] {
            s.push_str(scheme);
            s.push_str("://");
        }
        if let Some(ui) = &u.userinfo {
            raw.push_str(ui);
            raw.push('@');
            masked.push_str(masked_userinfo.as_deref().unwrap_or(ui));
            masked.push('@');
        }
        for s in [&mut raw, &mut masked] {
            s.push_str(&host);
            s.push_str(&port);
        }
        raw.push_str(&u.path);
        masked.push_str(&masked_path);
        if let Some(q) = &u.query {
            raw.push('?');
            raw.push_str(q);
            masked.push('?');
            masked.push_str(masked_query.as_deref().unwrap_or(q));
        }
        if let Some(f) = &u.fragment {
            raw.push('#');
            raw.push_str(f);
            masked.push('#');
            masked.push_str(masked_fragment.as_deref().unwrap_or(f));
        }
        Sensitive::new(masked, raw)
    }

    /// `a=b&c=d` in a query or fragment: each pair by name. Returns the text with the values
    /// of credential-bearing pairs masked.
    fn pairs(&self, s: &str, location: Location, target: Target, st: &mut St) -> String {
        let mut out = String::with_capacity(s.len());
        let mut pw_seen = false;
        let mut user: Option<String> = None;
        for (i, pair) in s.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            if i >= body::MAX_FIELDS {
                out.push_str(pair);
                continue;
            }
            let (k_raw, v_raw) = match pair.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (pair, None),
            };
            let Some(v_raw) = v_raw else {
                out.push_str(pair);
                continue;
            };
            let k = body::pct_decode(k_raw, true);
            let v = body::pct_decode(v_raw, true);
            let place = Place {
                target,
                side: Side::Request,
                origin: Origin::Presented,
                location: if target == Target::Referer {
                    Location::Referer
                } else {
                    location
                },
                name: &k,
                lower_name: false,
            };
            let found = self.field(place, &k, &v, st, &mut user, &mut pw_seen);
            out.push_str(k_raw);
            out.push('=');
            if found {
                out.push_str(&mask(v.trim()));
            } else {
                out.push_str(v_raw);
            }
        }
        if target == Target::Request && pw_seen && st.form_user.is_none() {
            st.form_user = user;
        }
        out
    }

    /// One named field (query pair, form field, JSON key, multipart part) by its name's
    /// detector. Remembers a username field and whether a password was seen.
    fn field(
        &self,
        place: Place<'_>,
        name: &str,
        value: &str,
        st: &mut St,
        user: &mut Option<String>,
        pw_seen: &mut bool,
    ) -> bool {
        let mut det = self.t.params.lookup(name);
        // Key and token parameters sent to a tracker are public tag ids (a Mixpanel project
        // token, a pixel's api_key); a password is still a password wherever it goes.
        if st.tracker
            && place.target == Target::Request
            && det
                .and_then(|d| self.t.dets.get(d))
                .is_some_and(|d| d.action == Action::Credential && d.kind != "password")
        {
            det = None;
        }
        match det.and_then(|d| self.t.dets.get(d)) {
            Some(d) if d.action == Action::Ignore || d.action == Action::Role => false,
            Some(d) if d.action == Action::Csrf => {
                st.rec.csrf_tokens += 1;
                false
            }
            Some(d) if d.action == Action::Subject => {
                let v = value.trim();
                if user.is_none() && !v.is_empty() && !self.t.placeholders.is_placeholder_always(v)
                {
                    *user = Some(clip(v));
                }
                false
            }
            Some(d) => {
                let is_pw = d.kind == "password";
                let found = self.slot(place, value, det, st);
                *pw_seen |= found && is_pw;
                found
            }
            None => self.slot(place, value, None, st),
        }
    }

    fn request_body(&self, req: &Request, st: &mut St) {
        let bytes = scan_prefix(&req.body.bytes, st);
        if bytes.is_empty() {
            return;
        }
        let ct = req
            .body
            .content_type
            .as_deref()
            .or_else(|| req.headers.get("content-type"));
        let mut user = None;
        let mut pw_seen = false;
        match body::body_kind(ct, bytes) {
            BodyKind::Form => {
                let text = String::from_utf8_lossy(bytes);
                body::form_fields(&text, |k, v| {
                    self.field(
                        Place::req(Location::Body, k),
                        k,
                        v,
                        st,
                        &mut user,
                        &mut pw_seen,
                    );
                });
            }
            BodyKind::Json => {
                let pre = self.t.prefilter(bytes);
                if !pre.name_hint && !pre.any_format() {
                    return;
                }
                let parsed = body::json_fields(bytes, |k, v| {
                    self.field(
                        Place::req(Location::Body, k),
                        k,
                        v,
                        st,
                        &mut user,
                        &mut pw_seen,
                    );
                });
                if parsed.is_none() {
                    self.text(Place::req(Location::Body, ""), bytes, &pre, st);
                }
            }
            BodyKind::Multipart => {
                let Some(boundary) = ct.and_then(body::multipart_boundary) else {
                    let pre = self.t.prefilter(bytes);
                    self.text(Place::req(Location::Body, ""), bytes, &pre, st);
                    return;
                };
                for part in body::multipart_parts(bytes, &boundary) {
                    if part.is_file || part.content.len() > 64 * 1024 {
                        let pre = self.t.prefilter(part.content);
                        self.text(
                            Place::req(Location::Body, &part.name),
                            part.content,
                            &pre,
                            st,
                        );
                    } else {
                        let v = String::from_utf8_lossy(part.content);
                        self.field(
                            Place::req(Location::Body, &part.name),
                            &part.name,
                            &v,
                            st,
                            &mut user,
                            &mut pw_seen,
                        );
                    }
                }
            }
            BodyKind::Xml => {
                let pre = self.t.prefilter(bytes);
                if !pre.name_hint && !pre.any_format() {
                    return;
                }
                body::xml_fields(bytes, &self.t.xml_leaf, |k, v| {
                    self.field(
                        Place::req(Location::Body, k),
                        k,
                        v,
                        st,
                        &mut user,
                        &mut pw_seen,
                    );
                });
                // Formats outside leaf elements (attributes, CDATA...).
                self.text(Place::req(Location::Body, ""), bytes, &pre, st);
            }
            BodyKind::Text => {
                let pre = self.t.prefilter(bytes);
                self.text(Place::req(Location::Body, ""), bytes, &pre, st);
            }
        }
        if pw_seen && user.is_some() {
            st.form_user = user;
        }
    }

    /// Known formats in free text (a body that is not a form or JSON, HTML, JS...).
    fn text(&self, place: Place<'_>, bytes: &[u8], pre: &super::tables::Prefiltered, st: &mut St) {
        if pre.truncated {
            st.rec.limits_hit += 1;
        }
        if !pre.any_format() {
            return;
        }
        for m in self
            .t
            .scan_formats(bytes, pre, place.side == Side::Response)
        {
            let Some(fd) = self.t.dets.get(m.det) else {
                continue;
            };
            // Free text has no field names, but `"apiKey": "…"`, `token = '…'` or `key=…`
            // just before the match names it.
            let ctx = if place.name.is_empty() {
                context_name(bytes, m.start)
            } else {
                None
            };
            let mut p = place;
            if let Some(n) = ctx {
                match self
                    .t
                    .params
                    .lookup(n)
                    .and_then(|d| self.t.dets.get(d))
                    .map(|d| d.action)
                {
                    Some(Action::Csrf) => {
                        st.rec.csrf_tokens += 1;
                        continue;
                    }
                    // Names the table ignores in URLs (`t`, `v`, `state`) are ordinary
                    // variable names in minified scripts: a known format there still counts.
                    _ => p.name = n,
                }
            }
            self.push(p, fd, m.secret, None, fd.session, m.jwt, st);
        }
    }

    // ----------------------------------------------------------------------------------------
    // Response
    // ----------------------------------------------------------------------------------------

    fn response(&self, resp: &Response, now: Option<i64>, st: &mut St) {
        let mut cookies: Vec<SetCookie> = resp
            .set_cookie_lines()
            .filter_map(SetCookie::parse)
            .collect();
        cookies.extend(resp.har_cookies.iter().map(SetCookie::from_har));
        for c in &cookies {
            if c.is_deletion(now) {
                continue;
            }
            // A cookie scoped to a tracker's domain is the tracker's, even when the request
            // (and so the host) is missing from the capture.
            let tracker_cookie = st.tracker
                || c.domain.as_deref().is_some_and(|d| {
                    let d = d.trim().trim_start_matches('.');
                    !d.is_empty() && self.t.is_tracking_host(d)
                });
            let mut det = if tracker_cookie {
                None
            } else {
                self.t.cookies.lookup(&c.name)
            };
            // A cookie kept for months is a persistent identifier, not a session the detector
            // would otherwise infer (from the value's shape).
            if let Some(d) = det.and_then(|d| self.t.dets.get(d))
                && let Some(max) = d.max_lifetime_secs
                && c.lifetime_secs(now).is_some_and(|life| life > max)
            {
                det = None;
            }
            match det.and_then(|d| self.t.dets.get(d)).map(|d| d.action) {
                Some(Action::Csrf) => st.rec.csrf_tokens += 1,
                Some(Action::Credential) | None => {
                    let v = c.value.expose().trim().trim_matches('"');
                    let v = body::pct_decode(v, false);
                    self.slot(Place::resp(Location::SetCookie, &c.name), &v, det, st);
                }
                _ => {}
            }
        }
        st.rec.set_cookies = cookies;
        for h in resp.headers.iter() {
            let n = h.name.as_str();
            if n.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            if n.eq_ignore_ascii_case("location") || n.eq_ignore_ascii_case("content-location") {
                self.response_url(n, &h.value, st);
                continue;
            }
            let place = Place::resp(Location::ResponseHeader, n).lower();
            self.header(place, &h.value, st);
        }
        self.response_body(resp, st);
        self.echoes(resp, st);
    }

    /// A URL in a response header (Location): its query, fragment and userinfo credentials.
    fn response_url(&self, name: &str, value: &str, st: &mut St) {
        let u = Url::parse(value.trim(), "http", None);
        // Reuse the request URL walker on a scratch state, then move what it found.
        let mut scratch = St::default();
        let _ = self.url(&u, Target::Request, &mut scratch);
        st.rec.csrf_tokens += scratch.rec.csrf_tokens;
        st.rec.limits_hit += scratch.rec.limits_hit;
        let lname = name.to_ascii_lowercase();
        for mut c in scratch.rec.request {
            c.side = Side::Response;
            c.origin = Origin::Issued;
            c.location = Location::ResponseHeader;
            c.name = lname.clone();
            if st.rec.response.len() < MAX_CREDS {
                st.rec.response.push(c);
            } else {
                st.rec.limits_hit += 1;
            }
        }
    }

    fn response_body(&self, resp: &Response, st: &mut St) {
        let bytes = scan_prefix(&resp.body.bytes, st);
        if bytes.is_empty() {
            return;
        }
        let ct = resp
            .body
            .content_type
            .as_deref()
            .or_else(|| resp.headers.get("content-type"));
        if ct.is_some_and(is_binary_type) {
            return;
        }
        let pre = self.t.prefilter(bytes);
        if !pre.name_hint && !pre.any_format() {
            return;
        }
        let place = Place::resp(Location::ResponseBody, "");
        // A JSON body is walked field by field whenever something may be in it, so that a known
        // format found in a field carries the field's name.
        if body::body_kind(ct, bytes) == BodyKind::Json {
            let parsed = body::json_fields(bytes, |k, v| {
                let det = self.t.params.lookup(k);
                match det.and_then(|d| self.t.dets.get(d)).map(|d| d.action) {
                    Some(Action::Csrf) => st.rec.csrf_tokens += 1,
                    Some(Action::Credential) | None => {
                        self.slot(Place::resp(Location::ResponseBody, k), v, det, st);
                    }
                    _ => {}
                }
            });
            if parsed.is_some() {
                return;
            }
        }
        self.text(place, bytes, &pre, st);
    }

    /// Request credentials repeated verbatim in the response body or headers (other than
    /// Set-Cookie), where no detector already found them.
    fn echoes(&self, resp: &Response, st: &mut St) {
        if st.rec.request.is_empty() {
            return;
        }
        let rec = &mut st.rec;
        let candidates = rec
            .request
            .iter()
            .filter(|c| c.value.expose().len() >= MIN_ECHO_LEN && c.kind != "basic");
        for c in candidates {
            let needle = c.value.expose().as_bytes();
            let finder = memchr::memmem::Finder::new(needle);
            let mut hits: Vec<(Location, String)> = Vec::new();
            let body = resp
                .body
                .bytes
                .get(..MAX_SCAN_BYTES)
                .unwrap_or(&resp.body.bytes);
            if finder.find(body).is_some() {
                hits.push((Location::ResponseBody, c.name.clone()));
            }
            for h in resp.headers.iter() {
                if !h.name.eq_ignore_ascii_case("set-cookie")
                    && finder.find(h.value.as_bytes()).is_some()
                {
                    hits.push((Location::ResponseHeader, h.name.to_ascii_lowercase()));
                }
            }
            for (location, name) in hits {
                let already = rec
                    .response
                    .iter()
                    .any(|r| r.key_fp == c.key_fp && r.location == location);
                if already {
                    continue;
                }
                if rec.response.len() >= MAX_CREDS {
                    rec.limits_hit += 1;
                    return;
                }
                rec.response.push(Credential {
                    side: Side::Response,
                    origin: Origin::Echoed,
                    location,
                    name,
                    ..c.clone()
                });
            }
        }
    }
}

/// Bytes looked at before a match for the name that labels it.
const CONTEXT_BACK: usize = 96;

/// The name labelling a value in free text (JS, HTML, JSON that did not parse, config
/// files): `"apiKey": "AIza…`, `token = '…`, `key=…`, `\"secret\":\"…` in a JSON string.
/// `None` when no `name:`/`name=` sits right before the value, or when the name is a
/// generic attribute (`value`, `content`...).
fn context_name(text: &[u8], start: usize) -> Option<&str> {
    let from = start.saturating_sub(CONTEXT_BACK);
    let before = text.get(from..start)?;
    let mut i = before.len();
    let skip = |i: &mut usize, pred: &dyn Fn(u8) -> bool| {
        while *i > 0 && before.get(*i - 1).copied().is_some_and(pred) {
            *i -= 1;
        }
    };
    let quote = |b: u8| matches!(b, b'"' | b'\'' | b'`' | b'\\');
    // Opening quote of the value (possibly escaped), then blanks.
    skip(&mut i, &quote);
    skip(&mut i, &|b: u8| b == b' ' || b == b'\t');
    match before.get(i.checked_sub(1)?) {
        Some(b':' | b'=') => i -= 1,
        _ => return None,
    }
    skip(&mut i, &|b: u8| b == b' ' || b == b'\t');
    skip(&mut i, &quote);
    let end = i;
    skip(&mut i, &|b: u8| {
        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'$')
    });
    let name = std::str::from_utf8(before.get(i..end)?).ok()?;
    let name = name.trim_start_matches(['.', '-']);
    let generic = [
        "value", "content", "src", "href", "data", "url", "v", "q", "s",
    ];
    if name.is_empty()
        || name.len() > 64
        || !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '$')
        || generic.iter().any(|g| name.eq_ignore_ascii_case(g))
    {
        return None;
    }
    Some(name)
}

#[cfg(test)]
pub(crate) fn context_name_for_tests(text: &[u8], start: usize) -> Option<&str> {
    context_name(text, start)
}

/// `user:…(n)` for a `user:password` value.
fn mask_userpass(v: &str) -> String {
    match v.split_once(':') {
        Some((u, p)) => format!("{}:…({})", clip(u), p.chars().count()),
        None => mask(v),
    }
}

fn clip(s: &str) -> String {
    s.chars().take(MAX_IDENTITY_CHARS).collect()
}

fn is_binary_type(ct: &str) -> bool {
    let ct = ct.trim().to_ascii_lowercase();
    ct.starts_with("image/")
        || ct.starts_with("audio/")
        || ct.starts_with("video/")
        || ct.starts_with("font/")
        || ct.starts_with("application/octet-stream")
        || ct.starts_with("application/wasm")
        || ct.starts_with("application/zip")
        || ct.starts_with("application/pdf")
        || ct.starts_with("application/font")
        || ct.starts_with("application/x-font")
}
