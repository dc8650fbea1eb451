//! Ed25519 key text form of the trust chain: `"0"` followed by standard Base64 of the 32 raw
//! bytes (the public key, or the private key's seed), and conversion to the key module's
//! types (and from there to PKCS#8 / SPKI).

use crate::encoding::{b64_decode, b64_encode};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::{PrivateKey, PublicKey, SignatureAlgorithm, SigningKey, VerifyingKey};
use crate::rand::SecureRandom;
use std::fmt;
use std::str::FromStr;
use zeroize::Zeroizing;

/// Length of a key's text form: `"0"` + 44 Base64 characters.
pub const KEY_TEXT_LEN: usize = 45;

/// The version prefix of the text form (the only one there is).
const PREFIX: char = '0';

fn decode_key_text(text: &str, what: &'static str) -> Result<[u8; 32]> {
    if text.len() != KEY_TEXT_LEN {
        return Err(Error::invalid_key(format!(
            "{what} text is {KEY_TEXT_LEN} characters (\"0\" + Base64 of 32 bytes), got {}",
            text.len()
        )));
    }
    let body = text.strip_prefix(PREFIX).ok_or_else(|| {
        Error::invalid_key(format!(
            "{what} text must start with \"0\" (format version)"
        ))
    })?;
    let raw = b64_decode(body, what)?;
    <[u8; 32]>::try_from(raw.as_slice())
        .map_err(|_| Error::invalid_key(format!("{what} must decode to 32 bytes")))
}

fn encode_key_text(raw: &[u8]) -> String {
    let mut out = String::with_capacity(KEY_TEXT_LEN);
    out.push(PREFIX);
    out.push_str(&b64_encode(raw));
    out
}

/// An Ed25519 public key in the trust chain (developer key, authority key, admin user key).
/// `Display` / `FromStr` use the text form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AxPublicKey([u8; 32]);

impl AxPublicKey {
    /// From the 32 raw bytes. Any 32 bytes are accepted here; a bytes that are not a curve
    /// point fail at verification with [`ErrorCode::SignatureMismatch`].
    pub const fn from_bytes(raw: [u8; 32]) -> Self {
        Self(raw)
    }

    /// The 32 raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// From the text form `"0" + Base64(32 bytes)`; anything else is [`ErrorCode::InvalidKey`].
    pub fn from_text(text: &str) -> Result<Self> {
        decode_key_text(text, "Ed25519 public key").map(Self)
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        encode_key_text(&self.0)
    }

    /// From a key-module public key; only Ed25519 keys qualify.
    pub fn from_public_key(key: &PublicKey) -> Result<Self> {
        match key {
            PublicKey::Ed25519(raw) => Ok(Self(*raw)),
            _ => Err(Error::new(
                ErrorCode::UnsupportedAlgorithm,
                "the app trust chain uses Ed25519 keys only",
            )),
        }
    }

    /// As a key-module public key (for SPKI / PEM / JWK output).
    pub fn to_public_key(&self) -> PublicKey {
        PublicKey::Ed25519(self.0)
    }

    /// A verifying key for Ed25519 signatures by this key.
    pub fn verifying_key(&self) -> Result<VerifyingKey> {
        VerifyingKey::new(&self.to_public_key(), SignatureAlgorithm::Ed25519)
    }
}

impl fmt::Display for AxPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl fmt::Debug for AxPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AxPublicKey({})", self.to_text())
    }
}

impl FromStr for AxPublicKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::from_text(s)
    }
}

/// Parses a private key from its text form (`"0"` + Base64 of the 32-byte seed).
/// Convert to PKCS#8 with [`PrivateKey::to_pkcs8_pem`].
pub fn private_key_from_text(text: &str) -> Result<PrivateKey> {
    let seed = Zeroizing::new(decode_key_text(text, "Ed25519 private key")?);
    PrivateKey::ed25519_from_seed(seed.as_slice())
}

/// The text form of an Ed25519 private key (wiped on drop). Other key types are
/// [`ErrorCode::UnsupportedAlgorithm`].
pub fn private_key_to_text(key: &PrivateKey) -> Result<Zeroizing<String>> {
    let seed = key.ed25519_seed().ok_or_else(|| {
        Error::new(
            ErrorCode::UnsupportedAlgorithm,
            "the app trust chain uses Ed25519 keys only",
        )
    })?;
    Ok(Zeroizing::new(encode_key_text(seed)))
}

/// A ready Ed25519 signing key from the private key text form.
pub fn signing_key_from_text(text: &str, rng: &dyn SecureRandom) -> Result<SigningKey> {
    SigningKey::new(
        &private_key_from_text(text)?,
        SignatureAlgorithm::Ed25519,
        rng,
    )
}

/// Checks that a signing key is Ed25519 and returns its public key.
pub(crate) fn ed25519_signer(key: &SigningKey, role: &str) -> Result<AxPublicKey> {
    match (key.algorithm(), key.public_key()) {
        (SignatureAlgorithm::Ed25519, Some(public)) => AxPublicKey::from_public_key(public),
        _ => Err(Error::new(
            ErrorCode::UnsupportedAlgorithm,
            format!("the {role} key must be an Ed25519 signing key"),
        )),
    }
}

/// An authority's public key, parsed once: what certificates and licenses are verified against.
/// A provider runs its own authority; nothing here is tied to one vendor's key.
#[derive(Debug)]
pub struct AuthorityKey {
    public: AxPublicKey,
    key: VerifyingKey,
}

impl AuthorityKey {
    /// From the public key.
    pub fn new(public: AxPublicKey) -> Result<Self> {
        Ok(Self {
            public,
            key: public.verifying_key()?,
        })
    }

    /// From the text form.
    pub fn from_text(text: &str) -> Result<Self> {
        Self::new(AxPublicKey::from_text(text)?)
    }

    /// The public key.
    pub fn public(&self) -> &AxPublicKey {
        &self.public
    }

    /// Verifies an authority signature over `message`.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        self.key.verify(message, signature)
    }
}

/// Signs `message` with an Ed25519 key, as the fixed-size signature.
pub(crate) fn sign_ed25519(
    key: &SigningKey,
    message: &[u8],
    rng: &dyn SecureRandom,
) -> Result<[u8; 64]> {
    let sig = key.sign(message, rng)?;
    <[u8; 64]>::try_from(sig.as_slice())
        .map_err(|_| Error::new(ErrorCode::Internal, "Ed25519 signature is not 64 bytes"))
}

/// Decodes a Base64 Ed25519 signature (64 bytes).
pub(crate) fn decode_signature(text: &str, what: &'static str) -> Result<[u8; 64]> {
    if text.len() > 100 {
        return Err(Error::malformed(format!(
            "{what} is too long for an Ed25519 signature"
        )));
    }
    let raw = b64_decode(text, what)?;
    <[u8; 64]>::try_from(raw.as_slice())
        .map_err(|_| Error::malformed(format!("{what} must decode to 64 bytes")))
}
