//! The deprecated Smile `sec_key` (docs/protocols.md section 3.2), all four directions:
//!
//! 1. a partner makes an outgoing `sec_key` = `Base64(RSA-PKCS1-v1_5-encrypt(provider public
//!    key, hash)) + "|" + hash` ([`generate`]);
//! 2. a provider checks it with its private key ([`parse`] then [`verify`]);
//! 3. a provider signs its responses with a raw PKCS#1 type-1 private-key operation over the
//!    hash ([`sign_response_for_legacy_use_only`]);
//! 4. a partner confirms that response signature with the public key ([`verify_response`]),
//!    sent bare or, as providers do, as `<Base64>|<hash>`.
//!
//! `hash` is the lowercase hex SHA-256 of `"<int(partner_id)>:<timestamp>"` (64 ASCII bytes).
//! Timestamps are decimal Unix seconds or milliseconds, echoed exactly.
//!
//! Prefer the HMAC "Signature" method: the provider's decryption is a padding-oracle surface
//! (Bleichenbacher, Marvin), and it is **not** fully constant time.
//!
//! - What is uniform: [`verify`] folds "wrong length", "bad padding", "wrong plaintext" and
//!   "wrong hash after `|`" into one [`subtle::Choice`] without an early exit of its own, and
//!   answers every one of them with the same error code and message, so the error never says
//!   why a value failed; a wrong-length value still costs a full private-key operation (see
//!   [`RsaPkcs1Decryptor::decrypt_matches`]).
//! - What is not: the decryption itself runs in aws-lc-rs, whose AWS-LC core computes the
//!   PKCS#1 v1.5 padding check with constant-time masks but then branches on it (bad padding
//!   pushes errors on its error queue and returns early, good padding copies the message out;
//!   `crypto/rsa_extra/rsa_crypt.c`). The time taken can therefore depend on padding validity:
//!   a timing oracle remains. AWS-LC has no implicit rejection, and aws-lc-rs's safe API has no
//!   raw RSA private-key operation to unpad ourselves.
//! - The residual risk and the mitigations a deployment should add (rate limits per partner,
//!   alerts on bursts of failures, a key pair used for nothing else) are in docs/protocols.md
//!   ("sec_key security"). The response signature ([`sign_response_for_legacy_use_only`]) is a
//!   private-key operation in RustCrypto `rsa`; see [`RsaRawSigner`].

use super::SmilePolicy;
use crate::encoding::{b64_decode_lenient, b64_encode, hex_lower};
use crate::error::{Error, Result};
use crate::keys::{PublicKey, RsaPkcs1Decryptor, RsaRawSigner};
use crate::rand::SecureRandom;
use crate::time::UnixTime;
use subtle::ConstantTimeEq;

/// Longest `sec_key` text accepted (RSA-4096 in Base64 with line breaks, plus the hash).
pub const MAX_SEC_KEY_LEN: usize = 1024;

/// Timestamp units the SDKs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampUnit {
    /// Unix seconds.
    Seconds,
    /// Unix milliseconds.
    Millis,
}

/// The decimal timestamp for `now` in `unit`.
pub fn timestamp(now: UnixTime, unit: TimestampUnit) -> String {
    match unit {
        TimestampUnit::Seconds => now.as_secs().to_string(),
        TimestampUnit::Millis => now.as_millis().to_string(),
    }
}

/// Reads a decimal timestamp: up to 11 digits are seconds, 12 or 13 are milliseconds.
pub fn parse_timestamp(text: &str) -> Result<UnixTime> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::malformed(
            "the sec_key timestamp must be decimal Unix seconds or milliseconds",
        ));
    }
    super::parse_timestamp(text)
}

/// The partner ID as the legacy hash uses it: an integer (`"085"` is 85).
pub fn partner_number(partner_id: &str) -> Result<u64> {
    if partner_id.is_empty()
        || partner_id.len() > 18
        || !partner_id.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Error::malformed(
            "the partner ID must be decimal digits for the legacy sec_key",
        ));
    }
    partner_id
        .parse()
        .map_err(|_| Error::malformed("the partner ID is not a number"))
}

/// `hex(SHA-256("<int(partner_id)>:<timestamp>"))`, 64 lowercase ASCII hex bytes.
pub fn hash(partner_id: &str, timestamp: &str) -> Result<[u8; 64]> {
    let n = partner_number(partner_id)?;
    parse_timestamp(timestamp)?;
    let d = ring::digest::digest(&ring::digest::SHA256, format!("{n}:{timestamp}").as_bytes());
    let mut out = [0u8; 64];
    out.copy_from_slice(hex_lower(d.as_ref()).as_bytes());
    Ok(out)
}

/// Partner side: the outgoing `sec_key` for `timestamp`, encrypted to the provider's public
/// key (load it with [`PublicKey::from_smile_base64`]).
pub fn generate(
    provider_key: &PublicKey,
    partner_id: &str,
    timestamp: &str,
    rng: &dyn SecureRandom,
) -> Result<String> {
    let h = hash(partner_id, timestamp)?;
    let ct = crate::keys::rsa_pkcs1v15_encrypt(provider_key, &h, rng)?;
    let mut out = b64_encode(&ct);
    out.push('|');
    out.push_str(std::str::from_utf8(&h).unwrap_or_default());
    Ok(out)
}

/// A received `sec_key`, read but not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSecKey<'a> {
    partner_id: &'a str,
    timestamp: &'a str,
    at: UnixTime,
    ciphertext: Vec<u8>,
    claimed_hash: Vec<u8>,
}

impl<'a> ParsedSecKey<'a> {
    /// The partner ID (use it to find the provider key pair issued to that partner).
    pub fn partner_id(&self) -> &'a str {
        self.partner_id
    }

    /// The claimed time.
    pub fn claimed_time(&self) -> UnixTime {
        self.at
    }
}

/// Reads `partner_id`, `timestamp` and `sec_key` (`<Base64, line breaks tolerated>|<hash>`).
pub fn parse<'a>(
    partner_id: &'a str,
    timestamp: &'a str,
    sec_key: &str,
) -> Result<ParsedSecKey<'a>> {
    partner_number(partner_id)?;
    let at = parse_timestamp(timestamp)?;
    if sec_key.len() > MAX_SEC_KEY_LEN {
        return Err(Error::malformed("the sec_key is too long"));
    }
    let (b64, claimed) = sec_key
        .rsplit_once('|')
        .ok_or_else(|| Error::malformed("a sec_key is `<Base64>|<hash>`"))?;
    let ciphertext = b64_decode_lenient(b64, "sec_key")?;
    Ok(ParsedSecKey {
        partner_id,
        timestamp,
        at,
        ciphertext,
        claimed_hash: claimed.trim().as_bytes().to_vec(),
    })
}

/// Provider side: checks the timestamp window, then decrypts and compares in constant time.
/// Every cryptographic failure is the same [`crate::ErrorCode::SignatureMismatch`].
pub fn verify(
    parsed: &ParsedSecKey<'_>,
    key: &RsaPkcs1Decryptor,
    policy: &SmilePolicy,
    now: UnixTime,
) -> Result<()> {
    policy.check(parsed.at, now)?;
    let expected = hash(parsed.partner_id, parsed.timestamp)?;
    let decrypted = key.decrypt_matches(&parsed.ciphertext, &expected);
    let claimed = parsed.claimed_hash.len().ct_eq(&expected.len())
        & parsed.claimed_hash[..parsed.claimed_hash.len().min(64)]
            .ct_eq(&expected[..parsed.claimed_hash.len().min(64)]);
    if bool::from(decrypted & claimed) {
        Ok(())
    } else {
        Err(Error::signature_mismatch(
            "the sec_key does not verify for this partner ID and timestamp",
        ))
    }
}

/// Provider side: the response `signature`, a raw PKCS#1 v1.5 type-1 private-key operation
/// over the 64 hash bytes (no DigestInfo), Base64. See [`RsaRawSigner`] for the risk.
pub fn sign_response_for_legacy_use_only(
    key: &RsaRawSigner,
    partner_id: &str,
    timestamp: &str,
    rng: &dyn SecureRandom,
) -> Result<String> {
    let h = hash(partner_id, timestamp)?;
    Ok(b64_encode(
        &key.sign_unprefixed_for_legacy_use_only(&h, rng)?,
    ))
}

/// Partner side: confirms a response `signature` with the provider's public key. Providers
/// send `<Base64>|<hash>` (the SDKs split on `|`); then the hash part must be the recomputed
/// hash too. The bare Base64 form is accepted as well.
pub fn verify_response(
    provider_key: &PublicKey,
    partner_id: &str,
    timestamp: &str,
    signature: &str,
) -> Result<()> {
    if signature.len() > MAX_SEC_KEY_LEN {
        return Err(Error::malformed("the signature is too long"));
    }
    let h = hash(partner_id, timestamp)?;
    let (b64, claimed) = match signature.split_once('|') {
        // Ruby's Base64 ends in a newline before the `|`; tolerate whitespace around the hash.
        Some((b64, claimed)) => (b64, Some(claimed.trim())),
        None => (signature, None),
    };
    let sig = b64_decode_lenient(b64, "signature")?;
    let signature_ok = crate::keys::rsa_pkcs1v15_verify_unprefixed(provider_key, &h, &sig).is_ok();
    // Both checks always run and fold into one error, as in `verify`.
    let hash_ok = match claimed {
        None => true,
        Some(c) => c.len() == h.len() && bool::from(c.as_bytes().ct_eq(&h)),
    };
    if signature_ok & hash_ok {
        Ok(())
    } else {
        Err(Error::signature_mismatch(
            "the response signature does not verify with the provider key",
        ))
    }
}
