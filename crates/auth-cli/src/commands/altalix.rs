//! `authctl altalix`: signed payload URLs (`payload` = Base64 of the exact order JSON,
//! `signature` = RSASSA-PKCS1-v1_5-SHA256 over those bytes), signed and verified by auth-core.

use crate::commands::common;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::input;
use crate::output::{Report, Style};
use auth_core::keys::SignatureAlgorithm;
use auth_core::scheme::altalix::{self, AltalixPolicy, Amount, Payload};
use clap::{Args, Subcommand};

/// `authctl altalix` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum AltalixCommand {
    /// Sign an order: prints the redirect URL with payload and signature.
    #[command(
        after_help = "Example:\n  authctl altalix sign --key partner.pem --key-id 7d1c... --partner-id acme \\\n      --sell-currency EUR --buy-currency ETH --address 0xabc... --sell-amount 25 \\\n      --base-url https://altalix.example/partners/transaction-create"
    )]
    Sign(SignArgs),
    /// Verify a signed URL (or its query) with the partner's public key.
    #[command(
        after_help = "Example:\n  authctl altalix verify --public-key partner.pub.pem --url \"$URL\""
    )]
    Verify(VerifyArgs),
}

/// Arguments of `altalix sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The partner's RSA private key.
    #[arg(long, value_name = "PATH")]
    key: String,
    /// The key ID the portal returned for the uploaded public key.
    #[arg(long)]
    key_id: String,
    /// The partner ID.
    #[arg(long)]
    partner_id: String,
    /// Currency sold.
    #[arg(long)]
    sell_currency: String,
    /// Currency bought.
    #[arg(long)]
    buy_currency: String,
    /// The wallet address.
    #[arg(long)]
    address: String,
    /// Amount to buy (of --buy-currency).
    #[arg(
        long,
        required_unless_present = "sell_amount",
        conflicts_with = "sell_amount"
    )]
    buy_amount: Option<String>,
    /// Amount to sell (of --sell-currency).
    #[arg(long)]
    sell_amount: Option<String>,
    /// `created_at` (RFC 3339); default now.
    #[arg(long)]
    created_at: Option<String>,
    /// The page to redirect to; without it only the query is printed.
    #[arg(long)]
    base_url: Option<String>,
    /// Print exactly the signed bytes (the payload JSON) instead of the URL.
    #[arg(long)]
    print_signature_base: bool,
}

/// Arguments of `altalix verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The partner's RSA public key (or its private key file).
    #[arg(long, value_name = "PATH")]
    public_key: String,
    /// The signed URL or its query string: text, @FILE or -.
    #[arg(long)]
    url: String,
    /// How old `created_at` may be.
    #[arg(long, default_value = "5m")]
    max_age: String,
    /// Print exactly the signed bytes (the payload JSON) instead of the verdict.
    #[arg(long)]
    print_signature_base: bool,
}

/// Runs an `altalix` subcommand.
pub(crate) fn run(cmd: AltalixCommand, ctx: &Ctx) -> CliResult {
    match cmd {
        AltalixCommand::Sign(args) => sign(args, ctx),
        AltalixCommand::Verify(args) => verify(&args, ctx),
    }
}

fn sign(args: SignArgs, ctx: &Ctx) -> CliResult {
    let key = common::signing_key(ctx, &args.key, SignatureAlgorithm::RsaPkcs1Sha256)?;
    let amount = match (args.buy_amount, args.sell_amount) {
        (Some(buy), None) => Amount::Buy(buy),
        (None, Some(sell)) => Amount::Sell(sell),
        _ => {
            return Err(CliError::usage(
                "pass exactly one of --buy-amount and --sell-amount",
                "an order names one side's amount",
            ));
        }
    };
    let payload = Payload {
        sell_currency: args.sell_currency,
        buy_currency: args.buy_currency,
        address: args.address,
        partner_id: args.partner_id,
        key_id: args.key_id,
        created_at: args.created_at.unwrap_or_else(|| ctx.now().to_rfc3339()),
        amount,
    };
    let signed = altalix::sign(&payload, &key, ctx.rng())
        .map_err(|e| CliError::core_input("cannot sign the order", &e, "check the order fields"))?;
    let url = args
        .base_url
        .as_deref()
        .map_or_else(|| signed.query(), |base| signed.url(base));
    let report = Report::new("altalix.sign")
        .field("url", url.clone())
        .field("payload_json", signed.json.clone())
        .field("payload", signed.payload_b64.clone())
        .field("signature", signed.signature_b64.clone())
        .line(url);
    common::finish(
        ctx,
        report,
        args.print_signature_base.then_some(signed.json.as_bytes()),
    )
}

fn verify(args: &VerifyArgs, ctx: &Ctx) -> CliResult {
    let key = common::verifying_key(ctx, &args.public_key, SignatureAlgorithm::RsaPkcs1Sha256)?;
    let text = input::read_input_text(&args.url, "--url")?;
    let text = text.trim();
    let query = text.split_once('?').map_or(text, |(_, q)| q);
    let parsed = altalix::parse_query(query).map_err(|e| {
        CliError::core_input(
            "the URL is not a signed Altalix URL",
            &e,
            "pass the whole URL with payload= and signature=",
        )
    })?;
    if args.print_signature_base && !ctx.out.is_json() {
        return common::finish(ctx, Report::new("altalix.verify"), Some(parsed.json()));
    }
    let policy = AltalixPolicy::new(common::duration(&args.max_age)?);
    let payload = altalix::verify(&parsed, &key, &policy, ctx.now()).map_err(|e| {
        CliError::core_verification(
            &format!("Altalix signature rejected (key_id {})", parsed.key_id()),
            &e,
            "check that the public key is the one registered under this key_id, and created_at (or --now)",
        )
    })?;
    let json: serde_json::Value =
        serde_json::from_slice(parsed.json()).unwrap_or(serde_json::Value::Null);
    let report = Report::new("altalix.verify")
        .field("valid", true)
        .field("payload", json)
        .styled(Style::Good, "signature valid")
        .shown("key_id", payload.key_id.clone())
        .shown("partner_id", payload.partner_id.clone())
        .shown("created_at", payload.created_at.clone());
    common::finish(
        ctx,
        report,
        args.print_signature_base.then_some(parsed.json()),
    )
}
