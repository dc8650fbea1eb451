//! A borrowing RFC 8941 dictionary parser for the hot path (`Signature-Input`, `Signature`,
//! `Content-Digest`): no maps, no copied strings, and for each member the received text of
//! its value plus whether that text is already the strict serialisation (then the
//! `@signature-params` line is the received text itself; otherwise `sfv` re-serialises it).
//! It is checked against `sfv` by differential tests and a fuzz target.
//!
//! Every count (members, repeated keys included; inner-list items; parameters) is checked
//! before the next element is parsed, so the work done is linear in the bounded input and a
//! flood is refused without being read to its end.

use SfError::Invalid;
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use std::borrow::Cow;

/// RFC 8941 byte sequences: padding optional, trailing bits tolerated (as `sfv` does).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A bare item. Strings keep their escapes (`raw`); byte sequences are decoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bare<'a> {
    Integer(i64),
    Decimal(&'a str),
    String(&'a str),
    Token(&'a str),
    Bytes(Vec<u8>),
    Boolean(bool),
}

impl<'a> Bare<'a> {
    /// The unescaped string value.
    pub(crate) fn as_string(&self) -> Option<Cow<'a, str>> {
        match self {
            Self::String(raw) if raw.contains('\\') => {
                let mut s = String::with_capacity(raw.len());
                let mut esc = false;
                for c in raw.chars() {
                    if c == '\\' && !esc {
                        esc = true;
                    } else {
                        s.push(c);
                        esc = false;
                    }
                }
                Some(Cow::Owned(s))
            }
            Self::String(raw) => Some(Cow::Borrowed(raw)),
            _ => None,
        }
    }

    pub(crate) fn as_integer(&self) -> Option<i64> {
        match self {
            Self::Integer(i) => Some(*i),
            _ => None,
        }
    }

    pub(crate) fn as_boolean(&self) -> Option<bool> {
        match self {
            Self::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    pub(crate) fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub(crate) fn into_bytes(self) -> Option<Vec<u8>> {
        match self {
            Self::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

/// Parameters in received order (a repeated key overwrites the earlier value in place).
pub(crate) type Params<'a> = Vec<(&'a str, Bare<'a>)>;

/// One item with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item<'a> {
    pub(crate) bare: Bare<'a>,
    pub(crate) params: Params<'a>,
}

/// A dictionary member.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Member<'a> {
    pub(crate) key: &'a str,
    /// An inner list (`items` + list `params`) or a single item (`items` has one entry).
    pub(crate) inner_list: bool,
    pub(crate) items: Vec<Item<'a>>,
    pub(crate) params: Params<'a>,
    /// The received text of the value (after `=`; empty for a bare key).
    pub(crate) text: &'a str,
    /// Whether `text` is exactly the strict serialisation of the value.
    pub(crate) canonical: bool,
}

impl<'a> Member<'a> {
    /// The item of an item-valued member.
    pub(crate) fn item(&self) -> Option<&Item<'a>> {
        match (self.inner_list, self.items.as_slice()) {
            (false, [i]) => Some(i),
            _ => None,
        }
    }

    /// Takes the item of an item-valued member.
    pub(crate) fn into_item(self) -> Option<Item<'a>> {
        if self.inner_list || self.items.len() != 1 {
            return None;
        }
        self.items.into_iter().next()
    }

    /// The value of a parameter of an inner list.
    pub(crate) fn param(&self, key: &str) -> Option<&Bare<'a>> {
        self.params.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// The bounds a parse enforces as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Longest field value.
    pub(crate) bytes: usize,
    /// Most dictionary members, repeated keys included (each costs a parse).
    pub(crate) members: usize,
    /// Most items in one inner list.
    pub(crate) items: usize,
    /// Most parameters of one item or inner list, repeated keys included.
    pub(crate) params: usize,
}

/// Which bound a field exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    Bytes,
    Members,
    Items,
    Params,
}

/// Why a structured field was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SfError {
    /// Not a valid RFC 8941 dictionary.
    Invalid,
    /// Larger than the caller's [`Limits`] allow (parsing stopped there).
    TooLarge(Bound),
}

type R<T> = Result<T, SfError>;

/// Parses an RFC 8941 dictionary within `limits`.
pub(crate) fn parse_dict(text: &str, limits: Limits) -> R<Vec<Member<'_>>> {
    if text.len() > limits.bytes {
        return Err(SfError::TooLarge(Bound::Bytes));
    }
    let mut p = P {
        s: text,
        b: text.as_bytes(),
        i: 0,
        canonical: true,
        limits,
    };
    let mut out: Vec<Member<'_>> = Vec::new();
    let mut seen = 0usize;
    p.skip(|c| c == b' ');
    while p.i < p.b.len() {
        // Counted before parsing, so the duplicate lookup below stays O(limit) per member.
        if seen == limits.members {
            return Err(SfError::TooLarge(Bound::Members));
        }
        seen += 1;
        let key = p.key()?;
        p.canonical = true;
        if p.peek() == Some(b'=') {
            p.i += 1;
        }
        let start = p.i;
        let (inner_list, items, params) = if p.b.get(start.wrapping_sub(1)) == Some(&b'=') {
            p.member_value()?
        } else {
            let params = p.params()?;
            // A bare key has no value text; its strict form comes from sfv if ever needed.
            p.canonical = false;
            (
                false,
                vec![Item {
                    bare: Bare::Boolean(true),
                    params: Vec::new(),
                }],
                params,
            )
        };
        // A bare key with parameters: the parameters belong to the (true) item.
        let (items, params) = if !inner_list && !params.is_empty() {
            let mut items = items;
            if let Some(first) = items.first_mut() {
                first.params = params;
            }
            (items, Vec::new())
        } else {
            (items, params)
        };
        let m = Member {
            key,
            inner_list,
            items,
            params,
            text: &p.s[start..p.i],
            canonical: p.canonical,
        };
        match out.iter_mut().find(|x| x.key == key) {
            Some(slot) => *slot = m,
            None => out.push(m),
        }
        p.skip(|c| c == b' ' || c == b'\t');
        if p.i == p.b.len() {
            break;
        }
        if p.peek() != Some(b',') {
            return Err(Invalid);
        }
        p.i += 1;
        p.skip(|c| c == b' ' || c == b'\t');
        if p.i == p.b.len() {
            return Err(Invalid);
        }
    }
    Ok(out)
}

struct P<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    canonical: bool,
    limits: Limits,
}

impl<'a> P<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn skip(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        self.i - start
    }

    fn key(&mut self) -> R<&'a str> {
        let start = self.i;
        match self.peek() {
            Some(c) if c.is_ascii_lowercase() || c == b'*' => self.i += 1,
            _ => return Err(Invalid),
        }
        self.skip(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'.' | b'*')
        });
        Ok(&self.s[start..self.i])
    }

    fn member_value(&mut self) -> R<(bool, Vec<Item<'a>>, Params<'a>)> {
        if self.peek() == Some(b'(') {
            self.i += 1;
            let mut items = Vec::new();
            loop {
                let sp = self.skip(|c| c == b' ');
                // "(" *SP ... : no space after "(", exactly one between items, none before ")".
                if (items.is_empty() && sp > 0) || (!items.is_empty() && sp > 1) {
                    self.canonical = false;
                }
                if self.peek() == Some(b')') {
                    if !items.is_empty() && sp > 0 {
                        self.canonical = false;
                    }
                    self.i += 1;
                    let params = self.params()?;
                    return Ok((true, items, params));
                }
                if !items.is_empty() && sp == 0 {
                    return Err(Invalid);
                }
                if items.len() == self.limits.items {
                    return Err(SfError::TooLarge(Bound::Items));
                }
                let bare = self.bare()?;
                let params = self.params()?;
                items.push(Item { bare, params });
                match self.peek() {
                    Some(b' ' | b')') => {}
                    _ => return Err(Invalid),
                }
            }
        }
        let bare = self.bare()?;
        let params = self.params()?;
        Ok((false, vec![Item { bare, params }], Vec::new()))
    }

    fn params(&mut self) -> R<Params<'a>> {
        let mut out: Params<'a> = Vec::new();
        let mut seen = 0usize;
        while self.peek() == Some(b';') {
            // Repeats count too: each one costs a lookup in `out`.
            if seen == self.limits.params {
                return Err(SfError::TooLarge(Bound::Params));
            }
            seen += 1;
            self.i += 1;
            if self.skip(|c| c == b' ') > 0 {
                self.canonical = false;
            }
            let key = self.key()?;
            let value = if self.peek() == Some(b'=') {
                self.i += 1;
                let v = self.bare()?;
                if v == Bare::Boolean(true) {
                    self.canonical = false;
                }
                v
            } else {
                Bare::Boolean(true)
            };
            match out.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => {
                    slot.1 = value;
                    self.canonical = false;
                }
                None => out.push((key, value)),
            }
        }
        Ok(out)
    }

    fn bare(&mut self) -> R<Bare<'a>> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'"') => self.string(),
            Some(b':') => self.bytes(),
            Some(b'?') => {
                self.i += 1;
                let v = match self.peek() {
                    Some(b'0') => false,
                    Some(b'1') => true,
                    _ => return Err(Invalid),
                };
                self.i += 1;
                Ok(Bare::Boolean(v))
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'*' => {
                let start = self.i;
                self.i += 1;
                self.skip(|c| crate::request::is_tchar(c) || c == b':' || c == b'/');
                Ok(Bare::Token(&self.s[start..self.i]))
            }
            _ => Err(Invalid),
        }
    }

    fn number(&mut self) -> R<Bare<'a>> {
        let neg = self.peek() == Some(b'-');
        if neg {
            self.i += 1;
        }
        let start = self.i;
        if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
            return Err(Invalid);
        }
        let int_digits = self.skip(|c| c.is_ascii_digit());
        if self.peek() == Some(b'.') {
            if int_digits > 12 {
                return Err(Invalid);
            }
            self.i += 1;
            let frac = self.skip(|c| c.is_ascii_digit());
            if frac == 0 || frac > 3 {
                return Err(Invalid);
            }
            // Decimals are rare here: leave their strict form to sfv.
            self.canonical = false;
            let from = if neg { start - 1 } else { start };
            return Ok(Bare::Decimal(&self.s[from..self.i]));
        }
        if int_digits > 15 {
            return Err(Invalid);
        }
        let digits = &self.s[start..self.i];
        let v: i64 = digits.parse().map_err(|_| Invalid)?;
        if (digits.len() > 1 && digits.starts_with('0')) || (neg && v == 0) {
            self.canonical = false;
        }
        Ok(Bare::Integer(if neg { -v } else { v }))
    }

    fn string(&mut self) -> R<Bare<'a>> {
        self.i += 1;
        let start = self.i;
        loop {
            match self.peek() {
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b'"' | b'\\') => self.i += 1,
                        _ => return Err(Invalid),
                    }
                }
                Some(b'"') => {
                    let raw = &self.s[start..self.i];
                    self.i += 1;
                    return Ok(Bare::String(raw));
                }
                Some(0x20..=0x7e) => self.i += 1,
                _ => return Err(Invalid),
            }
        }
    }

    fn bytes(&mut self) -> R<Bare<'a>> {
        self.i += 1;
        let start = self.i;
        self.skip(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='));
        if self.peek() != Some(b':') {
            return Err(Invalid);
        }
        let text = &self.b[start..self.i];
        self.i += 1;
        let decoded = BASE64.decode(text).map_err(|_| Invalid)?;
        // Byte sequences in signature parameters are rare: leave their strict form to sfv.
        self.canonical = false;
        Ok(Bare::Bytes(decoded))
    }
}

/// The strict serialisation of the value of member `key` of `dict_text`, through `sfv`
/// (the slow path for non-canonical input).
pub(crate) fn reserialize_member(dict_text: &str, key: &str, out: &mut String) -> R<()> {
    let dict: sfv::Dictionary = sfv::Parser::new(dict_text)
        .with_version(sfv::Version::Rfc8941)
        .parse()
        .map_err(|_| Invalid)?;
    let member = dict.get(key).ok_or(Invalid)?;
    let mut ser = sfv::ListSerializer::with_buffer(out);
    ser.members(std::iter::once(member));
    let _ = ser.finish();
    Ok(())
}

/// The strict serialisation of a member's value: the received text when it is canonical.
pub(crate) fn write_member_value(dict_text: &str, m: &Member<'_>, out: &mut String) -> R<()> {
    if m.canonical {
        out.push_str(m.text);
        Ok(())
    } else {
        reserialize_member(dict_text, m.key, out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use proptest::prelude::*;
    use sfv::FieldType as _;

    const UNBOUNDED: Limits = Limits {
        bytes: usize::MAX,
        members: usize::MAX,
        items: usize::MAX,
        params: usize::MAX,
    };

    /// The bounds of `Signature-Input` (the tightest caller).
    const SIGNATURE: Limits = Limits {
        bytes: 16 * 1024,
        members: 16,
        items: 64,
        params: 16,
    };

    /// Our parse agrees with sfv on acceptance, and on each member's strict serialisation.
    pub(crate) fn same_as_sfv(text: &str) {
        same_as_sfv_within(text, UNBOUNDED);
    }

    fn same_as_sfv_within(text: &str, limits: Limits) {
        let ours = parse_dict(text, limits);
        let theirs = sfv::Parser::new(text)
            .with_version(sfv::Version::Rfc8941)
            .parse::<sfv::Dictionary>();
        match (ours, theirs) {
            (Ok(o), Ok(t)) => {
                assert_eq!(o.len(), t.len(), "{text:?}");
                for m in &o {
                    let mut ours = String::new();
                    write_member_value(text, m, &mut ours).unwrap();
                    let entry = t.get(m.key).unwrap();
                    let theirs = match entry {
                        sfv::ListEntry::Item(i) => i.serialize(),
                        sfv::ListEntry::InnerList(_) => {
                            let mut s = String::new();
                            let mut ser = sfv::ListSerializer::with_buffer(&mut s);
                            ser.members(std::iter::once(entry));
                            let _ = ser.finish();
                            s
                        }
                    };
                    assert_eq!(ours, theirs, "{text:?} member {}", m.key);
                }
            }
            (Err(_), Err(_)) => {}
            (o, t) => panic!("{text:?}: ours ok={} sfv ok={}", o.is_ok(), t.is_ok()),
        }
    }

    #[test]
    fn agrees_with_sfv_on_examples() {
        for t in [
            r#"sig1=("@method" "@authority");created=1618884473;keyid="k""#,
            r#"sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#,
            r#"a=1,    b=2;x=1;y=2,   c=(a   b   c), d"#,
            r#"a=1, a=(1 2), b=?0, c=:AAEC:;p=1.50"#,
            r#"a=("x";sf "y";key="z");p;q=?1"#,
            r#"a=( "x"), b=("x" ), c=("x"  "y"), d=(); e=1"#,
            r#"a=007, b=-0, c=-5, d=1.0, e=-1.250, f=1234567890123456"#,
            r#"a=("\"q\\" tok:en/x *t);p=:YWJj:"#,
            r#"a=(, b"#,
            r#"A=1"#,
            r#"a=1,"#,
            r#"a=1 ,b=2"#,
            r#"a=1	,	b=2"#,
            r#"a=();b=tok/en*"#,
            r#"a=1;x=1;x=2"#,
            r#"a=:YWJj, b"#,
            r#"a=:YWJ:, b=:YW=j:"#,
            r#"a="é""#,
            r#"a=1.2345, b=1234567890123.1"#,
            "",
            "   a=1",
        ] {
            same_as_sfv(t);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn agrees_with_sfv_on_random_input(text in r#"[ a-cA*]{1,2}(=|;)?[(a-cA-C"\\:;=?019 .,\-@%*/+\t_)é]{0,32}"#) {
            same_as_sfv(&text);
        }

        /// Valid dictionaries within the bounds (repeated keys included) parse, and agree
        /// with sfv under the bounds the verifier uses.
        #[test]
        fn agrees_with_sfv_within_the_signature_bounds(
            members in proptest::collection::vec(
                (
                    "[a-d]{1,2}",
                    proptest::collection::vec(r#""[@a-z\-]{1,8}"(;[a-z]{1,2}(=[0-9]{1,3})?){0,3}"#, 0..8),
                    proptest::collection::vec(r#";[a-h]{1,3}=([0-9]{1,10}|"[ !#-\[\]-~]{0,8}"|\?[01])"#, 0..16),
                ),
                1..=16,
            ),
        ) {
            let text = members
                .iter()
                .map(|(k, items, params)| format!("{k}=({}){}", items.join(" "), params.concat()))
                .collect::<Vec<_>>()
                .join(", ");
            prop_assert!(parse_dict(&text, SIGNATURE).is_ok(), "{}", text);
            same_as_sfv_within(&text, SIGNATURE);
        }

        /// One member, item or parameter past a bound is refused as too large, however
        /// valid the rest is.
        #[test]
        fn one_past_a_bound_is_too_large(extra in 1usize..40, which in 0..3u8) {
            let text = match which {
                0 => vec!["a=1"; SIGNATURE.members + extra].join(", "),
                1 => format!("a=({})", vec!["1"; SIGNATURE.items + extra].join(" ")),
                _ => format!("a=(){}", ";p=1".repeat(SIGNATURE.params + extra)),
            };
            let want = [Bound::Members, Bound::Items, Bound::Params][usize::from(which)];
            prop_assert_eq!(parse_dict(&text, SIGNATURE), Err(SfError::TooLarge(want)));
            // sfv reads it; only our bound refuses it.
            prop_assert!(parse_dict(&text, UNBOUNDED).is_ok());
        }

        #[test]
        fn agrees_with_sfv_on_signature_like_input(
            comps in proptest::collection::vec(r#""[@a-z\-]{1,8}"(;[a-z]{1,3}(=("[a-z]{0,3}"|\?[01]|[0-9]{1,3}))?)?"#, 0..4),
            sep in "( |  )",
            params in r#"(;[a-z]{1,7}=([0-9]{1,10}|"[ -~]{0,8}"|\?[01]|[a-z]{1,4}))*"#,
        ) {
            let text = format!("sig1=({}){params}", comps.join(&sep));
            same_as_sfv(&text);
        }
    }
}
