//! The compiled detector table: regexes, the Aho-Corasick keyword prefilter, name indexes,
//! placeholder sets, allowlists, built once in `Recognizer::new` from the merged TOML (`config`)
//! and shared read-only by every thread. `recognizer` asks it two questions: which detector
//! claims this name, and which known formats occur in this text.

use std::collections::{HashMap, HashSet};

use regex::bytes::{Regex, RegexBuilder};

use super::RecognizeError;
use super::config::{Action, DetectorSpec, TableSpec};
use super::jwt;
use super::keywords::KeywordScanner;
use super::names::{NameIndex, NameStyle};
use super::noise::{self, Placeholders};

/// Texts up to this size are scanned whole once a keyword is seen; larger ones in windows
/// around keyword hits.
const WHOLE_TEXT_SCAN: usize = 4096;
/// Keyword hits followed in one text; past this the rest of the text is not scanned (counted).
pub const MAX_KEYWORD_HITS: usize = 20_000;
/// Matches kept from one text.
const MAX_MATCHES_PER_TEXT: usize = 256;
const DEFAULT_WINDOW: usize = 1024;
const DEFAULT_WINDOW_BACK: usize = 64;

/// One compiled detector.
#[derive(Debug)]
pub struct Det {
    pub id: String,
    pub kind: String,
    pub action: Action,
    /// Value format (for format detectors) or value validation (for name detectors).
    pub regex: Option<Regex>,
    /// Index of the `secret` capture group, if the regex has one.
    secret_group: Option<usize>,
    pub is_format: bool,
    pub entropy: Option<f64>,
    pub min_len: usize,
    pub max_len: usize,
    pub reject_uuid: bool,
    pub reject_numeric: bool,
    max_run: Option<usize>,
    /// Set-Cookie lifetime above which the cookie is not this (session) credential, in seconds.
    pub max_lifetime_secs: Option<i64>,
    allow: Vec<Regex>,
    pub validate_jwt: bool,
    pub userpass: bool,
    pub session: bool,
    pub request: bool,
    pub response: bool,
    pub scheme: Option<String>,
    window: usize,
    window_back: usize,
}

/// A known format found in a text.
#[derive(Debug, Clone)]
#[allow(dead_code)] // offsets are for callers that mask in place (and the tests)
pub struct FormatMatch {
    pub det: usize,
    /// Byte range of the secret within the scanned text.
    pub start: usize,
    pub end: usize,
    pub secret: String,
    pub jwt: Option<super::JwtInfo>,
}

/// What one keyword pattern stands for.
#[derive(Debug, Clone)]
struct Keyword {
    /// Format detectors this keyword triggers.
    formats: Vec<usize>,
    /// The exact bytes, when the keyword is case-sensitive.
    exact: Option<Vec<u8>>,
    /// The keyword is a fragment of a parameter name (a structured body may hold a credential).
    name_hint: bool,
}

#[derive(Debug)]
pub struct Tables {
    pub dets: Vec<Det>,
    pub headers: NameIndex,
    pub cookies: NameIndex,
    pub params: NameIndex,
    /// Lowercase header names that are parsed as Authorization-style (`scheme` detectors).
    pub auth_headers: Vec<String>,
    /// Scheme (lowercase) → detector; `*` for any other scheme, `""` for a bare token.
    pub schemes: foldhash::HashMap<String, usize>,
    scanner: Option<KeywordScanner>,
    keywords: Vec<Keyword>,
    n_formats: usize,
    /// Position of each format detector among formats (for per-text bitsets).
    format_slot: Vec<Option<usize>>,
    pub placeholders: Placeholders,
    pub login_words: Vec<String>,
    pub login_contains: Vec<String>,
    allow_values: HashSet<String>,
    allow_regexes: Vec<Regex>,
    allow_hosts: HostSet,
    allow_paths: Vec<Regex>,
    tracking_hosts: HostSet,
    /// Leaf elements of XML bodies.
    pub xml_leaf: Regex,
}

fn compile(pattern: &str, what: &str) -> Result<Regex, RecognizeError> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(8 << 20)
        .dfa_size_limit(4 << 20)
        .build()
        .map_err(|e| RecognizeError::Config(format!("{what}: invalid regex: {e}")))
}

impl Tables {
    pub fn build(spec: &TableSpec) -> Result<Tables, RecognizeError> {
        let mut dets = Vec::with_capacity(spec.detector.len());
        let mut headers = NameIndex::new(NameStyle::Header);
        let mut cookies = NameIndex::new(NameStyle::Loose);
        let mut params = NameIndex::new(NameStyle::Loose);
        let mut auth_headers: Vec<String> = Vec::new();
        let mut schemes = foldhash::HashMap::default();
        let mut kw_map: HashMap<(Vec<u8>, bool), Keyword> = HashMap::new();
        let mut format_slot = Vec::new();
        let mut n_formats = 0;
        // Compiling the detectors' regexes is the largest part of a run's start-up: spread it
        // over the current pool (the first error in detector order is the one reported).
        let compiled: Vec<Result<Det, RecognizeError>> = {
            use rayon::prelude::*;
            spec.detector.par_iter().map(Self::compile_det).collect()
        };
        for ((idx, d), det) in spec.detector.iter().enumerate().zip(compiled) {
            let det = det?;
            if let Some(s) = &det.scheme {
                schemes.entry(s.clone()).or_insert(idx);
                for h in &d.headers {
                    let h = h.to_ascii_lowercase();
                    if !auth_headers.contains(&h) {
                        auth_headers.push(h);
                    }
                }
            } else {
                for h in &d.headers {
                    headers.add(h, idx);
                }
            }
            for c in &d.cookies {
                cookies.add(c, idx);
            }
            for p in &d.params {
                params.add(p, idx);
            }
            if det.is_format {
                format_slot.push(Some(n_formats));
                n_formats += 1;
                let mut kws = d.keywords.clone();
                if kws.is_empty()
                    && let Some(l) = &d.literal
                {
                    kws.push(l.clone());
                }
                if kws.is_empty() {
                    return Err(RecognizeError::Config(format!(
                        "detector `{}`: a format needs keywords for the prefilter",
                        d.id
                    )));
                }
                for k in kws {
                    if k.is_empty() {
                        continue;
                    }
                    let key = if d.case_sensitive {
                        (k.as_bytes().to_vec(), true)
                    } else {
                        (k.to_ascii_lowercase().into_bytes(), false)
                    };
                    let e = kw_map.entry(key).or_insert_with(|| Keyword {
                        formats: Vec::new(),
                        exact: d.case_sensitive.then(|| k.as_bytes().to_vec()),
                        name_hint: false,
                    });
                    e.formats.push(idx);
                }
            } else {
                format_slot.push(None);
            }
            // Parameter names that may appear as keys in a structured body: their longest
            // alphanumeric run is a prefilter keyword.
            if d.action == Action::Credential && !d.params.is_empty() {
                for p in &d.params {
                    if let Some(run) = longest_alnum_run(p) {
                        let key = (run.to_ascii_lowercase().into_bytes(), false);
                        kw_map
                            .entry(key)
                            .or_insert_with(|| Keyword {
                                formats: Vec::new(),
                                exact: None,
                                name_hint: false,
                            })
                            .name_hint = true;
                    }
                }
            }
            dets.push(det);
        }
        headers.memoize_common_headers();
        // Deterministic keyword order.
        let mut kw_list: Vec<((Vec<u8>, bool), Keyword)> = kw_map.into_iter().collect();
        kw_list.sort_by(|a, b| a.0.cmp(&b.0));
        let patterns: Vec<Vec<u8>> = kw_list.iter().map(|(k, _)| k.0.clone()).collect();
        let keywords: Vec<Keyword> = kw_list.into_iter().map(|(_, k)| k).collect();
        let scanner = if patterns.is_empty() {
            None
        } else {
            Some(
                KeywordScanner::new(&patterns)
                    .map_err(|e| RecognizeError::Config(format!("keyword prefilter: {e}")))?,
            )
        };
        let allow_regexes = spec
            .allowlist
            .regexes
            .iter()
            .map(|r| compile(r, "allowlist regex"))
            .collect::<Result<Vec<_>, _>>()?;
        let allow_paths = spec
            .allowlist
            .paths
            .iter()
            .map(|r| compile(r, "allowlist path"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Tables {
            dets,
            headers,
            cookies,
            params,
            auth_headers,
            schemes,
            scanner,
            keywords,
            n_formats,
            format_slot,
            placeholders: Placeholders::new(&spec.placeholders.always, &spec.placeholders.tokens),
            login_words: spec
                .login
                .words
                .iter()
                .map(|w| w.to_ascii_lowercase())
                .collect(),
            login_contains: spec
                .login
                .contains
                .iter()
                .map(|w| w.to_ascii_lowercase())
                .collect(),
            allow_values: spec.allowlist.values.iter().cloned().collect(),
            allow_regexes,
            allow_hosts: HostSet::new(&spec.allowlist.hosts),
            allow_paths,
            tracking_hosts: HostSet::new(&spec.tracking.hosts),
            xml_leaf: compile(super::body::XML_LEAF, "XML field pattern")?,
        })
    }

    fn compile_det(d: &DetectorSpec) -> Result<Det, RecognizeError> {
        let what = format!("detector `{}`", d.id);
        let regex = match (&d.regex, &d.literal) {
            (Some(r), _) => Some(compile(r, &what)?),
            (None, Some(l)) => Some(compile(&regex::escape(l), &what)?),
            _ => None,
        };
        let secret_group = regex
            .as_ref()
            .and_then(|r| r.capture_names().position(|n| n == Some("secret")));
        let is_format = d.is_format();
        let allow = d
            .allow
            .iter()
            .map(|a| compile(a, &what))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Det {
            id: d.id.clone(),
            kind: d.kind.clone(),
            action: d.action,
            regex,
            secret_group,
            is_format,
            entropy: d.entropy,
            min_len: d.min_len.unwrap_or(1),
            max_len: d.max_len.unwrap_or(if is_format { 20_000 } else { 4096 }),
            reject_uuid: d.reject_uuid,
            reject_numeric: d.reject_numeric,
            max_run: d.max_run,
            max_lifetime_secs: d
                .max_lifetime_days
                .map(|days| i64::try_from(days.saturating_mul(86_400)).unwrap_or(i64::MAX)),
            allow,
            validate_jwt: d.validate.as_deref() == Some("jwt"),
            userpass: d.userpass,
            session: d.session,
            request: d.request.unwrap_or(true),
            response: d.response.unwrap_or(is_format || !d.cookies.is_empty()),
            scheme: d.scheme.as_ref().map(|s| s.to_ascii_lowercase()),
            window: d.window.unwrap_or(DEFAULT_WINDOW),
            window_back: d.window_back.unwrap_or(DEFAULT_WINDOW_BACK),
        })
    }

    /// Value checks of a name-bound or scheme detector: placeholder, length, entropy, shape,
    /// validation regex. Passwords (`kind = password`) only need to be non-empty and not a
    /// placeholder.
    pub fn value_ok(&self, det: &Det, v: &str) -> bool {
        let len = v.chars().count();
        if len < det.min_len || len > det.max_len {
            return false;
        }
        if det.kind == "password" {
            return !self.placeholders.is_placeholder_always(v);
        }
        if self.placeholders.is_placeholder_token(v) {
            return false;
        }
        if v.bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return false;
        }
        if det.reject_uuid && noise::is_uuid(v) {
            return false;
        }
        if det.reject_numeric && noise::is_numeric(v) {
            return false;
        }
        if det.max_run.is_some_and(|m| noise::longest_run(v) > m) {
            return false;
        }
        if let Some(e) = det.entropy
            && noise::entropy(v) < e
        {
            return false;
        }
        if let Some(r) = &det.regex
            && !det.is_format
            && !r.is_match(v.as_bytes())
        {
            return false;
        }
        !det.allow.iter().any(|a| a.is_match(v.as_bytes()))
    }

    /// Checks a format match's secret (entropy, placeholders, per-detector allowlist, JWT
    /// structure), returning the decoded JWT when the detector validates one.
    fn format_ok(&self, det: &Det, secret: &str) -> Result<Option<super::JwtInfo>, ()> {
        let len = secret.chars().count();
        if len < det.min_len || len > det.max_len {
            return Err(());
        }
        if self.placeholders.is_placeholder_token(secret) {
            return Err(());
        }
        if let Some(e) = det.entropy
            && noise::entropy(secret) < e
        {
            return Err(());
        }
        if det.allow.iter().any(|a| a.is_match(secret.as_bytes())) {
            return Err(());
        }
        if det.userpass {
            // A connection string: the password part must be real.
            let pass = secret.split_once(':').map_or("", |(_, p)| p);
            if pass.is_empty() || self.placeholders.is_placeholder_token(pass) {
                return Err(());
            }
        }
        if det.validate_jwt {
            return jwt::decode(secret).map(Some).ok_or(());
        }
        Ok(None)
    }

    /// The keyword prefilter's scanner (none when no detector has keywords).
    pub fn scanner(&self) -> Option<&KeywordScanner> {
        self.scanner.as_ref()
    }

    /// Runs the keyword prefilter over `text`. Returns the format detectors whose keywords occur
    /// (as a bitset over format slots, empty when none) and whether a parameter-name fragment
    /// occurred. Allocates only when a keyword is found.
    pub fn prefilter(&self, text: &[u8]) -> Prefiltered {
        let mut out = Prefiltered::default();
        let Some(scanner) = &self.scanner else {
            return out;
        };
        scanner.scan(text, |pattern, start| {
            self.keep_hit(text, pattern, start, &mut out)
        });
        if out.truncated {
            // Which hits the fast scan reached before the bound depends on the CPU and on which
            // scan it chose; the first ones by position do not. Only texts this dense pay for a
            // second, one-slice scan, and it stops at the bound as well.
            out = Prefiltered::default();
            scanner.scan_in_order(text, |pattern, start| {
                self.keep_hit(text, pattern, start, &mut out)
            });
        }
        // The scan reports slice by slice; a fixed order keeps what follows independent of how
        // the text was sliced.
        out.hits.sort_unstable_by_key(|&(d, pos)| (pos, d));
        out
    }

    /// Records one keyword occurrence; false once the hit bound is reached.
    #[inline]
    fn keep_hit(&self, text: &[u8], pattern: usize, start: usize, out: &mut Prefiltered) -> bool {
        let Some(kw) = self.keywords.get(pattern) else {
            return true;
        };
        if let Some(exact) = &kw.exact
            && text.get(start..start + exact.len()) != Some(exact.as_slice())
        {
            return true;
        }
        out.name_hint |= kw.name_hint;
        for &d in &kw.formats {
            out.hits.push((d, start));
        }
        if out.hits.len() >= MAX_KEYWORD_HITS {
            out.truncated = true;
            return false;
        }
        true
    }

    /// Every known format in `text`, overlaps resolved (the longest match wins, then the
    /// earlier detector). `pre` must be `prefilter(text)`.
    pub fn scan_formats(
        &self,
        text: &[u8],
        pre: &Prefiltered,
        side_response: bool,
    ) -> Vec<FormatMatch> {
        if pre.hits.is_empty() {
            return Vec::new();
        }
        let mut raw: Vec<(usize, usize, usize)> = Vec::new();
        if text.len() <= WHOLE_TEXT_SCAN {
            let mut done = vec![false; self.n_formats];
            for &(d, _) in &pre.hits {
                let Some(slot) = self.format_slot.get(d).copied().flatten() else {
                    continue;
                };
                if done.get(slot).copied().unwrap_or(true) {
                    continue;
                }
                if let Some(x) = done.get_mut(slot) {
                    *x = true;
                }
                self.run_regex(d, text, 0, &mut raw);
            }
        } else {
            // Merge windows per detector, then run each detector once per merged window.
            let mut windows: Vec<(usize, usize, usize)> = pre
                .hits
                .iter()
                .filter_map(|&(d, pos)| {
                    let det = self.dets.get(d)?;
                    Some((
                        d,
                        pos.saturating_sub(det.window_back),
                        (pos + det.window).min(text.len()),
                    ))
                })
                .collect();
            windows.sort_unstable();
            let mut cur: Option<(usize, usize, usize)> = None;
            for w in windows {
                match cur {
                    Some((d, s, e)) if d == w.0 && w.1 <= e => cur = Some((d, s, e.max(w.2))),
                    Some((d, s, e)) => {
                        if let Some(win) = text.get(s..e) {
                            self.run_regex(d, win, s, &mut raw);
                        }
                        cur = Some(w);
                    }
                    None => cur = Some(w),
                }
            }
            if let Some((d, s, e)) = cur
                && let Some(win) = text.get(s..e)
            {
                self.run_regex(d, win, s, &mut raw);
            }
        }
        // Resolve overlaps: sort by start, longer first, then detector priority.
        raw.sort_unstable_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
        raw.dedup_by(|b, a| a.1 == b.1 && a.2 == b.2);
        let mut out: Vec<FormatMatch> = Vec::new();
        let mut covered_to = 0usize;
        for (d, s, e) in raw {
            if s < covered_to {
                continue;
            }
            let Some(det) = self.dets.get(d) else {
                continue;
            };
            if (side_response && !det.response) || (!side_response && !det.request) {
                continue;
            }
            let Some(bytes) = text.get(s..e) else {
                continue;
            };
            let secret = String::from_utf8_lossy(bytes).into_owned();
            if let Ok(jwt) = self.format_ok(det, &secret) {
                covered_to = e;
                out.push(FormatMatch {
                    det: d,
                    start: s,
                    end: e,
                    secret,
                    jwt,
                });
                if out.len() >= MAX_MATCHES_PER_TEXT {
                    break;
                }
            }
        }
        out
    }

    fn run_regex(&self, d: usize, text: &[u8], base: usize, out: &mut Vec<(usize, usize, usize)>) {
        let Some(det) = self.dets.get(d) else { return };
        let Some(re) = &det.regex else { return };
        match det.secret_group {
            None => {
                for m in re.find_iter(text) {
                    out.push((d, base + m.start(), base + m.end()));
                    if out.len() >= MAX_MATCHES_PER_TEXT * 4 {
                        return;
                    }
                }
            }
            Some(g) => {
                for c in re.captures_iter(text) {
                    if let Some(m) = c.get(g) {
                        out.push((d, base + m.start(), base + m.end()));
                    }
                    if out.len() >= MAX_MATCHES_PER_TEXT * 4 {
                        return;
                    }
                }
            }
        }
    }

    pub fn allowlisted_value(&self, v: &str) -> bool {
        self.allow_values.contains(v) || self.allow_regexes.iter().any(|r| r.is_match(v.as_bytes()))
    }

    pub fn allowlisted_place(&self, host: &str, path: &str) -> bool {
        self.allow_hosts.matches(host)
            || self.allow_paths.iter().any(|r| r.is_match(path.as_bytes()))
    }

    /// A third-party ad, analytics or beacon host (`[tracking] hosts`).
    pub fn is_tracking_host(&self, host: &str) -> bool {
        if self.tracking_hosts.is_empty() {
            return false;
        }
        let host = host.strip_suffix('.').unwrap_or(host);
        if host.bytes().any(|b| b.is_ascii_uppercase()) {
            self.tracking_hosts.matches(&host.to_ascii_lowercase())
        } else {
            self.tracking_hosts.matches(host)
        }
    }

    pub fn has_allowlist_values(&self) -> bool {
        !self.allow_values.is_empty() || !self.allow_regexes.is_empty()
    }
}

/// Keyword hits of one text.
#[derive(Debug, Default)]
pub struct Prefiltered {
    /// (format detector index, byte position of the keyword).
    pub hits: Vec<(usize, usize)>,
    /// A parameter-name fragment occurred (worth parsing a structured body).
    pub name_hint: bool,
    /// The hit bound was reached.
    pub truncated: bool,
}

impl Prefiltered {
    pub fn any_format(&self) -> bool {
        !self.hits.is_empty()
    }
}

/// Host patterns, lowercased: names, which match themselves, and `*.example.com` globs, which
/// match `example.com` and any name under it. A lookup is one hash probe per label of the host,
/// not one comparison per pattern (every exchange asks whether its host is a tracker).
#[derive(Debug, Default)]
struct HostSet {
    exact: foldhash::HashSet<Box<str>>,
    /// The domains of the `*.` globs.
    domains: foldhash::HashSet<Box<str>>,
    /// The longest of `domains`: longer suffixes of a host are not hashed (a hostile host of
    /// many short labels would otherwise cost its length squared).
    longest: usize,
}

impl HostSet {
    fn new(patterns: &[String]) -> HostSet {
        let mut set = HostSet::default();
        for p in patterns {
            let p = p.to_ascii_lowercase();
            match p.strip_prefix("*.") {
                Some(domain) => {
                    set.longest = set.longest.max(domain.len());
                    set.domains.insert(domain.into());
                }
                None => {
                    set.exact.insert(p.into_boxed_str());
                }
            }
        }
        set
    }

    fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.domains.is_empty()
    }

    /// `host` (as given: callers lowercase it) is a listed name, a glob's domain, or under one.
    fn matches(&self, host: &str) -> bool {
        if self.exact.contains(host) {
            return true;
        }
        if self.domains.is_empty() {
            return false;
        }
        let mut rest = host;
        loop {
            if rest.len() <= self.longest && self.domains.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, parent)) => rest = parent,
                None => return false,
            }
        }
    }
}

fn longest_alnum_run(s: &str) -> Option<&str> {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .max_by_key(|p| p.len())
        .filter(|p| p.len() >= 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recognize::config::{BUILTIN_TOML, parse_table};

    fn tables() -> Tables {
        Tables::build(&parse_table(BUILTIN_TOML, "t").unwrap()).unwrap()
    }

    #[test]
    fn large_text_windows_find_tokens_like_whole_scans() {
        let t = tables();
        let tok = "ghp_gLKOmxgJTeKdNnFRIBXuDL7DxtpYlSXpfKtH";
        let mut body = "lorem ipsum ".repeat(2000).into_bytes();
        body.extend_from_slice(tok.as_bytes());
        body.extend_from_slice(" dolor".repeat(500).as_bytes());
        let pre = t.prefilter(&body);
        let m = t.scan_formats(&body, &pre, false);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].secret, tok);
        assert_eq!(&body[m[0].start..m[0].end], tok.as_bytes());
    }

    #[test]
    fn text_without_keywords_costs_one_pass_and_no_allocation() {
        let t = tables();
        let body = "plain text with nothing of interest ".repeat(1000);
        let pre = t.prefilter(body.as_bytes());
        assert!(pre.hits.is_empty());
        assert_eq!(pre.hits.capacity(), 0);
    }

    #[test]
    fn truncated_hits_are_the_first_by_position() {
        // Dense enough to reach the bound in the first fifth of the text: a scan in slices
        // meets later hits before earlier ones, and must not keep them.
        let t = tables();
        let body = "ghp_ ".repeat(5 * MAX_KEYWORD_HITS);
        let pre = t.prefilter(body.as_bytes());
        assert!(pre.truncated);
        assert!(pre.hits.len() >= MAX_KEYWORD_HITS);
        let mut at: Vec<usize> = pre.hits.iter().map(|&(_, p)| p).collect();
        at.dedup();
        let first: Vec<usize> = (0..at.len()).map(|i| 5 * i).collect();
        let gap = at.iter().zip(&first).position(|(a, b)| a != b);
        assert!(gap.is_none(), "hit {gap:?} is not the next by position");
        assert!(at.len() * 5 < body.len() / 4);
    }

    #[test]
    fn case_sensitive_keywords_are_checked() {
        let t = tables();
        let pre = t.prefilter(b"ask a question");
        assert!(
            !pre.hits
                .iter()
                .any(|(d, _)| t.dets[*d].id == "twilio-api-key")
        );
        let pre = t.prefilter(b"SKf1adbc60926f6967e7893f57fd14c160");
        assert!(
            pre.hits
                .iter()
                .any(|(d, _)| t.dets[*d].id == "twilio-api-key")
        );
    }

    #[test]
    fn host_globs() {
        let set = HostSet::new(&["*.Example.com".into(), "api.x".into(), "*.co.uk".into()]);
        assert!(set.matches("a.example.com"));
        assert!(set.matches("b.a.example.com"));
        assert!(set.matches("example.com"));
        assert!(!set.matches("badexample.com"));
        assert!(!set.matches("example.com.evil"));
        assert!(!set.matches("com"));
        assert!(set.matches("api.x"));
        assert!(!set.matches("v2.api.x"));
        assert!(!set.matches("x"));
        assert!(set.matches("shop.co.uk"));
        assert!(!set.matches(""));
        assert!(!HostSet::new(&[]).matches("example.com"));
        // Many labels before a listed domain.
        let deep = format!("{}example.com", "a.".repeat(10_000));
        assert!(set.matches(&deep));
        assert!(!set.matches(&deep.replace("example", "exemple")));
    }
}
