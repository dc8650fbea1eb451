//! End to end over real sockets: a hyper server on 127.0.0.1 with the AuthLayer, driven by the
//! real reqwest-based AuthClient, for every scheme: accepted when right; rejected with the right
//! status and body for a wrong key, a body altered after signing, a timestamp outside the
//! window, a replay, a missing scope, an oversized body and an unreachable store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::apikey::{self, Environment, KeyPrefix};
use auth_core::credential::{Credential, CredentialRef, Material, Purpose, QredoMode};
use auth_core::keys::{self, PrivateKey, SignatureAlgorithm, SigningKey, VerifyingKey};
use auth_core::rand::SystemRandom;
use auth_http::client::{
    ApiKeyAuth, ApiKeyPlacement, AuthClient, ClientAuth, ClientError, HttpSignatureAuth, QredoAuth,
    QredoFreshness, SmileAuth, SmilePlacement,
};
use auth_http::clock::OffsetClock;
use auth_http::server::{
    Accept, AuthConfig, AuthLayer, BoxFuture, Disclosure, HandlerFn, MemoryReplayStore,
    MemoryResolver, Principal, RequestBody, Route, Routes, require_scope,
};
use bytes::Bytes;
use http_body_util::Full;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use tower_layer::Layer;

const RSA_PEM: &str = include_str!("../../../testvectors/fixtures/rsa2048-pkcs1.pem");
/// The Qredo key of the nonce-mode partner (its own credential: each key has one mode).
const QREDO_NONCE_KEY: &str = "cXJlZG8tbm9uY2Uta2V5LWZvci10ZXN0cw";

struct Server {
    base: String,
    resolver: Arc<MemoryResolver>,
    api_key: String,
    qredo_key: String,
    rsa: PrivateKey,
    ed: PrivateKey,
}

async fn handler(req: http::Request<RequestBody>) -> http::Response<Full<Bytes>> {
    if req.uri().path() == "/rates"
        && let Err(r) = require_scope(&req, "user:rate")
    {
        return r.into_response();
    }
    let p = req.extensions().get::<Principal>().cloned();
    let body = serde_json::json!({
        "partner": p.as_ref().map(|p| p.partner.to_string()),
        "scheme": p.as_ref().map(|p| p.scheme.as_str()),
        "credential": p.as_ref().map(|p| p.credential.to_wire()),
    });
    http::Response::new(Full::new(Bytes::from(body.to_string())))
}

fn partner_route(qredo: auth_core::scheme::qredo::QredoPolicy) -> Route {
    Route::new()
        .accept(Accept::ApiKey)
        .accept(Accept::Qredo(qredo))
        .accept(Accept::http_signature())
        .accept(Accept::smile())
}

fn rsa_public(rsa: &PrivateKey) -> Arc<VerifyingKey> {
    Arc::new(VerifyingKey::new(&rsa.public_key(), SignatureAlgorithm::RsaPkcs1Sha256).unwrap())
}

async fn start() -> Server {
    let rng = SystemRandom::new();
    let resolver = Arc::new(MemoryResolver::new());
    let prefix = KeyPrefix::new("pa").unwrap();
    let issued = apikey::generate(&prefix, Environment::Live, &rng).unwrap();
    resolver.insert(
        Credential::api_key("acme", issued.digest(), Environment::Live)
            .unwrap()
            .with_scopes(["orders:read"]),
    );
    // Qredo: a foreign Base64 API key bound to the partner's RSA public key.
    let qredo_key = "cXJlZG8tc2FuZGJveC1rZXktZm9yLXRlc3Rz".to_string();
    let rsa = PrivateKey::from_pem(RSA_PEM).unwrap();
    for (key, mode) in [
        (qredo_key.as_str(), QredoMode::Timestamp),
        (QREDO_NONCE_KEY, QredoMode::Nonce),
    ] {
        let digest = apikey::ApiKeyDigest::of(key);
        resolver.insert(
            Credential::new(
                "qredo-partner",
                &digest.to_hex(),
                Environment::Live,
                Material::Qredo {
                    api_key: digest,
                    public_key: rsa_public(&rsa),
                    mode,
                },
            )
            .unwrap(),
        );
    }
    // RFC 9421: an Ed25519 key under a key ID.
    let ed = keys::generate_ed25519(&rng).unwrap();
    resolver.insert(
        Credential::new(
            "sig-partner",
            "ed-key-1",
            Environment::Live,
            Material::HttpSignature(Arc::new(
                VerifyingKey::new(&ed.public_key(), SignatureAlgorithm::Ed25519).unwrap(),
            )),
        )
        .unwrap(),
    );
    // Smile: partner "085" whose API key is the HMAC secret.
    resolver.insert(
        Credential::new(
            "085",
            "085",
            Environment::Live,
            Material::Smile(Arc::new(
                auth_core::scheme::smile::SmileKey::new(b"test-api-key").unwrap(),
            )),
        )
        .unwrap(),
    );
    let mut config = AuthConfig::new(
        prefix,
        Routes::new().prefix("/", partner_route(Default::default())),
    );
    config.body_limit = 64 * 1024;
    config.disclosure = Disclosure::Detailed;
    let layer = AuthLayer::new(
        config,
        resolver.clone(),
        Arc::new(MemoryReplayStore::default()),
    );
    let service = layer.layer(HandlerFn(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(auth_http::server::serve(listener, service));
    Server {
        base: format!("http://{addr}"),
        resolver,
        api_key: issued.expose().to_owned(),
        qredo_key,
        rsa,
        ed,
    }
}

async fn json(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn client(auth: impl ClientAuth) -> AuthClient {
    AuthClient::new(Arc::new(auth)).unwrap()
}

/// Authorizes like the wrapped scheme, then swaps the body: the signature no longer matches.
struct TamperBody<A>(A);

impl<A: ClientAuth> ClientAuth for TamperBody<A> {
    fn authorize<'a>(
        &'a self,
        req: &'a mut reqwest::Request,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async move {
            self.0.authorize(req, body).await?;
            *req.body_mut() = Some(reqwest::Body::from(b"{\"amount\":9999}".to_vec()));
            Ok(())
        })
    }
}

/// Sends the same authorized request twice with the raw client.
async fn send_twice(auth: &dyn ClientAuth, url: &str, body: &'static [u8]) -> (u16, (u16, Value)) {
    let http = reqwest::Client::new();
    let mut req = http.post(url).body(body).build().unwrap();
    auth.authorize(&mut req, body).await.unwrap();
    let again = req.try_clone().unwrap();
    let first = http.execute(req).await.unwrap().status().as_u16();
    (first, json(http.execute(again).await.unwrap()).await)
}

fn rsa_signer(s: &Server) -> SigningKey {
    SigningKey::new(
        &s.rsa,
        SignatureAlgorithm::RsaPkcs1Sha256,
        &SystemRandom::new(),
    )
    .unwrap()
}

fn ed_signer(s: &Server) -> SigningKey {
    SigningKey::new(&s.ed, SignatureAlgorithm::Ed25519, &SystemRandom::new()).unwrap()
}

#[tokio::test]
async fn api_key_bearer_and_x_api_key() {
    let s = start().await;
    for placement in [ApiKeyPlacement::Bearer, ApiKeyPlacement::XApiKey] {
        let c = client(ApiKeyAuth::new(&s.api_key, placement));
        let (status, body) = json(
            c.send(c.http().get(format!("{}/orders", s.base)))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["partner"], "acme");
        assert_eq!(body["scheme"], "api_key");
    }
    // Wrong key (well-formed, unknown), a typo, and no credential at all.
    let other = apikey::generate(
        &KeyPrefix::new("pa").unwrap(),
        Environment::Live,
        &SystemRandom::new(),
    )
    .unwrap();
    let c = client(ApiKeyAuth::new(other.expose(), ApiKeyPlacement::Bearer));
    let resp = c
        .send(c.http().get(format!("{}/orders", s.base)))
        .await
        .unwrap();
    assert!(resp.headers().get("www-authenticate").is_some());
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let (status, body) = json(resp).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unknown_key")));
    let mut typo = s.api_key.clone();
    typo.replace_range(10..11, if &typo[10..11] == "a" { "b" } else { "a" });
    let c = client(ApiKeyAuth::new(&typo, ApiKeyPlacement::Bearer));
    let (status, body) = json(
        c.send(c.http().get(format!("{}/orders", s.base)))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("malformed")));
    let (status, body) = json(reqwest::get(format!("{}/orders", s.base)).await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    // The key lacks `user:rate`: 403, not 401.
    let c = client(ApiKeyAuth::new(&s.api_key, ApiKeyPlacement::Bearer));
    let (status, body) = json(
        c.send(c.http().get(format!("{}/rates", s.base)))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("insufficient_scope"))
    );
    // Rotation: revoke the record, the key is inert at once.
    let reference =
        CredentialRef::by_digest(Purpose::ApiKey, &apikey::ApiKeyDigest::of(&s.api_key));
    s.resolver.update(&reference, |c| {
        c.status.revoked_at = Some(auth_core::UnixTime::EPOCH);
    });
    let (status, body) = json(
        c.send(c.http().get(format!("{}/orders", s.base)))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (401, Some("revoked_key")));
}

#[tokio::test]
async fn qredo_signed_requests() {
    let s = start().await;
    let url = format!("{}/api/v1/p/company/search?limit=10", s.base);
    let c = client(QredoAuth::new(
        &s.qredo_key,
        rsa_signer(&s),
        QredoFreshness::Timestamp,
    ));
    let (status, body) = json(
        c.send(c.http().post(&url).body("{\"name\":\"acme\"}"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scheme"], "qredo");
    let expected =
        CredentialRef::by_digest(Purpose::QredoKey, &apikey::ApiKeyDigest::of(&s.qredo_key));
    assert_eq!(body["credential"], expected.to_wire());
    let (status, _) = json(c.send(c.http().get(&url)).await.unwrap()).await;
    assert_eq!(status, 200, "GET with an empty body");

    let qredo_error = |reason: &str| serde_json::json!({"code":401,"msg":"errPartnerAuth","detail":{"reason":reason}});
    // Signed with another RSA key.
    let other = keys::generate_rsa(2048, &SystemRandom::new()).unwrap();
    let wrong = SigningKey::new(
        &other,
        SignatureAlgorithm::RsaPkcs1Sha256,
        &SystemRandom::new(),
    )
    .unwrap();
    let c = client(QredoAuth::new(
        &s.qredo_key,
        wrong,
        QredoFreshness::Timestamp,
    ));
    assert_eq!(
        json(c.send(c.http().post(&url).body("x")).await.unwrap()).await,
        (401, qredo_error("signature"))
    );
    // Body altered after signing.
    let c = client(TamperBody(QredoAuth::new(
        &s.qredo_key,
        rsa_signer(&s),
        QredoFreshness::Timestamp,
    )));
    assert_eq!(
        json(
            c.send(c.http().post(&url).body("{\"amount\":1}"))
                .await
                .unwrap()
        )
        .await,
        (401, qredo_error("signature"))
    );
    // Clock 60 s ahead of the ±30 s window.
    let clock = OffsetClock::new();
    clock.set_ahead_ms(60_000);
    let c = client(QredoAuth::with_clock(
        &s.qredo_key,
        rsa_signer(&s),
        QredoFreshness::Timestamp,
        Arc::new(clock),
    ));
    assert_eq!(
        json(c.send(c.http().get(&url)).await.unwrap()).await,
        (401, qredo_error("timestamp"))
    );
    // Unknown API key.
    let c = client(QredoAuth::new(
        "dW5rbm93bi1rZXktZm9yLXRlc3Rz",
        rsa_signer(&s),
        QredoFreshness::Timestamp,
    ));
    assert_eq!(
        json(c.send(c.http().get(&url)).await.unwrap()).await,
        (401, qredo_error("api_key"))
    );
    // Replay of the exact same signed request.
    let auth = QredoAuth::new(&s.qredo_key, rsa_signer(&s), QredoFreshness::Timestamp);
    let (first, second) = send_twice(&auth, &url, b"{}").await;
    assert_eq!(first, 200);
    assert_eq!(second, (401, qredo_error("timestamp")));
    // A valid Qredo request for a route needing a scope the key lacks: 403.
    let c = client(QredoAuth::new(
        &s.qredo_key,
        rsa_signer(&s),
        QredoFreshness::Timestamp,
    ));
    let (status, body) = json(
        c.send(c.http().get(format!("{}/rates", s.base)))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("insufficient_scope"))
    );
}

#[tokio::test]
async fn qredo_nonce_must_increase() {
    let s = start().await;
    // This server accepts x-nonce as well as x-timestamp.
    let policy = auth_core::scheme::qredo::QredoPolicy::default()
        .with_freshness(auth_core::scheme::qredo::FreshnessMode::TimestampOrNonce);
    let mut config = AuthConfig::new(
        KeyPrefix::new("pa").unwrap(),
        Routes::new().prefix("/", partner_route(policy)),
    );
    config.disclosure = Disclosure::Detailed;
    let layer = AuthLayer::new(
        config,
        s.resolver.clone(),
        Arc::new(MemoryReplayStore::default()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(auth_http::server::serve(
        listener,
        layer.layer(HandlerFn(handler)),
    ));
    let url = format!("{base}/ws");
    let c = client(QredoAuth::new(
        QREDO_NONCE_KEY,
        rsa_signer(&s),
        QredoFreshness::Nonce(AtomicU64::new(100)),
    ));
    for _ in 0..3 {
        assert_eq!(c.send(c.http().get(&url)).await.unwrap().status(), 200);
    }
    // A second client restarting its counter below the last accepted nonce.
    let c = client(QredoAuth::new(
        QREDO_NONCE_KEY,
        rsa_signer(&s),
        QredoFreshness::Nonce(AtomicU64::new(50)),
    ));
    let (status, body) = json(c.send(c.http().get(&url)).await.unwrap()).await;
    assert_eq!(
        (status, &body["detail"]["reason"]),
        (401, &Value::from("nonce"))
    );
}

#[tokio::test]
async fn http_message_signatures() {
    let s = start().await;
    let url = format!("{}/orders?page=2", s.base);
    let c = client(HttpSignatureAuth::new("ed-key-1", ed_signer(&s)));
    let (status, body) = json(
        c.send(c.http().post(&url).body("{\"hello\":\"world\"}"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scheme"], "http_signature");
    assert_eq!(body["partner"], "sig-partner");
    assert_eq!(json(c.send(c.http().get(&url)).await.unwrap()).await.0, 200);

    let code = |v: &(u16, Value)| (v.0, v.1["code"].as_str().map(str::to_owned));
    // Unknown key ID, and a registered key ID signed by another key.
    let c = client(HttpSignatureAuth::new("nobody", ed_signer(&s)));
    assert_eq!(
        code(&json(c.send(c.http().get(&url)).await.unwrap()).await),
        (401, Some("unknown_key".into()))
    );
    let other = keys::generate_ed25519(&SystemRandom::new()).unwrap();
    let wrong = SigningKey::new(&other, SignatureAlgorithm::Ed25519, &SystemRandom::new()).unwrap();
    let c = client(HttpSignatureAuth::new("ed-key-1", wrong));
    assert_eq!(
        code(&json(c.send(c.http().get(&url)).await.unwrap()).await),
        (401, Some("signature_mismatch".into()))
    );
    // Body altered after signing: Content-Digest no longer matches.
    let c = client(TamperBody(HttpSignatureAuth::new(
        "ed-key-1",
        ed_signer(&s),
    )));
    assert_eq!(
        code(
            &json(
                c.send(c.http().post(&url).body("{\"amount\":1}"))
                    .await
                    .unwrap()
            )
            .await
        ),
        (401, Some("digest_mismatch".into()))
    );
    // created 10 minutes ago, beyond the 5-minute maximum age.
    let clock = OffsetClock::new();
    clock.set_behind_ms(600_000);
    let c = client(HttpSignatureAuth::with_clock(
        "ed-key-1",
        ed_signer(&s),
        Arc::new(clock),
    ));
    assert_eq!(
        code(&json(c.send(c.http().get(&url)).await.unwrap()).await),
        (401, Some("stale_timestamp".into()))
    );
    // Replay.
    let auth = HttpSignatureAuth::new("ed-key-1", ed_signer(&s));
    let (first, second) = send_twice(&auth, &url, b"{}").await;
    assert_eq!(first, 200);
    assert_eq!(code(&second), (401, Some("replayed".into())));
    // Missing scope.
    let c = client(HttpSignatureAuth::new("ed-key-1", ed_signer(&s)));
    assert_eq!(
        code(
            &json(
                c.send(c.http().get(format!("{}/rates", s.base)))
                    .await
                    .unwrap()
            )
            .await
        ),
        (403, Some("insufficient_scope".into()))
    );
}

#[tokio::test]
async fn smile_signatures_in_headers_and_body() {
    let s = start().await;
    let url = format!("{}/v1/id_verification", s.base);
    let code = |v: &(u16, Value)| (v.0, v.1["code"].as_str().map(str::to_owned));
    for placement in [SmilePlacement::Headers, SmilePlacement::BodyFields] {
        let c = client(SmileAuth::new("085", "test-api-key", placement).unwrap());
        let (status, body) = json(
            c.send(c.http().post(&url).body("{\"job\":1}"))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{placement:?}: {body}");
        assert_eq!(body["scheme"], "smile");
        assert_eq!(body["partner"], "085");
    }
    // Wrong API key, unknown partner, stale timestamp, replay, missing scope.
    let c = client(SmileAuth::new("085", "not-the-api-key", SmilePlacement::Headers).unwrap());
    assert_eq!(
        code(&json(c.send(c.http().post(&url)).await.unwrap()).await),
        (401, Some("signature_mismatch".into()))
    );
    let c = client(SmileAuth::new("999", "test-api-key", SmilePlacement::Headers).unwrap());
    assert_eq!(
        code(&json(c.send(c.http().post(&url)).await.unwrap()).await),
        (401, Some("unknown_key".into()))
    );
    let clock = OffsetClock::new();
    clock.set_behind_ms(10 * 60 * 1000);
    let c = client(
        SmileAuth::new("085", "test-api-key", SmilePlacement::Headers)
            .unwrap()
            .with_clock(Arc::new(clock)),
    );
    assert_eq!(
        code(&json(c.send(c.http().post(&url)).await.unwrap()).await),
        (401, Some("stale_timestamp".into()))
    );
    let auth = SmileAuth::new("085", "test-api-key", SmilePlacement::Headers).unwrap();
    let (first, second) = send_twice(&auth, &url, b"{}").await;
    assert_eq!(first, 200);
    assert_eq!(code(&second), (401, Some("replayed".into())));
    let c = client(SmileAuth::new("085", "test-api-key", SmilePlacement::Headers).unwrap());
    assert_eq!(
        code(
            &json(
                c.send(c.http().get(format!("{}/rates", s.base)))
                    .await
                    .unwrap()
            )
            .await
        ),
        (403, Some("insufficient_scope".into()))
    );
}

#[tokio::test]
async fn oversized_bodies_and_store_outages() {
    let s = start().await;
    let url = format!("{}/orders", s.base);
    let c = client(HttpSignatureAuth::new("ed-key-1", ed_signer(&s)));
    let big = vec![b'a'; 65 * 1024];
    let (status, body) = json(c.send(c.http().post(&url).body(big)).await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (413, Some("too_large")));
    // Chunked (no Content-Length) oversized body: refused while reading, still 413.
    let stream = futures_stream(70 * 1024);
    let resp = reqwest::Client::new()
        .post(&url)
        .body(reqwest::Body::wrap(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    // The store is down: 503, never 200.
    s.resolver.set_unavailable(true);
    let c = client(ApiKeyAuth::new(&s.api_key, ApiKeyPlacement::Bearer));
    assert_eq!(json(c.send(c.http().get(&url)).await.unwrap()).await.0, 503);
    s.resolver.set_unavailable(false);
    assert_eq!(json(c.send(c.http().get(&url)).await.unwrap()).await.0, 200);
}

type Frames = std::vec::IntoIter<Result<http_body::Frame<Bytes>, std::io::Error>>;

/// A streaming body of `n` bytes in 1 KiB frames (sent chunked, without Content-Length).
fn futures_stream(n: usize) -> http_body_util::StreamBody<tokio_stream::Iter<Frames>> {
    let frames: Vec<_> = (0..n / 1024)
        .map(|_| Ok(http_body::Frame::data(Bytes::from(vec![b'b'; 1024]))))
        .collect();
    http_body_util::StreamBody::new(tokio_stream::iter(frames))
}
