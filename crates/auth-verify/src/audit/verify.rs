//! Offline verification of an audit log file: reads it line by line into auth-core's
//! [`ChainVerifier`] (every line an entry, seq contiguous, every `prev` and `hash` right, every
//! checkpoint signed by the service key; names the first broken entry).
//! `auth-verify audit verify <path>` prints the [`VerifyReport`].

use super::key::{self, SERVICE_PUB_FILE};
use auth_core::audit::ChainVerifier;
use auth_core::audit::verify::MAX_READ;
pub use auth_core::audit::{Finding, Problem, VerifyReport};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Checks the log at `path`. The service public key is `public_key` (SPKI PEM or the 32 raw
/// bytes), or else `service.pub` next to the log. Never panics on any file content.
pub fn verify_file(path: &Path, public_key: Option<&[u8]>) -> VerifyReport {
    let source = path.display().to_string();
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
        return VerifyReport::failed(source, Problem::NoPublicKey);
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return VerifyReport::failed(source, Problem::Unreadable(e.to_string())),
    };
    let mut verifier = ChainVerifier::new(source.clone(), public);
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        // One byte over the limit tells a too-long line apart; the rest of it is not read.
        match (&mut reader)
            .take(MAX_READ as u64)
            .read_until(b'\n', &mut buf)
        {
            Ok(0) => break,
            Ok(_) => {
                if !verifier.push_line(&buf) {
                    break;
                }
            }
            Err(e) => return VerifyReport::failed(source, Problem::Unreadable(e.to_string())),
        }
    }
    verifier.finish()
}
