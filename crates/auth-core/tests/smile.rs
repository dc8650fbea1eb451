//! Smile "Signature": the docs/protocols.md vector reproduces exactly, headers and body fields
//! carry it, the receiving side enforces its timestamp window, and every mutation fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::scheme::smile::{self, SmileKey, SmilePolicy};
use auth_core::{ErrorCode, UnixTime};
use proptest::prelude::*;
use serde_json::Value;
use std::time::Duration;

const VECTORS: &str = include_str!("../../../testvectors/smile/vectors.json");

fn vector() -> Value {
    let v: Value = serde_json::from_str(VECTORS).unwrap();
    v["signature"][0].clone()
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap().to_owned()
}

#[test]
fn protocols_vector_reproduces_exactly() {
    let v = vector();
    let key = SmileKey::new(s(&v, "api_key").as_bytes()).unwrap();
    let sig = key.sign(&s(&v, "partner_id"), &s(&v, "timestamp"));
    assert_eq!(sig, s(&v, "signature"));
    assert_eq!(sig.len(), 44);
}

#[test]
fn signature_base_is_what_the_hmac_covers() {
    let v = vector();
    let base = smile::signature_base(&s(&v, "partner_id"), &s(&v, "timestamp"));
    assert_eq!(base, b"2022-04-03T21:31:47.296Z085sid_request");
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, s(&v, "api_key").as_bytes()),
        &base,
    );
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(tag.as_ref());
    assert_eq!(b64, s(&v, "signature"));
}

#[test]
fn protocols_vector_verifies_at_its_time_from_headers_and_body() {
    let v = vector();
    let key = SmileKey::new(s(&v, "api_key").as_bytes()).unwrap();
    let now = UnixTime::parse_rfc3339(&s(&v, "timestamp")).unwrap();
    let policy = SmilePolicy::default();
    let (pid, ts, sig) = (s(&v, "partner_id"), s(&v, "timestamp"), s(&v, "signature"));
    let parsed = smile::parse(&pid, &ts, &sig).unwrap();
    assert_eq!(parsed.partner_id(), "085");
    smile::verify(&parsed, &key, &policy, now).unwrap();
    let headers = [
        ("smileid-partner-id", pid.as_str()),
        ("smileid-timestamp", ts.as_str()),
        ("smileid-request-signature", sig.as_str()),
    ];
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    let parsed = smile::parse_headers(get).unwrap();
    smile::verify(&parsed, &key, &policy, now).unwrap();
    // A missing header is named.
    let e = smile::parse_headers(|n: &str| {
        if n == "smileid-timestamp" {
            None
        } else {
            get(n)
        }
    })
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::MissingComponent);
}

#[test]
fn every_mutation_fails() {
    let v = vector();
    let key = SmileKey::new(s(&v, "api_key").as_bytes()).unwrap();
    let now = UnixTime::parse_rfc3339(&s(&v, "timestamp")).unwrap();
    let policy = SmilePolicy::default();
    let (pid, ts, sig) = (s(&v, "partner_id"), s(&v, "timestamp"), s(&v, "signature"));
    // Another partner, another key, a re-formatted but equal timestamp, a flipped byte.
    for (p, t) in [
        ("85", ts.as_str()),
        ("086", ts.as_str()),
        (pid.as_str(), "2022-04-03T21:31:47.296+00:00"),
        (pid.as_str(), "2022-04-03T21:31:47.297Z"),
    ] {
        let parsed = smile::parse(p, t, &sig).unwrap();
        assert_eq!(
            smile::verify(&parsed, &key, &policy, now)
                .unwrap_err()
                .code(),
            ErrorCode::SignatureMismatch,
            "{p} {t}"
        );
    }
    let other = SmileKey::new(b"test-api-kez").unwrap();
    let parsed = smile::parse(&pid, &ts, &sig).unwrap();
    assert_eq!(
        smile::verify(&parsed, &other, &policy, now)
            .unwrap_err()
            .code(),
        ErrorCode::SignatureMismatch
    );
    let raw = auth_core::encoding::b64_decode(&sig, "sig").unwrap();
    for i in 0..raw.len() {
        let mut m = raw.clone();
        m[i] ^= 1;
        let b = auth_core::encoding::b64_encode(&m);
        let parsed = smile::parse(&pid, &ts, &b).unwrap();
        assert_eq!(
            smile::verify(&parsed, &key, &policy, now)
                .unwrap_err()
                .code(),
            ErrorCode::SignatureMismatch
        );
    }
    // Outside the window on either side.
    for at in [
        now.saturating_add(Duration::from_secs(301)),
        now.saturating_sub(Duration::from_secs(31)),
    ] {
        assert_eq!(
            smile::verify(&parsed, &key, &policy, at)
                .unwrap_err()
                .code(),
            ErrorCode::StaleTimestamp
        );
    }
    assert!(
        smile::verify(
            &parsed,
            &key,
            &policy,
            now.saturating_add(Duration::from_secs(300))
        )
        .is_ok()
    );
    // Malformed inputs.
    for (p, t, g) in [
        ("", ts.as_str(), sig.as_str()),
        ("0 85", ts.as_str(), sig.as_str()),
        (pid.as_str(), "yesterday", sig.as_str()),
        (pid.as_str(), ts.as_str(), "not base64!"),
        (pid.as_str(), ts.as_str(), &sig[..40]),
        (pid.as_str(), ts.as_str(), "AAAA"),
    ] {
        assert_eq!(
            smile::parse(p, t, g).unwrap_err().code(),
            ErrorCode::Malformed,
            "{p} {t} {g}"
        );
    }
}

#[test]
fn sdk_timestamp_forms_are_accepted() {
    let key = SmileKey::new(b"test-api-key").unwrap();
    let policy = SmilePolicy::default();
    let now = UnixTime::from_millis(1_649_021_507_296);
    for ts in [
        "2022-04-03T21:31:47.296Z",
        "2022-04-03T21:31:47.296123+00:00",
        "2022-04-03T21:31:47+00:00",
        "2022-04-03T23:31:47.296+02:00",
        "1649021507",
        "1649021507296",
    ] {
        let sig = key.sign("085", ts);
        let parsed = smile::parse("085", ts, &sig).unwrap();
        smile::verify(&parsed, &key, &policy, now).unwrap_or_else(|e| panic!("{ts}: {e}"));
    }
    let fields = key.sign_at("085", now);
    assert_eq!(fields.timestamp, "2022-04-03T21:31:47.296Z");
    assert_eq!(
        smile::sdk_timestamp(UnixTime::from_secs(1_649_021_507)),
        "2022-04-03T21:31:47.000Z"
    );
    assert_eq!(
        fields.headers()[1],
        ("smileid-request-signature", fields.signature.as_str())
    );
    assert_eq!(fields.body_fields()[0], ("partner_id", "085"));
}

#[test]
fn signature_with_line_breaks_is_tolerated() {
    let v = vector();
    let key = SmileKey::new(b"test-api-key").unwrap();
    let sig = s(&v, "signature");
    let wrapped = format!("{}\n{}", &sig[..20], &sig[20..]);
    let parsed = smile::parse("085", "2022-04-03T21:31:47.296Z", &wrapped).unwrap();
    let now = UnixTime::parse_rfc3339("2022-04-03T21:31:47.296Z").unwrap();
    smile::verify(&parsed, &key, &SmilePolicy::default(), now).unwrap();
}

proptest! {
    #[test]
    fn round_trip(pid in "[0-9]{1,6}", key in proptest::collection::vec(any::<u8>(), 1..64), ms in 0u64..4_000_000_000_000) {
        let k = SmileKey::new(&key).unwrap();
        let now = UnixTime::from_millis(ms);
        let f = k.sign_at(&pid, now);
        let parsed = smile::parse(&f.partner_id, &f.timestamp, &f.signature).unwrap();
        prop_assert!(smile::verify(&parsed, &k, &SmilePolicy::default(), now).is_ok());
    }

    #[test]
    fn parse_never_panics(p in ".{0,80}", t in ".{0,80}", g in ".{0,200}") {
        let _ = smile::parse(&p, &t, &g);
    }
}
