//! RFC 9530 `Content-Digest`: creating the field for a body and checking a body against it,
//! whole or streamed (`sha-256` and `sha-512`; other algorithms are ignored as the RFC says).

use crate::encoding::b64_encode;
use crate::error::{Error, ErrorCode, Result};
use crate::secret::ct_eq;
use ring::digest;

/// Longest `Content-Digest` value accepted (bytes).
pub const MAX_FIELD_LEN: usize = 4096;

/// A digest algorithm of the RFC 9530 registry that we compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// `sha-256`.
    Sha256,
    /// `sha-512`.
    Sha512,
}

impl DigestAlgorithm {
    /// The registry key (`sha-256`).
    pub const fn key(self) -> &'static str {
        match self {
            Self::Sha256 => "sha-256",
            Self::Sha512 => "sha-512",
        }
    }

    fn ring(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha512 => &digest::SHA512,
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        match key {
            "sha-256" => Some(Self::Sha256),
            "sha-512" => Some(Self::Sha512),
            _ => None,
        }
    }
}

/// Which algorithms a verifier accepts. Every accepted algorithm present in the field must
/// match; at least one must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AcceptedDigests {
    /// `sha-256` or `sha-512` (the default).
    #[default]
    Sha256OrSha512,
    /// Only `sha-512`.
    Sha512Only,
    /// Only `sha-256`.
    Sha256Only,
}

impl AcceptedDigests {
    fn accepts(self, alg: DigestAlgorithm) -> bool {
        match self {
            Self::Sha256OrSha512 => true,
            Self::Sha512Only => alg == DigestAlgorithm::Sha512,
            Self::Sha256Only => alg == DigestAlgorithm::Sha256,
        }
    }
}

/// The `Content-Digest` value for `body`, e.g. `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`.
pub fn create(body: &[u8], alg: DigestAlgorithm) -> String {
    let d = digest::digest(alg.ring(), body);
    format!("{}=:{}:", alg.key(), b64_encode(d.as_ref()))
}

/// Checks `body` against the `Content-Digest` field value; returns the strongest algorithm
/// that matched. A mismatch is [`ErrorCode::DigestMismatch`]; a field naming no accepted
/// algorithm is [`ErrorCode::UnsupportedAlgorithm`].
pub fn verify(field: &str, body: &[u8], accepted: AcceptedDigests) -> Result<DigestAlgorithm> {
    // Without the streaming state: parse and validate every accepted member first (so the
    // error does not depend on member order), then hash the body once per algorithm.
    let dict = parse_field(field)?;
    let mut any = false;
    for member in &dict {
        if let Some(alg) = DigestAlgorithm::from_key(member.key).filter(|a| accepted.accepts(*a)) {
            member_bytes(member, alg)?;
            any = true;
        }
    }
    if !any {
        return Err(none_accepted());
    }
    let mut best = DigestAlgorithm::Sha256;
    for member in &dict {
        if let Some(alg) = DigestAlgorithm::from_key(member.key).filter(|a| accepted.accepts(*a)) {
            let want = member_bytes(member, alg)?;
            if !ct_eq(digest::digest(alg.ring(), body).as_ref(), want) {
                return Err(mismatch(alg));
            }
            if alg == DigestAlgorithm::Sha512 {
                best = alg;
            }
        }
    }
    Ok(best)
}

fn parse_field(field: &str) -> Result<Vec<crate::scheme::rfc9421::sf::Member<'_>>> {
    use crate::scheme::rfc9421::sf::{self, Limits, SfError};
    // A digest field names a few algorithms; the bounds stop a flood before it is parsed.
    const LIMITS: Limits = Limits {
        bytes: MAX_FIELD_LEN,
        members: 16,
        items: 16,
        params: 16,
    };
    sf::parse_dict(field, LIMITS).map_err(|e| match e {
        SfError::TooLarge(_) => Error::new(
            ErrorCode::TooLarge,
            "Content-Digest is too long or has too many members or parameters",
        ),
        SfError::Invalid => Error::malformed("Content-Digest is not a structured-field dictionary"),
    })
}

fn member_bytes<'m>(
    member: &'m crate::scheme::rfc9421::sf::Member<'_>,
    alg: DigestAlgorithm,
) -> Result<&'m [u8]> {
    member
        .item()
        .and_then(|i| i.bare.as_bytes())
        .ok_or_else(|| {
            Error::malformed(format!(
                "Content-Digest member {} must be a byte sequence (:base64:)",
                alg.key()
            ))
        })
}

fn mismatch(alg: DigestAlgorithm) -> Error {
    Error::new(
        ErrorCode::DigestMismatch,
        format!("the body does not match its Content-Digest {}", alg.key()),
    )
}

fn none_accepted() -> Error {
    Error::new(
        ErrorCode::UnsupportedAlgorithm,
        "Content-Digest names no accepted algorithm (send sha-256 or sha-512)",
    )
}

/// Checks a body streamed in pieces against a `Content-Digest` field value.
pub struct DigestVerifier {
    expected: Vec<(DigestAlgorithm, Vec<u8>, digest::Context)>,
}

impl DigestVerifier {
    /// Parses the field value and prepares to hash the body.
    pub fn new(field: &str, accepted: AcceptedDigests) -> Result<Self> {
        let dict = parse_field(field)?;
        let mut expected = Vec::new();
        for member in &dict {
            let Some(alg) = DigestAlgorithm::from_key(member.key) else {
                continue;
            };
            if !accepted.accepts(alg) {
                continue;
            }
            let bytes = member_bytes(member, alg)?;
            expected.push((alg, bytes.to_vec(), digest::Context::new(alg.ring())));
        }
        if expected.is_empty() {
            return Err(none_accepted());
        }
        Ok(Self { expected })
    }

    /// Hashes the next piece of the body.
    pub fn update(&mut self, piece: &[u8]) {
        for (_, _, ctx) in &mut self.expected {
            ctx.update(piece);
        }
    }

    /// Compares the digests of everything passed to [`DigestVerifier::update`].
    pub fn finish(self) -> Result<DigestAlgorithm> {
        let mut best = None;
        for (alg, want, ctx) in self.expected {
            if !ct_eq(ctx.finish().as_ref(), &want) {
                return Err(mismatch(alg));
            }
            if best != Some(DigestAlgorithm::Sha512) {
                best = Some(alg);
            }
        }
        best.ok_or_else(|| Error::new(ErrorCode::Internal, "no digest was checked"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    // RFC 9530 section 2 and appendix B.
    #[test]
    fn rfc9530_examples() {
        let body = b"{\"hello\": \"world\"}";
        assert_eq!(
            create(body, DigestAlgorithm::Sha256),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
        assert_eq!(
            create(body, DigestAlgorithm::Sha512),
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
        );
        let field = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, md5=:abc=:";
        assert_eq!(
            verify(field, body, AcceptedDigests::default()).unwrap(),
            DigestAlgorithm::Sha256
        );
        let e = verify(
            field,
            b"{\"hello\": \"world!\"}",
            AcceptedDigests::default(),
        )
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::DigestMismatch);
        let e = verify(field, body, AcceptedDigests::Sha512Only).unwrap_err();
        assert_eq!(e.code(), ErrorCode::UnsupportedAlgorithm);
        let e = verify("sha-256=abc", body, AcceptedDigests::default()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::Malformed);
        let e = verify("sha-256=:::", body, AcceptedDigests::default()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::Malformed);
    }

    #[test]
    fn streamed_equals_whole() {
        let body = b"0123456789abcdef".repeat(100);
        let field = create(&body, DigestAlgorithm::Sha512);
        let mut v = DigestVerifier::new(&field, AcceptedDigests::default()).unwrap();
        for piece in body.chunks(7) {
            v.update(piece);
        }
        assert_eq!(v.finish().unwrap(), DigestAlgorithm::Sha512);
    }
}
