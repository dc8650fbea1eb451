//! JWT claims: the registered ones and the seed profile's `clientId`, read from the decoded
//! payload without copying (strings are kept as spans into it), and the claims a signer writes.

use super::invalid;
use super::jws::Text;
use crate::error::Result;
use crate::time::UnixTime;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Most audiences accepted in one `aud` array.
pub const MAX_AUDIENCES: usize = 16;

/// Where a string claim lives: a span of the payload (no escapes) or its own copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Span {
    At(usize, usize),
    Owned(Box<str>),
}

impl Span {
    fn new(payload: &str, text: Text<'_>) -> Self {
        match text.0 {
            std::borrow::Cow::Borrowed(s) => {
                let start = (s.as_ptr() as usize).wrapping_sub(payload.as_ptr() as usize);
                match payload.get(start..start.wrapping_add(s.len())) {
                    Some(found) if std::ptr::eq(found, s) => Self::At(start, start + s.len()),
                    _ => Self::Owned(s.into()),
                }
            }
            std::borrow::Cow::Owned(s) => Self::Owned(s.into_boxed_str()),
        }
    }

    pub(crate) fn get<'a>(&'a self, payload: &'a str) -> &'a str {
        match self {
            Self::At(a, b) => payload.get(*a..*b).unwrap_or_default(),
            Self::Owned(s) => s,
        }
    }
}

enum RawAud<'a> {
    One(Text<'a>),
    Many(Vec<Text<'a>>),
}

impl<'de: 'a, 'a> Deserialize<'de> for RawAud<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = RawAud<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(RawAud::One(Text(v.into())))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawAud::One(Text(v.to_owned().into())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(t) = seq.next_element::<Text<'a>>()? {
                    if out.len() == MAX_AUDIENCES {
                        return Err(de::Error::custom("too many audiences"));
                    }
                    out.push(t);
                }
                Ok(RawAud::Many(out))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct RawClaims<'a> {
    #[serde(borrow, default)]
    iss: Option<Text<'a>>,
    #[serde(borrow, default)]
    sub: Option<Text<'a>>,
    #[serde(borrow, default)]
    aud: Option<RawAud<'a>>,
    #[serde(default)]
    exp: Option<u64>,
    #[serde(default)]
    nbf: Option<u64>,
    #[serde(default)]
    iat: Option<u64>,
    #[serde(borrow, default)]
    jti: Option<Text<'a>>,
    #[serde(rename = "clientId", borrow, default)]
    client_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    scope: Option<Text<'a>>,
}

/// The registered claims of a parsed token, as spans of its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Registered {
    pub(crate) iss: Option<Span>,
    pub(crate) sub: Option<Span>,
    pub(crate) aud: Vec<Span>,
    pub(crate) exp: Option<u64>,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: Option<u64>,
    pub(crate) jti: Option<Span>,
    pub(crate) client_id: Option<Span>,
    pub(crate) scope: Option<Span>,
}

impl Registered {
    pub(crate) fn parse(payload: &str) -> Result<Self> {
        if !super::depth_ok(payload.as_bytes()) {
            return Err(invalid("the claims nest JSON too deeply"));
        }
        let raw: RawClaims<'_> = serde_json::from_str(payload).map_err(|e| {
            invalid(format!(
                "the claims are not a JSON object with well-typed registered claims \
                 (exp, nbf and iat are integer seconds; iss, sub, jti and clientId are strings; \
                 names appear once): {e}"
            ))
        })?;
        let span = |t: Option<Text<'_>>| t.map(|t| Span::new(payload, t));
        let aud = match raw.aud {
            None => Vec::new(),
            Some(RawAud::One(t)) => vec![Span::new(payload, t)],
            Some(RawAud::Many(v)) => v.into_iter().map(|t| Span::new(payload, t)).collect(),
        };
        Ok(Self {
            iss: span(raw.iss),
            sub: span(raw.sub),
            aud,
            exp: raw.exp,
            nbf: raw.nbf,
            iat: raw.iat,
            jti: span(raw.jti),
            client_id: span(raw.client_id),
            scope: span(raw.scope),
        })
    }
}

/// `aud`: one audience or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience (serialised as a string).
    One(String),
    /// Several audiences (serialised as an array).
    Many(Vec<String>),
}

/// No custom claims (the default for [`Claims`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoCustomClaims {}

/// The claims a signer writes: the seed profile (`clientId`, `iat`, `exp`), the other
/// registered claims, and custom claims `C` flattened beside them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims<C = NoCustomClaims> {
    /// The partner's client ID (seed profile).
    #[serde(rename = "clientId", default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Issued at, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Not before, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Expiry, seconds since the epoch (always present).
    pub exp: u64,
    /// Token ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Custom claims.
    #[serde(flatten)]
    pub custom: C,
}

/// The seed profile's lifetime: `exp = iat + 900`.
pub const SEED_LIFETIME_SECS: u64 = 900;

impl Claims<NoCustomClaims> {
    /// The seed profile: `clientId`, `iat = now`, `exp = iat + 900`.
    pub fn seed_profile(client_id: impl Into<String>, now: UnixTime) -> Self {
        let iat = now.as_secs();
        Self {
            client_id: Some(client_id.into()),
            iss: None,
            sub: None,
            aud: None,
            iat: Some(iat),
            nbf: None,
            exp: iat.saturating_add(SEED_LIFETIME_SECS),
            jti: None,
            custom: NoCustomClaims {},
        }
    }
}

impl<C> Claims<C> {
    /// Replaces the custom claims.
    pub fn with_custom<D>(self, custom: D) -> Claims<D> {
        Claims {
            client_id: self.client_id,
            iss: self.iss,
            sub: self.sub,
            aud: self.aud,
            iat: self.iat,
            nbf: self.nbf,
            exp: self.exp,
            jti: self.jti,
            custom,
        }
    }
}
