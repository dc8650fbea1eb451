//! Base64 and hex helpers shared by every scheme: strict decoders for what we verify, and
//! tolerant ones where senders are known to insert line breaks.

use crate::error::{Error, Result};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Standard Base64 with padding.
pub fn b64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Base64url without padding (JWT, JWK, Qredo).
pub fn b64url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict standard Base64 with canonical padding.
pub fn b64_decode(text: &str, what: &'static str) -> Result<Vec<u8>> {
    STANDARD
        .decode(text)
        .map_err(|_| Error::malformed(format!("{what} is not valid standard Base64")))
}

/// Strict Base64url without padding (no `=`, no `+`/`/`, canonical trailing bits).
pub fn b64url_decode(text: &str, what: &'static str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| Error::malformed(format!("{what} is not valid unpadded Base64url")))
}

/// Standard Base64 that tolerates ASCII whitespace anywhere (Ruby's `\n` every 60 characters,
/// PEM-style wrapping, CRLF).
pub fn b64_decode_lenient(text: &str, what: &'static str) -> Result<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    b64_decode(&compact, what)
}

/// Lowercase hex.
pub fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

/// Decodes hex (either case).
pub fn hex_decode(text: &str) -> Result<Vec<u8>> {
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) {
        return Err(Error::malformed("hex text has an odd number of digits"));
    }
    let nib = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(Error::malformed("hex text has a non-hex character")),
    };
    b.chunks(2)
        .map(|p| Ok(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_accepts_line_breaks_strict_does_not() {
        let wrapped = "aGVs\nbG8g\r\nd29y bGQ=";
        assert_eq!(b64_decode_lenient(wrapped, "x").unwrap(), b"hello world");
        assert!(b64_decode(wrapped, "x").is_err());
        assert!(b64url_decode("aGVsbG8=", "x").is_err());
        assert_eq!(
            hex_decode(&hex_lower(&[0, 0xab, 0xff])).unwrap(),
            vec![0, 0xab, 0xff]
        );
        assert!(hex_decode("abc").is_err());
        assert!(hex_decode("zz").is_err());
    }
}
