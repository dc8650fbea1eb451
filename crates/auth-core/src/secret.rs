//! Secret byte strings: zeroized on drop, `[redacted]` in Debug, no `Clone`, compared in
//! constant time. Share one with `Arc` instead of copying it.

use std::fmt;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Secret bytes (a private key's DER, an HMAC secret, an API key's text).
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of `bytes`; they are wiped when this value drops.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Copies `bytes` into a new secret.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self::new(bytes.to_vec())
    }

    /// The secret bytes. Do not log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes (not secret).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constant-time equality (the length is not hidden).
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        ct_eq(&self.0, other)
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Constant-time comparison of two byte strings; only their lengths leak.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretBytes::from_slice(b"hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert!(s.ct_eq(b"hunter2"));
        assert!(!s.ct_eq(b"hunter3"));
        assert!(!s.ct_eq(b"hunter"));
    }
}
