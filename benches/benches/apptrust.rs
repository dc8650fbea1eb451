//! App trust chain benchmarks: manifest verification and app-token verification, each next
//! to the bare ring Ed25519 verification of the same signature(s) in the same run.
#![allow(clippy::expect_used)] // setup outside the timed loops; a failure there is a broken bench

use auth_core::UnixTime;
use auth_core::encoding::b64url_decode;
use auth_core::rand::SystemRandom;
use auth_core::scheme::apptrust::{
    AppDomain, AppId, AppManifest, AuthorityKey, AxPublicKey, DeveloperCertificate, Epoch,
    ManifestSignature, TokenIssuer, TokenVerifier, manifest_signing_bytes, signing_key_from_text,
};
use criterion::{Criterion, criterion_group, criterion_main};
use ring::signature::{ED25519, UnparsedPublicKey};
use std::hint::black_box;

// The published example keys of docs/protocols.md section 6.
const AUTHORITY_PRIVATE: &str = "0WBFFicIHbivRZXAlO7tPs7rCX6s7u2OIMJ2mx9nwg0w=";
const AUTHORITY_PUBLIC: &str = "075i62XGQJuXjv6nnLQyJzECZhF29acYvYeEOJ3kc5M8=";
const DEV_PRIVATE: &str = "08lUw93C+xzdxBcsYOoPVjzn8IHPJtnJW9Y/WyEu4v64=";

fn manifest(c: &mut Criterion) {
    let rng = SystemRandom::new();
    let authority = signing_key_from_text(AUTHORITY_PRIVATE, &rng).expect("key");
    let dev_key = signing_key_from_text(DEV_PRIVATE, &rng).expect("key");
    let dev = AxPublicKey::from_public_key(dev_key.public_key().expect("public")).expect("ed25519");
    let domains = vec![
        AppDomain::parse("com.actyx.*").expect("domain"),
        AppDomain::parse("com.example.*").expect("domain"),
    ];
    let cert = DeveloperCertificate::issue(&authority, dev, domains.clone(), &rng).expect("cert");
    let app_id = AppId::parse("com.actyx.auth-test").expect("app id");
    let m = AppManifest::sign(
        &dev_key,
        &cert,
        app_id.clone(),
        "auth test app",
        "v0.0.1",
        &rng,
    )
    .expect("sign");
    let json = m.to_json();
    let authority_key = AuthorityKey::from_text(AUTHORITY_PUBLIC).expect("authority");
    m.verify(&authority_key).expect("verifies");

    // Baseline inputs: the same two messages and signatures, verified with bare ring.
    let sig = ManifestSignature::from_base64(m.signature().expect("signed")).expect("blob");
    let dev_msg = manifest_signing_bytes(&app_id, "auth test app", "v0.0.1");
    let ax_msg = DeveloperCertificate::signing_bytes(&dev, &domains);
    let dev_sig = *sig.dev_signature();
    let ax_sig = *cert.ax_signature();
    let dev_pk = *dev.as_bytes();
    let ax_pk = *authority_key.public().as_bytes();

    let mut g = c.benchmark_group("apptrust_manifest");
    g.bench_function("baseline_ring_ed25519_verify_x2", |b| {
        b.iter(|| {
            UnparsedPublicKey::new(&ED25519, black_box(&dev_pk))
                .verify(black_box(&dev_msg), black_box(&dev_sig))
                .and_then(|()| {
                    UnparsedPublicKey::new(&ED25519, black_box(&ax_pk))
                        .verify(black_box(&ax_msg), black_box(&ax_sig))
                })
        })
    });
    g.bench_function("verify", |b| {
        b.iter(|| black_box(&m).verify(&authority_key))
    });
    g.bench_function("parse_json_and_verify", |b| {
        b.iter(|| AppManifest::from_json(black_box(&json)).and_then(|m| m.verify(&authority_key)))
    });
    g.finish();
}

fn token(c: &mut Criterion) {
    let rng = SystemRandom::new();
    let key = signing_key_from_text(AUTHORITY_PRIVATE, &rng).expect("key");
    let issuer = TokenIssuer::new(key, Epoch(1)).expect("issuer");
    let public = issuer.public_key().expect("public");
    let verifier = TokenVerifier::new(&public, Epoch(1)).expect("verifier");
    let trial = AppManifest::trial(AppId::parse("com.example.app").expect("id"), "App", "1.0.0")
        .expect("trial");
    let authority_key = AuthorityKey::from_text(AUTHORITY_PUBLIC).expect("authority");
    let verified = trial.verify(&authority_key).expect("trial passes");
    let now = UnixTime::from_secs(1_750_000_000);
    let token = issuer.issue(&verified, now, &rng).expect("token");
    verifier.verify(&token, now).expect("verifies");

    // Baseline: the same signature over the same message (context prefix + payload).
    let mut parts = token.split('.').skip(1);
    let payload = b64url_decode(parts.next().expect("payload"), "payload").expect("b64");
    let sig = b64url_decode(parts.next().expect("sig"), "sig").expect("b64");
    let msg = [b"apptrust-token-v1\n".as_slice(), &payload].concat();
    let pk = *public.as_bytes();

    let mut g = c.benchmark_group("apptrust_token");
    g.bench_function("baseline_ring_ed25519_verify", |b| {
        b.iter(|| {
            UnparsedPublicKey::new(&ED25519, black_box(&pk))
                .verify(black_box(&msg), black_box(&sig))
        })
    });
    g.bench_function("verify", |b| {
        b.iter(|| verifier.verify(black_box(&token), now))
    });
    g.bench_function("issue", |b| {
        b.iter(|| issuer.issue(black_box(&verified), now, &rng))
    });
    g.finish();
}

criterion_group!(benches, manifest, token);
criterion_main!(benches);
