//! Altalix signed payload URLs: openssl-made URLs (Base64 wrapped at 64 columns and
//! URL-encoded) parse and verify, our signer reproduces their exact JSON and signature,
//! mutations fail, and openssl / Python's urllib accept what we produce.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::keys::{PrivateKey, PublicKey, SignatureAlgorithm, SigningKey, VerifyingKey};
use auth_core::rand::SystemRandom;
use auth_core::scheme::altalix::{self, AltalixPolicy, Amount, Payload};
use auth_core::time::UnixTime;
use auth_core::{Error, ErrorCode};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const KEY_ID: &str = "7d4c2a8e-5b1f-4f3e-9a6d-2c8b1e0f4a93";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testvectors/altalix")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap()
}

fn registry() -> HashMap<String, VerifyingKey> {
    let public = PublicKey::from_pem(&read("partner-key.pub.pem")).unwrap();
    HashMap::from([(
        KEY_ID.to_owned(),
        VerifyingKey::new(&public, SignatureAlgorithm::RsaPkcs1Sha256).unwrap(),
    )])
}

fn signer() -> SigningKey {
    SigningKey::new(
        &PrivateKey::from_pem(&read("partner-key.pem")).unwrap(),
        SignatureAlgorithm::RsaPkcs1Sha256,
        &SystemRandom::new(),
    )
    .unwrap()
}

/// The whole provider path: parse, resolve by key_id, verify.
fn accept(query: &str, now: UnixTime) -> Result<Payload, Error> {
    let reg = registry();
    let parsed = altalix::parse_query(query)?;
    let key = reg
        .get(parsed.key_id())
        .ok_or_else(|| Error::new(ErrorCode::UnknownKey, "no key under this key_id"))?;
    altalix::verify(&parsed, key, &AltalixPolicy::default(), now).cloned()
}

fn query_of(url: &str) -> &str {
    url.trim().split_once('?').unwrap().1
}

fn created(case: &str) -> UnixTime {
    let p: serde_json::Value = serde_json::from_str(&read(&format!("{case}.json"))).unwrap();
    UnixTime::parse_rfc3339(p["created_at"].as_str().unwrap()).unwrap()
}

#[test]
fn openssl_urls_verify_and_are_reproduced() {
    for case in ["sell", "buy"] {
        let url = read(&format!("{case}.url"));
        assert!(url.contains("%0A"), "the vector carries encoded newlines");
        let now = created(case);
        let payload = accept(query_of(&url), now).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(payload.key_id, KEY_ID);
        assert_eq!(payload.partner_id, "085");
        // Field order and bytes: our JSON of the same payload is the signed JSON.
        assert_eq!(
            payload.to_json().unwrap(),
            read(&format!("{case}.json")),
            "{case}"
        );
        let signed = altalix::sign(&payload, &signer(), &SystemRandom::new()).unwrap();
        let openssl_sig: String = read(&format!("{case}.signature.b64"))
            .split_whitespace()
            .collect();
        assert_eq!(
            signed.signature_b64, openssl_sig,
            "{case}: PKCS#1 v1.5 is deterministic"
        );
        // Our own URL verifies too.
        accept(
            query_of(&signed.url("https://altalix.example/partners/transaction-create")),
            now,
        )
        .unwrap();
    }
    let p = accept(query_of(&read("buy.url")), created("buy")).unwrap();
    assert_eq!(p.amount, Amount::Buy("0.015".into()));
}

#[test]
fn decoded_parameters_verify_too() {
    // A framework that already form-decoded the query hands us newlines and spaces for '+'.
    let p = read("sell.payload.b64");
    let s = read("sell.signature.b64").replace('+', " ");
    let parsed = altalix::parse(&p, &s).unwrap();
    altalix::verify(
        &parsed,
        &registry()[KEY_ID],
        &AltalixPolicy::default(),
        created("sell"),
    )
    .unwrap();
}

#[test]
fn mutations_fail() {
    let url = read("sell.url");
    let q = query_of(&url);
    let now = created("sell");
    let code = |q: &str, now: UnixTime| accept(q, now).unwrap_err().code();

    // Time: past 5 minutes, or more than 30 s ahead.
    accept(q, now.saturating_add(Duration::from_secs(300))).unwrap();
    assert_eq!(
        code(q, now.saturating_add(Duration::from_secs(301))),
        ErrorCode::StaleTimestamp
    );
    assert_eq!(
        code(q, now.saturating_sub(Duration::from_secs(31))),
        ErrorCode::StaleTimestamp
    );

    // One byte of the JSON (re-encoded, so it still parses) or of the signature.
    let json = read("sell.json");
    let sig = read("sell.signature.b64");
    let enc = |s: &str| {
        s.replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    };
    let b64 = auth_core::encoding::b64_encode;
    for (from, to) in [("\"25\"", "\"26\""), ("ETH", "ETC"), ("085", "086")] {
        let changed = json.replace(from, to);
        let q = format!(
            "payload={}&signature={}",
            enc(&b64(changed.as_bytes())),
            enc(&sig)
        );
        assert_eq!(code(&q, now), ErrorCode::SignatureMismatch, "{from}");
    }
    let mut raw = auth_core::encoding::b64_decode_lenient(&sig, "s").unwrap();
    raw[7] ^= 1;
    let q2 = format!(
        "payload={}&signature={}",
        enc(&b64(json.as_bytes())),
        enc(&b64(&raw))
    );
    assert_eq!(code(&q2, now), ErrorCode::SignatureMismatch);
    // A key_id nobody registered.
    let other = json.replace(KEY_ID, "00000000-0000-0000-0000-000000000000");
    let q3 = format!(
        "payload={}&signature={}",
        enc(&b64(other.as_bytes())),
        enc(&sig)
    );
    assert_eq!(code(&q3, now), ErrorCode::UnknownKey);
    // The right key_id but a different registered key (signature for another key).
    let rng = SystemRandom::new();
    let stranger = auth_core::keys::generate_rsa(2048, &rng).unwrap();
    let wrong =
        VerifyingKey::new(&stranger.public_key(), SignatureAlgorithm::RsaPkcs1Sha256).unwrap();
    let parsed = altalix::parse_query(q).unwrap();
    let e = altalix::verify(&parsed, &wrong, &AltalixPolicy::default(), now).unwrap_err();
    assert_eq!(e.code(), ErrorCode::SignatureMismatch);
    let pss = VerifyingKey::new(
        &PublicKey::from_pem(&read("partner-key.pub.pem")).unwrap(),
        SignatureAlgorithm::RsaPssSha256,
    )
    .unwrap();
    assert_eq!(
        altalix::verify(&parsed, &pss, &AltalixPolicy::default(), now)
            .unwrap_err()
            .code(),
        ErrorCode::UnsupportedAlgorithm
    );

    // Structure.
    let sig_q = format!("&signature={}", enc(&sig));
    for (bad, want) in [
        (
            json.replace(
                "\"sell_amount\":\"25\"",
                "\"sell_amount\":\"25\",\"buy_amount\":\"1\"",
            ),
            ErrorCode::Malformed,
        ),
        (
            json.replace(",\"sell_amount\":\"25\"", ""),
            ErrorCode::Malformed,
        ),
        (
            json.replace("\"address\"", "\"extra\":1,\"address\""),
            ErrorCode::Malformed,
        ),
        (
            json.replace("2026-11-24T12:00:00Z", "yesterday"),
            ErrorCode::SignatureMismatch,
        ),
        ("[1,2,3]".to_owned(), ErrorCode::Malformed),
    ] {
        let q = format!("payload={}{sig_q}", enc(&b64(bad.as_bytes())));
        assert_eq!(code(&q, now), want, "{bad}");
    }
    assert_eq!(code("payload=abc", now), ErrorCode::Unauthorized);
    assert_eq!(code(&format!("{q}&payload=x"), now), ErrorCode::Malformed);
    assert_eq!(
        code("payload=%ZZ&signature=AA%3D%3D", now),
        ErrorCode::Malformed
    );
}

#[test]
fn interop_openssl_verifies_our_signature_and_urllib_decodes_our_url() {
    if !common::openssl_available() {
        return;
    }
    let payload = Payload {
        sell_currency: "EUR".into(),
        buy_currency: "ETH".into(),
        address: "0xABC+/=?&\"quote\"".into(),
        partner_id: "085".into(),
        key_id: KEY_ID.into(),
        created_at: "2026-11-24T12:00:00Z".into(),
        amount: Amount::Sell("25.5".into()),
    };
    let signed = altalix::sign(&payload, &signer(), &SystemRandom::new()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (json_path, sig_b64_path, sig_path) = (
        tmp.path().join("p.json"),
        tmp.path().join("s.b64"),
        tmp.path().join("s.bin"),
    );
    std::fs::write(&json_path, &signed.json).unwrap();
    std::fs::write(&sig_b64_path, format!("{}\n", signed.signature_b64)).unwrap();
    common::run(
        Command::new("openssl")
            .args(["base64", "-d", "-A", "-in"])
            .arg(&sig_b64_path)
            .arg("-out")
            .arg(&sig_path),
        b"",
    );
    let out = common::run(
        Command::new("openssl")
            .args(["dgst", "-sha256", "-verify"])
            .arg(dir().join("partner-key.pub.pem"))
            .arg("-signature")
            .arg(&sig_path)
            .arg(&json_path),
        b"",
    );
    assert_eq!(String::from_utf8_lossy(&out).trim(), "Verified OK");

    let Some(py) = common::python() else { return };
    let url = signed.url("https://altalix.example/partners/transaction-create");
    let script = "import sys, base64, urllib.parse as u\n\
                  q = u.parse_qs(u.urlsplit(sys.argv[1]).query)\n\
                  sys.stdout.write(base64.b64decode(q['payload'][0]).decode())";
    let decoded = common::run_python(&py, script, &[&url], b"");
    assert_eq!(String::from_utf8(decoded).unwrap(), signed.json);
}

/// Issue #9 finding 14: the payload must be a JSON object; serde would also read an array
/// of the fields in declaration order.
#[test]
fn payload_must_be_a_json_object() {
    let b64 = auth_core::encoding::b64_encode;
    let array =
        format!(r#"["BTC","EUR","bc1qexample","085","{KEY_ID}","2024-01-01T00:00:00Z","25",null]"#);
    let e = altalix::parse(&b64(array.as_bytes()), &b64(&[1u8; 256])).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Malformed, "{e}");
}
