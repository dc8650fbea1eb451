//! `authctl apikey`: generate, check and digest API keys as auth-core's apikey module defines them.

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use clap::{Args, Subcommand};

/// `authctl apikey` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ApikeyCommand {
    /// Generate (being built).
    Generate(GenerateArgs),
    /// Check (being built).
    Check(CheckArgs),
    /// Digest (being built).
    Digest(DigestArgs),
}

/// Arguments of `Generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {}

/// Arguments of `Check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {}

/// Arguments of `Digest`.
#[derive(Debug, Args)]
pub(crate) struct DigestArgs {}

/// Runs a `apikey` subcommand.
pub(crate) fn run(_cmd: ApikeyCommand, _ctx: &Ctx) -> CliResult {
    Err(CliError::usage(
        "authctl apikey is not built yet",
        "use a later build",
    ))
}
