//! `authctl jwt`: mint tokens (seed profile `clientId`/`iat`/`exp` and more), verify them with
//! auth-core's strict checks, and `inspect` them without verifying (said on every line).

use crate::commands::common;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::input;
use crate::output::{Report, Style};
use auth_core::keys::KeyType;
use auth_core::scheme::jwt::{
    Algorithm, Audience, Claims, IatRule, JwtKey, JwtPolicy, JwtSigner, JwtVerifier,
};
use base64::Engine as _;
use clap::{Args, Subcommand};
use serde_json::{Map, Value};

/// `authctl jwt` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum JwtCommand {
    /// Mint a JWT (HS256 with a shared secret, or RS/PS/ES256/EdDSA with a private key).
    #[command(
        after_help = "Examples:\n  authctl jwt mint --secret @client.secret --client-id acme      # seed profile, 15 min\n  authctl jwt mint --key partner.pem --alg PS256 --kid k1 --client-id acme --ttl 5m\n  authctl jwt mint --secret env:JWT_SECRET --client-id acme --claim scope=rates --claim n=3"
    )]
    Mint(MintArgs),
    /// Verify a JWT with the library's strict checks (alg bound to the key, exp, lifetime, ...).
    #[command(
        after_help = "Examples:\n  authctl jwt verify @token.txt --secret @client.secret\n  echo \"$TOKEN\" | authctl jwt verify - --key partner.pub.pem --alg RS256 --client-id acme"
    )]
    Verify(VerifyArgs),
    /// Decode a JWT WITHOUT verifying it (every line says so).
    #[command(after_help = "Example:\n  authctl jwt inspect @token.txt")]
    Inspect(InspectArgs),
}

/// Where the key comes from: a key file or a shared secret.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct KeySource {
    /// A private key (mint) or public key (verify) file.
    #[arg(long, value_name = "PATH")]
    key: Option<String>,
    /// The shared HMAC secret: @FILE, env:NAME or - (never the secret itself).
    #[arg(long, value_name = "SOURCE")]
    secret: Option<String>,
}

/// Arguments of `jwt mint`.
#[derive(Debug, Args)]
pub(crate) struct MintArgs {
    #[command(flatten)]
    source: KeySource,
    /// The algorithm (default: HS256 for a secret, RS256 / ES256 / EdDSA by key type).
    #[arg(long)]
    alg: Option<String>,
    /// The `kid` header.
    #[arg(long)]
    kid: Option<String>,
    /// The `clientId` claim (seed profile).
    #[arg(long)]
    client_id: Option<String>,
    /// The `iss` claim.
    #[arg(long)]
    iss: Option<String>,
    /// The `sub` claim.
    #[arg(long)]
    sub: Option<String>,
    /// The `aud` claim (repeat for several).
    #[arg(long)]
    aud: Vec<String>,
    /// Lifetime: `exp = iat + ttl` (e.g. 900, 15m).
    #[arg(long, default_value = "15m")]
    ttl: String,
    /// A custom claim NAME=VALUE (VALUE as JSON if it parses, else a string); repeatable.
    #[arg(long, value_name = "NAME=VALUE")]
    claim: Vec<String>,
    /// Print exactly the signed bytes (`header.payload`) instead of the token.
    #[arg(long)]
    print_signature_base: bool,
}

/// Arguments of `jwt verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The token: @FILE, env:NAME or - (a token is a credential, so not an argument).
    token: String,
    #[command(flatten)]
    source: KeySource,
    /// The algorithm the key is for (default: HS256 for a secret, RS256 / ES256 / EdDSA by key type).
    #[arg(long)]
    alg: Option<String>,
    /// Require this `kid`.
    #[arg(long)]
    kid: Option<String>,
    /// Require this `clientId`.
    #[arg(long)]
    client_id: Option<String>,
    /// Require this `iss`.
    #[arg(long)]
    iss: Option<String>,
    /// Require `aud` to contain one of these (repeatable).
    #[arg(long)]
    aud: Vec<String>,
    /// Clock leeway (at most 5m).
    #[arg(long, default_value = "30s")]
    leeway: String,
    /// Longest accepted lifetime (`exp - iat`).
    #[arg(long, default_value = "15m")]
    max_lifetime: String,
    /// Accept tokens without `iat` (the remaining lifetime is capped instead).
    #[arg(long)]
    iat_optional: bool,
    /// Print exactly the signed bytes (`header.payload`) instead of the verdict.
    #[arg(long)]
    print_signature_base: bool,
}

/// Arguments of `jwt inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The token: @FILE, env:NAME or -.
    token: String,
}

/// Runs a `jwt` subcommand.
pub(crate) fn run(cmd: JwtCommand, ctx: &Ctx) -> CliResult {
    match cmd {
        JwtCommand::Mint(args) => mint(&args, ctx),
        JwtCommand::Verify(args) => verify(&args, ctx),
        JwtCommand::Inspect(args) => inspect(&args, ctx),
    }
}

fn parse_alg(name: &str) -> CliResult<Algorithm> {
    Algorithm::from_name(name).ok_or_else(|| {
        CliError::usage(
            format!("'{name}' is not a JWT algorithm authctl signs or verifies"),
            "pass one of HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 EdDSA",
        )
    })
}

fn default_alg(key_type: KeyType) -> Algorithm {
    match key_type {
        KeyType::Rsa => Algorithm::RS256,
        KeyType::EcP256 => Algorithm::ES256,
        KeyType::Ed25519 => Algorithm::EdDSA,
        KeyType::Hmac => Algorithm::HS256,
    }
}

fn claim_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

fn mint(args: &MintArgs, ctx: &Ctx) -> CliResult {
    let requested = args.alg.as_deref().map(parse_alg).transpose()?;
    let signer = match (&args.source.key, &args.source.secret) {
        (_, Some(secret)) => {
            let alg = requested.unwrap_or(Algorithm::HS256);
            let secret = common::hmac_secret("--secret", secret)?;
            JwtSigner::hmac(&secret, alg).map_err(|e| {
                CliError::core_input("cannot mint", &e, "with --secret use HS256, HS384 or HS512")
            })?
        }
        (Some(key), None) => {
            let loaded = input::load_private_key(key, ctx.key_permissions)?;
            let alg = requested.unwrap_or_else(|| default_alg(loaded.key.key_type()));
            JwtSigner::new(&loaded.key, alg, ctx.rng()).map_err(|e| {
                CliError::core_input(
                    &format!("{} cannot sign {}", loaded.origin, alg.name()),
                    &e,
                    "pick --alg for the key's type",
                )
            })?
        }
        (None, None) => {
            return Err(CliError::usage(
                "a key is required",
                "pass --key PATH or --secret @FILE",
            ));
        }
    };
    let signer = match &args.kid {
        Some(kid) => signer.with_kid(kid.clone()),
        None => signer,
    };
    let now = ctx.now().as_secs();
    let ttl = common::duration(&args.ttl)?.as_secs();
    let mut custom = Map::new();
    for c in &args.claim {
        let (name, value) = c.split_once('=').ok_or_else(|| {
            CliError::usage(
                format!("--claim '{c}' has no '='"),
                "write --claim NAME=VALUE",
            )
        })?;
        custom.insert(name.to_owned(), claim_value(value));
    }
    let claims = Claims {
        client_id: args.client_id.clone(),
        iss: args.iss.clone(),
        sub: args.sub.clone(),
        aud: match args.aud.as_slice() {
            [] => None,
            [one] => Some(Audience::One(one.clone())),
            many => Some(Audience::Many(many.to_vec())),
        },
        iat: Some(now),
        nbf: None,
        exp: now.saturating_add(ttl),
        jti: None,
        custom,
    };
    let token = signer
        .sign(&claims, ctx.rng())
        .map_err(|e| CliError::core_input("cannot mint the token", &e, "check the claims"))?;
    let signing_input = token.rsplit_once('.').map_or("", |(input, _)| input);
    ctx.out.verbose(
        1,
        format!(
            "minted {} token, exp {}",
            signer.algorithm().name(),
            claims.exp
        ),
    );
    let report = Report::new("jwt.mint")
        .field("token", token.clone())
        .field("alg", signer.algorithm().name())
        .field("exp", claims.exp)
        .line(token.clone());
    common::finish(
        ctx,
        report,
        args.print_signature_base
            .then_some(signing_input.as_bytes()),
    )
}

fn verify(args: &VerifyArgs, ctx: &Ctx) -> CliResult {
    let token = input::read_secret_text("TOKEN", &args.token)?;
    let token = token.trim();
    let requested = args.alg.as_deref().map(parse_alg).transpose()?;
    let key = match (&args.source.key, &args.source.secret) {
        (_, Some(secret)) => {
            let alg = requested.unwrap_or(Algorithm::HS256);
            JwtKey::hmac(&common::hmac_secret("--secret", secret)?, alg).map_err(|e| {
                CliError::core_input(
                    "cannot verify",
                    &e,
                    "with --secret use HS256, HS384 or HS512",
                )
            })?
        }
        (Some(key), None) => {
            let public = input::load_public_key(key, ctx.key_permissions)?;
            let alg = requested.unwrap_or_else(|| default_alg(public.key_type()));
            JwtKey::public(&public, alg).map_err(|e| {
                CliError::core_input(
                    &format!("{key} cannot verify {}", alg.name()),
                    &e,
                    "pick --alg for the key's type",
                )
            })?
        }
        (None, None) => {
            return Err(CliError::usage(
                "a key is required",
                "pass --key PATH or --secret @FILE",
            ));
        }
    };
    let key = match &args.kid {
        Some(kid) => key.with_kid(kid.clone()),
        None => key,
    };
    let key = match &args.client_id {
        Some(client) => key.for_client(client.clone()),
        None => key,
    };
    let mut policy = JwtPolicy::new(if args.iat_optional {
        IatRule::Optional
    } else {
        IatRule::Required
    })
    .with_leeway(common::duration(&args.leeway)?)
    .with_max_lifetime(common::duration(&args.max_lifetime)?);
    if !args.aud.is_empty() {
        policy = policy.with_audience(args.aud.clone());
    }
    if let Some(iss) = &args.iss {
        policy = policy.with_issuer(iss.clone());
    }
    let signing_input = token.rsplit_once('.').map_or("", |(input, _)| input);
    if args.print_signature_base && !ctx.out.is_json() {
        return common::finish(
            ctx,
            Report::new("jwt.verify"),
            Some(signing_input.as_bytes()),
        );
    }
    let verifier = JwtVerifier::new(vec![key], policy)
        .map_err(|e| CliError::core_input("cannot verify", &e, "check the key flags"))?;
    match verifier.verify(token, ctx.now()) {
        Ok(verified) => {
            let claims: Value =
                serde_json::from_str(verified.payload_json()).unwrap_or(Value::Null);
            let report = Report::new("jwt.verify")
                .field("valid", true)
                .field("alg", verified.header().alg.name())
                .field("claims", claims)
                .styled(
                    Style::Good,
                    format!("token valid ({})", verified.header().alg.name()),
                )
                .line(format!("claims: {}", verified.payload_json()));
            common::finish(
                ctx,
                report,
                args.print_signature_base
                    .then_some(signing_input.as_bytes()),
            )
        }
        Err(e) => Err(CliError::core_verification(
            "token rejected",
            &e,
            match e.code() {
                auth_core::ErrorCode::TokenExpired => {
                    "mint a new token (or pass --now to check it at another time)"
                }
                _ => {
                    "check the key, --alg and the token; 'authctl jwt inspect' shows what it claims"
                }
            },
        )),
    }
}

/// Decodes one Base64url JSON part for display; nothing here decides anything.
fn decode_part(part: &str, what: &str) -> CliResult<Value> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| {
            CliError::input(
                format!("the token's {what} is not Base64url"),
                "pass a compact JWT header.payload.signature",
            )
        })?;
    serde_json::from_slice(&bytes).map_err(|_| {
        CliError::input(
            format!("the token's {what} is not JSON"),
            "pass a compact JWT header.payload.signature",
        )
    })
}

fn inspect(args: &InspectArgs, ctx: &Ctx) -> CliResult {
    let token = input::read_secret_text("TOKEN", &args.token)?;
    let parts: Vec<&str> = token.trim().split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err(CliError::input(
            format!(
                "a compact JWT has 3 dot-separated parts, this has {}",
                parts.len()
            ),
            "pass the whole token header.payload.signature",
        ));
    };
    let header = decode_part(header, "header")?;
    let payload = decode_part(payload, "payload")?;
    let warn = "UNVERIFIED";
    let mut report = Report::new("jwt.inspect")
        .field("verified", false)
        .field(
            "warning",
            "decoded without verifying the signature or any claim; do not trust these values",
        )
        .field("header", header.clone())
        .field("payload", payload.clone())
        .field("signature_bytes", signature.len() * 3 / 4);
    report = report.styled(
        Style::Warn,
        format!("{warn}: decoded only, signature and claims NOT checked"),
    );
    report = report.line(format!("{warn} header: {header}"));
    if let Value::Object(map) = &payload {
        for (k, v) in map {
            let when = match (k.as_str(), v.as_u64()) {
                ("exp" | "iat" | "nbf", Some(secs)) => {
                    format!("  ({})", auth_core::UnixTime::from_secs(secs).to_rfc3339())
                }
                _ => String::new(),
            };
            report = report.line(format!("{warn} claim {k}: {v}{when}"));
        }
    } else {
        report = report.line(format!("{warn} payload: {payload}"));
    }
    ctx.out.report(&report);
    Ok(())
}
