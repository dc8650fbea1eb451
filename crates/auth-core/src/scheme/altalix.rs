//! Altalix signed payload URLs (PROTOCOLS.md section 2): `payload` = Base64 of the exact JSON
//! `{sell_currency, buy_currency, address, partner_id, key_id, created_at, buy_amount |
//! sell_amount}`, `signature` = Base64 of RSASSA-PKCS1-v1_5/SHA-256 over those JSON bytes,
//! both URL-encoded into the query.
//!
//! Two-phase: [`parse`] decodes and reads the (still unverified) `key_id`; the caller looks
//! up the partner's key by it; [`verify`] checks the signature over the exact received bytes
//! and judges `created_at`.

use crate::encoding::{b64_decode, b64_encode};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::{SignatureAlgorithm, SigningKey, VerifyingKey};
use crate::rand::SecureRandom;
use crate::replay::{FreshnessWindow, check_fresh};
use crate::time::UnixTime;
use serde::Deserialize;
use std::time::Duration;

/// Longest query string accepted (bytes).
pub const MAX_QUERY_LEN: usize = 16 * 1024;
/// Longest decoded payload JSON accepted (bytes).
pub const MAX_PAYLOAD_LEN: usize = 4096;
/// Longest field value in the payload (bytes).
pub const MAX_FIELD_LEN: usize = 256;

/// The amount side of the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Amount {
    /// `buy_amount`: how much of `buy_currency` to buy.
    Buy(String),
    /// `sell_amount`: how much of `sell_currency` to sell.
    Sell(String),
}

/// The signed order. Field order in the JSON is fixed by [`Payload::to_json`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// Currency the user sells (`EUR`).
    pub sell_currency: String,
    /// Currency the user buys (`ETH`).
    pub buy_currency: String,
    /// Destination address.
    pub address: String,
    /// The partner's ID.
    pub partner_id: String,
    /// The registered key's ID (a UUID issued by the portal).
    pub key_id: String,
    /// Creation time, RFC 3339 text as sent.
    pub created_at: String,
    /// The amount.
    pub amount: Amount,
}

impl Payload {
    /// The JSON text, fields in the order `sell_currency, buy_currency, address, partner_id,
    /// key_id, created_at, buy_amount | sell_amount`, without whitespace, every value a
    /// JSON string.
    pub fn to_json(&self) -> Result<String> {
        let mut out = String::with_capacity(256);
        let (amount_name, amount) = match &self.amount {
            Amount::Buy(a) => ("buy_amount", a),
            Amount::Sell(a) => ("sell_amount", a),
        };
        let fields = [
            ("sell_currency", &self.sell_currency),
            ("buy_currency", &self.buy_currency),
            ("address", &self.address),
            ("partner_id", &self.partner_id),
            ("key_id", &self.key_id),
            ("created_at", &self.created_at),
            (amount_name, amount),
        ];
        out.push('{');
        for (i, (name, value)) in fields.iter().enumerate() {
            if value.len() > MAX_FIELD_LEN {
                return Err(Error::new(
                    ErrorCode::TooLarge,
                    format!("payload field {name} is too long"),
                ));
            }
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(name);
            out.push_str("\":");
            out.push_str(
                &serde_json::to_string(value)
                    .map_err(|_| Error::new(ErrorCode::Internal, "JSON encoding failed"))?,
            );
        }
        out.push('}');
        Ok(out)
    }

    /// `created_at` as a time.
    pub fn created_at_time(&self) -> Result<UnixTime> {
        UnixTime::parse_rfc3339(&self.created_at)
    }
}

/// A signed payload ready to put in a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPayload {
    /// The exact JSON signed.
    pub json: String,
    /// Standard Base64 (padded) of the JSON.
    pub payload_b64: String,
    /// Standard Base64 (padded) of the signature.
    pub signature_b64: String,
}

impl SignedPayload {
    /// The query string `payload=<urlencoded>&signature=<urlencoded>`.
    pub fn query(&self) -> String {
        let mut q = String::with_capacity(self.payload_b64.len() + self.signature_b64.len() + 64);
        q.push_str("payload=");
        url_encode_into(&self.payload_b64, &mut q);
        q.push_str("&signature=");
        url_encode_into(&self.signature_b64, &mut q);
        q
    }

    /// `base_url` (e.g. `https://altalix.example/partners/transaction-create`) with the query.
    pub fn url(&self, base_url: &str) -> String {
        let sep = if base_url.contains('?') { '&' } else { '?' };
        format!("{base_url}{sep}{}", self.query())
    }
}

fn url_encode_into(text: &str, out: &mut String) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
}

fn check_key_alg(alg: SignatureAlgorithm) -> Result<()> {
    if alg == SignatureAlgorithm::RsaPkcs1Sha256 {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::UnsupportedAlgorithm,
            "Altalix payloads are signed with RSASSA-PKCS1-v1_5 SHA-256: register the key as RsaPkcs1Sha256",
        ))
    }
}

/// Signs `payload` with the partner's RSA key.
pub fn sign(payload: &Payload, key: &SigningKey, rng: &dyn SecureRandom) -> Result<SignedPayload> {
    check_key_alg(key.algorithm())?;
    let json = payload.to_json()?;
    let sig = key.sign(json.as_bytes(), rng)?;
    Ok(SignedPayload {
        payload_b64: b64_encode(json.as_bytes()),
        signature_b64: b64_encode(&sig),
        json,
    })
}

/// A payload pulled out of a URL, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedPayload {
    json: Vec<u8>,
    signature: Vec<u8>,
    payload: Payload,
}

impl ParsedPayload {
    /// The `key_id` inside the (unverified) payload: look the partner's key up by it.
    pub fn key_id(&self) -> &str {
        &self.payload.key_id
    }

    /// The unverified payload (use [`verify`] before acting on it).
    pub fn unverified_payload(&self) -> &Payload {
        &self.payload
    }

    /// The exact JSON bytes received.
    pub fn json(&self) -> &[u8] {
        &self.json
    }

    /// The replay identifier of this signed URL: the SHA-256 of the exact signed JSON (not of
    /// the signature, whose encoding may vary). Record it, scoped by the key, for the window's
    /// retention ([`crate::replay::ReplayKey::content`]) so a signed URL is used at most once.
    pub fn content_digest_for_replay(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, &self.json).as_ref());
        out
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Text {
    S(String),
    N(serde_json::Number),
}

impl Text {
    fn into_string(self) -> String {
        match self {
            Self::S(s) => s,
            Self::N(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    sell_currency: String,
    buy_currency: String,
    address: String,
    partner_id: Text,
    key_id: String,
    created_at: String,
    buy_amount: Option<Text>,
    sell_amount: Option<Text>,
}

/// Decodes one URL parameter holding Base64: percent-escapes are decoded, line breaks and
/// tabs dropped, and spaces read as `+` (a `+` left unencoded in a query turns into a space
/// when a framework form-decodes it).
fn decode_b64_param(text: &str, what: &'static str) -> Result<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut clean = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| Error::malformed(format!("{what} has a broken %-escape")))?;
                i += 2;
                hex
            }
            b => b,
        };
        match b {
            b'\r' | b'\n' | b'\t' => {}
            b' ' => clean.push('+'),
            b if b.is_ascii() => clean.push(char::from(b)),
            _ => return Err(Error::malformed(format!("{what} is not Base64"))),
        }
        i += 1;
    }
    b64_decode(&clean, what)
}

/// Phase one from already-separated parameter values (URL-encoded or not).
pub fn parse(payload_param: &str, signature_param: &str) -> Result<ParsedPayload> {
    if payload_param.len() + signature_param.len() > MAX_QUERY_LEN {
        return Err(Error::new(
            ErrorCode::TooLarge,
            "the signed URL is too long",
        ));
    }
    let json = decode_b64_param(payload_param, "payload")?;
    if json.len() > MAX_PAYLOAD_LEN {
        return Err(Error::new(ErrorCode::TooLarge, "the payload is too long"));
    }
    let signature = decode_b64_param(signature_param, "signature")?;
    if signature.is_empty() || signature.len() > 1024 {
        return Err(Error::malformed("the signature has an impossible length"));
    }
    if !super::is_json_object(&json) {
        return Err(Error::malformed("the payload must be a JSON object"));
    }
    let wire: Wire = serde_json::from_slice(&json).map_err(|_| {
        Error::malformed(
            "the payload is not the expected JSON object (sell_currency, buy_currency, address, \
             partner_id, key_id, created_at, buy_amount or sell_amount)",
        )
    })?;
    let amount = match (wire.buy_amount, wire.sell_amount) {
        (Some(b), None) => Amount::Buy(b.into_string()),
        (None, Some(s)) => Amount::Sell(s.into_string()),
        _ => {
            return Err(Error::malformed(
                "the payload must carry exactly one of buy_amount and sell_amount",
            ));
        }
    };
    let payload = Payload {
        sell_currency: wire.sell_currency,
        buy_currency: wire.buy_currency,
        address: wire.address,
        partner_id: wire.partner_id.into_string(),
        key_id: wire.key_id,
        created_at: wire.created_at,
        amount,
    };
    if payload.key_id.is_empty() || payload.key_id.len() > MAX_FIELD_LEN {
        return Err(Error::malformed(
            "the payload's key_id is empty or too long",
        ));
    }
    Ok(ParsedPayload {
        json,
        signature,
        payload,
    })
}

/// Phase one from a query string (`payload=...&signature=...`, other parameters ignored,
/// a repeated `payload` or `signature` rejected).
pub fn parse_query(query: &str) -> Result<ParsedPayload> {
    if query.len() > MAX_QUERY_LEN {
        return Err(Error::new(
            ErrorCode::TooLarge,
            "the signed URL is too long",
        ));
    }
    let query = query.strip_prefix('?').unwrap_or(query);
    let (mut payload, mut signature) = (None, None);
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match name {
            "payload" => &mut payload,
            "signature" => &mut signature,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(Error::malformed(format!("the URL carries {name} twice")));
        }
    }
    match (payload, signature) {
        (Some(p), Some(s)) => parse(p, s),
        _ => Err(Error::new(
            ErrorCode::Unauthorized,
            "the URL needs both payload and signature parameters",
        )),
    }
}

/// How `created_at` is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AltalixPolicy {
    window: FreshnessWindow,
}

impl Default for AltalixPolicy {
    /// At most 5 minutes old, at most 30 s in the future.
    fn default() -> Self {
        Self::new(Duration::from_secs(300))
    }
}

impl AltalixPolicy {
    /// `created_at` at most `max_age` old and 30 s in the future.
    pub fn new(max_age: Duration) -> Self {
        Self {
            window: FreshnessWindow {
                max_age,
                max_future: Duration::from_secs(30),
            },
        }
    }

    /// Sets the allowed clock skew into the future.
    pub fn with_clock_skew(mut self, skew: Duration) -> Self {
        self.window.max_future = skew;
        self
    }

    /// The window (its [`FreshnessWindow::retention`] is how long to remember replay nonces).
    pub fn window(&self) -> FreshnessWindow {
        self.window
    }
}

/// Phase two: checks the signature over the exact JSON bytes with the key registered under
/// the payload's `key_id`, then `created_at`. Returns the verified payload.
pub fn verify<'p>(
    parsed: &'p ParsedPayload,
    key: &VerifyingKey,
    policy: &AltalixPolicy,
    now: UnixTime,
) -> Result<&'p Payload> {
    check_key_alg(key.algorithm())?;
    key.verify(&parsed.json, &parsed.signature)?;
    let created = parsed.payload.created_at_time()?;
    check_fresh(created, now, policy.window)?;
    Ok(&parsed.payload)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn base64_params_tolerate_encoding_newlines_and_lost_pluses() {
        let want = b"\xfb\xff\xfe hello";
        let b64 = b64_encode(want); // "+//+IGhlbGxv"
        assert!(b64.contains('+') && b64.contains('/'));
        let mut enc = String::new();
        url_encode_into(&b64, &mut enc);
        for variant in [
            b64.clone(),
            enc.clone(),
            enc.replace("%2B", "%2b").replace("%2F", "%2f"),
            b64.replace('+', " "),
            format!("{}\n{}", &b64[..4], &b64[4..]),
            format!("{}%0A{}", &enc[..6], &enc[6..]),
        ] {
            assert_eq!(decode_b64_param(&variant, "x").unwrap(), want, "{variant}");
        }
        for bad in ["%zz", "%4", "é", "abc"] {
            assert!(decode_b64_param(bad, "x").is_err(), "{bad}");
        }
    }
}
