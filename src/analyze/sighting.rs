//! Sightings: the compact record of one credential occurrence that the correlation rules need,
//! built from each exchange and its `Recognized` as the exchange streams past, so that no exchange
//! has to be kept. Pooled across all inputs of a run.

use compact_str::{CompactString, ToCompactString};
use rayon::slice::ParallelSliceMut;
use std::sync::Arc;

use super::RuleMeta;
use crate::chunked::Chunked;
use crate::model::{Exchange, Finding, Location, Locator, Timestamp, Transport};
use crate::recognize::{Credential, Origin, Recognized, Side};
use crate::secret::Sensitive;

/// One credential occurrence, with the identity evidence of its exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    pub key_fp: CompactString,
    pub kind: CompactString,
    pub location: Location,
    pub name: CompactString,
    pub side: Side,
    pub origin: Origin,
    pub session_like: bool,
    pub host: CompactString,
    pub method: CompactString,
    /// The request path without query (for path classes like `/login`, `/admin/...`).
    pub path: CompactString,
    pub ts: Option<Timestamp>,
    pub source: Arc<str>,
    pub locator: Option<Locator>,
    /// Client address (IP only, no port: one client opens many connections).
    pub client_ip: Option<CompactString>,
    pub user_agent: Option<Arc<str>>,
    pub transport: Transport,
    pub status: Option<u16>,
    pub subjects: Vec<CompactString>,
    pub roles: Vec<CompactString>,
    /// The session this request belongs to (fingerprint), if any.
    pub session_fp: Option<CompactString>,
    /// The exchange carried at least one request-side credential.
    pub request_authenticated: bool,
    /// The exchange is a login (credentials sent to a login-like endpoint).
    pub is_login: bool,
    /// Ordinal of the exchange within its source, to order sightings of equal timestamps.
    pub seq: u64,
    /// The credential, masked (raw for `--reveal`).
    pub evidence: Sensitive,
    /// The request URL, masked.
    pub url: Arc<Sensitive>,
    pub server: Option<CompactString>,
}

impl Sighting {
    /// A finding located at this sighting, for a correlation rule.
    pub fn finding(&self, meta: &'static RuleMeta) -> Finding {
        Finding {
            rule: meta.id,
            severity: meta.severity,
            title: meta.title,
            source: self.source.clone(),
            locator: self.locator,
            first_seen: self.ts,
            last_seen: self.ts,
            count: 1,
            client: self.client_ip.clone().unwrap_or_default(),
            server: self.server.clone().unwrap_or_default(),
            host: self.host.clone(),
            method: self.method.clone(),
            url: (*self.url).clone(),
            location: Some(self.location),
            name: self.name.clone(),
            kind: self.kind.clone(),
            key_fp: self.key_fp.clone(),
            evidence: self.evidence.clone(),
            detail: CompactString::default(),
            cwe: meta.cwe,
        }
    }

    /// Sightings are ordered by time, then by source and position: "before" in that order.
    pub fn order_key(&self) -> (Option<Timestamp>, &str, u64) {
        (self.ts, &self.source, self.seq)
    }

    /// A presented (request-side) credential.
    pub fn presented(&self) -> bool {
        self.side == Side::Request && self.origin == Origin::Presented
    }
}

/// `a (3), b (1)`: values with their counts, most frequent first, then alphabetical.
pub fn counted<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    let mut m: std::collections::BTreeMap<&str, u64> = Default::default();
    for v in values {
        *m.entry(v).or_default() += 1;
    }
    let mut v: Vec<(&str, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v.iter()
        .map(|(k, n)| format!("{k} ({n})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A finding about a group of sightings of one key: located at the first, counting them all,
/// spanning their times. `None` for an empty group.
pub fn group_finding(
    meta: &'static RuleMeta,
    group: &[&Sighting],
    detail: String,
) -> Option<Finding> {
    let first = group.first()?;
    let mut f = first.finding(meta);
    f.count = group.len() as u64;
    (f.first_seen, f.last_seen) = span(group);
    f.detail = detail.into();
    Some(f)
}

/// Time span of a group of sightings, for a finding's first/last seen.
pub fn span(group: &[&Sighting]) -> (Option<Timestamp>, Option<Timestamp>) {
    (
        group.iter().filter_map(|s| s.ts).min(),
        group.iter().filter_map(|s| s.ts).max(),
    )
}

/// Builds the sightings of one exchange: one per credential occurrence, request and response side.
pub fn sightings_of(ex: &Exchange, rec: &Recognized, seq: u64) -> Vec<Sighting> {
    if rec.request.is_empty() && rec.response.is_empty() {
        return Vec::new();
    }
    // What the exchange's sightings have in common is built once: short strings inline (copied
    // without allocating), the URL and User-Agent behind one `Arc` each.
    let req = ex.request.as_ref();
    let host = ex.host();
    let method = req
        .map(|r| CompactString::from(r.method.as_str()))
        .unwrap_or_default();
    let path = req
        .map(|r| CompactString::from(r.url.path.as_str()))
        .unwrap_or_default();
    let user_agent: Option<Arc<str>> = req.and_then(|r| r.headers.get("user-agent")).map(Arc::from);
    let client_ip = ex.client.map(|c| c.ip().to_compact_string());
    let server = ex.server.map(|a| a.to_compact_string());
    let compact =
        |v: &[String]| -> Vec<CompactString> { v.iter().map(|s| s.as_str().into()).collect() };
    let subjects = compact(&rec.identity.subjects);
    let roles = compact(&rec.identity.roles);
    let session_fp = rec.identity.session_fp.as_deref().map(CompactString::from);
    let url = Arc::new(rec.url.clone());
    let make = |c: &Credential| Sighting {
        key_fp: c.key_fp.as_str().into(),
        kind: c.kind.as_str().into(),
        location: c.location,
        name: c.name.as_str().into(),
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
        subjects: subjects.clone(),
        roles: roles.clone(),
        session_fp: session_fp.clone(),
        request_authenticated: rec.has_request_credentials(),
        is_login: rec.is_login,
        seq,
        evidence: c.evidence.clone(),
        url: url.clone(),
        server: server.clone(),
    };
    rec.request
        .iter()
        .chain(rec.response.iter())
        .map(make)
        .collect()
}

/// All sightings of a run, in a canonical order so that correlation is deterministic whatever
/// the thread count or the order of inputs. The sightings stay where the workers put them; only
/// an index of their positions is sorted (moving them into one sorted table would copy the
/// largest thing a run holds, at its memory peak).
#[derive(Debug, Default)]
pub struct SightingPool {
    store: Chunked<Sighting>,
    /// Positions in `store`, in canonical order.
    order: Vec<(u32, u32)>,
    /// Where each key's run starts in `order`, plus `order.len()` at the end.
    starts: Vec<usize>,
}

/// An index entry while sorting: the leading bytes of the key, compared without touching the
/// sighting; the sighting itself decides between equal prefixes.
struct Entry {
    fp: u64,
    pos: (u32, u32),
}

impl SightingPool {
    pub fn new(sightings: impl Into<Chunked<Sighting>>) -> Self {
        let store: Chunked<Sighting> = sightings.into();
        let mut entries: Vec<Entry> = store
            .positions()
            .into_iter()
            .filter_map(|pos| {
                let s = store.at(pos)?;
                // The first 8 bytes, zero-padded, ordered as the strings are (a shorter string
                // pads with bytes no greater than any of the longer one's).
                let mut fp = [0u8; 8];
                for (d, b) in fp.iter_mut().zip(s.key_fp.bytes()) {
                    *d = b;
                }
                Some(Entry {
                    fp: u64::from_be_bytes(fp),
                    pos,
                })
            })
            .collect();
        // Key-major, then time: every key's sightings are one contiguous run, in time order,
        // so grouping them costs nothing (the rules run in parallel over the same pool).
        // Sightings equal on all of this are the same credential at the same place of the
        // same exchange, so their order cannot show.
        let full = |p: (u32, u32)| {
            store.at(p).map(|s| {
                (
                    &s.key_fp,
                    s.ts,
                    &s.source,
                    s.seq,
                    s.locator,
                    s.side,
                    s.location,
                    &s.name,
                    s.evidence.masked(),
                )
            })
        };
        // The prefix only orders different keys early; equal prefixes fall back to the whole
        // key, then time (never time before the whole key: two keys sharing a prefix would
        // interleave and each split into several groups).
        entries.par_sort_unstable_by(|a, b| {
            a.fp.cmp(&b.fp).then_with(|| full(a.pos).cmp(&full(b.pos)))
        });
        let order: Vec<(u32, u32)> = entries.into_iter().map(|e| e.pos).collect();
        let fp = |p: &(u32, u32)| store.at(*p).map(|s| s.key_fp.as_str());
        let mut starts: Vec<usize> = (0..order.len())
            .filter(|&i| i == 0 || fp(&order[i - 1]) != fp(&order[i]))
            .collect();
        starts.push(order.len());
        SightingPool {
            store,
            order,
            starts,
        }
    }

    /// Every sighting, in canonical order.
    pub fn iter(&self) -> impl Iterator<Item = &Sighting> {
        self.order.iter().filter_map(|p| self.store.at(*p))
    }

    /// Sightings grouped by `key_fp`, groups in fingerprint order, each group in time order.
    pub fn by_key(&self) -> impl Iterator<Item = (&str, Group<'_>)> {
        self.starts.windows(2).filter_map(|w| {
            let group = Group {
                store: &self.store,
                at: self.order.get(*w.first()?..*w.get(1)?)?,
            };
            Some((group.first()?.key_fp.as_str(), group))
        })
    }
}

/// The sightings of one key, in time order: a view into the pool.
#[derive(Clone, Copy)]
pub struct Group<'a> {
    store: &'a Chunked<Sighting>,
    at: &'a [(u32, u32)],
}

impl<'a> Group<'a> {
    pub fn iter(&self) -> impl Iterator<Item = &'a Sighting> + use<'a> {
        let store = self.store;
        self.at.iter().filter_map(move |p| store.at(*p))
    }

    pub fn first(&self) -> Option<&'a Sighting> {
        self.store.at(*self.at.first()?)
    }

    pub fn len(&self) -> usize {
        self.at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }
}

#[cfg(test)]
pub mod testing {
    //! Builders for correlation-rule tests.
    use super::*;

    /// A request-side, presented API-key sighting in header `x-api-key` to `host`.
    pub fn sighting(key: &str, host: &str, seq: u64) -> Sighting {
        Sighting {
            key_fp: key.into(),
            kind: "api-key".into(),
            location: Location::Header,
            name: "x-api-key".into(),
            side: Side::Request,
            origin: Origin::Presented,
            session_like: false,
            host: host.into(),
            method: "GET".into(),
            path: "/".into(),
            ts: Some(seq as i64 * 1_000_000_000),
            source: Arc::from("t.pcap"),
            locator: Some(Locator::Frame(seq)),
            client_ip: Some("10.0.0.1".into()),
            user_agent: Some("ua".into()),
            transport: Transport::Cleartext,
            status: Some(200),
            subjects: Vec::new(),
            roles: Vec::new(),
            session_fp: None,
            request_authenticated: true,
            is_login: false,
            seq,
            evidence: Sensitive::plain("…(20)"),
            url: Arc::new(Sensitive::plain("http://h/")),
            server: None,
        }
    }

    /// A session cookie sighting.
    pub fn session(key: &str, seq: u64) -> Sighting {
        Sighting {
            kind: "session-cookie".into(),
            location: Location::Cookie,
            name: "sid".into(),
            session_like: true,
            session_fp: Some(key.into()),
            ..sighting(key, "app.example", seq)
        }
    }

    pub fn run(rule: &dyn crate::analyze::CorrelationRule, s: Vec<Sighting>) -> Vec<Finding> {
        let pool = SightingPool::new(s);
        let mut out = Vec::new();
        rule.check(&pool, &mut out);
        out
    }
}

#[cfg(test)]
mod pool_tests {
    use super::testing::sighting;
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every key is one group, in time order, whatever the keys share: fingerprints are 16
        /// hex characters, and keys here share their first 8 (the sort's fast prefix) or more.
        #[test]
        fn one_group_per_key_in_time_order(
            items in prop::collection::vec((0u8..4, 0u8..3, 0u64..50), 0..80),
            chunked in any::<bool>(),
        ) {
            let all: Vec<Sighting> = items
                .iter()
                .enumerate()
                .map(|(i, &(k, tail, t))| {
                    let key = format!("deadbeef{:07x}{}", k, tail);
                    let mut s = sighting(&key, "h", i as u64);
                    s.ts = Some(t as i64);
                    s
                })
                .collect();
            let pool = if chunked {
                // Two workers' chunks, joined.
                let mut a: Chunked<Sighting> = all.iter().step_by(2).cloned().collect::<Vec<_>>().into();
                a.append(all.iter().skip(1).step_by(2).cloned().collect::<Vec<_>>().into());
                SightingPool::new(a)
            } else {
                SightingPool::new(all.clone())
            };
            let keys: std::collections::BTreeSet<&str> = all.iter().map(|s| s.key_fp.as_str()).collect();
            let groups: Vec<(&str, Group<'_>)> = pool.by_key().collect();
            prop_assert_eq!(groups.len(), keys.len());
            prop_assert!(groups.iter().map(|g| g.0).eq(keys.iter().copied()));
            let mut n = 0;
            for (k, g) in &groups {
                prop_assert!(g.iter().all(|s| s.key_fp == *k));
                let ts: Vec<_> = g.iter().map(|s| s.ts).collect();
                prop_assert!(ts.windows(2).all(|w| w[0] <= w[1]));
                n += g.len();
            }
            prop_assert_eq!(n, all.len());
            prop_assert_eq!(pool.iter().count(), all.len());
        }
    }
}
