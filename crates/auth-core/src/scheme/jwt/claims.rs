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
        if let Some(fast) = flat::parse(payload) {
            return Ok(fast);
        }
        if !crate::scheme::is_json_object(payload.as_bytes()) {
            return Err(invalid("the claims set must be a JSON object"));
        }
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
        Ok(Self::from_raw(payload, raw))
    }

    /// Converts what serde read into spans of `payload`.
    fn from_raw(payload: &str, raw: RawClaims<'_>) -> Self {
        let span = |t: Option<Text<'_>>| t.map(|t| Span::new(payload, t));
        let aud = match raw.aud {
            None => Vec::new(),
            Some(RawAud::One(t)) => vec![Span::new(payload, t)],
            Some(RawAud::Many(v)) => v.into_iter().map(|t| Span::new(payload, t)).collect(),
        };
        Self {
            iss: span(raw.iss),
            sub: span(raw.sub),
            aud,
            exp: raw.exp,
            nbf: raw.nbf,
            iat: raw.iat,
            jti: span(raw.jti),
            client_id: span(raw.client_id),
            scope: span(raw.scope),
        }
    }
}

/// The fast path for the claims almost every token carries: one flat JSON object whose values
/// are plain strings (no escapes) or unsigned integers. It accepts a strict subset of what the
/// serde path accepts and yields the same result; anything else (escapes, nesting, floats,
/// literals, duplicates of a registered claim, any doubt) returns `None` and takes the serde
/// path, which then produces the precise error. A differential test and fuzz target hold the
/// two paths to the same answers.
mod flat {
    use super::{Registered, Span};

    enum Value {
        Str(usize, usize),
        Int(u64),
    }

    struct Cursor<'a> {
        b: &'a [u8],
        i: usize,
    }

    impl Cursor<'_> {
        fn ws(&mut self) {
            while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
                self.i += 1;
            }
        }

        fn eat(&mut self, c: u8) -> Option<()> {
            (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
        }

        /// A string without escapes or control characters: its content's byte range.
        fn string(&mut self) -> Option<(usize, usize)> {
            self.eat(b'"')?;
            let start = self.i;
            loop {
                match *self.b.get(self.i)? {
                    b'"' => break,
                    b'\\' => return None,
                    c if c < 0x20 => return None,
                    _ => self.i += 1,
                }
            }
            let end = self.i;
            self.i += 1;
            Some((start, end))
        }

        /// `0` or `[1-9][0-9]*` fitting in u64, not followed by `.`, `e` or `E`.
        fn integer(&mut self) -> Option<u64> {
            let start = self.i;
            let mut n: u64 = 0;
            while let Some(d @ b'0'..=b'9') = self.b.get(self.i) {
                n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
                self.i += 1;
            }
            let len = self.i - start;
            if len == 0 || (len > 1 && self.b[start] == b'0') {
                return None;
            }
            match self.b.get(self.i) {
                Some(b'.' | b'e' | b'E') => None,
                _ => Some(n),
            }
        }

        fn value(&mut self) -> Option<Value> {
            match self.b.get(self.i)? {
                b'"' => self.string().map(|(a, z)| Value::Str(a, z)),
                b'0'..=b'9' => self.integer().map(Value::Int),
                _ => None,
            }
        }
    }

    pub(super) fn parse(payload: &str) -> Option<Registered> {
        let mut c = Cursor {
            b: payload.as_bytes(),
            i: 0,
        };
        let mut r = Registered {
            iss: None,
            sub: None,
            aud: Vec::new(),
            exp: None,
            nbf: None,
            iat: None,
            jti: None,
            client_id: None,
            scope: None,
        };
        let mut seen_aud = false;
        c.ws();
        c.eat(b'{')?;
        c.ws();
        if c.eat(b'}').is_none() {
            loop {
                c.ws();
                let (ka, kz) = c.string()?;
                c.ws();
                c.eat(b':')?;
                c.ws();
                let v = c.value()?;
                let text = |slot: &mut Option<Span>| match v {
                    Value::Str(a, z) if slot.is_none() => {
                        *slot = Some(Span::At(a, z));
                        Some(())
                    }
                    _ => None,
                };
                let int = |slot: &mut Option<u64>| match v {
                    Value::Int(n) if slot.is_none() => {
                        *slot = Some(n);
                        Some(())
                    }
                    _ => None,
                };
                match &payload.as_bytes()[ka..kz] {
                    b"iss" => text(&mut r.iss)?,
                    b"sub" => text(&mut r.sub)?,
                    b"jti" => text(&mut r.jti)?,
                    b"clientId" => text(&mut r.client_id)?,
                    b"scope" => text(&mut r.scope)?,
                    b"exp" => int(&mut r.exp)?,
                    b"nbf" => int(&mut r.nbf)?,
                    b"iat" => int(&mut r.iat)?,
                    b"aud" => match v {
                        Value::Str(a, z) if !seen_aud => {
                            seen_aud = true;
                            r.aud.push(Span::At(a, z));
                        }
                        _ => return None,
                    },
                    _ => {}
                }
                c.ws();
                if c.eat(b',').is_none() {
                    break;
                }
            }
            c.eat(b'}')?;
        }
        c.ws();
        (c.i == payload.len()).then_some(r)
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn serde_path(payload: &str) -> Option<Registered> {
        let raw: RawClaims<'_> = serde_json::from_str(payload).ok()?;
        Some(Registered::from_raw(payload, raw))
    }

    fn same(payload: &str) {
        if let Some(fast) = flat::parse(payload) {
            assert_eq!(Some(fast), serde_path(payload), "{payload:?}");
        }
    }

    #[test]
    fn fast_path_takes_the_common_shapes() {
        for p in [
            r#"{"clientId":"client-085","iat":1700000000,"exp":1700000900}"#,
            r#"{ "iss" : "joe" , "exp" : 0 , "x" : "y" }"#,
            "{}",
            " {\r\n\t} ",
        ] {
            assert!(flat::parse(p).is_some(), "{p}");
            same(p);
        }
        for p in [
            r#"{"exp":1,"exp":2}"#,
            r#"{"exp":"1"}"#,
            r#"{"exp":1.5}"#,
            r#"{"exp":1e3}"#,
            r#"{"exp":-1}"#,
            r#"{"exp":01}"#,
            r#"{"exp":99999999999999999999}"#,
            r#"{"iss":"a\"b"}"#,
            r#"{"a":[1]}"#,
            r#"{"a":true}"#,
            r#"{"a":1,}"#,
            r#"{"a":1} x"#,
            r#"{"aud":["x"]}"#,
            "[]",
            "",
        ] {
            assert!(flat::parse(p).is_none(), "{p}");
        }
    }

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just(",".to_owned()),
            Just(":".to_owned()),
            Just(" ".to_owned()),
            Just("\n".to_owned()),
            Just("\"exp\"".to_owned()),
            Just("\"iat\"".to_owned()),
            Just("\"aud\"".to_owned()),
            Just("\"clientId\"".to_owned()),
            Just("\"iss\"".to_owned()),
            Just("\"x\"".to_owned()),
            Just("0".to_owned()),
            Just("01".to_owned()),
            Just("1.5".to_owned()),
            Just("-3".to_owned()),
            Just("true".to_owned()),
            Just("null".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just("\"a\\\"b\"".to_owned()),
            Just("\"\u{e9}\"".to_owned()),
            Just("18446744073709551615".to_owned()),
            Just("18446744073709551616".to_owned()),
            (0u64..u64::MAX).prop_map(|n| n.to_string()),
            "[a-z]{0,4}".prop_map(|s| format!("\"{s}\"")),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn fast_path_agrees_with_serde(parts in proptest::collection::vec(piece(), 0..24)) {
            same(&parts.concat());
        }

        #[test]
        fn fast_path_agrees_on_well_formed_objects(
            members in proptest::collection::vec((prop_oneof![Just("exp"), Just("iat"), Just("nbf"), Just("iss"), Just("clientId"), Just("aud"), Just("sub"), Just("jti"), Just("scope"), Just("other")], prop_oneof![(0u64..u64::MAX).prop_map(|n| n.to_string()), "[a-z0-9]{0,5}".prop_map(|s| format!("\"{s}\""))]), 0..8)
        ) {
            let body: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            let p = format!("{{{}}}", body.join(","));
            same(&p);
        }
    }
}
