//! `authctl altalix`: sign and verify Altalix signed payload URLs.

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use clap::{Args, Subcommand};

/// `authctl altalix` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum AltalixCommand {
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

/// Runs a `altalix` subcommand.
pub(crate) fn run(_cmd: AltalixCommand, _ctx: &Ctx) -> CliResult {
    Err(CliError::usage(
        "authctl altalix is not built yet",
        "use a later build",
    ))
}
