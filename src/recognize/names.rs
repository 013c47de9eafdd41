//! Name lookups: which detector claims a header, cookie or parameter name. Exact names from the
//! table are normalised once (headers: lowercase; cookies and parameters: lowercase with `-`,
//! `_` and `.` removed after any leading ones, so `accessToken`, `access_token` and
//! `ACCESS-TOKEN` are one name while Laravel's `_token` stays apart from `token`). `*` globs
//! match the lowercased name as written, so that `*_sid` means a separator before `sid` (it
//! matches `connect_sid` but not `rsid`). Lookups allocate nothing for names up to `STACK_NAME`
//! bytes.

use memchr::memmem;

/// Names longer than this are normalised on the heap (rare: real names are short).
const STACK_NAME: usize = 128;

/// How a family of names is normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameStyle {
    /// Header names: lowercase only.
    Header,
    /// Cookie and parameter names: lowercase, inner `-`, `_`, `.` dropped.
    Loose,
}

/// Normalises `name` into `buf`, returning the used prefix. `None` when it does not fit.
fn normalize_into<'b>(
    name: &str,
    style: NameStyle,
    buf: &'b mut [u8; STACK_NAME],
) -> Option<&'b str> {
    let mut n = 0;
    let mut leading = true;
    for &b in name.trim().as_bytes() {
        let sep = matches!(b, b'-' | b'_' | b'.');
        if style == NameStyle::Loose && sep && !leading {
            continue;
        }
        if !sep {
            leading = false;
        }
        *buf.get_mut(n)? = b.to_ascii_lowercase();
        n += 1;
    }
    // ASCII lowercasing and dropping ASCII bytes keep UTF-8 valid.
    std::str::from_utf8(buf.get(..n)?).ok()
}

/// `f` of `name` in `style`'s normal form (on the stack unless it is long).
fn with_normal<R>(name: &str, style: NameStyle, f: impl FnOnce(&str) -> R) -> R {
    let mut buf = [0u8; STACK_NAME];
    match normalize_into(name, style, &mut buf) {
        Some(norm) => f(norm),
        None => f(&normalize(name, style)),
    }
}

pub fn normalize(name: &str, style: NameStyle) -> String {
    let mut buf = [0u8; STACK_NAME];
    match normalize_into(name, style, &mut buf) {
        Some(s) => s.to_string(),
        None => {
            let mut out = String::with_capacity(name.len());
            let mut leading = true;
            for c in name.trim().chars() {
                let sep = matches!(c, '-' | '_' | '.');
                if style == NameStyle::Loose && sep && !leading {
                    continue;
                }
                if !sep {
                    leading = false;
                }
                out.push(c.to_ascii_lowercase());
            }
            out
        }
    }
}

/// A `*` glob split into literal parts, matched against a normalised name.
#[derive(Debug, Clone)]
struct Glob {
    parts: Vec<String>,
    /// A searcher for each part, built once: `str::find` set up a Two-Way searcher at every call
    /// (every name not in the exact table meets every glob before its own entry).
    finders: Vec<memmem::Finder<'static>>,
    anchored_start: bool,
    anchored_end: bool,
}

impl Glob {
    fn new(pattern: &str) -> Glob {
        let parts: Vec<String> = pattern
            .split('*')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        Glob {
            finders: parts
                .iter()
                .map(|p| memmem::Finder::new(p.as_bytes()).into_owned())
                .collect(),
            parts,
            anchored_start: !pattern.starts_with('*'),
            anchored_end: !pattern.ends_with('*'),
        }
    }

    fn matches(&self, s: &str) -> bool {
        let mut rest = s;
        let last = self.parts.len().saturating_sub(1);
        for (i, part) in self.parts.iter().enumerate() {
            if i == 0 && self.anchored_start {
                match rest.strip_prefix(part.as_str()) {
                    Some(r) => rest = r,
                    None => return false,
                }
                if i == last && self.anchored_end {
                    return rest.is_empty();
                }
                continue;
            }
            if i == last && self.anchored_end {
                return rest.ends_with(part.as_str());
            }
            // A match of valid UTF-8 in valid UTF-8 starts and ends on character boundaries.
            match self.finders[i].find(rest.as_bytes()) {
                Some(p) => rest = &rest[p + part.len()..],
                None => return false,
            }
        }
        // No parts (pattern `*`), or the last part was unanchored at the end.
        !(self.parts.is_empty() && self.anchored_start && self.anchored_end && !s.is_empty())
    }
}

/// Header names most requests and responses carry. Each lookup of a name that no exact entry
/// claims walks every glob; these are answered from `NameIndex::known` instead.
const COMMON_HEADERS: &[&str] = &[
    "accept",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "access-control-allow-origin",
    "age",
    "cache-control",
    "connection",
    "content-encoding",
    "content-language",
    "content-length",
    "content-type",
    "date",
    "dnt",
    "etag",
    "expires",
    "host",
    "if-modified-since",
    "if-none-match",
    "keep-alive",
    "last-modified",
    "location",
    "origin",
    "pragma",
    "priority",
    "range",
    "referer",
    "sec-ch-ua",
    "sec-ch-ua-mobile",
    "sec-ch-ua-platform",
    "sec-fetch-dest",
    "sec-fetch-mode",
    "sec-fetch-site",
    "sec-fetch-user",
    "server",
    "strict-transport-security",
    "te",
    "transfer-encoding",
    "upgrade-insecure-requests",
    "user-agent",
    "vary",
    "via",
    "x-content-type-options",
    "x-forwarded-for",
    "x-frame-options",
    "x-powered-by",
    "x-requested-with",
];

/// Name → detector index (the lowest index, i.e. highest priority, wins).
#[derive(Debug)]
pub struct NameIndex {
    style: NameStyle,
    exact: foldhash::HashMap<Box<str>, usize>,
    globs: Vec<(Glob, usize)>,
    /// Whole answers (exact entries and globs together) for common names, keyed by the name
    /// trimmed and lowercased (both normalisations are functions of that form); see `memoize`.
    known: foldhash::HashMap<Box<str>, Option<usize>>,
}

impl NameIndex {
    pub fn new(style: NameStyle) -> Self {
        NameIndex {
            style,
            exact: foldhash::HashMap::default(),
            globs: Vec::new(),
            known: foldhash::HashMap::default(),
        }
    }

    /// Answers the common header names and the header names of the table itself up front,
    /// once every pattern has been added (a later `add` clears them).
    pub(crate) fn memoize_common_headers(&mut self) {
        debug_assert_eq!(self.style, NameStyle::Header);
        // A header table's exact keys are lowercase names as written: the memo's key form.
        let names = COMMON_HEADERS
            .iter()
            .map(|n| Box::<str>::from(*n))
            .chain(self.exact.keys().cloned());
        let known = names
            .map(|n| {
                let answer = self.resolve(&n);
                (n, answer)
            })
            .collect();
        self.known = known;
    }

    /// Adds a pattern for detector `idx`. Patterns must be added in priority order.
    pub fn add(&mut self, pattern: &str, idx: usize) {
        self.known.clear();
        if pattern.contains('*') {
            self.globs
                .push((Glob::new(&pattern.trim().to_ascii_lowercase()), idx));
        } else {
            self.exact
                .entry(normalize(pattern, self.style).into_boxed_str())
                .or_insert(idx);
        }
    }

    /// The detector that claims `name`, if any.
    pub fn lookup(&self, name: &str) -> Option<usize> {
        with_normal(name, self.style, |norm| {
            // Only a header table has a memo; it is keyed by that table's normal form.
            if !self.known.is_empty()
                && let Some(&answer) = self.known.get(norm)
            {
                return answer;
            }
            self.resolve_norm(name, norm)
        })
    }

    /// `lookup` without the memo.
    fn resolve(&self, name: &str) -> Option<usize> {
        with_normal(name, self.style, |norm| self.resolve_norm(name, norm))
    }

    /// The answer for `name`, whose normal form is `norm`: the exact entry, unless a glob of
    /// higher priority claims it.
    fn resolve_norm(&self, name: &str, norm: &str) -> Option<usize> {
        let best = self.exact.get(norm).copied();
        if self.globs.is_empty() || best == Some(0) {
            return best;
        }
        // Globs see the name trimmed and lowercased, which a header table's normal form is.
        let glob = |lower: &str| {
            self.globs
                .iter()
                .take_while(|(_, idx)| best.is_none_or(|b| b > *idx))
                .find(|(g, _)| g.matches(lower))
                .map(|(_, idx)| *idx)
        };
        let claimed = if self.style == NameStyle::Header {
            glob(norm)
        } else {
            with_normal(name, NameStyle::Header, glob)
        };
        claimed.or(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memoized_answers_are_the_unmemoized_ones() {
        let t = crate::recognize::tables::Tables::build(
            &crate::recognize::config::parse_table(crate::recognize::config::BUILTIN_TOML, "t")
                .unwrap(),
        )
        .unwrap();
        assert!(!t.headers.known.is_empty());
        let table: Vec<String> = t.headers.exact.keys().map(|k| k.to_string()).collect();
        assert!(
            table
                .iter()
                .all(|k| t.headers.known.contains_key(k.as_str()))
        );
        for n in COMMON_HEADERS.iter().map(|n| n.to_string()).chain(table) {
            for spelled in [n.clone(), n.to_ascii_uppercase(), format!(" {n} ")] {
                assert_eq!(
                    t.headers.lookup(&spelled),
                    t.headers.resolve(&spelled),
                    "{spelled}"
                );
            }
        }
        // A memo is dropped by a later `add`: its answers may change.
        let mut h = NameIndex::new(NameStyle::Header);
        h.add("x-*-key", 3);
        h.memoize_common_headers();
        assert_eq!(h.lookup("Host"), None);
        h.add("*o*", 1);
        assert_eq!(h.lookup("Host"), Some(1));
    }

    #[test]
    fn loose_normalisation_unifies_spellings_but_keeps_leading_underscores() {
        assert_eq!(normalize("accessToken", NameStyle::Loose), "accesstoken");
        assert_eq!(normalize("ACCESS-TOKEN", NameStyle::Loose), "accesstoken");
        assert_eq!(normalize("access_token", NameStyle::Loose), "accesstoken");
        assert_eq!(normalize("_token", NameStyle::Loose), "_token");
        assert_eq!(
            normalize("__RequestVerificationToken", NameStyle::Loose),
            "__requestverificationtoken"
        );
        assert_eq!(
            normalize("ASP.NET_SessionId", NameStyle::Loose),
            "aspnetsessionid"
        );
        assert_eq!(normalize("X-Api-Key", NameStyle::Header), "x-api-key");
    }

    #[test]
    fn globs() {
        let g = Glob::new("x-*-key");
        assert!(g.matches("x-api-key"));
        assert!(!g.matches("x-key"));
        assert!(!g.matches("y-api-key"));
        assert!(Glob::new("*sess*").matches("phpsessid"));
        assert!(Glob::new("*sess*").matches("sess"));
        assert!(Glob::new("_ga*").matches("_ga"));
        assert!(Glob::new("*").matches("anything"));
        assert!(Glob::new("*.sid").matches("connect.sid"));
        assert!(!Glob::new("*_sid").matches("rsid"));
        assert!(!Glob::new("*sid").matches("sidebar"));
        assert!(Glob::new("a*b*c").matches("axxbyyc"));
        assert!(!Glob::new("a*b*c").matches("axxbyy"));
    }

    #[test]
    fn lowest_index_wins_across_exact_and_globs() {
        let mut ix = NameIndex::new(NameStyle::Loose);
        ix.add("_hj*", 0);
        ix.add("session", 1);
        ix.add("*sess*", 1);
        ix.add("*_sid", 1);
        ix.add("*", 2);
        assert_eq!(ix.lookup("_hjSession_123"), Some(0));
        assert_eq!(ix.lookup("SESSION"), Some(1));
        assert_eq!(ix.lookup("laravel_session"), Some(1));
        assert_eq!(ix.lookup("prefs"), Some(2));
        assert_eq!(ix.lookup("BXYV_VIPER_SID"), Some(1));
        assert_eq!(ix.lookup("rsid"), Some(2));
        let long = "a".repeat(300);
        assert_eq!(ix.lookup(&long), Some(2));
        let mut h = NameIndex::new(NameStyle::Header);
        h.add("x-*-key", 3);
        assert_eq!(h.lookup("X-Acme-Key"), Some(3));
        assert_eq!(h.lookup("X-Key"), None);
    }
}
