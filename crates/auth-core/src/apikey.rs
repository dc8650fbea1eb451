//! Bearer API keys (docs/protocols.md section 1): keys we issue in a self-describing format with a
//! checksum, foreign opaque keys (Qredo, Altalix), storage digests and constant-time checks.
//!
//! Our format is `<prefix>_<env>_<random>_<checksum>`: `env` is `live` or `test`, `random` is
//! 32 lowercase Base32 characters (160 bits), `checksum` is 8 hex digits of CRC-32 over
//! everything before it. CRC-32 catches every single-character change and every truncation
//! before any store lookup. Only [`ApiKeyDigest`] (SHA-256 of the whole key) is ever stored,
//! inside a [`crate::credential::Credential`] (`Credential::api_key`) that carries the key's
//! partner, environment and status (not before, expiry, revocation).

use crate::error::{Error, ErrorCode, Result};
use crate::rand::{SecureRandom, bytes};
use crate::secret::{SecretBytes, ct_eq};
use std::fmt;

/// Largest key text looked at (an Altalix key is Base64 of JSON plus 256 bytes: ~600 chars).
pub const MAX_API_KEY_LEN: usize = 4096;
/// Shortest foreign key accepted.
pub const MIN_FOREIGN_KEY_LEN: usize = 16;
const RANDOM_BYTES: usize = 20;
const RANDOM_CHARS: usize = 32;
const CHECKSUM_CHARS: usize = 8;
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Which environment a key works in; carried by the key itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    /// Production (`live`).
    Live,
    /// Sandbox (`test`).
    Test,
}

impl Environment {
    /// The text form used inside keys.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Test => "test",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "live" => Some(Self::Live),
            "test" => Some(Self::Test),
            _ => None,
        }
    }
}

/// A key prefix naming the issuer (`pa`, `acme`): 2 to 12 lowercase ASCII letters or digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    /// Validates a prefix.
    pub fn new(prefix: &str) -> Result<Self> {
        let ok = (2..=12).contains(&prefix.len())
            && prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if ok {
            Ok(Self(prefix.to_owned()))
        } else {
            Err(Error::malformed(
                "an API key prefix is 2 to 12 lowercase ASCII letters or digits",
            ))
        }
    }

    /// The prefix text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A newly issued key: show [`IssuedApiKey::expose`] once to its owner, store only
/// [`IssuedApiKey::digest`].
pub struct IssuedApiKey {
    text: SecretBytes,
    env: Environment,
    digest: ApiKeyDigest,
}

impl IssuedApiKey {
    /// The key text, to be shown once. Do not log it.
    pub fn expose(&self) -> &str {
        // Built from ASCII only, so this never fails; an empty string would never verify.
        std::str::from_utf8(self.text.expose()).unwrap_or_default()
    }

    /// The environment.
    pub fn environment(&self) -> Environment {
        self.env
    }

    /// The digest to store.
    pub fn digest(&self) -> ApiKeyDigest {
        self.digest
    }

    /// A non-secret hint for listings: prefix, environment, first 4 random characters, checksum.
    pub fn hint(&self) -> String {
        hint(self.expose())
    }
}

impl fmt::Debug for IssuedApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IssuedApiKey({}, [redacted])", self.hint())
    }
}

fn hint(text: &str) -> String {
    let parts: Vec<&str> = text.split('_').collect();
    match parts.as_slice() {
        [p, e, r, c] if r.len() >= 4 => format!("{p}_{e}_{}…_{c}", &r[..4]),
        _ => "[unrecognised key]".into(),
    }
}

/// Issues a new key.
pub fn generate(
    prefix: &KeyPrefix,
    env: Environment,
    rng: &dyn SecureRandom,
) -> Result<IssuedApiKey> {
    let raw = zeroize::Zeroizing::new(bytes::<RANDOM_BYTES>(rng)?);
    let mut text = String::with_capacity(prefix.0.len() + 6 + RANDOM_CHARS + 1 + CHECKSUM_CHARS);
    text.push_str(&prefix.0);
    text.push('_');
    text.push_str(env.as_str());
    text.push('_');
    base32_into(&raw[..], &mut text);
    let crc = crc32fast::hash(text.as_bytes());
    text.push('_');
    text.push_str(&format!("{crc:08x}"));
    let digest = ApiKeyDigest::of(&text);
    Ok(IssuedApiKey {
        text: SecretBytes::new(text.into_bytes()),
        env,
        digest,
    })
}

fn base32_into(data: &[u8], out: &mut String) {
    let mut acc: u64 = 0;
    let mut bits = 0;
    for &b in data {
        acc = (acc << 8) | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((acc << (5 - bits)) & 31) as usize] as char);
    }
}

/// What a presented key turned out to be, before any lookup. Debug shows the hint of one of
/// ours and only the length of a foreign key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PresentedKey<'a> {
    /// One of ours, well-formed with a correct checksum.
    Issued {
        /// Its environment.
        env: Environment,
        /// The whole key text.
        text: &'a str,
    },
    /// An opaque key issued by someone else (Qredo's Base64 keys, Altalix's signed blobs).
    Foreign(&'a str),
}

impl fmt::Debug for PresentedKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Issued { env, text } => f
                .debug_struct("Issued")
                .field("env", env)
                .field("hint", &hint(text))
                .finish_non_exhaustive(),
            Self::Foreign(text) => write!(f, "Foreign([redacted], {} bytes)", text.len()),
        }
    }
}

impl PresentedKey<'_> {
    /// The digest under which the key's record is stored.
    pub fn digest(&self) -> ApiKeyDigest {
        match self {
            Self::Issued { text, .. } | Self::Foreign(text) => ApiKeyDigest::of(text),
        }
    }
}

/// Classifies and checks a presented key. Text starting with `<prefix>_` must be a valid key
/// of ours (typos and truncations fail here, with no lookup); anything else must look like an
/// opaque token (printable, no spaces, Base64/Base64url alphabet and `-._~`).
pub fn parse<'a>(text: &'a str, ours: &KeyPrefix) -> Result<PresentedKey<'a>> {
    if text.len() > MAX_API_KEY_LEN {
        return Err(Error::new(ErrorCode::TooLarge, "API key is too long"));
    }
    let own = text
        .strip_prefix(ours.as_str())
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some();
    if own {
        return parse_issued(text, ours).map(|env| PresentedKey::Issued { env, text });
    }
    let charset_ok = text.bytes().all(|b| {
        b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_' | b'.' | b'~')
    });
    if text.len() < MIN_FOREIGN_KEY_LEN || !charset_ok {
        return Err(Error::malformed(
            "API key is not in a recognised form (send exactly the key you were issued, without quotes or spaces)",
        ));
    }
    Ok(PresentedKey::Foreign(text))
}

fn parse_issued(text: &str, ours: &KeyPrefix) -> Result<Environment> {
    let typo = || {
        Error::malformed(
            "API key is damaged (checksum or length is wrong): copy the whole key again",
        )
    };
    let body_len = ours.0.len() + 1 + 4 + 1 + RANDOM_CHARS;
    // ASCII first: every split below is then on a character boundary.
    if !text.is_ascii() || text.len() != body_len + 1 + CHECKSUM_CHARS {
        return Err(typo());
    }
    let (body, tail) = text.split_at(body_len);
    let checksum = tail.strip_prefix('_').ok_or_else(typo)?;
    // Parse the 8 lowercase hex digits and compare numbers: no allocation on this path.
    let mut claimed = 0u32;
    for b in checksum.bytes() {
        let v = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return Err(typo()),
        };
        claimed = (claimed << 4) | u32::from(v);
    }
    if claimed != crc32fast::hash(body.as_bytes()) {
        return Err(typo());
    }
    let rest = &body[ours.0.len() + 1..];
    let (env, random) = rest.split_at(4);
    let env = Environment::parse(env).ok_or_else(typo)?;
    let random = random.strip_prefix('_').ok_or_else(typo)?;
    if random.len() != RANDOM_CHARS
        || !random
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
    {
        return Err(typo());
    }
    Ok(env)
}

/// SHA-256 of a key's text: the only form in which keys are stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApiKeyDigest([u8; 32]);

impl ApiKeyDigest {
    /// The digest of `key_text`.
    pub fn of(key_text: &str) -> Self {
        let d = ring::digest::digest(&ring::digest::SHA256, key_text.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Self(out)
    }

    /// From stored bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// From stored hex.
    pub fn from_hex(hex: &str) -> Result<Self> {
        let v = crate::encoding::hex_decode(hex)?;
        v.try_into()
            .map(Self)
            .map_err(|_| Error::malformed("an API key digest is 32 bytes (64 hex digits)"))
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, for storage.
    pub fn to_hex(&self) -> String {
        crate::encoding::hex_lower(&self.0)
    }

    /// Constant-time check that `presented` hashes to this digest.
    pub fn verify(&self, presented: &str) -> Result<()> {
        if ct_eq(&Self::of(presented).0, &self.0) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::UnknownKey,
                "API key is not recognised",
            ))
        }
    }
}

impl fmt::Debug for ApiKeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeyDigest({})", &self.to_hex()[..12])
    }
}
