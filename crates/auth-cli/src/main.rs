//! `authctl`: one command line for partners, providers and operators of partner-auth.
//!
//! It is the only crate of the workspace that prints. Keys, signatures, tokens and formats come
//! from auth-core; this crate reads inputs, calls auth-core, and prints results.
//!
//! Modules (and who owns them):
//! - `main.rs`: the top-level [`Cli`] (global flags `--json`, `-v`, `--no-color`,
//!   `--insecure-permissions`, `--now`), the [`Command`] enum, dispatch and exit codes. (shared)
//! - `error`: [`error::CliError`], its kind and exit code, message and hint. (shared)
//! - `input`: flag / `@file` / `env:` / stdin inputs, secrets never from argv, private key
//!   loading with the ssh-like permission check, key files written 0600. (shared)
//! - `output`: human or `--json` (version 1, `"kind"`) results, colour rules. (shared)
//! - `context`: the global state a command gets: output, clock, random generator. (shared)
//! - `commands::keys` (`keygen`, `pubkey`, `fingerprint`), `commands::apikey`,
//!   `commands::qredo`, `commands::rfc9421`, `commands::altalix`, `commands::smile`,
//!   `commands::jwt`, `commands::apptrust`, `commands::audit`, `commands::completions`:
//!   offline commands; `commands::common`: key binding, bodies, headers, durations and
//!   `--print-signature-base` shared by the signing commands. (cli-a)
//! - `commands::request`, `commands::admin`, `commands::doctor`: commands that talk to a
//!   server over HTTP. (cli-b)
//!
//! Exit codes: 0 ok, 1 verification failed, 2 usage or input error, 3 network or server error.

mod commands;
mod context;
mod error;
mod input;
mod output;

use clap::{CommandFactory, Parser, Subcommand};
use context::Ctx;
use error::{CliError, CliResult};
use output::Output;
use std::process::ExitCode;

/// The exit code table, shown under every `--help`.
const EXIT_CODES: &str = "\
Exit codes:
  0  ok
  1  verification failed (signature, token, checksum, chain, license)
  2  usage or input error (bad flag, unreadable or malformed file or key, secret in argv)
  3  network or server error

Secrets (API keys, HMAC secrets) are never read from arguments: pass @FILE, env:NAME or - (stdin).";

/// authctl: keys, API keys, signatures, tokens and app trust for partner-auth.
#[derive(Debug, Parser)]
#[command(name = "authctl", version, about, after_help = EXIT_CODES, propagate_version = true)]
pub(crate) struct Cli {
    /// Print results as one JSON object (documented shape, "version": 1, "kind": ...).
    #[arg(long, global = true)]
    json: bool,

    /// Say more on stderr about what is done (never a secret); repeat for more.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    /// No colour (also when NO_COLOR is set or the output is not a terminal).
    #[arg(long, global = true)]
    no_color: bool,

    /// Accept private key files readable by group or others (refused by default, as ssh does).
    #[arg(long, global = true)]
    insecure_permissions: bool,

    /// Pretend the current time is TIME (Unix seconds or RFC 3339), to reproduce a signature or
    /// check a token at a given moment.
    #[arg(long, global = true, env = "AUTHCTL_NOW", value_name = "TIME")]
    now: Option<String>,

    #[command(subcommand)]
    command: Command,
}

/// Every command of `authctl`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    // --- offline commands (cli-a) ---
    /// Generate a private key (RSA, Ed25519, P-256) and write it with mode 0600.
    Keygen(commands::keys::KeygenArgs),
    /// Print the public key of a key file in SPKI PEM, PKCS#1, JWK, Smile or Actyx form.
    Pubkey(commands::keys::PubkeyArgs),
    /// Print the RFC 7638 JWK thumbprint of a key.
    Fingerprint(commands::keys::FingerprintArgs),
    /// Generate, check and digest API keys.
    #[command(subcommand)]
    Apikey(commands::apikey::ApikeyCommand),
    /// Sign and verify Qredo requests (x-api-key, x-timestamp, x-sign).
    #[command(subcommand)]
    Qredo(commands::qredo::QredoCommand),
    /// Sign and verify RFC 9421 HTTP message signatures.
    #[command(subcommand, name = "rfc9421", alias = "http-sig")]
    Rfc9421(commands::rfc9421::Rfc9421Command),
    /// Sign and verify Altalix signed payload URLs.
    #[command(subcommand)]
    Altalix(commands::altalix::AltalixCommand),
    /// Smile signatures and legacy sec_key.
    #[command(subcommand)]
    Smile(commands::smile::SmileCommand),
    /// Mint, verify and inspect JWTs.
    #[command(subcommand)]
    Jwt(commands::jwt::JwtCommand),
    /// App trust: authority, developer certificates, manifests, licenses.
    #[command(subcommand)]
    Apptrust(commands::apptrust::ApptrustCommand),
    /// Verify an exported audit log.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
    /// Print shell completions.
    Completions(commands::completions::CompletionsArgs),
    // --- server commands (cli-b): request, admin, doctor ---
    /// Send an HTTP request signed with any scheme and print the response (curl-like).
    #[command(after_help = commands::request::EXAMPLES)]
    Request(commands::request::RequestArgs),
    /// Drive auth-verify's admin API with your admin key (created on first use).
    #[command(after_help = commands::admin::EXAMPLES)]
    Admin(commands::admin::AdminArgs),
    /// Check a partner's setup against a server: clock, key, registration, schemes.
    #[command(after_help = commands::doctor::EXAMPLES)]
    Doctor(commands::doctor::DoctorArgs),
}

/// Runs one command.
fn dispatch(command: Command, ctx: &Ctx) -> CliResult {
    match command {
        Command::Keygen(args) => commands::keys::keygen(args, ctx),
        Command::Pubkey(args) => commands::keys::pubkey(args, ctx),
        Command::Fingerprint(args) => commands::keys::fingerprint(args, ctx),
        Command::Apikey(cmd) => commands::apikey::run(cmd, ctx),
        Command::Qredo(cmd) => commands::qredo::run(cmd, ctx),
        Command::Rfc9421(cmd) => commands::rfc9421::run(cmd, ctx),
        Command::Altalix(cmd) => commands::altalix::run(cmd, ctx),
        Command::Smile(cmd) => commands::smile::run(cmd, ctx),
        Command::Jwt(cmd) => commands::jwt::run(cmd, ctx),
        Command::Apptrust(cmd) => commands::apptrust::run(cmd, ctx),
        Command::Audit(cmd) => commands::audit::run(cmd, ctx),
        Command::Completions(args) => commands::completions::run(&args),
        // --- server commands (cli-b) ---
        Command::Request(args) => commands::request::run(args, ctx),
        Command::Admin(args) => commands::admin::run(args, ctx),
        Command::Doctor(args) => commands::doctor::run(args, ctx),
    }
}

/// Whether colour is switched off before the flags are parsed (for clap's own messages).
fn colour_off_early() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || std::env::args_os().any(|a| a == "--no-color")
}

/// A clap error (bad flag, missing value) as one `authctl` usage line, exit 2.
fn clap_usage_error(err: &clap::Error) -> CliError {
    let rendered = err.render().to_string();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let problem = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_owned();
    let tip = rendered
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("tip: "))
        .map(str::to_owned);
    // "Usage: authctl keygen [OPTIONS]" names the command whose --help to read.
    let command = rendered
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage: "))
        .map(|u| {
            u.split_whitespace()
                .take_while(|w| !w.starts_with(['[', '<', '-']))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "authctl".to_owned());
    let hint = match tip {
        Some(tip) => format!("{tip}; see '{command} --help'"),
        None => format!("see '{command} --help'"),
    };
    CliError::usage(problem, hint)
}

fn main() -> ExitCode {
    // A bug must still be one line without a backtrace; exit code 101 marks it as a bug.
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "error: internal error in authctl: {info}; hint: this is a bug, please report it with the command you ran"
        );
    }));

    let colour = if colour_off_early() {
        clap::ColorChoice::Never
    } else {
        clap::ColorChoice::Auto
    };
    let matches = Cli::command().color(colour).try_get_matches();
    let cli = match matches.and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m)) {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind as K;
            return match err.kind() {
                K::DisplayHelp | K::DisplayVersion => {
                    let _ = err.print();
                    ExitCode::SUCCESS
                }
                K::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = err.print();
                    ExitCode::from(2)
                }
                _ => {
                    let json = std::env::args_os().any(|a| a == "--json");
                    let e = clap_usage_error(&err);
                    Output::new(json, colour_off_early(), 0).error(&e);
                    ExitCode::from(e.kind().exit_code())
                }
            };
        }
    };

    let out = Output::new(cli.json, cli.no_color, cli.verbose);
    let result = Ctx::new(out.clone(), cli.insecure_permissions, cli.now.as_deref())
        .and_then(|ctx| dispatch(cli.command, &ctx));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            out.error(&err);
            ExitCode::from(err.kind().exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_an_example() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", cmd.get_name());
            let subs: Vec<_> = cmd
                .get_subcommands()
                .filter(|c| c.get_name() != "help")
                .collect();
            if subs.is_empty() {
                let help = cmd
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                if !help.contains("authctl ") {
                    missing.push(path.clone());
                }
            }
            for sub in subs {
                walk(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "", &mut missing);
        assert!(
            missing.is_empty(),
            "commands without an example: {missing:?}"
        );
    }
}
