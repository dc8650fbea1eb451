//! `authctl audit`: verify an exported audit log's hash chain and checkpoints.

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use clap::{Args, Subcommand};

/// `authctl audit` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Verify (being built).
    Verify(VerifyArgs),
}

/// Arguments of `Verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {}

/// Runs a `audit` subcommand.
pub(crate) fn run(_cmd: AuditCommand, _ctx: &Ctx) -> CliResult {
    Err(CliError::usage(
        "authctl audit is not built yet",
        "use a later build",
    ))
}
