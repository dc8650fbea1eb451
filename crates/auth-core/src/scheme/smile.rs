//! Smile-style partner signatures (PROTOCOLS.md section 3): the current "Signature" method,
//! `Base64(HMAC-SHA256(api_key, timestamp || partner_id || "sid_request"))`, carried in JSON body
//! fields or `smileid-*` headers, and (in [`sec_key`]) the deprecated RSA `sec_key`.
//!
//! Both sides: a partner signs requests (and checks the provider's responses and callbacks); a
//! provider checks requests (and signs responses). Verification is two-phase: [`parse`] reads
//! the partner ID, the timestamp and the signature; the caller finds the partner's API key;
//! [`verify`] checks the timestamp window and compares the MAC in constant time.

pub mod sec_key;

use crate::encoding::{b64_decode_lenient, b64_encode};
use crate::error::{Error, ErrorCode, Result};
use crate::replay::{FreshnessWindow, check_fresh};
use crate::secret::SecretBytes;
use crate::time::UnixTime;
use std::fmt;
use std::time::Duration;

/// Header carrying the partner ID.
pub const HEADER_PARTNER_ID: &str = "smileid-partner-id";
/// Header carrying the signature.
pub const HEADER_SIGNATURE: &str = "smileid-request-signature";
/// Header carrying the timestamp.
pub const HEADER_TIMESTAMP: &str = "smileid-timestamp";
/// The constant suffix of the signed string.
pub const SIGNED_SUFFIX: &str = "sid_request";
/// Longest partner ID accepted.
pub const MAX_PARTNER_ID_LEN: usize = 64;
/// Longest timestamp text accepted.
pub const MAX_TIMESTAMP_LEN: usize = 64;
/// Longest API key accepted.
pub const MAX_API_KEY_LEN: usize = 1024;
/// Default: a request may be this old.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(5 * 60);
/// Default: a request may be this far in the future (clock skew).
pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(30);

/// A partner's API key as the HMAC key, prepared once (the HMAC key schedule is precomputed).
/// Smile API keys are opaque strings of any length, so no minimum length is imposed here.
pub struct SmileKey {
    key: ring::hmac::Key,
}

impl fmt::Debug for SmileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SmileKey([redacted])")
    }
}

impl SmileKey {
    /// From the API key's bytes (the UTF-8 of the key string).
    pub fn new(api_key: &[u8]) -> Result<Self> {
        if api_key.is_empty() || api_key.len() > MAX_API_KEY_LEN {
            return Err(Error::invalid_key(
                "a Smile API key must be 1 to 1024 bytes",
            ));
        }
        Ok(Self {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, api_key),
        })
    }

    /// From a secret held elsewhere.
    pub fn from_secret(api_key: &SecretBytes) -> Result<Self> {
        Self::new(api_key.expose())
    }

    fn mac(&self, partner_id: &str, timestamp: &str) -> ring::hmac::Tag {
        let mut ctx = ring::hmac::Context::with_key(&self.key);
        ctx.update(timestamp.as_bytes());
        ctx.update(partner_id.as_bytes());
        ctx.update(SIGNED_SUFFIX.as_bytes());
        ctx.sign()
    }

    /// The signature over `timestamp` (echoed exactly as sent) and `partner_id`.
    pub fn sign(&self, partner_id: &str, timestamp: &str) -> String {
        b64_encode(self.mac(partner_id, timestamp).as_ref())
    }

    /// Signs at `now`, formatting the timestamp as the SDKs do (`2022-04-03T21:31:47.296Z`).
    pub fn sign_at(&self, partner_id: &str, now: UnixTime) -> SignedFields {
        let timestamp = sdk_timestamp(now);
        SignedFields {
            partner_id: partner_id.to_owned(),
            signature: self.sign(partner_id, &timestamp),
            timestamp,
        }
    }
}

/// The bytes the Signature method's HMAC covers: `timestamp || partner_id || "sid_request"`
/// (for tools that show what was signed; [`SmileKey::sign`] streams the same bytes).
pub fn signature_base(partner_id: &str, timestamp: &str) -> Vec<u8> {
    [
        timestamp.as_bytes(),
        partner_id.as_bytes(),
        SIGNED_SUFFIX.as_bytes(),
    ]
    .concat()
}

/// JavaScript's `Date.prototype.toISOString`: always three fraction digits and `Z`.
pub fn sdk_timestamp(t: UnixTime) -> String {
    let text = t.to_rfc3339();
    match text.strip_suffix('Z') {
        Some(base) if !base.contains('.') => format!("{base}.000Z"),
        _ => text,
    }
}

/// The three values a signed request (or response) carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFields {
    /// `partner_id`.
    pub partner_id: String,
    /// `timestamp`, exactly as signed.
    pub timestamp: String,
    /// `signature` (standard Base64, 44 characters).
    pub signature: String,
}

impl SignedFields {
    /// As `smileid-*` headers.
    pub fn headers(&self) -> [(&'static str, &str); 3] {
        [
            (HEADER_PARTNER_ID, &self.partner_id),
            (HEADER_SIGNATURE, &self.signature),
            (HEADER_TIMESTAMP, &self.timestamp),
        ]
    }

    /// As JSON body fields `partner_id`, `timestamp`, `signature` (merge into the request body).
    pub fn body_fields(&self) -> [(&'static str, &str); 3] {
        [
            ("partner_id", &self.partner_id),
            ("timestamp", &self.timestamp),
            ("signature", &self.signature),
        ]
    }
}

/// The receiving side's timestamp window. Defaults: 5 minutes old, 30 s ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmilePolicy {
    window: FreshnessWindow,
}

impl Default for SmilePolicy {
    fn default() -> Self {
        Self {
            window: FreshnessWindow::new(DEFAULT_MAX_AGE, DEFAULT_MAX_SKEW),
        }
    }
}

impl SmilePolicy {
    /// A window: `max_age` into the past, `max_skew` into the future.
    pub fn new(max_age: Duration, max_skew: Duration) -> Self {
        Self {
            window: FreshnessWindow::new(max_age, max_skew),
        }
    }

    /// How long a used timestamp must be remembered to refuse its replay: `max_age + max_skew`.
    pub fn retention(&self) -> Duration {
        self.window.retention()
    }

    /// The window.
    pub fn window(&self) -> FreshnessWindow {
        self.window
    }

    /// Checks `at` against `now`.
    pub fn check(&self, at: UnixTime, now: UnixTime) -> Result<()> {
        check_fresh(at, now, self.window)
    }
}

/// Reads a timestamp as the SDKs send it: ISO 8601 / RFC 3339 (`Z` or `+00:00`, milli- or
/// microseconds), or Unix time in seconds (up to 11 digits) or milliseconds (12 or 13 digits).
pub fn parse_timestamp(text: &str) -> Result<UnixTime> {
    if text.is_empty() || text.len() > MAX_TIMESTAMP_LEN {
        return Err(Error::malformed("the timestamp is empty or too long"));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let n: u64 = text
            .parse()
            .map_err(|_| Error::malformed("the timestamp is not a number"))?;
        return match text.len() {
            1..=11 => Ok(UnixTime::from_secs(n)),
            12 | 13 => Ok(UnixTime::from_millis(n)),
            _ => Err(Error::malformed(
                "a numeric timestamp is Unix seconds or milliseconds",
            )),
        };
    }
    UnixTime::parse_rfc3339(text)
}

/// A received signature, read but not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSignature<'a> {
    partner_id: &'a str,
    timestamp: &'a str,
    at: UnixTime,
    mac: [u8; 32],
}

impl<'a> ParsedSignature<'a> {
    /// The replay identifier: the MAC covers only partner ID and timestamp, so the SHA-256
    /// of the timestamp, scoped by the partner's key ([`crate::replay::ReplayKey::content`]),
    /// names the signed content. Record it for [`SmilePolicy::retention`].
    pub fn content_digest_for_replay(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(
            ring::digest::digest(&ring::digest::SHA256, self.timestamp.as_bytes()).as_ref(),
        );
        out
    }

    /// The partner ID (use it to find the API key).
    pub fn partner_id(&self) -> &'a str {
        self.partner_id
    }

    /// The timestamp text as sent.
    pub fn timestamp(&self) -> &'a str {
        self.timestamp
    }

    /// The claimed time.
    pub fn claimed_time(&self) -> UnixTime {
        self.at
    }
}

/// Reads the three fields (from the body or the `smileid-*` headers).
pub fn parse<'a>(
    partner_id: &'a str,
    timestamp: &'a str,
    signature: &str,
) -> Result<ParsedSignature<'a>> {
    if partner_id.is_empty()
        || partner_id.len() > MAX_PARTNER_ID_LEN
        || !partner_id.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(Error::malformed(
            "partner_id must be 1 to 64 printable ASCII characters",
        ));
    }
    let at = parse_timestamp(timestamp)?;
    if signature.len() > 128 {
        return Err(Error::malformed("the signature is too long"));
    }
    let raw = b64_decode_lenient(signature, "signature")?;
    let mac: [u8; 32] = raw
        .as_slice()
        .try_into()
        .map_err(|_| Error::malformed("the signature must be Base64 of a 32-byte HMAC-SHA256"))?;
    Ok(ParsedSignature {
        partner_id,
        timestamp,
        at,
        mac,
    })
}

/// Reads the fields from the `smileid-*` headers through `get` (a case-insensitive lookup).
pub fn parse_headers<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<ParsedSignature<'a>> {
    let need = |name: &'static str| {
        get(name).ok_or_else(|| {
            Error::new(
                ErrorCode::MissingComponent,
                format!("the `{name}` header is missing"),
            )
        })
    };
    let partner_id = need(HEADER_PARTNER_ID)?;
    let timestamp = need(HEADER_TIMESTAMP)?;
    let signature = need(HEADER_SIGNATURE)?;
    parse(partner_id.trim(), timestamp.trim(), signature.trim())
}

/// Checks the timestamp window, then the MAC in constant time.
pub fn verify(
    parsed: &ParsedSignature<'_>,
    key: &SmileKey,
    policy: &SmilePolicy,
    now: UnixTime,
) -> Result<()> {
    policy.check(parsed.at, now)?;
    let mut ctx = ring::hmac::Context::with_key(&key.key);
    ctx.update(parsed.timestamp.as_bytes());
    ctx.update(parsed.partner_id.as_bytes());
    ctx.update(SIGNED_SUFFIX.as_bytes());
    let tag = ctx.sign();
    if crate::secret::ct_eq(tag.as_ref(), &parsed.mac) {
        Ok(())
    } else {
        Err(Error::signature_mismatch(
            "the signature does not match this partner's API key, partner_id and timestamp",
        ))
    }
}
