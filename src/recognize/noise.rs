//! Value-shape checks that keep noise out: Shannon entropy, placeholders (`null`, `<token>`,
//! `${KEY}`, `xxxx`...), UUIDs, all-digit values. Used by `tables` when a candidate value is
//! checked against its detector's thresholds.

use std::sync::LazyLock;

use foldhash::HashSet;
use memchr::memmem;

/// Shannon entropy in bits per character (over bytes; tokens are ASCII).
pub fn entropy(s: &str) -> f64 {
    let b = s.as_bytes();
    if b.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &c in b {
        counts[c as usize] += 1;
    }
    let n = b.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// `8-4-4-4-12` hex, optionally in braces.
pub fn is_uuid(s: &str) -> bool {
    let s = s.trim_start_matches('{').trim_end_matches('}');
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    b.iter().enumerate().all(|(i, &c)| match i {
        8 | 13 | 18 | 23 => c == b'-',
        _ => c.is_ascii_hexdigit(),
    })
}

/// Numbers, timestamps, floats and lists of them (`1700000000`, `0.057_0.538`): digits and
/// punctuation without a single letter. A random token of any length has letters.
pub fn is_numeric(s: &str) -> bool {
    s.bytes().any(|c| c.is_ascii_digit()) && !s.bytes().any(|c| c.is_ascii_alphabetic())
}

/// Length of the longest run of one repeated character. Random tokens almost never repeat a
/// character six times in a row (about 1 in 10^7 per position for base64); encoded structures
/// do (`AAAAAAAA` is zero bytes in base64).
pub fn longest_run(s: &str) -> usize {
    let mut best = 0;
    let mut run = 0;
    let mut prev = None;
    for b in s.bytes() {
        if Some(b) == prev {
            run += 1;
        } else {
            run = 1;
            prev = Some(b);
        }
        best = best.max(run);
    }
    best
}

/// Words that make a value a placeholder wherever they sit in it, as searchers built once
/// (`str::contains` set up a Two-Way searcher for each at every call).
static PLACEHOLDER_WORDS: LazyLock<[memmem::Finder<'static>; 3]> = LazyLock::new(|| {
    ["xxxxx", "example", "placeholder"].map(|w| memmem::Finder::new(w.as_bytes()).into_owned())
});

/// Placeholder sets from the table, lowercased.
#[derive(Debug, Default)]
pub struct Placeholders {
    always: HashSet<String>,
    tokens: HashSet<String>,
}

impl Placeholders {
    pub fn new(always: &[String], tokens: &[String]) -> Self {
        Placeholders {
            always: always.iter().map(|s| s.to_ascii_lowercase()).collect(),
            tokens: tokens.iter().map(|s| s.to_ascii_lowercase()).collect(),
        }
    }

    /// True for values that are never a credential, passwords included: empty, `null`,
    /// `[REDACTED]`, UI masks like `****`/`••••`, template slots like `<token>`, `{{x}}`, `${X}`.
    pub fn is_placeholder_always(&self, v: &str) -> bool {
        let t = v.trim();
        if t.is_empty() {
            return true;
        }
        if t.chars().all(|c| matches!(c, '*' | '•' | '●' | '·' | '∗')) {
            return true;
        }
        if is_template_slot(t) {
            return true;
        }
        self.contains_ci(&self.always, t)
    }

    /// True for values that may be a password but not a key or token: the `always` set plus
    /// `test`, `changeme`, `your_api_key`, one repeated character, `xxxx`-style masks...
    pub fn is_placeholder_token(&self, v: &str) -> bool {
        if self.is_placeholder_always(v) {
            return true;
        }
        let t = v.trim();
        let mut chars = t.chars();
        if let Some(first) = chars.next()
            && chars.all(|c| c == first)
        {
            return true;
        }
        if t.len() >= 3
            && t.chars()
                .all(|c| matches!(c, 'x' | 'X' | '*' | '.' | '-' | '_' | '#' | '0'))
        {
            return true;
        }
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("your_")
            || lower.starts_with("your-")
            || lower.starts_with("insert")
            || lower.starts_with("replace")
            || PLACEHOLDER_WORDS
                .iter()
                .any(|f| f.find(lower.as_bytes()).is_some())
            || lower.ends_with("_here")
            || lower.ends_with("-here")
        {
            return true;
        }
        self.tokens.contains(&lower)
    }

    fn contains_ci(&self, set: &HashSet<String>, t: &str) -> bool {
        if t.len() > 64 {
            return false;
        }
        if t.bytes().any(|b| b.is_ascii_uppercase()) {
            set.contains(&t.to_ascii_lowercase())
        } else {
            set.contains(t)
        }
    }
}

/// `<token>`, `{{token}}`, `${TOKEN}`, `{token}`, `%TOKEN%`, `$TOKEN`.
fn is_template_slot(t: &str) -> bool {
    let wrapped = |open: &str, close: &str| {
        t.starts_with(open) && t.ends_with(close) && t.len() > open.len() + close.len() - 1
    };
    if wrapped("<", ">") || wrapped("{{", "}}") || wrapped("${", "}") || wrapped("%", "%") {
        return true;
    }
    if wrapped("{", "}") && !t.contains(':') && !t.contains('"') {
        return true;
    }
    if let Some(rest) = t.strip_prefix('$') {
        return !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ph() -> Placeholders {
        Placeholders::new(
            &["null".into(), "undefined".into(), "redacted".into()],
            &["changeme".into(), "test".into()],
        )
    }

    #[test]
    fn entropy_orders_random_above_repetitive() {
        assert!(entropy("aaaaaaaa") < 0.01);
        assert!((entropy("abcd") - 2.0).abs() < 1e-9);
        assert!(entropy("7f3kQz9LmW2pX8vB1nR4tY6uI0oP5aS") > 4.0);
        assert_eq!(entropy(""), 0.0);
    }

    #[test]
    fn longest_run_finds_repeats() {
        assert_eq!(longest_run(""), 0);
        assert_eq!(longest_run("abc"), 1);
        assert_eq!(longest_run("BAAAAQAAqgAAAAAAAAAAAIA_e6dj"), 11);
        assert_eq!(longest_run("7f3kQz9LmW2pX8vB1nR4tY6uI0oP5aS"), 1);
    }

    #[test]
    fn uuid_and_numeric_shapes() {
        assert!(is_uuid("550e8400-e29b-41d4-a716-446655440000"));
        assert!(is_uuid("{550E8400-E29B-41D4-A716-446655440000}"));
        assert!(!is_uuid("550e8400e29b41d4a716446655440000"));
        assert!(is_numeric("1700000000123"));
        assert!(is_numeric("0.0570435_0.538156_0.544991_0.145464"));
        assert!(!is_numeric("17000a"));
        assert!(!is_numeric("--"));
    }

    #[test]
    fn placeholders_in_two_tiers() {
        let p = ph();
        for v in [
            "",
            "  ",
            "null",
            "NULL",
            "Undefined",
            "****",
            "•••",
            "<token>",
            "{{api_key}}",
            "${API_KEY}",
            "%TOKEN%",
            "$SECRET_KEY",
            "REDACTED",
        ] {
            assert!(p.is_placeholder_always(v), "{v:?}");
        }
        // A password may well be `changeme`, `test` or `xxx`: only the token tier rejects them.
        for v in [
            "changeme",
            "test",
            "xxxxxxxx",
            "aaaaaaaa",
            "your_api_key",
            "YOUR-TOKEN",
            "api_key_here",
            "0000000",
            // The words that count anywhere in a value, in any case.
            "sk_EXAMPLE_key1",
            "my-placeholder-value",
            "abXXXXXcd",
        ] {
            assert!(!p.is_placeholder_always(v), "{v:?}");
            assert!(p.is_placeholder_token(v), "{v:?}");
        }
        for v in [
            "hunter2",
            "7f3kQz9LmW2pX8vB1nR4",
            "{\"a\":1}",
            "xxxx1234abcd",
            "exampl3Token",
        ] {
            assert!(!p.is_placeholder_token(v), "{v:?}");
        }
    }
}
