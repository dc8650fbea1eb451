//! Node licensing policy (every branch), app tokens (issue, verify, expiry, epochs, mutations,
//! bearer header) and the trust-on-first-use admin list (including two racing first callers).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::encoding::{b64url_decode, b64url_encode};
use auth_core::keys::{SignatureAlgorithm, SigningKey, generate_ed25519};
use auth_core::rand::SystemRandom;
use auth_core::scheme::apptrust::*;
use auth_core::{ErrorCode, UnixTime};
use std::collections::BTreeMap;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

const AUTHORITY_PRIVATE: &str = "0WBFFicIHbivRZXAlO7tPs7rCX6s7u2OIMJ2mx9nwg0w=";
const AUTHORITY_PUBLIC: &str = "075i62XGQJuXjv6nnLQyJzECZhF29acYvYeEOJ3kc5M8=";
const NOW: u64 = 1_750_000_000;
const DAY: u64 = 86_400;

fn rng() -> SystemRandom {
    SystemRandom::new()
}

fn authority() -> SigningKey {
    signing_key_from_text(AUTHORITY_PRIVATE, &rng()).unwrap()
}

fn authority_key() -> AuthorityKey {
    AuthorityKey::from_text(AUTHORITY_PUBLIC).unwrap()
}

fn fresh_key() -> SigningKey {
    let r = rng();
    SigningKey::new(
        &generate_ed25519(&r).unwrap(),
        SignatureAlgorithm::Ed25519,
        &r,
    )
    .unwrap()
}

fn lic(app_id: &str, expires: u64) -> String {
    License::issue(
        &authority(),
        AppId::parse(app_id).unwrap(),
        UnixTime::from_secs(expires),
        UnixTime::from_secs(NOW - DAY),
        "ops@acme.com",
        &rng(),
    )
    .unwrap()
    .to_key_text()
}

const DEV_PRIVATE: &str = "08lUw93C+xzdxBcsYOoPVjzn8IHPJtnJW9Y/WyEu4v64=";

/// A really verified manifest (VerifiedManifest cannot be made otherwise), signed by the
/// vector developer key under a certificate for com.acme.* and com.example.*.
fn signed_version(app_id: &str, version: &str) -> VerifiedManifest {
    let r = rng();
    let dev_key = signing_key_from_text(DEV_PRIVATE, &r).unwrap();
    let dev = AxPublicKey::from_public_key(dev_key.public_key().unwrap()).unwrap();
    let domains = vec![
        AppDomain::parse("com.acme.*").unwrap(),
        AppDomain::parse("com.example.*").unwrap(),
    ];
    let cert = DeveloperCertificate::issue(&authority(), dev, domains, &r).unwrap();
    AppManifest::sign(
        &dev_key,
        &cert,
        AppId::parse(app_id).unwrap(),
        "App",
        version,
        &r,
    )
    .unwrap()
    .verify(&authority_key())
    .unwrap()
}

fn signed(app_id: &str) -> VerifiedManifest {
    signed_version(app_id, "1.0.0")
}

fn trial_version(app_id: &str, version: &str) -> VerifiedManifest {
    AppManifest::trial(AppId::parse(app_id).unwrap(), "App", version)
        .unwrap()
        .verify(&authority_key())
        .unwrap()
}

fn trial(app_id: &str) -> VerifiedManifest {
    trial_version(app_id, "1.0.0")
}

fn apps(entries: &[(&str, String)]) -> BTreeMap<AppId, String> {
    entries
        .iter()
        .map(|(k, v)| (AppId::parse(k).unwrap(), v.clone()))
        .collect()
}

// ---------------------------------------------------------------- node licensing policy

#[test]
fn licensing_every_branch() {
    let now = UnixTime::from_secs(NOW);
    let auth = authority_key();
    let app = "com.acme.app";
    let good_node = lic(NODE_LICENSE_APP_ID, NOW + DAY);
    let good_app = lic(app, NOW + DAY);

    // development: no license checks at all, even with nothing configured
    Licensing::development()
        .authorize_app(&signed(app), &auth, now)
        .unwrap();
    Licensing::from_json(r#"{"node":"development"}"#)
        .unwrap()
        .authorize_app(&signed(app), &auth, now)
        .unwrap();

    // valid: node license + app license
    let ok = Licensing::licensed(good_node.clone(), apps(&[(app, good_app.clone())]));
    ok.authorize_app(&signed(app), &auth, now).unwrap();
    ok.check_node(&auth, now).unwrap();
    // trial apps need no app license on a licensed node, but the node license still counts
    ok.authorize_app(&trial("com.example.x"), &auth, now)
        .unwrap();

    type Case = (
        &'static str,
        Licensing,
        VerifiedManifest,
        ActyxCode,
        LicenseProblem,
    );
    let cases: Vec<Case> = vec![
        (
            "node license missing (empty)",
            Licensing::licensed(String::new(), apps(&[(app, good_app.clone())])),
            signed(app),
            ActyxCode::NodeUnauthorized,
            LicenseProblem::Missing,
        ),
        (
            "node license malformed",
            Licensing::licensed("not a license".into(), apps(&[(app, good_app.clone())])),
            signed(app),
            ActyxCode::NodeUnauthorized,
            LicenseProblem::Malformed,
        ),
        (
            "node license expired",
            Licensing::licensed(
                lic(NODE_LICENSE_APP_ID, NOW - 1),
                apps(&[(app, good_app.clone())]),
            ),
            signed(app),
            ActyxCode::NodeUnauthorized,
            LicenseProblem::Expired,
        ),
        (
            "node license with wrong subject",
            Licensing::licensed(lic(app, NOW + DAY), apps(&[(app, good_app.clone())])),
            signed(app),
            ActyxCode::NodeUnauthorized,
            LicenseProblem::WrongSubject,
        ),
        (
            "trial app on a node with an expired license",
            Licensing::licensed(lic(NODE_LICENSE_APP_ID, NOW - 1), BTreeMap::new()),
            trial("com.example.x"),
            ActyxCode::NodeUnauthorized,
            LicenseProblem::Expired,
        ),
        (
            "app without license",
            Licensing::licensed(good_node.clone(), BTreeMap::new()),
            signed(app),
            ActyxCode::AppUnauthorized,
            LicenseProblem::Missing,
        ),
        (
            "app license for another app",
            Licensing::licensed(
                good_node.clone(),
                apps(&[(app, lic("com.acme.other", NOW + DAY))]),
            ),
            signed(app),
            ActyxCode::AppUnauthorized,
            LicenseProblem::WrongSubject,
        ),
        (
            "app license expired",
            Licensing::licensed(good_node.clone(), apps(&[(app, lic(app, NOW))])),
            signed(app),
            ActyxCode::AppUnauthorized,
            LicenseProblem::Expired,
        ),
        (
            "app license malformed",
            Licensing::licensed(good_node.clone(), apps(&[(app, "AAAA".into())])),
            signed(app),
            ActyxCode::AppUnauthorized,
            LicenseProblem::Malformed,
        ),
        (
            "app license from another authority",
            Licensing::licensed(
                good_node.clone(),
                apps(&[(app, {
                    License::issue(
                        &fresh_key(),
                        AppId::parse(app).unwrap(),
                        UnixTime::from_secs(NOW + DAY),
                        UnixTime::from_secs(NOW),
                        "x@y.z",
                        &rng(),
                    )
                    .unwrap()
                    .to_key_text()
                })]),
            ),
            signed(app),
            ActyxCode::AppUnauthorized,
            LicenseProblem::InvalidSignature,
        ),
    ];
    for (what, policy, manifest, code, problem) in cases {
        let e = policy.authorize_app(&manifest, &auth, now).unwrap_err();
        assert_eq!(e.code(), code, "{what}: {e}");
        assert_eq!(e.http_status(), 401, "{what}");
        assert_eq!(e.license_problem(), Some(problem), "{what}: {e}");
        let body: serde_json::Value = serde_json::from_str(&e.to_json_body()).unwrap();
        assert_eq!(body["code"], code.as_str(), "{what}");
    }
}

#[test]
fn licensing_settings_json() {
    let app = "com.acme.app";
    let json = serde_json::json!({"node": lic(NODE_LICENSE_APP_ID, NOW + DAY), "apps": {app: lic(app, NOW + DAY)}});
    let l = Licensing::from_json(&json.to_string()).unwrap();
    assert!(matches!(l.node(), NodeLicensing::License(_)));
    l.authorize_app(&signed(app), &authority_key(), UnixTime::from_secs(NOW))
        .unwrap();
    assert_eq!(
        Licensing::from_json(r#"{"node":"development"}"#)
            .unwrap()
            .node(),
        &NodeLicensing::Development
    );
    for bad in [
        r#"{}"#,
        r#"{"node":1}"#,
        r#"{"node":"development","apps":{"Bad_Id":"x"}}"#,
        r#"{"node":"development","x":1}"#,
    ] {
        assert_eq!(
            Licensing::from_json(bad).unwrap_err().code(),
            ErrorCode::Malformed,
            "{bad}"
        );
    }
    // A provider with its own node subject.
    let own = Licensing::licensed(lic("io.provider.node", NOW + DAY), BTreeMap::new())
        .with_node_subject(AppId::parse("io.provider.node").unwrap());
    own.check_node(&authority_key(), UnixTime::from_secs(NOW))
        .unwrap();
}

// ---------------------------------------------------------------- app tokens

fn issuer(epoch: u64) -> (TokenIssuer, AxPublicKey) {
    let i = TokenIssuer::new(
        signing_key_from_text(AUTHORITY_PRIVATE, &rng()).unwrap(),
        Epoch(epoch),
    )
    .unwrap();
    let pk = i.public_key().unwrap();
    (i, pk)
}

#[test]
fn token_round_trip_default_validity_and_expiry() {
    let (i, pk) = issuer(7);
    let v = TokenVerifier::new(&pk, Epoch(7)).unwrap();
    let now = UnixTime::from_secs(NOW);
    let token = i.issue(&signed("com.acme.app"), now, &rng()).unwrap();
    assert!(token.starts_with(TOKEN_PREFIX));
    let t = v.verify(&token, now).unwrap();
    assert_eq!(t.app_id.as_str(), "com.acme.app");
    assert_eq!(t.app_version, "1.0.0");
    assert_eq!(t.mode, AppMode::Signed);
    assert_eq!(t.created, now);
    assert_eq!(t.valid_for, DEFAULT_TOKEN_VALIDITY);
    assert_eq!(t.valid_for, Duration::from_secs(DAY));
    assert_eq!(t.epoch, Epoch(7));
    assert_eq!(t.expires_at(), UnixTime::from_secs(NOW + DAY));

    let trial_token = i.issue(&trial("com.example.x"), now, &rng()).unwrap();
    assert_eq!(v.verify(&trial_token, now).unwrap().mode, AppMode::Trial);

    // Valid until the last millisecond, expired from created + 24 h on.
    v.verify(&token, UnixTime::from_millis((NOW + DAY) * 1000 - 1))
        .unwrap();
    let e = v
        .verify(&token, UnixTime::from_secs(NOW + DAY))
        .unwrap_err();
    assert_eq!(
        (e.code(), e.error().code(), e.http_status()),
        (ActyxCode::TokenExpired, ErrorCode::TokenExpired, 401)
    );

    // A shorter validity.
    let short = issuer(7).0.with_validity(Duration::from_secs(60)).unwrap();
    let token = short.issue(&signed("com.acme.app"), now, &rng()).unwrap();
    assert_eq!(
        v.verify(&token, UnixTime::from_secs(NOW + 60))
            .unwrap_err()
            .code(),
        ActyxCode::TokenExpired
    );
    assert!(issuer(7).0.with_validity(Duration::ZERO).is_err());
    assert!(
        issuer(7)
            .0
            .with_validity(Duration::from_secs(31 * DAY))
            .is_err()
    );
}

#[test]
fn a_restart_invalidates_old_tokens() {
    let first = Epoch::after(None);
    assert_eq!(first, Epoch::FIRST);
    let (i, pk) = issuer(first.0);
    let now = UnixTime::from_secs(NOW);
    let token = i.issue(&signed("com.acme.app"), now, &rng()).unwrap();
    TokenVerifier::new(&pk, first)
        .unwrap()
        .verify(&token, now)
        .unwrap();

    // The node restarts: the service reads the persisted epoch and bumps it.
    let second = Epoch::after(Some(first));
    assert_eq!(second, Epoch(1));
    let v = TokenVerifier::new(&pk, second).unwrap();
    let e = v.verify(&token, now).unwrap_err();
    assert_eq!(
        (e.code(), e.error().code()),
        (ActyxCode::TokenUnauthorized, ErrorCode::InvalidToken)
    );
    // Tokens of the new epoch pass; a token claiming a future epoch does not.
    let (i2, _) = issuer(second.0);
    v.verify(
        &i2.issue(&signed("com.acme.app"), now, &rng()).unwrap(),
        now,
    )
    .unwrap();
    let (i3, _) = issuer(5);
    assert_eq!(
        v.verify(
            &i3.issue(&signed("com.acme.app"), now, &rng()).unwrap(),
            now
        )
        .unwrap_err()
        .code(),
        ActyxCode::TokenUnauthorized
    );
    assert_eq!(Epoch::after(Some(Epoch(u64::MAX))), Epoch(u64::MAX));
}

#[test]
fn token_mutations_fail_with_documented_codes() {
    let (i, pk) = issuer(3);
    let v = TokenVerifier::new(&pk, Epoch(3)).unwrap();
    let now = UnixTime::from_secs(NOW);
    let token = i.issue(&signed("com.acme.app"), now, &rng()).unwrap();
    let body = token.strip_prefix(TOKEN_PREFIX).unwrap();
    let (payload_b64, sig_b64) = body.split_once('.').unwrap();
    let payload = b64url_decode(payload_b64, "x").unwrap();
    let sig = b64url_decode(sig_b64, "x").unwrap();
    let rebuild =
        |p: &[u8], s: &[u8]| format!("{TOKEN_PREFIX}{}.{}", b64url_encode(p), b64url_encode(s));
    let replace = |from: &[u8], to: &[u8]| {
        let mut p = payload.clone();
        let at = p.windows(from.len()).position(|w| w == from).unwrap();
        p[at..at + from.len()].copy_from_slice(to);
        rebuild(&p, &sig)
    };
    let mut sig_flipped = sig.clone();
    sig_flipped[10] ^= 0x01;
    let cases: Vec<(&str, String, ActyxCode, ErrorCode)> = vec![
        (
            "app ID",
            replace(b"com.acme.app", b"com.acme.apq"),
            ActyxCode::TokenUnauthorized,
            ErrorCode::SignatureMismatch,
        ),
        (
            "version",
            replace(b"1.0.0", b"2.0.0"),
            ActyxCode::TokenUnauthorized,
            ErrorCode::SignatureMismatch,
        ),
        (
            "mode",
            replace(b"signed", b"trialx"),
            ActyxCode::TokenUnauthorized,
            ErrorCode::SignatureMismatch,
        ),
        (
            "signature byte",
            rebuild(&payload, &sig_flipped),
            ActyxCode::TokenUnauthorized,
            ErrorCode::SignatureMismatch,
        ),
        (
            "short signature",
            rebuild(&payload, &sig[..63]),
            ActyxCode::TokenInvalid,
            ErrorCode::Malformed,
        ),
        (
            "no prefix",
            body.to_owned(),
            ActyxCode::TokenInvalid,
            ErrorCode::Malformed,
        ),
        (
            "other prefix",
            format!("axt2.{body}"),
            ActyxCode::TokenInvalid,
            ErrorCode::Malformed,
        ),
        (
            "no signature",
            format!("{TOKEN_PREFIX}{payload_b64}"),
            ActyxCode::TokenInvalid,
            ErrorCode::Malformed,
        ),
        (
            "padded base64",
            format!("{token}="),
            ActyxCode::TokenInvalid,
            ErrorCode::Malformed,
        ),
        (
            "too long",
            format!("{token}{}", "A".repeat(MAX_TOKEN_LEN)),
            ActyxCode::TokenInvalid,
            ErrorCode::TooLarge,
        ),
        (
            "empty",
            String::new(),
            ActyxCode::TokenInvalid,
            ErrorCode::Malformed,
        ),
    ];
    for (what, t, code, core) in cases {
        let e = v.verify(&t, now).unwrap_err();
        assert_eq!((e.code(), e.error().code()), (code, core), "{what}: {e}");
        assert_eq!(
            e.http_status(),
            if code == ActyxCode::TokenInvalid {
                400
            } else {
                401
            },
            "{what}"
        );
    }
    // Another issuer key.
    let other = TokenVerifier::new(
        &AxPublicKey::from_public_key(fresh_key().public_key().unwrap()).unwrap(),
        Epoch(3),
    )
    .unwrap();
    assert_eq!(
        other.verify(&token, now).unwrap_err().code(),
        ActyxCode::TokenUnauthorized
    );
    // Created in the future beyond the skew allowance.
    let future = i
        .issue(
            &signed("com.acme.app"),
            UnixTime::from_secs(NOW + 61),
            &rng(),
        )
        .unwrap();
    let e = v.verify(&future, now).unwrap_err();
    assert_eq!(
        (e.code(), e.error().code()),
        (ActyxCode::TokenInvalid, ErrorCode::StaleTimestamp)
    );
    let near = i
        .issue(
            &signed("com.acme.app"),
            UnixTime::from_secs(NOW + 60),
            &rng(),
        )
        .unwrap();
    v.verify(&near, now).unwrap();
}

#[test]
fn bearer_header() {
    assert_eq!(bearer_token_from_header(Some("Bearer abc")).unwrap(), "abc");
    assert_eq!(
        bearer_token_from_header(Some("bearer  abc ")).unwrap(),
        "abc"
    );
    let code = |h: Option<&str>| bearer_token_from_header(h).unwrap_err().code();
    assert_eq!(code(None), ActyxCode::MissingAuthHeader);
    assert_eq!(code(Some("Basic dXNlcg==")), ActyxCode::UnsupportedAuthType);
    assert_eq!(code(Some("Bearer")), ActyxCode::TokenInvalid);
    assert_eq!(code(Some("Bearer   ")), ActyxCode::TokenInvalid);
    assert_eq!(code(Some("")), ActyxCode::UnsupportedAuthType);
}

// ---------------------------------------------------------------- admin TOFU

fn user() -> AxPublicKey {
    AxPublicKey::from_public_key(fresh_key().public_key().unwrap()).unwrap()
}

#[test]
fn first_key_is_enrolled_then_only_listed_keys_pass() {
    let (alice, bob, carol) = (user(), user(), user());
    let mut list = AuthorizedUsers::empty();
    let AdminDecision::Enrol(change) = list.decide(&alice) else {
        panic!("empty list must enrol")
    };
    assert_eq!(
        change,
        AdminChange {
            expected_version: 0,
            new_keys: vec![alice]
        }
    );
    assert_eq!(list.apply(&change), EnrolOutcome::Applied);
    assert_eq!(list.version(), 1);
    assert_eq!(list.decide(&alice), AdminDecision::Allowed);
    let AdminDecision::Denied(e) = list.decide(&bob) else {
        panic!("bob is not listed")
    };
    assert_eq!(
        (e.code(), e.http_status(), e.error().code()),
        (ActyxCode::Unauthorized, 401, ErrorCode::Unauthorized)
    );
    assert!(e.to_json_body().contains("ERR_UNAUTHORIZED"));

    // Only authorized users change the list.
    assert_eq!(
        list.add(&bob, carol).unwrap_err().code(),
        ActyxCode::Unauthorized
    );
    let add = list.add(&alice, bob).unwrap().unwrap();
    assert_eq!(list.apply(&add), EnrolOutcome::Applied);
    assert_eq!(
        list.add(&alice, bob).unwrap(),
        None,
        "adding twice changes nothing"
    );
    assert_eq!(list.decide(&bob), AdminDecision::Allowed);
    // A stale change (taken on an older version) is a conflict.
    assert_eq!(list.apply(&add), EnrolOutcome::Conflict);

    let rm = list.remove(&bob, &alice).unwrap().unwrap();
    assert_eq!(list.apply(&rm), EnrolOutcome::Applied);
    assert!(matches!(list.decide(&alice), AdminDecision::Denied(_)));
    assert_eq!(list.remove(&bob, &carol).unwrap(), None);
    // The last key cannot be removed: TOFU would re-open.
    assert_eq!(
        list.remove(&bob, &bob).unwrap_err().code(),
        ActyxCode::Unauthorized
    );
    assert_eq!(list.keys(), &[bob]);

    assert!(AuthorizedUsers::new(3, vec![alice, alice]).is_err());
    assert_eq!(
        AuthorizedUsers::new(3, vec![alice; MAX_AUTHORIZED_USERS + 1])
            .unwrap_err()
            .code(),
        ErrorCode::TooLarge
    );
}

#[test]
fn racing_first_callers_enrol_exactly_one() {
    // Both callers read the empty list, decide, then compare-and-set against the store (a
    // mutex standing in for the service's atomic UPDATE ... WHERE version = expected).
    for _ in 0..50 {
        let store = Arc::new(Mutex::new(AuthorizedUsers::empty()));
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (store, barrier) = (store.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let me = user();
                    let snapshot = store.lock().unwrap().clone();
                    barrier.wait(); // both have read the empty list
                    let decision = snapshot.decide(&me);
                    let AdminDecision::Enrol(change) = decision else {
                        panic!("empty list must enrol")
                    };
                    let outcome = store.lock().unwrap().apply(&change);
                    let after = match outcome {
                        EnrolOutcome::Applied => AdminDecision::Allowed,
                        EnrolOutcome::Conflict => store.lock().unwrap().clone().decide(&me),
                    };
                    (me, outcome, after)
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let applied: Vec<_> = results
            .iter()
            .filter(|r| r.1 == EnrolOutcome::Applied)
            .collect();
        assert_eq!(applied.len(), 1, "exactly one enrolment");
        let loser = results
            .iter()
            .find(|r| r.1 == EnrolOutcome::Conflict)
            .unwrap();
        assert!(
            matches!(loser.2, AdminDecision::Denied(_)),
            "the loser is denied"
        );
        let list = store.lock().unwrap();
        assert_eq!(list.keys(), &[applied[0].0]);
        assert_eq!(list.version(), 1);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    #[test]
    fn tokens_round_trip(
        label in "[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?",
        version in "[ -~]{1,64}",
        created in 0u64..4_000_000_000_000,
        epoch in proptest::prelude::any::<u64>(),
        validity in 1u64..(30 * DAY),
        is_trial in proptest::prelude::any::<bool>(),
    ) {
        let (i, pk) = issuer(epoch);
        let i = i.with_validity(Duration::from_secs(validity)).unwrap();
        let m = if is_trial {
            trial_version(&format!("com.example.{label}"), &version)
        } else {
            signed_version(&format!("com.acme.{label}"), &version)
        };
        let created = UnixTime::from_millis(created);
        let token = i.issue(&m, created, &rng()).unwrap();
        proptest::prop_assert!(token.len() <= MAX_TOKEN_LEN);
        let t = TokenVerifier::new(&pk, Epoch(epoch)).unwrap().verify(&token, created).unwrap();
        proptest::prop_assert_eq!(&t.app_id, m.app_id());
        proptest::prop_assert_eq!(&t.app_version, &version);
        proptest::prop_assert_eq!(t.mode, m.mode());
        proptest::prop_assert_eq!(t.created, created);
        proptest::prop_assert_eq!(t.valid_for.as_secs(), validity);
        let expired = TokenVerifier::new(&pk, Epoch(epoch)).unwrap().verify(&token, t.expires_at()).unwrap_err();
        proptest::prop_assert_eq!(expired.code(), ActyxCode::TokenExpired);
    }
}

#[test]
fn every_character_of_a_token_matters() {
    let (i, pk) = issuer(2);
    let v = TokenVerifier::new(&pk, Epoch(2)).unwrap();
    let now = UnixTime::from_secs(NOW);
    let token = i.issue(&signed("com.acme.app"), now, &rng()).unwrap();
    for (at, c) in token.char_indices() {
        let other = if c == 'A' { 'B' } else { 'A' };
        let mut t = token.clone();
        t.replace_range(at..at + 1, &other.to_string());
        assert!(v.verify(&t, now).is_err(), "character {at} went unnoticed");
    }
}
