//! Verification of an audit log, line by line and without IO: every line an entry, seq
//! contiguous, every `prev` and `hash` right, every checkpoint signed by the service key;
//! the first broken entry is named. The caller reads the file and feeds [`ChainVerifier`].

use super::entry::{self, Event, GENESIS, MAX_LINE, hex, unhex, unhex32};
use sha2::{Digest, Sha256};
use std::fmt;

/// What is wrong at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The file cannot be read.
    Unreadable(String),
    /// No service public key was given or found next to the log, so checkpoints cannot be
    /// checked.
    NoPublicKey,
    /// The line is not an audit entry (not JSON of the entry shape, or too long).
    NotAnEntry,
    /// The line's hash does not match its content: the entry was edited.
    HashMismatch,
    /// The seq is not the one after the previous entry's (a line removed, added or moved).
    SeqGap {
        /// The seq that should come here.
        expected: u64,
        /// The seq found.
        found: u64,
    },
    /// `prev` is not the previous entry's hash.
    PrevMismatch {
        /// The seq of the entry it should name.
        previous: u64,
    },
    /// A checkpoint's signature does not verify under the service key (or it names another
    /// key, or another entry than the one before it).
    CheckpointSignatureInvalid,
    /// Warning: entries after the last checkpoint are not covered by a signature (they
    /// could have been removed or altered together with their hashes undetected).
    Uncovered {
        /// How many entries.
        entries: u64,
    },
    /// Warning: bytes a crash left, named exactly by the recovery entry with this seq.
    TornWriteRecovered {
        /// The recovery entry's seq.
        recovery_seq: u64,
    },
    /// The log ends with bytes that are not an entry and no recovery entry names them (a
    /// crash the service has not restarted after, or tampering).
    TornTail,
}

/// The file name of the service public key beside a log (`service.pub`), named in the
/// [`Problem::NoPublicKey`] message.
pub const SERVICE_PUB_FILE: &str = "service.pub";

impl Problem {
    /// A stable name for scripts (`hash_mismatch`, `seq_gap`, ...).
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Unreadable(_) => "unreadable",
            Self::NoPublicKey => "no_public_key",
            Self::NotAnEntry => "not_an_entry",
            Self::HashMismatch => "hash_mismatch",
            Self::SeqGap { .. } => "seq_gap",
            Self::PrevMismatch { .. } => "prev_mismatch",
            Self::CheckpointSignatureInvalid => "checkpoint_signature_invalid",
            Self::Uncovered { .. } => "uncovered",
            Self::TornWriteRecovered { .. } => "torn_write_recovered",
            Self::TornTail => "torn_tail",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable(e) => write!(f, "cannot read the log: {e}"),
            Self::NoPublicKey => write!(
                f,
                "no service public key: pass it, or put {SERVICE_PUB_FILE} next to the log"
            ),
            Self::NotAnEntry => f.write_str("not an audit entry"),
            Self::HashMismatch => f.write_str("hash does not match its content"),
            Self::SeqGap { expected, found } => {
                write!(f, "seq gap: expected seq {expected}, found {found}")
            }
            Self::PrevMismatch { previous } => {
                write!(f, "prev does not match entry {previous}'s hash")
            }
            Self::CheckpointSignatureInvalid => f.write_str("checkpoint signature invalid"),
            Self::Uncovered { entries } => write!(
                f,
                "{entries} entries after the last checkpoint are not covered by a signature"
            ),
            Self::TornWriteRecovered { recovery_seq } => write!(
                f,
                "bytes torn by a crash, named by recovery entry {recovery_seq}"
            ),
            Self::TornTail => f.write_str(
                "the log ends with bytes that are not an entry and no recovery entry names them \
                 (a crash: starting the service records them)",
            ),
        }
    }
}

/// A problem at a place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Line number, from 1 (0: the file as a whole).
    pub line: u64,
    /// The entry's seq, when the line is an entry.
    pub seq: Option<u64>,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.seq) {
            (0, _) => write!(f, "{}", self.problem),
            (line, Some(seq)) => write!(f, "line {line} (seq {seq}): {}", self.problem),
            (line, None) => write!(f, "line {line}: {}", self.problem),
        }
    }
}

/// The result of verifying a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// What was checked, for messages (usually the file's path).
    pub source: String,
    /// Entries that verified before the first error (or in all).
    pub entries: u64,
    /// Checkpoints among them whose signature verified.
    pub checkpoints: u64,
    /// The seq and hash (hex) covered by the last valid checkpoint: compare them with a copy
    /// kept elsewhere to detect a log cut back to an earlier checkpoint.
    pub last_checkpoint: Option<(u64, String)>,
    /// The first broken entry; `None` when the log verified.
    pub error: Option<Finding>,
    /// Things that are not tampering but limit what was proven.
    pub warnings: Vec<Finding>,
}

impl VerifyReport {
    /// A report for a log that could not be checked at all (`problem` about the whole file).
    pub fn failed(source: impl Into<String>, problem: Problem) -> Self {
        Self {
            source: source.into(),
            entries: 0,
            checkpoints: 0,
            last_checkpoint: None,
            error: Some(Finding {
                line: 0,
                seq: None,
                problem,
            }),
            warnings: Vec::new(),
        }
    }

    /// Whether the log verified (warnings allowed).
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            None => write!(
                f,
                "{}: OK, {} entries, {} signed checkpoints",
                self.source, self.entries, self.checkpoints
            )?,
            Some(e) => write!(
                f,
                "{}: BROKEN at {e} ({} entries verified before it)",
                self.source, self.entries
            )?,
        }
        if let Some((seq, hash)) = &self.last_checkpoint {
            write!(f, "\nlast signed checkpoint covers seq {seq}, hash {hash}")?;
        }
        for w in &self.warnings {
            write!(f, "\nwarning: {w}")?;
        }
        Ok(())
    }
}

/// Bytes that are not entries, waiting for a recovery entry to name them.
struct TornRegion {
    line: u64,
    offset: u64,
    len: u64,
    hash: Sha256,
}

/// The longest read a caller needs per line: [`MAX_LINE`], its newline and one byte more to
/// tell a too-long line apart (the rest of such a line need not be read).
pub const MAX_READ: usize = MAX_LINE + 2;

/// Checks a log fed line by line. Read each line with its `\n` (at most [`MAX_READ`] bytes;
/// the last line may lack the newline), pass it to [`push_line`](Self::push_line) until that
/// returns `false`, then take the report from [`finish`](Self::finish).
pub struct ChainVerifier {
    public: [u8; 32],
    fingerprint: String,
    report: VerifyReport,
    line_no: u64,
    offset: u64,
    prev: [u8; 32],
    since_checkpoint: u64,
    torn: Option<TornRegion>,
    done: bool,
}

impl fmt::Debug for ChainVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainVerifier")
            .field("source", &self.report.source)
            .field("line", &self.line_no)
            .finish_non_exhaustive()
    }
}

impl ChainVerifier {
    /// A verifier for the log named `source`, whose checkpoints the service key `public`
    /// (32 raw Ed25519 bytes) signs.
    pub fn new(source: impl Into<String>, public: [u8; 32]) -> Self {
        Self {
            fingerprint: entry::key_fingerprint(&public),
            public,
            report: VerifyReport {
                source: source.into(),
                entries: 0,
                checkpoints: 0,
                last_checkpoint: None,
                error: None,
                warnings: Vec::new(),
            },
            line_no: 0,
            offset: 0,
            prev: GENESIS,
            since_checkpoint: 0,
            torn: None,
            done: false,
        }
    }

    fn fail(&mut self, line: u64, seq: Option<u64>, problem: Problem) -> bool {
        self.report.error = Some(Finding { line, seq, problem });
        self.done = true;
        false
    }

    /// Checks the next line (as read, with its `\n`). Returns whether to go on: `false` once
    /// the first broken entry is found.
    pub fn push_line(&mut self, raw: &[u8]) -> bool {
        if self.done || raw.is_empty() {
            return !self.done;
        }
        self.line_no += 1;
        let line_no = self.line_no;
        let line_offset = self.offset;
        self.offset += raw.len() as u64;
        let text = raw.strip_suffix(b"\n").unwrap_or(raw);
        let too_long = text.len() > MAX_LINE;
        let decoded = if too_long { None } else { entry::decode(text) };
        let Some(d) = decoded else {
            if too_long {
                return self.fail(line_no, None, Problem::NotAnEntry);
            }
            let region = self.torn.get_or_insert_with(|| TornRegion {
                line: line_no,
                offset: line_offset,
                len: 0,
                hash: Sha256::new(),
            });
            region.len += raw.len() as u64;
            region.hash.update(raw);
            return true;
        };
        let seq = d.body.seq;
        if d.claimed != d.computed {
            return match self.torn.take() {
                Some(region) => self.fail(region.line, None, Problem::NotAnEntry),
                None => self.fail(line_no, Some(seq), Problem::HashMismatch),
            };
        }
        if let Some(region) = self.torn.take() {
            let named = match &d.body.event {
                Event::Recovery(r) => {
                    r.torn_offset == region.offset
                        && r.torn_len == region.len
                        && unhex32(&r.torn_sha256)
                            .is_some_and(|h| h == <[u8; 32]>::from(region.hash.finalize()))
                }
                _ => false,
            };
            if !named {
                return self.fail(region.line, None, Problem::NotAnEntry);
            }
            self.report.warnings.push(Finding {
                line: region.line,
                seq: None,
                problem: Problem::TornWriteRecovered { recovery_seq: seq },
            });
        }
        let expected = self.report.entries + 1;
        if seq != expected {
            return self.fail(
                line_no,
                Some(seq),
                Problem::SeqGap {
                    expected,
                    found: seq,
                },
            );
        }
        if unhex32(&d.body.prev) != Some(self.prev) {
            return self.fail(
                line_no,
                Some(seq),
                Problem::PrevMismatch {
                    previous: seq.saturating_sub(1),
                },
            );
        }
        if let Event::Checkpoint(c) = &d.body.event {
            let signed = c.covers_seq.checked_add(1) == Some(seq)
                && unhex32(&c.covers_hash) == Some(self.prev)
                && c.key == self.fingerprint
                && unhex(&c.sig).is_some_and(|sig| {
                    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &self.public)
                        .verify(&entry::checkpoint_message(c.covers_seq, &self.prev), &sig)
                        .is_ok()
                });
            if !signed {
                return self.fail(line_no, Some(seq), Problem::CheckpointSignatureInvalid);
            }
            self.report.checkpoints += 1;
            self.report.last_checkpoint = Some((c.covers_seq, hex(&self.prev)));
            self.since_checkpoint = 0;
        } else {
            self.since_checkpoint += 1;
        }
        self.report.entries += 1;
        self.prev = d.computed;
        true
    }

    /// The report: the first broken entry, or the counts and warnings of a log that verified.
    pub fn finish(mut self) -> VerifyReport {
        if self.done {
            return self.report;
        }
        if let Some(region) = self.torn.take() {
            self.report.error = Some(Finding {
                line: region.line,
                seq: None,
                problem: Problem::TornTail,
            });
            return self.report;
        }
        if self.since_checkpoint > 0 {
            self.report.warnings.push(Finding {
                line: self.line_no,
                seq: Some(self.report.entries),
                problem: Problem::Uncovered {
                    entries: self.since_checkpoint,
                },
            });
        }
        self.report
    }
}

/// Verifies a whole log held in memory (split after each `\n`).
pub fn verify_log(source: impl Into<String>, public: [u8; 32], log: &[u8]) -> VerifyReport {
    let mut verifier = ChainVerifier::new(source, public);
    for line in log.split_inclusive(|b| *b == b'\n') {
        if !verifier.push_line(line) {
            break;
        }
    }
    verifier.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::audit::entry::{AdminOutcome, AdminRecord, Body, Checkpoint, encode};
    use ring::signature::{Ed25519KeyPair, KeyPair};

    fn key() -> Ed25519KeyPair {
        Ed25519KeyPair::from_seed_unchecked(&[7; 32]).unwrap()
    }

    /// Three admin entries, a checkpoint over the third, one more entry.
    fn log() -> (Vec<u8>, [u8; 32]) {
        let key = key();
        let public: [u8; 32] = key.public_key().as_ref().try_into().unwrap();
        let mut out = Vec::new();
        let mut prev = GENESIS;
        for seq in 1..=5u64 {
            let event = if seq == 4 {
                let msg = entry::checkpoint_message(3, &prev);
                Event::Checkpoint(Checkpoint {
                    covers_seq: 3,
                    covers_hash: hex(&prev),
                    key: entry::key_fingerprint(&public),
                    sig: hex(key.sign(&msg).as_ref()),
                })
            } else {
                Event::Admin(AdminRecord {
                    actor: "admin".into(),
                    action: "partner.create".into(),
                    target: Some(format!("p{seq}")),
                    outcome: AdminOutcome::Succeeded,
                    code: None,
                })
            };
            let body = Body {
                seq,
                time: "2026-01-01T00:00:00Z".into(),
                prev: hex(&prev),
                event,
            };
            let (line, hash) = encode(&body).unwrap();
            out.extend_from_slice(&line);
            prev = hash;
        }
        (out, public)
    }

    #[test]
    fn a_good_log_verifies_with_its_uncovered_tail_as_a_warning() {
        let (log, public) = log();
        let report = verify_log("t", public, &log);
        assert!(report.is_ok(), "{report}");
        assert_eq!((report.entries, report.checkpoints), (5, 1));
        assert_eq!(
            report.warnings[0].problem,
            Problem::Uncovered { entries: 1 }
        );
    }

    #[test]
    fn the_first_broken_entry_is_named() {
        let (log, public) = log();
        let text = String::from_utf8(log).unwrap();
        let edited = text.replace("\"p2\"", "\"p9\"");
        let r = verify_log("t", public, edited.as_bytes());
        let e = r.error.unwrap();
        assert_eq!(
            (e.line, e.seq, e.problem),
            (2, Some(2), Problem::HashMismatch)
        );

        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let removed: String = [lines[0], lines[2], lines[3], lines[4]].concat();
        let e = verify_log("t", public, removed.as_bytes()).error.unwrap();
        assert_eq!(
            e.problem,
            Problem::SeqGap {
                expected: 2,
                found: 3
            }
        );

        let other = Ed25519KeyPair::from_seed_unchecked(&[8; 32]).unwrap();
        let wrong: [u8; 32] = other.public_key().as_ref().try_into().unwrap();
        let e = verify_log("t", wrong, text.as_bytes()).error.unwrap();
        assert_eq!(
            (e.line, e.problem),
            (4, Problem::CheckpointSignatureInvalid)
        );

        let torn = format!("{text}{{\"seq\":6");
        let e = verify_log("t", public, torn.as_bytes()).error.unwrap();
        assert_eq!((e.line, e.problem), (6, Problem::TornTail));
    }

    proptest::proptest! {
        /// Any bytes, and any single-byte change of a good log: no panic, and a changed log
        /// never verifies as the original did (same entries and checkpoints, no error).
        #[test]
        fn arbitrary_and_mutated_logs_never_panic(noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400), at in 0usize..10_000, byte in proptest::prelude::any::<u8>()) {
            let (good, public) = log();
            let _ = verify_log("t", public, &noise).to_string();
            let mut bad = good.clone();
            let i = at % bad.len();
            proptest::prop_assume!(bad[i] != byte);
            bad[i] = byte;
            let original = verify_log("t", public, &good);
            let mutated = verify_log("t", public, &bad);
            proptest::prop_assert!(mutated.error.is_some() || mutated.warnings != original.warnings || mutated.entries != original.entries,
                "a change at byte {} went unnoticed: {}", i, mutated);
        }
    }
}
