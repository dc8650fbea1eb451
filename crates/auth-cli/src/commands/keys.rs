//! `authctl keygen`, `pubkey`, `fingerprint`: key generation and public key forms, by auth-core.

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use clap::Args;

/// Arguments of `keygen`.
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {}

/// Arguments of `pubkey`.
#[derive(Debug, Args)]
pub(crate) struct PubkeyArgs {}

/// Arguments of `fingerprint`.
#[derive(Debug, Args)]
pub(crate) struct FingerprintArgs {}

/// Runs `keygen`.
pub(crate) fn keygen(_args: KeygenArgs, _ctx: &Ctx) -> CliResult {
    Err(CliError::usage(
        "authctl keygen is not built yet",
        "use a later build",
    ))
}

/// Runs `pubkey`.
pub(crate) fn pubkey(_args: PubkeyArgs, _ctx: &Ctx) -> CliResult {
    Err(CliError::usage(
        "authctl pubkey is not built yet",
        "use a later build",
    ))
}

/// Runs `fingerprint`.
pub(crate) fn fingerprint(_args: FingerprintArgs, _ctx: &Ctx) -> CliResult {
    Err(CliError::usage(
        "authctl fingerprint is not built yet",
        "use a later build",
    ))
}
