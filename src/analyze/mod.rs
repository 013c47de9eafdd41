//! Rules: fed each `model::Exchange` with its `recognize::Recognized` (per-exchange rules, run in
//! parallel) and the run's pool of `Sighting`s (correlation rules, run once at the end); produces
//! `model::Finding`s, merged by `aggregate` and handed to `report`. Rules never see packets.

pub mod catalog;
pub mod keysort;
pub mod rules;
pub mod sighting;

use crate::chunked::Chunked;
use crate::model::{Exchange, Finding, Locator, Severity};
use crate::recognize::{Credential, Recognized};
use crate::secret::Sensitive;
use compact_str::CompactString;
use rayon::slice::ParallelSliceMut;

use crate::spill::{Finished, Sorted, SpillError, Spiller};

pub use catalog::{CATALOG, RuleMeta, rule_meta};
pub use sighting::{CorrelationCtx, Group, KeyRow, Keys, Sighting};

/// Settings the rules read (from `--config` and flags).
#[derive(Debug, Clone)]
pub struct AnalyzeConfig {
    /// `cookie-long-lived-session` fires above this lifetime (seconds; default 30 days).
    pub max_session_cookie_lifetime_secs: i64,
    /// Rules switched on (`--select`) / off (`--ignore`); empty select means all.
    pub select: Vec<String>,
    pub ignore: Vec<String>,
}

impl Default for AnalyzeConfig {
    fn default() -> Self {
        AnalyzeConfig {
            max_session_cookie_lifetime_secs: 30 * 24 * 3600,
            select: Vec::new(),
            ignore: Vec::new(),
        }
    }
}

impl AnalyzeConfig {
    pub fn enabled(&self, rule: &str) -> bool {
        (self.select.is_empty() || self.select.iter().any(|s| s == rule))
            && !self.ignore.iter().any(|s| s == rule)
    }
}

/// What a per-exchange rule sees.
pub struct ExchangeCtx<'a> {
    pub ex: &'a Exchange,
    pub rec: &'a Recognized,
    pub cfg: &'a AnalyzeConfig,
}

impl ExchangeCtx<'_> {
    /// A finding pre-filled from this exchange and rule; the rule sets location, name, kind,
    /// key_fp, evidence and detail.
    pub fn finding(&self, meta: &'static RuleMeta) -> Finding {
        let ex = self.ex;
        let ts = ex.ts();
        Finding {
            rule: meta.id,
            severity: meta.severity,
            title: meta.title,
            source: ex.source.clone(),
            locator: ex.locator(),
            first_seen: ts,
            last_seen: ts,
            count: 1,
            client: ex.client.map(crate::model::addr_text).unwrap_or_default(),
            server: ex.server.map(crate::model::addr_text).unwrap_or_default(),
            host: ex.host(),
            method: ex
                .request
                .as_ref()
                .map(|r| r.method.as_str().into())
                .unwrap_or_default(),
            url: self.rec.url.clone(),
            location: None,
            name: CompactString::default(),
            kind: CompactString::default(),
            key_fp: CompactString::default(),
            evidence: Sensitive::default(),
            detail: CompactString::default(),
            cwe: meta.cwe,
        }
    }

    /// A finding about one credential.
    pub fn credential_finding(&self, meta: &'static RuleMeta, c: &Credential) -> Finding {
        let mut f = self.finding(meta);
        f.location = Some(c.location);
        f.name = c.name.as_str().into();
        f.kind = c.kind.as_str().into();
        f.key_fp = c.key_fp.as_str().into();
        f.evidence = c.evidence.clone();
        f
    }
}

/// A rule decided on one exchange at a time.
pub trait ExchangeRule: Send + Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, cx: &ExchangeCtx<'_>, out: &mut Vec<Finding>);
}

/// A rule decided over all sightings of a run, one key at a time: it is handed batches of key
/// groups (each key's sightings in time order, a key never split across batches), so that the
/// sightings need not all be in memory at once.
pub trait CorrelationRule: Send + Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, cx: &CorrelationCtx, groups: &[Group<'_>], out: &mut Vec<Finding>);
}

/// Runs every enabled per-exchange rule on one exchange.
pub fn check_exchange(
    rules: &[Box<dyn ExchangeRule>],
    cx: &ExchangeCtx<'_>,
    out: &mut Vec<Finding>,
) {
    for r in rules {
        if cx.cfg.enabled(r.meta().id) {
            r.check(cx, out);
        }
    }
}

/// Merges identical findings (same rule, source, host, location, name, key_fp) into one row with
/// a count and the first/last time seen; keeps the earliest locator. The result is sorted by
/// severity (highest first), then count (highest first), then the merge key, so output is stable
/// whatever the thread count or input order.
pub fn aggregate(v: Vec<Finding>) -> Vec<Finding> {
    let mut v = fold(v);
    sort_findings(&mut v);
    v
}

/// `aggregate` without the sort: each merge key's findings folded into one row, rows in no
/// particular order.
pub fn fold(mut v: Vec<Finding>) -> Vec<Finding> {
    // In place (the run's findings are at its memory peak here, and a second table of them would
    // double it), by hash in one pass: the kept rows are compacted to the front, a duplicate is
    // folded into its row where it stands. `merge_pair` does not depend on the order it sees
    // findings in, so neither does the result.
    let mut index = MergeIndex::default();
    let mut kept = 0;
    for i in 0..v.len() {
        let (front, back) = v.split_at_mut(kept);
        let Some(f) = back.get_mut(i - kept) else {
            break;
        };
        let h = MergeIndex::hash(f);
        let found = index.find(h, f, |at| front.get(at));
        if let Some(acc) = found.and_then(|at| front.get_mut(at)) {
            merge_pair(acc, f);
            continue;
        }
        v.swap(kept, i);
        index.push(h, kept);
        kept += 1;
    }
    v.truncate(kept);
    v
}

/// Rows indexed by the hash of their merge key (rule, source, host, location, name, key_fp):
/// equal hashes are chained and compared field by field, so no key is copied.
#[derive(Default)]
struct MergeIndex {
    /// Hash of the merge key → last row pushed with that hash.
    heads: foldhash::HashMap<u64, usize>,
    /// For each row, the previous row with the same hash (`usize::MAX`: none).
    next: Vec<usize>,
}

impl MergeIndex {
    fn hash(f: &Finding) -> u64 {
        use std::hash::BuildHasher;
        // Only a bucket index (rows keep arrival order, so output does not depend on it).
        foldhash::fast::FixedState::default().hash_one(f.merge_key())
    }

    /// The row with `f`'s merge key (`h` its hash), if any; `row(i)` reads row `i`.
    fn find<'a>(
        &self,
        h: u64,
        f: &Finding,
        row: impl Fn(usize) -> Option<&'a Finding>,
    ) -> Option<usize> {
        let mut at = self.heads.get(&h).copied().unwrap_or(usize::MAX);
        while let Some(r) = row(at) {
            if r.merge_key() == f.merge_key() {
                return Some(at);
            }
            at = self.next.get(at).copied().unwrap_or(usize::MAX);
        }
        None
    }

    /// Row `i`, the next one, has hash `h`.
    fn push(&mut self, h: u64, i: usize) {
        self.next
            .push(self.heads.insert(h, i).unwrap_or(usize::MAX));
    }
}

/// Findings merged as they arrive, one entry per merge key: O(1) per finding.
#[derive(Default)]
pub struct FindingMerger {
    index: MergeIndex,
    items: Chunked<Finding>,
}

impl FindingMerger {
    pub fn add(&mut self, mut f: Finding) {
        let h = MergeIndex::hash(&f);
        let items = &self.items;
        let found = self.index.find(h, &f, |at| items.get(at));
        if let Some(acc) = found.and_then(|at| self.items.get_mut(at)) {
            merge_pair(acc, &mut f);
            return;
        }
        self.index.push(h, self.items.len());
        self.items.push(f);
    }

    /// Rows held (merge keys seen).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The merged findings, in order of first arrival.
    pub fn into_chunked(self) -> Chunked<Finding> {
        self.items
    }

    /// The merged findings, in order of first arrival.
    pub fn into_vec(self) -> Vec<Finding> {
        self.items.into_vec()
    }
}

/// One more occurrence `f` merged into `acc`: counts add up, the highest severity and the widest
/// time span win, and the representative (what the row shows) is the smaller by
/// `representative_key`, so that the row is the same whatever order the threads delivered its
/// findings in. `f` is left holding the other one.
fn merge_pair(acc: &mut Finding, f: &mut Finding) {
    let count = acc.count + f.count;
    let severity = acc.severity.max(f.severity);
    let first = min_opt(acc.first_seen, f.first_seen);
    let last = max_opt(acc.last_seen, f.last_seen);
    if representative_key(f) < representative_key(acc) {
        std::mem::swap(acc, f);
    }
    acc.count = count;
    acc.severity = severity;
    acc.first_seen = first;
    acc.last_seen = last;
}

/// Which of two findings with one merge key a row shows: the smallest of this (a finding
/// without a locator last). Every field a row shows that merging leaves alone, so that the
/// choice never falls to arrival order.
type RepresentativeKey<'a> = (
    (bool, Option<Locator>),
    (&'a str, &'a str, &'a str, &'a str, &'a str),
    (&'a str, &'a str, &'a str, &'a str, &'a str),
);

fn representative_key(f: &Finding) -> RepresentativeKey<'_> {
    (
        (f.locator.is_none(), f.locator),
        (
            &f.detail,
            f.url.masked(),
            f.evidence.masked(),
            &f.client,
            &f.server,
        ),
        (
            &f.method,
            &f.kind,
            f.title,
            f.url.render(true),
            f.evidence.render(true),
        ),
    )
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

/// Report order: severity desc, count desc, then rule, source, locator, host, location, name,
/// key_fp. After `aggregate` the merge key is unique, so this order is total.
pub fn output_order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    b.severity
        .cmp(&a.severity)
        .then(b.count.cmp(&a.count))
        .then_with(|| shared_str_cmp(a.rule, b.rule))
        .then_with(|| shared_str_cmp(&a.source, &b.source))
        .then_with(|| a.locator.cmp(&b.locator))
        .then_with(|| a.host.cmp(&b.host))
        .then_with(|| a.location.cmp(&b.location))
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.key_fp.cmp(&b.key_fp))
        .then_with(|| a.detail.cmp(&b.detail))
}

/// `a.cmp(b)` for strings that are often one shared string (a rule id from the catalog, a
/// source name behind one `Arc`): then equal without comparing bytes. The sorts of findings and
/// sightings compare these first and mostly find them equal, a `memcmp` each.
#[inline]
pub fn shared_str_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    if std::ptr::eq(a, b) {
        std::cmp::Ordering::Equal
    } else {
        a.cmp(b)
    }
}

/// Sorts aggregated findings into `output_order`.
pub fn sort_findings(v: &mut [Finding]) {
    // Unstable: no buffer of half the findings at the run's peak (the order is total).
    v.par_sort_unstable_by(output_order);
}

#[allow(clippy::ptr_arg)] // a `spill::Prepare`
fn sort_output(v: &mut Vec<Finding>) {
    sort_findings(v);
}

/// The order findings spill in before they are merged: by merge key.
pub fn merge_order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    // `merge_key`'s order, field by field.
    shared_str_cmp(a.rule, b.rule)
        .then_with(|| shared_str_cmp(&a.source, &b.source))
        .then_with(|| a.host.cmp(&b.host))
        .then_with(|| a.location.cmp(&b.location))
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.key_fp.cmp(&b.key_fp))
}

/// A spill run of findings: sorted by merge key (on this thread: runs are sorted by the spill's
/// own writer thread), each key folded into one row.
pub fn sort_and_fold(v: &mut Vec<Finding>) {
    v.sort_unstable_by(merge_order);
    // `f` is the later of two neighbours, `acc` the row kept before it: folded into `acc`, it is
    // dropped.
    v.dedup_by(|f, acc| {
        let same = acc.merge_key() == f.merge_key();
        if same {
            merge_pair(acc, f);
        }
        same
    });
}

/// Findings that spilled, merged: runs sorted by merge key are read as one stream, each key's
/// rows folded into one (`merge_pair`, so the row is the one `aggregate` would give), and the
/// rows sorted into report order through a second spill. (The engine does the same with two
/// inputs folded side by side.) Also returns why the second spill stopped, if it did (the rows
/// were then kept in memory).
#[cfg(test)]
pub fn aggregate_spilled(
    runs: &Sorted<Finding>,
    budget: usize,
) -> Result<(Findings, Option<String>), SpillError> {
    let out = output_spiller(budget);
    let max = fold_sorted(runs, &out)?;
    let (out, failed) = out.finish_and_failure();
    Ok((Findings::from_output(out, max), failed))
}

/// Where aggregated rows go to be put in report order (`fold_into`, `Findings::from_output`).
pub fn output_spiller(budget: usize) -> Spiller<Finding> {
    Spiller::new(budget, output_order, sort_output)
}

/// Findings as a spiller gathered them (in memory, or runs sorted by merge key), each merge key
/// folded into one row, pushed to `out` (an `output_spiller`). Returns their highest severity.
/// Several calls may fill one `out` at once, as long as no merge key is in two of their inputs.
pub fn fold_into(
    found: Finished<Finding>,
    out: &Spiller<Finding>,
) -> Result<Option<Severity>, SpillError> {
    match found {
        Finished::Memory(v) => {
            let v = fold(v);
            let max = v.iter().map(|f| f.severity).max();
            out.push(v);
            Ok(max)
        }
        Finished::Spilled(runs) => fold_sorted(&runs, out),
    }
}

/// `fold_into` for runs sorted by merge key: equal keys are neighbours in the merged stream.
fn fold_sorted(
    runs: &Sorted<Finding>,
    out: &Spiller<Finding>,
) -> Result<Option<Severity>, SpillError> {
    const BATCH: usize = 4096;
    let mut batch = Vec::with_capacity(BATCH);
    let mut cur: Option<Finding> = None;
    let mut max: Option<Severity> = None;
    for f in runs.iter() {
        let mut f = f?;
        match &mut cur {
            Some(acc) if acc.merge_key() == f.merge_key() => merge_pair(acc, &mut f),
            _ => {
                if let Some(done) = cur.replace(f) {
                    max = max.max(Some(done.severity));
                    batch.push(done);
                    if batch.len() >= BATCH {
                        out.push(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
                    }
                }
            }
        }
    }
    max = max.max(cur.as_ref().map(|f| f.severity));
    batch.extend(cur);
    out.push(batch);
    Ok(max)
}

/// A run's findings, merged and in report order: in memory, or (past the run's memory budget)
/// sorted runs in a spill file, read back part by part by the reports.
pub struct Findings {
    rows: Sorted<Finding>,
    max: Option<Severity>,
}

impl Default for Findings {
    fn default() -> Self {
        Findings::from(Vec::new())
    }
}

impl std::fmt::Debug for Findings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Findings({} rows)", self.rows.len())
    }
}

impl From<Vec<Finding>> for Findings {
    /// Findings already aggregated and in report order.
    fn from(v: Vec<Finding>) -> Self {
        Findings {
            max: v.iter().map(|f| f.severity).max(),
            rows: Sorted::in_memory(v, output_order),
        }
    }
}

impl Findings {
    /// The rows an `output_spiller` was given (each merge key once), in report order; `max` is
    /// their highest severity.
    pub fn from_output(out: Finished<Finding>, max: Option<Severity>) -> Self {
        match out {
            Finished::Memory(mut v) => {
                sort_findings(&mut v);
                Findings::from(v)
            }
            Finished::Spilled(rows) => Findings { rows, max },
        }
    }

    pub fn len(&self) -> usize {
        usize::try_from(self.rows.len()).unwrap_or(usize::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Highest severity among the findings, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.max
    }

    /// The findings, as sorted runs (for the reports that write them a part at a time).
    pub fn rows(&self) -> &Sorted<Finding> {
        &self.rows
    }

    /// Calls `f` with consecutive slices of at most `n` findings, in report order.
    pub fn for_each_chunk<E: From<SpillError>>(
        &self,
        n: usize,
        f: impl FnMut(&[Finding]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.rows.for_each_chunk(n, f)
    }

    /// Every finding, in report order, in one table (the reports that need the whole table).
    pub fn to_vec(&self) -> Result<Vec<Finding>, SpillError> {
        self.rows.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Sensitive;
    use proptest::prelude::*;

    /// A finding of one of a few merge keys, at frame `at`.
    /// `post`: a POST from another client (fields the merge key leaves out).
    fn finding(key: u8, at: Option<u64>, detail: &str, sev: Severity, post: bool) -> Finding {
        Finding {
            rule: "cleartext-credential",
            severity: sev,
            title: rule_meta("cleartext-credential").map_or("", |m| m.title),
            source: std::sync::Arc::from("a.pcap"),
            locator: at.map(Locator::Frame),
            first_seen: at.map(|a| a as i64 * 10),
            last_seen: at.map(|a| a as i64 * 10 + 5),
            count: 1,
            client: if post {
                "10.0.0.9:1000"
            } else {
                "10.0.0.1:1000"
            }
            .into(),
            server: "10.0.0.2:80".into(),
            host: format!("h{}", key % 3).into(),
            method: if post { "POST" } else { "GET" }.into(),
            url: Sensitive::new(format!("/u?k=…({key})"), format!("/u?k={key}")),
            location: Some(crate::model::Location::Query),
            name: "k".into(),
            kind: "api-key".into(),
            key_fp: format!("{key:016x}").into(),
            evidence: Sensitive::plain(format!("…({key})")),
            detail: detail.into(),
            cwe: Some(319),
        }
    }

    proptest! {
        /// The hand-written comparisons, with their shortcut for one shared string, order
        /// findings exactly as the merge key does: on equal contents in separate allocations
        /// (one source name per input) as on one shared `Arc`.
        #[test]
        fn merge_order_is_the_merge_key_order(
            a in (0u8..6, 0u8..3, any::<bool>(), any::<bool>()),
            b in (0u8..6, 0u8..3, any::<bool>(), any::<bool>()),
        ) {
            let shared: std::sync::Arc<str> = std::sync::Arc::from("a.pcap");
            let make = |(key, src, other_rule, own_arc): (u8, u8, bool, bool)| {
                let mut f = finding(key, Some(1), "", Severity::High, false);
                f.source = match (src, own_arc) {
                    (0, false) => shared.clone(),
                    (0, true) => std::sync::Arc::from("a.pcap"),
                    (n, _) => std::sync::Arc::from(format!("{n}.pcap")),
                };
                if other_rule {
                    f.rule = "credential-in-url";
                }
                f
            };
            let (fa, fb) = (make(a), make(b));
            prop_assert_eq!(merge_order(&fa, &fb), fa.merge_key().cmp(&fb.merge_key()));
            let full = |f: &Finding| {
                (std::cmp::Reverse(f.severity), std::cmp::Reverse(f.count), f.rule,
                 f.source.to_string(), f.locator, f.host.clone(), f.location, f.name.clone(),
                 f.key_fp.clone(), f.detail.clone())
            };
            prop_assert_eq!(output_order(&fa, &fb), full(&fa).cmp(&full(&fb)));
        }
    }

    fn rows(v: &[Finding]) -> Vec<String> {
        v.iter()
            .map(|f| {
                format!(
                    "{} {} {} {} {} {:?} {:?} {:?} {} {} {}",
                    f.client,
                    f.method,
                    f.host,
                    f.key_fp,
                    f.count,
                    f.severity,
                    f.locator,
                    (f.first_seen, f.last_seen),
                    f.detail,
                    f.url.render(true),
                    f.evidence.masked()
                )
            })
            .collect()
    }

    proptest! {
        /// Whatever order findings arrive in, and however they were pre-merged on the way
        /// (`FindingMerger` per worker), `aggregate` gives the same rows.
        #[test]
        fn aggregate_does_not_depend_on_order(
            items in prop::collection::vec(
                (0u8..6, prop::option::weighted(0.9, 0u64..40), 0usize..3, 0usize..4, any::<bool>()),
                0..60,
            ),
            seed in any::<u64>(),
            split in 0usize..60,
            budgets in (0usize..30_000, 0usize..30_000),
        ) {
            let sevs = [Severity::Low, Severity::Medium, Severity::High, Severity::Critical];
            let details = ["", "a", "b"];
            let all: Vec<Finding> = items
                .iter()
                .map(|&(k, at, d, s, post)| finding(k, at, details[d], sevs[s], post))
                .collect();
            let want = rows(&aggregate(all.clone()));
            // Another order: a seeded shuffle.
            let mut shuffled = all.clone();
            let mut x = seed | 1;
            for i in (1..shuffled.len()).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                shuffled.swap(i, (x % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(&rows(&aggregate(shuffled.clone())), &want);
            // Pre-merged by two workers, then aggregated together.
            let cut = split.min(shuffled.len());
            let mut merged = Vec::new();
            for part in [&shuffled[..cut], &shuffled[cut..]] {
                let mut m = FindingMerger::default();
                for f in part {
                    m.add(f.clone());
                }
                merged.extend(m.into_vec());
            }
            prop_assert_eq!(&rows(&aggregate(merged)), &want);
            // Spilled in runs (of `split` findings, or by a small budget) and merged back.
            let spill = Spiller::new(budgets.0, merge_order, sort_and_fold);
            for part in shuffled.chunks(split.max(1)) {
                spill.push(part.to_vec());
            }
            let spilled = match spill.finish() {
                Finished::Memory(v) => aggregate(v),
                Finished::Spilled(runs) => aggregate_spilled(&runs, budgets.1).unwrap().0.to_vec().unwrap(),
            };
            prop_assert_eq!(&rows(&spilled), &want);
            // Every input counted once, one row per merge key.
            let total: u64 = aggregate(all.clone()).iter().map(|f| f.count).sum();
            prop_assert_eq!(total, all.len() as u64);
            let keys: std::collections::BTreeSet<_> = all.iter().map(|f| (f.host.clone(), f.key_fp.clone())).collect();
            prop_assert_eq!(want.len(), keys.len());
        }
    }
}
