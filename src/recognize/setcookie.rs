//! Set-Cookie parsing per RFC 6265bis (via the `cookie` crate, with the lax cases it rejects
//! recovered), and HAR cookie objects mapped to the same shape. Read by `recognize` (is a session
//! being set?) and by the cookie rules in `analyze`.

use cookie::{Cookie, Expiration, SameSite as CSameSite};

use crate::model::{HarCookie, Timestamp};
use crate::secret::Secret;

/// The SameSite attribute as set. `Invalid` keeps the raw text of a value browsers ignore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SameSite {
    Strict,
    Lax,
    None,
    Invalid(String),
}

/// One cookie being set. Flags are `Some(bool)` when the source says (a Set-Cookie line always
/// does), `None` when it cannot (a HAR cookie object without that field).
#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: String,
    pub value: Secret,
    pub domain: Option<String>,
    pub path: Option<String>,
    /// Absolute expiry in ns since the epoch, when an Expires attribute parsed.
    pub expires: Option<Timestamp>,
    /// Max-Age in seconds (negative values are stored as 0, as RFC 6265 says).
    pub max_age: Option<i64>,
    pub secure: Option<bool>,
    pub http_only: Option<bool>,
    pub same_site: Option<SameSite>,
    pub partitioned: bool,
    /// Built from a HAR `response.cookies` object rather than a Set-Cookie line.
    pub from_har_object: bool,
}

impl SetCookie {
    /// Parses one Set-Cookie header value. `None` only for an empty line.
    pub fn parse(line: &str) -> Option<SetCookie> {
        let line = line.trim();
        if line.is_empty() {
            return None;
        }
        let first = line.split(';').next().unwrap_or("");
        // RFC 6265bis accepts a cookie without `=` (empty name) and one with an empty name; the
        // cookie crate does not, so parse the attributes under a stand-in name.
        let (parsed, nameless_value) = match Cookie::parse(line) {
            Ok(c) => (c, None),
            Err(_) => {
                let value = first.strip_prefix('=').unwrap_or(first).trim().to_string();
                let rest = &line[first.len()..];
                (Cookie::parse(format!("_=v{rest}")).ok()?, Some(value))
            }
        };
        let (name, value) = match nameless_value {
            Some(v) => (String::new(), v),
            None => (parsed.name().to_string(), parsed.value().to_string()),
        };
        let same_site = match parsed.same_site() {
            Some(CSameSite::Strict) => Some(SameSite::Strict),
            Some(CSameSite::Lax) => Some(SameSite::Lax),
            Some(CSameSite::None) => Some(SameSite::None),
            None => raw_attribute(line, "samesite").map(SameSite::Invalid),
        };
        let expires = match parsed.expires() {
            Some(Expiration::DateTime(dt)) => Some(
                dt.unix_timestamp_nanos()
                    .clamp(i64::MIN as i128, i64::MAX as i128) as i64,
            ),
            _ => None,
        };
        Some(SetCookie {
            name,
            value: Secret::new(value),
            domain: parsed.domain().map(|d| d.to_ascii_lowercase()),
            path: parsed.path().map(str::to_string),
            expires,
            max_age: parsed.max_age().map(|d| d.whole_seconds()),
            secure: Some(parsed.secure().unwrap_or(false)),
            http_only: Some(parsed.http_only().unwrap_or(false)),
            same_site,
            partitioned: parsed.partitioned().unwrap_or(false),
            from_har_object: false,
        })
    }

    /// Maps a HAR cookie object; flags it does not record stay unknown.
    pub fn from_har(c: &HarCookie) -> SetCookie {
        let expires = c.expires.as_deref().and_then(parse_har_expires);
        let same_site = c
            .same_site
            .as_deref()
            .map(|s| match s.to_ascii_lowercase().as_str() {
                "strict" => SameSite::Strict,
                "lax" => SameSite::Lax,
                "none" => SameSite::None,
                _ => SameSite::Invalid(s.to_string()),
            });
        SetCookie {
            name: c.name.clone(),
            value: Secret::new(c.value.clone()),
            domain: c.domain.as_ref().map(|d| d.to_ascii_lowercase()),
            path: c.path.clone(),
            expires,
            max_age: None,
            secure: c.secure,
            http_only: c.http_only,
            same_site,
            partitioned: false,
            from_har_object: true,
        }
    }

    /// A deletion: Max-Age ≤ 0 or an Expires in the past (relative to `now`, ns).
    pub fn is_deletion(&self, now: Option<Timestamp>) -> bool {
        if let Some(ma) = self.max_age {
            return ma <= 0;
        }
        match (self.expires, now) {
            (Some(e), Some(n)) => e <= n,
            // Without a capture time, an expiry before 2000 is certainly a deletion idiom.
            (Some(e), None) => e < 946_684_800_000_000_000,
            _ => false,
        }
    }

    /// Lifetime in seconds from `now` (ns), when the cookie is persistent; `None` for a session
    /// cookie (no Max-Age, no Expires).
    pub fn lifetime_secs(&self, now: Option<Timestamp>) -> Option<i64> {
        if let Some(ma) = self.max_age {
            return Some(ma);
        }
        let e = self.expires?;
        let n = now?;
        // Saturating: both come from the input (an Expires in year 1049, a capture clock of a
        // hostile pcapng) and may be far apart.
        Some(e.saturating_sub(n) / 1_000_000_000)
    }
}

/// The raw value of an attribute (case-insensitive name), for values the cookie crate drops.
fn raw_attribute(line: &str, attr: &str) -> Option<String> {
    line.split(';').skip(1).find_map(|a| {
        let (k, v) = a.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(attr)
            .then(|| v.trim().to_string())
    })
}

/// HAR `expires` is ISO 8601 (browsers) or an HTTP date (some tools).
fn parse_har_expires(s: &str) -> Option<Timestamp> {
    use time::format_description::well_known::{Rfc2822, Rfc3339};
    let dt = time::OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| time::OffsetDateTime::parse(s, &Rfc2822))
        .ok()
        .or_else(|| {
            Cookie::parse(format!("x=y; Expires={s}"))
                .ok()
                .and_then(|c| c.expires_datetime())
        })?;
    i64::try_from(dt.unix_timestamp_nanos()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_line_with_expires_comma_and_mixed_case() {
        let c = SetCookie::parse(
            "SID=abc; expires=Wed, 21 Oct 2037 07:28:00 GMT; PATH=/; DoMain=.Example.com; secure; HTTPONLY; samesite=lax",
        )
        .unwrap();
        assert_eq!(c.name, "SID");
        assert_eq!(c.value.expose(), "abc");
        assert_eq!(c.domain.as_deref(), Some("example.com"));
        assert_eq!(c.path.as_deref(), Some("/"));
        assert_eq!(c.secure, Some(true));
        assert_eq!(c.http_only, Some(true));
        assert_eq!(c.same_site, Some(SameSite::Lax));
        assert!(c.expires.is_some());
        assert!(!c.is_deletion(Some(0)));
    }

    #[test]
    fn bare_cookie_has_flags_false_and_is_session() {
        let c = SetCookie::parse("a=\"quoted value\"").unwrap();
        assert_eq!(c.value.expose(), "\"quoted value\"");
        assert_eq!(c.secure, Some(false));
        assert_eq!(c.http_only, Some(false));
        assert_eq!(c.same_site, None);
        assert_eq!(c.lifetime_secs(Some(0)), None);
    }

    #[test]
    fn invalid_samesite_and_deletions() {
        let c = SetCookie::parse("a=b; SameSite=Bogus; Max-Age=0").unwrap();
        assert_eq!(c.same_site, Some(SameSite::Invalid("Bogus".into())));
        assert!(c.is_deletion(None));
        let d = SetCookie::parse("a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT").unwrap();
        assert!(d.is_deletion(None));
        let m = SetCookie::parse("a=b; Max-Age=-5").unwrap();
        assert!(m.is_deletion(None));
    }

    #[test]
    fn nameless_cookie_is_recovered() {
        let c = SetCookie::parse("justavalue; Secure").unwrap();
        assert_eq!(c.name, "");
        assert_eq!(c.value.expose(), "justavalue");
        assert_eq!(c.secure, Some(true));
        assert!(SetCookie::parse("   ").is_none());
    }

    #[test]
    fn har_object_keeps_unknown_flags_unknown() {
        let c = SetCookie::from_har(&HarCookie {
            name: "s".into(),
            value: "v".into(),
            expires: Some("2030-01-01T00:00:00.000Z".into()),
            http_only: Some(true),
            ..HarCookie::default()
        });
        assert_eq!(c.secure, None);
        assert_eq!(c.http_only, Some(true));
        assert!(c.expires.is_some());
        assert!(c.from_har_object);
    }
}
