//! `authctl completions <shell>`: shell completion scripts generated from the clap definition.

use crate::Cli;
use crate::error::CliResult;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

/// Arguments of `completions`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  authctl completions bash > ~/.local/share/bash-completion/completions/authctl"
)]
pub(crate) struct CompletionsArgs {
    /// The shell to generate completions for.
    shell: Shell,
}

/// Prints the completion script for the shell on stdout.
pub(crate) fn run(args: &CompletionsArgs) -> CliResult {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut cmd, "authctl", &mut out);
    Ok(())
}
