//! Qredo Partner API request signatures (PROTOCOLS.md section 5): `x-api-key`,
//! `x-timestamp` (or `x-nonce`) and `x-sign = Base64url-NoPad(RSASSA-PKCS1-v1_5-SHA256(
//! timestamp || full_url || body))`. The method is not signed.
//!
//! Verification is two-phase: [`parse`] gives the API key (look the partner's public key up
//! by it), [`verify`] judges. A nonce result must still be checked to increase strictly per
//! key ([`crate::replay::MonotonicNonces`] or the service's store).

use crate::encoding::{b64url_decode, b64url_encode};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::{SignatureAlgorithm, SigningKey, VerifyingKey};
use crate::rand::SecureRandom;
use crate::replay::{FreshnessWindow, check_fresh};
use crate::request::{Request, TargetUri};
use crate::time::UnixTime;
use std::fmt;
use std::time::Duration;

/// The API key header.
pub const HEADER_API_KEY: &str = "x-api-key";
/// The timestamp header (Unix seconds, decimal).
pub const HEADER_TIMESTAMP: &str = "x-timestamp";
/// The nonce header (a strictly increasing decimal integer per key).
pub const HEADER_NONCE: &str = "x-nonce";
/// The signature header.
pub const HEADER_SIGN: &str = "x-sign";
/// Longest `x-api-key` accepted.
pub const MAX_API_KEY_LEN: usize = 512;
/// Longest `x-sign` accepted (RSA-8192 is 1366 characters).
pub const MAX_SIGN_LEN: usize = 1400;

/// Why Qredo rejected a request: the `detail.reason` of its error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The signature is missing, malformed or does not verify.
    Signature,
    /// The timestamp is missing, malformed or outside the window.
    Timestamp,
    /// The nonce is malformed or did not increase.
    Nonce,
    /// The API key is missing or unknown.
    ApiKey,
}

impl Reason {
    /// The reason text (`signature`, `timestamp`, `nonce`, `api_key`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Signature => "signature",
            Self::Timestamp => "timestamp",
            Self::Nonce => "nonce",
            Self::ApiKey => "api_key",
        }
    }

    /// Qredo's error body: `{"code":401,"msg":"errPartnerAuth","detail":{"reason":"..."}}`
    /// (sent with status 401).
    pub fn error_body(self) -> String {
        format!(
            r#"{{"code":401,"msg":"errPartnerAuth","detail":{{"reason":"{}"}}}}"#,
            self.as_str()
        )
    }
}

/// A rejection with its Qredo reason. Converts into [`Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QredoError {
    /// The reason for the error body.
    pub reason: Reason,
    /// The typed error.
    pub error: Error,
}

impl QredoError {
    fn new(
        reason: Reason,
        code: ErrorCode,
        message: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Self {
        Self {
            reason,
            error: Error::new(code, message),
        }
    }

    fn wrap(reason: Reason, error: Error) -> Self {
        Self { reason, error }
    }

    /// The reason for an error raised while resolving the API key (unknown, revoked).
    pub fn api_key(error: Error) -> Self {
        Self::wrap(Reason::ApiKey, error)
    }

    /// The reason for an error raised by the monotonic-nonce check.
    pub fn nonce(error: Error) -> Self {
        Self::wrap(Reason::Nonce, error)
    }
}

impl fmt::Display for QredoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (reason {})", self.error, self.reason.as_str())
    }
}

impl std::error::Error for QredoError {}

impl From<QredoError> for Error {
    fn from(e: QredoError) -> Self {
        e.error
    }
}

/// What makes a Qredo request fresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Freshness {
    /// `x-timestamp`: Unix seconds.
    Timestamp(u64),
    /// `x-nonce`: must increase strictly per key.
    Nonce(u64),
}

/// Which freshness headers a verifier accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FreshnessMode {
    /// Only `x-timestamp` (the default).
    #[default]
    TimestampOnly,
    /// `x-timestamp` or `x-nonce`; a nonce result must then be checked for strict increase
    /// by the caller.
    TimestampOrNonce,
}

/// How a Qredo request is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QredoPolicy {
    window: FreshnessWindow,
    freshness: FreshnessMode,
}

impl Default for QredoPolicy {
    /// ±30 s, timestamps only.
    fn default() -> Self {
        Self::new(Duration::from_secs(30))
    }
}

impl QredoPolicy {
    /// A timestamp window of `±window`, timestamps only.
    pub fn new(window: Duration) -> Self {
        Self {
            window: FreshnessWindow::symmetric(window),
            freshness: FreshnessMode::TimestampOnly,
        }
    }

    /// Sets which freshness headers are accepted.
    pub fn with_freshness(mut self, mode: FreshnessMode) -> Self {
        self.freshness = mode;
        self
    }

    /// The window (`±`); its [`FreshnessWindow::retention`] is how long a timestamped
    /// request is remembered for replay.
    pub fn window(&self) -> FreshnessWindow {
        self.window
    }
}

/// Appends the string to sign, `freshness || full_url || body`, to `out`.
pub fn write_string_to_sign(
    freshness: &str,
    target: &TargetUri<'_>,
    body: &[u8],
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(freshness.as_bytes());
    target.write_absolute(out);
    out.extend_from_slice(body);
}

/// The headers a signer adds (besides its `x-api-key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `x-timestamp` or `x-nonce`.
    pub freshness_name: &'static str,
    /// Its decimal value.
    pub freshness_value: String,
    /// The `x-sign` value.
    pub sign: String,
}

impl SignedHeaders {
    /// All three headers as `(name, value)` pairs.
    pub fn with_api_key<'a>(&'a self, api_key: &'a str) -> [(&'static str, &'a str); 3] {
        [
            (HEADER_API_KEY, api_key),
            (self.freshness_name, &self.freshness_value),
            (HEADER_SIGN, &self.sign),
        ]
    }
}

fn check_key_alg(alg: SignatureAlgorithm) -> Result<()> {
    if alg == SignatureAlgorithm::RsaPkcs1Sha256 {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::UnsupportedAlgorithm,
            "Qredo signatures are RSASSA-PKCS1-v1_5 with SHA-256: register the key as RsaPkcs1Sha256",
        ))
    }
}

/// Signs a request to `target` with `body` (empty for GET and WebSocket upgrades).
pub fn sign(
    target: &TargetUri<'_>,
    body: &[u8],
    freshness: Freshness,
    key: &SigningKey,
    rng: &dyn SecureRandom,
) -> Result<SignedHeaders> {
    check_key_alg(key.algorithm())?;
    let (name, value) = match freshness {
        Freshness::Timestamp(t) => (HEADER_TIMESTAMP, t.to_string()),
        Freshness::Nonce(n) => (HEADER_NONCE, n.to_string()),
    };
    let mut msg = Vec::with_capacity(value.len() + 256 + body.len());
    write_string_to_sign(&value, target, body, &mut msg);
    let sig = key.sign(&msg, rng)?;
    Ok(SignedHeaders {
        freshness_name: name,
        freshness_value: value,
        sign: b64url_encode(&sig),
    })
}

/// A Qredo request pulled apart, not yet verified. Debug does not show the API key.
#[derive(Clone, PartialEq, Eq)]
pub struct ParsedQredo<'a> {
    api_key: &'a str,
    freshness: Freshness,
    freshness_text: &'a str,
    signature: Vec<u8>,
}

impl fmt::Debug for ParsedQredo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedQredo")
            .field(
                "api_key",
                &format_args!("[redacted, {} bytes]", self.api_key.len()),
            )
            .field("freshness", &self.freshness)
            .field("signature_len", &self.signature.len())
            .finish()
    }
}

impl<'a> ParsedQredo<'a> {
    /// The API key: resolve the partner's public key by it.
    pub fn api_key(&self) -> &'a str {
        self.api_key
    }

    /// The claimed freshness.
    pub fn freshness(&self) -> Freshness {
        self.freshness
    }
}

fn decimal(text: &str) -> Option<u64> {
    // Up to 20 digits: every u64 the signer writes reads back; larger values fail to parse.
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if text.len() > 1 && text.starts_with('0') {
        return None;
    }
    text.parse().ok()
}

/// Phase one: reads the three headers. No key is needed.
pub fn parse<'a>(req: &Request<'a>) -> Result<ParsedQredo<'a>, QredoError> {
    let h = req.headers;
    let one = |name: &'static str, reason: Reason| {
        h.get_one(name).map_err(|e| QredoError::wrap(reason, e))
    };
    let api_key = one(HEADER_API_KEY, Reason::ApiKey)?
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            QredoError::new(
                Reason::ApiKey,
                ErrorCode::Unauthorized,
                "the x-api-key header is missing",
            )
        })?;
    if api_key.len() > MAX_API_KEY_LEN {
        return Err(QredoError::new(
            Reason::ApiKey,
            ErrorCode::TooLarge,
            "x-api-key is too long",
        ));
    }
    let ts = one(HEADER_TIMESTAMP, Reason::Timestamp)?;
    let nonce = one(HEADER_NONCE, Reason::Nonce)?;
    let (freshness, freshness_text) = match (ts, nonce) {
        (Some(_), Some(_)) => {
            return Err(QredoError::new(
                Reason::Timestamp,
                ErrorCode::Malformed,
                "send x-timestamp or x-nonce, not both",
            ));
        }
        (Some(t), None) => (
            Freshness::Timestamp(decimal(t).ok_or_else(|| {
                QredoError::new(
                    Reason::Timestamp,
                    ErrorCode::Malformed,
                    "x-timestamp must be Unix seconds in decimal",
                )
            })?),
            t,
        ),
        (None, Some(n)) => (
            Freshness::Nonce(decimal(n).ok_or_else(|| {
                QredoError::new(
                    Reason::Nonce,
                    ErrorCode::Malformed,
                    "x-nonce must be a decimal integer",
                )
            })?),
            n,
        ),
        (None, None) => {
            return Err(QredoError::new(
                Reason::Timestamp,
                ErrorCode::StaleTimestamp,
                "the x-timestamp header is missing",
            ));
        }
    };
    let sign = one(HEADER_SIGN, Reason::Signature)?.ok_or_else(|| {
        QredoError::new(
            Reason::Signature,
            ErrorCode::Unauthorized,
            "the x-sign header is missing",
        )
    })?;
    if sign.len() > MAX_SIGN_LEN {
        return Err(QredoError::new(
            Reason::Signature,
            ErrorCode::TooLarge,
            "x-sign is too long",
        ));
    }
    // Empty is a request that was never signed, not a signature that failed to verify.
    if sign.trim().is_empty() {
        return Err(QredoError::new(
            Reason::Signature,
            ErrorCode::Malformed,
            "x-sign is empty; send the Base64url RSA signature",
        ));
    }
    let signature =
        b64url_decode(sign, "x-sign").map_err(|e| QredoError::wrap(Reason::Signature, e))?;
    Ok(ParsedQredo {
        api_key,
        freshness,
        freshness_text,
        signature,
    })
}

/// A verified Qredo request: its freshness and the replay identifier of what was signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedQredo {
    freshness: Freshness,
    content_digest: [u8; 32],
}

impl VerifiedQredo {
    /// The freshness; a [`Freshness::Nonce`] must still be checked for strict increase.
    pub fn freshness(&self) -> Freshness {
        self.freshness
    }

    /// SHA-256 of the exact signed bytes, `value || full_url || body`. The header that
    /// carried the value is not signed, so the same signed bytes sent once as `x-timestamp`
    /// and once as `x-nonce` are one message: record this identifier (scoped by the
    /// partner's key, as nonces are) in both modes, for twice the window, so each signed
    /// message is accepted once whichever header carries it.
    pub fn content_digest_for_replay(&self) -> [u8; 32] {
        self.content_digest
    }
}

/// Phase two: checks freshness and the signature of `req` with the partner's `key`.
/// Returns the freshness and the replay identifier ([`VerifiedQredo`]).
pub fn verify(
    req: &Request<'_>,
    parsed: &ParsedQredo<'_>,
    key: &VerifyingKey,
    policy: &QredoPolicy,
    now: UnixTime,
) -> Result<VerifiedQredo, QredoError> {
    let mut buf = Vec::new();
    verify_with_buffer(req, parsed, key, policy, now, &mut buf)
}

/// [`verify`] building the signed string in `buf` (reuse it to avoid allocating).
pub fn verify_with_buffer(
    req: &Request<'_>,
    parsed: &ParsedQredo<'_>,
    key: &VerifyingKey,
    policy: &QredoPolicy,
    now: UnixTime,
    buf: &mut Vec<u8>,
) -> Result<VerifiedQredo, QredoError> {
    check_key_alg(key.algorithm()).map_err(|e| QredoError::wrap(Reason::Signature, e))?;
    match parsed.freshness {
        Freshness::Timestamp(t) => {
            check_fresh(UnixTime::from_secs(t), now, policy.window)
                .map_err(|e| QredoError::wrap(Reason::Timestamp, e))?;
        }
        Freshness::Nonce(_) => {
            if policy.freshness != FreshnessMode::TimestampOrNonce {
                return Err(QredoError::new(
                    Reason::Nonce,
                    ErrorCode::Unauthorized,
                    "x-nonce is not accepted here; send x-timestamp",
                ));
            }
        }
    }
    let body = req.body.bytes().ok_or_else(|| {
        QredoError::new(
            Reason::Signature,
            ErrorCode::Internal,
            "Qredo signatures cover the body: buffer it before verifying",
        )
    })?;
    buf.clear();
    write_string_to_sign(parsed.freshness_text, &req.target, body, buf);
    key.verify(buf, &parsed.signature)
        .map_err(|e| QredoError::wrap(Reason::Signature, e))?;
    let mut content_digest = [0u8; 32];
    content_digest.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, buf).as_ref());
    Ok(VerifiedQredo {
        freshness: parsed.freshness,
        content_digest,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn string_to_sign_matches_protocols_example() {
        let t = TargetUri::parse("https://api.qredo.network/api/v1/p/company/search").unwrap();
        let mut out = Vec::new();
        write_string_to_sign("1605779886", &t, b"", &mut out);
        assert_eq!(
            out,
            b"1605779886https://api.qredo.network/api/v1/p/company/search"
        );
        assert_eq!(
            Reason::Signature.error_body(),
            r#"{"code":401,"msg":"errPartnerAuth","detail":{"reason":"signature"}}"#
        );
    }

    #[test]
    fn decimals_are_canonical() {
        assert_eq!(decimal("1605779886"), Some(1_605_779_886));
        assert_eq!(decimal(&u64::MAX.to_string()), Some(u64::MAX));
        for bad in ["", "01", "+1", "1.0", " 1", "99999999999999999999"] {
            assert_eq!(decimal(bad), None, "{bad}");
        }
    }
}
