//! Key loading across formats: the RFC 9421 test keys (including an `rsassaPss` PKCS#8), CRLF
//! and whitespace, the Smile Base64-of-PEM form, HMAC secrets, round trips, and typed errors for
//! everything malformed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::ErrorCode;
use auth_core::keys::{self, HmacSecret, KeyType, PrivateKey, PublicKey};
use auth_core::rand::SystemRandom;
use proptest::prelude::*;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testvectors/rfc9421/keys/"
);

fn vector(name: &str) -> String {
    std::fs::read_to_string(format!("{DIR}{name}")).unwrap()
}

#[test]
fn rfc9421_test_keys_load_and_match() {
    // B.1.1's RSA key has unbalanced primes (1088 and 960 bits); ring signs only with
    // balanced two-prime keys, so it is refused as a private key with a clear message and
    // used as a public key only (B.2 verifies with public keys).
    let err = PrivateKey::from_pem(&vector("test-key-rsa.pem")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidKey);
    assert!(err.message().contains("primes of equal size"), "{err}");
    assert_eq!(
        PublicKey::from_pem(&vector("test-key-rsa.pub.pem"))
            .unwrap()
            .key_type(),
        KeyType::Rsa
    );
    for (private, public, kind) in [
        (
            "test-key-rsa-pss.pem",
            "test-key-rsa-pss.pub.pem",
            KeyType::Rsa,
        ),
        (
            "test-key-ecc-p256.pem",
            "test-key-ecc-p256.pub.pem",
            KeyType::EcP256,
        ),
        (
            "test-key-ed25519.pem",
            "test-key-ed25519.pub.pem",
            KeyType::Ed25519,
        ),
    ] {
        let sk = PrivateKey::from_pem(&vector(private)).unwrap();
        let pk = PublicKey::from_pem(&vector(public)).unwrap();
        assert_eq!(sk.key_type(), kind);
        assert_eq!(sk.public_key(), pk, "{private}");
    }
    let secret = HmacSecret::from_base64(&vector("test-shared-secret.txt")).unwrap();
    assert_eq!(secret.expose().len(), 64);
}

#[test]
fn crlf_and_surrounding_whitespace_are_tolerated() {
    let pem = vector("test-key-rsa-pss.pem");
    let crlf = format!("\r\n  {}\r\n\r\n", pem.replace('\n', "\r\n"));
    let a = PrivateKey::from_pem(&pem).unwrap().public_key();
    let b = PrivateKey::from_pem(&crlf).unwrap().public_key();
    assert_eq!(a, b);
}

#[test]
fn smile_form_round_trips() {
    let pk = PublicKey::from_pem(&vector("test-key-rsa-pss.pub.pem")).unwrap();
    let smile = pk.to_smile_base64();
    assert_eq!(PublicKey::from_smile_base64(&smile).unwrap(), pk);
    // Ruby inserts a newline every 60 characters.
    let wrapped: String = smile
        .as_bytes()
        .chunks(60)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    assert_eq!(PublicKey::from_smile_base64(&wrapped).unwrap(), pk);
    assert_eq!(
        PublicKey::from_smile_base64("bm90IGEga2V5")
            .unwrap_err()
            .code(),
        ErrorCode::InvalidKey
    );
}

#[test]
fn private_keys_round_trip_through_every_output_form() {
    let rng = SystemRandom::new();
    for key in [
        PrivateKey::from_pem(&vector("test-key-rsa-pss.pem")).unwrap(),
        PrivateKey::from_pem(&vector("test-key-ecc-p256.pem")).unwrap(),
        keys::generate_ed25519(&rng).unwrap(),
    ] {
        let pk = key.public_key();
        let from8 = PrivateKey::from_pem(std::str::from_utf8(key.to_pkcs8_pem().expose()).unwrap())
            .unwrap();
        let fromt =
            PrivateKey::from_pem(std::str::from_utf8(key.to_traditional_pem().expose()).unwrap())
                .unwrap();
        let fromder = PrivateKey::from_der(key.to_pkcs8_der().expose()).unwrap();
        assert_eq!(from8.public_key(), pk);
        assert_eq!(fromt.public_key(), pk);
        assert_eq!(fromder.public_key(), pk);
        assert_eq!(PublicKey::from_der(&pk.to_spki_der()).unwrap(), pk);
        assert_eq!(PublicKey::from_jwk(&pk.to_jwk()).unwrap(), pk);
        assert!(format!("{key:?}").contains("redacted"));
    }
}

#[test]
fn malformed_inputs_get_typed_errors() {
    let rsa_pub = vector("test-key-rsa.pub.pem");
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "empty"),
        (
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into(),
            "garbage DER",
        ),
        (
            "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n".into(),
            "bad base64",
        ),
        (
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
                .into(),
            "encrypted",
        ),
        (rsa_pub.clone(), "public key given as private"),
        (
            format!(
                "{}{}",
                vector("test-key-rsa-pss.pem"),
                vector("test-key-rsa-pss.pem")
            ),
            "two keys",
        ),
        ("x".repeat(20_000), "too large"),
    ];
    for (text, what) in cases {
        let err = PrivateKey::from_pem(&text).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidKey, "{what}: {err}");
    }
    // A truncated DER key fails cleanly at every cut.
    let der = PrivateKey::from_pem(&vector("test-key-rsa-pss.pem"))
        .unwrap()
        .to_pkcs8_der();
    for cut in 0..der.len() {
        assert!(
            PrivateKey::from_der(&der.expose()[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let spki = PublicKey::from_pem(&rsa_pub).unwrap().to_spki_der();
    for cut in 0..spki.len() {
        assert!(PublicKey::from_der(&spki[..cut]).is_err(), "cut at {cut}");
    }
    assert!(HmacSecret::from_bytes(b"short").is_err());
    assert!(HmacSecret::from_base64url("not base64url!").is_err());
    assert!(keys::generate_rsa(1024, &SystemRandom::new()).is_err());
    assert!(keys::generate_rsa(5000, &SystemRandom::new()).is_err());
}

#[test]
fn algorithm_is_bound_to_key_type() {
    use auth_core::keys::{SignatureAlgorithm, SigningKey, VerifyingKey};
    let rng = SystemRandom::new();
    let ed = keys::generate_ed25519(&rng).unwrap();
    assert_eq!(
        SigningKey::new(&ed, SignatureAlgorithm::RsaPkcs1Sha256, &rng)
            .unwrap_err()
            .code(),
        ErrorCode::UnsupportedAlgorithm
    );
    assert_eq!(
        VerifyingKey::new(&ed.public_key(), SignatureAlgorithm::EcdsaP256Sha256)
            .unwrap_err()
            .code(),
        ErrorCode::UnsupportedAlgorithm
    );
    let secret = HmacSecret::from_bytes(&[7u8; 32]).unwrap();
    assert!(VerifyingKey::hmac(&secret, SignatureAlgorithm::Ed25519).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary bytes never panic any loader.
    #[test]
    fn loaders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = PrivateKey::from_der(&data);
        let _ = PublicKey::from_der(&data);
        let text = String::from_utf8_lossy(&data);
        let _ = PrivateKey::from_pem(&text);
        let _ = PublicKey::from_pem(&text);
        let _ = PublicKey::from_smile_base64(&text);
        let _ = HmacSecret::from_base64(&text);
    }

    /// Flipping any byte of an SPKI either fails or yields a different key, never a panic.
    #[test]
    fn spki_bitflips_are_safe(pos in 0usize..294, bit in 0u8..8) {
        let spki = PublicKey::from_pem(&vector("test-key-rsa-pss.pub.pem")).unwrap().to_spki_der();
        let mut bad = spki.clone();
        let pos = pos % bad.len();
        bad[pos] ^= 1 << bit;
        let _ = PublicKey::from_der(&bad);
    }
}

/// Issue #9 finding 14: a JWK is a JSON object (RFC 7517 section 4); serde would also read
/// an array of the members in declaration order.
#[test]
fn jwk_must_be_a_json_object() {
    let key = keys::generate_ed25519(&SystemRandom::new())
        .unwrap()
        .public_key();
    let jwk = key.to_jwk();
    let x = jwk.x.clone().unwrap();
    keys::jwk::Jwk::from_json(&jwk.to_json()).unwrap();
    for bad in [
        format!(r#"["OKP","Ed25519",null,null,"{x}",null,null,null]"#),
        format!(r#" ["OKP","Ed25519",null,null,"{x}",null,null,null,null]"#),
    ] {
        assert_eq!(
            keys::jwk::Jwk::from_json(&bad).unwrap_err().code(),
            ErrorCode::Malformed,
            "{bad}"
        );
    }
}
