//! `authctl rfc9421`: sign and verify RFC 9421 HTTP message signatures.

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use clap::{Args, Subcommand};

/// `authctl rfc9421` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Rfc9421Command {
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

/// Runs a `rfc9421` subcommand.
pub(crate) fn run(_cmd: Rfc9421Command, _ctx: &Ctx) -> CliResult {
    Err(CliError::usage(
        "authctl rfc9421 is not built yet",
        "use a later build",
    ))
}
