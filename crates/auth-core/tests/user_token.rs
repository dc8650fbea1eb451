//! Restricted user tokens: what cannot be minted, what is rejected and with which code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::credential::Principal;
use auth_core::keys::HmacSecret;
use auth_core::rand::SystemRandom;
use auth_core::scheme::jwt::{self, Algorithm, JwtKey, JwtPolicy, JwtSigner, JwtVerifier};
use auth_core::scheme::user_token::{
    RevokedIds, SCOPE_USER_RATE, SessionRequest, UserTokenIssuer, UserTokenVerifier,
};
use auth_core::{ErrorCode, UnixTime};
use proptest::prelude::*;
use std::time::Duration;

const SECRET: &[u8] = b"provider-token-secret-32-bytes!!";
const ISSUER: &str = "altalix-provider";

fn now() -> UnixTime {
    UnixTime::from_secs(1_700_000_000)
}

fn issuer() -> UserTokenIssuer {
    let s = HmacSecret::from_bytes(SECRET).unwrap();
    UserTokenIssuer::new(JwtSigner::hmac(&s, Algorithm::HS256).unwrap(), ISSUER)
}

fn verifier() -> UserTokenVerifier {
    let s = HmacSecret::from_bytes(SECRET).unwrap();
    UserTokenVerifier::new(JwtKey::hmac(&s, Algorithm::HS256).unwrap(), ISSUER).unwrap()
}

const PARTNER_SCOPES: &[&str] = &["user:rate", "orders:write", "orders:read"];

fn partner() -> Principal {
    auth_core::credential::Principal {
        partner: auth_core::credential::PartnerId::new("partner-42").unwrap(),
        credential: auth_core::credential::CredentialRef::parse(
            auth_core::credential::Purpose::ApiKey,
            "partner-42-key",
        )
        .unwrap(),
        scheme: auth_core::credential::Scheme::ApiKey,
        scopes: auth_core::credential::Scopes::new(PARTNER_SCOPES.iter().copied()),
        environment: auth_core::credential::Environment::Live,
        expires_at: None,
    }
}

fn mins(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

#[test]
fn a_session_request_mints_a_token_that_verifies() {
    let req = SessionRequest::from_json(
        r#"{"scopes":["user:rate"],"expires_at":"2023-11-14T22:18:20Z"}"#,
    )
    .unwrap();
    let exp = req.expiry().unwrap();
    assert_eq!(exp, now().saturating_add(mins(5)));
    let scopes: Vec<&str> = req.scopes.iter().map(String::as_str).collect();
    let rng = SystemRandom::new();
    let t = issuer()
        .issue(&partner(), &scopes, exp, now(), &rng)
        .unwrap();
    let ok = verifier()
        .verify(&t.access_token, SCOPE_USER_RATE, &RevokedIds::new(), now())
        .unwrap();
    assert_eq!(ok.subject(), "partner-42");
    assert_eq!(ok.jti(), t.jti);
    assert_eq!(ok.expires_at(), exp);
    assert_eq!(ok.scopes().collect::<Vec<_>>(), vec!["user:rate"]);
    // IDs are 128 random bits: two tokens never share one.
    let t2 = issuer()
        .issue(&partner(), &scopes, exp, now(), &rng)
        .unwrap();
    assert_ne!(t.jti, t2.jti);
    assert_eq!(t.jti.len(), 22);
}

#[test]
fn cannot_mint_beyond_the_issuer() {
    let rng = SystemRandom::new();
    let i = issuer();
    let exp = now().saturating_add(mins(5));
    let e = i
        .issue(&partner(), &["admin"], exp, now(), &rng)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsufficientScope);
    let e = i
        .issue(&partner(), &["user:rate", "wallet:send"], exp, now(), &rng)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsufficientScope);
    // Lifetime over the cap (10 min), in the past, or now.
    for bad in [
        now().saturating_add(mins(10) + Duration::from_secs(1)),
        now(),
        now().saturating_sub(mins(1)),
    ] {
        let e = i
            .issue(&partner(), &["user:rate"], bad, now(), &rng)
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Malformed);
    }
    assert!(
        i.issue(
            &partner(),
            &["user:rate"],
            now().saturating_add(mins(10)),
            now(),
            &rng
        )
        .is_ok()
    );
    // No scopes, malformed scopes.
    assert_eq!(
        i.issue(&partner(), &[], exp, now(), &rng)
            .unwrap_err()
            .code(),
        ErrorCode::Malformed
    );
    assert_eq!(
        i.issue(&partner(), &["user rate"], exp, now(), &rng)
            .unwrap_err()
            .code(),
        ErrorCode::Malformed
    );
    // A custom, lower cap.
    let short = issuer().with_max_lifetime(mins(1));
    assert!(
        short
            .issue(&partner(), &["user:rate"], exp, now(), &rng)
            .is_err()
    );
}

#[test]
fn expired_revoked_and_wrong_scope_are_rejected_with_their_codes() {
    let rng = SystemRandom::new();
    let exp = now().saturating_add(mins(10));
    let t = issuer()
        .issue(&partner(), &["user:rate", "orders:read"], exp, now(), &rng)
        .unwrap();
    let v = verifier();
    let none = RevokedIds::new();
    assert!(
        v.verify(&t.access_token, "orders:read", &none, now())
            .is_ok()
    );
    // Expired (past exp + 30 s leeway).
    let late = exp.saturating_add(Duration::from_secs(31));
    assert_eq!(
        v.verify(&t.access_token, "user:rate", &none, late)
            .unwrap_err()
            .code(),
        ErrorCode::TokenExpired
    );
    // Revoked.
    let mut revoked = RevokedIds::new();
    revoked.revoke(t.jti.clone(), t.expires_at);
    assert_eq!(
        v.verify(&t.access_token, "user:rate", &revoked, now())
            .unwrap_err()
            .code(),
        ErrorCode::RevokedKey
    );
    // Pruning keeps it until it would expire, then drops it.
    revoked.prune(now(), Duration::from_secs(30));
    assert_eq!(revoked.len(), 1);
    revoked.prune(late, Duration::from_secs(30));
    assert!(revoked.is_empty());
    // Wrong scope.
    assert_eq!(
        v.verify(&t.access_token, "orders:write", &none, now())
            .unwrap_err()
            .code(),
        ErrorCode::InsufficientScope
    );
    assert_eq!(
        v.verify(&t.access_token, "user", &none, now())
            .unwrap_err()
            .code(),
        ErrorCode::InsufficientScope
    );
    // Another provider's key, another issuer name, a flipped byte.
    let other = HmacSecret::from_bytes(b"some-other-provider-secret-32b!!").unwrap();
    let v2 =
        UserTokenVerifier::new(JwtKey::hmac(&other, Algorithm::HS256).unwrap(), ISSUER).unwrap();
    assert_eq!(
        v2.verify(&t.access_token, "user:rate", &none, now())
            .unwrap_err()
            .code(),
        ErrorCode::InvalidToken
    );
    let s = HmacSecret::from_bytes(SECRET).unwrap();
    let v3 = UserTokenVerifier::new(JwtKey::hmac(&s, Algorithm::HS256).unwrap(), "someone-else")
        .unwrap();
    assert_eq!(
        v3.verify(&t.access_token, "user:rate", &none, now())
            .unwrap_err()
            .code(),
        ErrorCode::InvalidToken
    );
    let mut bad = t.access_token.clone();
    let i = bad.len() - 3;
    let c = if &bad[i..=i] == "A" { "B" } else { "A" };
    bad.replace_range(i..=i, c);
    assert_eq!(
        v.verify(&bad, "user:rate", &none, now())
            .unwrap_err()
            .code(),
        ErrorCode::InvalidToken
    );
}

#[test]
fn user_tokens_and_partner_jwts_never_stand_in_for_each_other() {
    let rng = SystemRandom::new();
    let s = HmacSecret::from_bytes(SECRET).unwrap();
    // A user token presented to a partner-JWT verifier with the same key.
    let t = issuer()
        .issue(
            &partner(),
            &["user:rate"],
            now().saturating_add(mins(5)),
            now(),
            &rng,
        )
        .unwrap();
    let partner_verifier = JwtVerifier::new(
        vec![JwtKey::hmac(&s, Algorithm::HS256).unwrap()],
        JwtPolicy::default(),
    )
    .unwrap();
    assert_eq!(
        partner_verifier
            .verify(&t.access_token, now())
            .unwrap_err()
            .code(),
        ErrorCode::InvalidToken
    );
    // A partner JWT with a `scope` claim presented as a user token.
    let mut claims = jwt::Claims::seed_profile("partner-42", now());
    claims.iss = Some(ISSUER.into());
    claims.sub = Some("partner-42".into());
    claims.jti = Some("x".into());
    #[derive(serde::Serialize)]
    struct Scope {
        scope: &'static str,
    }
    let forged = JwtSigner::hmac(&s, Algorithm::HS256)
        .unwrap()
        .sign(&claims.with_custom(Scope { scope: "user:rate" }), &rng)
        .unwrap();
    assert_eq!(
        verifier()
            .verify(&forged, "user:rate", &RevokedIds::new(), now())
            .unwrap_err()
            .code(),
        ErrorCode::InvalidToken
    );
    // A user token whose lifetime exceeds the verifier's cap (minted by a laxer issuer).
    let lax = issuer().with_max_lifetime(mins(60));
    let long = lax
        .issue(
            &partner(),
            &["user:rate"],
            now().saturating_add(mins(30)),
            now(),
            &rng,
        )
        .unwrap();
    assert_eq!(
        verifier()
            .verify(&long.access_token, "user:rate", &RevokedIds::new(), now())
            .unwrap_err()
            .code(),
        ErrorCode::InvalidToken
    );
}

proptest! {
    #[test]
    fn round_trip(secs in 1u64..600, pick in proptest::sample::subsequence(PARTNER_SCOPES.to_vec(), 1..=3)) {
        let rng = SystemRandom::new();
        let exp = now().saturating_add(Duration::from_secs(secs));
        let t = issuer().issue(&partner(), &pick, exp, now(), &rng).unwrap();
        for s in &pick {
            prop_assert!(verifier().verify(&t.access_token, s, &RevokedIds::new(), now()).is_ok());
        }
    }
}

/// Issue #9 finding 13: Debug of an issued token shows its ID and expiry, not the token.
#[test]
fn debug_of_an_issued_token_hides_it() {
    let t = issuer()
        .issue(
            &partner(),
            &["user:rate"],
            now().saturating_add(mins(5)),
            now(),
            &SystemRandom::new(),
        )
        .unwrap();
    let shown = format!("{t:?}");
    let signature = t.access_token.rsplit('.').next().unwrap();
    assert!(!shown.contains(&t.access_token), "{shown}");
    assert!(!shown.contains(signature), "{shown}");
    assert!(shown.contains(&t.jti), "the ID is not secret: {shown}");
}

/// Issue #9 finding 14: the session request body must be a JSON object.
#[test]
fn a_session_request_must_be_a_json_object() {
    for bad in [
        r#"[["user:rate"],"2023-11-14T22:18:20Z"]"#,
        r#"  [["user:rate"],"2023-11-14T22:18:20Z"]"#,
    ] {
        assert_eq!(
            SessionRequest::from_json(bad).unwrap_err().code(),
            ErrorCode::Malformed,
            "{bad}"
        );
    }
}

#[test]
fn a_token_principal_cannot_mint_tokens() {
    let mut token = partner();
    token.scheme = auth_core::credential::Scheme::UserToken;
    let now = auth_core::UnixTime::from_secs(1_700_000_000);
    let err = issuer()
        .issue(
            &token,
            &[SCOPE_USER_RATE],
            now.saturating_add(mins(5)),
            now,
            &auth_core::rand::SystemRandom::new(),
        )
        .unwrap_err();
    assert_eq!(err.code(), auth_core::ErrorCode::InsufficientScope);
}
