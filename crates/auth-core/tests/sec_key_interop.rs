//! Legacy Smile `sec_key`, all four directions, against independent implementations:
//! a `sec_key` made by the seed's Ruby code (OpenSSL `public_encrypt`) verifies with our
//! provider side; our outgoing `sec_key` decrypts with `openssl pkeyutl -decrypt`; our response
//! signature passes node's `crypto.publicDecrypt(RSA_PKCS1_PADDING)` and Ruby's `public_decrypt`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::keys::{PrivateKey, PublicKey, RsaPkcs1Decryptor, RsaRawSigner};
use auth_core::rand::SystemRandom;
use auth_core::scheme::smile::SmilePolicy;
use auth_core::scheme::smile::sec_key::{self, TimestampUnit};
use auth_core::{ErrorCode, UnixTime};
use serde_json::Value;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

const VECTORS: &str = include_str!("../../../testvectors/smile/vectors.json");
const NOW: u64 = 1_649_021_507;

fn provider_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| auth_core::keys::generate_rsa(2048, &SystemRandom::new()).unwrap())
}

/// The provider's public key in the Smile form: Base64 of the SPKI PEM text.
fn api_key() -> String {
    provider_key().public_key().to_smile_base64()
}

fn ruby_available() -> bool {
    let ok = Command::new("ruby")
        .args(["-ropenssl", "-e", "exit 0"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "ruby (Debian package `ruby`) is required under CI"
        );
        eprintln!("SKIPPED: ruby is not installed; the Ruby sec_key interop did not run");
    }
    ok
}

/// The seed's Ruby code (Smile's Ruby SDK `Signature#generate_sec_key`), verbatim in logic:
/// `Base64.encode64` inserts a newline every 60 characters.
const RUBY_GENERATE: &str = r#"
require 'openssl'; require 'base64'; require 'digest'
api_key, partner_id, timestamp = ARGV
hash_signature = Digest::SHA256.hexdigest([partner_id.to_i, timestamp].join(":"))
public_key = OpenSSL::PKey::RSA.new(Base64.decode64(api_key))
sec_key = [Base64.encode64(public_key.public_encrypt(hash_signature)), hash_signature].join('|')
print sec_key
"#;

/// The Ruby SDK's confirmation of a response signature.
const RUBY_CONFIRM: &str = r#"
require 'openssl'; require 'base64'; require 'digest'
api_key, partner_id, timestamp, signature = ARGV
hash_signature = Digest::SHA256.hexdigest([partner_id.to_i, timestamp].join(":"))
public_key = OpenSSL::PKey::RSA.new(Base64.decode64(api_key))
decrypted = public_key.public_decrypt(Base64.decode64(signature))
exit(decrypted == hash_signature ? 0 : 3)
"#;

#[test]
fn hash_vector_reproduces() {
    let v: Value = serde_json::from_str(VECTORS).unwrap();
    let h = &v["sec_key_hash"][0];
    let got = sec_key::hash(
        h["partner_id"].as_str().unwrap(),
        h["timestamp"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(
        std::str::from_utf8(&got).unwrap(),
        h["hash"].as_str().unwrap()
    );
}

#[test]
fn four_directions_round_trip_in_seconds_and_millis() {
    let rng = SystemRandom::new();
    let private = provider_key();
    let public = PublicKey::from_smile_base64(&api_key()).unwrap();
    let decryptor = RsaPkcs1Decryptor::new(private).unwrap();
    let signer = RsaRawSigner::new_for_legacy_use_only(private).unwrap();
    let now = UnixTime::from_millis(NOW * 1000 + 296);
    let policy = SmilePolicy::default();
    for unit in [TimestampUnit::Seconds, TimestampUnit::Millis] {
        let ts = sec_key::timestamp(now, unit);
        let sk = sec_key::generate(&public, "085", &ts, &rng).unwrap();
        let parsed = sec_key::parse("085", &ts, &sk).unwrap();
        sec_key::verify(&parsed, &decryptor, &policy, now).unwrap();
        let sig = sec_key::sign_response_for_legacy_use_only(&signer, "085", &ts, &rng).unwrap();
        sec_key::verify_response(&public, "085", &ts, &sig).unwrap();
        // Mutations: another partner, another timestamp, a flipped ciphertext byte, a wrong
        // hash after `|`, all the same error.
        let other_ts = (ts.parse::<u64>().unwrap() + 1).to_string();
        let flipped = {
            let (b64, h) = sk.split_once('|').unwrap();
            let mut ct = auth_core::encoding::b64_decode(b64, "ct").unwrap();
            ct[100] ^= 1;
            format!("{}|{h}", auth_core::encoding::b64_encode(&ct))
        };
        let wrong_hash = format!(
            "{}{}",
            &sk[..sk.len() - 1],
            if sk.ends_with('0') { '1' } else { '0' }
        );
        let truncated = {
            let (b64, h) = sk.split_once('|').unwrap();
            format!("{}|{h}", &b64[..b64.len() - 4])
        };
        let mut messages = std::collections::HashSet::new();
        for (pid, t, s) in [
            ("086", ts.as_str(), sk.as_str()),
            ("085", other_ts.as_str(), sk.as_str()),
            ("085", ts.as_str(), flipped.as_str()),
            ("085", ts.as_str(), wrong_hash.as_str()),
            ("085", ts.as_str(), truncated.as_str()),
        ] {
            let parsed = sec_key::parse(pid, t, s).unwrap();
            let e = sec_key::verify(&parsed, &decryptor, &policy, now).unwrap_err();
            assert_eq!(e.code(), ErrorCode::SignatureMismatch, "{pid} {t}");
            messages.insert(e.message().to_owned());
        }
        assert_eq!(
            messages.len(),
            1,
            "every failure must read the same: {messages:?}"
        );
        for (pid, t) in [("086", ts.as_str()), ("085", other_ts.as_str())] {
            assert_eq!(
                sec_key::verify_response(&public, pid, t, &sig)
                    .unwrap_err()
                    .code(),
                ErrorCode::SignatureMismatch
            );
        }
        // Outside the window.
        let parsed = sec_key::parse("085", &ts, &sk).unwrap();
        assert_eq!(
            sec_key::verify(
                &parsed,
                &decryptor,
                &policy,
                now.saturating_add(Duration::from_secs(301))
            )
            .unwrap_err()
            .code(),
            ErrorCode::StaleTimestamp
        );
    }
    // A key of another provider cannot decrypt.
    let other = auth_core::keys::generate_rsa(2048, &rng).unwrap();
    let other_dec = RsaPkcs1Decryptor::new(&other).unwrap();
    let ts = NOW.to_string();
    let sk = sec_key::generate(&public, "085", &ts, &rng).unwrap();
    let parsed = sec_key::parse("085", &ts, &sk).unwrap();
    assert_eq!(
        sec_key::verify(&parsed, &other_dec, &policy, now)
            .unwrap_err()
            .code(),
        ErrorCode::SignatureMismatch
    );
    // Malformed inputs are refused before any RSA work.
    for (pid, t, s) in [
        ("0x85", ts.as_str(), sk.as_str()),
        ("085", "2022-04-03T21:31:47Z", sk.as_str()),
        ("085", ts.as_str(), "no separator"),
        ("085", ts.as_str(), "!!!|abc"),
    ] {
        assert_eq!(
            sec_key::parse(pid, t, s).unwrap_err().code(),
            ErrorCode::Malformed
        );
    }
}

#[test]
fn ruby_openssl_public_encrypt_sec_key_verifies_with_our_provider_side() {
    if !ruby_available() {
        return;
    }
    let decryptor = RsaPkcs1Decryptor::new(provider_key()).unwrap();
    let now = UnixTime::from_secs(NOW);
    for ts in [NOW.to_string(), (NOW * 1000 + 296).to_string()] {
        let out = common::run(
            Command::new("ruby").arg("-e").arg(RUBY_GENERATE).args([
                api_key().as_str(),
                "085",
                ts.as_str(),
            ]),
            b"",
        );
        let sk = String::from_utf8(out).unwrap();
        assert!(sk.contains('\n'), "Ruby's encode64 wraps lines: {sk:?}");
        let parsed = sec_key::parse("085", &ts, &sk).unwrap();
        sec_key::verify(&parsed, &decryptor, &SmilePolicy::default(), now).unwrap();
        // And the same Ruby sec_key for another partner fails.
        let parsed = sec_key::parse("86", &ts, &sk).unwrap();
        assert!(sec_key::verify(&parsed, &decryptor, &SmilePolicy::default(), now).is_err());
    }
}

#[test]
fn our_response_signature_passes_ruby_public_decrypt() {
    if !ruby_available() {
        return;
    }
    let signer = RsaRawSigner::new_for_legacy_use_only(provider_key()).unwrap();
    let ts = NOW.to_string();
    let sig = sec_key::sign_response_for_legacy_use_only(&signer, "085", &ts, &SystemRandom::new())
        .unwrap();
    common::run(
        Command::new("ruby").arg("-e").arg(RUBY_CONFIRM).args([
            api_key().as_str(),
            "085",
            ts.as_str(),
            sig.as_str(),
        ]),
        b"",
    );
    // Ruby says no for the wrong partner (exit 3).
    assert!(!common::succeeds(
        Command::new("ruby").arg("-e").arg(RUBY_CONFIRM).args([
            api_key().as_str(),
            "086",
            ts.as_str(),
            sig.as_str()
        ])
    ));
}

#[test]
fn our_outgoing_sec_key_decrypts_with_openssl_pkeyutl() {
    if !common::openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("provider.pem");
    std::fs::write(&key_path, provider_key().to_pkcs8_pem().expose()).unwrap();
    let public = PublicKey::from_smile_base64(&api_key()).unwrap();
    let ts = NOW.to_string();
    let sk = sec_key::generate(&public, "085", &ts, &SystemRandom::new()).unwrap();
    let (b64, h) = sk.split_once('|').unwrap();
    let ct = auth_core::encoding::b64_decode(b64, "ct").unwrap();
    let out = common::run(
        Command::new("openssl")
            .args([
                "pkeyutl",
                "-decrypt",
                "-pkeyopt",
                "rsa_padding_mode:pkcs1",
                "-inkey",
            ])
            .arg(&key_path),
        &ct,
    );
    assert_eq!(out, h.as_bytes());
    assert_eq!(h.as_bytes(), sec_key::hash("085", &ts).unwrap());
}

#[test]
fn our_response_signature_passes_node_public_decrypt() {
    let Some(node_path) = common::node_path() else {
        return;
    };
    let signer = RsaRawSigner::new_for_legacy_use_only(provider_key()).unwrap();
    let ts = (NOW * 1000).to_string();
    let sig = sec_key::sign_response_for_legacy_use_only(&signer, "085", &ts, &SystemRandom::new())
        .unwrap();
    let script = r#"
const crypto = require('crypto');
const [pem, sig] = process.argv.slice(1);
const out = crypto.publicDecrypt({ key: pem, padding: crypto.constants.RSA_PKCS1_PADDING },
                                 Buffer.from(sig, 'base64'));
process.stdout.write(out.toString('utf8'));
"#;
    let pem = provider_key().public_key().to_spki_pem();
    let out = common::run_node(&node_path, script, &[&pem, &sig], b"");
    assert_eq!(out, sec_key::hash("085", &ts).unwrap());
}

/// Issue #9 finding 15: providers send the response signature as `<Base64>|<hash>` (the SDKs
/// split on `|`); the partner side accepts that form and checks the hash part too.
/// PROTOCOLS.md vector: partner `085`, timestamp `1649021507` gives the hash below.
#[test]
fn response_signature_in_the_provider_form_with_its_hash_verifies() {
    const HASH: &str = "3dd7a3cd3977d6a12f3e4f9b79cb111756603f860d5ff894a4b93434e20d8833";
    let (pid, ts) = ("085", "1649021507");
    assert_eq!(sec_key::hash(pid, ts).unwrap(), HASH.as_bytes());
    let rng = SystemRandom::new();
    let public = PublicKey::from_smile_base64(&api_key()).unwrap();
    let signer = RsaRawSigner::new_for_legacy_use_only(provider_key()).unwrap();
    let sig = sec_key::sign_response_for_legacy_use_only(&signer, pid, ts, &rng).unwrap();
    // The bare form keeps working.
    sec_key::verify_response(&public, pid, ts, &sig).unwrap();
    // The provider form, also with Ruby's line breaks in the Base64 part.
    let wrapped: String = sig
        .as_bytes()
        .chunks(60)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    for good in [format!("{sig}|{HASH}"), format!("{wrapped}|{HASH}")] {
        sec_key::verify_response(&public, pid, ts, &good).unwrap_or_else(|e| panic!("{e}"));
    }
    // The hash part is checked: another hash, a truncated one, an empty one.
    let mut other = HASH.to_owned();
    other.replace_range(63.., "4");
    for bad in [
        format!("{sig}|{other}"),
        format!("{sig}|{}", &HASH[..63]),
        format!("{sig}|"),
        format!("{sig}|{}", HASH.to_uppercase()),
    ] {
        assert_eq!(
            sec_key::verify_response(&public, pid, ts, &bad)
                .unwrap_err()
                .code(),
            ErrorCode::SignatureMismatch,
            "{bad}"
        );
    }
    // Another partner's response with a correct-looking hash still fails on the signature.
    let other_sig = sec_key::sign_response_for_legacy_use_only(&signer, "086", ts, &rng).unwrap();
    assert_eq!(
        sec_key::verify_response(&public, pid, ts, &format!("{other_sig}|{HASH}"))
            .unwrap_err()
            .code(),
        ErrorCode::SignatureMismatch
    );
}
