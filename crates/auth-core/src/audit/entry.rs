//! One line of the audit log: its fields, the canonical bytes its hash covers, and the message
//! a checkpoint signs. The service's writer (auth-verify) and every verifier (auth-verify,
//! authctl) share this module so they cannot drift apart.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev` of the first entry: no entry came before it.
pub const GENESIS: [u8; 32] = [0; 32];

/// Longest line the writer produces (fields are truncated well below it); a longer line in a
/// file is not an entry.
pub const MAX_LINE: usize = 16 * 1024;

/// Domain separation for checkpoint signatures, so the service key's signature over a
/// checkpoint can never be replayed as anything else.
const CHECKPOINT_CONTEXT: &[u8] = b"partner-auth audit checkpoint v1\0";

/// What a line ends with after its canonical bytes (minus their closing brace).
const HASH_FIELD: &[u8] = b",\"hash\":\"";
/// `HASH_FIELD`, 64 hex digits and `"}`.
const HASH_SUFFIX_LEN: usize = HASH_FIELD.len() + 64 + 2;

/// Whether a verification let the request through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcome {
    /// Authenticated; the handler ran.
    Accepted,
    /// Refused.
    Rejected,
}

/// One verification decision. Holds references only: partner ID, credential reference (bearer
/// keys appear as their digest), scheme and code; never a key, secret, signature or token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRecord {
    /// Accepted or rejected.
    pub outcome: DecisionOutcome,
    /// The request path, without the query (which may carry a token).
    pub path: String,
    /// The scheme tried (`api_key`, `http_signature`, ...), if one was detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// The partner, once a credential was resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
    /// The credential reference (`<purpose>:<id>`), once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// The rejection's stable code (`signature_mismatch`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Time spent deciding, in microseconds.
    pub latency_us: u64,
}

/// Whether an admin change took effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminOutcome {
    /// The change was made.
    Succeeded,
    /// The change was refused or failed; nothing changed.
    Failed,
}

/// One admin change. `actor` is the admin's key ID or key fingerprint, `target` a partner ID or
/// credential reference: never a key, secret or the request's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminRecord {
    /// Who: the admin's key ID or fingerprint.
    pub actor: String,
    /// What, as a stable name (`partner.create`, `api_key.revoke`, ...).
    pub action: String,
    /// On what: a partner ID or credential reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Whether it took effect.
    pub outcome: AdminOutcome,
    /// The error code of a failed change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// A signature by the service key over the entry before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The seq of the entry it covers (the one before it).
    pub covers_seq: u64,
    /// That entry's hash, hex.
    pub covers_hash: String,
    /// Fingerprint of the signing key (hex SHA-256 of its 32 public bytes).
    pub key: String,
    /// Ed25519 signature over [`checkpoint_message`], hex.
    pub sig: String,
}

/// Written on open after a crash left bytes that are not an entry at the end of the file: it
/// names those bytes exactly, so the chain continues without pretending they are not there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recovery {
    /// Byte offset where the torn bytes start.
    pub torn_offset: u64,
    /// How many bytes (including the newline the service added to end them).
    pub torn_len: u64,
    /// Hex SHA-256 of those bytes.
    pub torn_sha256: String,
}

/// What an entry records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A verification decision.
    Decision(DecisionRecord),
    /// An admin change.
    Admin(AdminRecord),
    /// A signed checkpoint.
    Checkpoint(Checkpoint),
    /// Torn bytes named after a crash.
    Recovery(Recovery),
}

/// An entry without its hash: the canonical bytes are exactly its compact JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    /// Position in the log, from 1.
    pub seq: u64,
    /// RFC 3339, UTC.
    pub time: String,
    /// Hex hash of the entry before (or of [`GENESIS`]).
    pub prev: String,
    /// What happened.
    pub event: Event,
}

/// A line taken apart.
pub struct Decoded {
    /// The fields.
    pub body: Body,
    /// The hash the line claims.
    pub claimed: [u8; 32],
    /// The hash of its canonical bytes.
    pub computed: [u8; 32],
}

/// Encodes `body` as one line (with `\n`) and returns it with its hash.
pub fn encode(body: &Body) -> serde_json::Result<(Vec<u8>, [u8; 32])> {
    let mut line = serde_json::to_vec(body)?;
    let hash: [u8; 32] = Sha256::digest(&line).into();
    // The canonical bytes end with the object's `}`; the hash goes in as its last field.
    line.pop();
    line.extend_from_slice(HASH_FIELD);
    line.extend_from_slice(hex(&hash).as_bytes());
    line.extend_from_slice(b"\"}\n");
    Ok((line, hash))
}

/// Takes a line (without `\n`) apart; `None` if it is not an entry at all.
pub fn decode(line: &[u8]) -> Option<Decoded> {
    if line.len() > MAX_LINE || line.len() < HASH_SUFFIX_LEN + 2 {
        return None;
    }
    let split = line.len() - HASH_SUFFIX_LEN;
    let (head, suffix) = line.split_at(split);
    let digits = suffix.strip_prefix(HASH_FIELD)?.strip_suffix(b"\"}")?;
    let claimed = unhex32(std::str::from_utf8(digits).ok()?)?;
    let mut canonical = Vec::with_capacity(head.len() + 1);
    canonical.extend_from_slice(head);
    canonical.push(b'}');
    let computed: [u8; 32] = Sha256::digest(&canonical).into();
    let body: Body = serde_json::from_slice(&canonical).ok()?;
    Some(Decoded {
        body,
        claimed,
        computed,
    })
}

/// The fingerprint a checkpoint names its key by: hex SHA-256 of the 32 raw public key bytes.
pub fn key_fingerprint(public: &[u8; 32]) -> String {
    hex(&Sha256::digest(public))
}

/// The bytes a checkpoint signs: a context string, then the covered entry's seq and hash.
pub fn checkpoint_message(covers_seq: u64, covers_hash: &[u8; 32]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(CHECKPOINT_CONTEXT.len() + 8 + 32);
    msg.extend_from_slice(CHECKPOINT_CONTEXT);
    msg.extend_from_slice(&covers_seq.to_be_bytes());
    msg.extend_from_slice(covers_hash);
    msg
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    crate::encoding::hex_lower(bytes)
}

/// Lowercase hex into bytes; `None` for anything else (uppercase too: one spelling only).
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// Lowercase hex of exactly 32 bytes.
pub fn unhex32(text: &str) -> Option<[u8; 32]> {
    unhex(text)?.try_into().ok()
}

/// Cuts `text` to at most `max` bytes on a character boundary, so a hostile path cannot
/// make an entry longer than [`MAX_LINE`].
pub fn bounded(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_line_round_trips_and_its_hash_covers_every_field() {
        let body = Body {
            seq: 7,
            time: "2026-01-01T00:00:00Z".into(),
            prev: hex(&GENESIS),
            event: Event::Admin(AdminRecord {
                actor: "admin-1".into(),
                action: "partner.create".into(),
                target: Some("acme".into()),
                outcome: AdminOutcome::Succeeded,
                code: None,
            }),
        };
        let (line, hash) = encode(&body).unwrap();
        let text = line.strip_suffix(b"\n").unwrap();
        let d = decode(text).unwrap();
        assert_eq!(d.body, body);
        assert_eq!(d.claimed, hash);
        assert_eq!(d.computed, hash);
        let tampered = String::from_utf8(text.to_vec())
            .unwrap()
            .replace("acme", "acmf");
        let d = decode(tampered.as_bytes()).unwrap();
        assert_ne!(d.computed, d.claimed);
    }

    #[test]
    fn hostile_lines_are_not_entries() {
        for line in [
            &b""[..],
            b"{}",
            b"not json at all",
            &[0xff; 200],
            &[b'a'; MAX_LINE + 1],
        ] {
            assert!(decode(line).is_none());
        }
        assert_eq!(unhex("0G"), None);
        assert_eq!(unhex("ABCD"), None);
        assert_eq!(bounded("héllo".into(), 2), "h");
    }
}
