//! Sightings: the compact record of one credential occurrence that the correlation rules need,
//! built from each exchange and its `Recognized` as the exchange streams past, so that no exchange
//! has to be kept. Pooled across all inputs of a run.

use std::sync::Arc;

use crate::model::{Exchange, Location, Locator, Timestamp, Transport};
use crate::recognize::{Credential, Origin, Recognized, Side};

/// One credential occurrence, with the identity evidence of its exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    pub key_fp: String,
    pub kind: String,
    pub location: Location,
    pub name: String,
    pub side: Side,
    pub origin: Origin,
    pub session_like: bool,
    pub host: String,
    pub method: String,
    /// The request path without query (for path classes like `/login`, `/admin/...`).
    pub path: String,
    pub ts: Option<Timestamp>,
    pub source: Arc<str>,
    pub locator: Option<Locator>,
    /// Client address (IP only, no port: one client opens many connections).
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub transport: Transport,
    pub status: Option<u16>,
    pub subjects: Vec<String>,
    pub roles: Vec<String>,
    /// The session this request belongs to (fingerprint), if any.
    pub session_fp: Option<String>,
    /// The exchange carried at least one request-side credential.
    pub request_authenticated: bool,
    /// The exchange is a login (credentials sent to a login-like endpoint).
    pub is_login: bool,
    /// Ordinal of the exchange within its source, to order sightings of equal timestamps.
    pub seq: u64,
}

/// Builds the sightings of one exchange: one per credential occurrence, request and response side.
pub fn sightings_of(ex: &Exchange, rec: &Recognized, seq: u64) -> Vec<Sighting> {
    let req = ex.request.as_ref();
    let host = ex.host();
    let method = req.map(|r| r.method.clone()).unwrap_or_default();
    let path = req.map(|r| r.url.path.clone()).unwrap_or_default();
    let user_agent = req
        .and_then(|r| r.headers.get("user-agent"))
        .map(str::to_string);
    let client_ip = ex.client.map(|c| c.ip().to_string());
    let make = |c: &Credential| Sighting {
        key_fp: c.key_fp.clone(),
        kind: c.kind.clone(),
        location: c.location,
        name: c.name.clone(),
        side: c.side,
        origin: c.origin,
        session_like: c.session_like,
        host: host.clone(),
        method: method.clone(),
        path: path.clone(),
        ts: ex.ts(),
        source: ex.source.clone(),
        locator: ex.locator(),
        client_ip: client_ip.clone(),
        user_agent: user_agent.clone(),
        transport: ex.transport,
        status: ex.status(),
        subjects: rec.identity.subjects.clone(),
        roles: rec.identity.roles.clone(),
        session_fp: rec.identity.session_fp.clone(),
        request_authenticated: rec.has_request_credentials(),
        is_login: rec.is_login,
        seq,
    };
    rec.request
        .iter()
        .chain(rec.response.iter())
        .map(make)
        .collect()
}

/// All sightings of a run, sorted into a canonical order so that correlation is deterministic
/// whatever the thread count or the order of inputs.
#[derive(Debug, Default)]
pub struct SightingPool {
    pub sightings: Vec<Sighting>,
}

impl SightingPool {
    pub fn new(mut sightings: Vec<Sighting>) -> Self {
        sightings.sort_by(|a, b| {
            (
                a.ts, &a.source, a.seq, a.locator, a.side, a.location, &a.name, &a.key_fp,
            )
                .cmp(&(
                    b.ts, &b.source, b.seq, b.locator, b.side, b.location, &b.name, &b.key_fp,
                ))
        });
        SightingPool { sightings }
    }

    /// Sightings grouped by `key_fp`, groups in fingerprint order, each group in time order.
    pub fn by_key(&self) -> Vec<(&str, Vec<&Sighting>)> {
        let mut map: std::collections::BTreeMap<&str, Vec<&Sighting>> = Default::default();
        for s in &self.sightings {
            map.entry(s.key_fp.as_str()).or_default().push(s);
        }
        map.into_iter().collect()
    }
}
