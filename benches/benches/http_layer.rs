//! The verifying layer's cost per request: the same handler called unprotected and through
//! `AuthLayer` (API-key bearer, RFC 9421 Ed25519), in process, plus the bare Ed25519 verify of
//! the same signature, so "overhead beyond the cryptography" is a difference of two figures
//! from one run.
// Set-up failures abort a benchmark run; there is no caller to report them to.
#![allow(clippy::expect_used)]

use auth_core::apikey::{self, ApiKeyRecord, Environment, KeyPrefix};
use auth_core::keys::HmacSecret;
use auth_core::keys::{self, SignatureAlgorithm, SigningKey, VerifyingKey};
use auth_core::rand::SystemRandom;
use auth_core::request::{Body, Headers, Message, Request as CoreRequest, TargetUri};
use auth_core::scheme::jwt::{Algorithm, Claims, JwtKey, JwtSigner};
use auth_core::scheme::rfc9421;
use auth_http::server::{
    ApiKeyEntry, AuthConfig, AuthLayer, BoxFuture, HandlerFn, JwtEntry, KeyEntry, MemoryResolver,
    ReplayStore, ReplayVerdict, StoreUnavailable,
};
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::Full;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower_layer::Layer;
use tower_service::Service;

/// Does the work of a replay check (lock, hash, insert, remove) but never remembers, so the
/// same signed request can be measured repeatedly.
struct ForgetfulReplayStore(Mutex<std::collections::HashSet<String>>);

impl ReplayStore for ForgetfulReplayStore {
    fn check_and_insert<'a>(
        &'a self,
        key: &'a str,
        _ttl: Duration,
        _now: auth_core::UnixTime,
    ) -> BoxFuture<'a, Result<ReplayVerdict, StoreUnavailable>> {
        Box::pin(async move {
            let mut set = self
                .0
                .lock()
                .map_err(|_| StoreUnavailable("poisoned".into()))?;
            set.insert(key.to_owned());
            set.remove(key);
            Ok(ReplayVerdict::Fresh)
        })
    }

    fn advance<'a>(
        &'a self,
        _key: &'a str,
        _value: u64,
    ) -> BoxFuture<'a, Result<ReplayVerdict, StoreUnavailable>> {
        Box::pin(async { Ok(ReplayVerdict::Fresh) })
    }
}

async fn handler(_req: http::Request<Full<Bytes>>) -> http::Response<Full<Bytes>> {
    http::Response::new(Full::new(Bytes::from_static(b"{\"ok\":true}")))
}

fn layer_overhead(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let rng = SystemRandom::new();
    let prefix = KeyPrefix::new("pa").expect("prefix");
    let issued = apikey::generate(&prefix, Environment::Live, &rng).expect("rng");
    let resolver = Arc::new(MemoryResolver::new());
    resolver.add_api_key(ApiKeyEntry {
        partner: "acme".into(),
        record: ApiKeyRecord {
            digest: issued.digest(),
            environment: None,
            expires_at: None,
            revoked_at: None,
        },
        scopes: Arc::from(vec![]),
    });
    let ed = keys::generate_ed25519(&rng).expect("rng");
    let verifier =
        Arc::new(VerifyingKey::new(&ed.public_key(), SignatureAlgorithm::Ed25519).expect("key"));
    resolver.add_key(KeyEntry {
        partner: "acme".into(),
        key_id: "ed1".into(),
        key: verifier.clone(),
        scopes: Arc::from(vec![]),
    });

    // JWT HS256 (the seed profile) for client `partner-1`.
    let secret = HmacSecret::from_bytes(b"partner-1-shared-secret-32-bytes!").expect("secret");
    let jwt_key = JwtKey::hmac(&secret, Algorithm::HS256)
        .expect("key")
        .for_client("partner-1");
    resolver.add_jwt_key(
        None,
        Some("partner-1"),
        JwtEntry {
            partner: "partner-1".into(),
            key: Arc::new(jwt_key),
            scopes: Arc::from(vec![]),
        },
    );
    let now_secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let token = JwtSigner::hmac(&secret, Algorithm::HS256)
        .expect("signer")
        .sign(
            &Claims::seed_profile("partner-1", auth_core::UnixTime::from_secs(now_secs)),
            &rng,
        )
        .expect("sign");
    let hs256 = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        b"partner-1-shared-secret-32-bytes!",
    );
    let (signing_input, sig_b64) = token.rsplit_once('.').expect("jwt");
    let jwt_sig = auth_core::encoding::b64url_decode(sig_b64, "sig").expect("b64");
    let config = AuthConfig::new(prefix, Environment::Live);
    let layer = AuthLayer::new(
        config,
        resolver,
        Arc::new(ForgetfulReplayStore(Mutex::default())),
    );
    let mut protected = layer.layer(HandlerFn(handler));
    let mut bare = HandlerFn(handler);

    // One RFC 9421 signed request (Ed25519, nonce, content-digest), built once.
    let body = br#"{"symbol":"ETHEUR","sell_volume":25}"#;
    let url = "http://api.example.com/orders?page=2";
    let digest =
        auth_core::content_digest::create(body, auth_core::content_digest::DigestAlgorithm::Sha256);
    let fields = [
        ("host", "api.example.com"),
        ("content-digest", digest.as_str()),
    ];
    let view = CoreRequest::new(
        "POST",
        TargetUri::parse(url).expect("url"),
        Headers::new(&fields),
        Body::from_bytes(body),
    )
    .expect("view");
    let now = auth_core::UnixTime::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
    );
    let spec = rfc9421::SignatureSpec::new(
        "sig1",
        vec![
            rfc9421::Component::method(),
            rfc9421::Component::authority(),
            rfc9421::Component::path(),
            rfc9421::Component::query(),
            rfc9421::Component::field("content-digest").expect("field"),
        ],
        now,
    )
    .expect("spec")
    .keyid("ed1")
    .expect("keyid")
    .nonce("bench-nonce-0001")
    .expect("nonce");
    let signer = SigningKey::new(&ed, SignatureAlgorithm::Ed25519, &rng).expect("key");
    let signed = rfc9421::sign(&Message::Request(&view), &spec, &signer, &rng).expect("sign");
    let base = rfc9421::signature_base_for_spec(
        &Message::Request(&view),
        &spec,
        SignatureAlgorithm::Ed25519,
    )
    .expect("base");
    let sig_b64 = signed
        .signature
        .trim_start_matches("sig1=:")
        .trim_end_matches(':')
        .to_owned();
    let raw_sig = auth_core::encoding::b64_decode(&sig_b64, "sig").expect("b64");

    let plain = || {
        http::Request::builder()
            .uri(url)
            .header("host", "api.example.com")
            .body(Full::new(Bytes::from_static(body)))
            .expect("request")
    };
    let with_key = || {
        http::Request::builder()
            .method("POST")
            .uri(url)
            .header("host", "api.example.com")
            .header("authorization", format!("Bearer {}", issued.expose()))
            .body(Full::new(Bytes::from_static(body)))
            .expect("request")
    };
    let with_jwt = || {
        http::Request::builder()
            .method("POST")
            .uri(url)
            .header("host", "api.example.com")
            .header("authorization", format!("Bearer {token}"))
            .body(Full::new(Bytes::from_static(body)))
            .expect("request")
    };
    let with_sig = || {
        http::Request::builder()
            .method("POST")
            .uri(url)
            .header("host", "api.example.com")
            .header("content-digest", digest.as_str())
            .header("signature-input", signed.signature_input.as_str())
            .header("signature", signed.signature.as_str())
            .body(Full::new(Bytes::from_static(body)))
            .expect("request")
    };
    // Sanity: both protected requests are accepted.
    for req in [with_key(), with_jwt(), with_sig()] {
        let resp = rt.block_on(protected.call(req)).expect("infallible");
        assert_eq!(resp.status(), 200, "benchmark request must be accepted");
    }

    let mut g = c.benchmark_group("http_layer");
    g.bench_function("unprotected_handler", |b| {
        b.iter(|| rt.block_on(bare.call(black_box(plain()))))
    });
    g.bench_function("api_key_bearer", |b| {
        b.iter(|| rt.block_on(protected.call(black_box(with_key()))))
    });
    g.bench_function("jwt_hs256", |b| {
        b.iter(|| rt.block_on(protected.call(black_box(with_jwt()))))
    });
    g.bench_function("bare_hmac_sha256_verify", |b| {
        b.iter(|| {
            ring::hmac::verify(
                &hs256,
                black_box(signing_input.as_bytes()),
                black_box(&jwt_sig),
            )
        })
    });
    g.bench_function("rfc9421_ed25519", |b| {
        b.iter(|| rt.block_on(protected.call(black_box(with_sig()))))
    });
    g.bench_function("bare_ed25519_verify", |b| {
        b.iter(|| verifier.verify(black_box(base.as_bytes()), black_box(&raw_sig)))
    });
    g.bench_function("bare_sha256_content_digest", |b| {
        b.iter(|| {
            auth_core::content_digest::verify(
                black_box(&digest),
                black_box(body),
                Default::default(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, layer_overhead);
criterion_main!(benches);
