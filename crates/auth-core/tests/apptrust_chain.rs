//! App trust chain artefacts: developer certificates, manifests and licenses round-trip, and
//! each with one field changed fails with its documented error code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::encoding::{b64_decode, b64_encode, hex_lower};
use auth_core::keys::{SignatureAlgorithm, SigningKey, generate_ed25519};
use auth_core::rand::SystemRandom;
use auth_core::scheme::apptrust::*;
use auth_core::{ErrorCode, UnixTime};
use proptest::prelude::*;

const AUTHORITY_PRIVATE: &str = "0WBFFicIHbivRZXAlO7tPs7rCX6s7u2OIMJ2mx9nwg0w=";
const AUTHORITY_PUBLIC: &str = "075i62XGQJuXjv6nnLQyJzECZhF29acYvYeEOJ3kc5M8=";
const DEV_PRIVATE: &str = "08lUw93C+xzdxBcsYOoPVjzn8IHPJtnJW9Y/WyEu4v64=";
const DEV_PUBLIC: &str = "0nz1YdHu/JDmS6CImcZgOj9Y960sJOPrbZHAJO107qW0=";

struct Setup {
    rng: SystemRandom,
    authority: SigningKey,
    authority_key: AuthorityKey,
    dev_key: SigningKey,
    dev: AxPublicKey,
    cert: DeveloperCertificate,
}

fn setup() -> Setup {
    let rng = SystemRandom::new();
    let authority = signing_key_from_text(AUTHORITY_PRIVATE, &rng).unwrap();
    let dev_key = signing_key_from_text(DEV_PRIVATE, &rng).unwrap();
    let dev = AxPublicKey::from_text(DEV_PUBLIC).unwrap();
    let cert = DeveloperCertificate::issue(
        &authority,
        dev,
        vec![
            AppDomain::parse("com.actyx.*").unwrap(),
            AppDomain::parse("com.example.*").unwrap(),
        ],
        &rng,
    )
    .unwrap();
    Setup {
        authority_key: AuthorityKey::from_text(AUTHORITY_PUBLIC).unwrap(),
        rng,
        authority,
        dev_key,
        dev,
        cert,
    }
}

fn other_key(rng: &SystemRandom) -> SigningKey {
    SigningKey::new(
        &generate_ed25519(rng).unwrap(),
        SignatureAlgorithm::Ed25519,
        rng,
    )
    .unwrap()
}

fn flip(mut sig: [u8; 64], i: usize) -> [u8; 64] {
    sig[i] ^= 1;
    sig
}

// ---------------------------------------------------------------- certificates

#[test]
fn certificate_json_round_trip_with_and_without_private_key() {
    let s = setup();
    let json = s.cert.to_json(None).unwrap();
    let back = DeveloperCertificate::from_json(&json).unwrap();
    assert_eq!(back.certificate, s.cert);
    assert!(back.dev_private.is_none());
    back.certificate.verify(&s.authority_key).unwrap();

    let dev_private = private_key_from_text(DEV_PRIVATE).unwrap();
    let json = s.cert.to_json(Some(&dev_private)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["devPrivkey"], DEV_PRIVATE);
    assert_eq!(v["devPubkey"], DEV_PUBLIC);
    assert_eq!(
        v["axSignature"],
        "8Bl3zCNno5GbpKUoati7CiFgr0KGwNHB1kTwBVKzO9pzW07hFkkQ+GXvyc9QaWhHT5aXzzO+mVrx3eiC7TREAQ=="
    );
    let back = DeveloperCertificate::from_json(&json).unwrap();
    assert_eq!(
        private_key_to_text(back.dev_private.as_ref().unwrap())
            .unwrap()
            .as_str(),
        DEV_PRIVATE
    );

    // A private key that is not the certificate's.
    let wrong = private_key_from_text(AUTHORITY_PRIVATE).unwrap();
    assert_eq!(
        s.cert.to_json(Some(&wrong)).unwrap_err().code(),
        ErrorCode::InvalidKey
    );
    let bad = json.replace(DEV_PRIVATE, AUTHORITY_PRIVATE);
    assert_eq!(
        DeveloperCertificate::from_json(&bad).unwrap_err().code(),
        ErrorCode::InvalidKey
    );
}

#[test]
fn certificate_with_one_field_changed_fails_signature_mismatch() {
    let s = setup();
    let domains = s.cert.app_domains().to_vec();
    let sig = *s.cert.ax_signature();
    let other_dev = AxPublicKey::from_text(AUTHORITY_PUBLIC).unwrap();
    let cases = [
        (
            "developer key",
            DeveloperCertificate::from_parts(other_dev, domains.clone(), sig),
        ),
        (
            "domain",
            DeveloperCertificate::from_parts(
                s.dev,
                vec![
                    domains[0].clone(),
                    AppDomain::parse("com.exampla.*").unwrap(),
                ],
                sig,
            ),
        ),
        (
            "domain order",
            DeveloperCertificate::from_parts(s.dev, domains.iter().rev().cloned().collect(), sig),
        ),
        (
            "domain dropped",
            DeveloperCertificate::from_parts(s.dev, domains[..1].to_vec(), sig),
        ),
        (
            "signature byte 0",
            DeveloperCertificate::from_parts(s.dev, domains.clone(), flip(sig, 0)),
        ),
        (
            "signature byte 63",
            DeveloperCertificate::from_parts(s.dev, domains.clone(), flip(sig, 63)),
        ),
    ];
    for (what, cert) in cases {
        let e = cert.unwrap().verify(&s.authority_key).unwrap_err();
        assert_eq!(e.code(), ErrorCode::SignatureMismatch, "{what}");
    }
    // Another authority.
    let other = AuthorityKey::new(
        AxPublicKey::from_public_key(other_key(&s.rng).public_key().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        s.cert.verify(&other).unwrap_err().code(),
        ErrorCode::SignatureMismatch
    );
}

#[test]
fn certificate_json_rejects_bad_fields() {
    let s = setup();
    let json = s.cert.to_json(None).unwrap().to_string();
    let cases = [
        json.replace("com.actyx.*", "com.Actyx.*"),
        json.replace("com.actyx.*", "actyx.*"),
        json.replace(
            "\"appDomains\":[\"com.actyx.*\",\"com.example.*\"]",
            "\"appDomains\":[]",
        ),
        json.replace(DEV_PUBLIC, "0abc"),
        json.replace("==\"", "\""),
        json.replace("{", "{\"extra\":1,"),
        "[]".to_owned(),
        "{".to_owned(),
    ];
    for c in cases {
        let e = DeveloperCertificate::from_json(&c).unwrap_err();
        assert!(
            matches!(e.code(), ErrorCode::Malformed | ErrorCode::InvalidKey),
            "{c}: {e}"
        );
    }
    let huge = format!("{{\"x\":\"{}\"}}", "a".repeat(20_000));
    assert_eq!(
        DeveloperCertificate::from_json(&huge).unwrap_err().code(),
        ErrorCode::TooLarge
    );
}

#[test]
fn certificate_for_work_email_gets_the_derived_domain() {
    let s = setup();
    let cert =
        DeveloperCertificate::issue_for_email(&s.authority, s.dev, "jane@awesome-si.com", &s.rng)
            .unwrap();
    assert_eq!(cert.app_domains()[0].as_str(), "com.awesome-si.*");
    cert.verify(&s.authority_key).unwrap();
    assert!(cert.covers(&AppId::parse("com.awesome-si.dashboard").unwrap()));
    assert!(!cert.covers(&AppId::parse("com.actyx.dashboard").unwrap()));
    for bad in [
        "jane",
        "@acme.com",
        "jane@acme",
        "jane@mail.acme.co.uk",
        "jane@ac_me.com",
        "jane@acme.com.",
        "jane@.com",
    ] {
        assert!(
            DeveloperCertificate::issue_for_email(&s.authority, s.dev, bad, &s.rng).is_err(),
            "{bad}"
        );
    }
    assert_eq!(
        AppDomain::from_email("Jane@Awesome-SI.com")
            .unwrap()
            .as_str(),
        "com.awesome-si.*"
    );
}

#[test]
fn certificate_issuing_needs_an_ed25519_authority() {
    let s = setup();
    let rsa = auth_core::keys::generate_p256(&s.rng).unwrap();
    let k = SigningKey::new(&rsa, SignatureAlgorithm::EcdsaP256Sha256, &s.rng).unwrap();
    let e =
        DeveloperCertificate::issue(&k, s.dev, s.cert.app_domains().to_vec(), &s.rng).unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnsupportedAlgorithm);
}

// ---------------------------------------------------------------- manifests

fn signed_manifest(s: &Setup, app_id: &str) -> AppManifest {
    AppManifest::sign(
        &s.dev_key,
        &s.cert,
        AppId::parse(app_id).unwrap(),
        "auth test app",
        "v0.0.1",
        &s.rng,
    )
    .unwrap()
}

fn assert_manifest_invalid(m: &AppManifest, s: &Setup, code: ErrorCode, what: &str) {
    let e = m.verify(&s.authority_key).unwrap_err();
    assert_eq!(e.code(), ActyxCode::ManifestInvalid, "{what}: {e}");
    assert_eq!(e.http_status(), 400, "{what}");
    assert_eq!(e.error().code(), code, "{what}: {e}");
    let body: serde_json::Value = serde_json::from_str(&e.to_json_body()).unwrap();
    assert_eq!(body["code"], "ERR_MANIFEST_INVALID");
    assert!(!body["message"].as_str().unwrap().is_empty());
}

#[test]
fn manifest_json_round_trip_and_verify() {
    let s = setup();
    let m = signed_manifest(&s, "com.actyx.auth-test");
    let json = m.to_json();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["appId"], "com.actyx.auth-test");
    assert_eq!(v["displayName"], "auth test app");
    assert_eq!(v["version"], "v0.0.1");
    let back = AppManifest::from_json(&json).unwrap();
    assert_eq!(back, m);
    let ok = back.verify(&s.authority_key).unwrap();
    assert_eq!(ok.mode(), AppMode::Signed);
    assert_eq!(ok.app_id().as_str(), "com.actyx.auth-test");
    assert_eq!(ok.developer(), Some(&s.dev));

    // The signature blob round-trips through ManifestSignature.
    let blob = ManifestSignature::from_base64(m.signature().unwrap()).unwrap();
    assert_eq!(blob.to_base64(), m.signature().unwrap());
    assert_eq!(blob.certificate(), &s.cert);
}

#[test]
fn trial_manifests_are_unsigned_only_under_com_example() {
    let s = setup();
    let trial = AppManifest::trial(
        AppId::parse("com.example.my-app").unwrap(),
        "My App",
        "1.0.0",
    )
    .unwrap();
    assert_eq!(
        trial.to_json(),
        r#"{"appId":"com.example.my-app","displayName":"My App","version":"1.0.0"}"#
    );
    let ok = AppManifest::from_json(&trial.to_json())
        .unwrap()
        .verify(&s.authority_key)
        .unwrap();
    assert_eq!(ok.mode(), AppMode::Trial);
    assert_eq!(ok.developer(), None);

    assert_eq!(
        AppManifest::trial(AppId::parse("com.actyx.my-app").unwrap(), "x", "1")
            .unwrap_err()
            .code(),
        ErrorCode::Unauthorized
    );
    let unsigned =
        AppManifest::from_json(r#"{"appId":"com.actyx.my-app","displayName":"x","version":"1"}"#)
            .unwrap();
    assert_manifest_invalid(
        &unsigned,
        &s,
        ErrorCode::Unauthorized,
        "unsigned outside trial",
    );
    // "com.examplex." is not the trial prefix.
    let unsigned =
        AppManifest::from_json(r#"{"appId":"com.examplex.app","displayName":"x","version":"1"}"#)
            .unwrap();
    assert_manifest_invalid(&unsigned, &s, ErrorCode::Unauthorized, "near-trial prefix");

    // A signed manifest under com.example. is signed mode.
    let m = signed_manifest(&s, "com.example.signed");
    assert_eq!(m.verify(&s.authority_key).unwrap().mode(), AppMode::Signed);
}

#[test]
fn manifest_with_one_field_changed_fails_with_its_code() {
    let s = setup();
    let m = signed_manifest(&s, "com.actyx.auth-test");
    let sig = m.signature().map(str::to_owned);
    let id = |t: &str| AppId::parse(t).unwrap();
    let blob = ManifestSignature::from_base64(m.signature().unwrap()).unwrap();
    let reblob = |dev_sig: [u8; 64], cert: DeveloperCertificate| {
        Some(ManifestSignature::new(dev_sig, cert).to_base64())
    };
    let cert_with = |domains: Vec<&str>, ax: [u8; 64]| {
        DeveloperCertificate::from_parts(
            s.dev,
            domains
                .into_iter()
                .map(|d| AppDomain::parse(d).unwrap())
                .collect(),
            ax,
        )
        .unwrap()
    };
    let ax = *s.cert.ax_signature();
    let cases: Vec<(&str, AppManifest, ErrorCode)> = vec![
        (
            "app ID in domain",
            AppManifest::from_parts(
                id("com.actyx.auth-tesu"),
                "auth test app",
                "v0.0.1",
                sig.clone(),
            ),
            ErrorCode::SignatureMismatch,
        ),
        (
            "app ID outside domains",
            AppManifest::from_parts(
                id("com.acme.auth-test"),
                "auth test app",
                "v0.0.1",
                sig.clone(),
            ),
            ErrorCode::Unauthorized,
        ),
        (
            "display name",
            AppManifest::from_parts(
                id("com.actyx.auth-test"),
                "auth test apq",
                "v0.0.1",
                sig.clone(),
            ),
            ErrorCode::SignatureMismatch,
        ),
        (
            "version",
            AppManifest::from_parts(
                id("com.actyx.auth-test"),
                "auth test app",
                "v0.0.2",
                sig.clone(),
            ),
            ErrorCode::SignatureMismatch,
        ),
        (
            "dev signature byte",
            AppManifest::from_parts(
                id("com.actyx.auth-test"),
                "auth test app",
                "v0.0.1",
                reblob(flip(*blob.dev_signature(), 5), s.cert.clone()),
            ),
            ErrorCode::SignatureMismatch,
        ),
        (
            "ax signature byte",
            AppManifest::from_parts(
                id("com.actyx.auth-test"),
                "auth test app",
                "v0.0.1",
                reblob(
                    *blob.dev_signature(),
                    cert_with(vec!["com.actyx.*", "com.example.*"], flip(ax, 40)),
                ),
            ),
            ErrorCode::SignatureMismatch,
        ),
        (
            "domain widened",
            AppManifest::from_parts(
                id("com.actyx.auth-test"),
                "auth test app",
                "v0.0.1",
                reblob(
                    *blob.dev_signature(),
                    cert_with(vec!["com.actyx.*", "com.acme.*"], ax),
                ),
            ),
            ErrorCode::SignatureMismatch,
        ),
        (
            "signature not base64",
            AppManifest::from_parts(
                id("com.actyx.auth-test"),
                "auth test app",
                "v0.0.1",
                Some("!!".into()),
            ),
            ErrorCode::Malformed,
        ),
        (
            "signature not cbor",
            AppManifest::from_parts(
                id("com.actyx.auth-test"),
                "auth test app",
                "v0.0.1",
                Some(b64_encode(b"\xff\xff")),
            ),
            ErrorCode::Malformed,
        ),
        (
            "empty display name",
            AppManifest::from_parts(id("com.actyx.auth-test"), "", "v0.0.1", sig.clone()),
            ErrorCode::Malformed,
        ),
        (
            "long version",
            AppManifest::from_parts(
                id("com.actyx.auth-test"),
                "auth test app",
                &"1".repeat(65),
                sig.clone(),
            ),
            ErrorCode::Malformed,
        ),
    ];
    for (what, m, code) in cases {
        assert_manifest_invalid(&m, &s, code, what);
    }

    // Another developer key, certified by the same authority, signing with a certificate
    // naming the original developer: the developer signature fails.
    let other = other_key(&s.rng);
    let forged =
        AppManifest::sign(&other, &s.cert, id("com.actyx.x"), "x", "1", &s.rng).unwrap_err();
    assert_eq!(forged.code(), ErrorCode::Unauthorized);

    // sig_version other than 0.
    let mut raw = b64_decode(m.signature().unwrap(), "x").unwrap();
    assert_eq!(raw[13], 0x00);
    raw[13] = 0x01;
    let m2 = AppManifest::from_parts(
        id("com.actyx.auth-test"),
        "auth test app",
        "v0.0.1",
        Some(b64_encode(&raw)),
    );
    assert_manifest_invalid(&m2, &s, ErrorCode::Malformed, "sig_version 1");

    // Another authority.
    let other_auth =
        AuthorityKey::new(AxPublicKey::from_public_key(other.public_key().unwrap()).unwrap())
            .unwrap();
    let e = m.verify(&other_auth).unwrap_err();
    assert_eq!(
        (e.code(), e.error().code()),
        (ActyxCode::ManifestInvalid, ErrorCode::SignatureMismatch)
    );
}

#[test]
fn manifest_json_is_strict_and_bounded() {
    for bad in [
        r#"{"appId":"com.example.x","displayName":"x","version":"1","extra":1}"#,
        r#"{"appId":"com.Example.x","displayName":"x","version":"1"}"#,
        r#"{"appId":"com.example.x","version":"1"}"#,
        r#"{"appId":"com.example.x","displayName":"x","version":1}"#,
        r#"[]"#,
        "",
    ] {
        let e = AppManifest::from_json(bad).unwrap_err();
        assert_eq!(e.code(), ActyxCode::ManifestInvalid, "{bad}");
    }
    let huge = format!(
        r#"{{"appId":"com.example.x","displayName":"{}","version":"1"}}"#,
        "a".repeat(MAX_MANIFEST_JSON_LEN)
    );
    assert_eq!(
        AppManifest::from_json(&huge).unwrap_err().error().code(),
        ErrorCode::TooLarge
    );
}

// ---------------------------------------------------------------- licenses

const EXPIRES: u64 = 1_893_456_000; // 2030-01-01T00:00:00Z
const CREATED: u64 = 1_704_067_200; // 2024-01-01T00:00:00Z

fn license(s: &Setup, app_id: &str) -> License {
    License::issue(
        &s.authority,
        AppId::parse(app_id).unwrap(),
        UnixTime::from_secs(EXPIRES),
        UnixTime::from_secs(CREATED),
        "jane@awesome-si.com",
        &s.rng,
    )
    .unwrap()
}

#[test]
fn license_bytes_are_pinned_and_round_trip() {
    let s = setup();
    let l = license(&s, "com.actyx.auth-test");
    // Signed: definite map(3) in field order, nested definite maps, times as RFC 3339 text.
    let mut expected = vec![0xa3, 0x6e];
    expected.extend_from_slice(b"licenseVersion");
    expected.extend_from_slice(&[0x00, 0x6b]);
    expected.extend_from_slice(b"licenseType");
    expected.extend_from_slice(&[0xa1, 0x68]);
    expected.extend_from_slice(b"expiring");
    expected.extend_from_slice(&[0xa2, 0x65]);
    expected.extend_from_slice(b"appId");
    expected.push(0x73);
    expected.extend_from_slice(b"com.actyx.auth-test");
    expected.push(0x69);
    expected.extend_from_slice(b"expiresAt");
    expected.push(0x74);
    expected.extend_from_slice(b"2030-01-01T00:00:00Z");
    expected.push(0x69);
    expected.extend_from_slice(b"createdAt");
    expected.push(0x74);
    expected.extend_from_slice(b"2024-01-01T00:00:00Z");
    assert_eq!(hex_lower(&l.signing_bytes()), hex_lower(&expected));

    // Carried: indefinite map with the signature and requester after the signed fields.
    let cbor = l.to_cbor();
    assert_eq!(cbor[0], 0xbf);
    assert_eq!(*cbor.last().unwrap(), 0xff);
    assert_eq!(&cbor[1..expected.len()], &expected[1..]);
    let mut tail = vec![0x69];
    tail.extend_from_slice(b"signature");
    tail.extend_from_slice(&[0x78, 88]);
    // Ed25519 is deterministic: signing again gives the stored signature.
    let sig_text = b64_encode(&s.authority.sign(&l.signing_bytes(), &s.rng).unwrap());
    tail.extend_from_slice(sig_text.as_bytes());
    tail.push(0x69);
    tail.extend_from_slice(b"requester");
    tail.extend_from_slice(&[0xa1, 0x65]);
    tail.extend_from_slice(b"email");
    tail.push(0x73);
    tail.extend_from_slice(b"jane@awesome-si.com");
    tail.push(0xff);
    assert_eq!(hex_lower(&cbor[expected.len()..]), hex_lower(&tail));

    let text = l.to_key_text();
    let back = License::from_key_text(&text).unwrap();
    assert_eq!(back, l);
    assert_eq!(back.app_id().as_str(), "com.actyx.auth-test");
    assert_eq!(back.expires_at(), UnixTime::from_secs(EXPIRES));
    assert_eq!(back.created_at(), UnixTime::from_secs(CREATED));
    assert_eq!(back.requester_email(), "jane@awesome-si.com");
    back.verify(
        &s.authority_key,
        back.app_id(),
        UnixTime::from_secs(CREATED),
    )
    .unwrap();
}

fn mutate(text: &str, from: &[u8], to: &[u8]) -> String {
    let mut raw = b64_decode(text, "x").unwrap();
    let pos = raw.windows(from.len()).position(|w| w == from).unwrap();
    raw[pos..pos + from.len()].copy_from_slice(to);
    b64_encode(&raw)
}

#[test]
fn license_with_one_field_changed_fails_with_its_problem() {
    let s = setup();
    let l = license(&s, "com.actyx.auth-test");
    let text = l.to_key_text();
    let app = AppId::parse("com.actyx.auth-test").unwrap();
    let now = UnixTime::from_secs(CREATED + 10);
    let check = |t: &str, expected: &AppId, now: UnixTime| {
        License::from_key_text(t).and_then(|l| l.verify(&s.authority_key, expected, now))
    };
    check(&text, &app, now).unwrap();

    let sig_b64 = {
        let raw = b64_decode(&text, "x").unwrap();
        let at = raw.windows(9).position(|w| w == b"signature").unwrap() + 11;
        raw[at..at + 4].to_vec()
    };
    let mut flipped_sig = sig_b64.clone();
    flipped_sig[0] = if flipped_sig[0] == b'A' { b'B' } else { b'A' };
    let cases: Vec<(&str, String, AppId, UnixTime, LicenseProblem)> = vec![
        (
            "app ID",
            mutate(&text, b"auth-test", b"auth-tesu"),
            AppId::parse("com.actyx.auth-tesu").unwrap(),
            now,
            LicenseProblem::InvalidSignature,
        ),
        (
            "expiry",
            mutate(&text, b"2030-01-01", b"2031-01-01"),
            app.clone(),
            now,
            LicenseProblem::InvalidSignature,
        ),
        (
            "created",
            mutate(&text, b"2024-01-01", b"2024-01-02"),
            app.clone(),
            now,
            LicenseProblem::InvalidSignature,
        ),
        (
            "signature byte",
            mutate(&text, &sig_b64, &flipped_sig),
            app.clone(),
            now,
            LicenseProblem::InvalidSignature,
        ),
        (
            "subject",
            text.clone(),
            AppId::parse("com.actyx.other").unwrap(),
            now,
            LicenseProblem::WrongSubject,
        ),
        (
            "expired",
            text.clone(),
            app.clone(),
            UnixTime::from_secs(EXPIRES),
            LicenseProblem::Expired,
        ),
        (
            "long expired",
            text.clone(),
            app.clone(),
            UnixTime::from_secs(EXPIRES + 86_400),
            LicenseProblem::Expired,
        ),
        (
            "licenseVersion",
            mutate(&text, b"licenseVersion\x00", b"licenseVersion\x01"),
            app.clone(),
            now,
            LicenseProblem::Malformed,
        ),
        (
            "license type",
            mutate(&text, b"expiring", b"perpetua"),
            app.clone(),
            now,
            LicenseProblem::Malformed,
        ),
        (
            "time without Z",
            mutate(&text, b"00:00Z", b"00:00z"),
            app.clone(),
            now,
            LicenseProblem::Malformed,
        ),
        (
            "not base64",
            "***".into(),
            app.clone(),
            now,
            LicenseProblem::Malformed,
        ),
        (
            "not cbor",
            b64_encode(b"hello"),
            app.clone(),
            now,
            LicenseProblem::Malformed,
        ),
        (
            "too long",
            "A".repeat(MAX_LICENSE_LEN + 1),
            app.clone(),
            now,
            LicenseProblem::Malformed,
        ),
    ];
    for (what, t, expected, now, problem) in cases {
        let e = check(&t, &expected, now).unwrap_err();
        assert_eq!(e.code(), ActyxCode::AppUnauthorized, "{what}");
        assert_eq!(e.http_status(), 401, "{what}");
        assert_eq!(e.license_problem(), Some(problem), "{what}: {e}");
        assert_eq!(e.error().code(), problem.error_code(), "{what}");
    }
    // One millisecond before expiry it is still valid.
    check(&text, &app, UnixTime::from_millis(EXPIRES * 1000 - 1)).unwrap();
}

#[test]
fn license_keeps_foreign_time_text_exactly() {
    // A license issued elsewhere with microsecond precision: the signed text must be kept as is.
    let s = setup();
    let l = license(&s, "com.actyx.auth-test");
    let mut raw = b64_decode(&l.to_key_text(), "x").unwrap();
    let old = b"\x742030-01-01T00:00:00Z";
    let pos = raw.windows(old.len()).position(|w| w == old).unwrap();
    raw.splice(
        pos..pos + old.len(),
        b"\x7b\x00\x00\x00\x00\x00\x00\x00\x1b2030-01-01T00:00:00.000001Z"
            .iter()
            .copied(),
    );
    // (non-minimal length header, then a 27-byte time) decodes and keeps the text.
    let back = License::from_cbor(&raw).unwrap();
    assert_eq!(back.expires_at(), UnixTime::from_secs(EXPIRES));
    assert!(hex_lower(&back.signing_bytes()).contains(&hex_lower(b"00:00:00.000001Z")));
    // Its signature was over other text, so it must not verify.
    assert_eq!(
        back.verify(
            &s.authority_key,
            back.app_id(),
            UnixTime::from_secs(CREATED)
        )
        .unwrap_err()
        .license_problem(),
        Some(LicenseProblem::InvalidSignature)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn manifests_and_licenses_round_trip(
        label in "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?",
        name in "\\PC{1,40}",
        version in "[ -~]{1,20}",
        expires in 1_000_000u64..4_000_000_000_000,
    ) {
        let s = setup();
        let app_id = AppId::parse(&format!("com.actyx.{label}")).unwrap();
        let m = AppManifest::sign(&s.dev_key, &s.cert, app_id.clone(), &name, &version, &s.rng).unwrap();
        let back = AppManifest::from_json(&m.to_json()).unwrap();
        prop_assert_eq!(&back, &m);
        let ok = back.verify(&s.authority_key).unwrap();
        prop_assert_eq!(ok.display_name(), name.as_str());
        let l = License::issue(&s.authority, app_id.clone(), UnixTime::from_millis(expires), UnixTime::EPOCH, "a@b.c", &s.rng).unwrap();
        let back = License::from_key_text(&l.to_key_text()).unwrap();
        prop_assert_eq!(&back, &l);
        back.verify(&s.authority_key, &app_id, UnixTime::from_millis(expires - 1)).unwrap();
    }
}

#[test]
fn every_bit_of_the_signature_blob_and_license_matters() {
    let s = setup();
    let m = signed_manifest(&s, "com.actyx.auth-test");
    let blob = b64_decode(m.signature().unwrap(), "x").unwrap();
    for i in 0..blob.len() {
        for bit in [0x01u8, 0x20, 0x80] {
            let mut b = blob.clone();
            b[i] ^= bit;
            let mutated = AppManifest::from_parts(
                m.app_id().clone(),
                m.display_name(),
                m.version(),
                Some(b64_encode(&b)),
            );
            let e = mutated.verify(&s.authority_key).unwrap_err();
            assert_eq!(
                e.code(),
                ActyxCode::ManifestInvalid,
                "byte {i} bit {bit:#x}"
            );
        }
    }
    let l = license(&s, "com.actyx.auth-test");
    let raw = l.to_cbor();
    let app = AppId::parse("com.actyx.auth-test").unwrap();
    // The requester e-mail is carried but not signed (as in the format): skip its bytes.
    let email_at = raw
        .windows(19)
        .position(|w| w == b"jane@awesome-si.com")
        .unwrap();
    for i in (0..raw.len()).filter(|i| !(email_at..email_at + 19).contains(i)) {
        for bit in [0x01u8, 0x20, 0x80] {
            let mut b = raw.clone();
            b[i] ^= bit;
            let r = License::from_key_text(&b64_encode(&b))
                .and_then(|l| l.verify(&s.authority_key, &app, UnixTime::from_secs(CREATED)));
            assert!(r.is_err(), "license byte {i} bit {bit:#x} went unnoticed");
        }
    }
}

/// Issue #9 finding 14: manifests, developer certificates and licensing settings must be
/// JSON objects; serde-derived structs would otherwise read an array field by field.
#[test]
fn json_arrays_are_refused_where_objects_are_required() {
    let s = setup();
    for bad in [
        r#"["com.example.x","x","1"]"#,
        r#"["com.example.x","x","1",null]"#,
        " \n\t[\"com.example.x\",\"x\",\"1\"]",
    ] {
        let e = AppManifest::from_json(bad).unwrap_err();
        assert_eq!(
            (e.code(), e.error().code()),
            (ActyxCode::ManifestInvalid, ErrorCode::Malformed),
            "{bad}"
        );
    }
    let sig = b64_encode(s.cert.ax_signature());
    for bad in [
        format!(r#"[null,"{DEV_PUBLIC}",["com.actyx.*","com.example.*"],"{sig}"]"#),
        format!(r#" [null,"{DEV_PUBLIC}",["com.actyx.*","com.example.*"],"{sig}"]"#),
    ] {
        assert_eq!(
            DeveloperCertificate::from_json(&bad).unwrap_err().code(),
            ErrorCode::Malformed,
            "{bad}"
        );
    }
    // The object forms of the same content are fine.
    AppManifest::from_json(r#"{"appId":"com.example.x","displayName":"x","version":"1"}"#).unwrap();
    let json = s.cert.to_json(None).unwrap();
    DeveloperCertificate::from_json(&json).unwrap();
    assert_eq!(
        Licensing::from_json(r#"["development"]"#)
            .unwrap_err()
            .code(),
        ErrorCode::Malformed
    );
    Licensing::from_json(r#"{"node":"development"}"#).unwrap();
}
