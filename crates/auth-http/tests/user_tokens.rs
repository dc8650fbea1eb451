//! Altalix restricted user tokens over real HTTP: the partner backend fetches a `user:rate`
//! token from the sessions endpoint with its API key, the app calls the rates endpoint with it;
//! scopes beyond the key's and lifetimes over the cap cannot be minted; expired, revoked and
//! wrong-scope tokens are refused with the right code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::apikey::{self, Environment, KeyPrefix};
use auth_core::credential::Credential;
use auth_core::keys::HmacSecret;
use auth_core::rand::SystemRandom;
use auth_core::scheme::jwt::{Algorithm, JwtKey, JwtSigner};
use auth_core::scheme::user_token::{UserTokenIssuer, UserTokenVerifier};
use auth_http::client::{AuthClient, ClientError, UserTokenAuth, fetch_user_token};
use auth_http::clock::{Clock, OffsetClock, SystemClock};
use auth_http::server::{
    Accept, AuthConfig, AuthLayer, Disclosure, HandlerFn, MemoryReplayStore, MemoryResolver,
    Principal, RequestBody, Route, Routes, Scheme, SharedRevocations, UserTokenConfig,
    issue_session,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::sync::Arc;
use std::time::Duration;
use tower_layer::Layer;

const PROVIDER_SECRET: &[u8] = b"provider-user-token-signing-secret!";

struct Setup {
    base: String,
    api_key: String,
    revocations: Arc<SharedRevocations>,
    server_clock: OffsetClock,
}

async fn start() -> Setup {
    let secret = HmacSecret::from_bytes(PROVIDER_SECRET).unwrap();
    let issuer = Arc::new(UserTokenIssuer::new(
        JwtSigner::hmac(&secret, Algorithm::HS256).unwrap(),
        "https://altalix.example",
    ));
    let verifier = UserTokenVerifier::new(
        JwtKey::hmac(&secret, Algorithm::HS256).unwrap(),
        "https://altalix.example",
    )
    .unwrap();
    let revocations = Arc::new(SharedRevocations::default());
    let resolver = Arc::new(MemoryResolver::new());
    let prefix = KeyPrefix::new("alx").unwrap();
    let key = apikey::generate(&prefix, Environment::Live, &SystemRandom::new()).unwrap();
    resolver.insert(
        Credential::api_key("partner-42", key.digest(), Environment::Live)
            .unwrap()
            .with_scopes(["user:rate", "orders:write"]),
    );
    let tokens = UserTokenConfig::new(Arc::new(verifier), "user:rate", revocations.clone());
    let routes = Routes::new()
        .exact("/api/auth/sessions", Route::new().accept(Accept::ApiKey))
        .prefix("/api/rates", Route::new().accept(Accept::UserToken(tokens)))
        .prefix("/", Route::new().accept(Accept::ApiKey));
    let mut config = AuthConfig::new(prefix, routes);
    config.disclosure = Disclosure::Detailed;
    let server_clock = OffsetClock::new();
    let layer = AuthLayer::with_clock(
        config,
        resolver,
        Arc::new(MemoryReplayStore::default()),
        Arc::new(server_clock.clone()),
    );
    let handler = HandlerFn(move |req: http::Request<RequestBody>| {
        let issuer = issuer.clone();
        async move {
            let p = req.extensions().get::<Principal>().cloned().unwrap();
            let path = req.uri().path().to_owned();
            let body = req.into_body().collect().await.unwrap().to_bytes();
            match (path.as_str(), p.scheme) {
                ("/api/auth/sessions", Scheme::ApiKey) => {
                    issue_session(&issuer, &p, &body, SystemClock.now())
                }
                ("/api/rates", Scheme::UserToken) => http::Response::new(Full::new(Bytes::from(
                    format!("rates for {} via {}", p.partner, p.credential.id()),
                ))),
                _ => {
                    let mut r = http::Response::new(Full::new(Bytes::from_static(
                        b"wrong credential for this route",
                    )));
                    *r.status_mut() = http::StatusCode::FORBIDDEN;
                    r
                }
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(auth_http::server::serve(listener, layer.layer(handler)));
    Setup {
        base,
        api_key: key.expose().to_owned(),
        revocations,
        server_clock,
    }
}

fn code(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text).unwrap()["code"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

async fn rates(base: &str, token: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .get(format!("{base}/api/rates?symbol=ETHEUR&sell_volume=25"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn backend_fetches_token_app_calls_rates() {
    let s = start().await;
    let sessions = format!("{}/api/auth/sessions", s.base);
    let auth = UserTokenAuth::new(
        reqwest::Client::new(),
        &sessions,
        &s.api_key,
        &["user:rate"],
    );
    let c = AuthClient::new(Arc::new(auth)).unwrap();
    let resp = c
        .send(
            c.http()
                .get(format!("{}/api/rates?symbol=ETHEUR&sell_volume=25", s.base)),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.text()
            .await
            .unwrap()
            .starts_with("rates for partner-42 via ")
    );
}

#[tokio::test]
async fn minting_is_limited_to_the_keys_scopes_and_the_lifetime_cap() {
    let s = start().await;
    let http = reqwest::Client::new();
    let sessions = format!("{}/api/auth/sessions", s.base);
    let now = SystemClock.now();
    let err = |r: Result<_, ClientError>| match r {
        Err(ClientError::Auth(e)) => e.message().to_owned(),
        other => panic!(
            "expected a refusal, got {:?}",
            other.map(|t: auth_http::client::UserToken| t.access_token)
        ),
    };
    let over_scope = err(fetch_user_token(
        &http,
        &sessions,
        &s.api_key,
        &["admin:all"],
        now.saturating_add(Duration::from_secs(60)),
    )
    .await);
    assert!(
        over_scope.contains("403") && over_scope.contains("insufficient_scope"),
        "{over_scope}"
    );
    let over_life = err(fetch_user_token(
        &http,
        &sessions,
        &s.api_key,
        &["user:rate"],
        now.saturating_add(Duration::from_secs(3600)),
    )
    .await);
    assert!(
        over_life.contains("400") && over_life.contains("at most 600 s"),
        "{over_life}"
    );
    // Without the API key, no token at all: a damaged key is 400, an unknown one 401.
    let unknown = apikey::generate(
        &KeyPrefix::new("alx").unwrap(),
        Environment::Live,
        &SystemRandom::new(),
    )
    .unwrap();
    let damaged = err(fetch_user_token(
        &http,
        &sessions,
        "alx_live_wrong",
        &["user:rate"],
        now.saturating_add(Duration::from_secs(60)),
    )
    .await);
    assert!(damaged.contains("400"), "{damaged}");
    let no_key = err(fetch_user_token(
        &http,
        &sessions,
        unknown.expose(),
        &["user:rate"],
        now.saturating_add(Duration::from_secs(60)),
    )
    .await);
    assert!(no_key.contains("401"), "{no_key}");
}

#[tokio::test]
async fn expired_revoked_and_wrong_scope_tokens_are_refused() {
    let s = start().await;
    let http = reqwest::Client::new();
    let sessions = format!("{}/api/auth/sessions", s.base);
    let now = SystemClock.now();
    // Wrong scope: a valid token that does not grant user:rate.
    let t = fetch_user_token(
        &http,
        &sessions,
        &s.api_key,
        &["orders:write"],
        now.saturating_add(Duration::from_secs(60)),
    )
    .await
    .unwrap();
    let (status, body) = rates(&s.base, &t.access_token).await;
    assert_eq!((status, code(&body).as_str()), (403, "insufficient_scope"));
    // Revoked by jti.
    let t = fetch_user_token(
        &http,
        &sessions,
        &s.api_key,
        &["user:rate"],
        now.saturating_add(Duration::from_secs(60)),
    )
    .await
    .unwrap();
    assert_eq!(rates(&s.base, &t.access_token).await.0, 200);
    let (_, body) = rates(&s.base, &t.access_token).await;
    let jti = body.rsplit(' ').next().unwrap().to_owned();
    s.revocations.revoke(&jti, t.expires_at);
    let (status, body) = rates(&s.base, &t.access_token).await;
    assert_eq!((status, code(&body).as_str()), (401, "revoked_key"));
    // A token whose signature was tampered with.
    let short = fetch_user_token(
        &http,
        &sessions,
        &s.api_key,
        &["user:rate"],
        now.saturating_add(Duration::from_secs(120)),
    )
    .await
    .unwrap();
    assert_eq!(rates(&s.base, &short.access_token).await.0, 200);
    let mut bad = short.access_token.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == 'A' { 'B' } else { 'A' });
    let (status, body) = rates(&s.base, &bad).await;
    assert_eq!((status, code(&body).as_str()), (401, "invalid_token"));
    // Expired: the server's clock moves 3 minutes on, past exp plus the 30 s leeway.
    s.server_clock.set_ahead_ms(180_000);
    let (status, body) = rates(&s.base, &short.access_token).await;
    assert_eq!((status, code(&body).as_str()), (401, "token_expired"));
}
