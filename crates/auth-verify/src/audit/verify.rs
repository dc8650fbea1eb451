//! Offline verification of an audit log file: every line an entry, seq contiguous, every
//! `prev` and `hash` right, every checkpoint signed by the service key; names the first broken
//! entry. `auth-verify audit verify <path>` prints the [`VerifyReport`].

use super::entry::{self, Event, GENESIS, MAX_LINE, hex, unhex, unhex32};
use super::key::{self, SERVICE_PUB_FILE};
use sha2::{Digest, Sha256};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

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

/// The result of [`verify_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The file checked.
    pub path: PathBuf,
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
                self.path.display(),
                self.entries,
                self.checkpoints
            )?,
            Some(e) => write!(
                f,
                "{}: BROKEN at {e} ({} entries verified before it)",
                self.path.display(),
                self.entries
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

/// Checks the log at `path`. The service public key is `public_key` (SPKI PEM or the 32 raw
/// bytes), or else `service.pub` next to the log. Never panics on any file content.
pub fn verify_file(path: &Path, public_key: Option<&[u8]>) -> VerifyReport {
    let mut report = VerifyReport {
        path: path.to_owned(),
        entries: 0,
        checkpoints: 0,
        last_checkpoint: None,
        error: None,
        warnings: Vec::new(),
    };
    let whole = |problem| Finding {
        line: 0,
        seq: None,
        problem,
    };
    let public = match public_key {
        Some(bytes) => key::parse_public(bytes),
        None => {
            let pub_path = path.with_file_name(SERVICE_PUB_FILE);
            std::fs::read(pub_path)
                .ok()
                .and_then(|b| key::parse_public(&b))
        }
    };
    let Some(public) = public else {
        report.error = Some(whole(Problem::NoPublicKey));
        return report;
    };
    let fingerprint = key::fingerprint(&public);
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            report.error = Some(whole(Problem::Unreadable(e.to_string())));
            return report;
        }
    };
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut offset = 0u64;
    let mut prev = GENESIS;
    let mut since_checkpoint = 0u64;
    let mut torn: Option<TornRegion> = None;
    loop {
        buf.clear();
        // One byte over the limit tells a too-long line apart; the rest of it is not read.
        let read = match (&mut reader)
            .take(MAX_LINE as u64 + 2)
            .read_until(b'\n', &mut buf)
        {
            Ok(n) => n,
            Err(e) => {
                report.error = Some(whole(Problem::Unreadable(e.to_string())));
                return report;
            }
        };
        if read == 0 {
            break;
        }
        line_no += 1;
        let line_offset = offset;
        offset += read as u64;
        let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let too_long = text.len() > MAX_LINE;
        let fail = |report: &mut VerifyReport, seq, problem| {
            report.error = Some(Finding {
                line: line_no,
                seq,
                problem,
            });
        };
        let decoded = if too_long { None } else { entry::decode(text) };
        let Some(d) = decoded else {
            if too_long {
                fail(&mut report, None, Problem::NotAnEntry);
                return report;
            }
            let region = torn.get_or_insert_with(|| TornRegion {
                line: line_no,
                offset: line_offset,
                len: 0,
                hash: Sha256::new(),
            });
            region.len += read as u64;
            region.hash.update(&buf);
            continue;
        };
        let seq = d.body.seq;
        if d.claimed != d.computed {
            if let Some(region) = torn {
                report.error = Some(Finding {
                    line: region.line,
                    seq: None,
                    problem: Problem::NotAnEntry,
                });
            } else {
                fail(&mut report, Some(seq), Problem::HashMismatch);
            }
            return report;
        }
        if let Some(region) = torn.take() {
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
                report.error = Some(Finding {
                    line: region.line,
                    seq: None,
                    problem: Problem::NotAnEntry,
                });
                return report;
            }
            report.warnings.push(Finding {
                line: region.line,
                seq: None,
                problem: Problem::TornWriteRecovered { recovery_seq: seq },
            });
        }
        let expected = report.entries + 1;
        if seq != expected {
            fail(
                &mut report,
                Some(seq),
                Problem::SeqGap {
                    expected,
                    found: seq,
                },
            );
            return report;
        }
        if unhex32(&d.body.prev) != Some(prev) {
            fail(
                &mut report,
                Some(seq),
                Problem::PrevMismatch { previous: seq - 1 },
            );
            return report;
        }
        if let Event::Checkpoint(c) = &d.body.event {
            let signed = c.covers_seq + 1 == seq
                && unhex32(&c.covers_hash) == Some(prev)
                && c.key == fingerprint
                && unhex(&c.sig).is_some_and(|sig| {
                    key::verifies(
                        &public,
                        &entry::checkpoint_message(c.covers_seq, &prev),
                        &sig,
                    )
                });
            if !signed {
                fail(&mut report, Some(seq), Problem::CheckpointSignatureInvalid);
                return report;
            }
            report.checkpoints += 1;
            report.last_checkpoint = Some((c.covers_seq, hex(&prev)));
            since_checkpoint = 0;
        } else {
            since_checkpoint += 1;
        }
        report.entries += 1;
        prev = d.computed;
    }
    if let Some(region) = torn {
        report.error = Some(Finding {
            line: region.line,
            seq: None,
            problem: Problem::TornTail,
        });
        return report;
    }
    if since_checkpoint > 0 {
        report.warnings.push(Finding {
            line: line_no,
            seq: Some(report.entries),
            problem: Problem::Uncovered {
                entries: since_checkpoint,
            },
        });
    }
    report
}
