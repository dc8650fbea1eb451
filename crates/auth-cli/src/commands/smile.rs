//! `authctl smile`: the Signature method (HMAC-SHA256 of `timestamp || partner_id ||
//! "sid_request"` with the API key) and the legacy `sec_key` (generate, verify with the
//! provider's private key, respond, confirm a response), all by auth-core.

use crate::commands::common;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::input;
use crate::output::{Report, Style};
use auth_core::keys::{RsaPkcs1Decryptor, RsaRawSigner};
use auth_core::scheme::smile::{self, SmileKey, SmilePolicy, sec_key};
use clap::{Args, Subcommand};

/// `authctl smile` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum SmileCommand {
    /// Sign: prints partner_id, timestamp and signature (headers or body fields).
    #[command(
        after_help = "Examples:\n  authctl smile sign --partner-id 085 --api-key @smile.key\n  authctl smile sign --partner-id 085 --api-key env:SMILE_API_KEY --timestamp 2022-04-03T21:31:47.296Z"
    )]
    Sign(SignArgs),
    /// Verify a signature (request, response or callback).
    #[command(
        after_help = "Example:\n  authctl smile verify --partner-id 085 --api-key @smile.key \\\n      --timestamp 2022-04-03T21:31:47.296Z --signature FITNqlcg6TBm3xfDXh1R/WQs3AixkcRe58N9Qu4VA6I="
    )]
    Verify(VerifyArgs),
    /// The legacy sec_key (deprecated by Smile, still supported).
    #[command(subcommand, name = "sec-key")]
    SecKey(SecKeyCommand),
}

/// `authctl smile sec-key` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum SecKeyCommand {
    /// Partner side: make the outgoing sec_key with the provider's public key.
    #[command(
        after_help = "Example:\n  authctl smile sec-key generate --provider-key smile_api_key.txt --partner-id 085"
    )]
    Generate(GenerateArgs),
    /// Provider side: verify an incoming sec_key with the provider's private key.
    #[command(
        after_help = "Example:\n  authctl smile sec-key verify --key provider.pem --partner-id 085 --timestamp 1649021507 --sec-key @sec_key.txt"
    )]
    Verify(SecKeyVerifyArgs),
    /// Provider side: sign a response `signature` (raw PKCS#1 v1.5 type 1; legacy use only).
    #[command(
        after_help = "Example:\n  authctl smile sec-key respond --key provider.pem --partner-id 085 --timestamp 1649021507"
    )]
    Respond(RespondArgs),
    /// Partner side: confirm an incoming response `signature` with the provider's public key.
    #[command(
        after_help = "Example:\n  authctl smile sec-key confirm --provider-key smile_api_key.txt --partner-id 085 \\\n      --timestamp 1649021507 --signature @signature.txt"
    )]
    Confirm(ConfirmArgs),
}

/// Arguments of `smile sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The partner ID as issued (e.g. 085).
    #[arg(long)]
    partner_id: String,
    /// The Smile API key: @FILE, env:NAME or - (never the key itself); default $SMILE_API_KEY.
    #[arg(long, value_name = "SOURCE")]
    api_key: Option<String>,
    /// The timestamp text to sign (default: now, as the SDKs write it).
    #[arg(long)]
    timestamp: Option<String>,
    /// Print exactly the signed bytes instead of the fields.
    #[arg(long)]
    print_signature_base: bool,
}

/// Arguments of `smile verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The partner ID as sent.
    #[arg(long)]
    partner_id: String,
    /// The Smile API key: @FILE, env:NAME or -; default $SMILE_API_KEY.
    #[arg(long, value_name = "SOURCE")]
    api_key: Option<String>,
    /// The timestamp exactly as sent.
    #[arg(long)]
    timestamp: String,
    /// The signature as sent (Base64).
    #[arg(long)]
    signature: String,
    /// How old a timestamp may be.
    #[arg(long, default_value = "5m")]
    max_age: String,
    /// How far in the future a timestamp may be.
    #[arg(long, default_value = "30s")]
    max_skew: String,
    /// Print exactly the signed bytes instead of the verdict.
    #[arg(long)]
    print_signature_base: bool,
}

/// Arguments of `smile sec-key generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// The provider's RSA public key: Smile's Base64 `api_key` form, SPKI or PKCS#1 PEM.
    #[arg(long, value_name = "PATH")]
    provider_key: String,
    /// The partner ID (decimal digits).
    #[arg(long)]
    partner_id: String,
    /// The timestamp (decimal Unix seconds or milliseconds); default now in seconds.
    #[arg(long)]
    timestamp: Option<String>,
    /// With no --timestamp, use milliseconds (as some SDKs do).
    #[arg(long)]
    millis: bool,
    /// Print exactly the encrypted bytes (the hex hash) instead of the sec_key.
    #[arg(long)]
    print_signature_base: bool,
}

/// Arguments of `smile sec-key verify`.
#[derive(Debug, Args)]
pub(crate) struct SecKeyVerifyArgs {
    /// The provider's RSA private key.
    #[arg(long, value_name = "PATH")]
    key: String,
    /// The partner ID as sent.
    #[arg(long)]
    partner_id: String,
    /// The timestamp as sent.
    #[arg(long)]
    timestamp: String,
    /// The sec_key as sent: text, @FILE or -.
    #[arg(long)]
    sec_key: String,
    /// How old a timestamp may be.
    #[arg(long, default_value = "5m")]
    max_age: String,
    /// How far in the future a timestamp may be.
    #[arg(long, default_value = "30s")]
    max_skew: String,
}

/// Arguments of `smile sec-key respond`.
#[derive(Debug, Args)]
pub(crate) struct RespondArgs {
    /// The provider's RSA private key.
    #[arg(long, value_name = "PATH")]
    key: String,
    /// The partner ID.
    #[arg(long)]
    partner_id: String,
    /// The timestamp (decimal Unix seconds or milliseconds).
    #[arg(long)]
    timestamp: String,
}

/// Arguments of `smile sec-key confirm`.
#[derive(Debug, Args)]
pub(crate) struct ConfirmArgs {
    /// The provider's RSA public key (Smile Base64 form, SPKI or PKCS#1 PEM).
    #[arg(long, value_name = "PATH")]
    provider_key: String,
    /// The partner ID.
    #[arg(long)]
    partner_id: String,
    /// The timestamp of the response.
    #[arg(long)]
    timestamp: String,
    /// The response `signature`: text, @FILE or -.
    #[arg(long)]
    signature: String,
}

/// Runs a `smile` subcommand.
pub(crate) fn run(cmd: SmileCommand, ctx: &Ctx) -> CliResult {
    match cmd {
        SmileCommand::Sign(args) => sign(&args, ctx),
        SmileCommand::Verify(args) => verify(&args, ctx),
        SmileCommand::SecKey(SecKeyCommand::Generate(args)) => sec_key_generate(&args, ctx),
        SmileCommand::SecKey(SecKeyCommand::Verify(args)) => sec_key_verify(&args, ctx),
        SmileCommand::SecKey(SecKeyCommand::Respond(args)) => sec_key_respond(&args, ctx),
        SmileCommand::SecKey(SecKeyCommand::Confirm(args)) => sec_key_confirm(&args, ctx),
    }
}

fn smile_key(arg: Option<&str>) -> CliResult<SmileKey> {
    let secret = input::read_secret_or_env("--api-key", arg, "SMILE_API_KEY")?;
    SmileKey::new(secret.as_bytes())
        .map_err(|e| CliError::core_input("--api-key", &e, "pass the API key Smile issued"))
}

fn policy(max_age: &str, max_skew: &str) -> CliResult<SmilePolicy> {
    Ok(SmilePolicy::new(
        common::duration(max_age)?,
        common::duration(max_skew)?,
    ))
}

fn sign(args: &SignArgs, ctx: &Ctx) -> CliResult {
    let key = smile_key(args.api_key.as_deref())?;
    let timestamp = args
        .timestamp
        .clone()
        .unwrap_or_else(|| smile::sdk_timestamp(ctx.now()));
    let signature = key.sign(&args.partner_id, &timestamp);
    let base = smile::signature_base(&args.partner_id, &timestamp);
    let report = Report::new("smile.sign")
        .field("partner_id", args.partner_id.clone())
        .field("timestamp", timestamp.clone())
        .field("signature", signature.clone())
        .line(format!("{}: {}", smile::HEADER_PARTNER_ID, args.partner_id))
        .line(format!("{}: {timestamp}", smile::HEADER_TIMESTAMP))
        .line(format!("{}: {signature}", smile::HEADER_SIGNATURE));
    common::finish(ctx, report, args.print_signature_base.then_some(&base))
}

fn verify(args: &VerifyArgs, ctx: &Ctx) -> CliResult {
    let key = smile_key(args.api_key.as_deref())?;
    let policy = policy(&args.max_age, &args.max_skew)?;
    let base = smile::signature_base(&args.partner_id, &args.timestamp);
    if args.print_signature_base && !ctx.out.is_json() {
        return common::finish(ctx, Report::new("smile.verify"), Some(&base));
    }
    let parsed =
        smile::parse(&args.partner_id, &args.timestamp, args.signature.trim()).map_err(|e| {
            CliError::core_input(
                "the signature fields are malformed",
                &e,
                "pass them exactly as sent",
            )
        })?;
    smile::verify(&parsed, &key, &policy, ctx.now()).map_err(|e| {
        CliError::core_verification(
            "Smile signature rejected",
            &e,
            "check the API key, partner ID and timestamp text (or --now)",
        )
    })?;
    let report = Report::new("smile.verify")
        .field("valid", true)
        .styled(Style::Good, "signature valid");
    common::finish(ctx, report, args.print_signature_base.then_some(&base))
}

fn sec_key_hash(partner_id: &str, timestamp: &str) -> CliResult<[u8; 64]> {
    sec_key::hash(partner_id, timestamp).map_err(|e| {
        CliError::core_input(
            "partner ID or timestamp",
            &e,
            "the partner ID is digits (085) and the timestamp decimal Unix seconds or milliseconds",
        )
    })
}

fn sec_key_generate(args: &GenerateArgs, ctx: &Ctx) -> CliResult {
    let provider = input::load_public_key(&args.provider_key, ctx.key_permissions)?;
    let unit = if args.millis {
        sec_key::TimestampUnit::Millis
    } else {
        sec_key::TimestampUnit::Seconds
    };
    let timestamp = args
        .timestamp
        .clone()
        .unwrap_or_else(|| sec_key::timestamp(ctx.now(), unit));
    let hash = sec_key_hash(&args.partner_id, &timestamp)?;
    let value =
        sec_key::generate(&provider, &args.partner_id, &timestamp, ctx.rng()).map_err(|e| {
            CliError::core_input(
                "cannot make the sec_key",
                &e,
                "the provider key must be RSA",
            )
        })?;
    let report = Report::new("smile.sec_key.generate")
        .field("partner_id", args.partner_id.clone())
        .shown("timestamp", timestamp)
        .shown("sec_key", value);
    common::finish(ctx, report, args.print_signature_base.then_some(&hash))
}

fn sec_key_verify(args: &SecKeyVerifyArgs, ctx: &Ctx) -> CliResult {
    let loaded = input::load_private_key(&args.key, ctx.key_permissions)?;
    let decryptor = RsaPkcs1Decryptor::new(&loaded.key).map_err(|e| {
        CliError::core_input(&loaded.origin, &e, "pass the provider's RSA private key")
    })?;
    let value = input::read_input_text(&args.sec_key, "--sec-key")?;
    let parsed = sec_key::parse(&args.partner_id, &args.timestamp, value.trim()).map_err(|e| {
        CliError::core_input(
            "the sec_key fields are malformed",
            &e,
            "pass partner_id, timestamp and sec_key as sent",
        )
    })?;
    sec_key::verify(
        &parsed,
        &decryptor,
        &policy(&args.max_age, &args.max_skew)?,
        ctx.now(),
    )
    .map_err(|e| {
        CliError::core_verification(
            "sec_key rejected",
            &e,
            "check the key pair, partner ID and timestamp (or --now)",
        )
    })?;
    ctx.out.report(
        &Report::new("smile.sec_key.verify")
            .field("valid", true)
            .styled(Style::Good, "sec_key valid"),
    );
    Ok(())
}

fn sec_key_respond(args: &RespondArgs, ctx: &Ctx) -> CliResult {
    let loaded = input::load_private_key(&args.key, ctx.key_permissions)?;
    let signer = RsaRawSigner::new_for_legacy_use_only(&loaded.key).map_err(|e| {
        CliError::core_input(&loaded.origin, &e, "pass the provider's RSA private key")
    })?;
    let hash = sec_key_hash(&args.partner_id, &args.timestamp)?;
    let signature = sec_key::sign_response_for_legacy_use_only(
        &signer,
        &args.partner_id,
        &args.timestamp,
        ctx.rng(),
    )
    .map_err(|e| CliError::core_input("cannot sign the response", &e, "check the key"))?;
    let full = format!("{signature}|{}", String::from_utf8_lossy(&hash));
    ctx.out.report(
        &Report::new("smile.sec_key.respond")
            .field("timestamp", args.timestamp.clone())
            .shown("signature", full),
    );
    Ok(())
}

fn sec_key_confirm(args: &ConfirmArgs, ctx: &Ctx) -> CliResult {
    let provider = input::load_public_key(&args.provider_key, ctx.key_permissions)?;
    let signature = input::read_input_text(&args.signature, "--signature")?;
    sec_key::verify_response(
        &provider,
        &args.partner_id,
        &args.timestamp,
        signature.trim(),
    )
    .map_err(|e| {
        CliError::core_verification(
            "response signature rejected",
            &e,
            "check the provider key, partner ID and timestamp",
        )
    })?;
    ctx.out.report(
        &Report::new("smile.sec_key.confirm")
            .field("valid", true)
            .styled(Style::Good, "response signature valid"),
    );
    Ok(())
}
