//! `authctl qredo`: sign and verify Qredo requests (`x-timestamp` or `x-nonce`, `x-sign` =
//! Base64url RSASSA-PKCS1-v1_5-SHA256 over `timestamp || full URL || body`), by auth-core.

use crate::commands::common;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::{Report, Style};
use auth_core::keys::SignatureAlgorithm;
use auth_core::request::{Body, Headers, Request, TargetUri};
use auth_core::scheme::qredo::{self, Freshness, FreshnessMode, QredoPolicy};
use clap::{Args, Subcommand};

const SIGN_EXAMPLES: &str = "\
Examples:
  authctl qredo sign --key qredo.pem --url https://api.qredo.network/api/v1/p/company/search
  authctl qredo sign --key qredo.pem --url https://api.example/v1/x --body @req.json --json
  authctl qredo sign --key qredo.pem --url https://api.example/v1/x --timestamp 1605779886 --print-signature-base";

const VERIFY_EXAMPLES: &str = "\
Example:
  authctl qredo verify --public-key qredo.pub.pem --url https://api.example/v1/x \\
      --timestamp 1605779886 --sign \"$SIG\" --body @req.json";

/// `authctl qredo` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum QredoCommand {
    /// Sign a request: prints the x-timestamp (or x-nonce) and x-sign headers.
    #[command(after_help = SIGN_EXAMPLES)]
    Sign(SignArgs),
    /// Verify a request's x-sign with the partner's public key.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
}

/// Arguments of `qredo sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The partner's RSA private key (PKCS#1 or PKCS#8, PEM or DER).
    #[arg(long, value_name = "PATH")]
    key: String,
    /// The absolute URL exactly as requested (scheme, host, path, query; http(s) or ws(s)).
    #[arg(long)]
    url: String,
    /// The body sent: text, @FILE, env:NAME or - (stdin); none for GET.
    #[arg(long)]
    body: Option<String>,
    /// The x-timestamp to sign (Unix seconds); default now.
    #[arg(long, conflicts_with = "nonce")]
    timestamp: Option<u64>,
    /// Sign with x-nonce N (strictly increasing per key) instead of x-timestamp.
    #[arg(long)]
    nonce: Option<u64>,
    /// Print exactly the bytes that are signed instead of the headers.
    #[arg(long)]
    print_signature_base: bool,
}

/// Arguments of `qredo verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The partner's public key (SPKI or PKCS#1), or its private key file.
    #[arg(long, value_name = "PATH")]
    public_key: String,
    /// The absolute URL exactly as requested.
    #[arg(long)]
    url: String,
    /// The body received: text, @FILE, env:NAME or -.
    #[arg(long)]
    body: Option<String>,
    /// The x-timestamp header.
    #[arg(long, required_unless_present = "nonce", conflicts_with = "nonce")]
    timestamp: Option<String>,
    /// The x-nonce header (its increase is the server's to check).
    #[arg(long)]
    nonce: Option<String>,
    /// The x-sign header: text, @FILE or -.
    #[arg(long)]
    sign: String,
    /// The accepted clock difference for x-timestamp (e.g. 30s, 5m).
    #[arg(long, default_value = "30s")]
    window: String,
    /// Print exactly the bytes whose signature is checked instead of the verdict.
    #[arg(long)]
    print_signature_base: bool,
}

/// Runs a `qredo` subcommand.
pub(crate) fn run(cmd: QredoCommand, ctx: &Ctx) -> CliResult {
    match cmd {
        QredoCommand::Sign(args) => sign(&args, ctx),
        QredoCommand::Verify(args) => verify(&args, ctx),
    }
}

fn target(url: &str) -> CliResult<TargetUri<'_>> {
    TargetUri::parse(url).map_err(|e| {
        CliError::core_input(
            "--url",
            &e,
            "pass the absolute URL exactly as requested, e.g. https://api.example/v1/x?a=b",
        )
    })
}

fn sign(args: &SignArgs, ctx: &Ctx) -> CliResult {
    let key = common::signing_key(ctx, &args.key, SignatureAlgorithm::RsaPkcs1Sha256)?;
    let body = common::body(args.body.as_deref())?;
    let target = target(&args.url)?;
    let freshness = match (args.nonce, args.timestamp) {
        (Some(n), _) => Freshness::Nonce(n),
        (None, Some(t)) => Freshness::Timestamp(t),
        (None, None) => Freshness::Timestamp(ctx.now().as_secs()),
    };
    let signed = qredo::sign(&target, &body, freshness, &key, ctx.rng()).map_err(|e| {
        CliError::core_input(
            "cannot sign",
            &e,
            "use an RSA private key (2048 to 4096 bits)",
        )
    })?;
    let mut base = Vec::new();
    qredo::write_string_to_sign(&signed.freshness_value, &target, &body, &mut base);
    ctx.out.verbose(
        1,
        format!(
            "signed {} bytes: {} + URL + {} body bytes",
            base.len(),
            signed.freshness_name,
            body.len()
        ),
    );
    let report = Report::new("qredo.sign")
        .field("headers", serde_json::json!({ signed.freshness_name: signed.freshness_value, qredo::HEADER_SIGN: signed.sign }))
        .line(format!("{}: {}", signed.freshness_name, signed.freshness_value))
        .line(format!("{}: {}", qredo::HEADER_SIGN, signed.sign));
    common::finish(ctx, report, args.print_signature_base.then_some(&base))
}

fn verify(args: &VerifyArgs, ctx: &Ctx) -> CliResult {
    let key = common::verifying_key(ctx, &args.public_key, SignatureAlgorithm::RsaPkcs1Sha256)?;
    let body = common::body(args.body.as_deref())?;
    let sign = crate::input::read_input_text(&args.sign, "--sign")?;
    let sign = sign.trim();
    let window = common::duration(&args.window)?;
    let target = target(&args.url)?;
    let (name, value) = match (&args.nonce, &args.timestamp) {
        (Some(n), _) => (qredo::HEADER_NONCE, n.as_str()),
        (None, Some(t)) => (qredo::HEADER_TIMESTAMP, t.as_str()),
        (None, None) => {
            return Err(CliError::usage(
                "--timestamp or --nonce is required",
                "pass the x-timestamp or x-nonce header",
            ));
        }
    };
    // The API key is looked up by the server, not signed; a stand-in satisfies the parser.
    let fields = [
        (qredo::HEADER_API_KEY, "authctl-offline"),
        (name, value),
        (qredo::HEADER_SIGN, sign),
    ];
    let req = Request::new(
        "GET",
        target,
        Headers::new(&fields),
        Body::from_bytes(&body),
    )
    .map_err(|e| CliError::core_input("request", &e, "check --url"))?;
    let mut base = Vec::new();
    qredo::write_string_to_sign(value, &target, &body, &mut base);
    let parsed = qredo::parse(&req).map_err(|e| {
        CliError::core_input(
            &format!("the request headers are malformed ({})", e.reason.as_str()),
            &e.error,
            "pass the headers exactly as sent",
        )
    })?;
    let policy = QredoPolicy::new(window).with_freshness(FreshnessMode::TimestampOrNonce);
    if args.print_signature_base && !ctx.out.is_json() {
        return common::finish(ctx, Report::new("qredo.verify"), Some(&base));
    }
    match qredo::verify(&req, &parsed, &key, &policy, ctx.now()) {
        Ok(_) => {
            let report = Report::new("qredo.verify")
                .field("valid", true)
                .styled(Style::Good, "signature valid")
                .line(format!(
                    "signed: {value} + {} + {} body bytes",
                    args.url,
                    body.len()
                ));
            common::finish(ctx, report, args.print_signature_base.then_some(&base))
        }
        Err(e) => Err(CliError::core_verification(
            &format!("Qredo signature rejected (reason: {})", e.reason.as_str()),
            &e.error,
            match e.reason {
                qredo::Reason::Timestamp => {
                    "check the clocks, or pass --now to verify at the time it was signed"
                }
                _ => {
                    "check that the URL, body and timestamp are exactly what was signed, and the key pair"
                }
            },
        )),
    }
}
