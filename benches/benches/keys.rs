//! Key parsing and API-key verification benchmarks.
// Set-up failures abort a benchmark run; there is no caller to report them to.
#![allow(clippy::expect_used)]

use auth_core::apikey::{self, Environment, KeyPrefix};
use auth_core::credential::{Credential, Purpose};
use auth_core::keys::PrivateKey;
use auth_core::keys::PublicKey;
use auth_core::rand::SystemRandom;
use criterion::{Criterion, criterion_group, criterion_main};
use partner_auth_benches as fx;
use std::hint::black_box;

fn key_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("key_parse");
    g.bench_function("rsa2048_pkcs1_private_pem", |b| {
        b.iter(|| PrivateKey::from_pem(black_box(fx::RSA_2048_PKCS1_PEM)))
    });
    g.bench_function("rsa2048_public_pem", |b| {
        b.iter(|| PublicKey::from_pem(black_box(fx::RSA_2048_PUBLIC_PEM)))
    });
    g.bench_function("ed25519_pkcs8_pem", |b| {
        b.iter(|| PrivateKey::from_pem(black_box(fx::ED25519_PKCS8_PEM)))
    });
    g.bench_function("p256_sec1_pem", |b| {
        b.iter(|| PrivateKey::from_pem(black_box(fx::P256_SEC1_PEM)))
    });
    g.finish();
}

fn api_key_verify(c: &mut Criterion) {
    let rng = SystemRandom::new();
    let prefix = KeyPrefix::new("pa").expect("valid prefix");
    let issued = apikey::generate(&prefix, Environment::Live, &rng).expect("rng works");
    let credential =
        Credential::api_key("acme", issued.digest(), Environment::Live).expect("valid partner");
    let text = issued.expose().to_owned();
    let now = auth_core::UnixTime::from_secs(1_700_000_000);
    let mut g = c.benchmark_group("api_key");
    // Baseline: the bare SHA-256 digest the check cannot avoid.
    g.bench_function("baseline_sha256", |b| {
        b.iter(|| ring::digest::digest(&ring::digest::SHA256, black_box(text.as_bytes())))
    });
    g.bench_function("parse_and_verify", |b| {
        b.iter(|| {
            let presented = apikey::parse(black_box(&text), &prefix)?;
            credential.check_presented_key(&presented, &presented.digest())?;
            credential.check_usable(Purpose::ApiKey, now)
        })
    });
    g.finish();
}

criterion_group!(benches, key_parse, api_key_verify);
criterion_main!(benches);
