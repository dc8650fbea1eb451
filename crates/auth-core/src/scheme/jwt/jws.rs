//! JWS compact serialization (RFC 7515): the algorithm names, the protected header, splitting
//! and strictly decoding a token, and signing and verifying the signing input. The JWT layer in
//! the parent module builds on this; it is public for payloads that are not JWT claims (RFC 8037
//! A.4 signs plain text).

use super::{depth_ok, invalid};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::{SignatureAlgorithm, SigningKey, VerifyingKey};
use crate::rand::SecureRandom;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// Default and largest accepted token length, in bytes of compact text.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;
/// The hard ceiling for [`super::JwtPolicy::with_max_token_len`].
pub const ABSOLUTE_MAX_TOKEN_LEN: usize = 64 * 1024;
/// Largest decoded protected header.
pub const MAX_HEADER_LEN: usize = 1024;
/// Deepest JSON nesting accepted in a header or a claims set.
pub const MAX_JSON_DEPTH: usize = 16;
/// Largest signature (RSA-4096).
const MAX_SIGNATURE_LEN: usize = 512;

/// A JWS algorithm (RFC 7518 / RFC 8037 names). `none` does not exist here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HMAC-SHA-256.
    HS256,
    /// HMAC-SHA-384.
    HS384,
    /// HMAC-SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 SHA-512.
    RS512,
    /// RSASSA-PSS SHA-256.
    PS256,
    /// RSASSA-PSS SHA-384.
    PS384,
    /// RSASSA-PSS SHA-512.
    PS512,
    /// ECDSA P-256 SHA-256.
    ES256,
    /// Ed25519 (RFC 8037).
    EdDSA,
}

impl Algorithm {
    /// Every algorithm, for iteration in tests and key registries.
    pub const ALL: [Self; 11] = [
        Self::HS256,
        Self::HS384,
        Self::HS512,
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::EdDSA,
    ];

    /// The `alg` header value.
    pub const fn name(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }

    /// From an `alg` header value, exactly (names are case-sensitive; `none` is refused).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The signature algorithm of the key this JWS algorithm needs.
    pub const fn signature_algorithm(self) -> SignatureAlgorithm {
        use SignatureAlgorithm as S;
        match self {
            Self::HS256 => S::HmacSha256,
            Self::HS384 => S::HmacSha384,
            Self::HS512 => S::HmacSha512,
            Self::RS256 => S::RsaPkcs1Sha256,
            Self::RS384 => S::RsaPkcs1Sha384,
            Self::RS512 => S::RsaPkcs1Sha512,
            Self::PS256 => S::RsaPssSha256,
            Self::PS384 => S::RsaPssSha384,
            Self::PS512 => S::RsaPssSha512,
            Self::ES256 => S::EcdsaP256Sha256,
            Self::EdDSA => S::Ed25519,
        }
    }

    /// The JWS algorithm of a key's signature algorithm (every one has a JWS name).
    pub const fn from_signature_algorithm(alg: SignatureAlgorithm) -> Self {
        use SignatureAlgorithm as S;
        match alg {
            S::HmacSha256 => Self::HS256,
            S::HmacSha384 => Self::HS384,
            S::HmacSha512 => Self::HS512,
            S::RsaPkcs1Sha256 => Self::RS256,
            S::RsaPkcs1Sha384 => Self::RS384,
            S::RsaPkcs1Sha512 => Self::RS512,
            S::RsaPssSha256 => Self::PS256,
            S::RsaPssSha384 => Self::PS384,
            S::RsaPssSha512 => Self::PS512,
            S::EcdsaP256Sha256 => Self::ES256,
            S::Ed25519 => Self::EdDSA,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// JSON text as it appears in a decoded part: borrowed when it has no escapes.
pub(crate) struct Text<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// `true` when the member is present at all, whatever its value (even `null`).
pub(crate) fn present<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    IgnoredAny::deserialize(d).map(|_| true)
}

#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(borrow)]
    alg: Text<'a>,
    #[serde(borrow, default)]
    kid: Option<Text<'a>>,
    #[serde(borrow, default)]
    typ: Option<Text<'a>>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
    #[serde(default)]
    b64: Option<serde_json::Value>,
}

/// The parts of a protected header a verifier acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The algorithm the token claims; only ever compared with the key's.
    pub alg: Algorithm,
    /// Key ID, if present.
    pub kid: Option<String>,
    /// Media type (`typ`), if present.
    pub typ: Option<Cow<'static, str>>,
}

/// The headers almost every token carries, Base64url-encoded exactly as PyJWT, node
/// `jsonwebtoken`, jose and this crate write them: `{"alg":X,"typ":"JWT"}`,
/// `{"typ":"JWT","alg":X}` and `{"alg":X}`. A token whose header is one of these byte for byte
/// skips Base64 and JSON decoding; any other header takes the general path.
const CANONICAL_HEADERS: &[(&str, Algorithm, bool)] = &[
    (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
        Algorithm::HS256,
        true,
    ),
    (
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9",
        Algorithm::HS256,
        true,
    ),
    ("eyJhbGciOiJIUzI1NiJ9", Algorithm::HS256, false),
    (
        "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9",
        Algorithm::HS384,
        true,
    ),
    (
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzM4NCJ9",
        Algorithm::HS384,
        true,
    ),
    ("eyJhbGciOiJIUzM4NCJ9", Algorithm::HS384, false),
    (
        "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9",
        Algorithm::HS512,
        true,
    ),
    (
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9",
        Algorithm::HS512,
        true,
    ),
    ("eyJhbGciOiJIUzUxMiJ9", Algorithm::HS512, false),
    (
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9",
        Algorithm::RS256,
        true,
    ),
    (
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9",
        Algorithm::RS256,
        true,
    ),
    ("eyJhbGciOiJSUzI1NiJ9", Algorithm::RS256, false),
    (
        "eyJhbGciOiJSUzM4NCIsInR5cCI6IkpXVCJ9",
        Algorithm::RS384,
        true,
    ),
    (
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzM4NCJ9",
        Algorithm::RS384,
        true,
    ),
    ("eyJhbGciOiJSUzM4NCJ9", Algorithm::RS384, false),
    (
        "eyJhbGciOiJSUzUxMiIsInR5cCI6IkpXVCJ9",
        Algorithm::RS512,
        true,
    ),
    (
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzUxMiJ9",
        Algorithm::RS512,
        true,
    ),
    ("eyJhbGciOiJSUzUxMiJ9", Algorithm::RS512, false),
    (
        "eyJhbGciOiJQUzI1NiIsInR5cCI6IkpXVCJ9",
        Algorithm::PS256,
        true,
    ),
    (
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJQUzI1NiJ9",
        Algorithm::PS256,
        true,
    ),
    ("eyJhbGciOiJQUzI1NiJ9", Algorithm::PS256, false),
    (
        "eyJhbGciOiJQUzM4NCIsInR5cCI6IkpXVCJ9",
        Algorithm::PS384,
        true,
    ),
    (
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJQUzM4NCJ9",
        Algorithm::PS384,
        true,
    ),
    ("eyJhbGciOiJQUzM4NCJ9", Algorithm::PS384, false),
    (
        "eyJhbGciOiJQUzUxMiIsInR5cCI6IkpXVCJ9",
        Algorithm::PS512,
        true,
    ),
    (
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJQUzUxMiJ9",
        Algorithm::PS512,
        true,
    ),
    ("eyJhbGciOiJQUzUxMiJ9", Algorithm::PS512, false),
    (
        "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9",
        Algorithm::ES256,
        true,
    ),
    (
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9",
        Algorithm::ES256,
        true,
    ),
    ("eyJhbGciOiJFUzI1NiJ9", Algorithm::ES256, false),
    (
        "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9",
        Algorithm::EdDSA,
        true,
    ),
    (
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSJ9",
        Algorithm::EdDSA,
        true,
    ),
    ("eyJhbGciOiJFZERTQSJ9", Algorithm::EdDSA, false),
];

fn canonical_header(encoded: &str) -> Option<Header> {
    CANONICAL_HEADERS
        .iter()
        .find(|(e, _, _)| *e == encoded)
        .map(|&(_, alg, typ)| Header {
            alg,
            kid: None,
            typ: typ.then_some(Cow::Borrowed("JWT")),
        })
}

/// Decodes and checks a protected header: known `alg`, no `crit`, no unencoded payload.
pub fn parse_header(encoded: &str) -> Result<Header> {
    if let Some(h) = canonical_header(encoded) {
        return Ok(h);
    }
    parse_header_json(encoded)
}

fn parse_header_json(encoded: &str) -> Result<Header> {
    let mut buf = [0u8; MAX_HEADER_LEN];
    let n = decode_into(encoded, &mut buf, "protected header")?;
    let json = &buf[..n];
    if !crate::scheme::is_json_object(json) {
        return Err(invalid("the protected header must be a JSON object"));
    }
    if !depth_ok(json) {
        return Err(invalid("the protected header nests JSON too deeply"));
    }
    let raw: RawHeader<'_> = serde_json::from_slice(json).map_err(|e| {
        invalid(format!(
            "the protected header is not a JSON object of the expected shape: {e}"
        ))
    })?;
    if raw.crit {
        return Err(invalid(
            "the header lists `crit` extensions; none are understood, so the token is refused",
        ));
    }
    if let Some(b64) = raw.b64
        && b64 != serde_json::Value::Bool(true)
    {
        return Err(invalid(
            "unencoded payloads (`b64`: false, RFC 7797) are not accepted",
        ));
    }
    let name = raw.alg.0;
    let alg = Algorithm::from_name(&name).ok_or_else(|| {
        if name.eq_ignore_ascii_case("none") {
            invalid("alg `none` (an unsecured token) is never accepted")
        } else {
            invalid("the `alg` in the header is not a supported JWS algorithm")
        }
    })?;
    Ok(Header {
        alg,
        kid: raw.kid.map(|t| t.0.into_owned()),
        typ: raw.typ.map(|t| Cow::Owned(t.0.into_owned())),
    })
}

/// A compact JWS split into its parts, header decoded, signature decoded; the payload is
/// still Base64url (decode it with [`Compact::payload`]).
pub struct Compact<'t> {
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`: the signed bytes.
    pub signing_input: &'t str,
    /// The encoded payload.
    pub payload_b64: &'t str,
    /// The decoded protected header.
    pub header: Header,
    /// The encoded signature (checked to decode; decoded again, on the stack, to verify).
    signature_b64: &'t str,
}

impl fmt::Debug for Compact<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compact")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl<'t> Compact<'t> {
    /// Splits and decodes `token`, which must not exceed `max_len` bytes.
    pub fn parse(token: &'t str, max_len: usize) -> Result<Self> {
        if token.len() > max_len.min(ABSOLUTE_MAX_TOKEN_LEN) {
            return Err(invalid(format!(
                "the token is longer than the {} bytes accepted",
                max_len.min(ABSOLUTE_MAX_TOKEN_LEN)
            )));
        }
        if token.trim_start().starts_with('{') {
            return Err(invalid(
                "JWS JSON serialization is not accepted; send the compact form header.payload.signature",
            ));
        }
        let mut parts = token.splitn(4, '.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid(
                "a compact JWS has exactly three dot-separated parts (encrypted JWE is not accepted)",
            ));
        };
        if s.is_empty() {
            return Err(invalid(
                "the signature part is empty; unsecured tokens are never accepted",
            ));
        }
        let header = parse_header(h)?;
        // The signature is decoded once, on the stack, when it is verified; here only its
        // size is bounded.
        if decoded_len_bound(s.len()) > MAX_SIGNATURE_LEN {
            return Err(invalid("the signature is too large"));
        }
        Ok(Self {
            signing_input: &token[..h.len() + 1 + p.len()],
            payload_b64: p,
            header,
            signature_b64: s,
        })
    }

    /// The decoded signature.
    pub fn signature(&self) -> Result<Vec<u8>> {
        URL_SAFE_NO_PAD
            .decode(self.signature_b64)
            .map_err(|_| invalid("the signature is not canonical unpadded Base64url"))
    }

    /// The decoded payload.
    pub fn payload(&self) -> Result<Vec<u8>> {
        URL_SAFE_NO_PAD
            .decode(self.payload_b64)
            .map_err(|_| invalid("the payload is not canonical unpadded Base64url"))
    }

    /// Checks the header's `alg` against the key's, then the signature.
    pub fn verify(&self, key: &VerifyingKey) -> Result<()> {
        let expected = Algorithm::from_signature_algorithm(key.algorithm());
        if self.header.alg != expected {
            return Err(invalid(format!(
                "the token says alg {} but the key is registered for {expected}",
                self.header.alg
            )));
        }
        let mut sig = [0u8; MAX_SIGNATURE_LEN];
        let n = decode_into(self.signature_b64, &mut sig, "signature")?;
        key.verify(self.signing_input.as_bytes(), &sig[..n])
            .map_err(|_| invalid("the signature does not verify with the key"))
    }
}

/// Verifies a compact JWS with `key` and returns its payload (any bytes, not only JWT claims).
pub fn verify_compact(token: &str, key: &VerifyingKey) -> Result<Vec<u8>> {
    let c = Compact::parse(token, DEFAULT_MAX_TOKEN_LEN)?;
    c.verify(key)?;
    c.payload()
}

/// Signs `payload` under the exact protected header bytes `header_json`, whose `alg` must be
/// the key's. Used for byte-exact vectors; JWTs are minted with [`super::JwtSigner`].
pub fn sign_compact(
    header_json: &[u8],
    payload: &[u8],
    key: &SigningKey,
    rng: &dyn SecureRandom,
) -> Result<String> {
    let encoded = URL_SAFE_NO_PAD.encode(header_json);
    let header = parse_header(&encoded)?;
    if header.alg != Algorithm::from_signature_algorithm(key.algorithm()) {
        return Err(Error::new(
            ErrorCode::UnsupportedAlgorithm,
            "the header's alg is not the signing key's algorithm",
        ));
    }
    finish_compact(encoded, payload, key, rng)
}

pub(crate) fn finish_compact(
    mut out: String,
    payload: &[u8],
    key: &SigningKey,
    rng: &dyn SecureRandom,
) -> Result<String> {
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut out);
    let sig = key.sign(out.as_bytes(), rng)?;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(sig, &mut out);
    Ok(out)
}

#[derive(Serialize)]
pub(crate) struct HeaderOut<'a> {
    pub(crate) alg: &'static str,
    pub(crate) typ: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) kid: Option<&'a str>,
}

/// The most bytes `n` characters of unpadded Base64 decode to. Exact, not padded by a few
/// bytes: a 4096-bit RSA signature is 683 characters for exactly 512 bytes.
const fn decoded_len_bound(n: usize) -> usize {
    n / 4 * 3 + n % 4 * 3 / 4
}

fn decode_into(encoded: &str, out: &mut [u8], what: &'static str) -> Result<usize> {
    // An upper bound on the decoded size, so oversize input is refused before decoding.
    if decoded_len_bound(encoded.len()) > out.len() {
        return Err(invalid(format!("the {what} is too large")));
    }
    URL_SAFE_NO_PAD.decode_slice(encoded, out).map_err(|_| {
        invalid(format!(
            "the {what} is not canonical unpadded Base64url (no `=`, no `+` or `/`, no stray bits)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoded_len_bound_is_exact_for_unpadded_base64() {
        for len in 0..600usize {
            let text = URL_SAFE_NO_PAD.encode(vec![0xa5u8; len]);
            assert_eq!(decoded_len_bound(text.len()), len, "{len}");
        }
    }

    #[test]
    fn canonical_headers_are_what_they_claim() {
        assert_eq!(CANONICAL_HEADERS.len(), Algorithm::ALL.len() * 3);
        for &(encoded, alg, typ) in CANONICAL_HEADERS {
            let json = URL_SAFE_NO_PAD.decode(encoded).unwrap_or_default();
            let text = String::from_utf8(json).unwrap_or_default();
            assert!(
                text.contains(&format!("\"alg\":\"{}\"", alg.name())),
                "{text}"
            );
            assert_eq!(text.contains("\"typ\":\"JWT\""), typ, "{text}");
            // The general path reads the same header from the same bytes.
            let slow = parse_header_json(encoded).ok();
            assert_eq!(slow, canonical_header(encoded));
        }
    }
}
