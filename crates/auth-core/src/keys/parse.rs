//! Reading and writing key containers: PEM and DER, PKCS#1, PKCS#8, SPKI, SEC1, the Smile
//! "Base64 of the PEM text" form, and raw Ed25519 bytes. Every parse is bounded and typed.

use super::KeyType;
use super::der::{self, Reader};
use crate::encoding::b64_decode_lenient;
use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use base64::Engine as _;
use ring::signature::KeyPair as _;
use std::fmt;
use zeroize::Zeroizing;

/// Largest PEM or DER input we look at (a 4096-bit PKCS#1 key is about 3.3 KB of PEM).
pub const MAX_KEY_TEXT: usize = 16 * 1024;
/// Smallest accepted RSA modulus.
pub const MIN_RSA_BITS: usize = 2048;
/// Largest accepted RSA modulus.
pub const MAX_RSA_BITS: usize = 4096;

/// id-RSASSA-PSS 1.2.840.113549.1.1.10, used by some PKCS#8 RSA keys (RFC 9421's PSS test key).
const OID_RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];

/// An RSA public key: its PKCS#1 `RSAPublicKey` DER plus the parsed modulus and exponent.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    pkcs1: Vec<u8>,
    n: Vec<u8>,
    e: Vec<u8>,
}

impl RsaPublicKey {
    /// From PKCS#1 `RSAPublicKey` DER.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self> {
        let mut outer = Reader::new(der);
        let mut seq = outer.sequence()?;
        outer.finish()?;
        let n = seq.unsigned_integer()?.to_vec();
        let e = seq.unsigned_integer()?.to_vec();
        seq.finish()?;
        Self::from_components(&n, &e)
    }

    /// From big-endian modulus and exponent (as in a JWK).
    pub fn from_components(n: &[u8], e: &[u8]) -> Result<Self> {
        let skip = n.iter().take_while(|b| **b == 0).count();
        let n = &n[skip..];
        let bits = bit_len(n);
        if bits < MIN_RSA_BITS {
            return Err(Error::invalid_key(format!(
                "RSA key has {bits} bits; at least {MIN_RSA_BITS} are required"
            )));
        }
        if bits > MAX_RSA_BITS {
            return Err(Error::invalid_key(format!(
                "RSA key has {bits} bits; at most {MAX_RSA_BITS} are accepted"
            )));
        }
        let skip = e.iter().take_while(|b| **b == 0).count();
        let e = &e[skip..];
        if e.is_empty() || e.len() > 4 || e[e.len() - 1] & 1 == 0 || e == [1] {
            return Err(Error::invalid_key(
                "RSA public exponent is not a valid odd exponent",
            ));
        }
        let pkcs1 = der::sequence(&[&der::unsigned_integer(n), &der::unsigned_integer(e)]);
        Ok(Self {
            pkcs1,
            n: n.to_vec(),
            e: e.to_vec(),
        })
    }

    /// PKCS#1 `RSAPublicKey` DER.
    pub fn pkcs1_der(&self) -> &[u8] {
        &self.pkcs1
    }

    /// Modulus, big-endian, no leading zeros.
    pub fn modulus(&self) -> &[u8] {
        &self.n
    }

    /// Public exponent, big-endian, no leading zeros.
    pub fn exponent(&self) -> &[u8] {
        &self.e
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        bit_len(&self.n)
    }
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPublicKey({} bits)", self.bits())
    }
}

fn bit_len(n: &[u8]) -> usize {
    match n.first() {
        None => 0,
        Some(b) => n.len() * 8 - b.leading_zeros() as usize,
    }
}

/// A public key of any supported type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// RSA.
    Rsa(RsaPublicKey),
    /// P-256, uncompressed SEC1 point (`0x04 || x || y`).
    EcP256([u8; 65]),
    /// Ed25519, 32 raw bytes.
    Ed25519([u8; 32]),
}

impl PublicKey {
    /// The key type.
    pub fn key_type(&self) -> KeyType {
        match self {
            Self::Rsa(_) => KeyType::Rsa,
            Self::EcP256(_) => KeyType::EcP256,
            Self::Ed25519(_) => KeyType::Ed25519,
        }
    }

    /// From PEM text: `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1).
    pub fn from_pem(text: &str) -> Result<Self> {
        let block = pem_block(text, &["PUBLIC KEY", "RSA PUBLIC KEY"])?;
        match block.tag() {
            "RSA PUBLIC KEY" => Ok(Self::Rsa(RsaPublicKey::from_pkcs1_der(block.contents())?)),
            _ => Self::from_spki_der(block.contents()),
        }
    }

    /// From DER: SPKI, or else PKCS#1 `RSAPublicKey`.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        Self::from_spki_der(der).or_else(|spki_err| {
            RsaPublicKey::from_pkcs1_der(der)
                .map(Self::Rsa)
                .map_err(|_| spki_err)
        })
    }

    /// From PEM or DER, whichever `input` is.
    pub fn from_pem_or_der(input: &[u8]) -> Result<Self> {
        match std::str::from_utf8(input) {
            Ok(text) if text.contains("-----BEGIN") => Self::from_pem(text),
            _ => Self::from_der(input),
        }
    }

    /// The Smile form: Base64 of the PEM text (line breaks tolerated).
    pub fn from_smile_base64(text: &str) -> Result<Self> {
        let pem = b64_decode_lenient(text, "Smile public key")?;
        let pem = String::from_utf8(pem)
            .map_err(|_| Error::invalid_key("Smile public key does not decode to PEM text"))?;
        Self::from_pem(&pem)
    }

    /// The Smile form: Base64 of this key's SPKI PEM text.
    pub fn to_smile_base64(&self) -> String {
        crate::encoding::b64_encode(self.to_spki_pem().as_bytes())
    }

    /// Ed25519 from its 32 raw bytes.
    pub fn ed25519_from_raw(raw: &[u8]) -> Result<Self> {
        let pk: [u8; 32] = raw
            .try_into()
            .map_err(|_| Error::invalid_key("an Ed25519 public key is exactly 32 bytes"))?;
        Ok(Self::Ed25519(pk))
    }

    /// P-256 from an uncompressed SEC1 point.
    pub fn p256_from_point(point: &[u8]) -> Result<Self> {
        let p: [u8; 65] = point
            .try_into()
            .ok()
            .filter(|p: &[u8; 65]| p[0] == 4)
            .ok_or_else(|| {
                Error::invalid_key("a P-256 public key must be an uncompressed 65-byte point")
            })?;
        Ok(Self::EcP256(p))
    }

    /// From SPKI (`SubjectPublicKeyInfo`) DER.
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_KEY_TEXT {
            return Err(Error::invalid_key("public key is too large"));
        }
        let mut outer = Reader::new(der);
        let mut spki = outer.sequence()?;
        outer.finish()?;
        let mut alg = spki.sequence()?;
        let oid = alg.read(der::TAG_OID)?;
        let params = if alg.is_empty() {
            None
        } else {
            Some(alg.peek_tag())
        };
        let key = spki.bit_string()?;
        spki.finish()?;
        match oid {
            o if o == der::OID_RSA || o == OID_RSA_PSS => {
                Ok(Self::Rsa(RsaPublicKey::from_pkcs1_der(key)?))
            }
            o if o == der::OID_EC_PUBLIC_KEY => {
                if params != Some(Some(der::TAG_OID)) || alg.read(der::TAG_OID)? != der::OID_P256 {
                    return Err(Error::invalid_key(
                        "only the P-256 curve is supported for EC keys",
                    ));
                }
                Self::p256_from_point(key)
            }
            o if o == der::OID_ED25519 => Self::ed25519_from_raw(key),
            _ => Err(Error::invalid_key(
                "unsupported public key algorithm (RSA, P-256 and Ed25519 are supported)",
            )),
        }
    }

    /// SPKI DER.
    pub fn to_spki_der(&self) -> Vec<u8> {
        let null = der::tlv(der::TAG_NULL, &[]);
        let curve = der::tlv(der::TAG_OID, der::OID_P256);
        let (alg, key) = match self {
            Self::Rsa(k) => (
                der::algorithm_identifier(der::OID_RSA, Some(&null)),
                k.pkcs1_der(),
            ),
            Self::EcP256(p) => (
                der::algorithm_identifier(der::OID_EC_PUBLIC_KEY, Some(&curve)),
                &p[..],
            ),
            Self::Ed25519(p) => (der::algorithm_identifier(der::OID_ED25519, None), &p[..]),
        };
        der::sequence(&[&alg, &der::bit_string(key)])
    }

    /// SPKI PEM (`BEGIN PUBLIC KEY`), what `openssl pkey -pubout` writes.
    pub fn to_spki_pem(&self) -> String {
        pem_encode("PUBLIC KEY", self.to_spki_der())
    }

    /// PKCS#1 PEM (`BEGIN RSA PUBLIC KEY`); RSA keys only.
    pub fn to_pkcs1_pem(&self) -> Result<String> {
        match self {
            Self::Rsa(k) => Ok(pem_encode("RSA PUBLIC KEY", k.pkcs1_der().to_vec())),
            _ => Err(Error::invalid_key("only RSA keys have a PKCS#1 form")),
        }
    }
}

pub(super) enum PrivateMaterial {
    Rsa {
        pkcs1: SecretBytes,
        public: RsaPublicKey,
    },
    EcP256 {
        scalar: SecretBytes,
        public: [u8; 65],
    },
    Ed25519 {
        seed: SecretBytes,
        public: [u8; 32],
    },
}

/// A private key of any supported type, validated, held in memory that is wiped on drop.
/// Bind it to an algorithm with [`super::SigningKey::new`].
pub struct PrivateKey(PrivateMaterial);

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({:?}, [redacted])", self.key_type())
    }
}

impl PrivateKey {
    pub(super) fn material(&self) -> &PrivateMaterial {
        &self.0
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        match &self.0 {
            PrivateMaterial::Rsa { .. } => KeyType::Rsa,
            PrivateMaterial::EcP256 { .. } => KeyType::EcP256,
            PrivateMaterial::Ed25519 { .. } => KeyType::Ed25519,
        }
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        match &self.0 {
            PrivateMaterial::Rsa { public, .. } => PublicKey::Rsa(public.clone()),
            PrivateMaterial::EcP256 { public, .. } => PublicKey::EcP256(*public),
            PrivateMaterial::Ed25519 { public, .. } => PublicKey::Ed25519(*public),
        }
    }

    /// From PEM text: `RSA PRIVATE KEY` (PKCS#1), `PRIVATE KEY` (PKCS#8) or
    /// `EC PRIVATE KEY` (SEC1). Other blocks (such as `EC PARAMETERS`) are skipped.
    pub fn from_pem(text: &str) -> Result<Self> {
        let (tag, der) =
            pem_secret_block(text, &["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY"])?;
        match tag {
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(&der),
            "EC PRIVATE KEY" => Self::from_sec1_der(&der),
            _ => Self::from_pkcs8_der(&der),
        }
    }

    /// From DER: PKCS#8, PKCS#1 or SEC1, whichever parses.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        Self::from_pkcs8_der(der)
            .or_else(|e| Self::from_pkcs1_der(der).map_err(|_| e.clone()))
            .or_else(|e| Self::from_sec1_der(der).map_err(|_| e))
    }

    /// From PEM or DER, whichever `input` is.
    pub fn from_pem_or_der(input: &[u8]) -> Result<Self> {
        match std::str::from_utf8(input) {
            Ok(text) if text.contains("-----BEGIN") => Self::from_pem(text),
            _ => Self::from_der(input),
        }
    }

    /// From PKCS#1 `RSAPrivateKey` DER (`openssl genrsa -traditional`).
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_KEY_TEXT {
            return Err(Error::invalid_key("private key is too large"));
        }
        let mut outer = Reader::new(der);
        let mut seq = outer.sequence()?;
        outer.finish()?;
        if seq.small_integer()? != 0 {
            return Err(Error::invalid_key("multi-prime RSA keys are not supported"));
        }
        let n = seq.unsigned_integer()?;
        let e = seq.unsigned_integer()?;
        let public = RsaPublicKey::from_components(n, e)?;
        // Full consistency check (primes, CRT values) by the backend, once, at load time.
        let pair = ring::signature::RsaKeyPair::from_der(der).map_err(|e| {
            Error::invalid_key(format!(
                "RSA private key rejected ({e}): it must be a consistent two-prime key with \
                     primes of equal size, as openssl and `generate_rsa` make"
            ))
        })?;
        if pair.public().as_ref() != public.pkcs1_der() {
            return Err(Error::invalid_key("RSA private key is inconsistent"));
        }
        Ok(Self(PrivateMaterial::Rsa {
            pkcs1: SecretBytes::from_slice(der),
            public,
        }))
    }

    /// From PKCS#8 `PrivateKeyInfo` DER (v1 or v2), RSA, P-256 or Ed25519.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_KEY_TEXT {
            return Err(Error::invalid_key("private key is too large"));
        }
        let mut outer = Reader::new(der);
        let mut info = outer.sequence()?;
        outer.finish()?;
        let version = info.small_integer()?;
        if version > 1 {
            return Err(Error::invalid_key("unknown PKCS#8 version"));
        }
        let mut alg = info.sequence()?;
        let oid = alg.read(der::TAG_OID)?;
        let key = info.read(der::TAG_OCTET_STRING)?;
        // Optional attributes [0] and public key [1] follow; they are not needed.
        match oid {
            o if o == der::OID_RSA || o == OID_RSA_PSS => Self::from_pkcs1_der(key),
            o if o == der::OID_EC_PUBLIC_KEY => {
                if alg.read(der::TAG_OID)? != der::OID_P256 {
                    return Err(Error::invalid_key(
                        "only the P-256 curve is supported for EC keys",
                    ));
                }
                Self::from_sec1_der(key)
            }
            o if o == der::OID_ED25519 => {
                let mut r = Reader::new(key);
                let seed = r.read(der::TAG_OCTET_STRING)?;
                r.finish()?;
                Self::ed25519_from_seed(seed)
            }
            _ => Err(Error::invalid_key(
                "unsupported private key algorithm (RSA, P-256 and Ed25519 are supported)",
            )),
        }
    }

    /// From SEC1 `ECPrivateKey` DER (`openssl ecparam -genkey`); P-256 only, and the
    /// public key must be present (openssl always writes it).
    pub fn from_sec1_der(der: &[u8]) -> Result<Self> {
        let mut outer = Reader::new(der);
        let mut seq = outer.sequence()?;
        outer.finish()?;
        if seq.small_integer()? != 1 {
            return Err(Error::invalid_key("unknown SEC1 EC private key version"));
        }
        let scalar = seq.read(der::TAG_OCTET_STRING)?;
        if scalar.len() != 32 {
            return Err(Error::invalid_key("P-256 private scalar must be 32 bytes"));
        }
        let mut public = None;
        while !seq.is_empty() {
            match seq.peek_tag() {
                Some(0xa0) => {
                    let mut p = Reader::new(seq.read(0xa0)?);
                    if p.read(der::TAG_OID)? != der::OID_P256 {
                        return Err(Error::invalid_key(
                            "only the P-256 curve is supported for EC keys",
                        ));
                    }
                }
                Some(0xa1) => {
                    let mut p = Reader::new(seq.read(0xa1)?);
                    public = Some(p.bit_string()?);
                }
                _ => {
                    return Err(Error::invalid_key(
                        "unexpected field in SEC1 EC private key",
                    ));
                }
            }
        }
        let public = public.ok_or_else(|| {
            Error::invalid_key(
                "EC private key lacks its public key; re-export it with `openssl ec`",
            )
        })?;
        let PublicKey::EcP256(point) = PublicKey::p256_from_point(public)? else {
            return Err(Error::invalid_key("bad P-256 public key"));
        };
        // Consistency is checked by ring when the key is bound in SigningKey::new.
        Ok(Self(PrivateMaterial::EcP256 {
            scalar: SecretBytes::from_slice(scalar),
            public: point,
        }))
    }

    /// Ed25519 from its 32-byte seed.
    pub fn ed25519_from_seed(seed: &[u8]) -> Result<Self> {
        if seed.len() != 32 {
            return Err(Error::invalid_key(
                "an Ed25519 private key (seed) is exactly 32 bytes",
            ));
        }
        let kp = ring::signature::Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| Error::invalid_key("Ed25519 seed rejected"))?;
        let mut public = [0u8; 32];
        public.copy_from_slice(kp.public_key().as_ref());
        Ok(Self(PrivateMaterial::Ed25519 {
            seed: SecretBytes::from_slice(seed),
            public,
        }))
    }

    /// The Ed25519 seed (32 bytes); `None` for other key types. Handle with care.
    pub fn ed25519_seed(&self) -> Option<&[u8]> {
        match &self.0 {
            PrivateMaterial::Ed25519 { seed, .. } => Some(seed.expose()),
            _ => None,
        }
    }

    /// PKCS#8 DER (what `openssl genpkey` writes), wiped when dropped.
    pub fn to_pkcs8_der(&self) -> SecretBytes {
        let null = der::tlv(der::TAG_NULL, &[]);
        let curve = der::tlv(der::TAG_OID, der::OID_P256);
        let version = der::unsigned_integer(&[0]);
        let (alg, inner) = match &self.0 {
            PrivateMaterial::Rsa { pkcs1, .. } => (
                der::algorithm_identifier(der::OID_RSA, Some(&null)),
                SecretBytes::from_slice(pkcs1.expose()),
            ),
            PrivateMaterial::EcP256 { scalar, public } => (
                der::algorithm_identifier(der::OID_EC_PUBLIC_KEY, Some(&curve)),
                self.sec1_der(scalar, public, false),
            ),
            PrivateMaterial::Ed25519 { seed, .. } => (
                der::algorithm_identifier(der::OID_ED25519, None),
                SecretBytes::new(der::tlv(der::TAG_OCTET_STRING, seed.expose())),
            ),
        };
        let key = SecretBytes::new(der::tlv(der::TAG_OCTET_STRING, inner.expose()));
        SecretBytes::new(der::sequence(&[&version, &alg, key.expose()]))
    }

    fn sec1_der(&self, scalar: &SecretBytes, public: &[u8; 65], with_curve: bool) -> SecretBytes {
        let version = der::unsigned_integer(&[1]);
        let d = SecretBytes::new(der::tlv(der::TAG_OCTET_STRING, scalar.expose()));
        let pubkey = der::tlv(0xa1, &der::bit_string(public));
        let curve = der::tlv(0xa0, &der::tlv(der::TAG_OID, der::OID_P256));
        let parts: Vec<&[u8]> = if with_curve {
            vec![&version, d.expose(), &curve, &pubkey]
        } else {
            vec![&version, d.expose(), &pubkey]
        };
        SecretBytes::new(der::sequence(&parts))
    }

    /// PKCS#8 PEM (`BEGIN PRIVATE KEY`).
    pub fn to_pkcs8_pem(&self) -> SecretBytes {
        pem_encode_secret("PRIVATE KEY", self.to_pkcs8_der().expose())
    }

    /// The traditional PEM form: PKCS#1 `RSA PRIVATE KEY` for RSA, SEC1 `EC PRIVATE KEY` for
    /// P-256; Ed25519 has none and gets PKCS#8.
    pub fn to_traditional_pem(&self) -> SecretBytes {
        match &self.0 {
            PrivateMaterial::Rsa { pkcs1, .. } => {
                pem_encode_secret("RSA PRIVATE KEY", pkcs1.expose())
            }
            PrivateMaterial::EcP256 { scalar, public } => pem_encode_secret(
                "EC PRIVATE KEY",
                self.sec1_der(scalar, public, true).expose(),
            ),
            PrivateMaterial::Ed25519 { .. } => self.to_pkcs8_pem(),
        }
    }
}

/// The one block labelled with one of `labels` in `text`, its DER decoded into memory that
/// is wiped on drop. The `pem` crate leaves the decoded DER and a whitespace-free copy of
/// its Base64 in freed memory, so private keys are read here, with its framing (checked
/// against it by a differential test): `-----BEGIN L-----`, optional `Name: value` header
/// lines ended by a blank line, Base64 with whitespace anywhere, `-----END L-----`. Every
/// block must be well formed; other labels (`EC PARAMETERS`) are skipped.
fn pem_secret_block(
    text: &str,
    labels: &[&'static str],
) -> Result<(&'static str, Zeroizing<Vec<u8>>)> {
    if text.len() > MAX_KEY_TEXT {
        return Err(Error::invalid_key("key text is too large"));
    }
    if text.contains("ENCRYPTED") {
        return Err(Error::invalid_key(
            "encrypted PEM keys are not supported; decrypt first (openssl pkey -in key.pem -out plain.pem)",
        ));
    }
    let bad = || Error::invalid_key("not valid PEM: a block's framing or Base64 is damaged");
    let mut found: Option<(&'static str, Zeroizing<Vec<u8>>)> = None;
    let mut rest = text.trim();
    // Like the pem crate, stop quietly at the first BEGIN that has no complete block after it.
    while let Some(block) = next_pem_block(rest) {
        rest = block.rest;
        if block.label.is_empty() || block.label != block.end_label {
            return Err(bad());
        }
        let data = match split_pem_headers(block.payload) {
            Some((headers, data)) if headers.lines().all(|l| l.contains(':')) => data,
            Some(_) => return Err(bad()),
            None => block.payload,
        };
        // Capacities are exact upper bounds, so neither buffer reallocates and leaves a copy.
        let mut b64 = Zeroizing::new(String::with_capacity(data.len()));
        b64.extend(data.chars().filter(|c| !c.is_whitespace()));
        let mut der = Zeroizing::new(Vec::with_capacity(b64.len().div_ceil(4) * 3));
        base64::engine::general_purpose::STANDARD
            .decode_vec(b64.as_bytes(), &mut der)
            .map_err(|_| bad())?;
        if let Some(label) = labels.iter().find(|l| **l == block.label) {
            if found.is_some() {
                return Err(Error::invalid_key(
                    "more than one key in the PEM text; give one key",
                ));
            }
            found = Some((label, der));
        }
    }
    found.ok_or_else(|| {
        Error::invalid_key(format!(
            "no PEM block labelled {} found",
            labels.join(" or ")
        ))
    })
}

struct PemBlock<'t> {
    label: &'t str,
    payload: &'t str,
    end_label: &'t str,
    rest: &'t str,
}

/// The next `-----BEGIN L-----` ... `-----END L'-----` in `text` (the pem crate's framing).
fn next_pem_block(text: &str) -> Option<PemBlock<'_>> {
    let (after_begin, _) = read_until(text, "-----BEGIN ")?;
    let (body, label) = read_until(after_begin, "-----")?;
    let (after_end, payload) = read_until(skip_pem_whitespace(body), "-----END ")?;
    let (rest, end_label) = read_until(after_end, "-----")?;
    Some(PemBlock {
        label,
        payload,
        end_label,
        rest: skip_pem_whitespace(rest),
    })
}

fn skip_pem_whitespace(s: &str) -> &str {
    s.trim_start_matches([' ', '\t', '\n', '\r'])
}

/// `(after, before)` the first match of `marker` in `input`, with the pem crate's matcher
/// (which, on a mismatch, does not retry the current byte as the marker's start), so both
/// find the same blocks. Markers are ASCII, so every split is on a character boundary.
fn read_until<'a>(input: &'a str, marker: &str) -> Option<(&'a str, &'a str)> {
    let (b, m) = (input.as_bytes(), marker.as_bytes());
    let (mut index, mut found) = (0, 0);
    while b.len() - index >= m.len() - found {
        if b[index] == m[found] {
            found += 1;
        } else {
            found = 0;
        }
        index += 1;
        if found == m.len() {
            return Some((&input[index..], &input[..index - found]));
        }
    }
    None
}

/// Whether `payload` has header lines: `(headers, data)` split at the first blank line.
fn split_pem_headers(payload: &str) -> Option<(&str, &str)> {
    read_until(payload, "\n\n")
        .or_else(|| read_until(payload, "\r\n\r\n"))
        .map(|(data, headers)| (headers, data))
}

/// PEM text (64-column Base64, LF line ends, as the `pem` crate writes it) of secret DER,
/// built only in memory that is wiped: the crate's encoder leaves a Base64 copy behind.
fn pem_encode_secret(label: &str, der: &[u8]) -> SecretBytes {
    let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(der));
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 1 + 2 * label.len() + 32);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for line in b64.as_bytes().chunks(64) {
        // Base64 is ASCII, so every chunk is UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    SecretBytes::new(out.into_bytes())
}

fn pem_block(text: &str, labels: &[&str]) -> Result<pem::Pem> {
    if text.len() > MAX_KEY_TEXT {
        return Err(Error::invalid_key("key text is too large"));
    }
    if text.contains("ENCRYPTED") {
        return Err(Error::invalid_key(
            "encrypted PEM keys are not supported; decrypt first (openssl pkey -in key.pem -out plain.pem)",
        ));
    }
    let blocks = pem::parse_many(text.trim())
        .map_err(|e| Error::invalid_key(format!("not valid PEM: {e}")))?;
    let mut found = blocks.into_iter().filter(|b| labels.contains(&b.tag()));
    let block = found.next().ok_or_else(|| {
        Error::invalid_key(format!(
            "no PEM block labelled {} found",
            labels.join(" or ")
        ))
    })?;
    if found.next().is_some() {
        return Err(Error::invalid_key(
            "more than one key in the PEM text; give one key",
        ));
    }
    Ok(block)
}

fn pem_encode(label: &str, der: Vec<u8>) -> String {
    let block = pem::Pem::new(label, der);
    pem::encode_config(
        &block,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    const LABELS: &[&str] = &["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY"];

    /// What the pem crate makes of `text`, under the same rules as `pem_secret_block`.
    fn with_pem_crate(text: &str) -> Option<(String, Vec<u8>)> {
        let blocks = pem::parse_many(text.trim()).ok()?;
        let mut keys = blocks.into_iter().filter(|b| LABELS.contains(&b.tag()));
        let key = keys.next()?;
        if keys.next().is_some() {
            return None;
        }
        Some((key.tag().to_owned(), key.into_contents()))
    }

    fn same_as_pem_crate(text: &str) {
        let ours = pem_secret_block(text, LABELS)
            .ok()
            .map(|(l, d)| (l.to_owned(), d.to_vec()));
        assert_eq!(ours, with_pem_crate(text), "{text:?}");
    }

    #[test]
    fn agrees_with_the_pem_crate_on_examples() {
        let der = [0x30u8, 0x03, 0x02, 0x01, 0x00];
        let key =
            String::from_utf8(pem_encode_secret("PRIVATE KEY", &der).expose().to_vec()).unwrap();
        assert_eq!(key, pem_encode("PRIVATE KEY", der.to_vec()));
        for text in [
            key.clone(),
            key.replace('\n', "\r\n"),
            format!("  \n{key}\n\n"),
            format!(
                "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{key}"
            ),
            format!("{key}{key}"),
            key.replace("-----END PRIVATE KEY", "-----END RSA PRIVATE KEY"),
            key.replace("MAMCAQA=", "MAMC AQA="),
            key.replace("MAMCAQA=", "MAMCAQA"),
            key.replace("-----\nMAM", "-----\nProc-Type: 4\n\nMAM"),
            key.replace("-----\nMAM", "-----\nno colon\n\nMAM"),
            key.replace("-----END PRIVATE KEY-----", ""),
            "-----BEGIN -----\nMAMCAQA=\n-----END -----\n".to_owned(),
            format!("garbage before {key} garbage after"),
            String::new(),
        ] {
            same_as_pem_crate(&text);
        }
    }

    proptest! {
        #[test]
        fn agrees_with_the_pem_crate(
            der in proptest::collection::vec(any::<u8>(), 0..64),
            label in prop_oneof![Just("PRIVATE KEY"), Just("EC PRIVATE KEY"), Just("EC PARAMETERS")],
            cut in any::<prop::sample::Index>(),
            insert in "[- A-Za-z0-9:\r\n=+/]{0,6}",
        ) {
            let text = String::from_utf8(pem_encode_secret(label, &der).expose().to_vec()).unwrap();
            let at = cut.index(text.len() + 1);
            let mutated = format!("{}{insert}{}", &text[..at], &text[at..]);
            same_as_pem_crate(&text);
            same_as_pem_crate(&mutated);
        }
    }
}
