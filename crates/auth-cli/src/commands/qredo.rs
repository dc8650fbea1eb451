//! `authctl qredo`: sign and verify Qredo requests.

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use clap::{Args, Subcommand};

/// `authctl qredo` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum QredoCommand {
    /// Sign (being built).
    Sign(SignArgs),
    /// Verify (being built).
    Verify(VerifyArgs),
}

/// Arguments of `Sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {}

/// Arguments of `Verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {}

/// Runs a `qredo` subcommand.
pub(crate) fn run(_cmd: QredoCommand, _ctx: &Ctx) -> CliResult {
    Err(CliError::usage(
        "authctl qredo is not built yet",
        "use a later build",
    ))
}
