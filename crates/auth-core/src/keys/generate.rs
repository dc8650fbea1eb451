//! Key generation from an injected random generator. RSA uses RustCrypto `rsa` (ring cannot
//! generate RSA keys, and aws-lc-rs would draw from its own generator, not ours); the result
//! is immediately re-parsed and validated by ring like any loaded key.

use super::PrivateKey;
use super::parse::{MAX_RSA_BITS, MIN_RSA_BITS};
use crate::error::{Error, ErrorCode, Result};
use crate::rand::{RandCoreBridge, SecureRandom, bytes};
use rsa::pkcs1::EncodeRsaPrivateKey as _;

/// A new RSA key of `bits` (2048, 3072 or 4096).
pub fn generate_rsa(bits: usize, rng: &dyn SecureRandom) -> Result<PrivateKey> {
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) || !bits.is_multiple_of(1024) {
        return Err(Error::invalid_key(format!(
            "RSA key size {bits} is not supported; use 2048, 3072 or 4096"
        )));
    }
    let mut bridge = RandCoreBridge(rng);
    let key = rsa::PrivateKey::new(&mut bridge, bits).map_err(|e| {
        Error::new(
            ErrorCode::Internal,
            format!("RSA key generation failed: {e}"),
        )
    })?;
    let der = key
        .to_pkcs1_der()
        .map_err(|e| Error::new(ErrorCode::Internal, format!("RSA key encoding failed: {e}")))?;
    PrivateKey::from_pkcs1_der(der.as_bytes())
}

/// A new Ed25519 key.
pub fn generate_ed25519(rng: &dyn SecureRandom) -> Result<PrivateKey> {
    let seed = zeroize::Zeroizing::new(bytes::<32>(rng)?);
    PrivateKey::ed25519_from_seed(&seed[..])
}

/// A new ECDSA P-256 key.
pub fn generate_p256(rng: &dyn SecureRandom) -> Result<PrivateKey> {
    let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        rng,
    )
    .map_err(|_| Error::new(ErrorCode::Internal, "P-256 key generation failed"))?;
    PrivateKey::from_pkcs8_der(pkcs8.as_ref())
}
