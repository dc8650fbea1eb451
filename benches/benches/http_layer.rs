//! The verifying layer's cost per request: the same handler called unprotected and through
//! `AuthLayer` (API-key bearer, JWT HS256, RFC 9421 Ed25519 on one explicit route, credentials
//! in a `MemoryResolver`), in process, plus the bare HMAC-SHA256 and Ed25519 verifies of the
//! same signatures, so "overhead beyond the cryptography" is a difference of two figures from
//! one run.
// Set-up failures abort a benchmark run; there is no caller to report them to.
#![allow(clippy::expect_used)]

use auth_core::apikey::{self, Environment, KeyPrefix};
use auth_core::credential::{Credential, Material};
use auth_core::keys::HmacSecret;
use auth_core::keys::{self, SignatureAlgorithm, SigningKey, VerifyingKey};
use auth_core::rand::SystemRandom;
use auth_core::replay::ReplayObligation;
use auth_core::request::{Body, Headers, Message, Request as CoreRequest, TargetUri};
use auth_core::scheme::jwt::{Algorithm, Claims, JwtKey, JwtSigner};
use auth_core::scheme::rfc9421;
use auth_core::{Error, UnixTime};
use auth_http::clock::Clock;
use auth_http::server::{
    Accept, AuthConfig, AuthLayer, BoxFuture, HandlerFn, MemoryResolver, ReplayStore, RequestBody,
    Route, Routes,
};
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::Full;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use tower_layer::Layer;
use tower_service::Service;

/// The time every credential is signed at and the layer judges it at: a fixed clock, so a long
/// run never drifts out of the JWT lifetime or the RFC 9421 window into the rejection path.
const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        NOW
    }
}

/// Bench-only replay store: it does the work of the in-memory store's check (lock, hash and
/// insert the obligation's key) but then forgets the key and always answers `Ok`, so the same
/// RFC 9421 request (signed once, outside the timed loop, with one nonce) can be verified on
/// every iteration. The real `MemoryReplayStore` would refuse every repeat as replayed; signing
/// a fresh nonce per iteration instead would put an Ed25519 signing into the measured figure.
struct ForgetfulReplayStore(Mutex<std::collections::HashSet<String>>);

impl ReplayStore for ForgetfulReplayStore {
    fn record<'a>(
        &'a self,
        obligation: &'a ReplayObligation,
        _now: UnixTime,
    ) -> BoxFuture<'a, Result<(), Error>> {
        if let Some(key) = obligation.key() {
            let mut set = self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            set.insert(key.as_str().to_owned());
            set.remove(key.as_str());
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

async fn handler(_req: http::Request<RequestBody>) -> http::Response<Full<Bytes>> {
    http::Response::new(Full::new(Bytes::from_static(b"{\"ok\":true}")))
}

fn layer_overhead(c: &mut Criterion) {
    // Timers on: the layer bounds the time a signed request's body may take to arrive.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let rng = SystemRandom::new();
    let prefix = KeyPrefix::new("pa").expect("prefix");
    let issued = apikey::generate(&prefix, Environment::Live, &rng).expect("rng");
    let resolver = Arc::new(MemoryResolver::new());
    resolver.insert(
        Credential::api_key("acme", issued.digest(), Environment::Live).expect("credential"),
    );
    let ed = keys::generate_ed25519(&rng).expect("rng");
    let verifier =
        Arc::new(VerifyingKey::new(&ed.public_key(), SignatureAlgorithm::Ed25519).expect("key"));
    resolver.insert(
        Credential::new(
            "acme",
            "ed1",
            Environment::Live,
            Material::HttpSignature(verifier.clone()),
        )
        .expect("credential"),
    );

    // JWT HS256 (the seed profile) for client `partner-1`; its tokens carry no `kid`, so the
    // key is registered under the client ID.
    let secret = HmacSecret::from_bytes(b"partner-1-shared-secret-32-bytes!").expect("secret");
    let jwt_key = JwtKey::hmac(&secret, Algorithm::HS256)
        .expect("key")
        .for_client("partner-1");
    resolver.insert(
        Credential::new(
            "partner-1",
            "partner-1",
            Environment::Live,
            Material::Jwt(Arc::new(jwt_key)),
        )
        .expect("credential"),
    );
    let token = JwtSigner::hmac(&secret, Algorithm::HS256)
        .expect("signer")
        .sign(&Claims::seed_profile("partner-1", NOW), &rng)
        .expect("sign");
    let hs256 = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        b"partner-1-shared-secret-32-bytes!",
    );
    let (signing_input, sig_b64) = token.rsplit_once('.').expect("jwt");
    let jwt_sig = auth_core::encoding::b64url_decode(sig_b64, "sig").expect("b64");
    // One route with the three schemes measured, in the order a partner API would list them.
    let routes = Routes::new().prefix(
        "/",
        Route::new()
            .accept(Accept::ApiKey)
            .accept(Accept::jwt())
            .accept(Accept::http_signature()),
    );
    let layer = AuthLayer::with_clock(
        AuthConfig::new(prefix, routes),
        resolver,
        Arc::new(ForgetfulReplayStore(Mutex::default())),
        Arc::new(FixedClock),
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
    let spec = rfc9421::SignatureSpec::new(
        "sig1",
        vec![
            rfc9421::Component::method(),
            rfc9421::Component::authority(),
            rfc9421::Component::path(),
            rfc9421::Component::query(),
            rfc9421::Component::field("content-digest").expect("field"),
        ],
        NOW,
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
            .body(RequestBody::from_bytes(Bytes::from_static(body)))
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
    // Sanity: every protected request is accepted, and accepted again (the timed loops repeat
    // each one; a rejection there would measure the wrong path).
    for req in [
        with_key(),
        with_jwt(),
        with_sig(),
        with_key(),
        with_jwt(),
        with_sig(),
    ] {
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
