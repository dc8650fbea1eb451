//! The one error type of auth-core: a stable machine code plus a message that helps the caller.

use std::borrow::Cow;
use std::fmt;

/// Stable, machine-readable reason for a rejection. The string forms never change;
/// the HTTP layer maps them to status codes and to each provider's error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Input could not be parsed (bad encoding, bad structure, bad length).
    Malformed,
    /// A key could not be loaded or is unfit for use (format, size, curve).
    InvalidKey,
    /// The algorithm is unknown, not allowed, or does not match the key.
    UnsupportedAlgorithm,
    /// A token is structurally or cryptographically invalid.
    InvalidToken,
    /// A token's lifetime is over.
    TokenExpired,
    /// A valid credential that is not allowed to do this (wrong client, wrong subject).
    Unauthorized,
    /// A signature or MAC does not verify.
    SignatureMismatch,
    /// A timestamp lies outside the accepted window.
    StaleTimestamp,
    /// A nonce or token ID was seen before.
    Replayed,
    /// No key is registered under the presented identifier.
    UnknownKey,
    /// The key was revoked or rotated away.
    RevokedKey,
    /// The key is past its expiry.
    ExpiredKey,
    /// The credential is valid but lacks a required scope.
    InsufficientScope,
    /// A component the policy requires is not covered by the signature.
    MissingComponent,
    /// A body does not match its declared digest.
    DigestMismatch,
    /// An input exceeds a size bound.
    TooLarge,
    /// The credential is not valid yet (its `not_before` lies ahead).
    NotYetValid,
    /// A store the decision depends on cannot answer now; retry later (never a pass).
    Unavailable,
    /// The caller has used up its share (replay-store quota, rate limit); retry later.
    RateLimited,
    /// A random number generator or other backend failed.
    Internal,
}

impl ErrorCode {
    /// The stable string form, for logs and error bodies.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::InvalidKey => "invalid_key",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::InvalidToken => "invalid_token",
            Self::TokenExpired => "token_expired",
            Self::Unauthorized => "unauthorized",
            Self::SignatureMismatch => "signature_mismatch",
            Self::StaleTimestamp => "stale_timestamp",
            Self::Replayed => "replayed",
            Self::UnknownKey => "unknown_key",
            Self::RevokedKey => "revoked_key",
            Self::ExpiredKey => "expired_key",
            Self::InsufficientScope => "insufficient_scope",
            Self::MissingComponent => "missing_component",
            Self::DigestMismatch => "digest_mismatch",
            Self::TooLarge => "too_large",
            Self::NotYetValid => "not_yet_valid",
            Self::Unavailable => "unavailable",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejection: a stable [`ErrorCode`] and a human message.
///
/// Messages say what was wrong and how to fix it; they never contain a secret,
/// a private key or the signature the verifier expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    message: Cow<'static, str>,
}

impl Error {
    /// An error with a message.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Shorthand for [`ErrorCode::Malformed`].
    pub fn malformed(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::Malformed, message)
    }

    /// Shorthand for [`ErrorCode::InvalidKey`].
    pub fn invalid_key(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidKey, message)
    }

    /// Shorthand for [`ErrorCode::SignatureMismatch`].
    pub fn signature_mismatch(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::SignatureMismatch, message)
    }

    /// The machine code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The human message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

/// Result alias used across auth-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
