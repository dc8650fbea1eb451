//! JWT round trips: any client ID (escapes and non-ASCII take the serde path), registered and
//! custom claims through serde, `kid` selection, and time checks at their edges.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::keys::HmacSecret;
use auth_core::rand::SystemRandom;
use auth_core::scheme::jwt::{
    Algorithm, Audience, Claims, JwtKey, JwtPolicy, JwtSigner, JwtVerifier,
};
use auth_core::{ErrorCode, UnixTime};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Custom {
    role: String,
    tier: u32,
    tags: Vec<String>,
}

fn secret() -> HmacSecret {
    HmacSecret::from_bytes(b"round-trip-secret-0123456789abcd").unwrap()
}

proptest! {
    #[test]
    fn seed_profile_round_trips(client in "\\PC{1,40}", secs in 1_000_000u64..4_000_000_000, alg in prop_oneof![Just(Algorithm::HS256), Just(Algorithm::HS384), Just(Algorithm::HS512)]) {
        let rng = SystemRandom::new();
        let now = UnixTime::from_secs(secs);
        let token = JwtSigner::hmac(&secret(), alg).unwrap().sign(&Claims::seed_profile(client.clone(), now), &rng).unwrap();
        let v = JwtVerifier::new(vec![JwtKey::hmac(&secret(), alg).unwrap().for_client(client.clone())], JwtPolicy::default()).unwrap();
        let ok = v.verify(&token, now).unwrap();
        prop_assert_eq!(ok.client_id(), Some(client.as_str()));
        prop_assert_eq!(v.verify(&token, now.saturating_add(Duration::from_secs(931))).unwrap_err().code(), ErrorCode::TokenExpired);
        prop_assert!(v.verify(&token, now.saturating_add(Duration::from_secs(930))).is_ok());
        // iat 31 s ahead of the verifier's clock is refused; 30 s is inside leeway.
        prop_assert_eq!(v.verify(&token, now.saturating_sub(Duration::from_secs(31))).unwrap_err().code(), ErrorCode::InvalidToken);
        prop_assert!(v.verify(&token, now.saturating_sub(Duration::from_secs(30))).is_ok());
    }

    #[test]
    fn registered_and_custom_claims_round_trip(
        iss in "[a-z]{1,10}", sub in "\\PC{1,20}", jti in "[A-Za-z0-9_-]{1,22}",
        role in "\\PC{0,12}", tier in any::<u32>(), tags in proptest::collection::vec("\\PC{0,6}", 0..4),
        many in any::<bool>(),
    ) {
        let rng = SystemRandom::new();
        let now = UnixTime::from_secs(1_700_000_000);
        let custom = Custom { role, tier, tags };
        let mut claims = Claims::seed_profile("c1", now).with_custom(custom.clone());
        claims.iss = Some(iss.clone());
        claims.sub = Some(sub.clone());
        claims.jti = Some(jti.clone());
        claims.nbf = Some(now.as_secs());
        claims.aud = Some(if many { Audience::Many(vec!["x".into(), "our-api".into()]) } else { Audience::One("our-api".into()) });
        let token = JwtSigner::hmac(&secret(), Algorithm::HS256).unwrap().with_kid("k1").sign(&claims, &rng).unwrap();
        let policy = JwtPolicy::default().with_issuer(iss.clone()).with_audience(["our-api"]);
        let v = JwtVerifier::new(vec![JwtKey::hmac(&secret(), Algorithm::HS256).unwrap().with_kid("k1")], policy).unwrap();
        let ok = v.verify(&token, now).unwrap();
        prop_assert_eq!(ok.issuer(), Some(iss.as_str()));
        prop_assert_eq!(ok.subject(), Some(sub.as_str()));
        prop_assert_eq!(ok.jwt_id(), Some(jti.as_str()));
        prop_assert_eq!(ok.header().kid.as_deref(), Some("k1"));
        prop_assert!(ok.audiences().any(|a| a == "our-api"));
        let back: Claims<Custom> = ok.claims().unwrap();
        prop_assert_eq!(back, claims);
    }
}

#[test]
fn kid_selects_among_several_keys_of_different_algorithms() {
    let rng = SystemRandom::new();
    let ed = auth_core::keys::generate_ed25519(&rng).unwrap();
    let v = JwtVerifier::new(
        vec![
            JwtKey::hmac(&secret(), Algorithm::HS256)
                .unwrap()
                .with_kid("h"),
            JwtKey::public(&ed.public_key(), Algorithm::EdDSA)
                .unwrap()
                .with_kid("e"),
        ],
        JwtPolicy::default(),
    )
    .unwrap();
    let now = UnixTime::from_secs(1_700_000_000);
    let claims = Claims::seed_profile("c1", now);
    let t_h = JwtSigner::hmac(&secret(), Algorithm::HS256)
        .unwrap()
        .with_kid("h")
        .sign(&claims, &rng)
        .unwrap();
    let t_e = JwtSigner::new(&ed, Algorithm::EdDSA, &rng)
        .unwrap()
        .with_kid("e")
        .sign(&claims, &rng)
        .unwrap();
    assert!(v.verify(&t_h, now).is_ok());
    assert!(v.verify(&t_e, now).is_ok());
    // The EdDSA token relabelled to the HMAC key's kid fails on alg.
    let t_swapped = JwtSigner::new(&ed, Algorithm::EdDSA, &rng)
        .unwrap()
        .with_kid("h")
        .sign(&claims, &rng)
        .unwrap();
    let e = v.verify(&t_swapped, now).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidToken);
    assert!(e.message().contains("alg"), "{e}");
    // Duplicate kids and key-less verifiers are refused at construction.
    assert!(JwtVerifier::new(vec![], JwtPolicy::default()).is_err());
    assert!(
        JwtVerifier::new(
            vec![
                JwtKey::hmac(&secret(), Algorithm::HS256)
                    .unwrap()
                    .with_kid("a"),
                JwtKey::hmac(&secret(), Algorithm::HS384)
                    .unwrap()
                    .with_kid("a"),
            ],
            JwtPolicy::default()
        )
        .is_err()
    );
    // A key bound to the wrong family cannot even be built.
    assert_eq!(
        JwtKey::public(&ed.public_key(), Algorithm::RS256)
            .unwrap_err()
            .code(),
        ErrorCode::UnsupportedAlgorithm
    );
    assert!(JwtKey::hmac(&secret(), Algorithm::RS256).is_err());
}

#[test]
fn a_single_key_without_kid_treats_the_tokens_kid_as_a_hint() {
    let rng = SystemRandom::new();
    let now = UnixTime::from_secs(1_700_000_000);
    let token = JwtSigner::hmac(&secret(), Algorithm::HS256)
        .unwrap()
        .with_kid("partner-key-3")
        .sign(&Claims::seed_profile("c1", now), &rng)
        .unwrap();
    let plain = JwtVerifier::new(
        vec![JwtKey::hmac(&secret(), Algorithm::HS256).unwrap()],
        JwtPolicy::default(),
    )
    .unwrap();
    assert!(plain.verify(&token, now).is_ok());
    // A single key bound to another kid refuses it.
    let bound = JwtVerifier::new(
        vec![
            JwtKey::hmac(&secret(), Algorithm::HS256)
                .unwrap()
                .with_kid("partner-key-4"),
        ],
        JwtPolicy::default(),
    )
    .unwrap();
    assert_eq!(
        bound.verify(&token, now).unwrap_err().code(),
        ErrorCode::InvalidToken
    );
}
