//! `authctl apptrust`: authority, developer certificates, manifests, licenses.

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use clap::{Args, Subcommand};

/// `authctl apptrust` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ApptrustCommand {
    /// AuthorityInit (being built).
    AuthorityInit(AuthorityInitArgs),
}

/// Arguments of `AuthorityInit`.
#[derive(Debug, Args)]
pub(crate) struct AuthorityInitArgs {}

/// Runs a `apptrust` subcommand.
pub(crate) fn run(_cmd: ApptrustCommand, _ctx: &Ctx) -> CliResult {
    Err(CliError::usage(
        "authctl apptrust is not built yet",
        "use a later build",
    ))
}
