//! Interop for the app trust chain with an independent CBOR and Ed25519 implementation
//! (Python `cbor2` + `cryptography`): it verifies what we sign, byte layout included, and
//! signs a manifest and license (with definite-length maps) that we must verify.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::UnixTime;
use auth_core::rand::SystemRandom;
use auth_core::scheme::apptrust::*;

const AUTHORITY_PRIVATE: &str = "0WBFFicIHbivRZXAlO7tPs7rCX6s7u2OIMJ2mx9nwg0w=";
const AUTHORITY_PUBLIC: &str = "075i62XGQJuXjv6nnLQyJzECZhF29acYvYeEOJ3kc5M8=";
const DEV_PRIVATE: &str = "08lUw93C+xzdxBcsYOoPVjzn8IHPJtnJW9Y/WyEu4v64=";
const SCRIPT: &str = include_str!("interop/apptrust.py");

#[test]
fn python_cbor2_and_cryptography_agree_both_ways() {
    let Some(python) = common::python() else {
        return;
    };
    let rng = SystemRandom::new();
    let authority = signing_key_from_text(AUTHORITY_PRIVATE, &rng).unwrap();
    let dev_key = signing_key_from_text(DEV_PRIVATE, &rng).unwrap();
    let dev = AxPublicKey::from_public_key(dev_key.public_key().unwrap()).unwrap();
    let cert = DeveloperCertificate::issue(
        &authority,
        dev,
        vec![
            AppDomain::parse("com.acme.*").unwrap(),
            AppDomain::parse("io.acme-2.*").unwrap(),
        ],
        &rng,
    )
    .unwrap();
    let app = AppId::parse("com.acme.inventory").unwrap();
    let manifest =
        AppManifest::sign(&dev_key, &cert, app.clone(), "Inventory ✓", "2.0.1", &rng).unwrap();
    let license = License::issue(
        &authority,
        app,
        UnixTime::from_millis(1_900_000_000_123),
        UnixTime::from_secs(1_700_000_000),
        "ops@acme.com",
        &rng,
    )
    .unwrap();
    let input = serde_json::json!({
        "authority_public": AUTHORITY_PUBLIC,
        "authority_seed": AUTHORITY_PRIVATE,
        "dev_seed": DEV_PRIVATE,
        "cert_json": cert.to_json(None).unwrap().as_str(),
        "manifest_json": manifest.to_json(),
        "license_text": license.to_key_text(),
    });
    let out = common::run_python(&python, SCRIPT, &[], input.to_string().as_bytes());
    let out: serde_json::Value = serde_json::from_slice(&out).unwrap();

    let authority_key = AuthorityKey::from_text(AUTHORITY_PUBLIC).unwrap();
    let m = AppManifest::from_json(out["manifest_json"].as_str().unwrap()).unwrap();
    let ok = m.verify(&authority_key).unwrap();
    assert_eq!(ok.app_id().as_str(), "com.python.made-here");
    assert_eq!(ok.mode(), AppMode::Signed);
    let l = License::from_key_text(out["license_text"].as_str().unwrap()).unwrap();
    assert_eq!(l.expires_at(), UnixTime::from_millis(1_927_857_906_789));
    let now = UnixTime::from_secs(1_800_000_000);
    l.verify(&authority_key, ok.app_id(), now).unwrap();
    let policy = Licensing::licensed(
        License::issue(
            &authority,
            AppId::parse(NODE_LICENSE_APP_ID).unwrap(),
            UnixTime::from_secs(1_900_000_000),
            now,
            "ops@acme.com",
            &rng,
        )
        .unwrap()
        .to_key_text(),
        [(
            ok.app_id().clone(),
            out["license_text"].as_str().unwrap().to_owned(),
        )]
        .into(),
    );
    policy.authorize_app(&ok, &authority_key, now).unwrap();
}
