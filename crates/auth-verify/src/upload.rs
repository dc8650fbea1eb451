//! Uploaded public keys: SPKI PEM, PKCS#1 `RSA PUBLIC KEY` PEM or a public JWK, bound to
//! the algorithm the caller names and normalised to a [`PublicKeyRecord`] (SPKI DER plus
//! RFC 7638 thumbprint). Parsing is auth-core's; this module adds the upload's rules and
//! errors that tell a partner what to do.

use crate::store::PublicKeyRecord;
use auth_core::keys::jwk::Jwk;
use auth_core::keys::{KeyType, MIN_RSA_BITS, PublicKey, SignatureAlgorithm};
use auth_core::scheme::jwt::Algorithm as JwsAlgorithm;
use auth_core::scheme::rfc9421;

/// Largest upload accepted (a 4096-bit RSA key is about 800 bytes of PEM).
pub const MAX_UPLOAD: usize = 16 * 1024;

/// Why an uploaded key was refused. Each message says what to send instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    /// More than [`MAX_UPLOAD`] bytes.
    #[error("the key is larger than {MAX_UPLOAD} bytes; upload one public key in PEM or JWK form")]
    TooLarge,
    /// A private key was sent. It is not echoed or kept.
    #[error(
        "this is a private key; upload only the public half: `openssl pkey -in key.pem -pubout`"
    )]
    PrivateKey,
    /// Not a PEM public key or a JWK.
    #[error("the key cannot be read: {0}")]
    Malformed(String),
    /// RSA below the minimum size.
    #[error("the RSA key has {bits} bits; at least {MIN_RSA_BITS} are required")]
    WeakRsa {
        /// Its modulus size.
        bits: usize,
    },
    /// The algorithm name is not one we verify with a public key.
    #[error(
        "unknown public-key algorithm {0:?}; use an RFC 9421 name (ed25519, rsa-v1_5-sha256, \
         rsa-pss-sha512, ecdsa-p256-sha256) or a JOSE name (RS256, PS256, ES256, EdDSA, ...)"
    )]
    UnknownAlgorithm(String),
    /// The key's type does not fit the algorithm.
    #[error("the algorithm {algorithm} needs {needs} key, but this is {have} key")]
    AlgorithmMismatch {
        /// The algorithm named.
        algorithm: String,
        /// The key type it needs.
        needs: &'static str,
        /// The key type uploaded.
        have: &'static str,
    },
}

/// The signature algorithm an RFC 9421 or JOSE name stands for; HMAC names are refused (a
/// shared secret is not an uploaded public key).
pub fn public_key_algorithm(name: &str) -> Result<SignatureAlgorithm, UploadError> {
    let alg = rfc9421::algorithm_from_name(name)
        .ok()
        .or_else(|| JwsAlgorithm::from_name(name).map(JwsAlgorithm::signature_algorithm))
        .ok_or_else(|| UploadError::UnknownAlgorithm(name.chars().take(40).collect()))?;
    if alg.key_type() == KeyType::Hmac {
        return Err(UploadError::UnknownAlgorithm(name.to_owned()));
    }
    Ok(alg)
}

fn type_name(key_type: KeyType) -> &'static str {
    match key_type {
        KeyType::Rsa => "an RSA",
        KeyType::EcP256 => "an EC P-256",
        KeyType::Ed25519 => "an Ed25519",
        KeyType::Hmac => "an HMAC",
    }
}

/// Parses an uploaded public key for `algorithm` (kept as given, so listings show the
/// caller's name).
pub fn parse_public_key(input: &str, algorithm: &str) -> Result<PublicKeyRecord, UploadError> {
    if input.len() > MAX_UPLOAD {
        return Err(UploadError::TooLarge);
    }
    let alg = public_key_algorithm(algorithm)?;
    let text = input.trim();
    let key = if text.starts_with('{') {
        parse_jwk(text)?
    } else if text.contains("-----BEGIN") {
        if text.contains("PRIVATE KEY-----") {
            return Err(UploadError::PrivateKey);
        }
        PublicKey::from_pem(text).map_err(|e| core_error(&e))?
    } else {
        return Err(UploadError::Malformed(
            "expected a PEM block (-----BEGIN PUBLIC KEY-----) or a JWK (a JSON object)".into(),
        ));
    };
    if key.key_type() != alg.key_type() {
        return Err(UploadError::AlgorithmMismatch {
            algorithm: algorithm.to_owned(),
            needs: type_name(alg.key_type()),
            have: type_name(key.key_type()),
        });
    }
    Ok(PublicKeyRecord {
        algorithm: algorithm.to_owned(),
        spki_der: key.to_spki_der(),
        fingerprint: key.jwk_thumbprint(),
    })
}

/// A private JWK is recognised by any private member, before auth-core parses it.
fn parse_jwk(text: &str) -> Result<PublicKey, UploadError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| UploadError::Malformed("the JWK is not valid JSON".into()))?;
    let object = value
        .as_object()
        .ok_or_else(|| UploadError::Malformed("a JWK is a JSON object".into()))?;
    if ["d", "p", "q", "dp", "dq", "qi", "k"]
        .iter()
        .any(|m| object.contains_key(*m))
    {
        return Err(UploadError::PrivateKey);
    }
    let jwk = Jwk::from_json(text).map_err(|e| core_error(&e))?;
    PublicKey::from_jwk(&jwk).map_err(|e| core_error(&e))
}

/// auth-core's error as an upload error; its messages never contain key bytes. A short RSA
/// modulus gets its own variant with the size.
fn core_error(error: &auth_core::Error) -> UploadError {
    let message = error.message();
    if let Some(bits) = message
        .strip_prefix("RSA key has ")
        .and_then(|rest| rest.split_once(" bits; at least"))
        .and_then(|(bits, _)| bits.parse().ok())
    {
        return UploadError::WeakRsa { bits };
    }
    UploadError::Malformed(message.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rfc7638_example() {
        // RFC 7638 section 3.1.
        let jwk = r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#;
        let record = parse_public_key(jwk, "RS256").unwrap();
        assert_eq!(
            record.fingerprint,
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert_eq!(record.algorithm, "RS256");
        assert_eq!(
            parse_public_key(jwk, "ed25519").unwrap_err(),
            UploadError::AlgorithmMismatch {
                algorithm: "ed25519".into(),
                needs: "an Ed25519",
                have: "an RSA"
            }
        );
    }

    #[test]
    fn refusals() {
        let ed =
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        assert!(parse_public_key(ed, "EdDSA").is_ok());
        let private = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}"#;
        let err = parse_public_key(private, "ed25519").unwrap_err();
        assert_eq!(err, UploadError::PrivateKey);
        assert!(!err.to_string().contains("nWGxne"));
        assert_eq!(
            parse_public_key(ed, "HS256").unwrap_err(),
            UploadError::UnknownAlgorithm("HS256".into())
        );
        assert!(matches!(
            parse_public_key(ed, "none").unwrap_err(),
            UploadError::UnknownAlgorithm(_)
        ));
        assert_eq!(
            parse_public_key(&" ".repeat(MAX_UPLOAD + 1), "ed25519").unwrap_err(),
            UploadError::TooLarge
        );
        for junk in [
            "",
            "hello",
            "{",
            "[1]",
            "-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----",
        ] {
            assert!(
                matches!(
                    parse_public_key(junk, "ed25519"),
                    Err(UploadError::Malformed(_))
                ),
                "{junk:?}"
            );
        }
    }
}
