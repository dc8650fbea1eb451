//! The CBOR of the trust chain: an encoder for exactly the shapes that are signed or carried
//! (text, unsigned integers, arrays, definite-length maps with keys in field order, and the
//! indefinite-length maps of manifest signatures and license keys), and a bounded decoder.
//!
//! Encoding writes item headers with `ciborium-ll` (serde cannot ask for an indefinite-length
//! map by itself, and the key order must be the struct's field order, not a canonical order).
//! Decoding uses `ciborium` into its `Value` with a recursion limit, after a size check, and
//! then reads fields strictly: text keys only, no duplicates, no unknown keys.

use crate::error::{Error, Result};
use ciborium::Value;
use ciborium_ll::{Encoder, Header};

/// Upper bound for any CBOR input of the trust chain.
pub(crate) const MAX_CBOR_LEN: usize = 8 * 1024;
/// Most entries a decoded map may have (the largest structure has 5 fields); keeps the
/// duplicate-key check cheap on hostile input.
const MAX_MAP_ENTRIES: usize = 16;
/// Nesting bound (the deepest legitimate structure, a license, has depth 3).
const MAX_DEPTH: usize = 8;

/// An item to encode.
#[derive(Debug, Clone)]
pub(crate) enum Item<'a> {
    /// A text string (definite length).
    Text(&'a str),
    /// An unsigned integer.
    Uint(u64),
    /// A definite-length array.
    Array(Vec<Item<'a>>),
    /// A definite-length map, keys in the given order (what is signed).
    Map(Vec<(&'a str, Item<'a>)>),
    /// An indefinite-length map, keys in the given order (manifest signature, license key).
    IndefiniteMap(Vec<(&'a str, Item<'a>)>),
}

/// Encodes `item`.
pub(crate) fn encode(item: &Item<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    // Writing into a `Vec` cannot fail; an error here would be a bug in ciborium-ll, and the
    // output would then be short and fail every signature check (never a false accept).
    let _ = write(&mut Encoder::from(&mut out), item);
    out
}

fn write(enc: &mut Encoder<&mut Vec<u8>>, item: &Item<'_>) -> std::io::Result<()> {
    match item {
        Item::Text(t) => enc.text(t, None),
        Item::Uint(n) => enc.push(Header::Positive(*n)),
        Item::Array(items) => {
            enc.push(Header::Array(Some(items.len())))?;
            items.iter().try_for_each(|i| write(enc, i))
        }
        Item::Map(entries) => {
            enc.push(Header::Map(Some(entries.len())))?;
            write_entries(enc, entries)
        }
        Item::IndefiniteMap(entries) => {
            enc.push(Header::Map(None))?;
            write_entries(enc, entries)?;
            enc.push(Header::Break)
        }
    }
}

fn write_entries(
    enc: &mut Encoder<&mut Vec<u8>>,
    entries: &[(&str, Item<'_>)],
) -> std::io::Result<()> {
    for (k, v) in entries {
        enc.text(k, None)?;
        write(enc, v)?;
    }
    Ok(())
}

/// Decodes one CBOR item that must fill `bytes` exactly.
pub(crate) fn decode(bytes: &[u8], what: &'static str) -> Result<Value> {
    if bytes.len() > MAX_CBOR_LEN {
        return Err(Error::new(
            crate::error::ErrorCode::TooLarge,
            format!("{what} is larger than {MAX_CBOR_LEN} bytes"),
        ));
    }
    let mut rest = bytes;
    let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut rest, MAX_DEPTH)
        .map_err(|_| Error::malformed(format!("{what} is not valid CBOR")))?;
    if !rest.is_empty() {
        return Err(Error::malformed(format!(
            "{what} has trailing bytes after the CBOR item"
        )));
    }
    Ok(value)
}

/// The entries of a decoded CBOR map, read field by field.
pub(crate) struct Fields {
    what: &'static str,
    entries: Vec<(String, Value)>,
}

impl Fields {
    /// A map with text keys and no duplicates (definite or indefinite length).
    pub(crate) fn new(value: Value, what: &'static str) -> Result<Self> {
        let Value::Map(map) = value else {
            return Err(Error::malformed(format!("{what} must be a CBOR map")));
        };
        if map.len() > MAX_MAP_ENTRIES {
            return Err(Error::malformed(format!(
                "{what} has more than {MAX_MAP_ENTRIES} fields"
            )));
        }
        let mut entries = Vec::with_capacity(map.len());
        for (k, v) in map {
            let Value::Text(k) = k else {
                return Err(Error::malformed(format!("{what} has a non-text key")));
            };
            if entries.iter().any(|(e, _): &(String, Value)| *e == k) {
                return Err(Error::malformed(format!("{what} has a duplicate key")));
            }
            entries.push((k, v));
        }
        Ok(Self { what, entries })
    }

    /// Takes a required field.
    pub(crate) fn take(&mut self, key: &str) -> Result<Value> {
        let pos = self
            .entries
            .iter()
            .position(|(k, _)| k == key)
            .ok_or_else(|| Error::malformed(format!("{} lacks the field {key:?}", self.what)))?;
        Ok(self.entries.swap_remove(pos).1)
    }

    /// Takes a required text field.
    pub(crate) fn text(&mut self, key: &str) -> Result<String> {
        let what = self.what;
        match self.take(key)? {
            Value::Text(t) => Ok(t),
            _ => Err(Error::malformed(format!("{what}: {key:?} must be text"))),
        }
    }

    /// Takes a required unsigned integer field.
    pub(crate) fn uint(&mut self, key: &str) -> Result<u64> {
        let what = self.what;
        match self.take(key)? {
            Value::Integer(i) => u64::try_from(i).map_err(|_| {
                Error::malformed(format!("{what}: {key:?} must be an unsigned integer"))
            }),
            _ => Err(Error::malformed(format!(
                "{what}: {key:?} must be an unsigned integer"
            ))),
        }
    }

    /// Takes a required array-of-text field, at most `max` entries.
    pub(crate) fn text_array(&mut self, key: &str, max: usize) -> Result<Vec<String>> {
        let what = self.what;
        let Value::Array(items) = self.take(key)? else {
            return Err(Error::malformed(format!(
                "{what}: {key:?} must be an array"
            )));
        };
        if items.len() > max {
            return Err(Error::malformed(format!(
                "{what}: {key:?} has more than {max} entries"
            )));
        }
        items
            .into_iter()
            .map(|i| match i {
                Value::Text(t) => Ok(t),
                _ => Err(Error::malformed(format!(
                    "{what}: {key:?} must hold text only"
                ))),
            })
            .collect()
    }

    /// Takes a required nested map.
    pub(crate) fn map(&mut self, key: &str, what: &'static str) -> Result<Fields> {
        Fields::new(self.take(key)?, what)
    }

    /// Fails if fields are left over (unknown keys are rejected, not ignored).
    pub(crate) fn finish(self) -> Result<()> {
        match self.entries.first() {
            None => Ok(()),
            Some((k, _)) => Err(Error::malformed(format!(
                "{} has an unknown field {k:?}",
                self.what
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::encoding::hex_lower;

    #[test]
    fn shapes_encode_as_pinned() {
        let m = Item::Map(vec![
            ("a", Item::Uint(0)),
            ("bb", Item::Array(vec![Item::Text("x")])),
        ]);
        assert_eq!(hex_lower(&encode(&m)), "a2616100626262816178");
        let m = Item::IndefiniteMap(vec![("a", Item::Uint(24)), ("b", Item::Map(vec![]))]);
        assert_eq!(hex_lower(&encode(&m)), "bf616118186162a0ff");
    }

    #[test]
    fn decoding_is_strict_and_bounded() {
        // trailing byte
        assert!(decode(&[0xa0, 0x00], "x").is_err());
        // deep nesting
        let deep = [vec![0x81; 64], vec![0x00]].concat();
        assert!(decode(&deep, "x").is_err());
        // too large
        assert!(decode(&vec![0u8; MAX_CBOR_LEN + 1], "x").is_err());
        // huge declared length does not allocate or panic
        assert!(decode(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], "x").is_err());
        assert!(decode(&[0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], "x").is_err());
        // duplicate keys
        let dup = encode(&Item::Map(vec![("a", Item::Uint(1)), ("a", Item::Uint(2))]));
        assert!(Fields::new(decode(&dup, "x").unwrap(), "x").is_err());
        // too many fields
        let many: Vec<(String, Item<'_>)> =
            (0..17).map(|i| (format!("k{i}"), Item::Uint(0))).collect();
        let many = encode(&Item::Map(
            many.iter().map(|(k, v)| (k.as_str(), v.clone())).collect(),
        ));
        assert!(Fields::new(decode(&many, "x").unwrap(), "x").is_err());
        // unknown field
        let extra = encode(&Item::Map(vec![("a", Item::Uint(1)), ("z", Item::Uint(2))]));
        let mut f = Fields::new(decode(&extra, "x").unwrap(), "x").unwrap();
        assert_eq!(f.uint("a").unwrap(), 1);
        assert!(f.finish().is_err());
    }
}
