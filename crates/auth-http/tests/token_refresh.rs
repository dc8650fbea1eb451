//! The token clients' shared cache under concurrency, over real HTTP on 127.0.0.1: requests
//! that start together wait for one token instead of each fetching their own, and a burst of
//! 401s for one rejected token leads to exactly one new token (the requests that lost the race
//! retry with the token the winner fetched), each request still retried at most once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod tiny_server;

use auth_core::keys::HmacSecret;
use auth_core::scheme::jwt::{Algorithm, JwtSigner};
use auth_http::client::{AppTokenAuth, AuthClient, ClientAuth, JwtAuth, UserTokenAuth};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tiny_server::{Recorded, Reply, TinyServer};
use tokio::sync::Barrier;

const BURST: u64 = 8;
const MANIFEST: &str = r#"{"appId":"com.example.sensor","displayName":"Sensor","version":"1.0.0"}"#;

/// `/sessions` and `/auth` hand out `tok-1`, `tok-2`, ... (counting in `issued`); `/api`
/// answers 401 to `tok-1` once `BURST` requests carrying it have arrived (so they all fail
/// together), and 200 to any other token.
async fn server(issued: Arc<AtomicU64>) -> TinyServer {
    let barrier = Arc::new(Barrier::new(BURST as usize));
    let first_token_seen = Arc::new(AtomicU64::new(0));
    TinyServer::start(move |r: Recorded| {
        let issued = issued.clone();
        let barrier = barrier.clone();
        let first_token_seen = first_token_seen.clone();
        async move {
            match r.path() {
                "/sessions" => {
                    let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
                    Reply::ok(format!("{{\"access_token\":\"tok-{n}\"}}"))
                }
                "/auth" => {
                    let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
                    Reply::ok(format!("{{\"token\":\"tok-{n}\"}}"))
                }
                _ if r.header("authorization") == Some("Bearer tok-1") => {
                    if first_token_seen.fetch_add(1, Ordering::SeqCst) < BURST {
                        barrier.wait().await;
                    }
                    Reply::status(401)
                }
                _ => Reply::ok("ok"),
            }
        }
    })
    .await
}

/// Sends `BURST` GETs to `/api` at once; returns their statuses.
async fn burst(c: &AuthClient, base: &str) -> Vec<u16> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..BURST {
        let c = c.clone();
        let url = format!("{base}/api");
        set.spawn(async move { c.send(c.http().get(url)).await.unwrap().status().as_u16() });
    }
    set.join_all().await
}

fn user_tokens(base: &str) -> Arc<dyn ClientAuth> {
    Arc::new(UserTokenAuth::new(
        reqwest::Client::new(),
        &format!("{base}/sessions"),
        "pa_live_key",
        &["user:rate"],
    ))
}

fn app_tokens(base: &str) -> Arc<dyn ClientAuth> {
    Arc::new(AppTokenAuth::new(
        reqwest::Client::new(),
        &format!("{base}/auth"),
        MANIFEST,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_401s_for_one_user_token_fetches_one_new_token() {
    let issued = Arc::new(AtomicU64::new(0));
    let s = server(issued.clone()).await;
    let c = AuthClient::new(user_tokens(&s.base)).unwrap();
    assert_eq!(burst(&c, &s.base).await, vec![200; BURST as usize]);
    assert_eq!(
        issued.load(Ordering::SeqCst),
        2,
        "the first token and one replacement"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_401s_for_one_app_token_obtains_one_new_token() {
    let issued = Arc::new(AtomicU64::new(0));
    let s = server(issued.clone()).await;
    let c = AuthClient::new(app_tokens(&s.base)).unwrap();
    assert_eq!(burst(&c, &s.base).await, vec![200; BURST as usize]);
    assert_eq!(
        issued.load(Ordering::SeqCst),
        2,
        "the first token and one replacement"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_start_together_share_one_token() {
    // Every token is good here (tok-1 included, once the burst counter is exhausted).
    for make in [user_tokens, app_tokens] {
        let issued = Arc::new(AtomicU64::new(BURST));
        let s = TinyServer::start({
            let issued = issued.clone();
            move |r: Recorded| {
                let issued = issued.clone();
                async move {
                    match r.path() {
                        "/sessions" | "/auth" => {
                            let n = issued.fetch_add(1, Ordering::SeqCst);
                            Reply::ok(format!("{{\"access_token\":\"t{n}\",\"token\":\"t{n}\"}}"))
                        }
                        _ => Reply::ok("ok"),
                    }
                }
            }
        })
        .await;
        let c = AuthClient::new(make(&s.base)).unwrap();
        assert_eq!(burst(&c, &s.base).await, vec![200; BURST as usize]);
        assert_eq!(issued.load(Ordering::SeqCst) - BURST, 1);
    }
    let s = TinyServer::start(|_| async { Reply::ok("ok") }).await;
    let jwt = Arc::new(JwtAuth::new(
        JwtSigner::hmac(
            &HmacSecret::from_bytes(b"partner-1-shared-secret-32-bytes!").unwrap(),
            Algorithm::HS256,
        )
        .unwrap(),
        "partner-1",
    ));
    let c = AuthClient::new(jwt.clone()).unwrap();
    assert_eq!(burst(&c, &s.base).await, vec![200; BURST as usize]);
    assert_eq!(jwt.minted(), 1);
}
