//! What is a credential: reads one `model::Exchange` and returns `Recognized`, the credentials in
//! it (kind, location, name, masked value, fingerprint), the identity evidence beside them
//! (subjects, roles, session), decoded JWTs and parsed Set-Cookie lines. Detection knowledge is
//! data (`detectors.toml`); `analyze` reads only what this module returns.

mod auth;
mod body;
pub mod config;
pub mod jwt;
pub mod keywords;
mod lean;
mod names;
mod noise;
mod recognizer;
pub mod setcookie;
mod tables;
#[cfg(test)]
mod tests;
mod wide;

use crate::model::{Location, Timestamp};
use crate::secret::{Secret, Sensitive};
use serde::{Deserialize, Serialize};

pub use recognizer::Recognizer;
pub use setcookie::SetCookie;

/// Which side of the exchange a credential was seen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Side {
    Request,
    Response,
}

/// How a response-side credential relates to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Origin {
    /// Sent by the client in the request.
    Presented,
    /// Issued by the server: Set-Cookie, a token field in a JSON body, a key in a page.
    Issued,
    /// A request credential that the response repeats (matched by fingerprint).
    Echoed,
}

/// One credential occurrence in an exchange.
#[derive(Debug, Clone)]
pub struct Credential {
    /// What it is: `api-key`, `bearer`, `basic`, `jwt`, `session-cookie`, `password`,
    /// `aws-access-key-id`, `github-token`, `stripe-secret-key`... (the contract's `kind`).
    pub kind: String,
    /// Id of the detector that recognised it (from `detectors.toml` or the user's config).
    pub detector: String,
    pub side: Side,
    pub origin: Origin,
    pub location: Location,
    /// Header name (lowercase), parameter, cookie or JSON field name.
    pub name: String,
    /// The normalized secret value (URL-decoded, scheme stripped; for Basic the whole
    /// `user:password`). Its fingerprint is `key_fp`.
    pub value: Secret,
    pub key_fp: String,
    /// How to show it: masked (`alice:…(8)`, `sk_l…(32)`), raw under `--reveal`.
    pub evidence: Sensitive,
    /// Session identifier (session cookie, `jsessionid`, `sid`...), as opposed to an API key.
    pub session_like: bool,
}

/// A decoded JSON Web Token (signature not verified).
#[derive(Debug, Clone, Default)]
pub struct JwtInfo {
    pub location: Option<Location>,
    pub name: String,
    pub key_fp: String,
    pub alg: Option<String>,
    /// Signature part is empty (or `alg` is `none`).
    pub unsigned: bool,
    /// Claims in seconds since the epoch.
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub nbf: Option<i64>,
    pub sub: Option<String>,
    pub iss: Option<String>,
    pub client_id: Option<String>,
    pub email: Option<String>,
    pub preferred_username: Option<String>,
    /// Roles, scopes, groups and permissions from every claim that carries them, sorted.
    pub roles: Vec<String>,
}

/// Who a request acts for and with what privileges, from evidence beside its credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// Subjects with where they came from, e.g. `jwt-sub:alice`, `basic:bob`, `header:x-user:carol`.
    /// Identities, not secrets.
    pub subjects: Vec<String>,
    /// Roles and scopes, e.g. `admin`, `read:users`.
    pub roles: Vec<String>,
    /// Fingerprint of the session credential the request belongs to, when it has one.
    pub session_fp: Option<String>,
}

/// A Referer header whose URL was analysed.
#[derive(Debug, Clone)]
pub struct RefererInfo {
    /// Origin of the Referer URL (`https://a.example`).
    pub origin: String,
    /// Credentials found in the Referer URL (location query/path/fragment/userinfo).
    pub credentials: Vec<Credential>,
}

/// Everything `recognize` learnt about one exchange.
#[derive(Debug, Clone, Default)]
pub struct Recognized {
    /// Credentials the client presented (headers, cookies, URL, body).
    pub request: Vec<Credential>,
    /// Credentials in the response: issued (Set-Cookie, token fields, known formats) or echoed.
    pub response: Vec<Credential>,
    /// Parsed Set-Cookie lines of the response (and HAR cookie objects), in order.
    pub set_cookies: Vec<SetCookie>,
    pub jwts: Vec<JwtInfo>,
    pub identity: Identity,
    /// The request URL with credential values masked.
    pub url: Sensitive,
    /// The request URL's path (no query), credential values masked: what rules may show.
    pub path: String,
    pub referer: Option<RefererInfo>,
    /// The request looks like a login: credentials in its body or Basic auth to a login-like path.
    pub is_login: bool,
    /// Request timestamp copied for the rules, in ns.
    pub ts: Option<Timestamp>,
    /// CSRF tokens seen (kept apart so that they are never reported as leaked keys).
    pub csrf_tokens: usize,
    /// Times a bound was hit while recognising this exchange (credentials, JWTs, keyword hits,
    /// identity entries per exchange): something may have been left out.
    pub limits_hit: usize,
}

impl Recognized {
    /// Forgets the raw text of the URL and of every credential's evidence (a run that will not
    /// `--reveal` keeps masked text only). Rules still match on `Credential::value`.
    pub fn drop_raw(&mut self) {
        self.url.drop_raw();
        for c in self.request.iter_mut().chain(self.response.iter_mut()) {
            c.evidence.drop_raw();
        }
    }

    pub fn has_request_credentials(&self) -> bool {
        !self.request.is_empty()
    }
}

/// Masks a value of a credential as evidence.
pub fn evidence_of(value: &Secret) -> Sensitive {
    Sensitive::new(value.masked(), value.expose())
}

/// Why the detector configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RecognizeError {
    #[error("detector configuration: {0}")]
    Config(String),
}
