//! Key material: loading RSA, ECDSA P-256, Ed25519 and HMAC keys from every format partners
//! and providers use, binding each key to its one algorithm, and signing and verifying.
//!
//! Keys are parsed once into [`SigningKey`] / [`VerifyingKey`]; the hot path only signs or
//! verifies. The algorithm belongs to the key: nothing here takes an algorithm from a message.

pub(crate) mod der;
mod generate;
mod hmac_secret;
pub mod jwk;
mod parse;
mod rsa_legacy;

pub use generate::{generate_ed25519, generate_p256, generate_rsa};
pub use hmac_secret::{HmacSecret, MAX_HMAC_SECRET, MIN_HMAC_SECRET};
pub use parse::{MAX_KEY_TEXT, MAX_RSA_BITS, MIN_RSA_BITS, PrivateKey, PublicKey, RsaPublicKey};
pub use rsa_legacy::{
    RsaPkcs1Decryptor, RsaRawSigner, rsa_pkcs1v15_encrypt, rsa_pkcs1v15_verify_unprefixed,
};

use crate::error::{Error, ErrorCode, Result};
use crate::rand::SecureRandom;
use crate::secret::ct_eq;
use ring::signature::{self as rs, KeyPair as _};
use std::fmt;

/// The kind of key an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// RSA, 2048 to 4096 bits.
    Rsa,
    /// ECDSA over NIST P-256.
    EcP256,
    /// Ed25519.
    Ed25519,
    /// A shared HMAC secret.
    Hmac,
}

/// Every signature and MAC algorithm the schemes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (JWT RS256, Qredo, Altalix, `rsa-v1_5-sha256`).
    RsaPkcs1Sha256,
    /// RSASSA-PKCS1-v1_5 with SHA-384 (JWT RS384).
    RsaPkcs1Sha384,
    /// RSASSA-PKCS1-v1_5 with SHA-512 (JWT RS512).
    RsaPkcs1Sha512,
    /// RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt (JWT PS256).
    RsaPssSha256,
    /// RSASSA-PSS, SHA-384, MGF1-SHA-384, 48-byte salt (JWT PS384).
    RsaPssSha384,
    /// RSASSA-PSS, SHA-512, MGF1-SHA-512, 64-byte salt (JWT PS512, `rsa-pss-sha512`).
    RsaPssSha512,
    /// ECDSA P-256 SHA-256, signature as fixed-width `r || s` (JWT ES256, `ecdsa-p256-sha256`).
    EcdsaP256Sha256,
    /// Ed25519 (JWT EdDSA, `ed25519`).
    Ed25519,
    /// HMAC-SHA-256 (JWT HS256, `hmac-sha256`).
    HmacSha256,
    /// HMAC-SHA-384 (JWT HS384).
    HmacSha384,
    /// HMAC-SHA-512 (JWT HS512).
    HmacSha512,
}

impl SignatureAlgorithm {
    /// The key type this algorithm needs.
    pub const fn key_type(self) -> KeyType {
        match self {
            Self::RsaPkcs1Sha256
            | Self::RsaPkcs1Sha384
            | Self::RsaPkcs1Sha512
            | Self::RsaPssSha256
            | Self::RsaPssSha384
            | Self::RsaPssSha512 => KeyType::Rsa,
            Self::EcdsaP256Sha256 => KeyType::EcP256,
            Self::Ed25519 => KeyType::Ed25519,
            Self::HmacSha256 | Self::HmacSha384 | Self::HmacSha512 => KeyType::Hmac,
        }
    }

    fn ring_rsa_verify(self) -> Option<&'static rs::RsaParameters> {
        Some(match self {
            Self::RsaPkcs1Sha256 => &rs::RSA_PKCS1_2048_8192_SHA256,
            Self::RsaPkcs1Sha384 => &rs::RSA_PKCS1_2048_8192_SHA384,
            Self::RsaPkcs1Sha512 => &rs::RSA_PKCS1_2048_8192_SHA512,
            Self::RsaPssSha256 => &rs::RSA_PSS_2048_8192_SHA256,
            Self::RsaPssSha384 => &rs::RSA_PSS_2048_8192_SHA384,
            Self::RsaPssSha512 => &rs::RSA_PSS_2048_8192_SHA512,
            _ => return None,
        })
    }

    fn ring_rsa_sign(self) -> Option<&'static dyn rs::RsaEncoding> {
        Some(match self {
            Self::RsaPkcs1Sha256 => &rs::RSA_PKCS1_SHA256,
            Self::RsaPkcs1Sha384 => &rs::RSA_PKCS1_SHA384,
            Self::RsaPkcs1Sha512 => &rs::RSA_PKCS1_SHA512,
            Self::RsaPssSha256 => &rs::RSA_PSS_SHA256,
            Self::RsaPssSha384 => &rs::RSA_PSS_SHA384,
            Self::RsaPssSha512 => &rs::RSA_PSS_SHA512,
            _ => return None,
        })
    }

    fn ring_hmac(self) -> Option<ring::hmac::Algorithm> {
        Some(match self {
            Self::HmacSha256 => ring::hmac::HMAC_SHA256,
            Self::HmacSha384 => ring::hmac::HMAC_SHA384,
            Self::HmacSha512 => ring::hmac::HMAC_SHA512,
            _ => return None,
        })
    }
}

fn key_mismatch(alg: SignatureAlgorithm, have: KeyType) -> Error {
    Error::new(
        ErrorCode::UnsupportedAlgorithm,
        format!(
            "algorithm {alg:?} needs a {:?} key, but the key is {have:?}",
            alg.key_type()
        ),
    )
}

/// A public key (or HMAC secret) bound to its algorithm, parsed once, ready to verify.
pub struct VerifyingKey {
    alg: SignatureAlgorithm,
    inner: VerifyInner,
}

enum VerifyInner {
    Asymmetric(rs::UnparsedPublicKey<Vec<u8>>),
    Hmac(ring::hmac::Key),
}

impl VerifyingKey {
    /// Binds a public key to `alg`; fails if the key type does not fit the algorithm.
    pub fn new(public: &PublicKey, alg: SignatureAlgorithm) -> Result<Self> {
        let have = public.key_type();
        if have != alg.key_type() {
            return Err(key_mismatch(alg, have));
        }
        let (params, bytes): (&'static dyn rs::VerificationAlgorithm, Vec<u8>) = match public {
            PublicKey::Rsa(k) => (
                alg.ring_rsa_verify()
                    .ok_or_else(|| key_mismatch(alg, have))?,
                k.pkcs1_der().to_vec(),
            ),
            PublicKey::EcP256(point) => (&rs::ECDSA_P256_SHA256_FIXED, point.to_vec()),
            PublicKey::Ed25519(pk) => (&rs::ED25519, pk.to_vec()),
        };
        Ok(Self {
            alg,
            inner: VerifyInner::Asymmetric(rs::UnparsedPublicKey::new(params, bytes)),
        })
    }

    /// Binds an HMAC secret to an HMAC algorithm.
    pub fn hmac(secret: &HmacSecret, alg: SignatureAlgorithm) -> Result<Self> {
        let h = alg
            .ring_hmac()
            .ok_or_else(|| key_mismatch(alg, KeyType::Hmac))?;
        Ok(Self {
            alg,
            inner: VerifyInner::Hmac(ring::hmac::Key::new(h, secret.expose())),
        })
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.alg
    }

    /// Verifies `signature` over `message`. A mismatch is [`ErrorCode::SignatureMismatch`].
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        let ok = match &self.inner {
            VerifyInner::Asymmetric(k) => k.verify(message, signature).is_ok(),
            // ring::hmac::verify compares in constant time.
            VerifyInner::Hmac(k) => ring::hmac::verify(k, message, signature).is_ok(),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::signature_mismatch(
                "the signature does not verify with this key",
            ))
        }
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// A private key (or HMAC secret) bound to its algorithm, parsed once, ready to sign.
pub struct SigningKey {
    alg: SignatureAlgorithm,
    public: Option<PublicKey>,
    inner: SignInner,
}

enum SignInner {
    Rsa(rs::RsaKeyPair),
    Ecdsa(rs::EcdsaKeyPair),
    Ed25519(rs::Ed25519KeyPair),
    Hmac(ring::hmac::Key),
}

impl SigningKey {
    /// Binds a private key to `alg`. `rng` is needed because ring hedges ECDSA nonces with a
    /// per-key secret drawn at load time.
    pub fn new(
        private: &PrivateKey,
        alg: SignatureAlgorithm,
        rng: &dyn SecureRandom,
    ) -> Result<Self> {
        let have = private.key_type();
        if have != alg.key_type() {
            return Err(key_mismatch(alg, have));
        }
        let inner = private.to_ring(alg, rng)?;
        Ok(Self {
            alg,
            public: Some(private.public_key()),
            inner,
        })
    }

    /// Binds an HMAC secret to an HMAC algorithm.
    pub fn hmac(secret: &HmacSecret, alg: SignatureAlgorithm) -> Result<Self> {
        let h = alg
            .ring_hmac()
            .ok_or_else(|| key_mismatch(alg, KeyType::Hmac))?;
        Ok(Self {
            alg,
            public: None,
            inner: SignInner::Hmac(ring::hmac::Key::new(h, secret.expose())),
        })
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.alg
    }

    /// The public half (None for HMAC).
    pub fn public_key(&self) -> Option<&PublicKey> {
        self.public.as_ref()
    }

    /// Signs `message`. `rng` feeds RSA-PSS salts and ECDSA nonces; deterministic
    /// algorithms (PKCS#1 v1.5, Ed25519, HMAC) ignore it.
    pub fn sign(&self, message: &[u8], rng: &dyn SecureRandom) -> Result<Vec<u8>> {
        let fail = || Error::new(ErrorCode::Internal, "signing failed in the crypto backend");
        match &self.inner {
            SignInner::Rsa(kp) => {
                let enc = self.alg.ring_rsa_sign().ok_or_else(fail)?;
                let mut sig = vec![0u8; kp.public().modulus_len()];
                kp.sign(enc, rng, message, &mut sig).map_err(|_| fail())?;
                Ok(sig)
            }
            SignInner::Ecdsa(kp) => {
                Ok(kp.sign(rng, message).map_err(|_| fail())?.as_ref().to_vec())
            }
            SignInner::Ed25519(kp) => Ok(kp.sign(message).as_ref().to_vec()),
            SignInner::Hmac(k) => Ok(ring::hmac::sign(k, message).as_ref().to_vec()),
        }
    }

    /// Signs and checks in constant time that `expected` equals the MAC (HMAC keys only);
    /// other keys report [`ErrorCode::UnsupportedAlgorithm`].
    pub fn verify_mac(&self, message: &[u8], expected: &[u8]) -> Result<()> {
        match &self.inner {
            SignInner::Hmac(k) => {
                let tag = ring::hmac::sign(k, message);
                if ct_eq(tag.as_ref(), expected) {
                    Ok(())
                } else {
                    Err(Error::signature_mismatch("the MAC does not match"))
                }
            }
            _ => Err(Error::new(
                ErrorCode::UnsupportedAlgorithm,
                "verify_mac needs an HMAC key; use VerifyingKey for public-key signatures",
            )),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl PrivateKey {
    fn to_ring(&self, alg: SignatureAlgorithm, rng: &dyn SecureRandom) -> Result<SignInner> {
        let rejected = |e: ring::error::KeyRejected| {
            Error::invalid_key(format!("the crypto backend rejected the key: {e}"))
        };
        Ok(match self.material() {
            parse::PrivateMaterial::Rsa { pkcs1, .. } => {
                SignInner::Rsa(rs::RsaKeyPair::from_der(pkcs1.expose()).map_err(rejected)?)
            }
            parse::PrivateMaterial::EcP256 { scalar, public } => {
                let _ = alg;
                SignInner::Ecdsa(
                    rs::EcdsaKeyPair::from_private_key_and_public_key(
                        &rs::ECDSA_P256_SHA256_FIXED_SIGNING,
                        scalar.expose(),
                        public,
                        rng,
                    )
                    .map_err(rejected)?,
                )
            }
            parse::PrivateMaterial::Ed25519 { seed, public } => {
                let kp = rs::Ed25519KeyPair::from_seed_and_public_key(seed.expose(), public)
                    .map_err(rejected)?;
                debug_assert_eq!(kp.public_key().as_ref(), public);
                SignInner::Ed25519(kp)
            }
        })
    }
}
