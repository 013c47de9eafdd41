//! Sanitized HAR exports: recognises placeholder values that stand in for removed secrets and
//! decides, once the whole file was read, whether the export was stripped of cookies and
//! credentials. Fed by `har::map` (per entry), read by `har::read_har` (per file).
//!
//! The per-file heuristic, in order:
//! 1. Placeholders. Any header value, cookie object value, query parameter or form parameter
//!    value that is a placeholder (`[REDACTED]`, `<redacted>`, `--redacted--`, `[FILTERED]`,
//!    `[sanitized]`, `***`...; see `is_placeholder`) marks the file sanitized. Such values are
//!    blanked by the mapper so they never become credentials.
//! 2. Stripped headers. Chrome 130 and later export "sanitized" HAR by default: it drops the
//!    Cookie, Authorization and Set-Cookie headers and empties every `cookies` array (DevTools
//!    `models/har/Log.ts`, `options.sanitize`). Over at least `MIN_NETWORK_ENTRIES` entries that
//!    went to the network with recorded request headers, no entry has any of those headers, and
//!    either (a) some `cookies` array is not empty (the cookies survived but the headers did not:
//!    a tool stripped them), or (b) the producer is Chrome's `WebInspector` and most entries are
//!    https (a real Chrome session on a modern https site almost always carries a cookie). The
//!    cost of a false positive is one warning; a false negative lets the analysis treat an
//!    absent header as meaningful, which the rules must not do anyway.

/// Fewer network entries than this say too little to call a file stripped.
const MIN_NETWORK_ENTRIES: u64 = 8;

/// Headers that carry credentials and that sanitizers remove or mask.
pub(crate) fn is_credential_header(name: &str) -> bool {
    [
        "cookie",
        "set-cookie",
        "authorization",
        "proxy-authorization",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

/// Words that are placeholders on their own (`REDACTED`), never plausible real values.
const BARE_WORDS: [&str; 4] = ["redacted", "filtered", "sanitized", "scrubbed"];
/// Words that are placeholders only when bracketed (`[hidden]`, `<removed>`), since a bare
/// `hidden` could be a real cookie value.
const BRACKETED_WORDS: [&str; 6] = [
    "hidden", "removed", "masked", "omitted", "censored", "secret",
];

/// True when `value` is a placeholder a sanitizer put in place of a secret, optionally after an
/// auth scheme (`Bearer [REDACTED]`).
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    // Cheap rejection first (this runs on every header value): every placeholder is short and
    // ends with a closing bracket, `-`, `_`, `*`, `•`, or the `d` of a bare word.
    if v.len() > 48
        || !v
            .bytes()
            .last()
            .is_some_and(|b| b"])>}-_*dD\xA2".contains(&b))
    {
        return false;
    }
    if placeholder_token(v) {
        return true;
    }
    // `Scheme <placeholder>`: a single alphabetic scheme word, then the placeholder.
    match v.split_once(' ') {
        Some((scheme, rest))
            if !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphabetic()) =>
        {
            placeholder_token(rest.trim())
        }
        _ => false,
    }
}

fn placeholder_token(v: &str) -> bool {
    if v.chars().count() >= 3 && v.chars().all(|c| c == '*' || c == '•') {
        return true;
    }
    let inner = v.trim_matches(|c: char| {
        matches!(c, '[' | ']' | '<' | '>' | '(' | ')' | '{' | '}' | '-' | '_')
    });
    if inner.is_empty() || inner.len() > 16 {
        return false;
    }
    let bracketed = inner.len() < v.len();
    let is = |words: &[&str]| words.iter().any(|w| inner.eq_ignore_ascii_case(w));
    is(&BARE_WORDS) || (bracketed && is(&BRACKETED_WORDS))
}

/// The value of a Cookie header with placeholder cookie values blanked (`a=; b=2`), and whether
/// any was found.
pub(crate) fn blank_cookie_header(value: &str) -> (String, bool) {
    let mut found = false;
    let parts: Vec<String> = value
        .split(';')
        .map(|pair| match pair.split_once('=') {
            Some((name, v)) if is_placeholder(v) => {
                found = true;
                format!("{name}=")
            }
            _ => pair.to_string(),
        })
        .collect();
    (parts.join(";"), found)
}

/// The value of a Set-Cookie line with a placeholder cookie value blanked (attributes kept, they
/// are real), and whether it was one.
pub(crate) fn blank_set_cookie(value: &str) -> (String, bool) {
    let (first, attrs) = match value.find(';') {
        Some(i) => value.split_at(i),
        None => (value, ""),
    };
    match first.split_once('=') {
        Some((name, v)) if is_placeholder(v) => (format!("{name}={attrs}"), true),
        _ => (value.to_string(), false),
    }
}

/// The URL with placeholder query values blanked (`?token=[REDACTED]` → `?token=`; values are
/// compared percent-decoded), and how many there were. Fragment and path are left alone.
pub(crate) fn blank_query(url: &str) -> (String, u64) {
    let (before_frag, frag) = match url.find('#') {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    let Some((base, query)) = before_frag.split_once('?') else {
        return (url.to_string(), 0);
    };
    let mut found = 0u64;
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, v))
                if is_placeholder(&percent_encoding::percent_decode_str(v).decode_utf8_lossy()) =>
            {
                found += 1;
                format!("{name}=")
            }
            _ => pair.to_string(),
        })
        .collect();
    if found == 0 {
        return (url.to_string(), 0);
    }
    (format!("{base}?{}{frag}", pairs.join("&")), found)
}

/// Per-file evidence, filled entry by entry.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Entries with an http(s)/ws(s) URL and at least one recorded request header.
    pub network_entries: u64,
    pub https_entries: u64,
    /// Cookie/Authorization request headers and Set-Cookie response headers seen.
    pub credential_headers: u64,
    /// Non-empty request or response `cookies` arrays seen.
    pub cookie_arrays: u64,
    /// Placeholder values seen (and blanked).
    pub placeholders: u64,
}

impl Scan {
    /// Why the file looks sanitized, or `None`.
    pub fn verdict(&self, creator: Option<&str>) -> Option<String> {
        if self.placeholders > 0 {
            return Some(format!(
                "{} value(s) are placeholders such as [REDACTED]",
                self.placeholders
            ));
        }
        if self.network_entries < MIN_NETWORK_ENTRIES || self.credential_headers > 0 {
            return None;
        }
        if self.cookie_arrays > 0 {
            return Some(format!(
                "no Cookie, Set-Cookie or Authorization header in {} entries although {} carry \
                 cookie objects",
                self.network_entries, self.cookie_arrays
            ));
        }
        let chrome = creator.is_some_and(|c| c.eq_ignore_ascii_case("WebInspector"));
        if chrome && self.https_entries * 2 >= self.network_entries {
            return Some(format!(
                "a Chrome export with no Cookie, Set-Cookie or Authorization header and no cookie \
                 objects in {} entries (Chrome 130+ sanitizes by default)",
                self.network_entries
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_recognised_and_real_values_are_not() {
        for p in [
            "[REDACTED]",
            "REDACTED",
            "<redacted>",
            "--redacted--",
            "***",
            "********",
            "[FILTERED]",
            "[sanitized]",
            "Bearer [REDACTED]",
            "Basic ***",
            "<hidden>",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        for v in [
            "hidden",
            "secret",
            "abc123",
            "**",
            "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x",
            "",
            "[]",
            "redacted-but-not-really-a-placeholder",
        ] {
            assert!(!is_placeholder(v), "{v}");
        }
    }

    #[test]
    fn cookie_values_are_blanked_pair_by_pair() {
        assert_eq!(
            blank_cookie_header("a=[REDACTED]; b=2"),
            ("a=; b=2".to_string(), true)
        );
        assert_eq!(
            blank_cookie_header("a=1; b=2"),
            ("a=1; b=2".to_string(), false)
        );
        assert_eq!(
            blank_set_cookie("sid=***; Secure; HttpOnly"),
            ("sid=; Secure; HttpOnly".to_string(), true)
        );
        assert_eq!(
            blank_set_cookie("sid=abc; Secure"),
            ("sid=abc; Secure".to_string(), false)
        );
    }

    #[test]
    fn query_placeholders_are_blanked() {
        assert_eq!(
            blank_query("https://h/p?token=%5BREDACTED%5D&a=1#x=[REDACTED]"),
            ("https://h/p?token=&a=1#x=[REDACTED]".to_string(), 1)
        );
        assert_eq!(
            blank_query("https://h/p?a=1"),
            ("https://h/p?a=1".to_string(), 0)
        );
        assert_eq!(blank_query("https://h/p"), ("https://h/p".to_string(), 0));
    }

    #[test]
    fn verdicts() {
        let mut s = Scan {
            network_entries: 20,
            https_entries: 20,
            ..Scan::default()
        };
        assert!(s.verdict(Some("Firefox")).is_none());
        assert!(s.verdict(Some("WebInspector")).is_some());
        s.credential_headers = 1;
        assert!(s.verdict(Some("WebInspector")).is_none());
        s.credential_headers = 0;
        s.cookie_arrays = 3;
        assert!(s.verdict(Some("Firefox")).is_some());
        s.network_entries = 3;
        assert!(s.verdict(Some("Firefox")).is_none());
        s.placeholders = 1;
        assert!(s.verdict(None).is_some());
    }
}
