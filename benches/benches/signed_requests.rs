//! Signed-request verification benchmarks: each verify path (RFC 9421, Qredo, Altalix) against
//! the bare ring verification of the same signature over the same bytes, in the same run.
//! Keys are parsed once, outside the timed loops.
#![allow(clippy::expect_used)]

use auth_core::content_digest::{DigestAlgorithm, create};
use auth_core::keys::{
    HmacSecret, PrivateKey, PublicKey, SignatureAlgorithm, SigningKey, VerifyingKey,
};
use auth_core::rand::SystemRandom;
use auth_core::request::{Message, Request};
use auth_core::scheme::altalix::{self, AltalixPolicy};
use auth_core::scheme::qredo::{self, Freshness, QredoPolicy};
use auth_core::scheme::rfc9421::{self, Component, SignatureSpec, VerifyPolicy};
use auth_core::time::UnixTime;
use criterion::{Criterion, criterion_group, criterion_main};
use partner_auth_benches as fx;
use ring::signature::{self as rs, UnparsedPublicKey};
use std::hint::black_box;

const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);
const URL: &str = "https://api.example.com/v1/orders?symbol=ETHEUR&sell_volume=25";
const BODY: &[u8] = br#"{"symbol":"ETHEUR","sell_volume":"25","side":"sell"}"#;

const QREDO_KEY: &str = include_str!("../../testvectors/qredo/partner-key.pem");
const ALTALIX_KEY: &str = include_str!("../../testvectors/altalix/partner-key.pem");
const ALTALIX_URL: &str = include_str!("../../testvectors/altalix/sell.url");

/// Signs a typical API request (method, URI, Content-Digest, Content-Type, nonce) and
/// returns its header lines.
fn signed_headers(key: &SigningKey) -> Vec<(String, String)> {
    let digest = create(BODY, DigestAlgorithm::Sha256);
    let mut h = vec![
        ("Host".to_owned(), "api.example.com".to_owned()),
        ("Content-Type".to_owned(), "application/json".to_owned()),
        ("Content-Digest".to_owned(), digest),
        ("Content-Length".to_owned(), BODY.len().to_string()),
    ];
    let fields: Vec<(&str, &str)> = h.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let r = Request::from_uri("POST", URL, &fields, BODY).expect("request");
    let comps = vec![
        Component::method(),
        Component::target_uri(),
        Component::field("content-digest").expect("name"),
        Component::field("content-type").expect("name"),
    ];
    let spec = SignatureSpec::new("sig1", comps, NOW)
        .and_then(|s| s.keyid("partner-key-1"))
        .and_then(|s| s.nonce("b3k2pp5k7z-50gnwp.yemd"))
        .expect("spec");
    let s = rfc9421::sign(&Message::Request(&r), &spec, key, &SystemRandom::new()).expect("sign");
    h.push(("Signature-Input".to_owned(), s.signature_input));
    h.push(("Signature".to_owned(), s.signature));
    h
}

fn rfc9421_verify(c: &mut Criterion) {
    let rng = SystemRandom::new();
    let ed = PrivateKey::from_pem(fx::ED25519_PKCS8_PEM).expect("key");
    let signer = SigningKey::new(&ed, SignatureAlgorithm::Ed25519, &rng).expect("key");
    let verifier = VerifyingKey::new(&ed.public_key(), SignatureAlgorithm::Ed25519).expect("key");
    let PublicKey::Ed25519(raw_pk) = ed.public_key() else {
        unreachable!("an Ed25519 key")
    };
    let lines = signed_headers(&signer);
    let fields: Vec<(&str, &str)> = lines
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let req = Request::from_uri("POST", URL, &fields, BODY).expect("request");
    let msg = Message::Request(&req);
    let policy = VerifyPolicy::default();
    let parsed = rfc9421::parse(&msg, &policy).expect("parse");
    let base = parsed.signature_base(&msg).expect("base");
    let sig = parsed.signature().to_vec();
    let bare = UnparsedPublicKey::new(&rs::ED25519, raw_pk.to_vec());

    let mut g = c.benchmark_group("rfc9421_ed25519_request");
    g.bench_function("baseline_ring_verify", |b| {
        b.iter(|| bare.verify(black_box(base.as_bytes()), black_box(&sig)))
    });
    let mut buf = String::with_capacity(1024);
    rfc9421::verify_with_buffer(&msg, &parsed, &verifier, &policy, NOW, &mut buf)
        .expect("verifies");
    bare.verify(base.as_bytes(), &sig)
        .expect("baseline verifies");
    g.bench_function("parse_and_verify", |b| {
        b.iter(|| {
            let p = rfc9421::parse(black_box(&msg), &policy)?;
            rfc9421::verify_with_buffer(&msg, &p, &verifier, &policy, NOW, &mut buf)
                .map(|v| v.created)
        })
    });
    g.finish();

    // HMAC: the cheapest algorithm, so the non-crypto overhead is most visible here.
    let secret = HmacSecret::from_bytes(&[0x42; 32]).expect("secret");
    let hs = SigningKey::hmac(&secret, SignatureAlgorithm::HmacSha256).expect("key");
    let hv = VerifyingKey::hmac(&secret, SignatureAlgorithm::HmacSha256).expect("key");
    let lines = signed_headers(&hs);
    let fields: Vec<(&str, &str)> = lines
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let req = Request::from_uri("POST", URL, &fields, BODY).expect("request");
    let msg = Message::Request(&req);
    let parsed = rfc9421::parse(&msg, &policy).expect("parse");
    let base = parsed.signature_base(&msg).expect("base");
    let tag = parsed.signature().to_vec();
    let bare = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &[0x42; 32]);
    rfc9421::verify_with_buffer(&msg, &parsed, &hv, &policy, NOW, &mut buf).expect("verifies");
    ring::hmac::verify(&bare, base.as_bytes(), &tag).expect("baseline verifies");
    let mut g = c.benchmark_group("rfc9421_hmac_request");
    g.bench_function("baseline_ring_verify", |b| {
        b.iter(|| ring::hmac::verify(&bare, black_box(base.as_bytes()), black_box(&tag)))
    });
    g.bench_function("parse_and_verify", |b| {
        b.iter(|| {
            let p = rfc9421::parse(black_box(&msg), &policy)?;
            rfc9421::verify_with_buffer(&msg, &p, &hv, &policy, NOW, &mut buf).map(|v| v.created)
        })
    });
    g.finish();
}

fn qredo_verify(c: &mut Criterion) {
    let rng = SystemRandom::new();
    let key = PrivateKey::from_pem(QREDO_KEY).expect("key");
    let signer = SigningKey::new(&key, SignatureAlgorithm::RsaPkcs1Sha256, &rng).expect("key");
    let verifier =
        VerifyingKey::new(&key.public_key(), SignatureAlgorithm::RsaPkcs1Sha256).expect("key");
    let PublicKey::Rsa(rsa) = key.public_key() else {
        unreachable!("an RSA key")
    };
    let target = auth_core::request::TargetUri::parse(URL).expect("uri");
    let signed = qredo::sign(
        &target,
        BODY,
        Freshness::Timestamp(NOW.as_secs()),
        &signer,
        &rng,
    )
    .expect("sign");
    let headers = signed.with_api_key("partner-api-key");
    let req = Request::from_uri("POST", URL, &headers, BODY).expect("request");
    let policy = QredoPolicy::default();
    let mut msg = Vec::new();
    qredo::write_string_to_sign(&signed.freshness_value, &target, BODY, &mut msg);
    let sig = auth_core::encoding::b64url_decode(&signed.sign, "x-sign").expect("b64");
    let bare = UnparsedPublicKey::new(&rs::RSA_PKCS1_2048_8192_SHA256, rsa.pkcs1_der().to_vec());

    let mut g = c.benchmark_group("qredo_rsa2048");
    g.bench_function("baseline_ring_verify", |b| {
        b.iter(|| bare.verify(black_box(&msg), black_box(&sig)))
    });
    let mut buf = Vec::with_capacity(512);
    let p = qredo::parse(&req).expect("parse");
    qredo::verify_with_buffer(&req, &p, &verifier, &policy, NOW, &mut buf).expect("verifies");
    bare.verify(&msg, &sig).expect("baseline verifies");
    g.bench_function("parse_and_verify", |b| {
        b.iter(|| {
            let p = qredo::parse(black_box(&req))?;
            qredo::verify_with_buffer(&req, &p, &verifier, &policy, NOW, &mut buf)
        })
    });
    g.finish();
}

fn altalix_verify(c: &mut Criterion) {
    let key = PrivateKey::from_pem(ALTALIX_KEY).expect("key");
    let verifier =
        VerifyingKey::new(&key.public_key(), SignatureAlgorithm::RsaPkcs1Sha256).expect("key");
    let PublicKey::Rsa(rsa) = key.public_key() else {
        unreachable!("an RSA key")
    };
    let query = ALTALIX_URL.trim().split_once('?').expect("query").1;
    let parsed = altalix::parse_query(query).expect("parse");
    let now = parsed.unverified_payload().created_at_time().expect("time");
    let json = parsed.json().to_vec();
    let sig_b64: String = include_str!("../../testvectors/altalix/sell.signature.b64")
        .split_whitespace()
        .collect();
    let sig = auth_core::encoding::b64_decode(&sig_b64, "sig").expect("b64");
    let bare = UnparsedPublicKey::new(&rs::RSA_PKCS1_2048_8192_SHA256, rsa.pkcs1_der().to_vec());
    let policy = AltalixPolicy::default();

    altalix::verify(&parsed, &verifier, &policy, now).expect("verifies");
    bare.verify(&json, &sig).expect("baseline verifies");
    let mut g = c.benchmark_group("altalix_rsa2048");
    g.bench_function("baseline_ring_verify", |b| {
        b.iter(|| bare.verify(black_box(&json), black_box(&sig)))
    });
    g.bench_function("parse_and_verify", |b| {
        b.iter(|| {
            let p = altalix::parse_query(black_box(query))?;
            altalix::verify(&p, &verifier, &policy, now).map(|p| p.created_at.len())
        })
    });
    g.finish();
}

criterion_group!(benches, rfc9421_verify, qredo_verify, altalix_verify);
criterion_main!(benches);
