//! Redirects and credentials (issue #9, finding 10), over real HTTP on 127.0.0.1: a redirect
//! to another origin (here: another port) is never followed, so the server there receives no
//! request at all, let alone a credential, and the caller gets the 3xx unchanged; this holds for
//! every scheme and every redirect status. A redirect within the origin is followed and the
//! request is signed anew for the new URL (checked with auth-core's verifiers on what arrived),
//! 301/302 turn a POST and 303 anything but GET/HEAD into a GET without body, 307/308 keep
//! method and body, chains are bounded, and a 401 behind a redirect is still retried once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod tiny_server;

use auth_core::keys::{self, HmacSecret, PrivateKey, SignatureAlgorithm, SigningKey, VerifyingKey};
use auth_core::rand::SystemRandom;
use auth_core::request::{Message, Request};
use auth_core::scheme::jwt::{Algorithm, JwtSigner};
use auth_core::scheme::{qredo, rfc9421};
use auth_http::client::{
    ApiKeyAuth, ApiKeyPlacement, AppTokenAuth, AuthClient, ClientAuth, HttpSignatureAuth, JwtAuth,
    QredoAuth, QredoFreshness, SmileAuth, SmilePlacement, UserTokenAuth,
};
use auth_http::clock::{Clock, SystemClock};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tiny_server::{Recorded, Reply, TinyServer};

const RSA_PEM: &str = include_str!("../../../testvectors/fixtures/rsa2048-pkcs1.pem");
const API_KEY: &str = "pa_live_redirect-test-api-key-0123456789";
const QREDO_KEY: &str = "cXJlZG8tcmVkaXJlY3QtdGVzdC1rZXk";
const USER_TOKEN: &str = "user-token-from-the-sessions-endpoint";
const APP_TOKEN: &str = "axt1.app-token-from-the-node";
const JWT_SECRET: &[u8] = b"partner-1-shared-secret-32-bytes!";
/// Every header a client scheme may put on a request.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "x-api-key",
    "x-sign",
    "x-timestamp",
    "x-nonce",
    "signature",
    "signature-input",
    "smileid-partner-id",
    "smileid-request-signature",
    "smileid-timestamp",
];

fn client(auth: Arc<dyn ClientAuth>) -> AuthClient {
    AuthClient::new(auth).unwrap()
}

fn rsa() -> PrivateKey {
    PrivateKey::from_pem(RSA_PEM).unwrap()
}

fn ed25519() -> PrivateKey {
    keys::generate_ed25519(&SystemRandom::new()).unwrap()
}

fn signer(key: &PrivateKey, alg: SignatureAlgorithm) -> SigningKey {
    SigningKey::new(key, alg, &SystemRandom::new()).unwrap()
}

/// Origin A: hands out user and app tokens, and answers `/start?status=N` with a redirect
/// `N` to `target`.
async fn origin_a(target: String) -> TinyServer {
    TinyServer::start(move |r: Recorded| {
        let target = target.clone();
        async move {
            match r.path() {
                "/sessions" => Reply::ok(format!("{{\"access_token\":\"{USER_TOKEN}\"}}")),
                "/auth" => Reply::ok(format!("{{\"token\":\"{APP_TOKEN}\"}}")),
                _ => {
                    let status = r
                        .target
                        .split("status=")
                        .nth(1)
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(307);
                    Reply::redirect(status, target)
                }
            }
        }
    })
    .await
}

/// Every client scheme, named, each with the credential it must keep from other origins.
fn every_scheme(a: &str) -> Vec<(&'static str, Arc<dyn ClientAuth>)> {
    let ed = ed25519();
    vec![
        (
            "api key (bearer)",
            Arc::new(ApiKeyAuth::new(API_KEY, ApiKeyPlacement::Bearer)),
        ),
        (
            "api key (x-api-key)",
            Arc::new(ApiKeyAuth::new(API_KEY, ApiKeyPlacement::XApiKey)),
        ),
        (
            "qredo",
            Arc::new(QredoAuth::new(
                QREDO_KEY,
                signer(&rsa(), SignatureAlgorithm::RsaPkcs1Sha256),
                QredoFreshness::Timestamp,
            )),
        ),
        (
            "rfc 9421",
            Arc::new(HttpSignatureAuth::new(
                "ed-key-1",
                signer(&ed, SignatureAlgorithm::Ed25519),
            )),
        ),
        (
            "smile (headers)",
            Arc::new(SmileAuth::new("085", "smile-api-key", SmilePlacement::Headers).unwrap()),
        ),
        (
            "smile (body fields)",
            Arc::new(SmileAuth::new("085", "smile-api-key", SmilePlacement::BodyFields).unwrap()),
        ),
        (
            "jwt",
            Arc::new(JwtAuth::new(
                JwtSigner::hmac(
                    &HmacSecret::from_bytes(JWT_SECRET).unwrap(),
                    Algorithm::HS256,
                )
                .unwrap(),
                "partner-1",
            )),
        ),
        (
            "user token",
            Arc::new(UserTokenAuth::new(
                reqwest::Client::new(),
                &format!("{a}/sessions"),
                API_KEY,
                &["user:rate"],
            )),
        ),
        (
            "app token",
            Arc::new(AppTokenAuth::new(
                reqwest::Client::new(),
                &format!("{a}/auth"),
                r#"{"appId":"com.example.sensor","displayName":"Sensor","version":"1.0.0"}"#,
            )),
        ),
    ]
}

/// What a request carries that a client scheme put there: credential headers, and Smile's
/// signature fields in the body.
fn credentials_in(r: &Recorded) -> Vec<String> {
    let mut found: Vec<String> = r
        .headers
        .iter()
        .filter(|(k, _)| CREDENTIAL_HEADERS.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let body = String::from_utf8_lossy(&r.body);
    for secret in [API_KEY, QREDO_KEY, USER_TOKEN, APP_TOKEN, "\"signature\""] {
        if body.contains(secret) {
            found.push(format!("body: {body}"));
        }
    }
    found
}

/// Sends a POST with a body to A, which redirects with each 3xx status to B.
async fn cross_origin(scheme: &str) {
    let b = TinyServer::start(|_| async { Reply::ok("origin B") }).await;
    let landing = format!("{}/landing", b.base);
    let a = origin_a(landing.clone()).await;
    let (_, auth) = every_scheme(&a.base)
        .into_iter()
        .find(|(name, _)| *name == scheme)
        .unwrap();
    let c = client(auth);
    let mut failures = Vec::new();
    for status in [301u16, 302, 303, 307, 308] {
        let before = b.requests().len();
        let outcome = c
            .send(
                c.http()
                    .post(format!("{}/start?status={status}", a.base))
                    .body("{\"job\":1}"),
            )
            .await;
        let at_b = &b.requests()[before..];
        for r in at_b {
            let leaked = credentials_in(r);
            if !leaked.is_empty() {
                failures.push(format!("{status}: origin B received {leaked:?}"));
            }
        }
        if !at_b.is_empty() {
            failures.push(format!("{status}: the redirect to origin B was followed"));
        }
        match outcome {
            Ok(resp) => {
                if resp.status().as_u16() != status
                    || resp.headers().get("location").and_then(|l| l.to_str().ok())
                        != Some(landing.as_str())
                {
                    failures.push(format!(
                        "{status}: the caller got {} instead of the {status} to origin B",
                        resp.status()
                    ));
                }
            }
            Err(e) => failures.push(format!("{status}: the caller got an error: {e}")),
        }
    }
    // The credential did reach origin A (the test would prove nothing otherwise).
    let at_a: Vec<Recorded> = a
        .requests()
        .into_iter()
        .filter(|r| r.path() == "/start")
        .collect();
    assert_eq!(at_a.len(), 5, "{scheme}: one request to A per status");
    assert!(
        at_a.iter().all(|r| !credentials_in(r).is_empty()),
        "{scheme}: the requests to A carry credentials"
    );
    assert!(failures.is_empty(), "{scheme}:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn cross_origin_redirect_api_key_bearer() {
    cross_origin("api key (bearer)").await;
}

#[tokio::test]
async fn cross_origin_redirect_api_key_x_api_key() {
    cross_origin("api key (x-api-key)").await;
}

#[tokio::test]
async fn cross_origin_redirect_qredo() {
    cross_origin("qredo").await;
}

#[tokio::test]
async fn cross_origin_redirect_http_signature() {
    cross_origin("rfc 9421").await;
}

#[tokio::test]
async fn cross_origin_redirect_smile_headers() {
    cross_origin("smile (headers)").await;
}

#[tokio::test]
async fn cross_origin_redirect_smile_body_fields() {
    cross_origin("smile (body fields)").await;
}

#[tokio::test]
async fn cross_origin_redirect_jwt() {
    cross_origin("jwt").await;
}

#[tokio::test]
async fn cross_origin_redirect_user_token() {
    cross_origin("user token").await;
}

#[tokio::test]
async fn cross_origin_redirect_app_token() {
    cross_origin("app token").await;
}

/// A server that redirects `/old` with `status` to `/new` (relative) and answers 200 there.
async fn same_origin(status: u16) -> TinyServer {
    TinyServer::start(move |r: Recorded| async move {
        match r.path() {
            "/old" => Reply::redirect(status, "/new?page=2"),
            _ => Reply::ok("new"),
        }
    })
    .await
}

fn verify_rfc9421(r: &Recorded, url: &str, key: &VerifyingKey) -> Result<(), String> {
    let fields: Vec<(&str, &str)> = r
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let req = Request::from_uri(&r.method, url, &fields, &r.body).map_err(|e| e.to_string())?;
    let msg = Message::Request(&req);
    let policy = rfc9421::VerifyPolicy::default();
    let parsed = rfc9421::parse(&msg, &policy).map_err(|e| e.to_string())?;
    rfc9421::verify(&msg, &parsed, key, &policy, SystemClock.now())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn verify_qredo(r: &Recorded, url: &str, key: &VerifyingKey) -> Result<(), String> {
    let fields: Vec<(&str, &str)> = r
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let req = Request::from_uri(&r.method, url, &fields, &r.body).map_err(|e| e.to_string())?;
    let parsed = qredo::parse(&req).map_err(|e| format!("{e:?}"))?;
    qredo::verify(
        &req,
        &parsed,
        key,
        &qredo::QredoPolicy::default(),
        SystemClock.now(),
    )
    .map(|_| ())
    .map_err(|e| format!("{e:?}"))
}

#[tokio::test]
async fn same_origin_307_is_followed_and_signed_anew_for_the_new_url() {
    let a = same_origin(307).await;
    let ed = ed25519();
    let public = VerifyingKey::new(&ed.public_key(), SignatureAlgorithm::Ed25519).unwrap();
    let c = client(Arc::new(HttpSignatureAuth::new(
        "ed-key-1",
        signer(&ed, SignatureAlgorithm::Ed25519),
    )));
    let resp = c
        .send(
            c.http()
                .post(format!("{}/old?page=1", a.base))
                .body("{\"amount\":1}"),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let seen = a.requests();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    let (first, second) = (&seen[0], &seen[1]);
    assert_eq!(
        (second.method.as_str(), second.target.as_str()),
        ("POST", "/new?page=2")
    );
    assert_eq!(second.body, b"{\"amount\":1}", "307 keeps the body");
    verify_rfc9421(first, &first.url(), &public).unwrap();
    verify_rfc9421(second, &second.url(), &public)
        .unwrap_or_else(|e| panic!("the followed request is not signed for /new: {e}"));
    assert!(
        verify_rfc9421(second, &first.url(), &public).is_err(),
        "the signature covers the new URL, not the old one"
    );
    assert_ne!(first.header("signature"), second.header("signature"));
    assert_ne!(
        first.header("signature-input"),
        second.header("signature-input"),
        "a fresh nonce"
    );
}

#[tokio::test]
async fn same_origin_308_re_signs_qredo_for_the_new_url() {
    let a = same_origin(308).await;
    let key = rsa();
    let public = VerifyingKey::new(&key.public_key(), SignatureAlgorithm::RsaPkcs1Sha256).unwrap();
    let c = client(Arc::new(QredoAuth::new(
        QREDO_KEY,
        signer(&key, SignatureAlgorithm::RsaPkcs1Sha256),
        QredoFreshness::Timestamp,
    )));
    let resp = c
        .send(c.http().put(format!("{}/old", a.base)).body("{\"x\":2}"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let seen = a.requests();
    assert_eq!(seen.len(), 2);
    let second = &seen[1];
    assert_eq!(
        (second.method.as_str(), second.body.as_slice()),
        ("PUT", b"{\"x\":2}".as_slice())
    );
    verify_qredo(&seen[0], &seen[0].url(), &public).unwrap();
    verify_qredo(second, &second.url(), &public)
        .unwrap_or_else(|e| panic!("the followed request is not signed for /new: {e}"));
    assert!(verify_qredo(second, &seen[0].url(), &public).is_err());
}

#[tokio::test]
async fn see_other_and_found_turn_a_post_into_a_signed_get_without_body() {
    for status in [301, 302, 303] {
        let a = same_origin(status).await;
        let ed = ed25519();
        let public = VerifyingKey::new(&ed.public_key(), SignatureAlgorithm::Ed25519).unwrap();
        let c = client(Arc::new(HttpSignatureAuth::new(
            "ed-key-1",
            signer(&ed, SignatureAlgorithm::Ed25519),
        )));
        let resp = c
            .send(
                c.http()
                    .post(format!("{}/old", a.base))
                    .header("content-type", "application/json")
                    .body("{\"amount\":1}"),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{status}");
        let seen = a.requests();
        assert_eq!(seen.len(), 2, "{status}");
        let second = &seen[1];
        assert_eq!(second.method, "GET", "{status}");
        assert!(second.body.is_empty(), "{status}");
        assert_eq!(second.header("content-type"), None, "{status}");
        assert_eq!(second.header("content-digest"), None, "{status}");
        verify_rfc9421(second, &second.url(), &public)
            .unwrap_or_else(|e| panic!("{status}: the GET is not signed for /new: {e}"));
    }
}

#[tokio::test]
async fn moved_and_found_keep_a_put_and_see_other_does_not() {
    for (status, method) in [(301, "PUT"), (302, "PUT"), (303, "GET")] {
        let a = same_origin(status).await;
        let c = client(Arc::new(ApiKeyAuth::new(API_KEY, ApiKeyPlacement::XApiKey)));
        let resp = c
            .send(c.http().put(format!("{}/old", a.base)).body("data"))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{status}");
        let second = &a.requests()[1];
        assert_eq!(second.method, method, "{status}");
        assert_eq!(second.header("x-api-key"), Some(API_KEY), "{status}");
        let body: &[u8] = if method == "PUT" { b"data" } else { b"" };
        assert_eq!(second.body, body, "{status}");
    }
}

#[tokio::test]
async fn redirect_chains_are_bounded_and_the_last_3xx_is_returned() {
    let a = TinyServer::start(|_| async { Reply::redirect(307, "/loop") }).await;
    let c = client(Arc::new(ApiKeyAuth::new(API_KEY, ApiKeyPlacement::XApiKey)));
    let resp = c
        .send(c.http().get(format!("{}/loop", a.base)))
        .await
        .unwrap();
    assert_eq!(resp.status(), 307);
    assert_eq!(
        a.requests().len(),
        1 + auth_http::client::MAX_REDIRECTS,
        "the request and at most MAX_REDIRECTS follow-ups"
    );
}

#[tokio::test]
async fn a_chain_stops_where_it_would_leave_the_origin() {
    let b = TinyServer::start(|_| async { Reply::ok("origin B") }).await;
    let landing = format!("{}/landing", b.base);
    let a = TinyServer::start(move |r: Recorded| {
        let landing = landing.clone();
        async move {
            match r.path() {
                "/one" => Reply::redirect(302, "/two"),
                _ => Reply::redirect(307, landing),
            }
        }
    })
    .await;
    let c = client(Arc::new(ApiKeyAuth::new(API_KEY, ApiKeyPlacement::XApiKey)));
    let resp = c
        .send(c.http().get(format!("{}/one", a.base)))
        .await
        .unwrap();
    assert_eq!(resp.status(), 307);
    assert_eq!(
        resp.headers()["location"].to_str().unwrap(),
        format!("{}/landing", b.base)
    );
    let paths: Vec<String> = a.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(paths, ["/one", "/two"]);
    assert!(b.requests().is_empty());
}

#[tokio::test]
async fn a_caller_supplied_redirect_policy_cannot_leak() {
    let b = TinyServer::start(|_| async { Reply::ok("origin B") }).await;
    let landing = format!("{}/landing", b.base);
    let a = origin_a(landing).await;
    let c = AuthClient::with_http_builder(
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::limited(10)),
        Arc::new(ApiKeyAuth::new(API_KEY, ApiKeyPlacement::XApiKey)),
    )
    .unwrap();
    let resp = c
        .send(c.http().get(format!("{}/start?status=307", a.base)))
        .await
        .unwrap();
    assert_eq!(resp.status(), 307);
    assert!(b.requests().is_empty());
    // The same holds for requests sent with the inner client directly.
    let resp = c
        .http()
        .get(format!("{}/start?status=302", a.base))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert!(b.requests().is_empty());
}

#[tokio::test]
async fn a_401_behind_a_redirect_is_retried_exactly_once() {
    let hits = Arc::new(AtomicU64::new(0));
    let seen = hits.clone();
    let a = TinyServer::start(move |r: Recorded| {
        let seen = seen.clone();
        async move {
            if r.path() == "/old" {
                Reply::redirect(307, "/new")
            } else {
                seen.fetch_add(1, Ordering::SeqCst);
                Reply::status(401)
            }
        }
    })
    .await;
    let auth = Arc::new(JwtAuth::new(
        JwtSigner::hmac(
            &HmacSecret::from_bytes(JWT_SECRET).unwrap(),
            Algorithm::HS256,
        )
        .unwrap(),
        "partner-1",
    ));
    let c = client(auth.clone());
    let resp = c
        .send(c.http().get(format!("{}/old", a.base)))
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(hits.load(Ordering::SeqCst), 2, "the request and one retry");
    assert_eq!(auth.minted(), 2);
}

/// The sessions call goes out with the caller's own `reqwest::Client` (its redirect policy
/// applies); the API key travels only in `Authorization`, which reqwest drops on every
/// redirect to another origin. This pins that behaviour of reqwest.
#[tokio::test]
async fn the_sessions_call_of_user_tokens_keeps_the_api_key_from_other_origins() {
    let b = TinyServer::start(|_| async { Reply::ok("{\"access_token\":\"from-b\"}") }).await;
    let a = origin_a(format!("{}/landing", b.base)).await;
    let auth = UserTokenAuth::new(
        reqwest::Client::new(),
        &format!("{}/start?status=307", a.base),
        API_KEY,
        &["user:rate"],
    );
    let c = client(Arc::new(auth));
    let _ = c.send(c.http().get(format!("{}/sessions", a.base))).await;
    assert!(
        a.requests()
            .iter()
            .any(|r| r.header("authorization") == Some(&format!("Bearer {API_KEY}"))),
        "the sessions call reached A with the API key"
    );
    let leaked: Vec<Vec<String>> = b.requests().iter().map(credentials_in).collect();
    assert!(
        leaked.iter().all(Vec::is_empty),
        "origin B received {leaked:?}"
    );
}
