//! Regression tests for the verifying layer's bypasses found in issue #9, each over real HTTP
//! against `serve` + `AuthLayer` (or through the public resolver API where the finding is
//! there). Each test names its finding; each failed on the layer before the credential model.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::apikey::{self, ApiKeyDigest, Environment, KeyPrefix};
use auth_core::credential::{
    Credential, CredentialRef, Material, Principal, Purpose, QredoMode, Scopes, Status,
};
use auth_core::keys::{self, HmacSecret, PrivateKey, SignatureAlgorithm, SigningKey, VerifyingKey};
use auth_core::rand::SystemRandom;
use auth_core::request::{Body, Headers, Message, Request, TargetUri};
use auth_core::scheme::apptrust::{AppManifest, AuthorityKey, AxPublicKey, Epoch, Licensing};
use auth_core::scheme::apptrust::{TokenIssuer, TokenVerifier};
use auth_core::scheme::jwt::{Algorithm, JwtKey, JwtSigner};
use auth_core::scheme::qredo::{FreshnessMode, QredoPolicy};
use auth_core::scheme::rfc9421::{self, NonceRequirement, VerifyPolicy};
use auth_core::scheme::user_token::{UserTokenIssuer, UserTokenVerifier};
use auth_http::client::{
    ApiKeyAuth, ApiKeyPlacement, AuthClient, ClientAuth, QredoAuth, QredoFreshness,
};
use auth_http::clock::{Clock, SystemClock};
use auth_http::server::{
    Accept, AppAuthEndpoint, AppTokenConfig, AuthConfig, AuthLayer, BoxFuture, CachingResolver,
    Disclosure, HandlerFn, KeyResolver, Lookup, MemoryReplayStore, MemoryResolver, RequestBody,
    Route, Routes, SharedRevocations, TrialApps, UserTokenConfig, issue_session,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower_layer::Layer;

const RSA_PEM: &str = include_str!("../../../testvectors/fixtures/rsa2048-pkcs1.pem");
const QREDO_KEY: &str = "cXJlZG8tc2FuZGJveC1rZXktZm9yLXRlc3Rz";
const AUTHORITY: &str = "075i62XGQJuXjv6nnLQyJzECZhF29acYvYeEOJ3kc5M8=";
const USER_TOKEN_SECRET: &[u8] = b"provider-user-token-signing-secret!";

/// Echoes the principal, or serves the sessions and app-auth endpoints.
async fn handler(
    req: http::Request<RequestBody>,
    sessions: Arc<UserTokenIssuer>,
    apps: Arc<AppAuthEndpoint>,
) -> http::Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let principal = req.extensions().get::<Principal>().cloned();
    if path == "/api/v2/auth" {
        let body = req.into_body().collect().await.unwrap().to_bytes();
        return apps.handle(&body, SystemClock.now());
    }
    if path == "/api/auth/sessions" {
        let body = req.into_body().collect().await.unwrap().to_bytes();
        let now = SystemClock.now();
        return issue_session(&sessions, &principal.unwrap(), &body, now);
    }
    let p = principal.unwrap();
    let body = serde_json::json!({
        "partner": p.partner.as_str(),
        "scheme": p.scheme.as_str(),
        "credential": p.credential.to_wire(),
    });
    http::Response::new(Full::new(Bytes::from(body.to_string())))
}

struct Harness {
    base: String,
    resolver: Arc<MemoryResolver>,
    api_key: String,
    rsa: PrivateKey,
}

fn rsa_public(rsa: &PrivateKey) -> Arc<VerifyingKey> {
    Arc::new(VerifyingKey::new(&rsa.public_key(), SignatureAlgorithm::RsaPkcs1Sha256).unwrap())
}

fn qredo_credential(partner: &str, key: &str, rsa: &PrivateKey, mode: QredoMode) -> Credential {
    let digest = ApiKeyDigest::of(key);
    Credential::new(
        partner,
        &digest.to_hex(),
        Environment::Live,
        Material::Qredo {
            api_key: digest,
            public_key: rsa_public(rsa),
            mode,
        },
    )
    .unwrap()
}

/// A server whose routes each name their schemes: partner routes (API key, Qredo with nonces
/// allowed, RFC 9421), the sessions route (API key and user tokens, to show the endpoint
/// itself refuses tokens), a user-token route, a signed-apps route and a trial-apps route.
async fn start(replay: MemoryReplayStore, disclosure: Disclosure) -> Harness {
    let rng = SystemRandom::new();
    let resolver = Arc::new(MemoryResolver::new());
    let prefix = KeyPrefix::new("pa").unwrap();
    let issued = apikey::generate(&prefix, Environment::Live, &rng).unwrap();
    resolver.insert(
        Credential::api_key("acme", issued.digest(), Environment::Live)
            .unwrap()
            .with_scopes(["user:rate"]),
    );
    let rsa = PrivateKey::from_pem(RSA_PEM).unwrap();
    resolver.insert(qredo_credential(
        "qredo-partner",
        QREDO_KEY,
        &rsa,
        QredoMode::Timestamp,
    ));

    let secret = HmacSecret::from_bytes(USER_TOKEN_SECRET).unwrap();
    let sessions = Arc::new(UserTokenIssuer::new(
        JwtSigner::hmac(&secret, Algorithm::HS256).unwrap(),
        "https://altalix.example",
    ));
    let user_tokens = UserTokenConfig::new(
        Arc::new(
            UserTokenVerifier::new(
                JwtKey::hmac(&secret, Algorithm::HS256).unwrap(),
                "https://altalix.example",
            )
            .unwrap(),
        ),
        "user:rate",
        Arc::new(SharedRevocations::default()),
    );

    let node_key = keys::generate_ed25519(&rng).unwrap();
    let issuer = TokenIssuer::new(
        SigningKey::new(&node_key, SignatureAlgorithm::Ed25519, &rng).unwrap(),
        Epoch(1),
    )
    .unwrap();
    let verifier = Arc::new(TokenVerifier::new(&issuer.public_key().unwrap(), Epoch(1)).unwrap());
    let apps = Arc::new(AppAuthEndpoint {
        authority: AuthorityKey::new(AxPublicKey::from_text(AUTHORITY).unwrap()).unwrap(),
        licensing: Licensing::development(),
        issuer,
    });

    let qredo = QredoPolicy::default().with_freshness(FreshnessMode::TimestampOrNonce);
    let partner = Route::new()
        .accept(Accept::ApiKey)
        .accept(Accept::Qredo(qredo))
        .accept(Accept::http_signature());
    let routes = Routes::new()
        .exact("/api/v2/auth", Route::public())
        .exact(
            "/api/auth/sessions",
            Route::new()
                .accept(Accept::ApiKey)
                .accept(Accept::UserToken(user_tokens.clone())),
        )
        .prefix(
            "/api/rates",
            Route::new().accept(Accept::UserToken(user_tokens)),
        )
        .prefix(
            "/apps/signed",
            Route::new().accept(Accept::AppToken(AppTokenConfig::new(verifier.clone()))),
        )
        .prefix(
            "/apps/trial",
            Route::new().accept(Accept::AppToken(
                AppTokenConfig::new(verifier).with_trial_apps(TrialApps::Accept),
            )),
        )
        .prefix("/", partner);
    let mut config = AuthConfig::new(prefix, routes);
    config.disclosure = disclosure;
    let layer = AuthLayer::new(config, resolver.clone(), Arc::new(replay));
    let service = layer.layer(HandlerFn(move |req| {
        handler(req, sessions.clone(), apps.clone())
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(auth_http::server::serve(listener, service));
    Harness {
        base,
        resolver,
        api_key: issued.expose().to_owned(),
        rsa,
    }
}

async fn detailed() -> Harness {
    start(MemoryReplayStore::default(), Disclosure::Detailed).await
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

fn qredo_signer(h: &Harness) -> SigningKey {
    SigningKey::new(
        &h.rsa,
        SignatureAlgorithm::RsaPkcs1Sha256,
        &SystemRandom::new(),
    )
    .unwrap()
}

/// Finding 1: a Qredo `x-api-key` authenticates only with its signature, never alone.
#[tokio::test]
async fn f01_qredo_key_is_not_a_bearer_key() {
    let h = detailed().await;
    let url = format!("{}/orders", h.base);
    let signed = client(QredoAuth::new(
        QREDO_KEY,
        qredo_signer(&h),
        QredoFreshness::Timestamp,
    ));
    assert_eq!(
        signed.send(signed.http().get(&url)).await.unwrap().status(),
        200
    );
    for placement in [ApiKeyPlacement::XApiKey, ApiKeyPlacement::Bearer] {
        let alone = client(ApiKeyAuth::new(QREDO_KEY, placement));
        let (status, body) = json(alone.send(alone.http().get(&url)).await.unwrap()).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("unknown_key")),
            "{placement:?}"
        );
    }
}

async fn app_token(h: &Harness, manifest: &str) -> String {
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v2/auth", h.base))
        .body(manifest.to_owned())
        .send()
        .await
        .unwrap();
    let (status, body) = json(resp).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// Finding 2: tokens minted for unsigned `com.example.*` manifests work only on routes that
/// opted into app tokens and trial apps, by header or `?access_token=`.
#[tokio::test]
async fn f02_trial_app_tokens_only_where_a_route_opts_in() {
    let h = detailed().await;
    let trial = r#"{"appId":"com.example.sensor","displayName":"Sensor","version":"1.0.0"}"#;
    // The trial rule of app trust itself still holds.
    assert!(AppManifest::from_json(trial).is_ok());
    let token = app_token(&h, trial).await;
    let http = reqwest::Client::new();
    for path in ["/orders", "/api/rates", "/apps/signed/events"] {
        let by_header = http
            .get(format!("{}{path}", h.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(by_header.status(), 401, "{path} by header");
        let by_query = http
            .get(format!("{}{path}?access_token={token}", h.base))
            .send()
            .await
            .unwrap();
        assert_eq!(by_query.status(), 401, "{path} by query");
    }
    let ok = http
        .get(format!("{}/apps/trial/events?access_token={token}", h.base))
        .send()
        .await
        .unwrap();
    let (status, body) = json(ok).await;
    assert_eq!((status, body["scheme"].as_str()), (200, Some("app_token")));
}

/// Sends `headers` (name, value) on a GET to `url` with the raw client.
async fn send_raw(url: &str, headers: &[(String, String)]) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(url);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    json(req.send().await.unwrap()).await
}

/// The headers QredoAuth puts on a GET of `url`.
async fn qredo_headers(auth: &QredoAuth, url: &str) -> Vec<(String, String)> {
    let mut req = reqwest::Client::new().get(url).build().unwrap();
    auth.authorize(&mut req, b"").await.unwrap();
    req.headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect()
}

fn rename(headers: &[(String, String)], from: &str, to: &str) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| (if k == from { to.to_owned() } else { k.clone() }, v.clone()))
        .collect()
}

/// Finding 3: `x-timestamp: N` and `x-nonce: N` sign the same bytes; a request captured in one
/// mode must not replay in the other. Each key is bound to one mode.
#[tokio::test]
async fn f03_qredo_modes_share_one_replay_space() {
    let h = detailed().await;
    let nonce_key = "cXJlZG8tbm9uY2UtbW9kZS1rZXktZm9yLXRlc3Rz";
    h.resolver.insert(qredo_credential(
        "qredo-partner",
        nonce_key,
        &h.rsa,
        QredoMode::Nonce,
    ));
    let url = format!("{}/orders", h.base);
    // Timestamp mode captured, replayed as nonce mode (a timestamp exceeds any counter).
    let auth = QredoAuth::new(QREDO_KEY, qredo_signer(&h), QredoFreshness::Timestamp);
    let captured = qredo_headers(&auth, &url).await;
    assert_eq!(send_raw(&url, &captured).await.0, 200);
    let (status, body) = send_raw(&url, &rename(&captured, "x-timestamp", "x-nonce")).await;
    assert!(matches!(status, 400 | 401), "{status} {body}");
    // Nonce mode captured (a nonce that looks like a fresh timestamp), replayed as timestamp.
    let now = SystemClock.now().as_secs();
    let auth = QredoAuth::new(
        nonce_key,
        qredo_signer(&h),
        QredoFreshness::Nonce(std::sync::atomic::AtomicU64::new(now - 1)),
    );
    let captured = qredo_headers(&auth, &url).await;
    assert_eq!(send_raw(&url, &captured).await.0, 200);
    let (status, body) = send_raw(&url, &rename(&captured, "x-nonce", "x-timestamp")).await;
    assert!(matches!(status, 400 | 401), "{status} {body}");
    assert_eq!(
        send_raw(&url, &captured).await.0,
        401,
        "and not again as a nonce"
    );
}

/// Finding 4: a user token is not its partner: refused on partner routes, and the sessions
/// endpoint refuses to renew it (so no token outlives its cap or its revocation).
#[tokio::test]
async fn f04_user_tokens_are_not_the_partner() {
    let h = detailed().await;
    let sessions = format!("{}/api/auth/sessions", h.base);
    let expires = SystemClock.now().saturating_add(Duration::from_secs(300));
    let token = auth_http::client::fetch_user_token(
        &reqwest::Client::new(),
        &sessions,
        &h.api_key,
        &["user:rate"],
        expires,
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let bearer = |url: String| http.get(url).bearer_auth(&token.access_token);
    let (status, body) = json(
        bearer(format!("{}/api/rates", h.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["scheme"].as_str()), (200, Some("user_token")));
    let (status, _) = json(bearer(format!("{}/orders", h.base)).send().await.unwrap()).await;
    assert_eq!(status, 401, "a partner route does not take user tokens");
    let renew = http
        .post(&sessions)
        .bearer_auth(&token.access_token)
        .body(format!(
            r#"{{"scopes":["user:rate"],"expires_at":"{}"}}"#,
            expires.to_rfc3339()
        ))
        .send()
        .await
        .unwrap();
    let (status, body) = json(renew).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("insufficient_scope")),
        "{body}"
    );
}

/// A resolver whose lookups wait until released, counting calls.
struct Gated {
    inner: MemoryResolver,
    gate: tokio::sync::Semaphore,
    calls: AtomicUsize,
}

impl KeyResolver for Gated {
    fn resolve<'a>(&'a self, reference: &'a CredentialRef) -> BoxFuture<'a, Lookup> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let answer = self.inner.resolve(reference).await;
            self.gate.acquire().await.unwrap().forget();
            answer
        })
    }
}

/// Finding 5: a lookup in flight while the key is revoked and invalidated must not write its
/// stale answer back into the cache.
#[tokio::test]
async fn f05_cache_never_writes_back_a_stale_answer() {
    let digest = ApiKeyDigest::of("some-opaque-partner-key-text");
    let gated = Gated {
        inner: MemoryResolver::new(),
        gate: tokio::sync::Semaphore::new(0),
        calls: AtomicUsize::new(0),
    };
    let reference = gated
        .inner
        .insert(Credential::api_key("p", digest, Environment::Live).unwrap());
    let cache = Arc::new(CachingResolver::new(gated, Duration::from_secs(3600)));
    let in_flight = {
        let (cache, reference) = (cache.clone(), reference.clone());
        tokio::spawn(async move { cache.resolve(&reference).await })
    };
    while cache.inner().calls.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    // Revoke and invalidate while the lookup (which read the old record) is still in flight.
    cache.inner().inner.update(&reference, |c| {
        c.status.revoked_at = Some(auth_core::UnixTime::EPOCH);
    });
    cache.invalidate(&reference);
    cache.inner().gate.add_permits(10);
    let stale = in_flight.await.unwrap().unwrap().unwrap();
    assert_eq!(
        stale.status.revoked_at, None,
        "the in-flight caller got the old answer"
    );
    let now = cache.resolve(&reference).await.unwrap().unwrap();
    assert_eq!(now.status.revoked_at, Some(auth_core::UnixTime::EPOCH));
}

/// Finding 6 (layer part): a header-authenticated request is decided without reading its
/// body, so a caller cannot hold memory by stalling a large body before authentication.
#[tokio::test]
async fn f06_header_schemes_do_not_wait_for_the_body() {
    let h = detailed().await;
    let addr = h.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // A wrong key: the answer must come before any of the 1 MiB body is sent.
    let head = format!(
        "POST /orders HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer pa_live_wrong\r\nContent-Length: 1048576\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("answered without the body")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
}

/// Signs a GET of `url` with RFC 9421 (no nonce) and returns the headers.
fn rfc9421_headers(url: &str, key_id: &str, key: &SigningKey, host: &str) -> (String, String) {
    let fields = [("host", host)];
    let view = Request::new(
        "GET",
        TargetUri::parse(url).unwrap(),
        Headers::new(&fields),
        Body::from_bytes(b""),
    )
    .unwrap();
    let spec = rfc9421::SignatureSpec::new(
        "sig1",
        vec![
            rfc9421::Component::method(),
            rfc9421::Component::authority(),
            rfc9421::Component::path(),
            rfc9421::Component::query(),
        ],
        SystemClock.now(),
    )
    .unwrap()
    .keyid(key_id)
    .unwrap();
    let signed = rfc9421::sign(&Message::Request(&view), &spec, key, &SystemRandom::new()).unwrap();
    (signed.signature_input, signed.signature)
}

/// The (r, n - s) twin of a P-256 P1363 signature.
fn ecdsa_twin(sig: &[u8]) -> Vec<u8> {
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];
    let (r, s) = sig.split_at(32);
    let mut out = r.to_vec();
    let mut twin = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(N[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        twin[i] = d as u8;
    }
    out.extend_from_slice(&twin);
    out
}

/// Finding 12: with nonces optional, the (r, n-s) twin of a used ECDSA signature is the same
/// replay (the replay key names the signed content, not the signature bytes).
#[tokio::test]
async fn f12_ecdsa_twin_signature_is_a_replay() {
    let rng = SystemRandom::new();
    let resolver = Arc::new(MemoryResolver::new());
    let ec = keys::generate_p256(&rng).unwrap();
    resolver.insert(
        Credential::new(
            "ec-partner",
            "ec-key",
            Environment::Live,
            Material::HttpSignature(Arc::new(
                VerifyingKey::new(&ec.public_key(), SignatureAlgorithm::EcdsaP256Sha256).unwrap(),
            )),
        )
        .unwrap(),
    );
    let policy = VerifyPolicy::new(Duration::from_secs(300)).with_nonce(NonceRequirement::Optional);
    let mut config = AuthConfig::new(
        KeyPrefix::new("pa").unwrap(),
        Routes::new().prefix("/", Route::new().accept(Accept::HttpSignature(policy))),
    );
    config.disclosure = Disclosure::Detailed;
    let layer = AuthLayer::new(config, resolver, Arc::new(MemoryReplayStore::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(auth_http::server::serve(
        listener,
        layer.layer(HandlerFn(|_req: http::Request<RequestBody>| async {
            http::Response::new(Full::new(Bytes::from_static(b"ok")))
        })),
    ));
    let url = format!("http://{addr}/orders");
    let signer = SigningKey::new(&ec, SignatureAlgorithm::EcdsaP256Sha256, &rng).unwrap();
    let (input, signature) = rfc9421_headers(&url, "ec-key", &signer, &addr);
    let b64 = signature
        .trim_start_matches("sig1=:")
        .trim_end_matches(':')
        .to_owned();
    let raw = auth_core::encoding::b64_decode(&b64, "signature").unwrap();
    let twin = format!(
        "sig1=:{}:",
        auth_core::encoding::b64_encode(&ecdsa_twin(&raw))
    );
    let send = |sig: String| {
        reqwest::Client::new()
            .get(&url)
            .header("signature-input", &input)
            .header("signature", sig)
            .send()
    };
    assert_eq!(send(signature.clone()).await.unwrap().status(), 200);
    let (status, body) = json(send(twin).await.unwrap()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("replayed")),
        "{body}"
    );
}

/// Finding 7: one partner filling its replay quota is refused (429); another partner's
/// signed requests still pass.
#[tokio::test]
async fn f07_one_partner_cannot_starve_another() {
    let h = start(MemoryReplayStore::new(1000, 3), Disclosure::Detailed).await;
    let second = "cXJlZG8tc2Vjb25kLXBhcnRuZXIta2V5LXRlc3Rz";
    h.resolver.insert(qredo_credential(
        "other-partner",
        second,
        &h.rsa,
        QredoMode::Timestamp,
    ));
    let greedy = client(QredoAuth::new(
        QREDO_KEY,
        qredo_signer(&h),
        QredoFreshness::Timestamp,
    ));
    let mut statuses = Vec::new();
    for i in 0..5 {
        let url = format!("{}/orders?i={i}", h.base);
        statuses.push(
            greedy
                .send(greedy.http().get(&url))
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    let polite = client(QredoAuth::new(
        second,
        qredo_signer(&h),
        QredoFreshness::Timestamp,
    ));
    let url = format!("{}/orders?i=0", h.base);
    assert_eq!(
        polite.send(polite.http().get(&url)).await.unwrap().status(),
        200
    );
}

/// A resolver that counts lookups and knows nothing.
#[derive(Default)]
struct Counting(AtomicUsize);

impl KeyResolver for Counting {
    fn resolve<'a>(&'a self, _: &'a CredentialRef) -> BoxFuture<'a, Lookup> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(None) })
    }
}

/// Finding 9: caller-chosen key IDs are bounded before any lookup, and the cache of answers
/// (negative ones included) is bounded by size.
#[tokio::test]
async fn f09_key_ids_and_the_negative_cache_are_bounded() {
    let cache = Arc::new(CachingResolver::with_capacity(
        Counting::default(),
        Duration::from_secs(3600),
        100,
    ));
    for i in 0..1000 {
        let r = CredentialRef::parse(Purpose::HttpSignatureKey, &format!("spray-{i}")).unwrap();
        assert!(cache.resolve(&r).await.unwrap().is_none());
    }
    assert_eq!(cache.len(), 100);
    // Over HTTP: a 16 KiB keyid is refused without a lookup.
    let config = AuthConfig::new(
        KeyPrefix::new("pa").unwrap(),
        Routes::new().prefix("/", Route::new().accept(Accept::http_signature())),
    );
    let layer = AuthLayer::new(
        config,
        cache.clone(),
        Arc::new(MemoryReplayStore::default()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(auth_http::server::serve(
        listener,
        layer.layer(HandlerFn(|_req: http::Request<RequestBody>| async {
            http::Response::new(Full::new(Bytes::from_static(b"ok")))
        })),
    ));
    let before = cache.inner().0.load(Ordering::SeqCst);
    let key_id = "k".repeat(16 * 1024);
    let input = format!(
        r#"sig1=("@method" "@authority" "@path" "@query");created={};keyid="{key_id}";nonce="n1""#,
        SystemClock.now().as_secs()
    );
    let resp = reqwest::Client::new()
        .get(format!("http://{addr}/x"))
        .header("signature-input", input)
        .header("signature", "sig1=:AAAA:")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error(), "{}", resp.status());
    assert_ne!(resp.status(), 200);
    assert_eq!(cache.inner().0.load(Ordering::SeqCst), before, "no lookup");
}

/// Finding 11: a header line with bytes outside visible ASCII is refused, not skipped (it
/// would reach the handler next to a signed line of the same name).
#[tokio::test]
async fn f11_non_ascii_header_lines_are_refused() {
    let h = detailed().await;
    let addr = h.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut head = format!(
        "GET /orders HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nX-Amount: 10\r\nX-Amount: 99",
        h.api_key
    )
    .into_bytes();
    head.extend_from_slice(&[0xe2, 0x82, 0xac]);
    head.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    stream.write_all(&head).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("x-amount"), "{text}");
}

/// Finding 16: opaque errors by default (an unknown key ID and a bad signature read the
/// same), malformed is 400, Smile body fields never override a header credential, and the
/// JWT principal names the registered key, not the token's `clientId`.
#[tokio::test]
async fn f16_opaque_errors_malformed_400_and_principals_from_registrations() {
    let h = start(MemoryReplayStore::default(), Disclosure::Opaque).await;
    let url = format!("{}/orders", h.base);
    let unknown = client(QredoAuth::new(
        "dW5rbm93bi1rZXktZm9yLXRlc3Rz",
        qredo_signer(&h),
        QredoFreshness::Timestamp,
    ));
    let wrong_key = keys::generate_rsa(2048, &SystemRandom::new()).unwrap();
    let wrong = client(QredoAuth::new(
        QREDO_KEY,
        SigningKey::new(
            &wrong_key,
            SignatureAlgorithm::RsaPkcs1Sha256,
            &SystemRandom::new(),
        )
        .unwrap(),
        QredoFreshness::Timestamp,
    ));
    let a = json(unknown.send(unknown.http().get(&url)).await.unwrap()).await;
    let b = json(wrong.send(wrong.http().get(&url)).await.unwrap()).await;
    assert_eq!(a, b, "unknown key and bad signature are indistinguishable");
    assert_eq!(a.0, 401);
    // A damaged API key is the caller's malformed request: 400.
    let damaged = client(ApiKeyAuth::new("pa_live_damaged", ApiKeyPlacement::Bearer));
    assert_eq!(
        damaged
            .send(damaged.http().get(&url))
            .await
            .unwrap()
            .status(),
        400
    );

    // JWT: a key registered under kid "k1", not bound to any client; a token claiming
    // clientId "victim" is the credential k1, never "victim".
    let rng = SystemRandom::new();
    let resolver = Arc::new(MemoryResolver::new());
    let secret = HmacSecret::from_bytes(b"a-partner-jwt-secret-of-32-bytes!").unwrap();
    resolver.insert(
        Credential::new(
            "jwt-partner",
            "k1",
            Environment::Live,
            Material::Jwt(Arc::new(
                JwtKey::hmac(&secret, Algorithm::HS256)
                    .unwrap()
                    .with_kid("k1"),
            )),
        )
        .unwrap()
        .with_scopes(Scopes::none().iter()),
    );
    let config = AuthConfig::new(
        KeyPrefix::new("pa").unwrap(),
        Routes::new().prefix(
            "/",
            Route::new()
                .accept(Accept::ApiKey)
                .accept(Accept::jwt())
                .accept(Accept::smile()),
        ),
    );
    let layer = AuthLayer::new(
        config,
        resolver.clone(),
        Arc::new(MemoryReplayStore::default()),
    );
    let (parts, _) = http::Request::get("http://api.example/x")
        .body(())
        .unwrap()
        .into_parts();
    let mut parts = parts;
    let now = SystemClock.now();
    let token = JwtSigner::hmac(&secret, Algorithm::HS256)
        .unwrap()
        .with_kid("k1")
        .sign(
            &serde_json::json!({
                "clientId": "victim",
                "iat": now.as_secs(),
                "exp": now.as_secs() + 300,
            }),
            &rng,
        )
        .unwrap();
    parts
        .headers
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let p = layer.authenticate(&parts, b"").await.unwrap().unwrap();
    assert_eq!(p.credential.to_wire(), "jwt_client_key:k1");
    assert_eq!(p.partner.as_str(), "jwt-partner");

    // Smile body fields next to a header credential are not read: the header decides.
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
    let fields = auth_core::scheme::smile::SmileKey::new(b"test-api-key")
        .unwrap()
        .sign_at("085", now);
    let body = serde_json::json!({
        "partner_id": "085",
        "timestamp": fields.body_fields()[1].1,
        "signature": fields.body_fields()[2].1,
    })
    .to_string();
    let (mut parts, _) = http::Request::post("http://api.example/x")
        .body(())
        .unwrap()
        .into_parts();
    let _ = rng;
    parts.headers.insert(
        "authorization",
        "Bearer pa_live_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_00000000"
            .parse()
            .unwrap(),
    );
    let refused = layer
        .authenticate(&parts, body.as_bytes())
        .await
        .unwrap_err();
    assert_ne!(refused.status, 200);
    // Without the header, the same body fields are the credential.
    let (parts, _) = http::Request::post("http://api.example/x")
        .body(())
        .unwrap()
        .into_parts();
    let p = layer
        .authenticate(&parts, body.as_bytes())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.partner.as_str(), "085");
    let _ = Status::ACTIVE;
}

/// Records what the observer hook sees.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<String>>);

impl auth_http::server::Observer for Recorder {
    fn observe(&self, d: &auth_http::server::Decision<'_>) {
        self.0.lock().unwrap().push(format!(
            "{:?} {} {:?} {:?} {:?} {:?}",
            d.outcome,
            d.path,
            d.scheme,
            d.partner.map(|p| p.as_str()),
            d.credential.map(|c| c.to_wire()),
            d.code,
        ));
    }
}

/// Every decision reaches the observer with scheme, partner, credential and code, and never
/// the credential itself (bearer keys are named by their digest).
#[tokio::test]
async fn observer_sees_every_decision_without_secrets() {
    let rng = SystemRandom::new();
    let resolver = Arc::new(MemoryResolver::new());
    let issued = apikey::generate(&KeyPrefix::new("pa").unwrap(), Environment::Live, &rng).unwrap();
    resolver.insert(Credential::api_key("acme", issued.digest(), Environment::Live).unwrap());
    let recorder = Arc::new(Recorder::default());
    let config = AuthConfig::new(
        KeyPrefix::new("pa").unwrap(),
        Routes::new().prefix("/", Route::new().accept(Accept::ApiKey)),
    );
    let layer = AuthLayer::new(config, resolver, Arc::new(MemoryReplayStore::default()))
        .with_observer(recorder.clone());
    let request = |key: &str| {
        let (mut parts, _) = http::Request::get("http://api.example/orders?token=x")
            .body(())
            .unwrap()
            .into_parts();
        parts
            .headers
            .insert("authorization", format!("Bearer {key}").parse().unwrap());
        parts
    };
    layer
        .authenticate(&request(issued.expose()), b"")
        .await
        .unwrap();
    let other = apikey::generate(&KeyPrefix::new("pa").unwrap(), Environment::Live, &rng).unwrap();
    let refused = layer
        .authenticate(&request(other.expose()), b"")
        .await
        .unwrap_err();
    // Opaque by default: the caller is not told that the key is unknown.
    assert_eq!(refused.error.code(), auth_core::ErrorCode::Unauthorized);
    let seen = recorder.0.lock().unwrap().clone();
    let digest = issued.digest().to_hex();
    assert_eq!(
        seen,
        [
            format!("Accepted /orders Some(ApiKey) Some(\"acme\") Some(\"api_key:{digest}\") None"),
            "Rejected /orders Some(ApiKey) None None Some(UnknownKey)".to_owned(),
        ]
    );
    for line in &seen {
        assert!(!line.contains(issued.expose()) && !line.contains(other.expose()));
    }
}

/// An alias (a JWT key's clientId) follows its credential: revoking the key revokes tokens
/// found by clientId too, in the store and through the cache.
#[tokio::test]
async fn aliases_follow_their_credential_through_store_and_cache() {
    let secret = HmacSecret::from_bytes(b"a-partner-jwt-secret-of-32-bytes!").unwrap();
    let key = Credential::new(
        "jwt-partner",
        "k1",
        Environment::Live,
        Material::Jwt(Arc::new(JwtKey::hmac(&secret, Algorithm::HS256).unwrap())),
    )
    .unwrap();
    let cache = CachingResolver::new(MemoryResolver::new(), Duration::from_secs(3600));
    let by_kid = CredentialRef::parse(Purpose::JwtClientKey, "k1").unwrap();
    let by_client = CredentialRef::parse(Purpose::JwtClientKey, "client-1").unwrap();
    cache.inner().insert_alias(by_client.clone(), key);
    assert!(cache.resolve(&by_client).await.unwrap().is_some());
    assert!(cache.resolve(&by_kid).await.unwrap().is_some());
    cache.inner().update(&by_kid, |c| {
        c.status.revoked_at = Some(auth_core::UnixTime::EPOCH);
    });
    cache.invalidate(&by_kid);
    let via_alias = cache.resolve(&by_client).await.unwrap().unwrap();
    assert_eq!(
        via_alias.status.revoked_at,
        Some(auth_core::UnixTime::EPOCH)
    );
    cache.inner().remove(&by_kid);
    cache.invalidate(&by_kid);
    assert!(cache.resolve(&by_client).await.unwrap().is_none());
}
