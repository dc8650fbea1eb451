//! JWT partner tokens end to end: the token manager against a real server (accepted, wrong
//! secret, expired, missing scope), against a server whose tokens live 2 seconds (no 401 ever
//! reaches the caller, at most one retry per expiry), and against a server that always answers
//! 401 (exactly one retry, then the 401 is returned).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::apikey::{Environment, KeyPrefix};
use auth_core::credential::{Credential, Material};
use auth_core::keys::HmacSecret;
use auth_core::scheme::jwt::{Algorithm, JwtKey, JwtSigner};
use auth_http::client::{AuthClient, JwtAuth};
use auth_http::clock::OffsetClock;
use auth_http::server::{
    Accept, AuthConfig, AuthLayer, BoxFuture, Disclosure, HandlerFn, MemoryReplayStore,
    MemoryResolver, Principal, RequestBody, Route, Routes, require_scope,
};
use bytes::Bytes;
use http_body_util::Full;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower_layer::Layer;
use tower_service::Service;

const SECRET: &[u8] = b"partner-1-shared-secret-32-bytes!";

async fn handler(req: http::Request<RequestBody>) -> http::Response<Full<Bytes>> {
    if req.uri().path() == "/rates"
        && let Err(r) = require_scope(&req, "user:rate")
    {
        return r.into_response();
    }
    let p = req.extensions().get::<Principal>().cloned().unwrap();
    http::Response::new(Full::new(Bytes::from(format!(
        "{}:{}",
        p.partner,
        p.scheme.as_str()
    ))))
}

/// Counts the responses with status 401 that leave the server.
#[derive(Clone)]
struct Count401<S>(S, Arc<AtomicU64>);

impl<S, Req, B> Service<Req> for Count401<S>
where
    S: Service<Req, Response = http::Response<B>> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let fut = self.0.call(req);
        let counter = self.1.clone();
        Box::pin(async move {
            let resp = fut.await?;
            if resp.status() == 401 {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            Ok(resp)
        })
    }
}

async fn start(max_lifetime: Duration) -> (String, Arc<AtomicU64>) {
    let resolver = Arc::new(MemoryResolver::new());
    let key = JwtKey::hmac(&HmacSecret::from_bytes(SECRET).unwrap(), Algorithm::HS256)
        .unwrap()
        .for_client("partner-1");
    // Tokens without a kid are found by their clientId.
    resolver.insert(
        Credential::new(
            "partner-1",
            "partner-1",
            Environment::Live,
            Material::Jwt(Arc::new(key)),
        )
        .unwrap(),
    );
    let policy = auth_core::scheme::jwt::JwtPolicy::default()
        .with_max_lifetime(max_lifetime)
        .with_leeway(Duration::ZERO);
    let mut config = AuthConfig::new(
        KeyPrefix::new("pa").unwrap(),
        Routes::new().prefix("/", Route::new().accept(Accept::Jwt(policy))),
    );
    config.disclosure = Disclosure::Detailed;
    let layer = AuthLayer::new(config, resolver, Arc::new(MemoryReplayStore::default()));
    let count = Arc::new(AtomicU64::new(0));
    let service = Count401(layer.layer(HandlerFn(handler)), count.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(auth_http::server::serve(listener, service));
    (base, count)
}

fn signer(secret: &[u8]) -> JwtSigner {
    JwtSigner::hmac(&HmacSecret::from_bytes(secret).unwrap(), Algorithm::HS256).unwrap()
}

async fn get(c: &AuthClient, url: &str) -> (u16, String) {
    let resp = c.send(c.http().get(url)).await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn tokens_are_accepted_and_rejected_with_the_seed_reasons() {
    let (base, _) = start(Duration::from_secs(15 * 60)).await;
    let url = format!("{base}/orders");
    let c = AuthClient::new(Arc::new(JwtAuth::new(signer(SECRET), "partner-1"))).unwrap();
    assert_eq!(get(&c, &url).await, (200, "partner-1:jwt".into()));

    let code = |body: &str| {
        serde_json::from_str::<serde_json::Value>(body).unwrap()["code"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // Wrong secret: Invalid Token (after one retry with a fresh token, still invalid).
    let c = AuthClient::new(Arc::new(JwtAuth::new(
        signer(b"not-the-partner-secret-at-all!!!"),
        "partner-1",
    )))
    .unwrap();
    let (status, body) = get(&c, &url).await;
    assert_eq!((status, code(&body).as_str()), (401, "invalid_token"));
    // A token from 20 minutes ago: Token Expired.
    let clock = OffsetClock::new();
    clock.set_behind_ms(20 * 60 * 1000);
    let auth = JwtAuth::new(signer(SECRET), "partner-1").with_clock(Arc::new(clock));
    let c = AuthClient::new(Arc::new(auth)).unwrap();
    let (status, body) = get(&c, &url).await;
    assert_eq!((status, code(&body).as_str()), (401, "token_expired"));
    // Valid token, another client's key: Unauthorized.
    let c = AuthClient::new(Arc::new(JwtAuth::new(signer(SECRET), "partner-2"))).unwrap();
    let (status, body) = get(&c, &url).await;
    assert_eq!(status, 401);
    assert!(
        ["unauthorized", "invalid_token"].contains(&code(&body).as_str()),
        "{body}"
    );
    // Valid token without the route's scope: 403.
    let c = AuthClient::new(Arc::new(JwtAuth::new(signer(SECRET), "partner-1"))).unwrap();
    let (status, body) = get(&c, &format!("{base}/rates")).await;
    assert_eq!((status, code(&body).as_str()), (403, "insufficient_scope"));
}

#[tokio::test]
async fn two_second_tokens_never_surface_a_401() {
    let (base, server_401s) = start(Duration::from_secs(2)).await;
    let url = format!("{base}/orders");
    let auth = Arc::new(
        JwtAuth::new(signer(SECRET), "partner-1")
            .with_lifetime(Duration::from_secs(2))
            .with_refresh_margin(Duration::from_millis(500)),
    );
    let c = AuthClient::new(auth.clone()).unwrap();
    let started = Instant::now();
    let mut requests = 0u64;
    while started.elapsed() < Duration::from_secs(7) {
        let (status, body) = get(&c, &url).await;
        assert_eq!(
            status, 200,
            "a 401 reached the caller after {requests} requests: {body}"
        );
        requests += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let expiries = 7 / 2 + 1;
    let retries = server_401s.load(Ordering::SeqCst);
    assert!(
        retries <= expiries,
        "{retries} server-side 401s for {expiries} expiries"
    );
    assert!(auth.minted() >= 3, "tokens were renewed: {}", auth.minted());
    println!(
        "jwt 2 s tokens: {requests} requests in 7 s, {} tokens minted, {retries} server-side 401s",
        auth.minted()
    );
}

#[tokio::test]
async fn a_server_that_always_answers_401_gets_exactly_one_retry() {
    let hits = Arc::new(AtomicU64::new(0));
    let seen = hits.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let always_401 = HandlerFn(move |_req: http::Request<RequestBody>| {
        let seen = seen.clone();
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            let mut r = http::Response::new(Full::new(Bytes::from_static(
                b"{\"code\":\"invalid_token\"}",
            )));
            *r.status_mut() = http::StatusCode::UNAUTHORIZED;
            r
        }
    });
    // The handler takes a buffered body; put a trivial buffering adapter in front.
    tokio::spawn(auth_http::server::serve(listener, Buffered(always_401)));
    let auth = Arc::new(JwtAuth::new(signer(SECRET), "partner-1"));
    let c = AuthClient::new(auth.clone()).unwrap();
    let (status, _) = get(&c, &format!("{base}/x")).await;
    assert_eq!(status, 401);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "the original request and exactly one retry"
    );
    assert_eq!(auth.minted(), 2, "the retry carried a freshly minted token");
}

/// Buffers an incoming body into `Full<Bytes>` for a handler (no authentication).
#[derive(Clone)]
struct Buffered<S>(S);

impl<S> Service<http::Request<auth_http::server::DeadlineBody>> for Buffered<S>
where
    S: Service<
            http::Request<RequestBody>,
            Response = http::Response<Full<Bytes>>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Full<Bytes>>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<auth_http::server::DeadlineBody>) -> Self::Future {
        let mut inner = self.0.clone();
        Box::pin(async move {
            use http_body_util::BodyExt;
            let (parts, body) = req.into_parts();
            let bytes = body
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            inner
                .call(http::Request::from_parts(
                    parts,
                    RequestBody::from_bytes(bytes),
                ))
                .await
        })
    }
}
