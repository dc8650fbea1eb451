//! Debug output of every client type that holds a secret (issue #9, finding 13): it names the
//! configuration (placement, key ID, partner, expiry) and never shows an API key, an HMAC or
//! private key, or a token, including tokens the clients cached after real requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod tiny_server;

use auth_core::UnixTime;
use auth_core::keys::{self, HmacSecret, PrivateKey, SignatureAlgorithm, SigningKey};
use auth_core::rand::SystemRandom;
use auth_core::scheme::jwt::{Algorithm, JwtSigner};
use auth_http::client::{
    ApiKeyAuth, ApiKeyPlacement, AppTokenAuth, AuthClient, HttpSignatureAuth, JwtAuth, QredoAuth,
    QredoFreshness, SmileAuth, SmilePlacement, UserToken, UserTokenAuth, fetch_user_token,
};
use std::fmt::Debug;
use std::sync::Arc;
use tiny_server::{Recorded, Reply, TinyServer};

const RSA_PEM: &str = include_str!("../../../testvectors/fixtures/rsa2048-pkcs1.pem");
const API_KEY: &str = "pa_live_debug-test-api-key-0123456789";
const USER_TOKEN: &str = "user-token-secret-value-abcdef";
const APP_TOKEN: &str = "axt1.app-token-secret-value-abcdef";
const JWT_SECRET: &str = "jwt-hmac-secret-value-0123456789ab";
const SMILE_KEY: &str = "smile-api-key-secret-value";

/// `value`'s Debug, checked to contain none of `secrets` and all of `shown`.
fn check(value: &impl Debug, secrets: &[&str], shown: &[&str]) -> String {
    let text = format!("{value:?}");
    let pretty = format!("{value:#?}");
    for secret in secrets {
        assert!(
            !text.contains(secret) && !pretty.contains(secret),
            "Debug shows a secret: {text}"
        );
    }
    for s in shown {
        assert!(text.contains(s), "Debug should show {s}: {text}");
    }
    text
}

/// A chunk from the middle of the RSA private key's PEM (its DER would show up as such).
fn rsa_chunk() -> &'static str {
    let body = RSA_PEM.lines().nth(10).unwrap();
    &body[..32]
}

#[test]
fn a_user_token_shows_its_expiry_not_the_token() {
    let t = UserToken {
        access_token: USER_TOKEN.into(),
        expires_at: UnixTime::from_secs(1_700_000_600),
    };
    check(
        &t,
        &[USER_TOKEN],
        &["UserToken", "[redacted]", &format!("{:?}", t.expires_at)],
    );
}

#[test]
fn the_signing_schemes_redact_their_keys() {
    for placement in [ApiKeyPlacement::Bearer, ApiKeyPlacement::XApiKey] {
        check(
            &ApiKeyAuth::new(API_KEY, placement),
            &[API_KEY],
            &["ApiKeyAuth", &format!("{placement:?}")],
        );
    }
    let rsa = PrivateKey::from_pem(RSA_PEM).unwrap();
    let signer = SigningKey::new(
        &rsa,
        SignatureAlgorithm::RsaPkcs1Sha256,
        &SystemRandom::new(),
    )
    .unwrap();
    check(
        &QredoAuth::new(API_KEY, signer, QredoFreshness::Timestamp),
        &[API_KEY, rsa_chunk()],
        &["QredoAuth", "Timestamp"],
    );
    let ed = keys::generate_ed25519(&SystemRandom::new()).unwrap();
    let signer = SigningKey::new(&ed, SignatureAlgorithm::Ed25519, &SystemRandom::new()).unwrap();
    check(
        &HttpSignatureAuth::new("ed-key-1", signer),
        &[],
        &["HttpSignatureAuth", "ed-key-1", "redacted"],
    );
    for placement in [SmilePlacement::Headers, SmilePlacement::BodyFields] {
        check(
            &SmileAuth::new("085", SMILE_KEY, placement).unwrap(),
            &[SMILE_KEY],
            &["SmileAuth", "085", &format!("{placement:?}")],
        );
    }
    let client =
        AuthClient::new(Arc::new(ApiKeyAuth::new(API_KEY, ApiKeyPlacement::Bearer))).unwrap();
    check(&client, &[API_KEY], &["AuthClient"]);
}

/// Serves user and app tokens, and 200 for anything else.
async fn token_server() -> TinyServer {
    TinyServer::start(|r: Recorded| async move {
        match r.path() {
            "/sessions" => Reply::ok(format!("{{\"access_token\":\"{USER_TOKEN}\"}}")),
            "/auth" => Reply::ok(format!("{{\"token\":\"{APP_TOKEN}\"}}")),
            _ => Reply::ok("ok"),
        }
    })
    .await
}

#[tokio::test]
async fn the_token_clients_redact_keys_and_cached_tokens() {
    let s = token_server().await;
    // JWT: the HMAC secret and the cached token.
    let jwt = Arc::new(JwtAuth::new(
        JwtSigner::hmac(
            &HmacSecret::from_bytes(JWT_SECRET.as_bytes()).unwrap(),
            Algorithm::HS256,
        )
        .unwrap(),
        "partner-1",
    ));
    let token = jwt.token().await.unwrap();
    check(
        &*jwt,
        &[JWT_SECRET, &token],
        &["JwtAuth", "partner-1", "minted: 1"],
    );
    // User tokens: the API key and the token fetched for a real request.
    let user = Arc::new(UserTokenAuth::new(
        reqwest::Client::new(),
        &format!("{}/sessions", s.base),
        API_KEY,
        &["user:rate"],
    ));
    let c = AuthClient::new(user.clone()).unwrap();
    assert_eq!(
        c.send(c.http().get(format!("{}/api", s.base)))
            .await
            .unwrap()
            .status(),
        200
    );
    let sent = s
        .requests()
        .last()
        .unwrap()
        .header("authorization")
        .map(str::to_owned);
    assert_eq!(
        sent,
        Some(format!("Bearer {USER_TOKEN}")),
        "the token is cached"
    );
    check(
        &*user,
        &[API_KEY, USER_TOKEN],
        &["UserTokenAuth", "/sessions", "user:rate", "minted: 1"],
    );
    // fetch_user_token's result.
    let t = fetch_user_token(
        &reqwest::Client::new(),
        &format!("{}/sessions", s.base),
        API_KEY,
        &["user:rate"],
        UnixTime::from_secs(1_700_000_600),
    )
    .await
    .unwrap();
    assert_eq!(t.access_token, USER_TOKEN);
    check(&t, &[USER_TOKEN], &["UserToken"]);
    // App tokens: the token obtained for a real request.
    let app = Arc::new(AppTokenAuth::new(
        reqwest::Client::new(),
        &format!("{}/auth", s.base),
        r#"{"appId":"com.example.sensor","displayName":"Sensor","version":"1.0.0"}"#,
    ));
    let c = AuthClient::new(app.clone()).unwrap();
    assert_eq!(
        c.send(c.http().get(format!("{}/api", s.base)))
            .await
            .unwrap()
            .status(),
        200
    );
    check(&*app, &[APP_TOKEN], &["AppTokenAuth", "/auth", "minted: 1"]);
}
