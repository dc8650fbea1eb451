//! Actyx-style app tokens over real HTTP: an app obtains a token from the node's auth endpoint
//! with its manifest and calls the API with it; invalid manifests, unlicensed nodes, expired
//! tokens and tokens from before a node restart (new epoch) get the Actyx error bodies, and
//! the client renews an expired token by itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::apikey::KeyPrefix;
use auth_core::keys::{self, SignatureAlgorithm, SigningKey};
use auth_core::rand::SystemRandom;
use auth_core::scheme::apptrust::{
    AuthorityKey, AxPublicKey, Epoch, Licensing, TokenIssuer, TokenVerifier,
};
use auth_http::client::{AppTokenAuth, AuthClient};
use auth_http::clock::{Clock, OffsetClock};
use auth_http::server::{
    Accept, AppAuthEndpoint, AppTokenConfig, AuthConfig, AuthLayer, HandlerFn, MemoryReplayStore,
    MemoryResolver, Principal, RequestBody, Route, Routes, TrialApps,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::collections::BTreeMap;
use std::sync::Arc;
use tower_layer::Layer;

/// The published example authority public key (docs/protocols.md section 6).
const AUTHORITY: &str = "075i62XGQJuXjv6nnLQyJzECZhF29acYvYeEOJ3kc5M8=";
const TRIAL_MANIFEST: &str =
    r#"{"appId":"com.example.sensor","displayName":"Sensor","version":"1.0.0"}"#;

struct Node {
    base: String,
    clock: OffsetClock,
}

/// A node with `licensing`, its node key, and epoch `epoch`.
async fn node(licensing: Licensing, node_key: &keys::PrivateKey, epoch: u64) -> Node {
    let rng = SystemRandom::new();
    let authority = AuthorityKey::new(AxPublicKey::from_text(AUTHORITY).unwrap()).unwrap();
    let signer = SigningKey::new(node_key, SignatureAlgorithm::Ed25519, &rng).unwrap();
    let issuer = TokenIssuer::new(signer, Epoch(epoch)).unwrap();
    let verifier = TokenVerifier::new(&issuer.public_key().unwrap(), Epoch(epoch)).unwrap();
    let endpoint = Arc::new(AppAuthEndpoint {
        authority,
        licensing,
        issuer,
    });
    let clock = OffsetClock::new();
    // These nodes run trial apps (com.example.*): their event routes opt in to them.
    let tokens = AppTokenConfig::new(Arc::new(verifier)).with_trial_apps(TrialApps::Accept);
    let routes = Routes::new()
        .exact("/api/v2/auth", Route::public())
        .prefix("/api/v2", Route::new().accept(Accept::AppToken(tokens)));
    let config = AuthConfig::new(KeyPrefix::new("pa").unwrap(), routes);
    let layer = AuthLayer::with_clock(
        config,
        Arc::new(MemoryResolver::new()),
        Arc::new(MemoryReplayStore::default()),
        Arc::new(clock.clone()),
    );
    let handler_clock = clock.clone();
    let handler = HandlerFn(move |req: http::Request<RequestBody>| {
        let endpoint = endpoint.clone();
        let now = handler_clock.now();
        async move {
            if req.uri().path() == "/api/v2/auth" {
                let body = req.into_body().collect().await.unwrap().to_bytes();
                return endpoint.handle(&body, now);
            }
            let p = req.extensions().get::<Principal>().cloned().unwrap();
            http::Response::new(Full::new(Bytes::from(format!("events for {}", p.partner))))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(auth_http::server::serve(listener, layer.layer(handler)));
    Node { base, clock }
}

async fn call(base: &str, token: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .get(format!("{base}/api/v2/events"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

async fn auth(base: &str, manifest: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v2/auth"))
        .body(manifest.to_owned())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_str(&resp.text().await.unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn trial_app_in_development_mode_gets_a_working_token() {
    let key = keys::generate_ed25519(&SystemRandom::new()).unwrap();
    let n = node(Licensing::development(), &key, 1).await;
    let (status, body) = auth(&n.base, TRIAL_MANIFEST).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(
        call(&n.base, &token).await,
        (
            200,
            serde_json::Value::String("events for com.example.sensor".into())
        )
    );
    // The same token as a query parameter.
    let resp = reqwest::get(format!("{}/api/v2/events?access_token={token}", n.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // A tampered token, and a token that is not ours at all.
    // Change a character inside the signature (not the last one, whose low bits are padding
    // and would make the Base64 non-canonical, a different rejection).
    let mut bad: Vec<char> = token.chars().collect();
    let i = bad.len() - 10;
    bad[i] = if bad[i] == 'A' { 'B' } else { 'A' };
    let bad: String = bad.into_iter().collect();
    let (status, body) = call(&n.base, &bad).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("ERR_TOKEN_UNAUTHORIZED"))
    );
    let (status, body) = call(&n.base, "axt1.garbage").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("ERR_TOKEN_INVALID"))
    );
}

#[tokio::test]
async fn manifests_and_licenses_are_judged_with_actyx_codes() {
    let key = keys::generate_ed25519(&SystemRandom::new()).unwrap();
    let dev = node(Licensing::development(), &key, 1).await;
    // Not JSON of the manifest shape; an unsigned manifest outside com.example.
    let (status, body) = auth(&dev.base, "{\"appId\":1}").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("ERR_MANIFEST_INVALID"))
    );
    let (status, body) = auth(
        &dev.base,
        r#"{"appId":"com.acme.app","displayName":"A","version":"1"}"#,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("ERR_MANIFEST_INVALID"))
    );
    // A licensed node whose own license is garbage refuses every app.
    let licensed = node(
        Licensing::licensed("not-a-license".into(), BTreeMap::new()),
        &key,
        1,
    )
    .await;
    let (status, body) = auth(&licensed.base, TRIAL_MANIFEST).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("ERR_NODE_UNAUTHORIZED"))
    );
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn expired_tokens_are_renewed_and_a_new_epoch_invalidates_old_tokens() {
    let key = keys::generate_ed25519(&SystemRandom::new()).unwrap();
    let n = node(Licensing::development(), &key, 1).await;
    let auth_url = format!("{}/api/v2/auth", n.base);
    let app = Arc::new(AppTokenAuth::new(
        reqwest::Client::new(),
        &auth_url,
        TRIAL_MANIFEST,
    ));
    let c = AuthClient::new(app.clone()).unwrap();
    let url = format!("{}/api/v2/events", n.base);
    assert_eq!(c.send(c.http().get(&url)).await.unwrap().status(), 200);
    let old = app.obtain().await.unwrap();
    // 25 hours later the 24-hour token is expired: the raw call sees ERR_TOKEN_EXPIRED, the
    // client renews by itself and its caller sees 200.
    n.clock.set_ahead_ms(25 * 3600 * 1000);
    let (status, body) = call(&n.base, &old).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("ERR_TOKEN_EXPIRED"))
    );
    assert_eq!(c.send(c.http().get(&url)).await.unwrap().status(), 200);
    // The node restarts with the same key in epoch 2: tokens of epoch 1 stop working.
    let restarted = node(Licensing::development(), &key, 2).await;
    let (status, body) = call(&restarted.base, &old).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["code"].as_str().unwrap().starts_with("ERR_TOKEN_"),
        "{body}"
    );
}

#[tokio::test]
async fn a_request_without_a_token_gets_the_actyx_missing_header_error() {
    let key = keys::generate_ed25519(&SystemRandom::new()).unwrap();
    let n = node(Licensing::development(), &key, 1).await;
    let resp = reqwest::get(format!("{}/api/v2/events", n.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(body["code"], "ERR_MISSING_AUTH_HEADER");
}
