//! The detector table as data: the TOML shape of `detectors.toml` and of the user's `--config`
//! file, parsed with serde and merged (user rows override built-in ones by id). Feeds
//! `tables`, which compiles the merged table once per run.

use serde::Deserialize;

use super::RecognizeError;

/// The built-in table, embedded at compile time.
pub const BUILTIN_TOML: &str = include_str!("detectors.toml");

/// What a matching detector means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The value is a credential (subject to the value checks).
    #[default]
    Credential,
    /// Noise: the name never carries a credential, and its value is not even scanned.
    Ignore,
    /// An anti-CSRF token: counted apart, never a credential.
    Csrf,
    /// The value names the user the request acts for.
    Subject,
    /// The value lists roles, groups or scopes.
    Role,
}

/// One `[[detector]]` row, as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorSpec {
    pub id: String,
    pub kind: String,
    pub description: String,
    pub action: Action,
    pub headers: Vec<String>,
    pub cookies: Vec<String>,
    pub params: Vec<String>,
    pub scheme: Option<String>,
    pub regex: Option<String>,
    pub literal: Option<String>,
    pub keywords: Vec<String>,
    pub case_sensitive: bool,
    pub entropy: Option<f64>,
    pub min_len: Option<usize>,
    pub max_len: Option<usize>,
    pub reject_uuid: bool,
    pub reject_numeric: bool,
    /// A value with a run of more than this many identical characters is structured data
    /// (zero bytes in base64, padding), not a random token.
    pub max_run: Option<usize>,
    /// Set-Cookie only: a cookie that lives longer than this many days is a persistent
    /// identifier (tracking), not this session credential.
    pub max_lifetime_days: Option<u64>,
    pub allow: Vec<String>,
    pub validate: Option<String>,
    pub userpass: bool,
    pub session: bool,
    pub request: Option<bool>,
    pub response: Option<bool>,
    pub window: Option<usize>,
    pub window_back: Option<usize>,
    pub disabled: bool,
    pub tp: Vec<String>,
    pub fp: Vec<String>,
}

impl DetectorSpec {
    /// A value format looked for anywhere (as opposed to a name-bound or scheme detector).
    pub fn is_format(&self) -> bool {
        (self.regex.is_some() || self.literal.is_some())
            && self.headers.is_empty()
            && self.cookies.is_empty()
            && self.params.is_empty()
            && self.scheme.is_none()
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Placeholders {
    pub always: Vec<String>,
    pub tokens: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Login {
    pub words: Vec<String>,
    pub contains: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Allowlist {
    pub values: Vec<String>,
    pub regexes: Vec<String>,
    pub hosts: Vec<String>,
    pub paths: Vec<String>,
}

/// Third-party ad, analytics and beacon hosts. Their own cookies and the key/token parameters
/// sent to them are tracking identifiers and public tag ids, not credentials; known token
/// formats, Authorization headers, passwords and the Referer are still examined.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Tracking {
    pub hosts: Vec<String>,
}

/// A whole table (built-in or user), as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TableSpec {
    pub placeholders: Placeholders,
    pub login: Login,
    pub allowlist: Allowlist,
    pub tracking: Tracking,
    pub detector: Vec<DetectorSpec>,
    /// `[limits]` and `[rules]` of a `--config` file belong to `crate::config`; accepted here so
    /// that one file carries both, while any other unknown key is still an error.
    pub limits: Option<toml::Table>,
    pub rules: Option<toml::Table>,
}

/// Parses one table. The error names the source and the TOML position, never a value.
pub fn parse_table(text: &str, source: &str) -> Result<TableSpec, RecognizeError> {
    toml::from_str::<TableSpec>(text)
        .map_err(|e| RecognizeError::Config(format!("{source}: {}", describe_toml_error(&e))))
}

/// TOML errors quote the offending line, which could be a user's canary secret: keep only the
/// message and the position.
fn describe_toml_error(e: &toml::de::Error) -> String {
    let msg = e.message();
    match e.span() {
        Some(span) => format!("{msg} (at byte offset {})", span.start),
        None => msg.to_string(),
    }
}

/// Merges the user's table over the built-in one: a user detector with a known id replaces it in
/// place, new ones go first (they take precedence over generic built-in patterns), disabled ones
/// are dropped; lists add up.
pub fn merge(builtin: TableSpec, user: Option<TableSpec>) -> TableSpec {
    let Some(user) = user else {
        return drop_disabled(builtin);
    };
    let mut out = builtin;
    let mut new_rows = Vec::new();
    for row in user.detector {
        match out.detector.iter_mut().find(|d| d.id == row.id) {
            Some(slot) => *slot = row,
            None => new_rows.push(row),
        }
    }
    new_rows.append(&mut out.detector);
    out.detector = new_rows;
    out.placeholders.always.extend(user.placeholders.always);
    out.placeholders.tokens.extend(user.placeholders.tokens);
    out.login.words.extend(user.login.words);
    out.login.contains.extend(user.login.contains);
    out.allowlist.values.extend(user.allowlist.values);
    out.allowlist.regexes.extend(user.allowlist.regexes);
    out.allowlist.hosts.extend(user.allowlist.hosts);
    out.allowlist.paths.extend(user.allowlist.paths);
    out.tracking.hosts.extend(user.tracking.hosts);
    drop_disabled(out)
}

fn drop_disabled(mut t: TableSpec) -> TableSpec {
    t.detector.retain(|d| !d.disabled);
    t
}

/// Checks what serde cannot: ids unique and present, credential rows have a kind and say where
/// they apply.
pub fn validate(t: &TableSpec) -> Result<(), RecognizeError> {
    let mut seen = std::collections::HashSet::new();
    for (i, d) in t.detector.iter().enumerate() {
        if d.id.is_empty() {
            return Err(RecognizeError::Config(format!("detector #{i} has no id")));
        }
        if !seen.insert(d.id.as_str()) {
            return Err(RecognizeError::Config(format!(
                "detector id `{}` is defined twice",
                d.id
            )));
        }
        let has_place = !d.headers.is_empty()
            || !d.cookies.is_empty()
            || !d.params.is_empty()
            || d.scheme.is_some()
            || d.regex.is_some()
            || d.literal.is_some();
        if !has_place {
            return Err(RecognizeError::Config(format!(
                "detector `{}` says neither where it applies (headers, cookies, params, scheme) nor a format (regex, literal)",
                d.id
            )));
        }
        if d.action == Action::Credential && d.kind.is_empty() {
            return Err(RecognizeError::Config(format!(
                "detector `{}` has no kind",
                d.id
            )));
        }
        if d.regex.is_some() && d.literal.is_some() {
            return Err(RecognizeError::Config(format!(
                "detector `{}` has both a regex and a literal",
                d.id
            )));
        }
        if let Some(v) = &d.validate
            && v != "jwt"
        {
            return Err(RecognizeError::Config(format!(
                "detector `{}`: unknown validate `{v}` (known: jwt)",
                d.id
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_parses_and_validates() {
        let t = parse_table(BUILTIN_TOML, "built-in").unwrap();
        validate(&t).unwrap();
        assert!(t.detector.len() > 80, "{}", t.detector.len());
    }

    #[test]
    fn user_rows_override_by_id_and_new_rows_come_first() {
        let b = parse_table(BUILTIN_TOML, "built-in").unwrap();
        let u = parse_table(
            r#"
[[detector]]
id = "github-pat"
disabled = true

[[detector]]
id = "acme-key"
kind = "acme-key"
regex = '''acme_[a-z0-9]{20}'''
keywords = ["acme_"]

[allowlist]
hosts = ["*.internal.example"]
"#,
            "user",
        )
        .unwrap();
        let m = merge(b, Some(u));
        assert_eq!(m.detector[0].id, "acme-key");
        assert!(!m.detector.iter().any(|d| d.id == "github-pat"));
        assert_eq!(
            m.allowlist.hosts.last().map(String::as_str),
            Some("*.internal.example")
        );
    }

    #[test]
    fn errors_name_the_problem_without_quoting_values() {
        let e = parse_table(
            "[[detector]]\nid = \"x\"\nbogus = \"sk_live_SECRETVALUE\"\n",
            "cfg.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("cfg.toml"), "{e}");
        assert!(!e.contains("SECRETVALUE"), "{e}");
        let t = parse_table("[[detector]]\nid = \"x\"\nkind = \"k\"\n", "u").unwrap();
        assert!(validate(&t).unwrap_err().to_string().contains("neither"));
    }
}
