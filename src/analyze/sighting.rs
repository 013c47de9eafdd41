//! Sightings: the compact record of one credential occurrence that the correlation rules need,
//! built from each exchange and its `Recognized` as the exchange streams past, so that no exchange
//! has to be kept. Pooled across all inputs of a run.

use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

use super::RuleMeta;
use crate::model::{Exchange, Finding, Location, Locator, Timestamp, Transport};
use crate::recognize::{Credential, Origin, Recognized, Side};
use crate::secret::Sensitive;

/// One credential occurrence, with the identity evidence of its exchange. `Serialize` is the
/// spill files' encoding (`crate::spill`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The request path without query, credential values masked (for path classes like
    /// `/login`, `/admin/...`).
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
    #[serde(with = "crate::secret::spill_form")]
    pub evidence: Sensitive,
    /// The request URL, masked.
    #[serde(with = "crate::secret::spill_form::arc")]
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
    // Masked: rules show it in their detail.
    let path = CompactString::from(rec.path.as_str());
    let user_agent: Option<Arc<str>> = req.and_then(|r| r.headers.get("user-agent")).map(Arc::from);
    let client_ip = ex.client.map(|c| crate::model::ip_text(c.ip()));
    let server = ex.server.map(crate::model::addr_text);
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

/// The canonical order of sightings: key-major, then time, so that every key's sightings are one
/// contiguous run in time order, whatever the thread count, the order of inputs or where the
/// run spilled. Sightings equal on all of this are the same credential at the same place of the
/// same exchange, so their order cannot show.
pub fn sighting_order(a: &Sighting, b: &Sighting) -> std::cmp::Ordering {
    type Rest<'a> = (
        u64,
        Option<Locator>,
        Side,
        Location,
        &'a CompactString,
        &'a str,
    );
    fn rest(s: &Sighting) -> Rest<'_> {
        (
            s.seq,
            s.locator,
            s.side,
            s.location,
            &s.name,
            s.evidence.masked(),
        )
    }
    // Never time before the whole key: two keys sharing a prefix would interleave and each
    // split into several groups.
    a.key_fp.cmp(&b.key_fp).then_with(|| {
        a.ts.cmp(&b.ts)
            .then_with(|| super::shared_str_cmp(&a.source, &b.source))
            .then_with(|| rest(a).cmp(&rest(b)))
    })
}

/// Sorts sightings into `sighting_order`, on this thread (a spill run, sorted by the spill's own
/// writer thread).
#[allow(clippy::ptr_arg)] // a `spill::Prepare`, whose signature lets others fold (truncate)
pub fn sort_sightings(v: &mut Vec<Sighting>) {
    v.sort_unstable_by(sighting_order);
}

/// Sorts sightings into `sighting_order` on the current rayon pool (a run's whole pool), by
/// keys (`keysort`): the fingerprint's first 16 bytes (all of it: fingerprints are 16 hex
/// digits) and the time settle most comparisons.
pub fn par_sort_sightings(v: &mut [Sighting]) {
    use super::keysort::{Prefix, par_sort_by_keys};
    par_sort_by_keys(
        v,
        |s| (Prefix::of(&s.key_fp), s.ts),
        |a, b| match a.0.cmp_prefix(&b.0) {
            // The same key: the time is next in `sighting_order`.
            Some(std::cmp::Ordering::Equal) => a.1.cmp(&b.1),
            Some(o) => o,
            None => std::cmp::Ordering::Equal,
        },
        sighting_order,
    );
}

/// The groups of sightings sorted by `sighting_order`, one per key, in key order.
pub fn groups(sorted: &[Sighting]) -> Vec<Group<'_>> {
    sorted
        .chunk_by(|a, b| a.key_fp == b.key_fp)
        .map(|items| Group { items })
        .collect()
}

impl crate::spill::Spill for Sighting {
    fn mem_bytes(&self) -> usize {
        use crate::spill::heap_str;
        // The URL and User-Agent are shared by the sightings of one exchange: each is counted
        // in full (an over-estimate spills a little early, never late).
        std::mem::size_of::<Self>()
            + [
                &self.key_fp,
                &self.kind,
                &self.name,
                &self.host,
                &self.method,
                &self.path,
            ]
            .into_iter()
            .chain(self.client_ip.iter())
            .chain(self.session_fp.iter())
            .chain(self.server.iter())
            .map(heap_str)
            .sum::<usize>()
            + (self.subjects.len() + self.roles.len()) * std::mem::size_of::<CompactString>()
            + self
                .subjects
                .iter()
                .chain(self.roles.iter())
                .map(heap_str)
                .sum::<usize>()
            + self.user_agent.as_ref().map_or(0, |u| u.len())
            + self.evidence.heap_bytes()
            + self.url.heap_bytes()
    }
}

/// The sightings of one key, in time order.
#[derive(Clone, Copy)]
pub struct Group<'a> {
    items: &'a [Sighting],
}

impl<'a> Group<'a> {
    pub fn iter(&self) -> std::slice::Iter<'a, Sighting> {
        self.items.iter()
    }

    pub fn first(&self) -> Option<&'a Sighting> {
        self.items.first()
    }

    /// The key's fingerprint.
    pub fn key(&self) -> &'a str {
        self.items.first().map_or("", |s| s.key_fp.as_str())
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// An exchange: its source and ordinal in it.
type ExchangeId = (Arc<str>, u64);
/// A cookie set by a response: name and the value's fingerprint.
type SetCookie = (CompactString, CompactString);

/// What the correlation rules know beyond one key's group: built from all sightings before the
/// groups are read, and small (it concerns login exchanges only).
#[derive(Debug, Default)]
pub struct CorrelationCtx {
    /// Cookies each login response set, by exchange (source, ordinal): (name, key_fp).
    set_at_login: HashMap<ExchangeId, Vec<SetCookie>>,
}

impl CorrelationCtx {
    /// The context of all of a run's `sightings` at once (a run that spills notes them as they
    /// arrive instead).
    pub fn of(sightings: &[Sighting]) -> Self {
        let mut cx = CorrelationCtx::default();
        sightings.iter().for_each(|s| cx.note(s));
        cx
    }

    /// Takes note of what a sighting tells beyond its key (call for every sighting of the run).
    pub fn note(&mut self, s: &Sighting) {
        if s.is_login && s.side == Side::Response && s.location == Location::SetCookie {
            self.set_at_login
                .entry((s.source.clone(), s.seq))
                .or_default()
                .push((s.name.clone(), s.key_fp.clone()));
        }
    }

    /// The response of login exchange (`source`, `seq`) set cookie `name` to a value other than
    /// `key_fp`.
    pub fn rotated_at_login(&self, source: &Arc<str>, seq: u64, name: &str, key_fp: &str) -> bool {
        self.set_at_login
            .get(&(source.clone(), seq))
            .into_iter()
            .flatten()
            .any(|(n, k)| n == name && k != key_fp)
    }
}

/// One row of the `keys` report: a key's sightings summed up. `Serialize` is the spill files'
/// encoding (`crate::spill`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyRow {
    pub key_fp: CompactString,
    pub kind: String,
    /// The first sighting's evidence.
    #[serde(with = "crate::secret::spill_form")]
    pub evidence: Sensitive,
    pub names: String,
    pub locations: String,
    pub hosts: String,
    pub subjects: String,
    pub roles: String,
    pub clients: String,
    pub sources: String,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub sightings: u64,
    pub cleartext: u64,
    pub in_url: u64,
    pub in_response: u64,
    /// The rules with findings about this key, comma-separated (filled in once findings are
    /// merged).
    pub findings: String,
}

impl crate::spill::Spill for KeyRow {
    fn mem_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + crate::spill::heap_str(&self.key_fp)
            + self.evidence.heap_bytes()
            + [
                &self.kind,
                &self.names,
                &self.locations,
                &self.hosts,
                &self.subjects,
                &self.roles,
                &self.clients,
                &self.sources,
                &self.findings,
            ]
            .into_iter()
            .map(String::capacity)
            .sum::<usize>()
    }
}

/// The `keys` report's rows, in key order: in memory, or read back from a spill file.
pub struct Keys(crate::spill::Sorted<KeyRow>);

impl Default for Keys {
    fn default() -> Self {
        Keys(crate::spill::Sorted::in_memory(Vec::new(), key_order))
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys({} rows)", self.0.len())
    }
}

impl From<crate::spill::Sorted<KeyRow>> for Keys {
    fn from(rows: crate::spill::Sorted<KeyRow>) -> Self {
        Keys(rows)
    }
}

impl Keys {
    /// The rows, as sorted runs (for the reports that write them a part at a time).
    pub fn rows(&self) -> &crate::spill::Sorted<KeyRow> {
        &self.0
    }

    /// Every row, in one table (the reports that need the whole table).
    pub fn to_vec(&self) -> Result<Vec<KeyRow>, crate::spill::SpillError> {
        self.0.to_vec()
    }
}

/// A rule with a finding about a key: what fills a key row's `findings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRule {
    pub key_fp: CompactString,
    #[serde(deserialize_with = "crate::model::catalog_str::rule")]
    pub rule: crate::model::CatalogStr,
}

impl crate::spill::Spill for KeyRule {
    fn mem_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + crate::spill::heap_str(&self.key_fp)
    }
}

pub fn key_rule_order(a: &KeyRule, b: &KeyRule) -> std::cmp::Ordering {
    (&a.key_fp, a.rule).cmp(&(&b.key_fp, b.rule))
}

/// Sorted, each (key, rule) once.
pub fn sort_key_rules(v: &mut Vec<KeyRule>) {
    v.sort_unstable_by(key_rule_order);
    v.dedup();
}

/// Key rows in key order (they are made in it; a run is sorted anyway).
pub fn key_order(a: &KeyRow, b: &KeyRow) -> std::cmp::Ordering {
    a.key_fp.cmp(&b.key_fp)
}

#[allow(clippy::ptr_arg)] // a `spill::Prepare`
pub fn sort_keys(v: &mut Vec<KeyRow>) {
    v.sort_by(key_order);
}

impl KeyRow {
    pub fn of(g: Group<'_>) -> KeyRow {
        fn join<'a>(it: impl IntoIterator<Item = &'a str>) -> String {
            let set: std::collections::BTreeSet<&str> =
                it.into_iter().filter(|s| !s.is_empty()).collect();
            set.into_iter().collect::<Vec<_>>().join(",")
        }
        KeyRow {
            key_fp: g.key().into(),
            kind: join(g.iter().map(|s| s.kind.as_str())),
            evidence: g.first().map(|s| s.evidence.clone()).unwrap_or_default(),
            names: join(g.iter().map(|s| s.name.as_str())),
            locations: join(g.iter().map(|s| s.location.as_str())),
            hosts: join(g.iter().map(|s| s.host.as_str())),
            subjects: join(
                g.iter()
                    .flat_map(|s| s.subjects.iter().map(CompactString::as_str)),
            ),
            roles: join(
                g.iter()
                    .flat_map(|s| s.roles.iter().map(CompactString::as_str)),
            ),
            clients: join(g.iter().filter_map(|s| s.client_ip.as_deref())),
            sources: join(g.iter().map(|s| &*s.source)),
            first_seen: g.iter().filter_map(|s| s.ts).min(),
            last_seen: g.iter().filter_map(|s| s.ts).max(),
            sightings: g.len() as u64,
            cleartext: g
                .iter()
                .filter(|s| s.transport == Transport::Cleartext)
                .count() as u64,
            in_url: g.iter().filter(|s| s.location.in_url()).count() as u64,
            in_response: g.iter().filter(|s| s.side == Side::Response).count() as u64,
            findings: String::new(),
        }
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

    pub fn run(rule: &dyn crate::analyze::CorrelationRule, mut s: Vec<Sighting>) -> Vec<Finding> {
        let cx = CorrelationCtx::of(&s);
        par_sort_sightings(&mut s);
        let mut out = Vec::new();
        rule.check(&cx, &groups(&s), &mut out);
        out
    }
}

#[cfg(test)]
mod pool_tests {
    use super::testing::sighting;
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The key sort puts sightings exactly where sorting the sightings themselves does:
        /// fingerprints shorter and longer than its 16-byte prefix, sharing it, ending in NULs;
        /// times equal and absent.
        #[test]
        fn key_sort_is_sighting_order(
            items in prop::collection::vec(
                (prop::sample::select(vec![
                    "", "a", "a\0", "a\0\0", "deadbeefdeadbeef", "deadbeefdeadbeee",
                    "deadbeefdeadbeef0", "deadbeefdeadbeef1", "deadbeefdeadbee", "\u{e9}",
                ]), prop::option::of(0i64..4), 0u64..3),
                0..120,
            ),
        ) {
            let all: Vec<Sighting> = items
                .iter()
                .map(|&(key, ts, seq)| {
                    let mut s = sighting(key, "h", seq);
                    s.ts = ts;
                    s
                })
                .collect();
            let mut want = all.clone();
            want.sort_by(sighting_order);
            let mut got = all;
            par_sort_sightings(&mut got);
            let view = |v: &[Sighting]| {
                v.iter().map(|s| (s.key_fp.to_string(), s.ts, s.seq)).collect::<Vec<_>>()
            };
            prop_assert_eq!(view(&got), view(&want));
        }

        /// Every key is one group, in time order, whatever the keys share: fingerprints are 16
        /// hex characters, and keys here share their first 8 or more (an earlier sort compared
        /// an 8-character prefix and then the time, and split such keys into several groups).
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
            let mut sorted = all.clone();
            if chunked {
                // Sorted in two halves and merged by a spill, as a run over budget is.
                let sp = crate::spill::Spiller::new(0, sighting_order, sort_sightings);
                sp.push(all.iter().step_by(2).cloned());
                sp.push(all.iter().skip(1).step_by(2).cloned());
                sorted = match sp.finish() {
                    crate::spill::Finished::Spilled(runs) => runs.iter().map(|r| r.unwrap()).collect(),
                    crate::spill::Finished::Memory(mut v) => { sort_sightings(&mut v); v }
                };
            } else {
                sort_sightings(&mut sorted);
            }
            let keys: std::collections::BTreeSet<&str> = all.iter().map(|s| s.key_fp.as_str()).collect();
            let groups: Vec<(&str, Group<'_>)> = groups(&sorted).into_iter().map(|g| (g.key(), g)).collect();
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
        }
    }
}
