//! A minimal, bounded DER reader and writer for the few key containers we handle
//! (PKCS#1, PKCS#8, SPKI, SEC1). Every read checks lengths; nothing here can panic on input.

use crate::error::{Error, Result};

pub(crate) const TAG_INTEGER: u8 = 0x02;
pub(crate) const TAG_BIT_STRING: u8 = 0x03;
pub(crate) const TAG_OCTET_STRING: u8 = 0x04;
pub(crate) const TAG_NULL: u8 = 0x05;
pub(crate) const TAG_OID: u8 = 0x06;
pub(crate) const TAG_SEQUENCE: u8 = 0x30;

/// rsaEncryption 1.2.840.113549.1.1.1
pub(crate) const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// id-ecPublicKey 1.2.840.10045.2.1
pub(crate) const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// prime256v1 1.2.840.10045.3.1.7
pub(crate) const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// id-Ed25519 1.3.101.112
pub(crate) const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// A cursor over DER bytes.
pub(crate) struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self { input }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.input.first().copied()
    }

    /// Reads one element with the expected tag and returns its contents.
    pub(crate) fn read(&mut self, tag: u8) -> Result<&'a [u8]> {
        let (&t, rest) = self
            .input
            .split_first()
            .ok_or_else(|| bad("unexpected end of DER data"))?;
        if t != tag {
            return Err(bad("unexpected DER element"));
        }
        let (&first, mut rest) = rest
            .split_first()
            .ok_or_else(|| bad("DER length missing"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 3 || rest.len() < n {
                return Err(bad("unsupported DER length"));
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |a, b| (a << 8) | usize::from(*b));
            if len < 0x80 || rest[0] == 0 {
                return Err(bad("non-minimal DER length"));
            }
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return Err(bad("DER element is truncated"));
        }
        let (contents, after) = rest.split_at(len);
        self.input = after;
        Ok(contents)
    }

    /// Reads a SEQUENCE and returns a reader over its contents.
    pub(crate) fn sequence(&mut self) -> Result<Reader<'a>> {
        Ok(Reader::new(self.read(TAG_SEQUENCE)?))
    }

    /// Reads a non-negative INTEGER, returning its magnitude without leading zeros.
    pub(crate) fn unsigned_integer(&mut self) -> Result<&'a [u8]> {
        let v = self.read(TAG_INTEGER)?;
        match v {
            [] => Err(bad("empty DER integer")),
            [b, ..] if b & 0x80 != 0 => Err(bad("negative DER integer")),
            [0, b, ..] if b & 0x80 == 0 => Err(bad("non-minimal DER integer")),
            [0, rest @ ..] if !rest.is_empty() => Ok(rest),
            _ => Ok(v),
        }
    }

    /// Reads a small INTEGER (a version field).
    pub(crate) fn small_integer(&mut self) -> Result<u8> {
        match self.unsigned_integer()? {
            [v] => Ok(*v),
            _ => Err(bad("unexpected version number")),
        }
    }

    /// Reads a BIT STRING with no unused bits.
    pub(crate) fn bit_string(&mut self) -> Result<&'a [u8]> {
        match self.read(TAG_BIT_STRING)? {
            [0, rest @ ..] => Ok(rest),
            _ => Err(bad("BIT STRING with unused bits")),
        }
    }

    /// Fails unless everything was consumed.
    pub(crate) fn finish(&self) -> Result<()> {
        if self.input.is_empty() {
            Ok(())
        } else {
            Err(bad("trailing data after DER structure"))
        }
    }
}

fn bad(msg: &'static str) -> Error {
    Error::invalid_key(msg)
}

/// Encodes one TLV element.
pub(crate) fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    // Tag, length octets (at most 1 + 8) and contents: the output never reallocates, which
    // would leave a copy of secret contents behind.
    let mut out = Vec::with_capacity(contents.len() + 10);
    out.push(tag);
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
    out
}

/// Encodes a SEQUENCE of already-encoded elements. The joined contents are wiped: private
/// keys (PKCS#8, SEC1) are built with this.
pub(crate) fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(TAG_SEQUENCE, &zeroize::Zeroizing::new(parts.concat()))
}

/// Encodes a non-negative INTEGER from big-endian magnitude bytes.
pub(crate) fn unsigned_integer(magnitude: &[u8]) -> Vec<u8> {
    let trimmed = {
        let skip = magnitude.iter().take_while(|b| **b == 0).count();
        &magnitude[skip.min(magnitude.len().saturating_sub(1))..]
    };
    if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
        tlv(TAG_INTEGER, &[&[0u8][..], trimmed].concat())
    } else if trimmed.is_empty() {
        tlv(TAG_INTEGER, &[0])
    } else {
        tlv(TAG_INTEGER, trimmed)
    }
}

/// Encodes a BIT STRING with no unused bits.
pub(crate) fn bit_string(bytes: &[u8]) -> Vec<u8> {
    tlv(TAG_BIT_STRING, &[&[0u8][..], bytes].concat())
}

/// An AlgorithmIdentifier: the OID and optional parameters (already encoded).
pub(crate) fn algorithm_identifier(oid: &[u8], params: Option<&[u8]>) -> Vec<u8> {
    let oid = tlv(TAG_OID, oid);
    match params {
        Some(p) => sequence(&[&oid, p]),
        None => sequence(&[&oid]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lengths_round_trip() {
        let body = vec![7u8; 300];
        let enc = tlv(TAG_OCTET_STRING, &body);
        assert_eq!(&enc[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let mut r = Reader::new(&enc);
        assert_eq!(r.read(TAG_OCTET_STRING).unwrap(), &body[..]);
        r.finish().unwrap();
    }

    #[test]
    fn rejects_hostile_lengths() {
        for bad in [
            &[0x30u8][..],
            &[0x30, 0x81],
            &[0x30, 0x81, 0x05],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x05, 1],
            &[0x30, 0x81, 0x01, 0],
        ] {
            assert!(Reader::new(bad).read(TAG_SEQUENCE).is_err(), "{bad:?}");
        }
        assert!(Reader::new(&[2, 2, 0, 1]).unsigned_integer().is_err());
        assert!(Reader::new(&[2, 1, 0x80]).unsigned_integer().is_err());
        assert_eq!(
            Reader::new(&[2, 2, 0, 0x80]).unsigned_integer().unwrap(),
            &[0x80]
        );
        assert_eq!(unsigned_integer(&[0x80]), vec![2, 2, 0, 0x80]);
        assert_eq!(unsigned_integer(&[0, 0, 1]), vec![2, 1, 1]);
    }
}
