//! Restricted user tokens end to end through the real binary: a partner's API key asks
//! `POST /api/auth/sessions` for a token within its scopes and the lifetime cap, from a browser
//! origin the partner allowed (CORS); the token then passes `/v1/verify` and forward-auth only
//! on routes that name the `sessions` verifier, as a user-token principal, and never mints
//! another token.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod service;

use auth_core::time::UnixTime;
use serde_json::{Value, json};
use service::{Admin, Service, forward_auth, verify};
use std::time::{Duration, SystemTime};

const ORIGIN: &str = "https://app.example.com";
const CAP_SECS: u64 = 600;

fn now() -> UnixTime {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    UnixTime::from_secs(d.as_secs())
}

fn in_secs(secs: u64) -> String {
    now().saturating_add(Duration::from_secs(secs)).to_rfc3339()
}

/// `/rates` takes user tokens that carry `rates:read`; everything else the partner schemes.
fn config_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("tokens.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[tokens]
max_user_token_secs = {CAP_SECS}

[[auth.routes]]
path = "/rates"
schemes = [{{ scheme = "user_token", verifier = "sessions:rates:read" }}, {{ scheme = "api_key" }}]

[[auth.routes]]
path = "/sandbox-rates"
schemes = [{{ scheme = "user_token", verifier = "test-sessions:rates:read" }}]

[[auth.routes]]
path = "/orders"
schemes = [{{ scheme = "user_token", verifier = "sessions" }}, {{ scheme = "api_key" }}]

[[auth.routes]]
path = "/"
schemes = [{{ scheme = "api_key" }}]
"#
        ),
    )
    .unwrap();
    path
}

async fn start() -> (Service, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let config = config_file(tmp.path());
    let svc = Service::start_in(
        &tmp.path().join("data"),
        &["--config", config.to_str().unwrap()],
    )
    .unwrap();
    (svc, tmp)
}

/// Creates partner `acme` (allowing [`ORIGIN`]) and `other` (allowing another origin), and an
/// API key for `acme` with `orders:read rates:read`.
async fn setup(svc: &Service, admin: &Admin) -> String {
    for (id, origin) in [("acme", ORIGIN), ("other", "https://other.example.net")] {
        let (s, body) = admin
            .call(
                "POST",
                &svc.url("/admin/partners"),
                Some(json!({"id": id, "name": format!("{id} Ltd"), "allowed_origins": [origin]})),
            )
            .await;
        assert_eq!(s, 201, "{body}");
    }
    let (s, issued) = admin
        .call(
            "POST",
            &svc.url("/admin/partners/acme/api-keys"),
            Some(json!({"name": "backend", "environment": "live", "scopes": ["orders:read", "rates:read"]})),
        )
        .await;
    assert_eq!(s, 201, "{issued}");
    issued["secret"].as_str().unwrap().to_owned()
}

/// `POST /api/auth/sessions` with `authorization` and an optional `Origin`.
async fn session(
    svc: &Service,
    authorization: &str,
    origin: Option<&str>,
    body: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut rb = reqwest::Client::new()
        .post(svc.url("/api/auth/sessions"))
        .header("authorization", authorization)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).unwrap());
    if let Some(o) = origin {
        rb = rb.header("origin", o);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn preflight(svc: &Service, origin: &str) -> (u16, reqwest::header::HeaderMap) {
    let resp = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, svc.url("/api/auth/sessions"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.headers().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_key_gets_a_restricted_token_within_its_scopes_and_the_cap() {
    let (svc, _tmp) = start().await;
    let admin = Admin::new();
    let key = setup(&svc, &admin).await;
    let bearer = format!("Bearer {key}");

    // Within scopes and cap: a token whose expiry is the one asked for.
    let expires_at = in_secs(300);
    let (s, _, body) = session(
        &svc,
        &bearer,
        None,
        json!({"scopes": ["rates:read"], "expires_at": expires_at}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["expires_at"], expires_at.as_str(), "{body}");
    assert!(
        body["access_token"].as_str().unwrap().split('.').count() == 3,
        "{body}"
    );

    // A scope the key does not hold: 403 insufficient_scope, no token.
    let (s, _, body) = session(
        &svc,
        &bearer,
        None,
        json!({"scopes": ["orders:write"], "expires_at": in_secs(300)}),
    )
    .await;
    assert_eq!(s, 403, "{body}");
    assert!(body.get("access_token").is_none(), "{body}");
    assert!(body.to_string().contains("insufficient_scope"), "{body}");

    // Past the configured cap (600 s): refused with 400 naming the cap, not silently capped.
    let (s, _, body) = session(
        &svc,
        &bearer,
        None,
        json!({"scopes": ["rates:read"], "expires_at": in_secs(CAP_SECS + 60)}),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert!(
        body.to_string().contains(&format!("{CAP_SECS} s")),
        "{body}"
    );
    // The cap itself is fine (a few seconds under it, against clock ticks).
    let (s, _, body) = session(
        &svc,
        &bearer,
        None,
        json!({"scopes": ["rates:read"], "expires_at": in_secs(CAP_SECS - 5)}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    // An expiry in the past, malformed JSON and unknown fields are 400s.
    let (s, _, body) = session(
        &svc,
        &bearer,
        None,
        json!({"scopes": ["rates:read"], "expires_at": "2001-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    let (s, _, body) = session(
        &svc,
        &bearer,
        None,
        json!({"scopes": ["rates:read"], "expires_at": in_secs(60), "admin": true}),
    )
    .await;
    assert_eq!(s, 400, "{body}");

    // A damaged key is told so (400); no credential at all is 401.
    let (s, _, body) = session(
        &svc,
        "Bearer pa_live_nope",
        None,
        json!({"scopes": ["rates:read"], "expires_at": in_secs(60)}),
    )
    .await;
    assert_eq!((s, &body["code"]), (400, &json!("malformed")), "{body}");
    let resp = reqwest::Client::new()
        .post(svc.url("/api/auth/sessions"))
        .body(r#"{"scopes":["rates:read"],"expires_at":"2030-01-01T00:00:00Z"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_follows_the_partners_allowed_origins() {
    let (svc, _tmp) = start().await;
    let admin = Admin::new();
    let key = setup(&svc, &admin).await;
    let bearer = format!("Bearer {key}");

    let (s, h) = preflight(&svc, ORIGIN).await;
    assert_eq!(s, 204);
    assert_eq!(h["access-control-allow-origin"], ORIGIN);
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert!(
        h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    let (s, h) = preflight(&svc, "https://evil.example.org").await;
    assert_eq!(s, 403);
    assert!(h.get("access-control-allow-origin").is_none());

    // The real request from the allowed origin carries the CORS header.
    let body = json!({"scopes": ["rates:read"], "expires_at": in_secs(120)});
    let (s, h, answer) = session(&svc, &bearer, Some(ORIGIN), body.clone()).await;
    assert_eq!(s, 200, "{answer}");
    assert_eq!(h["access-control-allow-origin"], ORIGIN);
    // An origin allowed for another partner (so its preflight passes) is not acme's: 403,
    // no token and no CORS header.
    let (s, _) = preflight(&svc, "https://other.example.net").await;
    assert_eq!(s, 204);
    let (s, h, answer) = session(
        &svc,
        &bearer,
        Some("https://other.example.net"),
        body.clone(),
    )
    .await;
    assert_eq!(s, 403, "{answer}");
    assert!(answer.get("access_token").is_none());
    assert!(h.get("access-control-allow-origin").is_none());
    let (s, _, _) = session(
        &svc,
        &bearer,
        Some("https://evil.example.org"),
        body.clone(),
    )
    .await;
    assert_eq!(s, 403);
    // An Origin that is not text matches nothing (it is not taken for "no Origin").
    let resp = reqwest::Client::new()
        .post(svc.url("/api/auth/sessions"))
        .header("authorization", &bearer)
        .header(
            "origin",
            reqwest::header::HeaderValue::from_bytes(b"https://app.example.com\xff").unwrap(),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert!(status == 400 || status == 403, "{status} {text}");
    assert!(!text.contains("access_token"), "{text}");
    let resp = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, svc.url("/api/auth/sessions"))
        .header(
            "origin",
            reqwest::header::HeaderValue::from_bytes(b"https://app.example.com\xff").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_works_only_where_a_route_names_its_verifier() {
    let (svc, _tmp) = start().await;
    let admin = Admin::new();
    let key = setup(&svc, &admin).await;
    let (s, _, body) = session(
        &svc,
        &format!("Bearer {key}"),
        None,
        json!({"scopes": ["rates:read"], "expires_at": in_secs(300)}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];

    // /rates names `sessions:rates:read`: accepted, as the token, not as the partner's key.
    let answer = verify(&svc, "GET", "https://api.example.com/rates/eur", &auth, b"").await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["principal"]["scheme"], "user_token", "{answer}");
    assert_eq!(answer["principal"]["partner"], "acme");
    assert_eq!(
        answer["principal"]["scopes"],
        json!(["rates:read"]),
        "{answer}"
    );
    assert!(answer["principal"]["expires_at"].is_string(), "{answer}");
    let (s, h) = forward_auth(&svc, "/rates/eur", &auth).await;
    assert_eq!(s, 200);
    assert_eq!(h["x-auth-scheme"], "user_token");
    assert_eq!(h["x-auth-partner"], "acme");
    assert_eq!(h["x-auth-scopes"], "rates:read");
    // The partner's own key on the same route is an API-key principal with both scopes.
    let own = format!("Bearer {key}");
    let answer = verify(
        &svc,
        "GET",
        "https://api.example.com/rates/eur",
        &[("authorization", &own)],
        b"",
    )
    .await;
    assert_eq!(answer["principal"]["scheme"], "api_key", "{answer}");

    // `/` does not name the verifier: refused through both paths.
    let answer = verify(
        &svc,
        "GET",
        "https://api.example.com/orders-list",
        &auth,
        b"",
    )
    .await;
    assert_eq!(answer["ok"], false, "{answer}");
    let (s, h) = forward_auth(&svc, "/", &auth).await;
    assert_eq!(s, 401);
    assert!(h.get("x-auth-partner").is_none());
    // `/sandbox-rates` takes only tokens that test keys minted.
    let answer = verify(
        &svc,
        "GET",
        "https://api.example.com/sandbox-rates",
        &auth,
        b"",
    )
    .await;
    assert_eq!(answer["ok"], false, "{answer}");
    // `/orders` names plain `sessions`, which requires the `user` scope this token lacks.
    let answer = verify(&svc, "GET", "https://api.example.com/orders", &auth, b"").await;
    assert_eq!(answer["ok"], false, "{answer}");
    assert_eq!(answer["status"], 403, "{answer}");

    // A tampered token is refused.
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let forged = format!("Bearer {forged}");
    let answer = verify(
        &svc,
        "GET",
        "https://api.example.com/rates/eur",
        &[("authorization", &forged)],
        b"",
    )
    .await;
    assert_eq!(answer["ok"], false, "{answer}");

    // A user token cannot mint another.
    let (s, _, answer) = session(
        &svc,
        &bearer,
        None,
        json!({"scopes": ["rates:read"], "expires_at": in_secs(60)}),
    )
    .await;
    assert!(s == 401 || s == 403, "{s} {answer}");
    assert!(answer.get("access_token").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_key_mints_test_tokens_only() {
    let (svc, _tmp) = start().await;
    let admin = Admin::new();
    setup(&svc, &admin).await;
    let (s, issued) = admin
        .call(
            "POST",
            &svc.url("/admin/partners/acme/api-keys"),
            Some(json!({"name": "sandbox", "environment": "test", "scopes": ["rates:read"]})),
        )
        .await;
    assert_eq!(s, 201, "{issued}");
    let key = issued["secret"].as_str().unwrap();
    let (s, _, body) = session(
        &svc,
        &format!("Bearer {key}"),
        None,
        json!({"scopes": ["rates:read"], "expires_at": in_secs(300)}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let bearer = format!("Bearer {}", body["access_token"].as_str().unwrap());
    let auth = [("authorization", bearer.as_str())];
    // Not on the live route: a test key never mints a live token.
    let answer = verify(&svc, "GET", "https://api.example.com/rates", &auth, b"").await;
    assert_eq!(answer["ok"], false, "{answer}");
    // On the route naming the test verifier, as a test principal.
    let answer = verify(
        &svc,
        "GET",
        "https://api.example.com/sandbox-rates",
        &auth,
        b"",
    )
    .await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["principal"]["environment"], "test", "{answer}");
    let (s, h) = forward_auth(&svc, "/sandbox-rates", &auth).await;
    assert_eq!(s, 200);
    assert_eq!(h["x-auth-environment"], "test");
}
