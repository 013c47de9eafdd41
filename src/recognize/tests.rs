//! Tests of the whole recognizer: every detector's true/false-positive examples from the TOML
//! table (gitleaks style), noise negatives, fingerprint normalisation, masking, identity, the
//! response side, user configuration, and an `#[ignore]`d run over the shared corpus.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use super::config::{self, Action};
use super::*;
use crate::model::{Body, Exchange, HarCookie, Headers, Request, Response, Transport, Url};
use crate::secret::Fingerprinter;

fn rz() -> Recognizer {
    Recognizer::new(None, Fingerprinter::new(b"test-salt")).unwrap()
}

fn request(method: &str, target: &str) -> Request {
    Request {
        method: method.to_string(),
        target: target.to_string(),
        url: Url::parse(target, "http", Some("app.example")),
        version: "HTTP/1.1".into(),
        ..Request::default()
    }
}

fn exchange(req: Option<Request>, resp: Option<Response>) -> Exchange {
    let mut ex = Exchange::new(Arc::from("test"), Transport::Cleartext);
    ex.request = req;
    ex.response = resp;
    ex
}

fn with_body(mut r: Request, ct: &str, body: &str) -> Request {
    r.headers.push("Content-Type", ct);
    r.body = Body {
        bytes: body.as_bytes().to_vec(),
        content_type: Some(ct.to_string()),
        wire_len: body.len() as u64,
        truncated: false,
    };
    r
}

fn response(status: u16) -> Response {
    Response {
        status,
        version: "HTTP/1.1".into(),
        ..Response::default()
    }
}

fn resp_body(mut r: Response, ct: &str, body: &str) -> Response {
    r.headers.push("Content-Type", ct);
    r.body = Body {
        bytes: body.as_bytes().to_vec(),
        content_type: Some(ct.to_string()),
        wire_len: body.len() as u64,
        truncated: false,
    };
    r
}

fn split_header(s: &str) -> (&str, &str) {
    let (n, v) = s.split_once(':').unwrap_or((s, ""));
    (n.trim(), v.strip_prefix(' ').unwrap_or(v))
}

fn pct(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

const EXAMPLE_PREFIXES: [&str; 13] = [
    "header",
    "cookie",
    "query",
    "path",
    "url",
    "form",
    "json",
    "multipart",
    "text",
    "setcookie",
    "response-json",
    "response-header",
    "response-text",
];

/// `(prefix, rest)` of an example; prefix `""` for a bare value.
fn example_prefix(example: &str) -> (&str, &str) {
    match example.split_once(':') {
        Some((p, r)) if EXAMPLE_PREFIXES.contains(&p) => (p, r),
        _ => ("", example),
    }
}

/// Turns a TOML example into the exchanges it describes (see the table's header comment).
fn exchanges_for(example: &str) -> Vec<Exchange> {
    let (prefix, rest) = example_prefix(example);
    let one = |req: Request, resp: Option<Response>| vec![exchange(Some(req), resp)];
    match prefix {
        "header" => {
            let (n, v) = split_header(rest);
            let mut r = request("GET", "/api/items");
            r.headers.push(n, v);
            one(r, None)
        }
        "cookie" => {
            let mut r = request("GET", "/");
            r.headers.push("Cookie", rest);
            one(r, None)
        }
        "query" => one(request("GET", &format!("/search?{rest}")), None),
        "path" => one(request("GET", rest), None),
        "url" => {
            let mut r = request("GET", rest);
            r.url = Url::parse(rest, "http", None);
            one(r, None)
        }
        "form" => one(
            with_body(
                request("POST", "/login"),
                "application/x-www-form-urlencoded",
                rest,
            ),
            None,
        ),
        "json" => one(
            with_body(request("POST", "/api/login"), "application/json", rest),
            None,
        ),
        "multipart" => {
            let (n, v) = rest.split_once('=').unwrap_or((rest, ""));
            let b = format!(
                "--B0und\r\nContent-Disposition: form-data; name=\"{n}\"\r\n\r\n{v}\r\n--B0und--\r\n"
            );
            one(
                with_body(
                    request("POST", "/login"),
                    "multipart/form-data; boundary=B0und",
                    &b,
                ),
                None,
            )
        }
        "text" => one(
            with_body(request("POST", "/upload"), "text/plain", rest),
            None,
        ),
        "setcookie" => {
            let mut resp = response(200);
            resp.headers.push("Set-Cookie", rest);
            one(request("GET", "/"), Some(resp))
        }
        "response-json" => one(
            request("GET", "/api/me"),
            Some(resp_body(response(200), "application/json", rest)),
        ),
        "response-text" => one(
            request("GET", "/page"),
            Some(resp_body(response(200), "text/html", rest)),
        ),
        "response-header" => {
            let (n, v) = split_header(rest);
            let mut resp = response(200);
            resp.headers.push(n, v);
            one(request("GET", "/"), Some(resp))
        }
        _ => {
            // A bare value: in an unrelated header, in the URL query, and in a text body.
            let mut h = request("GET", "/a");
            h.headers.push("X-Data", rest);
            let q = request("GET", &format!("/a?q={}&page=2", pct(rest)));
            let b = with_body(
                request("POST", "/a"),
                "text/plain",
                &format!("data:\n{rest}\nend"),
            );
            vec![
                exchange(Some(h), None),
                exchange(Some(q), None),
                exchange(Some(b), None),
            ]
        }
    }
}

fn all_creds(r: &Recognized) -> Vec<&Credential> {
    r.request
        .iter()
        .chain(r.response.iter())
        .chain(r.referer.iter().flat_map(|x| x.credentials.iter()))
        .collect()
}

fn spec() -> config::TableSpec {
    config::parse_table(config::BUILTIN_TOML, "built-in").unwrap()
}

#[test]
fn every_detector_has_examples_and_they_hold() {
    let rz = rz();
    let mut failures = Vec::new();
    for d in spec().detector {
        if d.tp.is_empty() || d.fp.is_empty() {
            failures.push(format!(
                "{}: needs at least one tp and one fp example",
                d.id
            ));
            continue;
        }
        for (examples, positive) in [(&d.tp, true), (&d.fp, false)] {
            for e in examples {
                for (n, ex) in exchanges_for(e).iter().enumerate() {
                    let r = rz.recognize(ex);
                    let creds = all_creds(&r);
                    let mine = creds.iter().any(|c| c.detector == d.id);
                    let ok = match (d.action, positive) {
                        (Action::Credential, true) => mine,
                        (Action::Credential, false) => !mine,
                        (Action::Csrf, true) => r.csrf_tokens > 0 && creds.is_empty(),
                        (Action::Csrf, false) => r.csrf_tokens == 0,
                        (Action::Subject, true) => !r.identity.subjects.is_empty(),
                        (Action::Subject, false) => r.identity.subjects.is_empty(),
                        (Action::Role, true) => !r.identity.roles.is_empty(),
                        (Action::Role, false) => r.identity.roles.is_empty(),
                        (Action::Ignore, true) => creds.is_empty() && claimed_by(&rz, e, &d.id),
                        (Action::Ignore, false) => !claimed_by(&rz, e, &d.id),
                    };
                    if !ok {
                        let got: Vec<String> = creds
                            .iter()
                            .map(|c| format!("{}@{}:{}", c.detector, c.location, c.name))
                            .collect();
                        failures.push(format!(
                            "{} {} example #{n} of {:?}: got {:?}, csrf {}, subjects {:?}",
                            d.id,
                            if positive { "tp" } else { "fp" },
                            e,
                            got,
                            r.csrf_tokens,
                            r.identity.subjects
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Whether detector `id` is the one that claims the name in a `header:`/`cookie:`/`query:` example.
fn claimed_by(rz: &Recognizer, example: &str, id: &str) -> bool {
    let t = &rz_tables(rz);
    let (prefix, rest) = example_prefix(example);
    let idx = match prefix {
        "header" | "response-header" => t.headers.lookup(split_header(rest).0),
        "cookie" => t.cookies.lookup(rest.split_once('=').map_or(rest, |x| x.0)),
        "query" => t.params.lookup(rest.split_once('=').map_or(rest, |x| x.0)),
        _ => None,
    };
    idx.and_then(|i| t.dets.get(i)).is_some_and(|d| d.id == id)
}

fn rz_tables(rz: &Recognizer) -> &tables::Tables {
    rz.tables()
}

#[test]
fn every_format_is_exercised_in_header_url_and_body() {
    // A bare example runs in a header, the URL query and a text body; multi-line PEM blocks
    // cannot travel in a header and are tested in bodies only.
    let missing: Vec<String> = spec()
        .detector
        .iter()
        .filter(|d| d.is_format() && d.id != "private-key")
        .filter(|d| !d.tp.iter().any(|e| example_prefix(e).0.is_empty()))
        .map(|d| d.id.clone())
        .collect();
    assert!(
        missing.is_empty(),
        "formats without a bare tp example: {missing:?}"
    );
    let formats = spec().detector.iter().filter(|d| d.is_format()).count();
    assert!(formats >= 70, "{formats} formats");
}

#[test]
fn noise_is_not_a_credential() {
    let rz = rz();
    let mut r = request(
        "GET",
        "/static/js/main.3f9a8b7c6d5e4f30.chunk.js?v=1700000000123&_=1700000000999&cb=8f14e45fceea167a5a36dedd4bea2543",
    );
    for (n, v) in [
        ("X-Request-Id", "9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0"),
        ("X-Correlation-Id", "4bf92f3577b34da6a3ce929d0e0e4736"),
        (
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ),
        (
            "If-None-Match",
            "\"33a64df551425fcc55e4d42a148795d9f25f89d4\"",
        ),
        (
            "X-CSRF-Token",
            "4kJ8mQ2nX7pL1vB9cZ3wT6yR0sD5fG8hJ2kL4mN6pQ8rS0tU2vW4xY6zA8bC0dE2",
        ),
        ("Authorization", "Bearer undefined"),
        ("X-Api-Key", "<api-key>"),
        (
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        ),
        (
            "Cookie",
            "_ga=GA1.2.1234567890.1690000000; _gid=GA1.2.987654321.1690000000; _fbp=fb.1.1690000000000.123456789; \
             _gcl_au=1.1.1234567890.1690000000; __utma=1.2.3.4.5.6; _hjSessionUser_1=eyJpZCI6IjEyMyJ9; lang=en-US; \
             theme=dark; OptanonConsent=isGpcEnabled=0&datestamp=Mon+Jan+01+2024; csrftoken=4kJ8mQ2nX7pL1vB9cZ3wT6yR0sD5fG8h; \
             XSRF-TOKEN=eyJpdiI6IjRrSjhtUTJuWDdwTDF2QjkifQ%3D%3D; cart=550e8400-e29b-41d4-a716-446655440000",
        ),
        (
            "Referer",
            "https://www.google.com/search?q=credsift&client=firefox-b-d",
        ),
    ] {
        r.headers.push(n, v);
    }
    let ex = exchange(Some(r), None);
    let rec = rz.recognize(&ex);
    assert!(all_creds(&rec).is_empty(), "{:?}", all_creds(&rec));
    assert_eq!(rec.csrf_tokens, 3);

    // A login form with a CSRF token, public OAuth parameters and a publishable key.
    let q = request(
        "GET",
        "/oauth/authorize?client_id=web-app&state=af0ifjsldkj8Hq2wT9xZ3pL5mN7bV1cQ&nonce=n-0S6_WzA2Mj&redirect_uri=https%3A%2F%2Fapp%2Fcb&response_type=code&stripe=pk_live_PVStNKiaEdFrRgSnRFsTHsDD&id=550e8400-e29b-41d4-a716-446655440000",
    );
    let rec = rz.recognize(&exchange(Some(q), None));
    assert!(rec.request.is_empty(), "{:?}", rec.request);

    let f = with_body(
        request("POST", "/search"),
        "application/x-www-form-urlencoded",
        "authenticity_token=Qm9vZ2llV29vZ2llMTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3A%3D&q=hello&token=null&api_key=xxx&secret=changeme",
    );
    let rec = rz.recognize(&exchange(Some(f), None));
    assert!(rec.request.is_empty(), "{:?}", rec.request);
    assert_eq!(rec.csrf_tokens, 1);

    // Response noise: ETag, request ids, analytics cookies, a static HTML page with hashes.
    let mut resp = resp_body(
        response(200),
        "text/html",
        "<html><script src=\"/static/app.8f14e45fceea167a5a36dedd4bea2543.js\"></script><meta name=\"csrf-token\" content=\"x\">key-value sk-learn ssl.gstatic.com</html>",
    );
    resp.headers
        .push("ETag", "W/\"8f14e45fceea167a5a36dedd4bea2543\"");
    resp.headers
        .push("X-Request-Id", "7f3kQz9LmW2pX8vB1nR4tY6uI0oP5aS");
    resp.headers.push(
        "Set-Cookie",
        "_ga=GA1.2.1234567890.1690000000; Path=/; Max-Age=63072000",
    );
    resp.headers.push("Set-Cookie", "lang=en; Path=/");
    let rec = rz.recognize(&exchange(Some(request("GET", "/")), Some(resp)));
    assert!(rec.response.is_empty(), "{:?}", rec.response);
    assert_eq!(rec.set_cookies.len(), 2);
}

#[test]
fn password_fields_are_credentials_even_when_short() {
    let rz = rz();
    let f = with_body(
        request("POST", "/wp-login.php"),
        "application/x-www-form-urlencoded",
        "log=admin&pwd=changeme&wp-submit=Log+In",
    );
    let rec = rz.recognize(&exchange(Some(f), None));
    assert_eq!(rec.request.len(), 1);
    let c = &rec.request[0];
    assert_eq!(
        (c.kind.as_str(), c.location, c.name.as_str()),
        ("password", Location::Body, "pwd")
    );
    assert_eq!(c.evidence.masked(), "…(8)");
    assert!(rec.is_login);
    assert_eq!(rec.identity.subjects, vec!["form:admin"]);
}

#[test]
fn basic_evidence_shows_user_and_masks_password() {
    let rz = rz();
    let mut r = request("GET", "/admin");
    r.headers
        .push("Authorization", "Basic YWxpY2U6czNjcmV0UGFzcw==");
    let rec = rz.recognize(&exchange(Some(r), None));
    let c = &rec.request[0];
    assert_eq!(c.kind, "basic");
    assert_eq!(c.name, "authorization");
    assert_eq!(c.evidence.masked(), "alice:…(10)");
    assert_eq!(c.evidence.render(true), "alice:s3cretPass");
    assert_eq!(c.value.expose(), "alice:s3cretPass");
    assert_eq!(rec.identity.subjects, vec!["basic:alice"]);
    assert!(rec.is_login, "Basic counts as a login on any path");
    // The same user:password in URL userinfo is the same key.
    let u = request("GET", "http://alice:s3cretPass@app.example/");
    let rec2 = rz.recognize(&exchange(Some(u), None));
    assert_eq!(rec2.request[0].key_fp, c.key_fp);
    assert_eq!(rec2.request[0].location, Location::Userinfo);
    assert_eq!(rec2.url.masked(), "http://alice:…(10)@app.example/");
}

#[test]
fn known_token_inside_basic_is_reported_as_that_token() {
    let rz = rz();
    let mut r = request("GET", "/v1/charges");
    r.headers.push(
        "Authorization",
        "Basic c2tfbGl2ZV9TUG9mYmNpT3g5Z3kxQ0pkT2JPSVJwRnE6",
    );
    let rec = rz.recognize(&exchange(Some(r), None));
    assert_eq!(rec.request.len(), 1);
    assert_eq!(rec.request[0].kind, "stripe-secret-key");
    assert!(rec.identity.subjects.is_empty(), "a key is not a user name");
}

#[test]
fn digest_ntlm_and_aws_authorization() {
    let rz = rz();
    let mut r = request("GET", "/dir/index.html");
    r.headers.push("Authorization", "Digest username=\"bob\", realm=\"r\", nonce=\"n\", uri=\"/dir/index.html\", response=\"6629fae49393a05397450978507c4ef1\"");
    let rec = rz.recognize(&exchange(Some(r), None));
    assert_eq!(rec.request[0].kind, "digest");
    assert_eq!(rec.request[0].evidence.masked(), "bob:…(32)");
    assert_eq!(rec.identity.subjects, vec!["digest:bob"]);

    let mut n = request("GET", "/");
    n.headers.push("Authorization", "NTLM TlRMTVNTUAADAAAAGAAYAEAAAAAYABgAWAAAAAgACABwAAAACgAKAHgAAAAGAAYAggAAAAAAAACIAAAAAQIAABERERERERERERERERERERERERERERERESIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIkMATwBSAFAAYQBsAGkAYwBlAFcAUwAxAA==");
    let rec = rz.recognize(&exchange(Some(n), None));
    assert_eq!(rec.request[0].kind, "ntlm");
    assert_eq!(rec.identity.subjects, vec!["ntlm:CORP\\alice"]);
    assert!(
        rec.request[0]
            .evidence
            .masked()
            .starts_with("CORP\\alice:…(")
    );

    let mut t1 = request("GET", "/");
    t1.headers.push(
        "Authorization",
        "Negotiate TlRMTVNTUAABAAAAB7IAAAAAAAAAAAAAAAAAAAAAAAA=",
    );
    assert!(rz.recognize(&exchange(Some(t1), None)).request.is_empty());

    let mut a = request("GET", "/bucket/key");
    a.headers.push("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAUJZDEGXDNCF32EPF/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024");
    let rec = rz.recognize(&exchange(Some(a), None));
    assert_eq!(rec.request.len(), 1);
    assert_eq!(rec.request[0].kind, "aws-access-key-id");
    assert_eq!(rec.request[0].value.expose(), "AKIAUJZDEGXDNCF32EPF");
}

const JWT_HS: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImVtYWlsIjoiYWxpY2VAZXhhbXBsZS5jb20iLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTkwMDAwMDAwMCwic2NvcGUiOiJyZWFkOnVzZXJzIHdyaXRlOnVzZXJzIiwicmVhbG1fYWNjZXNzIjp7InJvbGVzIjpbImFkbWluIl19fQ.Zm9vYmFyYmF6cXV4c2lnbmF0dXJlMTIzNDU2Nzg5MA";
const JWT_NONE: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJtYWxsb3J5Iiwicm9sZSI6ImFkbWluIiwiZXhwIjoxNTAwMDAwMDAwfQ.";

#[test]
fn jwts_are_decoded_with_identity_and_roles() {
    let rz = rz();
    let mut r = request("GET", "/api/users");
    r.headers.push("Authorization", format!("Bearer {JWT_HS}"));
    r.headers.push("Cookie", format!("session_jwt={JWT_NONE}"));
    r.headers
        .push("X-Api-Key", "9f8e7d6c5b4a39281706f5e4d3c2b1a0");
    let rec = rz.recognize(&exchange(Some(r), None));
    assert_eq!(rec.jwts.len(), 2);
    let h = rec
        .jwts
        .iter()
        .find(|j| j.location == Some(Location::Header))
        .unwrap();
    assert_eq!(h.name, "authorization");
    assert_eq!(h.alg.as_deref(), Some("HS256"));
    assert!(!h.unsigned);
    assert_eq!(h.exp, Some(1_900_000_000));
    let c = rec
        .jwts
        .iter()
        .find(|j| j.location == Some(Location::Cookie))
        .unwrap();
    assert!(c.unsigned);
    assert_eq!(c.name, "session_jwt");
    let bearer = rec
        .request
        .iter()
        .find(|c| c.name == "authorization")
        .unwrap();
    assert_eq!(bearer.kind, "jwt");
    assert_eq!(bearer.key_fp, h.key_fp);
    assert_eq!(
        rec.identity.subjects,
        vec![
            "jwt-email:alice@example.com",
            "jwt-sub:alice",
            "jwt-sub:mallory"
        ]
    );
    assert_eq!(
        rec.identity.roles,
        vec!["admin", "read:users", "write:users"]
    );
    // The JWT cookie is the session.
    let cookie = rec
        .request
        .iter()
        .find(|c| c.location == Location::Cookie)
        .unwrap();
    assert!(cookie.session_like);
    assert_eq!(
        rec.identity.session_fp.as_deref(),
        Some(cookie.key_fp.as_str())
    );
}

#[test]
fn identity_headers_roles_and_session() {
    let rz = rz();
    let mut r = request("POST", "/api/orders");
    r.headers
        .push("X-Api-Key", "9f8e7d6c5b4a39281706f5e4d3c2b1a0");
    r.headers.push("X-Forwarded-User", "carol");
    r.headers.push("X-User-Id", "42");
    r.headers.push("X-Roles", "admin, billing");
    r.headers.push(
        "Cookie",
        "PHPSESSID=2b9s0v8k5v0q3r6t7u1n4m5l8k; _ga=GA1.2.3.4",
    );
    let rec = rz.recognize(&exchange(Some(r), None));
    assert_eq!(
        rec.identity.subjects,
        vec!["header:x-forwarded-user:carol", "header:x-user-id:42"]
    );
    assert_eq!(rec.identity.roles, vec!["admin", "billing"]);
    let sess = rec.request.iter().find(|c| c.name == "PHPSESSID").unwrap();
    assert!(sess.session_like);
    assert_eq!(sess.kind, "session-cookie");
    assert_eq!(
        rec.identity.session_fp.as_deref(),
        Some(sess.key_fp.as_str())
    );
    let key = rec.request.iter().find(|c| c.name == "x-api-key").unwrap();
    assert!(!key.session_like);
    assert!(!rec.is_login);
}

#[test]
fn one_secret_written_four_ways_has_one_fingerprint() {
    let rz = rz();
    let tok = "Zk9p+R2xT/4vW8yB1n=M6qXa";
    let mut h = request("GET", "/a");
    h.headers.push("Authorization", format!("Bearer {tok}"));
    let q = request("GET", &format!("/a?access_token={}", pct(tok)));
    let j = with_body(
        request("POST", "/a"),
        "application/json",
        &format!("{{\"token\":\"{tok}\"}}"),
    );
    let f = with_body(
        request("POST", "/a"),
        "application/x-www-form-urlencoded",
        &format!("refresh_token={}", pct(tok)),
    );
    let fps: Vec<String> = [h, q, j, f]
        .into_iter()
        .map(|r| {
            let rec = rz.recognize(&exchange(Some(r), None));
            assert_eq!(rec.request.len(), 1, "{:?}", rec.request);
            rec.request[0].key_fp.clone()
        })
        .collect();
    assert!(fps.iter().all(|f| f == &fps[0]), "{fps:?}");
    assert_eq!(fps[0], rz.fingerprinter().fp(tok));
}

#[test]
fn url_is_masked_and_raw_kept_for_reveal() {
    let rz = rz();
    let target = "/maps/api/geocode/json?api_key=AIzaUqJoUD-_Ydua_5ZMs1SWOpQaPRYpzbLGViY&page=2#access_token=7f3kQz9LmW2pX8vB1nR4tY6uI0oP5aS&x=1";
    let mut r = request("GET", target);
    r.url.port = Some(8080);
    let rec = rz.recognize(&exchange(Some(r), None));
    assert_eq!(
        rec.url.masked(),
        "http://app.example:8080/maps/api/geocode/json?api_key=AIza…(39)&page=2#access_token=7f3k…(31)&x=1"
    );
    assert_eq!(
        rec.url.render(true),
        format!("http://app.example:8080{target}")
    );
    let kinds: Vec<(&str, Location)> = rec
        .request
        .iter()
        .map(|c| (c.kind.as_str(), c.location))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("google-api-key", Location::Query),
            ("bearer", Location::Fragment)
        ]
    );

    let p = request(
        "GET",
        "/shop/cart;jsessionid=8F2E6A1B9C3D4E5F60718293A4B5C6D7?item=3",
    );
    let rec = rz.recognize(&exchange(Some(p), None));
    assert_eq!(rec.request.len(), 1);
    let c = &rec.request[0];
    assert_eq!(
        (c.kind.as_str(), c.location, c.name.as_str(), c.session_like),
        ("session-id", Location::Path, "jsessionid", true)
    );
    assert_eq!(
        rec.url.masked(),
        "http://app.example/shop/cart;jsessionid=8F2E…(32)?item=3"
    );
    assert_eq!(rec.path, "/shop/cart;jsessionid=8F2E…(32)");
    assert_eq!(rec.identity.session_fp.as_deref(), Some(c.key_fp.as_str()));

    let t = request(
        "GET",
        "/bot8948829369:AApsundmjv_73hbPsETJveImiSy5XcgCYf4/sendMessage",
    );
    let ex = exchange(Some(t), None);
    let rec = rz.recognize(&ex);
    assert_eq!(rec.request[0].kind, "telegram-bot-token");
    assert_eq!(
        rec.url.masked(),
        "http://app.example/bot8948…(46)/sendMessage"
    );
    // The path alone, masked too: the correlation rules show it in their details.
    assert_eq!(rec.path, "/bot8948…(46)/sendMessage");
    let sightings = crate::analyze::sighting::sightings_of(&ex, &rec, 0);
    assert!(
        sightings
            .iter()
            .all(|s| s.path == "/bot8948…(46)/sendMessage")
    );
}

#[test]
fn referer_credentials_and_origin() {
    let rz = rz();
    let mut r = request("GET", "/pixel.gif");
    r.headers.push(
        "Referer",
        "https://app.example:8443/reset?token=7f3kQz9LmW2pX8vB1nR4tY6uI0oP5aS&lang=en",
    );
    let rec = rz.recognize(&exchange(Some(r), None));
    assert!(rec.request.is_empty());
    let info = rec.referer.unwrap();
    assert_eq!(info.origin, "https://app.example:8443");
    assert_eq!(info.credentials.len(), 1);
    let c = &info.credentials[0];
    assert_eq!(
        (c.location, c.name.as_str(), c.side),
        (Location::Referer, "token", Side::Request)
    );
}

#[test]
fn response_side_issued_and_echoed() {
    let rz = rz();
    let mut r = request("POST", "/oauth/token");
    r.headers
        .push("X-Api-Key", "9f8e7d6c5b4a39281706f5e4d3c2b1a0");
    let r = with_body(
        r,
        "application/x-www-form-urlencoded",
        "grant_type=password&username=alice&password=s3cretPass",
    );
    let mut resp = resp_body(
        response(200),
        "application/json",
        &format!(
            "{{\"access_token\":\"7f3kQz9LmW2pX8vB1nR4tY6uI0oP5aS\",\"id_token\":\"{JWT_HS}\",\"debug\":\"key 9f8e7d6c5b4a39281706f5e4d3c2b1a0\",\"expires_in\":3600}}"
        ),
    );
    resp.headers.push(
        "Set-Cookie",
        "sessionid=q8w7e6r5t4y3u2i1o0p9a8s7d6f5g4h3; Path=/; HttpOnly",
    );
    resp.headers.push("Set-Cookie", "theme=dark; Path=/");
    resp.headers.push(
        "Location",
        "https://app.example/cb#access_token=Qz9LmW2pX8vB1nR4tY6uI0oP5aS7f3k&state=s",
    );
    resp.har_cookies.push(HarCookie {
        name: "remember_token".into(),
        value: "Hk3mQ9xL2pW7vB4nR8tY1uI6oP0aS5dF".into(),
        ..HarCookie::default()
    });
    let rec = rz.recognize(&exchange(Some(r), Some(resp)));
    assert!(rec.is_login);
    assert_eq!(rec.set_cookies.len(), 3);
    let by = |loc: Location, name: &str| {
        rec.response
            .iter()
            .find(|c| c.location == loc && c.name == name)
    };
    let sc = by(Location::SetCookie, "sessionid").unwrap();
    assert_eq!(
        (sc.origin, sc.side, sc.session_like),
        (Origin::Issued, Side::Response, true)
    );
    assert!(by(Location::SetCookie, "theme").is_none());
    assert!(by(Location::SetCookie, "remember_token").is_some());
    let at = by(Location::ResponseBody, "access_token").unwrap();
    assert_eq!((at.origin, at.kind.as_str()), (Origin::Issued, "bearer"));
    assert_eq!(by(Location::ResponseBody, "id_token").unwrap().kind, "jwt");
    let loc = by(Location::ResponseHeader, "location").unwrap();
    assert_eq!(loc.origin, Origin::Issued);
    let echo = rec
        .response
        .iter()
        .find(|c| c.origin == Origin::Echoed)
        .unwrap();
    assert_eq!(
        (echo.location, echo.name.as_str()),
        (Location::ResponseBody, "x-api-key")
    );
    // Response JWTs are not request JWTs.
    assert!(rec.jwts.is_empty());
}

#[test]
fn known_formats_in_html_and_js_responses() {
    let rz = rz();
    let big = format!(
        "<html>{}<script>var cfg = {{stripe: \"sk_live_SPofbciOx9gy1CJdObOIRpFq\", maps: \"pk_live_PVStNKiaEdFrRgSnRFsTHsDD\"}};</script>{}</html>",
        "<p>filler text</p>".repeat(5000),
        "<p>more</p>".repeat(5000)
    );
    let resp = resp_body(response(200), "text/html; charset=utf-8", &big);
    let rec = rz.recognize(&exchange(Some(request("GET", "/")), Some(resp)));
    assert_eq!(rec.response.len(), 1, "{:?}", rec.response);
    assert_eq!(rec.response[0].kind, "stripe-secret-key");
    assert_eq!(rec.response[0].location, Location::ResponseBody);
}

#[test]
fn login_detection() {
    let rz = rz();
    let login = |m: &str, p: &str, body: &str| {
        let r = with_body(request(m, p), "application/x-www-form-urlencoded", body);
        rz.recognize(&exchange(Some(r), None)).is_login
    };
    assert!(login("POST", "/account/login", "email=a%40b.c&password=pw"));
    assert!(login(
        "POST",
        "/j_security_check",
        "j_username=a&j_password=pw"
    ));
    assert!(login("POST", "/api/v1/sessions", "password=pw"));
    assert!(
        login("POST", "/index.php", "username=a&password=pw"),
        "a username and a password make a login form"
    );
    assert!(!login("POST", "/api/profile", "password=pw"));
    assert!(!login("POST", "/login", "q=1"));
    assert!(!login("GET", "/authors/list", "password=pw"));
    assert!(
        !rz.recognize(&exchange(
            Some(request("GET", "/login?user=a&password=pw")),
            None
        ))
        .is_login
    );
}

#[test]
fn debug_output_never_contains_a_planted_secret() {
    let rz = rz();
    let secrets = [
        "s3cretPass",
        "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "ghp_gLKOmxgJTeKdNnFRIBXuDL7DxtpYlSXpfKtH",
        "q8w7e6r5t4y3u2i1o0p9a8s7d6f5g4h3",
        "7f3kQz9LmW2pX8vB1nR4tY6uI0oP5aS",
        "AIzaUqJoUD-_Ydua_5ZMs1SWOpQaPRYpzbLGViY",
        "hunter2hunter2",
        JWT_HS,
    ];
    let mut r = request(
        "POST",
        "http://alice:hunter2hunter2@app.example/login?api_key=AIzaUqJoUD-_Ydua_5ZMs1SWOpQaPRYpzbLGViY#access_token=7f3kQz9LmW2pX8vB1nR4tY6uI0oP5aS",
    );
    r.headers
        .push("Authorization", "Basic YWxpY2U6czNjcmV0UGFzcw==");
    r.headers
        .push("X-Api-Key", "9f8e7d6c5b4a39281706f5e4d3c2b1a0");
    r.headers
        .push("Cookie", "sessionid=q8w7e6r5t4y3u2i1o0p9a8s7d6f5g4h3");
    r.headers.push(
        "Referer",
        "https://other.example/?token=7f3kQz9LmW2pX8vB1nR4tY6uI0oP5aS",
    );
    let r = with_body(
        r,
        "application/json",
        &format!(
            "{{\"password\":\"s3cretPass\",\"gh\":\"ghp_gLKOmxgJTeKdNnFRIBXuDL7DxtpYlSXpfKtH\",\"t\":\"{JWT_HS}\"}}"
        ),
    );
    let mut resp = resp_body(
        response(200),
        "application/json",
        "{\"api_key\":\"9f8e7d6c5b4a39281706f5e4d3c2b1a0\"}",
    );
    resp.headers.push(
        "Set-Cookie",
        "sessionid=q8w7e6r5t4y3u2i1o0p9a8s7d6f5g4h3; Path=/",
    );
    let rec = rz.recognize(&exchange(Some(r), Some(resp)));
    assert!(rec.request.len() >= 7, "{:?}", rec.request);
    let dbg = format!("{rec:?} {rec:#?}");
    let masked_url = rec.url.masked().to_string();
    let evidence: String = all_creds(&rec)
        .iter()
        .map(|c| format!("{} {}", c.evidence, c.value))
        .collect();
    for s in secrets {
        assert!(
            !dbg.contains(s),
            "Debug leaks a secret starting {}",
            &s[..4]
        );
        assert!(!masked_url.contains(s), "masked URL leaks {}", &s[..4]);
        assert!(!evidence.contains(s), "evidence leaks {}", &s[..4]);
    }
    assert!(rec.url.render(true).contains("hunter2hunter2"));
}

#[test]
fn user_config_extends_and_allowlists() {
    let user = r#"
[[detector]]
id = "acme-canary"
kind = "api-key"
literal = "acme-canary-7f3kQz9LmW2pX8vB"
tp = ["acme-canary-7f3kQz9LmW2pX8vB"]
fp = ["acme-canary"]

[[detector]]
id = "acme-header"
kind = "api-key"
headers = ["x-acme-auth-v2"]
min_len = 4
tp = ["header:X-Acme-Auth-V2: abcd1234"]
fp = ["header:X-Acme-Auth-V2: "]

[[detector]]
id = "header-api-key"
disabled = true

[allowlist]
values = ["9f8e7d6c5b4a39281706f5e4d3c2b1a0"]
hosts = ["*.internal.example"]
"#;
    let rz = Recognizer::new(Some(user), Fingerprinter::new(b"s")).unwrap();
    let mut r = request("POST", "/x");
    r.headers.push("X-Acme-Auth-V2", "abcd1234");
    r.headers.push("Api-Key", "7f3kQz9LmW2pX8vB1nR4tY6uI0oP5aS");
    r.headers
        .push("X-Other", "see acme-canary-7f3kQz9LmW2pX8vB here");
    r.headers
        .push("Authorization", "Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0");
    let rec = rz.recognize(&exchange(Some(r.clone()), None));
    let ids: Vec<&str> = rec.request.iter().map(|c| c.detector.as_str()).collect();
    assert_eq!(
        ids,
        vec!["acme-header", "acme-canary"],
        "disabled header-api-key, allowlisted bearer value"
    );
    let mut internal = r;
    internal.url.host = "svc.internal.example".into();
    assert!(
        rz.recognize(&exchange(Some(internal), None))
            .request
            .is_empty()
    );
    // Config errors name the problem, not the values.
    let e = Recognizer::new(
        Some("[[detector]]\nid = \"x\"\nkind = \"k\"\nregex = \"(\"\nkeywords=[\"a\"]\n"),
        Fingerprinter::new(b"s"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("detector `x`"), "{e}");
}

#[test]
fn aws_sigv4_query_and_presigned_urls() {
    let rz = rz();
    let r = request(
        "GET",
        "/bucket/obj?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAUJZDEGXDNCF32EPF%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=fe5f80f7",
    );
    let rec = rz.recognize(&exchange(Some(r), None));
    assert_eq!(rec.request.len(), 1);
    assert_eq!(rec.request[0].value.expose(), "AKIAUJZDEGXDNCF32EPF");
    assert!(!rec.url.masked().contains("AKIAUJZDEGXDNCF32EPF"));
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn hostile_input_never_panics(
            hv in proptest::collection::vec((".{0,20}", ".{0,200}"), 0..8),
            target in "[ -~]{0,200}",
            body in proptest::collection::vec(any::<u8>(), 0..2000),
            ct in prop_oneof![Just("application/json"), Just("application/x-www-form-urlencoded"), Just("multipart/form-data; boundary=x"), Just("text/html")],
        ) {
            let rz = rz();
            let mut r = request("POST", &target);
            for (n, v) in &hv {
                r.headers.push(n.as_str(), v.as_str());
            }
            r.headers.push("Authorization", "NTLM TlRMTVNTUAADAAAA////");
            r.body.bytes = body.clone();
            r.body.content_type = Some(ct.to_string());
            let mut resp = response(200);
            resp.headers = Headers(r.headers.0.clone());
            resp.body.bytes = body;
            let rec = rz.recognize(&exchange(Some(r), Some(resp)));
            prop_assert!(rec.request.len() <= 256);
        }
    }
}

/// Reads the HARs of the shared corpus and the request URIs that tshark saw in its captures,
/// and prints what is recognised there, most frequent first: look-alikes show up at the top.
/// `cargo test --lib recognize::tests::corpus_top_names -- --ignored --nocapture`
#[test]
#[ignore]
fn corpus_top_names() {
    let dir = std::env::var("CREDSIFT_CORPUS").unwrap_or_else(|_| "/work/shared/corpus".into());
    let rz = rz();
    let mut counts: BTreeMap<(String, String, String, String), u64> = BTreeMap::new();
    let mut exchanges = 0u64;
    let mut samples: BTreeMap<(String, String, String, String), String> = BTreeMap::new();
    let mut files = Vec::new();
    walk(std::path::Path::new(&dir), &mut files);
    files.sort();
    let mut spent = std::time::Duration::ZERO;
    let mut body_bytes = 0usize;
    for f in &files {
        let name = f.to_string_lossy().to_string();
        let exs = if name.ends_with(".har") {
            har_exchanges(f)
        } else if name.contains("/tshark/") && name.ends_with(".tsv") {
            tshark_exchanges(f)
        } else {
            continue;
        };
        for mut ex in exs {
            if std::env::var_os("CREDSIFT_NO_BODIES").is_some() {
                if let Some(r) = ex.request.as_mut() {
                    r.body.bytes.clear();
                }
                if let Some(r) = ex.response.as_mut() {
                    r.body.bytes.clear();
                }
            }
            exchanges += 1;
            body_bytes += ex.request.as_ref().map_or(0, |r| r.body.bytes.len())
                + ex.response.as_ref().map_or(0, |r| r.body.bytes.len());
            let t0 = std::time::Instant::now();
            let rec = rz.recognize(&ex);
            spent += t0.elapsed();
            for c in all_creds(&rec) {
                let k = (
                    c.location.to_string(),
                    c.name.clone(),
                    c.kind.clone(),
                    c.detector.clone(),
                );
                *counts.entry(k.clone()).or_default() += 1;
                samples.entry(k).or_insert_with(|| {
                    format!(
                        "{} {} {}",
                        name.rsplit('/').next().unwrap_or(""),
                        ex.host(),
                        c.evidence
                    )
                });
            }
        }
    }
    let mut v: Vec<_> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    println!(
        "{exchanges} exchanges from {} files, {body_bytes} body bytes, recognised in {:?} ({:.1} µs/exchange)",
        files.len(),
        spent,
        spent.as_secs_f64() * 1e6 / exchanges.max(1) as f64
    );
    println!(
        "{:>6}  {:<16} {:<28} {:<18} {:<22} sample",
        "count", "location", "name", "kind", "detector"
    );
    for (k, n) in v.iter().take(200) {
        println!(
            "{n:>6}  {:<16} {:<28} {:<18} {:<22} {}",
            k.0,
            k.1,
            k.2,
            k.3,
            samples.get(k).map(String::as_str).unwrap_or("")
        );
    }
    let _: HashSet<()> = HashSet::new();
}

fn walk(p: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(p) else { return };
    for e in rd.flatten() {
        let path = e.path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn har_exchanges(path: &std::path::Path) -> Vec<Exchange> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Vec::new();
    };
    let Some(entries) = v.pointer("/log/entries").and_then(|e| e.as_array()) else {
        return Vec::new();
    };
    let headers = |x: &serde_json::Value| -> Headers {
        let mut h = Headers::default();
        for it in x.as_array().into_iter().flatten() {
            if let (Some(n), Some(v)) = (
                it.get("name").and_then(|s| s.as_str()),
                it.get("value").and_then(|s| s.as_str()),
            ) {
                h.push(n, v);
            }
        }
        h
    };
    entries
        .iter()
        .filter_map(|e| {
            let rq = e.get("request")?;
            let url = rq.get("url")?.as_str()?;
            let mut req = Request {
                method: rq
                    .get("method")
                    .and_then(|m| m.as_str())
                    .unwrap_or("GET")
                    .to_string(),
                target: url.to_string(),
                url: Url::parse(url, "http", None),
                headers: headers(rq.get("headers").unwrap_or(&serde_json::Value::Null)),
                ..Request::default()
            };
            if let Some(pd) = rq.get("postData") {
                let text = pd.get("text").and_then(|t| t.as_str()).unwrap_or("");
                req.body.bytes = text.as_bytes().to_vec();
                req.body.content_type = pd
                    .get("mimeType")
                    .and_then(|t| t.as_str())
                    .map(str::to_string);
            }
            let resp = e.get("response").map(|rs| {
                let mut r = Response {
                    status: rs.get("status").and_then(|s| s.as_u64()).unwrap_or(0) as u16,
                    headers: headers(rs.get("headers").unwrap_or(&serde_json::Value::Null)),
                    ..Response::default()
                };
                if let Some(c) = rs.get("content") {
                    let text = c.get("text").and_then(|t| t.as_str()).unwrap_or("");
                    if c.get("encoding").and_then(|x| x.as_str()) != Some("base64") {
                        r.body.bytes = text.as_bytes().iter().take(1 << 20).copied().collect();
                    }
                    r.body.content_type = c
                        .get("mimeType")
                        .and_then(|t| t.as_str())
                        .map(str::to_string);
                }
                r
            });
            Some(exchange(Some(req), resp))
        })
        .collect()
}

/// tshark rows give the full request URI (query values included) and the Set-Cookie lines.
fn tshark_exchanges(path: &std::path::Path) -> Vec<Exchange> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut lines = text.lines();
    let Some(head) = lines.next() else {
        return Vec::new();
    };
    let cols: Vec<&str> = head.split('\t').collect();
    let col = |name: &str| cols.iter().position(|c| *c == name);
    let (Some(uri), Some(method), Some(sc)) = (col("full_uri"), col("method"), col("set_cookie"))
    else {
        return Vec::new();
    };
    lines
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let u = f.get(uri)?;
            if u.is_empty() {
                return None;
            }
            let mut req = request(f.get(method).copied().unwrap_or("GET"), u);
            req.url = Url::parse(u, "http", None);
            let mut resp = response(200);
            for line in f
                .get(sc)
                .copied()
                .unwrap_or("")
                .split(" || ")
                .filter(|s| !s.is_empty())
            {
                resp.headers.push("Set-Cookie", line);
            }
            Some(exchange(Some(req), Some(resp)))
        })
        .collect()
}

#[test]
fn recognizer_is_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Recognizer>();
    assert!(rz().detectors().len() > 90);
}

#[test]
fn response_without_request_and_proxy_authorization() {
    let rz = rz();
    let mut resp = response(302);
    resp.headers.push(
        "Set-Cookie",
        "JSESSIONID=8F2E6A1B9C3D4E5F60718293A4B5C6D7; Path=/app",
    );
    resp.headers.push(
        "Location",
        "/app;jsessionid=8F2E6A1B9C3D4E5F60718293A4B5C6D7",
    );
    let rec = rz.recognize(&exchange(None, Some(resp)));
    assert!(rec.request.is_empty());
    assert_eq!(rec.set_cookies.len(), 1);
    let locs: Vec<(Location, &str, Origin)> = rec
        .response
        .iter()
        .map(|c| (c.location, c.name.as_str(), c.origin))
        .collect();
    assert_eq!(
        locs,
        vec![
            (Location::SetCookie, "JSESSIONID", Origin::Issued),
            (Location::ResponseHeader, "location", Origin::Issued)
        ]
    );
    assert_eq!(rec.response[0].key_fp, rec.response[1].key_fp);
    assert!(rec.url.is_empty());

    let mut r = request("GET", "http://example.org/");
    r.headers
        .push("Proxy-Authorization", "Basic YWRtaW46YWRtaW4=");
    let rec = rz.recognize(&exchange(Some(r), None));
    assert_eq!(rec.request[0].name, "proxy-authorization");
    assert_eq!(rec.request[0].evidence.masked(), "admin:…(5)");
}

#[test]
fn echo_of_a_request_key_by_fingerprint_and_verbatim() {
    let rz = rz();
    let mut r = request("GET", "/api/whoami");
    r.headers
        .push("Authorization", "Bearer 7f3kQz9LmW2pX8vB1nR4tY6uI0oP5aS");
    let mut resp = resp_body(
        response(200),
        "application/json",
        "{\"token\":\"7f3kQz9LmW2pX8vB1nR4tY6uI0oP5aS\",\"note\":\"ok\"}",
    );
    resp.headers
        .push("X-Debug", "auth=7f3kQz9LmW2pX8vB1nR4tY6uI0oP5aS");
    let rec = rz.recognize(&exchange(Some(r), Some(resp)));
    let echoed: Vec<(Location, &str)> = rec
        .response
        .iter()
        .filter(|c| c.origin == Origin::Echoed)
        .map(|c| (c.location, c.name.as_str()))
        .collect();
    assert_eq!(
        echoed,
        vec![
            (Location::ResponseBody, "token"),
            (Location::ResponseHeader, "x-debug")
        ]
    );
    assert!(
        rec.response
            .iter()
            .all(|c| c.key_fp == rec.request[0].key_fp)
    );
}

#[test]
fn soap_login_fields() {
    let rz = rz();
    let body = r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><wsse:Security><wsse:UsernameToken><wsse:Username>alice</wsse:Username><wsse:Password Type="PasswordText">s3cretPass</wsse:Password></wsse:UsernameToken></wsse:Security></s:Header><s:Body><GetKey><k>ghp_gLKOmxgJTeKdNnFRIBXuDL7DxtpYlSXpfKtH</k></GetKey></s:Body></s:Envelope>"#;
    let r = with_body(
        request("POST", "/services/AuthService"),
        "text/xml; charset=utf-8",
        body,
    );
    let rec = rz.recognize(&exchange(Some(r), None));
    let got: Vec<(&str, &str)> = rec
        .request
        .iter()
        .map(|c| (c.kind.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(got, vec![("password", "Password"), ("github-token", "k")]);
    assert_eq!(rec.identity.subjects, vec!["form:alice"]);
    assert!(rec.is_login);
}

#[test]
fn bounds_are_counted_not_exceeded() {
    let rz = rz();
    let mut r = request("GET", "/");
    let cookies: Vec<String> = (0..400)
        .map(|i| format!("sess{i}=Zk9pR2xT4vW8yB1nM6qX{i:04}"))
        .collect();
    r.headers.push("Cookie", cookies.join("; "));
    let big_jwts: String = (0..40).map(|_| format!("{JWT_HS} ")).collect();
    let r = with_body(r, "text/plain", &big_jwts);
    let rec = rz.recognize(&exchange(Some(r), None));
    assert_eq!(rec.request.len(), 256);
    assert!(rec.limits_hit > 0);
    assert!(rec.jwts.len() <= 32);
}

// ---------------------------------------------------------------------------------------------
// Precision fixes found by reviewing the shared corpus (values here are synthetic look-alikes).
// ---------------------------------------------------------------------------------------------

fn on_host(host: &str, target: &str) -> Request {
    let mut r = request("GET", target);
    r.url = Url::parse(target, "http", Some(host));
    r
}

#[test]
fn tracker_cookies_and_tag_keys_are_not_credentials() {
    let rz = rz();
    let mut r = on_host(
        "bidder.mathtag.com",
        "/notify?api_key=595b0e8dbc0c4c42b4544e688b10c00f&sid=q8w7e6r5t4y3u2i1o0p9",
    );
    r.headers.push(
        "Cookie",
        "JSESSIONID=8F2E6A1B9C3D4E5F60718293A4B5C6D7; uuid=Qm7xP2kL9vR4tY6uI0oP5aSzX8cV1bN3mQ7w",
    );
    r.headers.push(
        "Referer",
        "http://news.example/article?sessionid=q8w7e6r5t4y3u2i1o0p9a8s7",
    );
    let mut resp = response(200);
    resp.headers.push(
        "Set-Cookie",
        "JSESSIONID=A1B2C3D4E5F60718293A4B5C6D7E8F90; Path=/",
    );
    let rec = rz.recognize(&exchange(Some(r), Some(resp)));
    assert!(rec.request.is_empty(), "{:?}", rec.request);
    assert!(rec.response.is_empty(), "{:?}", rec.response);
    // The page's URL in the Referer is not the tracker's: its session id still counts.
    let referer = rec.referer.expect("referer");
    assert_eq!(referer.credentials.len(), 1);
    assert_eq!(referer.credentials[0].name, "sessionid");

    // Known formats, Authorization and passwords still count on a tracker host.
    let mut r = on_host(
        "www.google-analytics.com",
        "/collect?pwd=hunter2&dl=ghp_gLKOmxgJTeKdNnFRIBXuDL7DxtpYlSXpfKtH",
    );
    r.headers
        .push("Authorization", "Basic YWxpY2U6czNjcmV0UGFzcw==");
    let rec = rz.recognize(&exchange(Some(r), None));
    let kinds: Vec<&str> = rec.request.iter().map(|c| c.kind.as_str()).collect();
    assert!(kinds.contains(&"basic"), "{kinds:?}");
    assert!(kinds.contains(&"password"), "{kinds:?}");
    assert!(kinds.contains(&"github-token"), "{kinds:?}");

    // The same cookie to a first-party host is a session.
    let mut r = on_host("shop.example", "/");
    r.headers
        .push("Cookie", "JSESSIONID=8F2E6A1B9C3D4E5F60718293A4B5C6D7");
    assert_eq!(rz.recognize(&exchange(Some(r), None)).request.len(), 1);
}

#[test]
fn user_config_adds_tracking_hosts() {
    let user = "[tracking]\nhosts = [\"*.metrics.example\"]\n";
    let rz = Recognizer::new(Some(user), Fingerprinter::new(b"s")).unwrap();
    let mut r = on_host("px.metrics.example", "/p?token=Qm7xP2kL9vR4tY6uI0oP5aSz");
    r.headers
        .push("Cookie", "sessionid=q8w7e6r5t4y3u2i1o0p9a8s7d6f5g4h3");
    assert!(rz.recognize(&exchange(Some(r), None)).request.is_empty());
}

#[test]
fn opaque_cookie_by_shape_skips_ids_structures_and_long_lived_cookies() {
    let rz = rz();
    let mut resp = response(200);
    for line in [
        // Persistent for a year: a visitor id.
        "vis=Qm7xP2kL9vR4tY6uI0oP5aSzX8cV1bN3mQ7wE2rT5yU9; Max-Age=31536000; Path=/",
        // Zero bytes in base64: a serialized structure.
        "st=BAAAAgAAkQAAAAAAAAAAAIA_k3Lm9Qz2Xw8Rv5Tn1Yb7Cd4Ef6Gh; Path=/",
        // Data cookie by name.
        "recently_viewed_list=Qm7xP2kL9vR4tY6uI0oP5aSzX8cV1bN3mQ7wE2rT5yU9; Path=/",
    ] {
        resp.headers.push("Set-Cookie", line);
    }
    // A session by shape with a short life, and a named session that lives long: both count.
    resp.headers.push(
        "Set-Cookie",
        "acct=TxS5ruk1KF0dYIw5imHZ4dktVHkRt6dLtyX9x9Sl; Max-Age=3600; Path=/",
    );
    resp.headers.push(
        "Set-Cookie",
        "remember_token=TxS5ruk1KF0dYIw5imHZ4dktVHkRt6dLtyX9x9Zq; Max-Age=31536000",
    );
    let rec = rz.recognize(&exchange(Some(request("GET", "/")), Some(resp)));
    let names: Vec<&str> = rec.response.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["acct", "remember_token"]);
}

#[test]
fn digest_and_ntlm_fingerprint_the_account_not_the_per_request_response() {
    let rz = rz();
    let digest = |resp: &str, nonce: &str| {
        let mut r = request("GET", "/dir/index.html");
        r.headers.push(
            "Authorization",
            format!("Digest username=\"bob\", realm=\"files\", nonce=\"{nonce}\", uri=\"/dir/index.html\", response=\"{resp}\""),
        );
        rz.recognize(&exchange(Some(r), None)).request.remove(0)
    };
    let a = digest("6629fae49393a05397450978507c4ef1", "n1");
    let b = digest("0f1e2d3c4b5a69788796a5b4c3d2e1f0", "n2");
    assert_eq!(a.key_fp, b.key_fp);
    assert_eq!(a.value.expose(), "6629fae49393a05397450978507c4ef1");
    // Another realm is another account.
    let mut r = request("GET", "/");
    r.headers.push(
        "Authorization",
        "Digest username=\"bob\", realm=\"admin\", nonce=\"n\", uri=\"/\", response=\"6629fae49393a05397450978507c4ef1\"",
    );
    let c = rz.recognize(&exchange(Some(r), None)).request.remove(0);
    assert_ne!(a.key_fp, c.key_fp);

    let ntlm = |msg: &str| {
        let mut r = request("GET", "/");
        r.headers.push("Authorization", format!("NTLM {msg}"));
        rz.recognize(&exchange(Some(r), None)).request.remove(0)
    };
    let n1 = ntlm(
        "TlRMTVNTUAADAAAAGAAYAEAAAAAYABgAWAAAAAgACABwAAAACgAKAHgAAAAGAAYAggAAAAAAAACIAAAAAQIAABERERERERERERERERERERERERERERERESIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIkMATwBSAFAAYQBsAGkAYwBlAFcAUwAxAA==",
    );
    let n2 = ntlm(
        "TlRMTVNTUAADAAAAGAAYAEAAAAAYABgAWAAAAAgACABwAAAACgAKAHgAAAAGAAYAggAAAAAAAACIAAAAAQIAABERERERERERERERERERERERERERERERETNEIiIiIiIiIiIiIiIiIiIiIiIiIiIiIkMATwBSAFAAYQBsAGkAYwBlAFcAUwAxAA==",
    );
    assert_ne!(n1.value.expose(), n2.value.expose());
    assert_eq!(n1.key_fp, n2.key_fp);
    assert_eq!(n1.kind, "ntlm");
}

#[test]
fn formats_in_free_text_and_json_take_the_name_before_them() {
    let rz = rz();
    let js = "window.cfg={stripe:\"sk_live_SPofbciOx9gy1CJdObOIRpFq\"};var t = 'ghp_gLKOmxgJTeKdNnFRIBXuDL7DxtpYlSXpfKtH'; x=[\"sk_live_0aBcDeFgHiJkLmNoPqRsTuVwX\"]";
    let resp = resp_body(response(200), "application/javascript", js);
    let rec = rz.recognize(&exchange(Some(request("GET", "/app.js")), Some(resp)));
    let named: Vec<(&str, &str)> = rec
        .response
        .iter()
        .map(|c| (c.kind.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(
        named,
        vec![
            ("stripe-secret-key", "stripe"),
            ("github-token", "t"),
            ("stripe-secret-key", "")
        ]
    );
    // A JSON response without any parameter-name keyword is still walked by field.
    let body = r#"{"data":{"deploy":{"gh":"ghp_gLKOmxgJTeKdNnFRIBXuDL7DxtpYlSXpfKtH"}}}"#;
    let resp = resp_body(response(200), "application/json", body);
    let rec = rz.recognize(&exchange(Some(request("GET", "/cfg")), Some(resp)));
    assert_eq!(rec.response.len(), 1);
    assert_eq!(rec.response[0].name, "gh");
    // A JWT labelled as a CSRF token is counted as one, not as a credential.
    let html = format!("<script>var csrf_token = \"{JWT_HS}\";</script>");
    let resp = resp_body(response(200), "text/html", &html);
    let rec = rz.recognize(&exchange(Some(request("GET", "/")), Some(resp)));
    assert!(rec.response.is_empty(), "{:?}", rec.response);
    assert_eq!(rec.csrf_tokens, 1);
}

#[test]
fn context_name_reads_labels() {
    use super::recognizer::context_name_for_tests as cn;
    assert_eq!(cn(br#"{"apiKey": "AIza"#, 11), Some("apiKey"));
    assert_eq!(cn(br#"token = 'abc"#, 9), Some("token"));
    assert_eq!(cn(br#"?key=abc"#, 5), Some("key"));
    assert_eq!(cn(br#"{\"secret\":\"abc"#, 14), Some("secret"));
    assert_eq!(cn(br#"value="abc"#, 7), None);
    assert_eq!(cn(br#"["abc"#, 2), None);
    assert_eq!(cn(b"", 0), None);
    assert_eq!(cn(b"=abc", 1), None);
}

#[test]
fn jwt_with_spaced_json_header_is_a_jwt() {
    let rz = rz();
    let tok = "ewogICJhbGciOiAiSFMyNTYiLAogICJ0eXAiOiAiSldUIgp9.ewogICJzdWIiOiAiYWxpY2UiLAogICJpYXQiOiAxNzAwMDAwMDAwCn0.c2lnbmF0dXJlLXBhcnQtMDEyMzQ1Njc4OWFi";
    let mut r = request("GET", "/api");
    r.headers.push("Authorization", format!("Bearer {tok}"));
    let rec = rz.recognize(&exchange(Some(r), None));
    assert_eq!(rec.request[0].kind, "jwt");
    assert_eq!(rec.jwts[0].sub.as_deref(), Some("alice"));
    assert_eq!(rec.identity.subjects, vec!["jwt-sub:alice"]);
}

#[test]
fn pem_header_built_by_code_is_not_a_private_key() {
    let rz = rz();
    let js = format!(
        "e.prototype.getPrivateKey=function(){{var a=\"-----BEGIN RSA PRIVATE KEY-----\\n\";return a+=this.wordwrap(this.getPrivateBaseKeyB64())+\"\\n\",a+=\"-----END RSA PRIVATE KEY-----\"}};{}",
        "var pad=1;".repeat(20)
    );
    let resp = resp_body(response(200), "application/javascript", &js);
    let rec = rz.recognize(&exchange(Some(request("GET", "/jsencrypt.js")), Some(resp)));
    assert!(rec.response.is_empty(), "{:?}", rec.response);
    // An encrypted PEM with armor headers is still one.
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0A1B2C3D4E5F60718293A4B5C6D7E8F9\n\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----";
    let resp = resp_body(response(200), "text/plain", pem);
    let rec = rz.recognize(&exchange(Some(request("GET", "/k")), Some(resp)));
    assert_eq!(rec.response.len(), 1);
    assert_eq!(rec.response[0].kind, "private-key");
}

#[test]
fn tracker_cookie_by_domain_when_the_request_is_missing() {
    let rz = rz();
    let mut resp = response(200);
    resp.headers.push(
        "Set-Cookie",
        "tmsi=Qm7xP2kL9vR4tY6uI0oP5aSzX8cV1bN3mQ7wE2rT; path=/; domain=isolyr.com; httponly",
    );
    resp.headers.push(
        "Set-Cookie",
        "acct=Qm7xP2kL9vR4tY6uI0oP5aSzX8cV1bN3mQ7wE2rT; path=/; domain=shop.example",
    );
    let rec = rz.recognize(&exchange(None, Some(resp)));
    let names: Vec<&str> = rec.response.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["acct"]);
    // Both lines are still parsed for the cookie rules.
    assert_eq!(rec.set_cookies.len(), 2);
}
