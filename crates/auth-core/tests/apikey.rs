//! API keys: format, checksum, digest, the checks of a registered API-key credential (revocation,
//! expiry, not-yet-valid, environment, purpose), and a proptest that no single-character change,
//! truncation or extension of a key verifies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::apikey::{self, ApiKeyDigest, Environment, KeyPrefix, PresentedKey};
use auth_core::credential::{Credential, Purpose, Status};
use auth_core::rand::SystemRandom;
use auth_core::{ErrorCode, Result, UnixTime};
use proptest::prelude::*;
use std::time::Duration;

fn prefix() -> KeyPrefix {
    KeyPrefix::new("pa").unwrap()
}

/// An active API-key credential of partner `acme` in `env`.
fn credential(digest: ApiKeyDigest, env: Environment) -> Credential {
    Credential::api_key("acme", digest, env).unwrap()
}

/// What the layer does with a presented bearer key once it found the credential by digest:
/// the key must match (constant time, and name the credential's environment), then the
/// credential must serve API keys and be valid now.
fn check(c: &Credential, presented: &PresentedKey<'_>, now: UnixTime) -> Result<()> {
    c.check_presented_key(presented, &presented.digest())?;
    c.check_usable(Purpose::ApiKey, now)
}

const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

#[test]
fn issued_keys_have_the_documented_shape() {
    let rng = SystemRandom::new();
    let k = apikey::generate(&prefix(), Environment::Test, &rng).unwrap();
    let text = k.expose();
    let parts: Vec<&str> = text.split('_').collect();
    assert_eq!(parts.len(), 4, "{text}");
    assert_eq!(parts[0], "pa");
    assert_eq!(parts[1], "test");
    assert_eq!(parts[2].len(), 32);
    assert_eq!(parts[3].len(), 8);
    assert!(
        !format!("{k:?}").contains(parts[2]),
        "Debug must not show the key"
    );
    assert_eq!(
        apikey::parse(text, &prefix()).unwrap(),
        PresentedKey::Issued {
            env: Environment::Test,
            text
        }
    );
    let other = apikey::generate(&prefix(), Environment::Test, &rng).unwrap();
    assert_ne!(other.expose(), text, "keys are random");
    assert_eq!(
        ApiKeyDigest::from_hex(&k.digest().to_hex()).unwrap(),
        k.digest()
    );
}

#[test]
fn credential_checks_revocation_expiry_environment() {
    let rng = SystemRandom::new();
    let k = apikey::generate(&prefix(), Environment::Live, &rng).unwrap();
    let presented = apikey::parse(k.expose(), &prefix()).unwrap();
    let mut c = credential(k.digest(), Environment::Live);
    assert_eq!(c.purpose(), Purpose::ApiKey);
    assert_eq!(
        c.id.as_str(),
        k.digest().to_hex(),
        "named by its digest, never its text"
    );
    check(&c, &presented, NOW).unwrap();
    // A live key registered as a test credential (or the reverse) does not work.
    let wrong_env = credential(k.digest(), Environment::Test);
    assert_eq!(
        check(&wrong_env, &presented, NOW).unwrap_err().code(),
        ErrorCode::Unauthorized
    );
    // Another key's digest is "unknown", whatever else is right.
    let other = apikey::generate(&prefix(), Environment::Live, &rng).unwrap();
    assert_eq!(
        check(
            &credential(other.digest(), Environment::Live),
            &presented,
            NOW
        )
        .unwrap_err()
        .code(),
        ErrorCode::UnknownKey
    );
    // An API-key credential serves no other purpose (a Qredo x-api-key is not a bearer key).
    assert_eq!(
        c.check_usable(Purpose::QredoKey, NOW).unwrap_err().code(),
        ErrorCode::UnknownKey
    );
    c.status.expires_at = Some(NOW);
    assert_eq!(
        check(&c, &presented, NOW).unwrap_err().code(),
        ErrorCode::ExpiredKey
    );
    c.status.expires_at = Some(NOW.saturating_add(Duration::from_secs(1)));
    check(&c, &presented, NOW).unwrap();
    // Not valid before its start time.
    let scheduled = credential(k.digest(), Environment::Live).with_status(Status {
        not_before: Some(NOW.saturating_add(Duration::from_secs(60))),
        ..Status::ACTIVE
    });
    assert_eq!(
        check(&scheduled, &presented, NOW).unwrap_err().code(),
        ErrorCode::NotYetValid
    );
    check(
        &scheduled,
        &presented,
        NOW.saturating_add(Duration::from_secs(60)),
    )
    .unwrap();
    // Rotation: the old key's credential is revoked at once; revocation wins over expiry.
    c.status.revoked_at = Some(NOW);
    c.status.expires_at = Some(NOW);
    let err = check(&c, &presented, NOW).unwrap_err();
    assert_eq!(err.code(), ErrorCode::RevokedKey);
    assert!(!err.message().contains(k.expose()));
    assert!(!format!("{c:?}").contains(k.expose()));
}

#[test]
fn foreign_keys_are_opaque() {
    // A Qredo-style Base64 key and an Altalix-style Base64 blob.
    let qredo = "dGhpcyBpcyBhIHFyZWRvIGtleSBmb3IgdGVzdHM=";
    let p = apikey::parse(qredo, &prefix()).unwrap();
    assert_eq!(p, PresentedKey::Foreign(qredo));
    // A foreign key names no environment: the credential's registration decides.
    for env in [Environment::Live, Environment::Test] {
        check(&credential(ApiKeyDigest::of(qredo), env), &p, NOW).unwrap();
    }
    for bad in [
        "",
        "short",
        "has space in it but long",
        "tab\there-and-more-chars",
        "quote\"d-key-with-length",
    ] {
        assert_eq!(
            apikey::parse(bad, &prefix()).unwrap_err().code(),
            ErrorCode::Malformed,
            "{bad:?}"
        );
    }
    assert_eq!(
        apikey::parse(&"A".repeat(5000), &prefix())
            .unwrap_err()
            .code(),
        ErrorCode::TooLarge
    );
    // Found by the api_key fuzz target: our prefix, the right byte length, and a multi-byte
    // character where the key is split (it used to panic on a non-boundary split).
    let mut tricky = format!("pa_{}", "F".repeat(36));
    tricky.push('\u{a0}');
    tricky.push_str(&"F".repeat(8));
    assert_eq!(tricky.len(), 49);
    assert_eq!(
        apikey::parse(&tricky, &prefix()).unwrap_err().code(),
        ErrorCode::Malformed
    );
    assert!(KeyPrefix::new("Bad").is_err());
    assert!(KeyPrefix::new("a").is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// No single-character change, truncation or extension of a valid key passes the checksum;
    /// and even if something did, the digest would not match.
    #[test]
    fn damaged_keys_never_verify(pos in any::<prop::sample::Index>(), ch in any::<char>(), cut in any::<prop::sample::Index>(), extra in "[a-z0-9_]{1,8}", live in any::<bool>()) {
        let rng = SystemRandom::new();
        let env = if live { Environment::Live } else { Environment::Test };
        let k = apikey::generate(&prefix(), env, &rng).unwrap();
        let text = k.expose().to_owned();
        let c = credential(k.digest(), env);

        let mut changed: Vec<char> = text.chars().collect();
        let i = pos.index(changed.len());
        prop_assume!(changed[i] != ch);
        changed[i] = ch;
        let changed: String = changed.into_iter().collect();
        let truncated = &text[..cut.index(text.len())];
        let extended = format!("{text}{extra}");
        for bad in [changed.as_str(), truncated, extended.as_str()] {
            match apikey::parse(bad, &prefix()) {
                // Rejected before any lookup: a typed error, never a panic.
                Err(e) => prop_assert!(matches!(e.code(), ErrorCode::Malformed | ErrorCode::TooLarge)),
                // Only possible when the damage removed the `pa_` prefix: it is then a foreign
                // key, and the digest check must still fail.
                Ok(p) => {
                    prop_assert!(matches!(p, PresentedKey::Foreign(_)), "damaged key {bad:?} parsed as ours");
                    prop_assert!(check(&c, &p, NOW).is_err());
                }
            }
        }
    }

    /// Any input string gives a typed result, never a panic.
    #[test]
    fn parse_never_panics(s in ".{0,200}") {
        if let Ok(p) = apikey::parse(&s, &prefix()) {
            prop_assert!(check(&credential(ApiKeyDigest::of("x"), Environment::Live), &p, NOW).is_err());
        }
    }
}

/// Issue #9 finding 13: Debug of a presented key shows its hint, never the key.
#[test]
fn debug_of_a_presented_key_hides_it() {
    let rng = SystemRandom::new();
    let k = apikey::generate(&prefix(), Environment::Live, &rng).unwrap();
    let text = k.expose();
    let random = text.split('_').nth(2).unwrap();
    let p = apikey::parse(text, &prefix()).unwrap();
    let shown = format!("{p:?}");
    assert!(!shown.contains(text), "{shown}");
    assert!(!shown.contains(random), "{shown}");
    assert!(shown.contains("pa_live_"), "the hint stays: {shown}");
    let foreign = "dGhpcyBpcyBhIHFyZWRvIGtleSBmb3IgdGVzdHM=";
    let p = apikey::parse(foreign, &prefix()).unwrap();
    let shown = format!("{p:?}");
    assert!(!shown.contains(foreign), "{shown}");
    assert!(!shown.contains("dGhpcyBp"), "{shown}");
}
