//! Every secret value that the generated samples carry, in one place. The samples in
//! `samples/` are built from these constants (`samples`), and tests use `ALL` to check that no
//! secret reaches credsift's output unless `--reveal` is given. All values are fake: AWS's own
//! documentation examples, tokens that say `Sample`/`demo`, JWTs signed with a published key.
//! `LOOKALIKES` are values that look like credentials but are not (they must not be reported).

/// Basic authentication (`rules-cleartext-credentials.pcap`).
pub const BASIC_USER: &str = "alice";
pub const BASIC_PASSWORD: &str = "S4mple-Basic-Passw0rd";
/// `base64("alice:S4mple-Basic-Passw0rd")`, the header value after `Basic `.
pub const BASIC_AUTH: &str = "YWxpY2U6UzRtcGxlLUJhc2ljLVBhc3N3MHJk";
pub const CLEARTEXT_API_KEY: &str = "demo_cleartext_d93beca6efd0421b314c0810";
pub const FORM_PASSWORD: &str = "S4mple-Form-Passw0rd";
pub const CLEARTEXT_SESSION: &str = "3b8b91c75627bee566dcb88f4805901b";
/// A fake access key id of the real shape. (AWS's documentation example `AKIA…EXAMPLE` is a
/// known placeholder that credsift deliberately ignores, as gitleaks does.)
pub const AWS_ACCESS_KEY_ID: &str = "AKIAQ3EGRKT7CREDSFT4";
pub const AWS_SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// `ghp_` + 30 characters + a valid base62 CRC32 checksum, as GitHub issues them.
pub const GITHUB_TOKEN: &str = "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";
pub const STRIPE_SECRET_KEY: &str = "sk_live_credsiftSAMPLEnotREAL001";

/// Credentials in URLs (`rules-credential-in-url.pcap`).
pub const URL_API_KEY: &str = "demo_query_4fcb2860c68abee0058af6c3";
pub const URL_ACCESS_TOKEN: &str = "demo_at_6d45573b512994ea253cafe8ec6a9d0f";
pub const URL_JSESSIONID: &str = "82827CEB0DA2A35A64964DE78C03F7D6";
pub const URL_PATH_STRIPE_KEY: &str = "sk_live_credsiftSAMPLEnotREAL002";
pub const USERINFO_PASSWORD: &str = "S4mple-Userinfo-Passw0rd";

/// `rules-credential-in-referer.pcap`.
pub const REFERER_ACCESS_TOKEN: &str = "demo_rt_9950cec246ece55e46c9929ef30136e2";

/// `rules-credential-in-response.pcap`: the second AWS documentation example pair.
pub const RESPONSE_AWS_ACCESS_KEY_ID: &str = "AKIAW5HKZ2LNQPCRDSF6";
pub const RESPONSE_AWS_SECRET_ACCESS_KEY: &str = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY";
pub const ECHO_TOKEN: &str = "demo_echo_092c79e8f80e559e404bcf660c48";
pub const LOCATION_TOKEN: &str = "demo_loc_a7f32380cf333659452317bd08b2";
pub const RESPONSE_GITHUB_TOKEN: &str = "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";
pub const OAUTH_CLIENT_SECRET_CLEARTEXT: &str = "demo_cs_a1b3a459f00f2dab0155bd72ca0202db";
pub const OAUTH_ACCESS_TOKEN_CLEARTEXT: &str = "demo_oat_2abdfa203fc5a0477cc87e39a4b54772";
/// A session set by Set-Cookie in the same file (credential-in-response must not report it).
pub const RESPONSE_ISSUED_SESSION: &str = "8f58ab1c54ebe0ecc70a5cf216dcb199";

/// Session cookies of `rules-cookie-flags.pcap`.
pub const COOKIE_NO_SECURE: &str = "fc36412615a93b821f0c6a5106bec9c1";
pub const COOKIE_NO_HTTPONLY: &str = "4cfddeea8ecfd4dc7288bcd673d6e045";
pub const COOKIE_BROAD_DOMAIN: &str = "d6ba7bdaa9d0e315bd2118292368b124";
pub const COOKIE_HOST_PREFIX_DOMAIN: &str = "2499120169dcb173382457230ef10297";
pub const COOKIE_LONG_LIVED: &str = "25E778D1DA70768DEDA2C9CEE06FDA64";
pub const COOKIE_SHORT_LIVED: &str = "e1dec64a47f300d548dc11e6f6f1e2c6";
pub const COOKIE_SAMESITE_NONE: &str = "17cba58e8aa1ff49ad9d14e13a4b4d88";

/// JWTs of `rules-jwt.pcap`. HS256 ones are signed with `JWT_HS256_KEY`; `alg: none` ones have
/// an empty signature. Expiry is relative to the sample capture time (2024-05-01T12:00:00Z):
/// `exp` 1700000000 is 2023-11-14 (expired), 1893456000 is 2030-01-01 (valid).
pub const JWT_HS256_KEY: &str = "credsift-sample-hs256-key-not-secret";
/// `{"alg":"none"}`, sub `mallory`, role admin; accepted with 200 (jwt-alg-none fires).
pub const JWT_NONE_ACCEPTED: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJtYWxsb3J5Iiwicm9sZSI6ImFkbWluIiwiaWF0IjoxNzE0NTYwMDAwLCJleHAiOjE4OTM0NTYwMDB9.";
/// `{"alg":"none"}`, sub `eve`; rejected with 401 (must not fire).
pub const JWT_NONE_REJECTED: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJldmUiLCJyb2xlIjoiYWRtaW4iLCJpYXQiOjE3MTQ1NjAwMDAsImV4cCI6MTg5MzQ1NjAwMH0.";
/// HS256, sub `carol`, expired; accepted with 200 (jwt-expired-accepted fires).
pub const JWT_EXPIRED_ACCEPTED: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYXJvbCIsImlhdCI6MTY5OTk5NjQwMCwiZXhwIjoxNzAwMDAwMDAwfQ.cBEk3V9qTzyffa_AcUuNxMHNUlafDIROG7TWUFMR0BM";
/// HS256, sub `dave`, expired; rejected with 401 (must not fire).
pub const JWT_EXPIRED_REJECTED: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkYXZlIiwiaWF0IjoxNjk5OTk2NDAwLCJleHAiOjE3MDAwMDAwMDB9.6cw58cH0MdgrEQN6j3LmH2X3pKpSTCTt9K9G2WbM7_g";
/// HS256, sub `erin`, valid until 2030; accepted with 200 (no JWT rule fires).
pub const JWT_VALID: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJlcmluIiwic2NvcGUiOiJyZWFkOnByb2ZpbGUiLCJpYXQiOjE3MTQ1NjAwMDAsImV4cCI6MTg5MzQ1NjAwMH0.M-bc_MNW7lNWHOp0RYKgG__GKQqGrxfDnhG5GsTBjHk";
/// HS256, sub `frank`, valid; in the Chrome HAR over TLS.
pub const JWT_HAR: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmcmFuayIsInNjb3BlIjoicmVhZDpvcmRlcnMgd3JpdGU6b3JkZXJzIiwiaWF0IjoxNzE0NTYwMDAwLCJleHAiOjE4OTM0NTYwMDB9.vNoTtAuHwhUcdZbct9kFkTPd_TL9HkaqPB3epTjJhvk";

/// Correlation rules (`rules-key-*.pcap`).
pub const KEY_SUBJECTS: &str = "demo_subjects_3505129389bd53abe7cbd27b";
pub const KEY_ONE_SUBJECT: &str = "demo_one_subject_dc6abf2f98577f3f4041738e";
pub const KEY_ROLES: &str = "demo_roles_4fe25a009df395246dafd109";
pub const KEY_ONE_ROLE: &str = "demo_one_role_3ed20e6c6bf125b89c2b1622";
pub const TOKEN_SERVICES: &str = "demo_tok_services_8d90ca643affcaf2ef8bc19beac33846";
pub const TOKEN_ONE_SERVICE: &str = "demo_tok_one_service_ae91a08ee05c922b3588548523600eca";
pub const KEY_ISSUED_UNAUTH: &str = "demo_issued_unauth_7b35040835e718370e348182";
pub const KEY_ISSUED_AUTH: &str = "demo_issued_auth_96c7e0323e827697bbb0f5fc";
pub const TOKEN_ISSUER: &str = "demo_tok_issuer_8dc4f573910089c23e22d1c7eea86003";
/// Sent to one host in `cross-source-services.pcap` and another in `cross-source-services.har`.
pub const CROSS_SOURCE_TOKEN: &str = "demo_cross_source_token_68dc3f654ac7e85ab467f0d6887b72ca";

/// Sessions (`rules-session-*.pcap`).
pub const FIX_SESSION: &str = "8C1A20503CE4844F5F4232735540AFCE";
pub const FIX_PASSWORD: &str = "S4mple-Fixation-Passw0rd";
pub const ROTATE_SESSION_BEFORE: &str = "EEE5428905E7524F7F77713BD3E9A9B8";
pub const ROTATE_SESSION_AFTER: &str = "87A10FD1D9E3A3053E470D38F1F4074C";
pub const ROTATE_PASSWORD: &str = "S4mple-Rotate-Passw0rd";
pub const SHARED_SESSION: &str = "0e1d1edc14ed3bf8189fba45c65a3775";
pub const ONE_CLIENT_SESSION: &str = "c94a6934d123b775e385b4b29b519431";

/// HAR samples.
pub const HAR_SESSION: &str = "ddd7f71217c3a99baa6fcdcc209ed61086db1bb3";
pub const HAR_URL_API_KEY: &str = "demo_harq_fbabd7c85aa218eb7464ebde";
pub const HAR_CLIENT_SECRET: &str = "demo_hcs_53f3fd68c31311f5768e38658d0b8105";
pub const HAR_ACCESS_TOKEN: &str = "demo_hat_18e1dd392168f601d0e568612a2bf40e6555c033";
pub const HAR_CLEARTEXT_API_KEY: &str = "demo_harclear_4aa5e6fbe1d1c0c4b39a9133";
pub const FIREFOX_SESSION: &str = "14d0ecc1aacfc735aaf95ade6a3782a7";
pub const FIREFOX_PASSWORD: &str = "S4mple-Firefox-Passw0rd";
pub const FIREFOX_API_KEY: &str = "demo_ffb64_c065ed632bb36a35b7ba5ff8";
pub const SANITIZED_SESSION: &str = "8217143646e511ed7f8ab2f83dc8a69d61b11996";

/// One `X-API-Key` per ingest sample, so that each sample's finding is its own.
pub const INGEST_OUT_OF_ORDER: &str = "demo_ingest_out_of_order_aa988c511ef886ce";
pub const INGEST_RETRANSMISSION: &str = "demo_ingest_retransmission_db430bfa45236fe3";
pub const INGEST_OVERLAP: &str = "demo_ingest_overlap_3c0fd97754d8332b";
pub const INGEST_GAP: &str = "demo_ingest_gap_62de62f4ea3d57f7";
pub const INGEST_PIPELINING: &str = "demo_ingest_pipelining_9295dea0d141cf23";
pub const INGEST_CHUNKED_GZIP: &str = "demo_ingest_chunked_gzip_5b0cac00658a1bd5";
pub const INGEST_LINUX_SLL: &str = "demo_ingest_linux_sll_8710416243f11003";
pub const INGEST_RAW_IP: &str = "demo_ingest_raw_ip_9c04ee88b4b5dc45";
pub const INGEST_VLAN: &str = "demo_ingest_vlan_9c72b8791ad30950";
pub const INGEST_QINQ: &str = "demo_ingest_qinq_336238bc60f4801d";
pub const INGEST_IPV6: &str = "demo_ingest_ipv6_75c001d9ebf4e381";
pub const INGEST_NANOSECOND_BE: &str = "demo_ingest_nanosecond_be_b2f01cb8caf0b26a";
pub const INGEST_MULTI_IF_ETH: &str = "demo_ingest_multi_if_eth_38668ef8a17c629c";
pub const INGEST_MULTI_IF_SLL: &str = "demo_ingest_multi_if_sll_aa7b9836b3695cf7";
pub const INGEST_TRUNCATED: &str = "demo_ingest_truncated_8c91405da31be094";
pub const INGEST_CORRUPT: &str = "demo_ingest_corrupt_c7791eeaf1260ae1";
pub const INGEST_TLS_PORT_8080: &str = "demo_ingest_tls_port_8080_0bbb04e89e7e5a3d";

/// Every secret above by name: none of these values may appear in credsift's output unless
/// `--reveal` is given.
pub const ALL: &[(&str, &str)] = &[
    ("BASIC_PASSWORD", BASIC_PASSWORD),
    ("BASIC_AUTH", BASIC_AUTH),
    ("CLEARTEXT_API_KEY", CLEARTEXT_API_KEY),
    ("FORM_PASSWORD", FORM_PASSWORD),
    ("CLEARTEXT_SESSION", CLEARTEXT_SESSION),
    ("AWS_ACCESS_KEY_ID", AWS_ACCESS_KEY_ID),
    ("AWS_SECRET_ACCESS_KEY", AWS_SECRET_ACCESS_KEY),
    ("GITHUB_TOKEN", GITHUB_TOKEN),
    ("STRIPE_SECRET_KEY", STRIPE_SECRET_KEY),
    ("URL_API_KEY", URL_API_KEY),
    ("URL_ACCESS_TOKEN", URL_ACCESS_TOKEN),
    ("URL_JSESSIONID", URL_JSESSIONID),
    ("URL_PATH_STRIPE_KEY", URL_PATH_STRIPE_KEY),
    ("USERINFO_PASSWORD", USERINFO_PASSWORD),
    ("REFERER_ACCESS_TOKEN", REFERER_ACCESS_TOKEN),
    ("RESPONSE_AWS_ACCESS_KEY_ID", RESPONSE_AWS_ACCESS_KEY_ID),
    (
        "RESPONSE_AWS_SECRET_ACCESS_KEY",
        RESPONSE_AWS_SECRET_ACCESS_KEY,
    ),
    ("ECHO_TOKEN", ECHO_TOKEN),
    ("LOCATION_TOKEN", LOCATION_TOKEN),
    ("RESPONSE_GITHUB_TOKEN", RESPONSE_GITHUB_TOKEN),
    (
        "OAUTH_CLIENT_SECRET_CLEARTEXT",
        OAUTH_CLIENT_SECRET_CLEARTEXT,
    ),
    ("OAUTH_ACCESS_TOKEN_CLEARTEXT", OAUTH_ACCESS_TOKEN_CLEARTEXT),
    ("RESPONSE_ISSUED_SESSION", RESPONSE_ISSUED_SESSION),
    ("COOKIE_NO_SECURE", COOKIE_NO_SECURE),
    ("COOKIE_NO_HTTPONLY", COOKIE_NO_HTTPONLY),
    ("COOKIE_BROAD_DOMAIN", COOKIE_BROAD_DOMAIN),
    ("COOKIE_HOST_PREFIX_DOMAIN", COOKIE_HOST_PREFIX_DOMAIN),
    ("COOKIE_LONG_LIVED", COOKIE_LONG_LIVED),
    ("COOKIE_SHORT_LIVED", COOKIE_SHORT_LIVED),
    ("COOKIE_SAMESITE_NONE", COOKIE_SAMESITE_NONE),
    ("JWT_NONE_ACCEPTED", JWT_NONE_ACCEPTED),
    ("JWT_NONE_REJECTED", JWT_NONE_REJECTED),
    ("JWT_EXPIRED_ACCEPTED", JWT_EXPIRED_ACCEPTED),
    ("JWT_EXPIRED_REJECTED", JWT_EXPIRED_REJECTED),
    ("JWT_VALID", JWT_VALID),
    ("JWT_HAR", JWT_HAR),
    ("KEY_SUBJECTS", KEY_SUBJECTS),
    ("KEY_ONE_SUBJECT", KEY_ONE_SUBJECT),
    ("KEY_ROLES", KEY_ROLES),
    ("KEY_ONE_ROLE", KEY_ONE_ROLE),
    ("TOKEN_SERVICES", TOKEN_SERVICES),
    ("TOKEN_ONE_SERVICE", TOKEN_ONE_SERVICE),
    ("KEY_ISSUED_UNAUTH", KEY_ISSUED_UNAUTH),
    ("KEY_ISSUED_AUTH", KEY_ISSUED_AUTH),
    ("TOKEN_ISSUER", TOKEN_ISSUER),
    ("CROSS_SOURCE_TOKEN", CROSS_SOURCE_TOKEN),
    ("FIX_SESSION", FIX_SESSION),
    ("FIX_PASSWORD", FIX_PASSWORD),
    ("ROTATE_SESSION_BEFORE", ROTATE_SESSION_BEFORE),
    ("ROTATE_SESSION_AFTER", ROTATE_SESSION_AFTER),
    ("ROTATE_PASSWORD", ROTATE_PASSWORD),
    ("SHARED_SESSION", SHARED_SESSION),
    ("ONE_CLIENT_SESSION", ONE_CLIENT_SESSION),
    ("HAR_SESSION", HAR_SESSION),
    ("HAR_URL_API_KEY", HAR_URL_API_KEY),
    ("HAR_CLIENT_SECRET", HAR_CLIENT_SECRET),
    ("HAR_ACCESS_TOKEN", HAR_ACCESS_TOKEN),
    ("HAR_CLEARTEXT_API_KEY", HAR_CLEARTEXT_API_KEY),
    ("FIREFOX_SESSION", FIREFOX_SESSION),
    ("FIREFOX_PASSWORD", FIREFOX_PASSWORD),
    ("FIREFOX_API_KEY", FIREFOX_API_KEY),
    ("SANITIZED_SESSION", SANITIZED_SESSION),
    ("INGEST_OUT_OF_ORDER", INGEST_OUT_OF_ORDER),
    ("INGEST_RETRANSMISSION", INGEST_RETRANSMISSION),
    ("INGEST_OVERLAP", INGEST_OVERLAP),
    ("INGEST_GAP", INGEST_GAP),
    ("INGEST_PIPELINING", INGEST_PIPELINING),
    ("INGEST_CHUNKED_GZIP", INGEST_CHUNKED_GZIP),
    ("INGEST_LINUX_SLL", INGEST_LINUX_SLL),
    ("INGEST_RAW_IP", INGEST_RAW_IP),
    ("INGEST_VLAN", INGEST_VLAN),
    ("INGEST_QINQ", INGEST_QINQ),
    ("INGEST_IPV6", INGEST_IPV6),
    ("INGEST_NANOSECOND_BE", INGEST_NANOSECOND_BE),
    ("INGEST_MULTI_IF_ETH", INGEST_MULTI_IF_ETH),
    ("INGEST_MULTI_IF_SLL", INGEST_MULTI_IF_SLL),
    ("INGEST_TRUNCATED", INGEST_TRUNCATED),
    ("INGEST_CORRUPT", INGEST_CORRUPT),
    ("INGEST_TLS_PORT_8080", INGEST_TLS_PORT_8080),
];

/// Look-alikes: values in the samples that resemble credentials but are not, with why.
pub const STRIPE_PUBLISHABLE_KEY: &str = "pk_live_credsiftSAMPLEpublish001";
pub const REQUEST_ID_UUID: &str = "3f6c1e2a-8b4d-4c7e-9a1f-2b3c4d5e6f70";
pub const ORDER_UUID: &str = "9b2e4c1d-7a3f-4e8b-b6d5-0c1f2e3d4a5b";
pub const CSRF_TOKEN: &str = "Xq3vN8pL2rT6wY9zB4cF7hJ1kM5sD0gA3eR8uI2oP6l";
pub const GA_COOKIE: &str = "GA1.2.1234567890.1714564800";
pub const CACHE_BUSTER: &str = "1714564800123";
pub const ASSET_HASH: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
pub const OAUTH_STATE: &str = "af0ifjsldkj";

pub const LOOKALIKES: &[(&str, &str)] = &[
    (
        "STRIPE_PUBLISHABLE_KEY",
        "a publishable key is meant to be public",
    ),
    ("REQUEST_ID_UUID", "a request id, not a secret"),
    ("ORDER_UUID", "a resource id in a path"),
    (
        "CSRF_TOKEN",
        "anti-forgery token, kept apart from credentials",
    ),
    ("GA_COOKIE", "analytics cookie, not a session"),
    ("CACHE_BUSTER", "a timestamp cache buster"),
    ("ASSET_HASH", "a content hash of a static asset"),
    ("OAUTH_STATE", "an OAuth state value"),
];

/// The value of a secret or look-alike constant by its name (as `Expect::secret` gives it).
pub fn value_of(name: &str) -> Option<&'static str> {
    ALL.iter()
        .chain(LOOKALIKE_VALUES)
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

const LOOKALIKE_VALUES: &[(&str, &str)] = &[
    ("STRIPE_PUBLISHABLE_KEY", STRIPE_PUBLISHABLE_KEY),
    ("REQUEST_ID_UUID", REQUEST_ID_UUID),
    ("ORDER_UUID", ORDER_UUID),
    ("CSRF_TOKEN", CSRF_TOKEN),
    ("GA_COOKIE", GA_COOKIE),
    ("CACHE_BUSTER", CACHE_BUSTER),
    ("ASSET_HASH", ASSET_HASH),
    ("OAUTH_STATE", OAUTH_STATE),
];

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::Sha256;

    fn claims(jwt: &str) -> (serde_json::Value, serde_json::Value, String) {
        let mut parts = jwt.split('.');
        let h = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
        let p = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
        let s = parts.next().unwrap().to_string();
        assert!(parts.next().is_none());
        (
            serde_json::from_slice(&h).unwrap(),
            serde_json::from_slice(&p).unwrap(),
            s,
        )
    }

    fn hs256_ok(jwt: &str) -> bool {
        let (signed, sig) = jwt.rsplit_once('.').unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(JWT_HS256_KEY.as_bytes()).unwrap();
        mac.update(signed.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()) == sig
    }

    #[test]
    fn basic_value_encodes_user_and_password() {
        let raw = STANDARD.decode(BASIC_AUTH).unwrap();
        assert_eq!(raw, format!("{BASIC_USER}:{BASIC_PASSWORD}").into_bytes());
    }

    #[test]
    fn jwts_say_what_their_docs_say() {
        let now = (crate::r#gen::SAMPLE_EPOCH_NS / 1_000_000_000) as i64;
        for (jwt, alg, sub, expired) in [
            (JWT_NONE_ACCEPTED, "none", "mallory", false),
            (JWT_NONE_REJECTED, "none", "eve", false),
            (JWT_EXPIRED_ACCEPTED, "HS256", "carol", true),
            (JWT_EXPIRED_REJECTED, "HS256", "dave", true),
            (JWT_VALID, "HS256", "erin", false),
            (JWT_HAR, "HS256", "frank", false),
        ] {
            let (h, p, sig) = claims(jwt);
            assert_eq!(h["alg"], alg);
            assert_eq!(p["sub"], sub);
            assert_eq!(p["exp"].as_i64().unwrap() < now, expired, "{sub}");
            if alg == "none" {
                assert!(sig.is_empty());
            } else {
                assert!(hs256_ok(jwt), "{sub}: signature");
            }
        }
    }

    #[test]
    fn known_formats_have_their_shape() {
        assert!(AWS_ACCESS_KEY_ID.starts_with("AKIA") && AWS_ACCESS_KEY_ID.len() == 20);
        assert!(RESPONSE_AWS_ACCESS_KEY_ID.starts_with("AKIA"));
        for t in [GITHUB_TOKEN, RESPONSE_GITHUB_TOKEN] {
            assert!(t.starts_with("ghp_") && t.len() == 40);
            assert!(t[4..].chars().all(|c| c.is_ascii_alphanumeric()));
        }
        for k in [STRIPE_SECRET_KEY, URL_PATH_STRIPE_KEY] {
            assert!(k.starts_with("sk_live_") && k.len() == 8 + 24);
        }
        assert!(
            STRIPE_PUBLISHABLE_KEY.starts_with("pk_live_") && STRIPE_PUBLISHABLE_KEY.len() == 32
        );
    }

    #[test]
    fn secrets_are_distinct_and_not_lookalikes() {
        let mut seen = std::collections::HashSet::new();
        for (name, v) in ALL {
            assert!(seen.insert(*v), "{name} duplicates another secret");
            assert!(v.len() >= 16, "{name} is too short to search for safely");
        }
        assert_eq!(LOOKALIKE_VALUES.len(), LOOKALIKES.len());
        for (name, v) in LOOKALIKE_VALUES {
            assert!(LOOKALIKES.iter().any(|(n, _)| n == name));
            assert!(ALL.iter().all(|(_, s)| !s.contains(v) && !v.contains(s)));
        }
    }
}
