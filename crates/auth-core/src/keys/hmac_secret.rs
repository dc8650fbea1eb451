//! Shared HMAC secrets, loaded from raw bytes, standard Base64 or Base64url.

use crate::encoding::{b64_decode_lenient, b64url_decode};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use std::fmt;

/// Smallest accepted HMAC secret (RFC 7518 requires a key at least as long as the hash for
/// HS256; shorter secrets from legacy partners must be padded by them, not accepted here).
pub const MIN_HMAC_SECRET: usize = 16;
/// Largest accepted HMAC secret.
pub const MAX_HMAC_SECRET: usize = 1024;

/// An HMAC secret: wiped on drop, `[redacted]` in Debug, no `Clone`.
pub struct HmacSecret(SecretBytes);

impl HmacSecret {
    /// From raw bytes (for example the UTF-8 bytes of a partner's secret string).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < MIN_HMAC_SECRET {
            return Err(Error::invalid_key(format!(
                "HMAC secret has {} bytes; at least {MIN_HMAC_SECRET} are required",
                bytes.len()
            )));
        }
        if bytes.len() > MAX_HMAC_SECRET {
            return Err(Error::invalid_key("HMAC secret is too long"));
        }
        Ok(Self(SecretBytes::from_slice(bytes)))
    }

    /// From standard Base64 (whitespace tolerated).
    pub fn from_base64(text: &str) -> Result<Self> {
        let raw = zeroize::Zeroizing::new(b64_decode_lenient(text, "HMAC secret")?);
        Self::from_bytes(&raw)
    }

    /// From Base64url without padding (a JWK `k`).
    pub fn from_base64url(text: &str) -> Result<Self> {
        let raw = zeroize::Zeroizing::new(b64url_decode(text.trim(), "HMAC secret")?);
        Self::from_bytes(&raw)
    }

    /// The secret bytes. Do not log them.
    pub fn expose(&self) -> &[u8] {
        self.0.expose()
    }
}

impl fmt::Debug for HmacSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacSecret([redacted])")
    }
}
