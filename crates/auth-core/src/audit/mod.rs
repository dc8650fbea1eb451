//! The audit log format and its offline verification, without IO: the service (auth-verify)
//! writes entries with [`entry`], and any verifier (auth-verify, authctl) checks a log with
//! [`verify::ChainVerifier`].
//!
//! Format: JSON Lines. Each line is the compact JSON of `{"seq","time","prev","event"}` (its
//! canonical bytes) with `,"hash":"<hex SHA-256 of those bytes>"` inserted before the closing
//! brace; `prev` is the previous entry's hash, the first entry's is 64 zeros. A checkpoint
//! entry signs `context || covers_seq (u64 BE) || covers_hash` for the entry before it with
//! the service's Ed25519 key, named by [`entry::key_fingerprint`].

pub mod entry;
pub mod verify;

pub use entry::{AdminOutcome, AdminRecord, DecisionOutcome, DecisionRecord, GENESIS};
pub use verify::{ChainVerifier, Finding, Problem, VerifyReport, verify_log};
