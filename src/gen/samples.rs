//! The committed `samples/` directory: a small, deterministic set of captures and HARs that show
//! every rule of the catalog firing, a look-alike that must not fire for each, the capture and
//! HAR shapes credsift must ingest, and malformed files. Each `Sample` carries its bytes and
//! its expectations; `readme` renders them as `samples/README.md`, so the files and what they
//! should yield never drift apart. Built from `http`, `tcp`, `tls`, `capture`, `har` and the
//! constants in `secrets`; written by `credsift-gen samples --out samples`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use serde_json::json;

use super::GenError;
use super::SAMPLE_EPOCH_NS;
use super::capture::{Interface, PacketSink, PcapWriter, pcap_bytes, pcapng_bytes};
use super::frame::{Framer, Link};
use super::har::{Flavor, HarEntry, har_bytes};
use super::http::{Exchange, Framing, Request, Response};
use super::secrets as s;
use super::tcp::{Connection, Dir, Flight, Impairment, Scenario};
use super::tls;

/// One expected outcome: `rule` fires (or must not fire) for this host, location and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    pub rule: &'static str,
    pub host: &'static str,
    /// Contract `location` (`header`, `cookie`, `query`...), empty when it does not matter.
    pub location: &'static str,
    /// Contract `name` (lowercase header name, parameter or cookie name), may be empty.
    pub name: &'static str,
    pub why: &'static str,
    /// Name of the constant in `secrets` (`ALL` or a look-alike) this expectation is about,
    /// empty when the location and name say enough. Lets a test tell apart two keys that share
    /// a host, header and rule.
    pub secret: &'static str,
}

impl Expect {
    const fn key(mut self, secret: &'static str) -> Expect {
        self.secret = secret;
        self
    }
}

const fn ex(
    rule: &'static str,
    host: &'static str,
    location: &'static str,
    name: &'static str,
    why: &'static str,
) -> Expect {
    Expect {
        rule,
        host,
        location,
        name,
        why,
        secret: "",
    }
}

/// One file of `samples/` with what credsift should make of it.
#[derive(Debug, Clone)]
pub struct Sample {
    pub file: &'static str,
    pub summary: String,
    /// Exchanges credsift should produce from this file.
    pub exchanges: usize,
    /// Findings that must be reported (at least these; see `notes` for others that may appear).
    pub fires: Vec<Expect>,
    /// Look-alikes: these must not be reported.
    pub silent: Vec<Expect>,
    /// Ingest expectations: anomalies, warnings, TLS connections.
    pub notes: Vec<String>,
    pub bytes: Vec<u8>,
}

const T0_MS: i64 = (SAMPLE_EPOCH_NS / 1_000_000) as i64;

const FIREFOX_UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
const CHROME_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
const CURL_UA: &str = "curl/8.5.0";

fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(a, b, c, d)), port)
}

fn v6(segs: [u16; 8], port: u16) -> SocketAddr {
    SocketAddr::new(
        IpAddr::V6(Ipv6Addr::new(
            segs[0], segs[1], segs[2], segs[3], segs[4], segs[5], segs[6], segs[7],
        )),
        port,
    )
}

/// A server in TEST-NET-3 (203.0.113.0/24) on port 80.
fn server(d: u8) -> SocketAddr {
    v4(203, 0, 113, d, 80)
}

/// A client on the capture's LAN.
fn client(d: u8, port: u16) -> SocketAddr {
    v4(192, 168, 1, d, port)
}

fn browser(r: Request) -> Request {
    r.header("User-Agent", FIREFOX_UA)
        .header("Accept", "*/*")
        .header("Accept-Language", "en-GB,en;q=0.5")
}

fn ok_json(v: serde_json::Value) -> Response {
    Response::new(200).json(&v)
}

fn ok_html(title: &str) -> Response {
    Response::new(200).html(&format!(
        "<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    ))
}

fn conn(c: SocketAddr, srv: SocketAddr, exs: &[Exchange]) -> Connection {
    Connection::new(c, srv).exchanges(exs)
}

fn scenario(conns: Vec<Connection>) -> Scenario {
    let mut s = Scenario::new(SAMPLE_EPOCH_NS);
    s.connections = conns;
    s
}

fn eth(conns: Vec<Connection>) -> Result<Vec<u8>, GenError> {
    pcap_bytes(&scenario(conns), Link::Ethernet, false, false)
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

fn cookie(name: &str, value: &str) -> String {
    format!("{name}={value}")
}

fn rules_cleartext() -> Result<Sample, GenError> {
    let h = "intranet.example.com";
    let a = [
        Exchange::new(
            browser(Request::get(h, "/admin")),
            Response::new(401)
                .header("WWW-Authenticate", "Basic realm=\"intranet\"")
                .html("<h1>401 Unauthorized</h1>"),
        ),
        Exchange::new(
            browser(Request::get(h, "/admin"))
                .header("Authorization", &format!("Basic {}", s::BASIC_AUTH)),
            ok_html("Admin"),
        ),
        Exchange::new(
            Request::get(h, "/api/v1/projects")
                .header("User-Agent", CURL_UA)
                .header("X-API-Key", s::CLEARTEXT_API_KEY)
                .header("X-Request-Id", s::REQUEST_ID_UUID),
            ok_json(json!({"projects": [{"id": 1, "name": "apollo"}]})),
        ),
        Exchange::new(
            browser(Request::post(h, "/login")).form(&[
                ("username", s::BASIC_USER),
                ("password", s::FORM_PASSWORD),
                ("csrf_token", s::CSRF_TOKEN),
            ]),
            Response::new(302)
                .header("Location", "/home")
                .set_cookie(&format!(
                    "sessionid={}; Path=/; Secure; HttpOnly; SameSite=Lax",
                    s::CLEARTEXT_SESSION
                )),
        ),
        Exchange::new(
            browser(Request::get(h, "/home")).header(
                "Cookie",
                &format!(
                    "sessionid={}; _ga={}; theme=dark",
                    s::CLEARTEXT_SESSION,
                    s::GA_COOKIE
                ),
            ),
            ok_html("Home"),
        ),
        Exchange::new(
            Request::post(h, "/api/v1/deploy")
                .header("User-Agent", CURL_UA)
                .header("Authorization", &format!("token {}", s::GITHUB_TOKEN))
                .json(&json!({
                    "aws_access_key_id": s::AWS_ACCESS_KEY_ID,
                    "aws_secret_access_key": s::AWS_SECRET_ACCESS_KEY,
                    "region": "eu-west-1",
                })),
            Response::new(201).json(&json!({"deployment": 7})),
        ),
        Exchange::new(
            browser(Request::get(
                h,
                &format!("/checkout.js?v=3&_={}", s::CACHE_BUSTER),
            ))
            .header("X-CSRF-Token", s::CSRF_TOKEN)
            .header("X-Request-Id", s::ORDER_UUID),
            Response::new(200).body(
                "application/javascript",
                format!("var stripe = Stripe(\"{}\");\n", s::STRIPE_PUBLISHABLE_KEY),
            ),
        ),
    ];
    let p = "payments.example.com";
    let b = [Exchange::new(
        Request::post(p, "/v1/charges")
            .header("User-Agent", CURL_UA)
            .header("Authorization", &bearer(s::STRIPE_SECRET_KEY))
            .form(&[("amount", "2000"), ("currency", "eur")]),
        ok_json(json!({"id": "ch_1", "status": "succeeded"})),
    )];
    let bytes = eth(vec![
        conn(client(23, 50100), server(10), &a),
        conn(client(23, 50101), server(11), &b),
    ])?;
    let ct = "cleartext-credential";
    Ok(Sample {
        file: "rules-cleartext-credentials.pcap",
        summary: "Credentials in plain HTTP: Basic auth, an API-key header, a login form, a \
                  session cookie set and sent, a GitHub token and AWS keys in a JSON body, a \
                  Stripe secret key as a bearer token, and a Basic challenge."
            .into(),
        exchanges: 8,
        fires: vec![
            ex(
                ct,
                h,
                "header",
                "authorization",
                "Basic credentials (kind basic)",
            ),
            ex(ct, h, "header", "x-api-key", "API key header"),
            ex(ct, h, "body", "password", "password in a login form"),
            ex(
                ct,
                h,
                "set-cookie",
                "sessionid",
                "session cookie set over cleartext",
            ),
            ex(
                ct,
                h,
                "cookie",
                "sessionid",
                "session cookie sent over cleartext",
            ),
            ex(
                ct,
                h,
                "header",
                "authorization",
                "GitHub token (kind github-token)",
            ),
            ex(
                ct,
                h,
                "body",
                "aws_access_key_id",
                "AWS access key id in JSON (kind aws-access-key-id)",
            ),
            ex(
                ct,
                p,
                "header",
                "authorization",
                "Stripe secret key (kind stripe-secret-key)",
            ),
        ],
        silent: vec![
            ex(ct, h, "header", "x-request-id", "a UUID request id"),
            ex(ct, h, "header", "x-csrf-token", "a CSRF token"),
            ex(
                ct,
                h,
                "body",
                "csrf_token",
                "a CSRF token in the login form",
            ),
            ex(ct, h, "cookie", "_ga", "analytics cookie"),
            ex(ct, h, "cookie", "theme", "preference cookie"),
            ex(ct, h, "query", "_", "a timestamp cache buster"),
            ex(
                "credential-in-response",
                h,
                "response-body",
                "",
                "a pk_live_ publishable key in JavaScript",
            )
            .key("STRIPE_PUBLISHABLE_KEY"),
            ex("credential-in-url", h, "query", "v", "a version parameter"),
        ],
        notes: vec![
            "The 401 with `WWW-Authenticate: Basic` over cleartext is a lower-severity \
             cleartext-credential finding whose `detail` names the Basic challenge."
                .into(),
        ],
        bytes,
    })
}

fn rules_url() -> Result<Sample, GenError> {
    let h = "files.example.com";
    let exs = [
        Exchange::new(
            browser(Request::get(
                h,
                &format!("/download?file=report.pdf&api_key={}", s::URL_API_KEY),
            )),
            Response::new(200).body("application/pdf", b"%PDF-1.4\n%sample\n".to_vec()),
        ),
        Exchange::new(
            browser(Request::get(
                h,
                &format!("/api/me?access_token={}", s::URL_ACCESS_TOKEN),
            )),
            ok_json(json!({"user": "alice"})),
        ),
        Exchange::new(
            browser(Request::get(
                h,
                &format!("/shop/cart;jsessionid={}?item=42", s::URL_JSESSIONID),
            )),
            ok_html("Cart"),
        ),
        Exchange::new(
            Request::get(h, &format!("/v1/verify/{}", s::URL_PATH_STRIPE_KEY))
                .header("User-Agent", CURL_UA),
            ok_json(json!({"valid": true})),
        ),
        Exchange::new(
            browser(Request::get(
                h,
                &format!("/static/app.js?v={}", s::ASSET_HASH),
            )),
            Response::new(200).body("application/javascript", "console.log('app');\n"),
        ),
        Exchange::new(
            browser(Request::get(
                h,
                &format!("/img/logo.png?_={}", s::CACHE_BUSTER),
            )),
            Response::new(200).body("image/png", b"\x89PNG\r\n\x1a\n".to_vec()),
        ),
        Exchange::new(
            browser(Request::get(h, &format!("/orders/{}", s::ORDER_UUID))),
            ok_json(json!({"order": s::ORDER_UUID, "status": "shipped"})),
        ),
        Exchange::new(
            browser(Request::get(
                h,
                "/search?q=api+key+rotation&page=2&utm_source=newsletter",
            )),
            ok_html("Search"),
        ),
        Exchange::new(
            browser(Request::get(
                h,
                &format!(
                    "/oauth/authorize?response_type=code&client_id=files-web&state={}&redirect_uri=http%3A%2F%2Ffiles.example.com%2Fcb",
                    s::OAUTH_STATE
                ),
            )),
            Response::new(302).header("Location", "/login"),
        ),
    ];
    // A forward proxy request (absolute-form target) with credentials in the URL's userinfo.
    let proxied = [Exchange::new(
        Request::get(
            h,
            &format!(
                "http://backup:{}@files.example.com/nightly.tar",
                s::USERINFO_PASSWORD
            ),
        )
        .header("User-Agent", "Wget/1.21.4"),
        Response::new(200).body("application/x-tar", vec![0u8; 512]),
    )];
    let bytes = eth(vec![
        conn(client(24, 50200), server(20), &exs),
        conn(client(24, 50201), v4(192, 168, 1, 1, 3128), &proxied),
    ])?;
    let r = "credential-in-url";
    Ok(Sample {
        file: "rules-credential-in-url.pcap",
        summary: "Credentials in URLs over cleartext: query `api_key` and `access_token`, a \
                  `;jsessionid=` path parameter, a Stripe secret key as a path segment, and \
                  userinfo in a proxy request; plus ordinary parameters that look like keys."
            .into(),
        exchanges: 10,
        fires: vec![
            ex(r, h, "query", "api_key", "high: cleartext"),
            ex(r, h, "query", "access_token", "high: cleartext"),
            ex(r, h, "path", "jsessionid", "session id as a path parameter"),
            ex(r, h, "path", "", "stripe-secret-key as a path segment").key("URL_PATH_STRIPE_KEY"),
            ex(
                r,
                h,
                "userinfo",
                "userinfo",
                "password in userinfo of an absolute-form target (evidence shows the user `backup`)",
            ),
            ex(
                "cleartext-credential",
                h,
                "query",
                "api_key",
                "the same key crosses in cleartext",
            ),
        ],
        silent: vec![
            ex(r, h, "query", "v", "an asset content hash"),
            ex(r, h, "query", "_", "a timestamp cache buster"),
            ex(r, h, "path", "", "an order UUID in the path").key("ORDER_UUID"),
            ex(r, h, "query", "q", "a search for the words api key"),
            ex(r, h, "query", "utm_source", "campaign tag"),
            ex(r, h, "query", "state", "OAuth state"),
            ex(r, h, "query", "client_id", "a public OAuth client id"),
        ],
        notes: vec![],
        bytes,
    })
}

fn rules_referer() -> Result<Sample, GenError> {
    let portal = "portal.example.com";
    let cdn = "cdn.example.net";
    let leaky = format!(
        "http://{portal}/dashboard?access_token={}",
        s::REFERER_ACCESS_TOKEN
    );
    let p = [
        Exchange::new(
            browser(Request::get(
                portal,
                &format!("/dashboard?access_token={}", s::REFERER_ACCESS_TOKEN),
            )),
            ok_html("Dashboard"),
        ),
        Exchange::new(
            browser(Request::get(portal, "/static/site.css")).header("Referer", &leaky),
            Response::new(200).body("text/css", "body{margin:0}"),
        ),
    ];
    let c = [
        Exchange::new(
            browser(Request::get(cdn, "/widget.js")).header("Referer", &leaky),
            Response::new(200).body("application/javascript", "/* widget */"),
        ),
        Exchange::new(
            browser(Request::get(cdn, "/fonts/inter.woff2")).header(
                "Referer",
                &format!("http://{portal}/blog?page=2&utm_source=mail"),
            ),
            Response::new(200).body("font/woff2", b"wOF2".to_vec()),
        ),
    ];
    let bytes = eth(vec![
        conn(client(25, 50300), server(30), &p),
        conn(client(25, 50301), v4(198, 51, 100, 40, 80), &c),
    ])?;
    let r = "credential-in-referer";
    Ok(Sample {
        file: "rules-credential-in-referer.pcap",
        summary: "A page whose URL carries an access token loads a script from another origin; \
                  the browser sends the full URL as Referer."
            .into(),
        exchanges: 4,
        fires: vec![
            ex(
                r,
                cdn,
                "referer",
                "access_token",
                "detail names the origin http://portal.example.com",
            ),
            ex(
                "credential-in-url",
                portal,
                "query",
                "access_token",
                "the page URL itself",
            ),
        ],
        silent: vec![
            ex(
                r,
                portal,
                "referer",
                "access_token",
                "same-origin Referer (site.css)",
            ),
            ex(
                r,
                cdn,
                "referer",
                "page",
                "cross-origin Referer without a credential",
            ),
        ],
        notes: vec![
            "The token also reaches cdn.example.net inside the Referer; whether \
             key-used-across-services counts a Referer sighting as a second service is the \
             rule's documented choice, so tests should not assert it either way."
                .into(),
        ],
        bytes,
    })
}

fn rules_response() -> Result<Sample, GenError> {
    let api = "api.example.com";
    let auth = "auth.example.com";
    let app = "app.example.com";
    let a = [
        Exchange::new(
            Request::get(api, "/api/v1/config").header("User-Agent", CURL_UA),
            ok_json(json!({
                "region": "eu-west-1",
                "aws_access_key_id": s::RESPONSE_AWS_ACCESS_KEY_ID,
                "aws_secret_access_key": s::RESPONSE_AWS_SECRET_ACCESS_KEY,
            })),
        ),
        Exchange::new(
            Request::get(api, "/debug/headers")
                .header("User-Agent", CURL_UA)
                .header("Authorization", &bearer(s::ECHO_TOKEN)),
            ok_json(json!({"headers": {"Host": api, "Authorization": bearer(s::ECHO_TOKEN)}})),
        ),
        Exchange::new(
            browser(Request::get(api, "/api/v1/checkout-config")),
            ok_json(json!({
                "publishable_key": s::STRIPE_PUBLISHABLE_KEY,
                "request_id": s::REQUEST_ID_UUID,
                "csrf_token": s::CSRF_TOKEN,
            })),
        ),
        Exchange::new(
            browser(Request::get(api, "/welcome")),
            ok_html("Welcome").set_cookie(&format!(
                "sessionid={}; Path=/; Secure; HttpOnly; SameSite=Lax",
                s::RESPONSE_ISSUED_SESSION
            )),
        ),
    ];
    let b = [
        Exchange::new(
            browser(Request::get(auth, "/sso/continue")),
            Response::new(302).header(
                "Location",
                &format!("http://{app}/landing?access_token={}", s::LOCATION_TOKEN),
            ),
        ),
        Exchange::new(
            Request::post(auth, "/oauth/token")
                .header("User-Agent", CURL_UA)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", "reporting"),
                    ("client_secret", s::OAUTH_CLIENT_SECRET_CLEARTEXT),
                ]),
            ok_json(json!({
                "access_token": s::OAUTH_ACCESS_TOKEN_CLEARTEXT,
                "token_type": "Bearer",
                "expires_in": 3600,
            })),
        ),
    ];
    let c = [Exchange::new(
        browser(Request::get(app, "/settings.js")),
        Response::new(200).body(
            "application/javascript",
            format!(
                "window.CONFIG = {{ githubToken: \"{}\" }};\n",
                s::RESPONSE_GITHUB_TOKEN
            ),
        ),
    )];
    let bytes = eth(vec![
        conn(client(26, 50400), server(40), &a),
        conn(client(26, 50401), server(41), &b),
        conn(client(26, 50402), server(42), &c),
    ])?;
    let r = "credential-in-response";
    Ok(Sample {
        file: "rules-credential-in-response.pcap",
        summary: "Credentials in responses: AWS keys in a JSON config, a bearer token echoed \
                  back, a token in a Location header, a GitHub token in JavaScript, and an OAuth \
                  token endpoint answering over cleartext."
            .into(),
        exchanges: 7,
        fires: vec![
            ex(
                r,
                api,
                "response-body",
                "aws_access_key_id",
                "AWS key pair in JSON",
            ),
            ex(
                r,
                api,
                "response-body",
                "",
                "request bearer token echoed (matched by fingerprint)",
            )
            .key("ECHO_TOKEN"),
            ex(
                r,
                auth,
                "response-header",
                "location",
                "access token in a redirect",
            ),
            ex(r, app, "response-body", "", "github-token in JavaScript")
                .key("RESPONSE_GITHUB_TOKEN"),
            ex(
                r,
                auth,
                "response-body",
                "access_token",
                "OAuth token endpoint over cleartext is not excused",
            ),
            ex(
                "cleartext-credential",
                api,
                "header",
                "authorization",
                "the echoed bearer token",
            ),
            ex(
                "cleartext-credential",
                auth,
                "body",
                "client_secret",
                "client secret in a form",
            ),
        ],
        silent: vec![
            ex(
                r,
                api,
                "response-body",
                "publishable_key",
                "pk_live_ keys are public",
            )
            .key("STRIPE_PUBLISHABLE_KEY"),
            ex(r, api, "response-body", "request_id", "a UUID"),
            ex(r, api, "response-body", "csrf_token", "a CSRF token"),
            ex(
                r,
                api,
                "response-header",
                "set-cookie",
                "a session set by Set-Cookie has its own rules",
            ),
            ex(
                "key-issued-unauthenticated",
                auth,
                "",
                "",
                "the Location token is never presented later",
            ),
        ],
        notes: vec![],
        bytes,
    })
}

fn rules_cookies() -> Result<Sample, GenError> {
    let h = "www.shop.example.com";
    let sc = |path: &str, lines: &[String], req_cookie: Option<String>| {
        let mut r = browser(Request::get(h, path));
        if let Some(c) = req_cookie {
            r = r.header("Cookie", &c);
        }
        let mut resp = ok_html(path);
        for l in lines {
            resp = resp.set_cookie(l);
        }
        Exchange::new(r, resp)
    };
    let no_secure = format!(
        "sessionid={}; Path=/; HttpOnly; SameSite=Lax",
        s::COOKIE_NO_SECURE
    );
    let exs = [
        sc("/", std::slice::from_ref(&no_secure), None),
        sc(
            "/account",
            std::slice::from_ref(&no_secure),
            Some(cookie("sessionid", s::COOKIE_NO_SECURE)),
        ),
        sc(
            "/cart",
            &[format!(
                "PHPSESSID={}; Path=/; Secure; SameSite=Strict",
                s::COOKIE_NO_HTTPONLY
            )],
            None,
        ),
        sc(
            "/prefs",
            &[
                "lang=en-GB; Path=/; Secure; HttpOnly".into(),
                "theme=dark; Path=/; Secure; SameSite=Lax".into(),
            ],
            None,
        ),
        sc(
            "/embed",
            &[
                format!(
                    "sid={}; Path=/; HttpOnly; SameSite=None",
                    s::COOKIE_SAMESITE_NONE
                ),
                "prefs=compact; Path=/; Secure; HttpOnly; SameSite=None".into(),
            ],
            None,
        ),
        sc(
            "/login",
            &[format!(
                "shop_session={}; Domain=example.com; Path=/; Secure; HttpOnly; SameSite=Lax",
                s::COOKIE_BROAD_DOMAIN
            )],
            None,
        ),
        sc(
            "/secure",
            &[
                format!(
                    "__Host-session={}; Domain=www.shop.example.com; Path=/; Secure; HttpOnly; SameSite=Strict",
                    s::COOKIE_HOST_PREFIX_DOMAIN
                ),
                format!(
                    "__Host-csrf={}; Path=/; Secure; SameSite=Strict",
                    s::CSRF_TOKEN
                ),
                "__Secure-pref=1; Path=/; Secure; HttpOnly; SameSite=Lax".into(),
            ],
            None,
        ),
        sc(
            "/remember",
            &[
                format!(
                    "JSESSIONID={}; Max-Age=31536000; Path=/; Secure; HttpOnly; SameSite=Lax",
                    s::COOKIE_LONG_LIVED
                ),
                format!(
                    "_ga={}; Max-Age=63072000; Path=/; Secure; SameSite=Lax",
                    s::GA_COOKIE
                ),
                format!(
                    "session_token={}; Expires=Wed, 01 May 2024 13:00:00 GMT; Path=/; Secure; HttpOnly; SameSite=Lax",
                    s::COOKIE_SHORT_LIVED
                ),
            ],
            None,
        ),
        sc(
            "/logout",
            &[
                "sessionid=; Max-Age=0; Path=/".into(),
                "PHPSESSID=deleted; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/".into(),
            ],
            None,
        ),
    ];
    let bytes = eth(vec![conn(client(27, 50500), server(50), &exs)])?;
    Ok(Sample {
        file: "rules-cookie-flags.pcap",
        summary: "One shop setting cookies with every flag mistake the cookie rules know, next \
                  to cookies that are set correctly, deletion cookies, and non-session cookies."
            .into(),
        exchanges: 9,
        fires: vec![
            ex(
                "cookie-missing-secure",
                h,
                "set-cookie",
                "sessionid",
                "session cookie without Secure, set twice: count 2",
            ),
            ex(
                "cookie-missing-httponly",
                h,
                "set-cookie",
                "PHPSESSID",
                "session cookie without HttpOnly",
            ),
            ex(
                "cookie-missing-samesite",
                h,
                "set-cookie",
                "lang",
                "no SameSite attribute",
            ),
            ex(
                "cookie-samesite-none-insecure",
                h,
                "set-cookie",
                "sid",
                "SameSite=None without Secure",
            ),
            ex(
                "cookie-missing-secure",
                h,
                "set-cookie",
                "sid",
                "the same cookie lacks Secure",
            ),
            ex(
                "cookie-broad-scope",
                h,
                "set-cookie",
                "shop_session",
                "Domain=example.com set by www.shop.example.com",
            ),
            ex(
                "cookie-broad-scope",
                h,
                "set-cookie",
                "__Host-session",
                "__Host- prefix with a Domain attribute",
            ),
            ex(
                "cookie-long-lived-session",
                h,
                "set-cookie",
                "JSESSIONID",
                "session cookie with Max-Age of one year",
            ),
            ex(
                "cleartext-credential",
                h,
                "set-cookie",
                "sessionid",
                "session cookies are set over cleartext",
            ),
        ],
        silent: vec![
            ex(
                "cookie-missing-httponly",
                h,
                "set-cookie",
                "theme",
                "not session-like: HttpOnly not required",
            ),
            ex(
                "cookie-missing-httponly",
                h,
                "set-cookie",
                "__Host-csrf",
                "a CSRF cookie must be readable by scripts",
            ),
            ex(
                "cookie-samesite-none-insecure",
                h,
                "set-cookie",
                "prefs",
                "SameSite=None with Secure",
            ),
            ex(
                "cookie-broad-scope",
                h,
                "set-cookie",
                "__Host-csrf",
                "a valid __Host- cookie",
            ),
            ex(
                "cookie-broad-scope",
                h,
                "set-cookie",
                "__Secure-pref",
                "a valid __Secure- cookie",
            ),
            ex(
                "cookie-long-lived-session",
                h,
                "set-cookie",
                "_ga",
                "long-lived but not a session",
            ),
            ex(
                "cookie-long-lived-session",
                h,
                "set-cookie",
                "session_token",
                "Expires (with its comma) one hour ahead",
            ),
            ex(
                "cookie-missing-secure",
                h,
                "set-cookie",
                "PHPSESSID",
                "`PHPSESSID=deleted` with a past Expires is a deletion",
            ),
            ex(
                "cookie-missing-samesite",
                h,
                "set-cookie",
                "sessionid",
                "`sessionid=; Max-Age=0` is a deletion",
            ),
        ],
        notes: vec![],
        bytes,
    })
}

fn rules_jwt() -> Result<Sample, GenError> {
    let h = "accounts.example.com";
    let call = |jwt: &str, ok: bool| {
        let r = Request::get(h, "/api/v1/me")
            .header("User-Agent", CURL_UA)
            .header("Authorization", &bearer(jwt));
        let resp = if ok {
            ok_json(json!({"ok": true}))
        } else {
            Response::new(401)
                .header("WWW-Authenticate", "Bearer error=\"invalid_token\"")
                .json(&json!({"error": "invalid_token"}))
        };
        Exchange::new(r, resp)
    };
    let exs = [
        call(s::JWT_NONE_ACCEPTED, true),
        call(s::JWT_EXPIRED_ACCEPTED, true),
        call(s::JWT_NONE_REJECTED, false),
        call(s::JWT_EXPIRED_REJECTED, false),
        call(s::JWT_VALID, true),
    ];
    let bytes = eth(vec![conn(client(28, 50600), server(60), &exs)])?;
    Ok(Sample {
        file: "rules-jwt.pcap",
        summary: "Five bearer JWTs against one API at 2024-05-01T12:00Z: `alg: none` accepted \
                  and rejected, expired accepted and rejected, and a valid signed token."
            .into(),
        exchanges: 5,
        fires: vec![
            ex(
                "jwt-alg-none",
                h,
                "header",
                "authorization",
                "sub mallory, unsigned, answered 200",
            )
            .key("JWT_NONE_ACCEPTED"),
            ex(
                "jwt-expired-accepted",
                h,
                "header",
                "authorization",
                "sub carol, exp 2023-11-14, answered 200",
            )
            .key("JWT_EXPIRED_ACCEPTED"),
            ex(
                "cleartext-credential",
                h,
                "header",
                "authorization",
                "bearer JWTs in cleartext (kind jwt)",
            ),
        ],
        silent: vec![
            ex(
                "jwt-alg-none",
                h,
                "header",
                "authorization",
                "sub eve: alg none but rejected with 401 (only mallory fires)",
            )
            .key("JWT_NONE_REJECTED"),
            ex(
                "jwt-expired-accepted",
                h,
                "header",
                "authorization",
                "sub dave: expired but rejected with 401 (only carol fires)",
            )
            .key("JWT_EXPIRED_REJECTED"),
            ex(
                "jwt-alg-none",
                h,
                "header",
                "authorization",
                "sub erin: HS256 signed, valid until 2030",
            )
            .key("JWT_VALID"),
            ex(
                "key-reused-across-subjects",
                h,
                "header",
                "authorization",
                "each JWT carries its own subject",
            ),
        ],
        notes: vec!["Exactly one jwt-alg-none and one jwt-expired-accepted finding.".into()],
        bytes,
    })
}

fn rules_subjects() -> Result<Sample, GenError> {
    let h = "api.example.com";
    let call = |key: &str, user: &str| {
        Exchange::new(
            Request::get(h, "/v1/orders")
                .header("User-Agent", "orders-client/2.3")
                .header("X-API-Key", key)
                .header("X-User", user),
            ok_json(json!({"orders": []})),
        )
    };
    let exs = [
        call(s::KEY_SUBJECTS, "alice"),
        call(s::KEY_SUBJECTS, "bob"),
        call(s::KEY_ONE_SUBJECT, "carol"),
        call(s::KEY_ONE_SUBJECT, "carol"),
    ];
    let bytes = eth(vec![conn(client(29, 50700), server(70), &exs)])?;
    let r = "key-reused-across-subjects";
    Ok(Sample {
        file: "rules-key-reused-across-subjects.pcap",
        summary: "One API key presented with `X-User: alice` and `X-User: bob`; another only \
                  ever for carol."
            .into(),
        exchanges: 4,
        fires: vec![
            ex(
                r,
                h,
                "header",
                "x-api-key",
                "detail lists subjects alice and bob",
            )
            .key("KEY_SUBJECTS"),
            ex(
                "cleartext-credential",
                h,
                "header",
                "x-api-key",
                "keys in cleartext",
            ),
        ],
        silent: vec![
            ex(
                r,
                h,
                "header",
                "x-api-key",
                "the second key: one subject (carol) twice",
            )
            .key("KEY_ONE_SUBJECT"),
        ],
        notes: vec!["Exactly one key-reused-across-subjects finding.".into()],
        bytes,
    })
}

fn rules_roles() -> Result<Sample, GenError> {
    let h = "api.example.com";
    let call = |method: &str, path: &str, key: &str, role: &str, status: u16| {
        Exchange::new(
            Request::new(method, h, path)
                .header("User-Agent", "admin-cli/1.0")
                .header("X-API-Key", key)
                .header("X-Role", role),
            if status == 204 {
                Response::new(204)
            } else {
                ok_json(json!({"rows": 3}))
            },
        )
    };
    let exs = [
        call("GET", "/v1/reports", s::KEY_ROLES, "viewer", 200),
        call("DELETE", "/v1/users/42", s::KEY_ROLES, "admin", 204),
        call("GET", "/v1/reports", s::KEY_ONE_ROLE, "viewer", 200),
        call("GET", "/v1/reports", s::KEY_ONE_ROLE, "viewer", 200),
    ];
    let bytes = eth(vec![conn(client(30, 50800), server(71), &exs)])?;
    let r = "key-reused-across-roles";
    Ok(Sample {
        file: "rules-key-reused-across-roles.pcap",
        summary: "One API key presented with `X-Role: viewer` and, for a DELETE, `X-Role: admin`; \
                  another always as viewer."
            .into(),
        exchanges: 4,
        fires: vec![
            ex(
                r,
                h,
                "header",
                "x-api-key",
                "detail lists roles viewer and admin",
            )
            .key("KEY_ROLES"),
            ex(
                "cleartext-credential",
                h,
                "header",
                "x-api-key",
                "keys in cleartext",
            ),
        ],
        silent: vec![
            ex(r, h, "header", "x-api-key", "the second key: viewer only").key("KEY_ONE_ROLE"),
        ],
        notes: vec!["Exactly one key-reused-across-roles finding.".into()],
        bytes,
    })
}

fn rules_services() -> Result<Sample, GenError> {
    let call = |host: &str, path: &str, tok: &str| {
        Exchange::new(
            Request::get(host, path)
                .header("User-Agent", "mesh-sidecar/1.4")
                .header("Authorization", &bearer(tok)),
            ok_json(json!({"ok": true})),
        )
    };
    let inv = "inventory.example.com";
    let bytes = eth(vec![
        conn(
            client(31, 50900),
            server(72),
            &[call("api.example.com", "/v1/profile", s::TOKEN_SERVICES)],
        ),
        conn(
            client(31, 50901),
            server(73),
            &[call(
                "billing.example.com",
                "/v1/invoices",
                s::TOKEN_SERVICES,
            )],
        ),
        conn(
            client(31, 50902),
            server(74),
            &[
                call(inv, "/v1/items", s::TOKEN_ONE_SERVICE),
                call(inv, "/v1/items?page=2", s::TOKEN_ONE_SERVICE),
                call(inv, "/v1/items?page=3", s::TOKEN_ONE_SERVICE),
            ],
        ),
    ])?;
    let r = "key-used-across-services";
    Ok(Sample {
        file: "rules-key-used-across-services.pcap",
        summary: "One bearer token sent to api.example.com and billing.example.com; another sent \
                  three times to inventory.example.com only."
            .into(),
        exchanges: 5,
        fires: vec![
            ex(
                r,
                "api.example.com",
                "header",
                "authorization",
                "detail lists hosts api.example.com and billing.example.com (host may be either)",
            )
            .key("TOKEN_SERVICES"),
        ],
        silent: vec![
            ex(r, inv, "header", "authorization", "one host only").key("TOKEN_ONE_SERVICE"),
        ],
        notes: vec!["Exactly one key-used-across-services finding in this file alone.".into()],
        bytes,
    })
}

fn rules_issued() -> Result<Sample, GenError> {
    let h = "api.example.com";
    let exs = [
        Exchange::new(
            browser(Request::get(h, "/v1/trial-key")),
            ok_json(json!({"api_key": s::KEY_ISSUED_UNAUTH, "expires_in": 86400})),
        ),
        Exchange::new(
            Request::get(h, "/v1/orders")
                .header("User-Agent", CURL_UA)
                .header("X-API-Key", s::KEY_ISSUED_UNAUTH),
            ok_json(json!({"orders": []})),
        ),
        Exchange::new(
            Request::post(h, "/v1/keys")
                .header("User-Agent", CURL_UA)
                .header("Authorization", &bearer(s::TOKEN_ISSUER))
                .json(&json!({"name": "ci"})),
            Response::new(201).json(&json!({"api_key": s::KEY_ISSUED_AUTH})),
        ),
        Exchange::new(
            Request::get(h, "/v1/orders")
                .header("User-Agent", CURL_UA)
                .header("X-API-Key", s::KEY_ISSUED_AUTH),
            ok_json(json!({"orders": []})),
        ),
        Exchange::new(
            browser(Request::get(h, "/v1/status")),
            ok_json(json!({"status": "up", "request_id": s::REQUEST_ID_UUID})),
        ),
        Exchange::new(
            browser(Request::get(h, "/v1/status")).header("X-Request-Id", s::REQUEST_ID_UUID),
            ok_json(json!({"status": "up"})),
        ),
    ];
    let bytes = eth(vec![conn(client(32, 51000), server(75), &exs)])?;
    let r = "key-issued-unauthenticated";
    Ok(Sample {
        file: "rules-key-issued-unauthenticated.pcap",
        summary: "An anonymous GET /v1/trial-key returns an API key in JSON that is later used \
                  as X-API-Key; a key minted for an authenticated caller; a request id echoed \
                  back."
            .into(),
        exchanges: 6,
        fires: vec![
            ex(
                r,
                h,
                "response-body",
                "api_key",
                "points at the issuing exchange (the first one); detail names where it was used",
            )
            .key("KEY_ISSUED_UNAUTH"),
            ex(
                "credential-in-response",
                h,
                "response-body",
                "api_key",
                "keys issued in JSON",
            ),
            ex(
                "cleartext-credential",
                h,
                "header",
                "x-api-key",
                "keys in cleartext",
            ),
        ],
        silent: vec![
            ex(
                r,
                h,
                "response-body",
                "api_key",
                "the key issued to POST /v1/keys, which carried a bearer token",
            )
            .key("KEY_ISSUED_AUTH"),
            ex(
                r,
                h,
                "response-body",
                "request_id",
                "a UUID is not a credential",
            )
            .key("REQUEST_ID_UUID"),
        ],
        notes: vec!["Exactly one key-issued-unauthenticated finding.".into()],
        bytes,
    })
}

fn rules_fixation() -> Result<Sample, GenError> {
    let flow = |host: &str, pre: &str, post: Option<&str>, pw: &str| -> Vec<Exchange> {
        let set = |v: &str| format!("JSESSIONID={v}; Path=/; Secure; HttpOnly; SameSite=Lax");
        let mut login_resp = Response::new(302).header("Location", "/account");
        if let Some(p) = post {
            login_resp = login_resp.set_cookie(&set(p));
        }
        let after = post.unwrap_or(pre);
        vec![
            Exchange::new(
                browser(Request::get(host, "/login")),
                ok_html("Sign in").set_cookie(&set(pre)),
            ),
            Exchange::new(
                browser(Request::post(host, "/login"))
                    .header("Cookie", &cookie("JSESSIONID", pre))
                    .form(&[("username", "alice"), ("password", pw)]),
                login_resp,
            ),
            Exchange::new(
                browser(Request::get(host, "/account"))
                    .header("Cookie", &cookie("JSESSIONID", after)),
                ok_html("Account"),
            ),
        ]
    };
    let legacy = "legacy.example.com";
    let rotating = "rotating.example.com";
    let bytes = eth(vec![
        conn(
            client(33, 51100),
            server(80),
            &flow(legacy, s::FIX_SESSION, None, s::FIX_PASSWORD),
        ),
        conn(
            client(33, 51101),
            server(81),
            &flow(
                rotating,
                s::ROTATE_SESSION_BEFORE,
                Some(s::ROTATE_SESSION_AFTER),
                s::ROTATE_PASSWORD,
            ),
        ),
    ])?;
    let r = "session-fixation";
    Ok(Sample {
        file: "rules-session-fixation.pcap",
        summary: "Two sites with the same login flow: legacy.example.com keeps the pre-login \
                  JSESSIONID after a successful POST /login (302 without Set-Cookie); \
                  rotating.example.com issues a new one at login."
            .into(),
        exchanges: 6,
        fires: vec![
            ex(
                r,
                legacy,
                "cookie",
                "JSESSIONID",
                "set before login, still sent after the 302",
            )
            .key("FIX_SESSION"),
            ex(
                "cleartext-credential",
                legacy,
                "body",
                "password",
                "login form in cleartext",
            ),
        ],
        silent: vec![
            ex(
                r,
                rotating,
                "cookie",
                "JSESSIONID",
                "control: the session is rotated at login",
            )
            .key("ROTATE_SESSION_BEFORE"),
            ex(
                "key-issued-unauthenticated",
                legacy,
                "",
                "",
                "a session cookie issued to an anonymous visitor is normal session bootstrap",
            ),
        ],
        notes: vec!["Exactly one session-fixation finding.".into()],
        bytes,
    })
}

fn rules_shared() -> Result<Sample, GenError> {
    let h = "app.example.com";
    let visit = |path: &str, sid: &str, ua: &str| {
        Exchange::new(
            Request::get(h, path)
                .header("User-Agent", ua)
                .header("Cookie", &cookie("sessionid", sid)),
            ok_html(path),
        )
    };
    let srv = server(90);
    let bytes = eth(vec![
        conn(
            client(34, 51200),
            srv,
            &[visit("/dashboard", s::SHARED_SESSION, FIREFOX_UA)],
        ),
        conn(
            v4(198, 51, 100, 77, 41234),
            srv,
            &[visit("/api/export", s::SHARED_SESSION, CURL_UA)],
        ),
        conn(
            client(35, 51201),
            srv,
            &[visit("/dashboard", s::ONE_CLIENT_SESSION, CHROME_UA)],
        ),
        conn(
            client(35, 51202),
            srv,
            &[visit("/inbox", s::ONE_CLIENT_SESSION, CHROME_UA)],
        ),
    ])?;
    let r = "session-shared-across-clients";
    Ok(Sample {
        file: "rules-session-shared-across-clients.pcap",
        summary: "One session cookie sent from 192.168.1.34 (Firefox) and from 198.51.100.77 \
                  (curl); another from one client on two connections."
            .into(),
        exchanges: 4,
        fires: vec![
            ex(
                r,
                h,
                "cookie",
                "sessionid",
                "detail: two addresses and two user agents",
            )
            .key("SHARED_SESSION"),
        ],
        silent: vec![
            ex(
                r,
                h,
                "cookie",
                "sessionid",
                "the second session: one address, one user agent, two source ports",
            )
            .key("ONE_CLIENT_SESSION"),
        ],
        notes: vec!["Exactly one session-shared-across-clients finding.".into()],
        bytes,
    })
}

fn cross_source() -> Result<(Sample, Sample), GenError> {
    let ex_pcap = Exchange::new(
        Request::get("api.example.com", "/v1/summary")
            .header("User-Agent", CURL_UA)
            .header("Authorization", &bearer(s::CROSS_SOURCE_TOKEN)),
        ok_json(json!({"ok": true})),
    );
    let pcap = eth(vec![conn(client(36, 51300), server(95), &[ex_pcap])])?;
    let ex_har = Exchange::new(
        Request::get("reports.example.org", "/v1/summary")
            .header("User-Agent", CHROME_UA)
            .header("Authorization", &bearer(s::CROSS_SOURCE_TOKEN)),
        ok_json(json!({"ok": true})),
    )
    .https();
    let har = har_bytes(
        &[HarEntry::new(ex_har, T0_MS + 60_000).server("198.51.100.95", "77")],
        Flavor::Chrome,
        "https://reports.example.org/",
    )?;
    let r = "key-used-across-services";
    let note = "One token: sent to api.example.com in the pcap and to reports.example.org in the \
                HAR. Sightings from all inputs of a run share one pool, so scanning the whole \
                directory (or both files together) gives one key-used-across-services finding; \
                either file alone gives none.";
    Ok((
        Sample {
            file: "cross-source-services.pcap",
            summary: "Half of a cross-file correlation (see cross-source-services.har).".into(),
            exchanges: 1,
            fires: vec![
                ex(
                    "cleartext-credential",
                    "api.example.com",
                    "header",
                    "authorization",
                    "bearer token in cleartext",
                ),
                ex(
                    r,
                    "api.example.com",
                    "header",
                    "authorization",
                    "only when scanned together with the HAR; host may be either",
                )
                .key("CROSS_SOURCE_TOKEN"),
            ],
            silent: vec![],
            notes: vec![note.into()],
            bytes: pcap,
        },
        Sample {
            file: "cross-source-services.har",
            summary: "The other half: the same token over HTTPS to another host.".into(),
            exchanges: 1,
            fires: vec![],
            silent: vec![ex(
                "cleartext-credential",
                "reports.example.org",
                "header",
                "authorization",
                "TLS",
            )],
            notes: vec![note.into()],
            bytes: har,
        },
    ))
}

fn har_chrome() -> Result<Sample, GenError> {
    let app = "app.example.org";
    let api = "api.example.org";
    let chrome = |r: Request| {
        r.header("User-Agent", CHROME_UA)
            .header("Accept", "*/*")
            .header("sec-ch-ua-platform", "\"Windows\"")
    };
    let entries = vec![
        HarEntry::new(
            Exchange::new(
                chrome(Request::get(app, "/")).header("Cookie", &cookie("_ga", s::GA_COOKIE)),
                ok_html("App").set_cookie(&format!(
                    "session={}; Path=/; Secure; HttpOnly; SameSite=Lax",
                    s::HAR_SESSION
                )),
            )
            .https(),
            T0_MS,
        )
        .server("198.51.100.10", "1201"),
        HarEntry::new(
            Exchange::new(
                chrome(Request::get(api, &format!("/v2/search?q=shoes&api_key={}", s::HAR_URL_API_KEY))),
                ok_json(json!({"results": [{"sku": "S-1"}]})),
            )
            .https(),
            T0_MS + 350,
        )
        .server("198.51.100.11", "1207"),
        HarEntry::new(
            Exchange::new(
                chrome(Request::get(api, "/v2/profile")).header("Authorization", &bearer(s::JWT_HAR)),
                ok_json(json!({"name": "Frank"})).gzip(),
            )
            .https(),
            T0_MS + 420,
        )
        .server("198.51.100.11", "1207")
        .h2(),
        HarEntry::new(
            Exchange::new(
                chrome(Request::post("auth.example.org", "/oauth/token")).form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", "web"),
                    ("client_secret", s::HAR_CLIENT_SECRET),
                ]),
                ok_json(json!({"access_token": s::HAR_ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600})),
            )
            .https(),
            T0_MS + 610,
        )
        .server("198.51.100.12", "1213"),
        HarEntry::new(
            Exchange::new(
                chrome(Request::get(app, "/account")).header(
                    "Cookie",
                    &format!("session={}; _ga={}", s::HAR_SESSION, s::GA_COOKIE),
                ),
                ok_html("Account"),
            )
            .https(),
            T0_MS + 900,
        )
        .server("198.51.100.10", "1201")
        .h2(),
        HarEntry::new(
            Exchange::new(
                chrome(Request::get("legacy.example.org", "/api/ping"))
                    .header("X-API-Key", s::HAR_CLEARTEXT_API_KEY),
                ok_json(json!({"pong": true})),
            ),
            T0_MS + 1200,
        )
        .server("198.51.100.13", "1220"),
        HarEntry::new(
            Exchange::new(
                chrome(Request::get("cdn.example.net", &format!("/app.js?v={}", s::ASSET_HASH))),
                Response::new(200).body(
                    "application/javascript",
                    format!("Stripe(\"{}\");", s::STRIPE_PUBLISHABLE_KEY),
                ),
            )
            .https(),
            T0_MS + 1300,
        )
        .server("198.51.100.14", "1225"),
    ];
    let bytes = har_bytes(&entries, Flavor::Chrome, "https://app.example.org/")?;
    Ok(Sample {
        file: "har-chrome-credentials.har",
        summary: "Chrome devtools export (WebInspector creator, HTTP/1.1 and h2 entries) of an \
                  HTTPS app: a session cookie, a key in a query string, a bearer JWT, an OAuth \
                  client-credentials call, one plain-HTTP call with an API key."
            .into(),
        exchanges: 7,
        fires: vec![
            ex(
                "credential-in-url",
                api,
                "query",
                "api_key",
                "medium: the transport is TLS",
            ),
            ex(
                "cleartext-credential",
                "legacy.example.org",
                "header",
                "x-api-key",
                "the one http:// entry",
            ),
        ],
        silent: vec![
            ex(
                "cleartext-credential",
                api,
                "header",
                "authorization",
                "bearer JWT over TLS",
            ),
            ex(
                "cleartext-credential",
                app,
                "cookie",
                "session",
                "session cookie over TLS",
            ),
            ex(
                "credential-in-response",
                "auth.example.org",
                "response-body",
                "access_token",
                "OAuth token endpoint over TLS is expected",
            ),
            ex(
                "jwt-expired-accepted",
                api,
                "header",
                "authorization",
                "valid JWT (exp 2030)",
            ),
            ex(
                "credential-in-response",
                "cdn.example.net",
                "response-body",
                "",
                "pk_live_ publishable key",
            )
            .key("STRIPE_PUBLISHABLE_KEY"),
            ex(
                "cookie-missing-secure",
                app,
                "set-cookie",
                "session",
                "flags are all set",
            ),
        ],
        notes: vec!["Entries are `entry 0` to `entry 6` in file order.".into()],
        bytes,
    })
}

fn har_firefox() -> Result<Sample, GenError> {
    let h = "www.example.org";
    let ff = |r: Request| r.header("User-Agent", FIREFOX_UA).header("Accept", "*/*");
    let entries = vec![
        HarEntry::new(
            Exchange::new(ff(Request::get(h, "/login")), ok_html("Sign in")),
            T0_MS,
        )
        .server("198.51.100.20", "80"),
        HarEntry::new(
            Exchange::new(
                ff(Request::post(h, "/session"))
                    .form(&[("username", "alice"), ("password", s::FIREFOX_PASSWORD)]),
                Response::new(302)
                    .header("Location", "https://www.example.org/home")
                    .set_cookie(&format!(
                        "sessionid={}; Path=/; Secure; HttpOnly; SameSite=Lax",
                        s::FIREFOX_SESSION
                    )),
            ),
            T0_MS + 2_000,
        )
        .server("198.51.100.20", "80"),
        HarEntry::new(
            Exchange::new(
                ff(Request::get(h, "/home"))
                    .header("Cookie", &cookie("sessionid", s::FIREFOX_SESSION)),
                ok_html("Home"),
            )
            .https(),
            T0_MS + 2_300,
        )
        .server("198.51.100.20", "443"),
        HarEntry::new(
            Exchange::new(
                ff(Request::get(h, "/api/settings"))
                    .header("Cookie", &cookie("sessionid", s::FIREFOX_SESSION)),
                ok_json(json!({"theme": "dark", "api_key": s::FIREFOX_API_KEY})),
            )
            .https(),
            T0_MS + 2_500,
        )
        .server("198.51.100.20", "443")
        .base64(),
    ];
    let bytes = har_bytes(&entries, Flavor::Firefox, "Example")?;
    Ok(Sample {
        file: "har-firefox.har",
        summary: "Firefox export (browser object, +02:00 timestamps, a base64 response body): a \
                  login over plain HTTP, then HTTPS pages with the session."
            .into(),
        exchanges: 4,
        fires: vec![
            ex(
                "cleartext-credential",
                h,
                "body",
                "password",
                "login form posted over http://",
            ),
            ex(
                "cleartext-credential",
                h,
                "set-cookie",
                "sessionid",
                "session set by an http:// response",
            ),
            ex(
                "credential-in-response",
                h,
                "response-body",
                "api_key",
                "inside a base64-encoded content.text",
            ),
        ],
        silent: vec![ex(
            "cleartext-credential",
            h,
            "cookie",
            "sessionid",
            "sent only over https://",
        )],
        notes: vec![],
        bytes,
    })
}

fn har_sanitized() -> Result<Sample, GenError> {
    let h = "app.example.com";
    let chrome = |r: Request| r.header("User-Agent", CHROME_UA).header("Accept", "*/*");
    let session = cookie("session", s::SANITIZED_SESSION);
    let entries = vec![
        HarEntry::new(
            Exchange::new(
                chrome(Request::get(h, "/")),
                ok_html("App").set_cookie(&format!(
                    "session={}; Path=/; Secure; HttpOnly; SameSite=Lax",
                    s::SANITIZED_SESSION
                )),
            )
            .https(),
            T0_MS,
        )
        .server("198.51.100.30", "3001"),
        HarEntry::new(
            Exchange::new(
                chrome(Request::get(h, "/api/items"))
                    .header("Cookie", &session)
                    .header("Authorization", &bearer(s::SANITIZED_SESSION)),
                ok_json(json!({"items": [1, 2, 3]})),
            )
            .https(),
            T0_MS + 500,
        )
        .server("198.51.100.30", "3001"),
        HarEntry::new(
            Exchange::new(
                chrome(Request::post(h, "/api/items"))
                    .header("Cookie", &session)
                    .json(&json!({"name": "four"})),
                Response::new(201).json(&json!({"id": 4})),
            )
            .https(),
            T0_MS + 900,
        )
        .server("198.51.100.30", "3001"),
    ];
    let bytes = har_bytes(
        &entries,
        Flavor::ChromeSanitized,
        "https://app.example.com/",
    )?;
    Ok(Sample {
        file: "har-chrome-sanitized.har",
        summary: "Chrome 130+ sanitized export: Cookie, Set-Cookie and Authorization headers \
                  removed, the cookies arrays kept."
            .into(),
        exchanges: 3,
        fires: vec![],
        silent: vec![
            ex("cookie-missing-secure", h, "set-cookie", "session", "the header is gone; the cookie object has its flags"),
            ex("cookie-missing-httponly", h, "set-cookie", "session", "same"),
            ex("cookie-missing-samesite", h, "set-cookie", "session", "same"),
            ex("cleartext-credential", h, "", "", "everything is HTTPS; a missing header is not a finding"),
        ],
        notes: vec![
            "No findings. Its 3 entries are too few for the sanitized-export warning, which needs 8 \
             network entries: what keeps the rules silent is that every exchange is HTTPS and \
             the cookie objects carry the flags."
                .into(),
        ],
        bytes,
    })
}

fn malformed_har() -> Result<Sample, GenError> {
    let e = HarEntry::new(
        Exchange::new(
            Request::get("broken.example.com", "/").header("User-Agent", CHROME_UA),
            ok_html("Broken"),
        )
        .https(),
        T0_MS,
    );
    let full = har_bytes(&[e.clone(), e], Flavor::Chrome, "broken")?;
    let cut = full.len() * 2 / 3;
    let bytes = full.get(..cut).unwrap_or(&full).to_vec();
    let err = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Err(e) => format!("line {}, column {}", e.line(), e.column()),
        Ok(_) => return Err(GenError::Build("cut HAR still parses".into())),
    };
    Ok(Sample {
        file: "malformed-truncated-json.har",
        summary: "A Chrome HAR cut off two thirds of the way through: not valid JSON.".into(),
        // The first entry is complete before the cut: nothing readable is lost.
        exchanges: 1,
        fires: vec![],
        silent: vec![],
        notes: vec![format!(
            "The file fails with a JSON error at {err} (end of input) after its first, complete entry is read; the other files of the run are still scanned."
        )],
        bytes,
    })
}

/// Byte offset of each pcap record and whether its segment carries data.
type RecordStarts = Vec<(usize, bool)>;

/// Writes packets one by one, remembering where each record starts, for files that are then
/// cut or corrupted at a chosen record.
fn pcap_with_offsets(scn: &Scenario, link: Link) -> Result<(Vec<u8>, RecordStarts), GenError> {
    let mut w = PcapWriter::new(Vec::new(), link.linktype(), false, false)?;
    let mut framer = Framer::new(link);
    let mut frame = Vec::new();
    let mut offsets = Vec::new();
    for p in scn.packets().map_err(GenError::Build)? {
        frame.clear();
        framer.encode(
            p.src,
            p.dst,
            &p.segment,
            p.segment.dir == Dir::ToServer,
            &mut frame,
        )?;
        offsets.push((w.written() as usize, !p.segment.payload.is_empty()));
        w.packet(0, p.ts_ns, &frame)?;
    }
    Ok((w.into_inner(), offsets))
}

fn malformed_pcap() -> Result<Sample, GenError> {
    let h = "ingest.example.com";
    let exs = [
        Exchange::new(
            Request::get(h, "/v1/a")
                .header("User-Agent", CURL_UA)
                .header("X-API-Key", s::INGEST_CORRUPT),
            ok_json(json!({"a": 1})),
        ),
        Exchange::new(
            Request::get(h, "/v1/b").header("User-Agent", CURL_UA),
            ok_json(json!({"b": 2})),
        ),
    ];
    let scn = scenario(vec![conn(client(60, 52000), server(120), &exs)]);
    let (mut bytes, offsets) = pcap_with_offsets(&scn, Link::Ethernet)?;
    // The whole connection, FIN included, then a record header claiming a 2 GiB frame.
    let good_frames = offsets.len();
    let bad_offset = bytes.len();
    let mut rec = Vec::new();
    rec.extend_from_slice(&(1_714_564_801u32).to_le_bytes());
    rec.extend_from_slice(&0u32.to_le_bytes());
    rec.extend_from_slice(&0x7fff_fff0u32.to_le_bytes());
    rec.extend_from_slice(&0x7fff_fff0u32.to_le_bytes());
    rec.extend_from_slice(b"\xde\xad\xbe\xef not a frame, and far shorter than claimed");
    bytes.extend_from_slice(&rec);
    Ok(Sample {
        file: "malformed-corrupt-record.pcap",
        summary: "A good connection with two exchanges, then a record header claiming a 2 GiB \
                  frame followed by junk."
            .into(),
        exchanges: 2,
        fires: vec![ex(
            "cleartext-credential",
            h,
            "header",
            "x-api-key",
            "from the good part",
        )],
        silent: vec![],
        notes: vec![format!(
            "A warning names byte offset {bad_offset} (the corrupt record) and frame {good_frames} \
             as the last good frame; the absurd length is not allocated; both exchanges are kept."
        )],
        bytes,
    })
}

/// An exchange carrying the ingest sample's own API key.
fn keyed(host: &str, path: &str, key: &str) -> Exchange {
    Exchange::new(
        Request::get(host, path)
            .header("User-Agent", CURL_UA)
            .header("X-API-Key", key),
        ok_json(json!({"ok": true, "path": path})),
    )
}

/// Filler text for bodies: readable, compressible, deterministic.
fn filler(n: usize) -> String {
    let words = [
        "lorem",
        "ipsum",
        "dolor",
        "sit",
        "amet",
        "consectetur",
        "adipiscing",
        "elit",
        "sed",
        "do",
        "eiusmod",
        "tempor",
    ];
    let mut s = String::with_capacity(n + 16);
    let mut i = 0usize;
    while s.len() < n {
        s.push_str(words[i % words.len()]);
        s.push(' ');
        i = i.wrapping_mul(7).wrapping_add(3);
    }
    s.truncate(n);
    s
}

fn ingest_sample(
    file: &'static str,
    summary: &str,
    exchanges: usize,
    host: &'static str,
    notes: Vec<String>,
    bytes: Vec<u8>,
) -> Sample {
    Sample {
        file,
        summary: summary.into(),
        exchanges,
        fires: vec![ex(
            "cleartext-credential",
            host,
            "header",
            "x-api-key",
            "this sample's own key: found only if the exchange survives ingest",
        )],
        silent: vec![],
        notes,
        bytes,
    }
}

const IH: &str = "ingest.example.com";

fn ingest_out_of_order() -> Result<Sample, GenError> {
    let up = Exchange::new(
        Request::post(IH, "/upload")
            .header("User-Agent", CURL_UA)
            .header("X-API-Key", s::INGEST_OUT_OF_ORDER)
            .json(&json!({"note": filler(3000)})),
        ok_json(json!({"stored": true})),
    );
    let c = conn(client(40, 51400), server(100), &[up])
        .mss(536)
        .impair(Impairment::Reorder {
            segment: 0,
            after: 2,
        })
        .impair(Impairment::Reorder {
            segment: 3,
            after: 5,
        });
    let bytes = eth(vec![c])?;
    Ok(ingest_sample(
        "ingest-out-of-order.pcap",
        "A 3 KB POST split at MSS 536; its first segment (request line and key) arrives after \
         the third, and the fourth after the sixth.",
        1,
        IH,
        vec!["One exchange; the reassembled request body is the 3000-character JSON note.".into()],
        bytes,
    ))
}

fn ingest_retransmission() -> Result<Sample, GenError> {
    let big = Exchange::new(
        Request::get(IH, "/report")
            .header("User-Agent", CURL_UA)
            .header("X-API-Key", s::INGEST_RETRANSMISSION),
        Response::new(200).body("text/plain", filler(2000)),
    );
    let second = Exchange::new(
        Request::get(IH, "/done").header("User-Agent", CURL_UA),
        ok_json(json!({"ok": true})),
    );
    let c = conn(client(41, 51500), server(101), &[big, second])
        .mss(600)
        .impair(Impairment::Retransmit {
            segment: 0,
            after: 0,
        })
        .impair(Impairment::Retransmit {
            segment: 2,
            after: 4,
        });
    let bytes = eth(vec![c])?;
    Ok(ingest_sample(
        "ingest-retransmission.pcap",
        "Two exchanges on one connection; the first request and a segment of the first \
         response are each sent twice (exact retransmissions).",
        2,
        IH,
        vec!["Two exchanges, not three: retransmitted bytes are dropped.".into()],
        bytes,
    ))
}

fn ingest_overlap() -> Result<Sample, GenError> {
    let up = Exchange::new(
        Request::post(IH, "/notes")
            .header("User-Agent", CURL_UA)
            .header("X-API-Key", s::INGEST_OVERLAP)
            .body("text/plain", filler(1500)),
        ok_json(json!({"stored": true})),
    );
    let c = conn(client(42, 51600), server(102), &[up])
        .mss(500)
        .impair(Impairment::Overlap {
            segment: 1,
            back: 100,
            conflicting: false,
        })
        .impair(Impairment::Overlap {
            segment: 3,
            back: 60,
            conflicting: true,
        });
    let bytes = eth(vec![c])?;
    Ok(ingest_sample(
        "ingest-overlap.pcap",
        "A POST whose second segment re-sends the last 100 bytes of the first (same bytes) and \
         whose fourth re-sends the last 60 bytes of the third as `X`s (conflicting data).",
        1,
        IH,
        vec![
            "One exchange with the original body (first data wins: no `X` in it), and one \
             overlap anomaly for the conflicting bytes."
                .into(),
        ],
        bytes,
    ))
}

fn ingest_gap() -> Result<Sample, GenError> {
    let first = Exchange::new(
        Request::get(IH, "/a").header("User-Agent", CURL_UA),
        ok_json(json!({"a": 1})),
    );
    let upload = Exchange::new(
        Request::post(IH, "/upload")
            .header("User-Agent", CURL_UA)
            .body("text/plain", filler(2000)),
        ok_json(json!({"stored": true})),
    );
    let third = keyed(IH, "/b", s::INGEST_GAP);
    // Data segments: 0 request 1, 1 response 1, 2-6 request 2 (MSS 500), 7 response 2,
    // 8 request 3, 9 response 3. Segment 4 (middle of the upload body) is never captured.
    let c = conn(client(43, 51700), server(103), &[first, upload, third])
        .mss(500)
        .impair(Impairment::Drop { segment: 4 });
    let bytes = eth(vec![c])?;
    Ok(ingest_sample(
        "ingest-gap.pcap",
        "Three exchanges on one connection; 500 bytes in the middle of the second request's \
         body were never captured.",
        3,
        IH,
        vec![
            "Exchange 1 complete; exchange 2 carries a gap anomaly; the parser resynchronises \
             and exchange 3 (with the key) is complete."
                .into(),
        ],
        bytes,
    ))
}

fn ingest_pipelining() -> Result<Sample, GenError> {
    let reqs = [
        Request::get(IH, "/p/1").header("User-Agent", CURL_UA),
        Request::get(IH, "/p/2")
            .header("User-Agent", CURL_UA)
            .header("X-API-Key", s::INGEST_PIPELINING),
        Request::get(IH, "/p/3").header("User-Agent", CURL_UA),
    ];
    let resps = [
        Response::new(200).body("text/plain", filler(400)),
        ok_json(json!({"second": true})),
        Response::new(200)
            .body("text/plain", filler(900))
            .chunked(256),
    ];
    let up: Vec<u8> = reqs.iter().flat_map(|r| r.to_wire()).collect();
    let down: Vec<u8> = resps.iter().flat_map(|r| r.to_wire()).collect();
    let c = Connection::new(client(44, 51800), server(104))
        .mss(700)
        .flight(Flight::to_server(up))
        .flight(Flight::to_client(down));
    let bytes = eth(vec![c])?;
    Ok(ingest_sample(
        "ingest-pipelining.pcap",
        "Three pipelined GETs in one segment, answered by three responses in one stream whose \
         segment boundaries fall inside messages (the third chunked).",
        3,
        IH,
        vec!["Three exchanges, paired in order (/p/1, /p/2 with the key, /p/3).".into()],
        bytes,
    ))
}

fn ingest_chunked_gzip() -> Result<Sample, GenError> {
    let boot = Exchange::new(
        Request::get(IH, "/api/v1/bootstrap").header("User-Agent", CURL_UA),
        Response::new(200)
            .json(&json!({"api_key": s::INGEST_CHUNKED_GZIP, "motd": filler(2500)}))
            .gzip()
            .framing(Framing::Chunked {
                chunk: 300,
                extensions: true,
                trailer: Some(("X-Checksum".into(), "sample".into())),
            }),
    );
    let feed = Exchange::new(
        Request::get(IH, "/api/v1/feed").header("User-Agent", CURL_UA),
        Response::new(200).body("text/plain", filler(20_000)).gzip(),
    );
    let bytes = eth(vec![conn(client(45, 51900), server(105), &[boot, feed])])?;
    Ok(Sample {
        file: "ingest-chunked-gzip.pcap",
        summary: "A chunked (with chunk extensions and a trailer) gzip JSON response that \
                  contains an API key, then a gzip response with Content-Length."
            .into(),
        exchanges: 2,
        fires: vec![ex(
            "credential-in-response",
            IH,
            "response-body",
            "api_key",
            "visible only after de-chunking and gunzipping",
        )],
        silent: vec![ex(
            "key-issued-unauthenticated",
            IH,
            "response-body",
            "api_key",
            "issued to an anonymous request but never presented",
        )],
        notes: vec!["The second body decodes to 20000 bytes of text.".into()],
        bytes,
    })
}

fn ingest_link(
    file: &'static str,
    summary: &str,
    link: Link,
    key: &str,
    c: SocketAddr,
    srv: SocketAddr,
) -> Result<Sample, GenError> {
    let scn = scenario(vec![conn(c, srv, &[keyed(IH, "/v1/link", key)])]);
    let bytes = pcap_bytes(&scn, link, false, false)?;
    Ok(ingest_sample(file, summary, 1, IH, vec![], bytes))
}

fn ingest_ipv6() -> Result<Sample, GenError> {
    let c = v6([0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x23], 52100);
    let srv = v6([0x2001, 0xdb8, 2, 0, 0, 0, 0, 0x80], 80);
    let scn = scenario(vec![conn(
        c,
        srv,
        &[keyed("ipv6.example.com", "/v1/six", s::INGEST_IPV6)],
    )]);
    let bytes = pcap_bytes(&scn, Link::Ethernet, false, false)?;
    Ok(ingest_sample(
        "ingest-ipv6.pcap",
        "HTTP over IPv6 on Ethernet (2001:db8:1::23 to 2001:db8:2::80).",
        1,
        "ipv6.example.com",
        vec![],
        bytes,
    ))
}

fn ingest_nanosecond_be() -> Result<Sample, GenError> {
    let scn = scenario(vec![conn(
        client(46, 52200),
        server(106),
        &[keyed(IH, "/v1/ns", s::INGEST_NANOSECOND_BE)],
    )]);
    let bytes = pcap_bytes(&scn, Link::Ethernet, true, true)?;
    Ok(ingest_sample(
        "ingest-nanosecond-be.pcap",
        "Classic pcap written big-endian with the nanosecond magic (a1 b2 3c 4d).",
        1,
        IH,
        vec!["Timestamps resolve to 2024-05-01T12:00:00.002Z and later, in ns.".into()],
        bytes,
    ))
}

fn ingest_multi_interface() -> Result<Sample, GenError> {
    let a = conn(
        client(47, 52300),
        server(107),
        &[keyed(IH, "/v1/eth", s::INGEST_MULTI_IF_ETH)],
    );
    let b = conn(
        v6([0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x47], 52301),
        v6([0x2001, 0xdb8, 2, 0, 0, 0, 0, 0x107], 80),
        &[keyed(IH, "/v1/sll", s::INGEST_MULTI_IF_SLL)],
    )
    .on_iface(1);
    let mut scn = scenario(vec![a, b]);
    scn.interleave = true;
    let ifaces = [
        Interface {
            link: Link::Ethernet,
            name: "eth0".into(),
            nanos: false,
        },
        Interface {
            link: Link::LinuxSll,
            name: "any".into(),
            nanos: true,
        },
    ];
    let bytes = pcapng_bytes(&scn, &ifaces)?;
    Ok(ingest_sample(
        "ingest-multi-interface.pcapng",
        "pcapng with two interfaces: eth0 (Ethernet, µs) and any (Linux cooked, if_tsresol=9 \
         ns); an IPv4 connection on the first and an IPv6 one on the second, packets \
         interleaved.",
        2,
        IH,
        vec!["Two exchanges, one per interface; frame numbers count across both.".into()],
        bytes,
    ))
}

fn ingest_truncated() -> Result<Sample, GenError> {
    let exs = [
        keyed(IH, "/t/1", s::INGEST_TRUNCATED),
        Exchange::new(
            Request::get(IH, "/t/2").header("User-Agent", CURL_UA),
            ok_json(json!({"n": 2})),
        ),
        Exchange::new(
            Request::get(IH, "/t/3").header("User-Agent", CURL_UA),
            Response::new(200).body("text/plain", filler(3000)),
        ),
    ];
    let scn = scenario(vec![conn(client(48, 52400), server(108), &exs).mss(1000)]);
    let (bytes, offsets) = pcap_with_offsets(&scn, Link::Ethernet)?;
    // Cut 30 bytes into the record of the last data segment (the end of response 3).
    let (idx, (last_data, _)) = offsets
        .iter()
        .enumerate()
        .rev()
        .find(|(_, (_, data))| *data)
        .ok_or_else(|| GenError::Build("no data segment".into()))?;
    let cut = last_data + 30;
    let bytes = bytes.get(..cut).unwrap_or(&bytes).to_vec();
    Ok(ingest_sample(
        "ingest-truncated.pcap",
        "Three exchanges on one connection; the file ends 30 bytes into the record of the last \
         segment of the third response.",
        3,
        IH,
        vec![format!(
            "Exchanges 1 and 2 complete; exchange 3 has its request and a partial response \
             (anomaly). A warning names byte offset {last_data} and frame {idx} as the last good \
             frame."
        )],
        bytes,
    ))
}

fn ingest_tls() -> Result<Sample, GenError> {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(0x7115);
    let mut tls_conn = |c: SocketAddr, srv: SocketAddr, sni: &str| {
        let mut client_fin = vec![0x14, 0x03, 0x03, 0x00, 0x01, 0x01];
        client_fin.extend_from_slice(&tls::application_data(&mut rng, 53));
        client_fin.extend_from_slice(&tls::application_data(&mut rng, 480));
        Connection::new(c, srv)
            .flight(Flight::to_server(tls::client_hello(&mut rng, sni)))
            .flight(Flight::to_client(tls::server_hello_flight(&mut rng)))
            .flight(Flight::to_server(client_fin))
            .flight(Flight::to_client(tls::application_data(&mut rng, 3000)))
    };
    let a = tls_conn(
        client(49, 52500),
        v4(203, 0, 113, 110, 443),
        "secure.example.com",
    );
    let b = tls_conn(
        client(49, 52501),
        v4(203, 0, 113, 111, 80),
        "tls-on-port-80.example.com",
    );
    let c = conn(
        client(49, 52502),
        v4(203, 0, 113, 112, 8080),
        &[keyed(
            "alt-port.example.com",
            "/v1/alt",
            s::INGEST_TLS_PORT_8080,
        )],
    );
    let bytes = eth(vec![a, b, c])?;
    Ok(ingest_sample(
        "ingest-tls-and-ports.pcap",
        "A TLS connection on 443 (SNI secure.example.com), a TLS connection on port 80 (SNI \
         tls-on-port-80.example.com) and plain HTTP on port 8080.",
        1,
        "alt-port.example.com",
        vec![
            "Two TLS connections counted with their SNI, none parsed as HTTP (port 80 does not \
             make TLS into HTTP); the HTTP on port 8080 is recognised by content: one exchange."
                .into(),
        ],
        bytes,
    ))
}

/// Every sample, in the order of the README.
pub fn all() -> Result<Vec<Sample>, GenError> {
    let (cross_pcap, cross_har) = cross_source()?;
    Ok(vec![
        rules_cleartext()?,
        rules_url()?,
        rules_referer()?,
        rules_response()?,
        rules_cookies()?,
        rules_jwt()?,
        rules_subjects()?,
        rules_roles()?,
        rules_services()?,
        rules_issued()?,
        rules_fixation()?,
        rules_shared()?,
        cross_pcap,
        cross_har,
        har_chrome()?,
        har_firefox()?,
        har_sanitized()?,
        ingest_out_of_order()?,
        ingest_retransmission()?,
        ingest_overlap()?,
        ingest_gap()?,
        ingest_pipelining()?,
        ingest_chunked_gzip()?,
        ingest_link(
            "ingest-linux-sll.pcap",
            "Linux cooked capture (SLL, link type 113), as `tcpdump -i any` writes.",
            Link::LinuxSll,
            s::INGEST_LINUX_SLL,
            client(50, 52600),
            server(113),
        )?,
        ingest_link(
            "ingest-raw-ip.pcap",
            "Raw IP link type (101): no link header.",
            Link::RawIp,
            s::INGEST_RAW_IP,
            client(51, 52700),
            server(114),
        )?,
        ingest_link(
            "ingest-vlan.pcap",
            "Ethernet with an 802.1Q VLAN tag (VLAN 100).",
            Link::Vlan(100),
            s::INGEST_VLAN,
            client(52, 52800),
            server(115),
        )?,
        ingest_link(
            "ingest-qinq.pcap",
            "Ethernet with two VLAN tags (QinQ: outer 200, inner 300).",
            Link::QinQ(200, 300),
            s::INGEST_QINQ,
            client(53, 52900),
            server(116),
        )?,
        ingest_ipv6()?,
        ingest_nanosecond_be()?,
        ingest_multi_interface()?,
        ingest_truncated()?,
        ingest_tls()?,
        malformed_pcap()?,
        malformed_har()?,
    ])
}

fn render_expect(e: &Expect) -> String {
    let mut s = format!("`{}` on `{}`", e.rule, e.host);
    match (e.location.is_empty(), e.name.is_empty()) {
        (false, false) => s.push_str(&format!(", {} `{}`", e.location, e.name)),
        (false, true) => s.push_str(&format!(", {}", e.location)),
        _ => {}
    }
    if !e.secret.is_empty() {
        s.push_str(&format!(" (`secrets::{}`)", e.secret));
    }
    s.push_str(": ");
    s.push_str(e.why);
    s
}

/// `samples/README.md`: how the files were made and what each should yield.
pub fn readme(samples: &[Sample]) -> String {
    let mut r = String::new();
    r.push_str("# samples/\n\n");
    r.push_str(
        "Small captures and HAR files that credsift's own generator writes (`src/gen/`, binary \
         `credsift-gen`). Regenerate them with\n\n    cargo run --bin credsift-gen -- samples --out samples\n\n\
         Do not edit them by hand: the output is deterministic and a unit test \
         (`gen::samples::tests::committed_samples_are_current`) fails when these files differ \
         from what the generator writes. All traffic is dated 2024-05-01T12:00:00Z; every host \
         is under `example.com`, `example.net` or `example.org`, every address in the \
         documentation ranges. Every secret is fake and listed in `src/gen/secrets.rs` (`ALL`), \
         so that tests can check that none of them ever appears in credsift's output without \
         `--reveal`.\n\n",
    );
    r.push_str(
        "\"Fires\" lists findings that must be reported (at least these; a credential in \
         cleartext also fires `cleartext-credential` wherever it crosses). \"Must not fire\" \
         lists look-alikes: no finding of that rule may point at them. Locations and names \
         are the contract's `location` and `name` fields; an empty name means any.\n\n",
    );
    r.push_str("## Rule coverage\n\n| rule | fires in | look-alike in |\n|---|---|---|\n");
    for rule in crate::analyze::catalog::CATALOG.iter().map(|m| m.id) {
        let list = |pick: &dyn Fn(&Sample) -> &Vec<Expect>| -> String {
            let files: Vec<String> = samples
                .iter()
                .filter(|s| pick(s).iter().any(|e| e.rule == rule))
                .map(|s| format!("`{}`", s.file))
                .collect();
            if files.is_empty() {
                "none".to_string()
            } else {
                files.join(", ")
            }
        };
        r.push_str(&format!(
            "| `{rule}` | {} | {} |\n",
            list(&|s| &s.fires),
            list(&|s| &s.silent)
        ));
    }
    r.push_str("\n## Files\n");
    for s in samples {
        r.push_str(&format!("\n### `{}`\n\n{}\n\n", s.file, s.summary));
        r.push_str(&format!("- Exchanges: {}\n", s.exchanges));
        if !s.fires.is_empty() {
            r.push_str("- Fires:\n");
            for e in &s.fires {
                r.push_str(&format!("  - {}\n", render_expect(e)));
            }
        }
        if !s.silent.is_empty() {
            r.push_str("- Must not fire:\n");
            for e in &s.silent {
                r.push_str(&format!("  - {}\n", render_expect(e)));
            }
        }
        for n in &s.notes {
            r.push_str(&format!("- {n}\n"));
        }
    }
    r
}

/// Writes every sample and `README.md` into `dir` (created if needed); returns the paths.
pub fn write_samples(dir: &Path) -> Result<Vec<PathBuf>, GenError> {
    std::fs::create_dir_all(dir)?;
    let samples = all()?;
    let mut paths = Vec::new();
    for s in &samples {
        let p = dir.join(s.file);
        std::fs::write(&p, &s.bytes)?;
        paths.push(p);
    }
    let p = dir.join("README.md");
    std::fs::write(&p, readme(&samples))?;
    paths.push(p);
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::r#gen::capture::readback::{read, streams};

    fn samples() -> Vec<Sample> {
        all().unwrap()
    }

    #[test]
    fn generation_is_deterministic() {
        let a = samples();
        let b = samples();
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.file, y.file);
            assert!(x.bytes == y.bytes, "{} differs between runs", x.file);
        }
        assert_eq!(readme(&a), readme(&b));
    }

    #[test]
    fn file_names_are_unique_and_total_size_is_small() {
        let all = samples();
        let mut names = std::collections::HashSet::new();
        for s in &all {
            assert!(names.insert(s.file), "{} twice", s.file);
        }
        let total: usize = all.iter().map(|s| s.bytes.len()).sum();
        assert!(total < 512 * 1024, "samples total {total} bytes");
    }

    #[test]
    fn every_rule_fires_somewhere_and_has_a_lookalike() {
        let all = samples();
        for meta in crate::analyze::catalog::CATALOG {
            assert!(
                all.iter()
                    .any(|s| s.fires.iter().any(|e| e.rule == meta.id)),
                "{} fires nowhere",
                meta.id
            );
            assert!(
                all.iter()
                    .any(|s| s.silent.iter().any(|e| e.rule == meta.id)),
                "{} has no look-alike",
                meta.id
            );
        }
        // Every expectation names a rule of the catalog and, if any, a known secret.
        for s in &all {
            for e in s.fires.iter().chain(&s.silent) {
                assert!(
                    e.secret.is_empty() || s::value_of(e.secret).is_some(),
                    "{}: unknown secret {}",
                    s.file,
                    e.secret
                );
                assert!(
                    crate::analyze::catalog::CATALOG
                        .iter()
                        .any(|m| m.id == e.rule),
                    "{}: unknown rule {}",
                    s.file,
                    e.rule
                );
            }
        }
    }

    /// What a sample says in clear: reassembled TCP streams for captures, the text for HARs.
    fn plain_text(s: &Sample) -> Vec<u8> {
        if s.file.ends_with(".har") {
            return s.bytes.clone();
        }
        let (frames, _) = read(&s.bytes);
        let mut out = Vec::new();
        for (up, down) in streams(&frames).values() {
            out.extend_from_slice(up);
            out.extend_from_slice(down);
        }
        out
    }

    #[test]
    fn every_secret_appears_in_some_sample() {
        let texts: Vec<Vec<u8>> = samples().iter().map(plain_text).collect();
        // Only ever seen encoded: inside a gzip body, a base64 HAR body, a Basic header.
        let encoded = ["INGEST_CHUNKED_GZIP", "FIREFOX_API_KEY", "BASIC_PASSWORD"];
        for (name, value) in s::ALL {
            if encoded.contains(name) {
                continue;
            }
            let found = texts
                .iter()
                .any(|t| t.windows(value.len()).any(|w| w == value.as_bytes()));
            assert!(found, "secret {name} is in no sample");
        }
    }

    #[test]
    fn captures_read_back_and_hars_have_their_entries() {
        for s in samples() {
            if s.file.ends_with(".har") {
                let parsed = serde_json::from_slice::<serde_json::Value>(&s.bytes);
                if s.file.starts_with("malformed") {
                    assert!(parsed.is_err(), "{} should be broken", s.file);
                } else {
                    let v = parsed.unwrap();
                    let n = v["log"]["entries"].as_array().unwrap().len();
                    assert_eq!(n, s.exchanges, "{}", s.file);
                    // The `har` crate credsift uses reads them as they are.
                    assert!(har::from_slice(&s.bytes).is_ok(), "{}", s.file);
                }
                continue;
            }
            if s.file == "malformed-corrupt-record.pcap" {
                continue;
            }
            let (frames, truncated) = read(&s.bytes);
            assert_eq!(truncated, s.file == "ingest-truncated.pcap", "{}", s.file);
            assert!(!frames.is_empty(), "{}", s.file);
            // Every exchange of a clean capture starts with an HTTP request line.
            let requests: usize = streams(&frames)
                .values()
                .map(|(up, _)| {
                    ["GET ", "POST ", "DELETE "]
                        .iter()
                        .map(|m| up.windows(m.len()).filter(|w| *w == m.as_bytes()).count())
                        .sum::<usize>()
                })
                .sum();
            assert_eq!(requests, s.exchanges, "{}: request lines", s.file);
        }
    }

    #[test]
    fn impaired_samples_are_impaired_and_still_reassemble() {
        let all = samples();
        let get = |f: &str| all.iter().find(|s| s.file == f).unwrap();
        // Out of order: the first data segment of the client is not its lowest sequence.
        let (frames, _) = read(&get("ingest-out-of-order.pcap").bytes);
        let up: Vec<_> = frames
            .iter()
            .filter(|f| !f.payload.is_empty() && f.dst.port() == 80)
            .collect();
        assert!(!up[0].payload.starts_with(b"POST "));
        let s = streams(&frames);
        let (req, _) = s.values().next().unwrap();
        assert!(req.starts_with(b"POST /upload HTTP/1.1\r\n"));
        assert!(!req.contains(&b'?'));
        // Retransmission: some payload occurs twice.
        let (frames, _) = read(&get("ingest-retransmission.pcap").bytes);
        let data: Vec<_> = frames.iter().filter(|f| !f.payload.is_empty()).collect();
        let dups = data
            .iter()
            .enumerate()
            .filter(|(i, f)| {
                data[..*i]
                    .iter()
                    .any(|g| g.seq == f.seq && g.payload == f.payload)
            })
            .count();
        assert_eq!(dups, 2);
        // Overlap: first data wins gives the clean body.
        let (frames, _) = read(&get("ingest-overlap.pcap").bytes);
        assert!(frames.iter().any(|f| f.payload.starts_with(b"XXXX")));
        let s = streams(&frames);
        let (req, _) = s.values().next().unwrap();
        assert!(!req.windows(4).any(|w| w == b"XXXX"));
        // Gap: a hole of exactly one MSS.
        let (frames, _) = read(&get("ingest-gap.pcap").bytes);
        let s = streams(&frames);
        let (req, _) = s.values().next().unwrap();
        assert_eq!(req.iter().filter(|b| **b == b'?').count(), 500);
    }

    #[test]
    fn readme_lists_every_file() {
        let all = samples();
        let text = readme(&all);
        for s in &all {
            assert!(text.contains(&format!("### `{}`", s.file)));
        }
        assert!(text.contains("cargo run --bin credsift-gen -- samples --out samples"));
        assert!(
            !text.contains("| none |"),
            "a rule without coverage:\n{text}"
        );
    }

    fn samples_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
    }

    /// The committed `samples/` must be exactly what the generator writes.
    #[test]
    fn committed_samples_are_current() {
        let dir = samples_dir();
        let all = samples();
        for s in &all {
            let on_disk = std::fs::read(dir.join(s.file))
                .unwrap_or_else(|e| panic!("samples/{}: {e}; regenerate samples/", s.file));
            assert!(
                on_disk == s.bytes,
                "samples/{} is stale; regenerate samples/",
                s.file
            );
        }
        let readme_on_disk = std::fs::read_to_string(dir.join("README.md")).unwrap();
        assert_eq!(readme_on_disk, readme(&all), "samples/README.md is stale");
    }

    /// Writes `samples/` from a test build (same library code as the `credsift-gen` binary):
    /// `cargo test --lib gen::samples::tests::regenerate -- --ignored`.
    #[test]
    #[ignore]
    fn regenerate() {
        let paths = write_samples(&samples_dir()).unwrap();
        assert!(paths.len() > 30);
    }
}
