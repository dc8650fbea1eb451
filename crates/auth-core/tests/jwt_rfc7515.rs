//! External JWS vectors: RFC 7515 Appendix A.1-A.3 verify with their published keys at their
//! published time, RFC 8037 A.4 is reproduced byte for byte, and every vector mutated fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::keys::jwk::Jwk;
use auth_core::keys::{HmacSecret, PrivateKey, PublicKey, SigningKey, VerifyingKey};
use auth_core::rand::SystemRandom;
use auth_core::scheme::jwt::{self, Algorithm, IatRule, JwtKey, JwtPolicy, JwtVerifier, jws};
use auth_core::{ErrorCode, UnixTime};
use serde_json::Value;
use std::time::Duration;

const RFC7515: &str = include_str!("../../../testvectors/jwt/rfc7515-appendix-a.json");
const RFC8037: &str = include_str!("../../../testvectors/jwt/rfc8037-a4.json");

fn key_for(case: &Value) -> JwtKey {
    let alg = Algorithm::from_name(case["alg"].as_str().unwrap()).unwrap();
    let jwk = &case["jwk"];
    if jwk["kty"] == "oct" {
        let secret = HmacSecret::from_base64url(jwk["k"].as_str().unwrap()).unwrap();
        JwtKey::hmac(&secret, alg).unwrap()
    } else {
        let jwk = Jwk::from_json(&jwk.to_string()).unwrap();
        JwtKey::public(&PublicKey::from_jwk(&jwk).unwrap(), alg).unwrap()
    }
}

/// The A.x claims have no `iat`, so the profile's required-claims rule is relaxed for them.
fn policy() -> JwtPolicy {
    JwtPolicy::new(IatRule::Optional)
}

fn vectors() -> (Value, u64) {
    let v: Value = serde_json::from_str(RFC7515).unwrap();
    let exp = v["exp"].as_u64().unwrap();
    (v, exp)
}

#[test]
fn rfc7515_appendix_a_tokens_verify_before_their_exp() {
    let (v, exp) = vectors();
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let token = case["token"].as_str().unwrap();
        let verifier = JwtVerifier::new(vec![key_for(case)], policy()).unwrap();
        let now = UnixTime::from_secs(exp - 60);
        let ok = verifier
            .verify(token, now)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ok.issuer(), Some("joe"), "{name}");
        assert_eq!(ok.expires_at(), UnixTime::from_secs(exp), "{name}");
        assert_eq!(ok.payload_json(), v["payload"].as_str().unwrap(), "{name}");
        assert_eq!(ok.header().alg.name(), case["alg"].as_str().unwrap());
        let custom: Value = ok.claims().unwrap();
        assert_eq!(custom["http://example.com/is_root"], true, "{name}");
        // The JWS layer alone returns the exact payload too.
        let vk = match case["jwk"]["kty"].as_str().unwrap() {
            "oct" => VerifyingKey::hmac(
                &HmacSecret::from_base64url(case["jwk"]["k"].as_str().unwrap()).unwrap(),
                Algorithm::HS256.signature_algorithm(),
            )
            .unwrap(),
            _ => VerifyingKey::new(
                &PublicKey::from_jwk(&Jwk::from_json(&case["jwk"].to_string()).unwrap()).unwrap(),
                Algorithm::from_name(case["alg"].as_str().unwrap())
                    .unwrap()
                    .signature_algorithm(),
            )
            .unwrap(),
        };
        assert_eq!(
            jws::verify_compact(token, &vk).unwrap(),
            v["payload"].as_str().unwrap().as_bytes()
        );
    }
}

#[test]
fn rfc7515_appendix_a_tokens_fail_after_exp_plus_leeway() {
    let (v, exp) = vectors();
    for case in v["cases"].as_array().unwrap() {
        let verifier = JwtVerifier::new(vec![key_for(case)], policy()).unwrap();
        let token = case["token"].as_str().unwrap();
        // Inside the leeway: still fine.
        assert!(
            verifier
                .verify(token, UnixTime::from_secs(exp + 30))
                .is_ok()
        );
        let e = verifier
            .verify(token, UnixTime::from_secs(exp + 31))
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::TokenExpired, "{}", case["name"]);
        // Far before exp the remaining lifetime exceeds the maximum.
        let e = verifier
            .verify(token, UnixTime::from_secs(exp - 3600))
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidToken);
        // With `iat` required (the seed profile), the vectors are refused: they lack it.
        let strict = JwtVerifier::new(vec![key_for(case)], JwtPolicy::default()).unwrap();
        let e = strict
            .verify(token, UnixTime::from_secs(exp - 60))
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidToken);
        assert!(e.message().contains("iat"), "{e}");
    }
}

#[test]
fn rfc7515_appendix_a_every_byte_flip_fails() {
    let (v, exp) = vectors();
    let now = UnixTime::from_secs(exp - 60);
    for case in v["cases"].as_array().unwrap() {
        let verifier = JwtVerifier::new(vec![key_for(case)], policy()).unwrap();
        let token = case["token"].as_str().unwrap();
        let mut flipped = 0;
        for i in 0..token.len() {
            let b = token.as_bytes()[i];
            if b == b'.' {
                continue;
            }
            // Swap for another Base64url character (keeps the text ASCII).
            let repl = if b == b'A' { 'B' } else { 'A' };
            let mut t = token.to_owned();
            t.replace_range(i..=i, &repl.to_string());
            let e = verifier.verify(&t, now).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidToken, "{} at {i}", case["name"]);
            flipped += 1;
        }
        assert!(flipped > 80);
    }
}

#[test]
fn rfc7515_a1_is_reproduced_byte_for_byte() {
    let (v, _) = vectors();
    let case = &v["cases"][0];
    let secret = HmacSecret::from_base64url(case["jwk"]["k"].as_str().unwrap()).unwrap();
    let key = SigningKey::hmac(&secret, Algorithm::HS256.signature_algorithm()).unwrap();
    let token = jws::sign_compact(
        b"{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}",
        v["payload"].as_str().unwrap().as_bytes(),
        &key,
        &SystemRandom::new(),
    )
    .unwrap();
    assert_eq!(token, case["token"].as_str().unwrap());
}

#[test]
fn rfc8037_a4_is_reproduced_byte_for_byte() {
    let v: Value = serde_json::from_str(RFC8037).unwrap();
    let d =
        auth_core::encoding::b64url_decode(v["jwk_private"]["d"].as_str().unwrap(), "d").unwrap();
    let private = PrivateKey::ed25519_from_seed(&d).unwrap();
    // The public key the RFC prints is the one derived from the seed.
    let x =
        auth_core::encoding::b64url_decode(v["jwk_private"]["x"].as_str().unwrap(), "x").unwrap();
    assert_eq!(
        private.public_key(),
        PublicKey::ed25519_from_raw(&x).unwrap()
    );
    let rng = SystemRandom::new();
    let key = SigningKey::new(&private, Algorithm::EdDSA.signature_algorithm(), &rng).unwrap();
    let token = jws::sign_compact(
        v["protected_header"].as_str().unwrap().as_bytes(),
        v["payload"].as_str().unwrap().as_bytes(),
        &key,
        &rng,
    )
    .unwrap();
    assert_eq!(token, v["token"].as_str().unwrap());
    let vk = VerifyingKey::new(
        &private.public_key(),
        Algorithm::EdDSA.signature_algorithm(),
    )
    .unwrap();
    assert_eq!(
        jws::verify_compact(&token, &vk).unwrap(),
        v["payload"].as_str().unwrap().as_bytes()
    );
    // A flipped signature byte fails.
    let mut bad = token.clone();
    bad.replace_range(bad.len() - 5..bad.len() - 4, "A");
    assert_ne!(bad, token);
    assert_eq!(
        jws::verify_compact(&bad, &vk).unwrap_err().code(),
        ErrorCode::InvalidToken
    );
    // The payload is not JWT claims: the JWT verifier refuses it.
    let verifier = JwtVerifier::new(
        vec![JwtKey::public(&private.public_key(), Algorithm::EdDSA).unwrap()],
        JwtPolicy::new(IatRule::Optional),
    )
    .unwrap();
    assert_eq!(
        verifier
            .verify(&token, UnixTime::from_secs(1))
            .unwrap_err()
            .code(),
        ErrorCode::InvalidToken
    );
}

#[test]
fn every_algorithm_round_trips_and_mutations_fail() {
    let rng = SystemRandom::new();
    let rsa = auth_core::keys::generate_rsa(2048, &rng).unwrap();
    let p256 = auth_core::keys::generate_p256(&rng).unwrap();
    let ed = auth_core::keys::generate_ed25519(&rng).unwrap();
    let secret = HmacSecret::from_bytes(&[7u8; 64]).unwrap();
    let now = UnixTime::from_secs(1_700_000_000);
    let claims = jwt::Claims::seed_profile("partner-7", now);
    for alg in Algorithm::ALL {
        let (signer, key) = match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => (
                jwt::JwtSigner::hmac(&secret, alg).unwrap(),
                JwtKey::hmac(&secret, alg).unwrap(),
            ),
            Algorithm::ES256 => (
                jwt::JwtSigner::new(&p256, alg, &rng).unwrap(),
                JwtKey::public(&p256.public_key(), alg).unwrap(),
            ),
            Algorithm::EdDSA => (
                jwt::JwtSigner::new(&ed, alg, &rng).unwrap(),
                JwtKey::public(&ed.public_key(), alg).unwrap(),
            ),
            _ => (
                jwt::JwtSigner::new(&rsa, alg, &rng).unwrap(),
                JwtKey::public(&rsa.public_key(), alg).unwrap(),
            ),
        };
        let token = signer.sign(&claims, &rng).unwrap();
        let verifier = JwtVerifier::new(vec![key], JwtPolicy::default()).unwrap();
        let ok = verifier.verify(&token, now).unwrap();
        assert_eq!(ok.client_id(), Some("partner-7"), "{alg}");
        assert_eq!(ok.issued_at(), Some(now));
        assert_eq!(
            ok.expires_at(),
            now.saturating_add(Duration::from_secs(900))
        );
        assert_eq!(
            verifier
                .verify(&token, now.saturating_add(Duration::from_secs(931)))
                .unwrap_err()
                .code(),
            ErrorCode::TokenExpired
        );
        let sig_at = token.rfind('.').unwrap() + 3;
        let mut bad = token.clone();
        let c = if &token[sig_at..=sig_at] == "A" {
            "B"
        } else {
            "A"
        };
        bad.replace_range(sig_at..=sig_at, c);
        assert_eq!(
            verifier.verify(&bad, now).unwrap_err().code(),
            ErrorCode::InvalidToken,
            "{alg}"
        );
    }
}
