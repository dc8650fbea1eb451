//! Raw RSA operations that only the legacy Smile `sec_key` needs and ring cannot do: PKCS#1
//! v1.5 encryption and decryption, and the unprefixed ("type 1", no DigestInfo) PKCS#1 v1.5
//! signature. Each direction uses the backend whose risk fits it:
//!
//! - decryption (private key, attacker-chosen ciphertext: the Bleichenbacher/Marvin surface):
//!   aws-lc-rs `Pkcs1PrivateDecryptingKey`. The private-key operation is blinded, but AWS-LC's
//!   PKCS#1 v1.5 unpadding is **not** constant time end to end: it computes validity with
//!   constant-time masks, then branches on it (an early error return for bad padding, a copy of
//!   the message for good padding; `crypto/rsa_extra/rsa_crypt.c`,
//!   `rsa_padding_check_PKCS1_type_2`), so a timing difference between valid and invalid padding
//!   remains. Neither AWS-LC's implicit rejection (it has none) nor a raw private-key operation
//!   is reachable through aws-lc-rs's safe API. On our side the caller gets only one
//!   "matches / does not match" [`Choice`] ([`RsaPkcs1Decryptor::decrypt_matches`]), with one
//!   error for every failure;
//! - encryption (public key): RustCrypto `rsa`, because it takes our injected RNG (aws-lc-rs
//!   would draw padding from its own generator); public-key operations are not affected by
//!   RUSTSEC-2023-0071;
//! - unprefixed signing (private key): RustCrypto `rsa` with RSA blinding from our RNG; neither
//!   ring nor aws-lc-rs offers this operation (see [`RsaRawSigner`]). This is a private-key
//!   operation in the crate that RUSTSEC-2023-0071 names;
//! - unprefixed verification (public key): RustCrypto `rsa`.
//!
//! The residual risk and the mitigations are in docs/protocols.md ("sec_key security").

use super::{PrivateKey, PublicKey, RsaPublicKey};
use crate::error::{Error, ErrorCode, Result};
use crate::rand::{RandCoreBridge, SecureRandom};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, DecodeRsaPublicKey as _};
use std::fmt;
use subtle::{Choice, ConstantTimeEq};

fn rsa_only(public: &PublicKey) -> Result<&RsaPublicKey> {
    match public {
        PublicKey::Rsa(k) => Ok(k),
        _ => Err(Error::invalid_key("this operation needs an RSA key")),
    }
}

fn to_rustcrypto_public(public: &PublicKey) -> Result<rsa::PublicKey> {
    rsa::PublicKey::from_pkcs1_der(rsa_only(public)?.pkcs1_der())
        .map_err(|e| Error::invalid_key(format!("RSA public key rejected: {e}")))
}

/// RSAES-PKCS1-v1_5 encryption with `public`, padding drawn from `rng`.
pub fn rsa_pkcs1v15_encrypt(
    public: &PublicKey,
    message: &[u8],
    rng: &dyn SecureRandom,
) -> Result<Vec<u8>> {
    let key = to_rustcrypto_public(public)?;
    key.encrypt(&mut RandCoreBridge(rng), rsa::Pkcs1v15Encrypt, message)
        .map_err(|e| Error::new(ErrorCode::Internal, format!("RSA encryption failed: {e}")))
}

/// Verifies an unprefixed PKCS#1 v1.5 type-1 signature: `sig^e mod n` must be
/// `00 01 FF..FF 00 || message` (a public-key operation).
pub fn rsa_pkcs1v15_verify_unprefixed(
    public: &PublicKey,
    message: &[u8],
    signature: &[u8],
) -> Result<()> {
    let key = to_rustcrypto_public(public)?;
    key.verify(rsa::Pkcs1v15Sign::new_unprefixed(), message, signature)
        .map_err(|_| Error::signature_mismatch("the RSA signature does not verify"))
}

/// An RSA private key prepared for PKCS#1 v1.5 decryption (aws-lc-rs; its unpadding branches on
/// the padding result, see the module documentation).
pub struct RsaPkcs1Decryptor {
    key: aws_lc_rs::rsa::Pkcs1PrivateDecryptingKey,
    size: usize,
}

impl fmt::Debug for RsaPkcs1Decryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPkcs1Decryptor({} bytes, [redacted])", self.size)
    }
}

/// Largest plaintext compared by [`RsaPkcs1Decryptor::decrypt_matches`].
const MAX_EXPECTED: usize = 128;

impl RsaPkcs1Decryptor {
    /// From an RSA private key.
    pub fn new(private: &PrivateKey) -> Result<Self> {
        if private.key_type() != super::KeyType::Rsa {
            return Err(Error::invalid_key("decryption needs an RSA private key"));
        }
        let pkcs8 = private.to_pkcs8_der();
        let key = aws_lc_rs::rsa::PrivateDecryptingKey::from_pkcs8(pkcs8.expose())
            .map_err(|e| Error::invalid_key(format!("RSA key rejected by aws-lc-rs: {e}")))?;
        let size = key.key_size_bytes();
        let key = aws_lc_rs::rsa::Pkcs1PrivateDecryptingKey::new(key)
            .map_err(|_| Error::invalid_key("RSA key rejected by aws-lc-rs"))?;
        Ok(Self { key, size })
    }

    /// The modulus length in bytes (every ciphertext has exactly this length).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Decrypts `ciphertext` and compares the plaintext with `expected` (at most 128 bytes),
    /// returning one [`Choice`]: a bad length, bad padding, a wrong plaintext or a wrong
    /// plaintext length all give the same answer, and this function does one private-key
    /// operation and the same comparisons whichever it was. Inside aws-lc-rs, bad padding takes
    /// an early error path that good padding does not, so the total time is not guaranteed
    /// independent of padding validity.
    pub fn decrypt_matches(&self, ciphertext: &[u8], expected: &[u8]) -> Choice {
        let mut out = zeroize::Zeroizing::new([0u8; 1024]);
        let len_ok = Choice::from(u8::from(
            ciphertext.len() == self.size && expected.len() <= MAX_EXPECTED,
        ));
        // A wrong-length ciphertext still runs a decryption, of a fixed dummy block, so the
        // time taken does not tell a length error from a padding error.
        // Not all zero: aws-lc-rs returns at once for a zero ciphertext. A leading zero byte
        // keeps it below the modulus, so the full private-key operation runs.
        let mut dummy = [0x5au8; 512];
        dummy[0] = 0;
        let input = if ciphertext.len() == self.size {
            ciphertext
        } else {
            &dummy[..self.size.min(dummy.len())]
        };
        let (decrypted_ok, n) = match self.key.decrypt(input, &mut out[..]) {
            Ok(p) => (1u8, p.len()),
            Err(_) => (0u8, 0),
        };
        let mut padded = [0u8; MAX_EXPECTED];
        let e = expected.len().min(MAX_EXPECTED);
        padded[..e].copy_from_slice(&expected[..e]);
        let same_len = (n as u64).ct_eq(&(expected.len() as u64));
        let same_bytes = out[..MAX_EXPECTED].ct_eq(&padded[..]);
        len_ok & Choice::from(decrypted_ok) & same_len & same_bytes
    }
}

/// An RSA private key for unprefixed PKCS#1 v1.5 signatures, which only the legacy `sec_key`
/// response signature uses.
///
/// Risk, stated plainly: this is a private-key operation in RustCrypto `rsa`, which has the
/// RUSTSEC-2023-0071 (Marvin) timing advisory with no patched release listed. Mitigations here:
/// RSA blinding from the injected RNG on every signature, and the input is not attacker-chosen
/// ciphertext but the padded SHA-256 hex digest of the provider's own `partner_id:timestamp`.
/// Prefer the HMAC "Signature" method.
pub struct RsaRawSigner {
    key: rsa::PrivateKey,
}

impl fmt::Debug for RsaRawSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RsaRawSigner([redacted])")
    }
}

impl RsaRawSigner {
    /// From an RSA private key; the name says where it belongs.
    pub fn new_for_legacy_use_only(private: &PrivateKey) -> Result<Self> {
        let super::parse::PrivateMaterial::Rsa { pkcs1, .. } = private.material() else {
            return Err(Error::invalid_key(
                "unprefixed signing needs an RSA private key",
            ));
        };
        let key = rsa::PrivateKey::from_pkcs1_der(pkcs1.expose())
            .map_err(|e| Error::invalid_key(format!("RSA private key rejected: {e}")))?;
        Ok(Self { key })
    }

    /// `(00 01 FF..FF 00 || message)^d mod n`, blinded with `rng`.
    pub fn sign_unprefixed_for_legacy_use_only(
        &self,
        message: &[u8],
        rng: &dyn SecureRandom,
    ) -> Result<Vec<u8>> {
        self.key
            .sign_with_rng(
                &mut RandCoreBridge(rng),
                rsa::Pkcs1v15Sign::new_unprefixed(),
                message,
            )
            .map_err(|e| Error::new(ErrorCode::Internal, format!("RSA signing failed: {e}")))
    }
}
