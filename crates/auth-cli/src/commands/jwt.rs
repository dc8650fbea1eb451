//! `authctl jwt`: mint, verify and inspect JWTs.

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use clap::{Args, Subcommand};

/// `authctl jwt` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum JwtCommand {
    /// Mint (being built).
    Mint(MintArgs),
    /// Verify (being built).
    Verify(VerifyArgs),
    /// Inspect (being built).
    Inspect(InspectArgs),
}

/// Arguments of `Mint`.
#[derive(Debug, Args)]
pub(crate) struct MintArgs {}

/// Arguments of `Verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {}

/// Arguments of `Inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {}

/// Runs a `jwt` subcommand.
pub(crate) fn run(_cmd: JwtCommand, _ctx: &Ctx) -> CliResult {
    Err(CliError::usage(
        "authctl jwt is not built yet",
        "use a later build",
    ))
}
