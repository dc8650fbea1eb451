//! `authctl apikey`: generate, check and digest API keys exactly as auth-core's `apikey`
//! module defines them (`<prefix>_<env>_<random>_<crc32>`, SHA-256 storage digest).

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::input;
use crate::output::{Report, Style};
use auth_core::apikey::{self, Environment, KeyPrefix, PresentedKey};
use clap::{Args, Subcommand, ValueEnum};

/// The environment a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EnvArg {
    /// Production.
    Live,
    /// Sandbox.
    Test,
}

/// `authctl apikey` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ApikeyCommand {
    /// Generate a new API key (shown once) with its storage digest.
    #[command(
        after_help = "Examples:\n  authctl apikey generate --env test\n  authctl apikey generate --env live --prefix acme --json"
    )]
    Generate(GenerateArgs),
    /// Check a key's format and checksum (catches typos and truncation, no lookup).
    #[command(
        after_help = "Examples:\n  authctl apikey check @key.txt\n  authctl apikey check env:PA_API_KEY\n  pbpaste | authctl apikey check -"
    )]
    Check(KeyArgs),
    /// Print the storage digest of a key (SHA-256 hex, what the server stores).
    #[command(after_help = "Example:\n  authctl apikey digest env:PA_API_KEY")]
    Digest(KeyArgs),
}

/// Arguments of `apikey generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// The environment the key works in.
    #[arg(long, value_enum)]
    env: EnvArg,
    /// The issuer prefix (2 to 12 lowercase letters or digits); the service's default is `pa`.
    #[arg(long, default_value = "pa")]
    prefix: String,
}

/// Arguments of `apikey check` and `apikey digest`.
#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    /// The API key: @FILE, env:NAME or - (stdin), never the key itself; default $AUTHCTL_API_KEY.
    key: Option<String>,
    /// The issuer prefix of our own keys; keys with another prefix are treated as foreign.
    #[arg(long, default_value = "pa")]
    prefix: String,
}

fn prefix(text: &str) -> CliResult<KeyPrefix> {
    KeyPrefix::new(text).map_err(|e| {
        CliError::core_input(
            "--prefix",
            &e,
            "pass 2 to 12 lowercase letters or digits, e.g. --prefix pa",
        )
    })
}

/// Runs an `apikey` subcommand.
pub(crate) fn run(cmd: ApikeyCommand, ctx: &Ctx) -> CliResult {
    match cmd {
        ApikeyCommand::Generate(args) => generate(&args, ctx),
        ApikeyCommand::Check(args) => check(&args, ctx),
        ApikeyCommand::Digest(args) => digest(&args, ctx),
    }
}

fn generate(args: &GenerateArgs, ctx: &Ctx) -> CliResult {
    let env = match args.env {
        EnvArg::Live => Environment::Live,
        EnvArg::Test => Environment::Test,
    };
    let key = apikey::generate(&prefix(&args.prefix)?, env, ctx.rng()).map_err(|e| {
        CliError::input(
            format!("cannot generate a key: {}", e.message()),
            "try again",
        )
    })?;
    ctx.out.report(
        &Report::new("apikey.generate")
            .shown("api_key", key.expose())
            .shown("environment", env.as_str())
            .shown("digest", key.digest().to_hex())
            .shown("hint", key.hint())
            .styled(
                Style::Warn,
                "this key is shown once: store it now; the server keeps only the digest",
            ),
    );
    Ok(())
}

fn check(args: &KeyArgs, ctx: &Ctx) -> CliResult {
    let text = input::read_secret_or_env("API_KEY", args.key.as_deref(), "AUTHCTL_API_KEY")?;
    let ours = prefix(&args.prefix)?;
    match apikey::parse(text.trim(), &ours) {
        Ok(PresentedKey::Issued { env, .. }) => {
            ctx.out.report(
                &Report::new("apikey.check")
                    .field("valid", true)
                    .shown("form", "issued")
                    .shown("environment", env.as_str())
                    .styled(Style::Good, "format and checksum are correct"),
            );
            Ok(())
        }
        Ok(PresentedKey::Foreign(_)) => {
            ctx.out.report(
                &Report::new("apikey.check")
                    .field("valid", true)
                    .shown("form", "foreign")
                    .line(format!(
                        "not one of ours (no {}_ prefix): an opaque key, so there is no checksum to check",
                        ours.as_str()
                    )),
            );
            Ok(())
        }
        Err(e) => Err(CliError::core_verification(
            "the API key is not valid",
            &e,
            "copy the whole key again; it may be truncated or mistyped",
        )),
    }
}

fn digest(args: &KeyArgs, ctx: &Ctx) -> CliResult {
    let text = input::read_secret_or_env("API_KEY", args.key.as_deref(), "AUTHCTL_API_KEY")?;
    let ours = prefix(&args.prefix)?;
    let presented = apikey::parse(text.trim(), &ours).map_err(|e| {
        CliError::core_input(
            "the API key is not valid",
            &e,
            "check it with 'authctl apikey check' and copy the whole key again",
        )
    })?;
    let hex = presented.digest().to_hex();
    ctx.out.report(
        &Report::new("apikey.digest")
            .field("digest", hex.clone())
            .field("algorithm", "sha-256")
            .line(hex),
    );
    Ok(())
}
