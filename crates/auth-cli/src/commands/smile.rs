//! `authctl smile`: Smile signatures and legacy sec_key.

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use clap::{Args, Subcommand};

/// `authctl smile` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum SmileCommand {
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

/// Runs a `smile` subcommand.
pub(crate) fn run(_cmd: SmileCommand, _ctx: &Ctx) -> CliResult {
    Err(CliError::usage(
        "authctl smile is not built yet",
        "use a later build",
    ))
}
