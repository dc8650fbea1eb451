//! Qredo request signatures: openssl-made vectors verify and are reproduced byte for byte,
//! every mutation is rejected with the right Qredo reason, and live interop with
//! `openssl dgst -sha256 -sign` / `-verify` in both directions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::ErrorCode;
use auth_core::keys::{PrivateKey, PublicKey, SignatureAlgorithm, SigningKey, VerifyingKey};
use auth_core::rand::SystemRandom;
use auth_core::request::{Request, TargetUri};
use auth_core::scheme::qredo::{self, Freshness, FreshnessMode, QredoPolicy, Reason};
use auth_core::time::UnixTime;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testvectors/qredo")
}

fn vectors() -> Vec<Value> {
    serde_json::from_str(&std::fs::read_to_string(dir().join("vectors.json")).unwrap()).unwrap()
}

fn private_pem() -> String {
    std::fs::read_to_string(dir().join("partner-key.pem")).unwrap()
}

fn public_key() -> VerifyingKey {
    let pem = std::fs::read_to_string(dir().join("partner-key.pub.pem")).unwrap();
    VerifyingKey::new(
        &PublicKey::from_pem(&pem).unwrap(),
        SignatureAlgorithm::RsaPkcs1Sha256,
    )
    .unwrap()
}

fn signing_key() -> SigningKey {
    SigningKey::new(
        &PrivateKey::from_pem(&private_pem()).unwrap(),
        SignatureAlgorithm::RsaPkcs1Sha256,
        &SystemRandom::new(),
    )
    .unwrap()
}

fn policy() -> QredoPolicy {
    QredoPolicy::default().with_freshness(FreshnessMode::TimestampOrNonce)
}

/// Parses and verifies a request built from `(method, url, headers, body)`.
fn check(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    key: &VerifyingKey,
    policy: &QredoPolicy,
    now: UnixTime,
) -> Result<Freshness, qredo::QredoError> {
    let req = Request::from_uri(method, url, headers, body).unwrap();
    let parsed = qredo::parse(&req)?;
    assert_eq!(parsed.api_key(), "partner-api-key");
    qredo::verify(&req, &parsed, key, policy, now).map(|v| v.freshness())
}

fn vector_now(v: &Value) -> UnixTime {
    match v["header"].as_str().unwrap() {
        "x-timestamp" => UnixTime::from_secs(v["value"].as_str().unwrap().parse().unwrap()),
        _ => UnixTime::from_secs(1_700_000_000),
    }
}

#[test]
fn openssl_vectors_verify_and_are_reproduced() {
    let key = public_key();
    let signer = signing_key();
    let vs = vectors();
    assert_eq!(vs.len(), 3);
    for v in &vs {
        let (name, value) = (v["header"].as_str().unwrap(), v["value"].as_str().unwrap());
        let (url, body, sign) = (
            v["url"].as_str().unwrap(),
            v["body"].as_str().unwrap().as_bytes(),
            v["x_sign"].as_str().unwrap(),
        );
        assert_eq!(sign.len(), 342, "RSA-2048 gives 342 characters");
        let headers = [
            ("X-Api-Key", "partner-api-key"),
            (name, value),
            ("X-Sign", sign),
        ];
        let got = check(
            v["method"].as_str().unwrap(),
            url,
            &headers,
            body,
            &key,
            &policy(),
            vector_now(v),
        )
        .unwrap_or_else(|e| panic!("{url}: {e}"));
        let freshness = if name == "x-nonce" {
            Freshness::Nonce(value.parse().unwrap())
        } else {
            Freshness::Timestamp(value.parse().unwrap())
        };
        assert_eq!(got, freshness);
        // PKCS#1 v1.5 is deterministic: our signer gives the same x-sign.
        let ours = qredo::sign(
            &TargetUri::parse(url).unwrap(),
            body,
            freshness,
            &signer,
            &SystemRandom::new(),
        )
        .unwrap();
        assert_eq!(
            (
                ours.freshness_name,
                ours.freshness_value.as_str(),
                ours.sign.as_str()
            ),
            (name, value, sign)
        );
    }
}

#[test]
fn mutations_are_rejected_with_the_right_reason() {
    let key = public_key();
    let v = &vectors()[1];
    let (url, body, sign) = (
        v["url"].as_str().unwrap(),
        v["body"].as_str().unwrap().as_bytes(),
        v["x_sign"].as_str().unwrap(),
    );
    let ts = v["value"].as_str().unwrap();
    let now = vector_now(v);
    let reason = |method: &str,
                  url: &str,
                  headers: &[(&str, &str)],
                  body: &[u8],
                  pol: &QredoPolicy,
                  now: UnixTime| {
        check(method, url, headers, body, &key, pol, now)
            .unwrap_err()
            .reason
    };
    let good = [
        ("x-api-key", "partner-api-key"),
        ("x-timestamp", ts),
        ("x-sign", sign),
    ];
    // The method is not signed: the same signed request replayed with another method within
    // the window verifies, and only the replay cache (keyed by the signature) stops it.
    check("PUT", url, &good, body, &key, &policy(), now).unwrap();
    let mut cache = auth_core::replay::ReplayCache::new(4);
    let window = QredoPolicy::default().window();
    for (i, method) in ["POST", "PUT"].into_iter().enumerate() {
        let req = Request::from_uri(method, url, &good, body).unwrap();
        let p = qredo::parse(&req).unwrap();
        let v = qredo::verify(&req, &p, &key, &policy(), now).unwrap();
        let scope = auth_core::credential::CredentialRef::by_digest(
            auth_core::credential::Purpose::QredoKey,
            &auth_core::apikey::ApiKeyDigest::of(p.api_key()),
        );
        let k = auth_core::replay::ReplayKey::content(&scope, &v.content_digest_for_replay());
        let r = cache.record(&k, now, window.retention());
        assert_eq!(r.is_ok(), i == 0, "{method}");
    }

    // One byte of the signature, URL, body or timestamp.
    let mut raw = auth_core::encoding::b64url_decode(sign, "s").unwrap();
    raw[100] ^= 1;
    let bad_sig = auth_core::encoding::b64url_encode(&raw);
    let h = [
        ("x-api-key", "partner-api-key"),
        ("x-timestamp", ts),
        ("x-sign", bad_sig.as_str()),
    ];
    assert_eq!(
        reason("POST", url, &h, body, &policy(), now),
        Reason::Signature
    );
    assert_eq!(
        reason(
            "POST",
            &url.replace("x=1", "x=2"),
            &good,
            body,
            &policy(),
            now
        ),
        Reason::Signature
    );
    assert_eq!(
        reason(
            "POST",
            &url.replace("https", "http"),
            &good,
            body,
            &policy(),
            now
        ),
        Reason::Signature
    );
    let mut b = body.to_vec();
    b[3] ^= 1;
    assert_eq!(
        reason("POST", url, &good, &b, &policy(), now),
        Reason::Signature
    );
    let ts2 = (ts.parse::<u64>().unwrap() + 1).to_string();
    let h = [
        ("x-api-key", "partner-api-key"),
        ("x-timestamp", ts2.as_str()),
        ("x-sign", sign),
    ];
    assert_eq!(
        reason("POST", url, &h, body, &policy(), now),
        Reason::Signature
    );
    // Time shifted past the ±30 s window either way; inside it is fine.
    let e = check(
        "POST",
        url,
        &good,
        body,
        &key,
        &policy(),
        now.saturating_add(Duration::from_secs(31)),
    )
    .unwrap_err();
    assert_eq!(
        (e.reason, e.error.code()),
        (Reason::Timestamp, ErrorCode::StaleTimestamp)
    );
    assert_eq!(
        reason(
            "POST",
            url,
            &good,
            body,
            &policy(),
            now.saturating_sub(Duration::from_secs(31))
        ),
        Reason::Timestamp
    );
    check(
        "POST",
        url,
        &good,
        body,
        &key,
        &policy(),
        now.saturating_add(Duration::from_secs(30)),
    )
    .unwrap();
    let wide = QredoPolicy::new(Duration::from_secs(120));
    check(
        "POST",
        url,
        &good,
        body,
        &key,
        &wide,
        now.saturating_add(Duration::from_secs(100)),
    )
    .unwrap();
    // Padded or standard Base64 is not Qredo's encoding.
    let padded = format!("{sign}==");
    let h = [
        ("x-api-key", "partner-api-key"),
        ("x-timestamp", ts),
        ("x-sign", padded.as_str()),
    ];
    assert_eq!(
        reason("POST", url, &h, body, &policy(), now),
        Reason::Signature
    );
    // Missing headers.
    let h = [("x-timestamp", ts), ("x-sign", sign)];
    let req = Request::from_uri("POST", url, &h, body).unwrap();
    let e = qredo::parse(&req).unwrap_err();
    assert_eq!(
        (e.reason, e.error.code()),
        (Reason::ApiKey, ErrorCode::Unauthorized)
    );
    assert_eq!(
        e.reason.error_body(),
        r#"{"code":401,"msg":"errPartnerAuth","detail":{"reason":"api_key"}}"#
    );
    let h = [("x-api-key", "partner-api-key"), ("x-sign", sign)];
    assert_eq!(
        reason("POST", url, &h, body, &policy(), now),
        Reason::Timestamp
    );
    let h = [("x-api-key", "partner-api-key"), ("x-timestamp", ts)];
    assert_eq!(
        reason("POST", url, &h, body, &policy(), now),
        Reason::Signature
    );
    // Malformed or doubled timestamps.
    for bad in ["016057798", "1605779886.0", "-1", ""] {
        let h = [
            ("x-api-key", "partner-api-key"),
            ("x-timestamp", bad),
            ("x-sign", sign),
        ];
        assert_eq!(
            reason("POST", url, &h, body, &policy(), now),
            Reason::Timestamp,
            "{bad}"
        );
    }
    let h = [
        ("x-api-key", "partner-api-key"),
        ("x-timestamp", ts),
        ("x-timestamp", ts),
        ("x-sign", sign),
    ];
    assert_eq!(
        reason("POST", url, &h, body, &policy(), now),
        Reason::Timestamp
    );
    let h = [
        ("x-api-key", "partner-api-key"),
        ("x-timestamp", ts),
        ("x-nonce", "1"),
        ("x-sign", sign),
    ];
    assert_eq!(
        reason("POST", url, &h, body, &policy(), now),
        Reason::Timestamp
    );
}

#[test]
fn nonce_mode_must_be_enabled() {
    let key = public_key();
    let v = &vectors()[2];
    let h = [
        ("x-api-key", "partner-api-key"),
        ("x-nonce", "42"),
        ("x-sign", v["x_sign"].as_str().unwrap()),
    ];
    let url = v["url"].as_str().unwrap();
    let e = check(
        "GET",
        url,
        &h,
        b"",
        &key,
        &QredoPolicy::default(),
        UnixTime::EPOCH,
    )
    .unwrap_err();
    assert_eq!(e.reason, Reason::Nonce);
    // With nonces enabled it verifies; strict increase is the replay store's job.
    let mut store = auth_core::replay::MonotonicNonces::new(16);
    let Freshness::Nonce(n) = check("GET", url, &h, b"", &key, &policy(), UnixTime::EPOCH).unwrap()
    else {
        panic!("expected a nonce")
    };
    store.check_and_update("partner-api-key", n).unwrap();
    let e = store.check_and_update("partner-api-key", n).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Replayed);
    assert_eq!(qredo::QredoError::nonce(e).reason, Reason::Nonce);
}

#[test]
fn keys_in_every_accepted_format_sign_alike_and_other_algorithms_are_refused() {
    let rng = SystemRandom::new();
    let pk = PrivateKey::from_pem(&private_pem()).unwrap();
    let pkcs8 =
        PrivateKey::from_pem(std::str::from_utf8(pk.to_pkcs8_pem().expose()).unwrap()).unwrap();
    let target = TargetUri::parse("https://api.qredo.network/api/v1/p/company/search").unwrap();
    let a = qredo::sign(
        &target,
        b"",
        Freshness::Timestamp(1),
        &SigningKey::new(&pk, SignatureAlgorithm::RsaPkcs1Sha256, &rng).unwrap(),
        &rng,
    )
    .unwrap();
    let b = qredo::sign(
        &target,
        b"",
        Freshness::Timestamp(1),
        &SigningKey::new(&pkcs8, SignatureAlgorithm::RsaPkcs1Sha256, &rng).unwrap(),
        &rng,
    )
    .unwrap();
    assert_eq!(a, b);
    let pkcs1_pub = PublicKey::from_pem(&pk.public_key().to_pkcs1_pem().unwrap()).unwrap();
    let h = a.with_api_key("partner-api-key");
    let k = VerifyingKey::new(&pkcs1_pub, SignatureAlgorithm::RsaPkcs1Sha256).unwrap();
    check(
        "GET",
        "https://api.qredo.network/api/v1/p/company/search",
        &h,
        b"",
        &k,
        &policy(),
        UnixTime::from_secs(1),
    )
    .unwrap();
    // A PSS key (or any other algorithm) is refused, even over the right bytes.
    let pss = VerifyingKey::new(&pkcs1_pub, SignatureAlgorithm::RsaPssSha256).unwrap();
    let e = check(
        "GET",
        "https://api.qredo.network/api/v1/p/company/search",
        &h,
        b"",
        &pss,
        &policy(),
        UnixTime::from_secs(1),
    )
    .unwrap_err();
    assert_eq!(e.error.code(), ErrorCode::UnsupportedAlgorithm);
    let e = qredo::sign(
        &target,
        b"",
        Freshness::Timestamp(1),
        &SigningKey::new(&pk, SignatureAlgorithm::RsaPssSha256, &rng).unwrap(),
        &rng,
    )
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnsupportedAlgorithm);
}

#[test]
fn interop_with_openssl_dgst_both_directions() {
    if !common::openssl_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let key_path = tmp.path().join("k.pem");
    let pub_path = tmp.path().join("k.pub.pem");
    let sig_path = tmp.path().join("sig.bin");
    // A fresh key from openssl itself, PKCS#1 as Qredo partners make them.
    common::run(
        Command::new("openssl")
            .args(["genrsa", "-traditional", "-out"])
            .arg(&key_path)
            .arg("2048"),
        b"",
    );
    common::run(
        Command::new("openssl")
            .args(["rsa", "-pubout", "-in"])
            .arg(&key_path)
            .arg("-out")
            .arg(&pub_path),
        b"",
    );
    let rng = SystemRandom::new();
    let signer = SigningKey::new(
        &PrivateKey::from_pem(&std::fs::read_to_string(&key_path).unwrap()).unwrap(),
        SignatureAlgorithm::RsaPkcs1Sha256,
        &rng,
    )
    .unwrap();
    let verifier = VerifyingKey::new(
        &PublicKey::from_pem(&std::fs::read_to_string(&pub_path).unwrap()).unwrap(),
        SignatureAlgorithm::RsaPkcs1Sha256,
    )
    .unwrap();
    let url = "https://api.qredo.network/api/v1/p/company/abc/transfer?dry=1";
    let body = br#"{"amount":"1.5","asset":"ETH"}"#;
    let now = 1_700_000_000u64;
    let target = TargetUri::parse(url).unwrap();
    let mut to_sign = Vec::new();
    qredo::write_string_to_sign(&now.to_string(), &target, body, &mut to_sign);

    // openssl signs, we verify.
    let sig = common::run(
        Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&key_path),
        &to_sign,
    );
    let x_sign = auth_core::encoding::b64url_encode(&sig);
    let ts = now.to_string();
    let h = [
        ("x-api-key", "partner-api-key"),
        ("x-timestamp", ts.as_str()),
        ("x-sign", x_sign.as_str()),
    ];
    check(
        "POST",
        url,
        &h,
        body,
        &verifier,
        &policy(),
        UnixTime::from_secs(now),
    )
    .unwrap();

    // We sign, openssl verifies (and rejects a changed body).
    let ours = qredo::sign(&target, body, Freshness::Timestamp(now), &signer, &rng).unwrap();
    std::fs::write(
        &sig_path,
        auth_core::encoding::b64url_decode(&ours.sign, "x").unwrap(),
    )
    .unwrap();
    let out = common::run(
        Command::new("openssl")
            .args(["dgst", "-sha256", "-verify"])
            .arg(&pub_path)
            .arg("-signature")
            .arg(&sig_path),
        &to_sign,
    );
    assert_eq!(String::from_utf8_lossy(&out).trim(), "Verified OK");
    let mut changed = to_sign.clone();
    *changed.last_mut().unwrap() ^= 1;
    assert!(!common::succeeds(
        Command::new("openssl")
            .args(["dgst", "-sha256", "-verify"])
            .arg(&pub_path)
            .arg("-signature")
            .arg(&sig_path)
            .stdin(
                std::fs::File::open({
                    let p = tmp.path().join("changed");
                    std::fs::write(&p, &changed).unwrap();
                    p
                })
                .unwrap()
            )
    ));
}

/// Issue #9 findings 3 and 12: the replay identifier of a verified request is the SHA-256 of
/// the exact signed bytes (`value || full_url || body`), so the same signed bytes presented
/// once as `x-timestamp` and once as `x-nonce` map to one identifier, not two key spaces.
#[test]
fn timestamp_and_nonce_modes_share_one_replay_identifier() {
    let key = public_key();
    let signer = signing_key();
    let url = "https://api.qredo.network/api/v1/p/company/search?x=1";
    let body = br#"{"name":"acme"}"#;
    let t = 1_700_000_000u64;
    let now = UnixTime::from_secs(t);
    let signed = qredo::sign(
        &TargetUri::parse(url).unwrap(),
        body,
        Freshness::Timestamp(t),
        &signer,
        &SystemRandom::new(),
    )
    .unwrap();
    let value = t.to_string();
    let id = |freshness_header: &str| {
        let h = [
            ("x-api-key", "partner-api-key"),
            (freshness_header, value.as_str()),
            ("x-sign", signed.sign.as_str()),
        ];
        let req = Request::from_uri("POST", url, &h, body).unwrap();
        let parsed = qredo::parse(&req).unwrap();
        qredo::verify(&req, &parsed, &key, &policy(), now)
            .unwrap()
            .content_digest_for_replay()
    };
    let as_timestamp = id("x-timestamp");
    let as_nonce = id("x-nonce");
    assert_eq!(as_timestamp, as_nonce, "one signed message, one identifier");
    let mut signed_bytes = Vec::new();
    qredo::write_string_to_sign(
        &value,
        &TargetUri::parse(url).unwrap(),
        body,
        &mut signed_bytes,
    );
    let want = ring::digest::digest(&ring::digest::SHA256, &signed_bytes);
    assert_eq!(&as_timestamp[..], want.as_ref());
}

/// Issue #9 finding 16: an empty `x-sign` is a malformed request, not a signature mismatch.
#[test]
fn empty_x_sign_is_malformed() {
    for sign in ["", "  "] {
        let h = [
            ("x-api-key", "partner-api-key"),
            ("x-timestamp", "1700000000"),
            ("x-sign", sign),
        ];
        let req = Request::from_uri("GET", "https://api.qredo.network/x", &h, b"").unwrap();
        let e = qredo::parse(&req).unwrap_err();
        assert_eq!(
            (e.reason, e.error.code()),
            (Reason::Signature, ErrorCode::Malformed),
            "{sign:?}: {e}"
        );
    }
}

/// Issue #9 finding 13: Debug of a parsed request does not print the API key.
#[test]
fn debug_of_a_parsed_request_hides_the_api_key() {
    let secret_key = "c2VjcmV0LXFyZWRvLWFwaS1rZXktdGV4dA==";
    let h = [
        ("x-api-key", secret_key),
        ("x-timestamp", "1700000000"),
        ("x-sign", "AAAA"),
    ];
    let req = Request::from_uri("GET", "https://api.qredo.network/x", &h, b"").unwrap();
    let parsed = qredo::parse(&req).unwrap();
    let text = format!("{parsed:?}");
    assert!(!text.contains(secret_key), "{text}");
    assert!(!text.contains("c2VjcmV0"), "{text}");
    assert!(
        text.contains("1700000000"),
        "the timestamp is not secret: {text}"
    );
}
