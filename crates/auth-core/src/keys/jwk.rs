//! Public keys as JSON Web Keys (RFC 7517/7518/8037) and RFC 7638 thumbprints, which make
//! stable key IDs.

use super::{PublicKey, RsaPublicKey};
use crate::encoding::{b64url_decode, b64url_encode};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Largest JWK text accepted.
pub const MAX_JWK_TEXT: usize = 8 * 1024;

/// A public JWK. Private members (`d`, `p`, ...) are refused on input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// Curve for `EC` (`P-256`) and `OKP` (`Ed25519`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// RSA modulus.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA exponent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// EC x / OKP public key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Key ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Intended algorithm, if stated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Whether a private exponent / scalar (`d`) was sent: only its presence is read, so the
    /// private value is never copied out of the input, and the JWK is refused.
    #[serde(skip_serializing, default, deserialize_with = "present")]
    d: bool,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

impl Jwk {
    /// Parses JWK JSON text.
    pub fn from_json(text: &str) -> Result<Self> {
        if text.len() > MAX_JWK_TEXT {
            return Err(Error::malformed("JWK text is too large"));
        }
        // RFC 7517 section 4: a JWK is a JSON object (serde would also read an array).
        if !crate::scheme::is_json_object(text.as_bytes()) {
            return Err(Error::malformed("a JWK must be a JSON object"));
        }
        let jwk: Jwk = serde_json::from_str(text).map_err(|e| {
            Error::malformed(format!("JWK is not valid JSON of the expected shape: {e}"))
        })?;
        if jwk.d {
            return Err(Error::invalid_key(
                "this JWK contains a private key (`d`); publish only the public members",
            ));
        }
        Ok(jwk)
    }

    /// JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn member<'a>(v: &'a Option<String>, name: &'static str) -> Result<&'a str> {
    v.as_deref()
        .ok_or_else(|| Error::malformed(format!("JWK lacks the `{name}` member")))
}

impl PublicKey {
    /// From a public JWK (`RSA`, `EC` P-256, `OKP` Ed25519).
    pub fn from_jwk(jwk: &Jwk) -> Result<Self> {
        match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("RSA", _) => {
                let n = b64url_decode(member(&jwk.n, "n")?, "JWK n")?;
                let e = b64url_decode(member(&jwk.e, "e")?, "JWK e")?;
                Ok(Self::Rsa(RsaPublicKey::from_components(&n, &e)?))
            }
            ("EC", Some("P-256")) => {
                let x = b64url_decode(member(&jwk.x, "x")?, "JWK x")?;
                let y = b64url_decode(member(&jwk.y, "y")?, "JWK y")?;
                if x.len() != 32 || y.len() != 32 {
                    return Err(Error::invalid_key(
                        "P-256 JWK coordinates must be 32 bytes each",
                    ));
                }
                let mut point = [0u8; 65];
                point[0] = 4;
                point[1..33].copy_from_slice(&x);
                point[33..].copy_from_slice(&y);
                Ok(Self::EcP256(point))
            }
            ("OKP", Some("Ed25519")) => {
                let x = b64url_decode(member(&jwk.x, "x")?, "JWK x")?;
                Self::ed25519_from_raw(&x)
            }
            (kty, crv) => Err(Error::invalid_key(format!(
                "unsupported JWK kty {kty:?} / crv {crv:?} (RSA, EC P-256 and OKP Ed25519 are supported)"
            ))),
        }
    }

    /// The public JWK, without `kid` or `alg`.
    pub fn to_jwk(&self) -> Jwk {
        let mut jwk = Jwk {
            kty: String::new(),
            crv: None,
            n: None,
            e: None,
            x: None,
            y: None,
            kid: None,
            alg: None,
            d: false,
        };
        match self {
            Self::Rsa(k) => {
                jwk.kty = "RSA".into();
                jwk.n = Some(b64url_encode(k.modulus()));
                jwk.e = Some(b64url_encode(k.exponent()));
            }
            Self::EcP256(p) => {
                jwk.kty = "EC".into();
                jwk.crv = Some("P-256".into());
                jwk.x = Some(b64url_encode(&p[1..33]));
                jwk.y = Some(b64url_encode(&p[33..]));
            }
            Self::Ed25519(p) => {
                jwk.kty = "OKP".into();
                jwk.crv = Some("Ed25519".into());
                jwk.x = Some(b64url_encode(p));
            }
        }
        jwk
    }

    /// RFC 7638 JWK thumbprint (SHA-256, Base64url): a key ID derived from the key itself.
    pub fn jwk_thumbprint(&self) -> String {
        let jwk = self.to_jwk();
        // Required members only, in lexicographic order, no whitespace (RFC 7638 section 3).
        let canonical = match self {
            Self::Rsa(_) => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                jwk.e.unwrap_or_default(),
                jwk.n.unwrap_or_default()
            ),
            Self::EcP256(_) => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                jwk.x.unwrap_or_default(),
                jwk.y.unwrap_or_default()
            ),
            Self::Ed25519(_) => format!(
                r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
                jwk.x.unwrap_or_default()
            ),
        };
        b64url_encode(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 section 3.1.
        let jwk = Jwk::from_json(
            r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#,
        )
        .unwrap();
        let key = PublicKey::from_jwk(&jwk).unwrap();
        assert_eq!(
            key.jwk_thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert_eq!(PublicKey::from_jwk(&key.to_jwk()).unwrap(), key);
    }

    #[test]
    fn rfc8037_ed25519_thumbprint() {
        // RFC 8037 appendix A.3.
        let jwk = Jwk::from_json(
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        )
        .unwrap();
        let key = PublicKey::from_jwk(&jwk).unwrap();
        assert_eq!(
            key.jwk_thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn refuses_private_and_unknown() {
        assert!(Jwk::from_json(r#"{"kty":"OKP","crv":"Ed25519","x":"AA","d":"AA"}"#).is_err());
        let x25519 = Jwk::from_json(r#"{"kty":"OKP","crv":"X25519","x":"AA"}"#).unwrap();
        assert!(PublicKey::from_jwk(&x25519).is_err());
        assert!(Jwk::from_json("{").is_err());
    }
}
