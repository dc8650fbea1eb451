//! `authctl rfc9421`: RFC 9421 HTTP message signatures (with RFC 9530 `Content-Digest`),
//! signed and verified by auth-core: covered components, algorithm, key ID, created,
//! expires, nonce, tag.

use crate::commands::common;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::input;
use crate::output::{Report, Style};
use auth_core::content_digest::{self, DigestAlgorithm};
use auth_core::keys::{KeyType, SignatureAlgorithm, SigningKey, VerifyingKey};
use auth_core::request::{Body, Headers, Message, Request, TargetUri};
use auth_core::scheme::rfc9421::{
    self, AlgParameter, LabelSelection, NonceRequirement, SignatureSpec, VerifyPolicy,
};
use base64::Engine as _;
use clap::{Args, Subcommand};

/// `authctl rfc9421` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Rfc9421Command {
    /// Sign a request: prints the Content-Digest, Signature-Input and Signature headers.
    #[command(
        after_help = "Examples:\n  authctl rfc9421 sign --key partner.pem --keyid 7d1c... --method POST \\\n      --url https://api.example/v1/orders --body @order.json -H 'Content-Type: application/json'\n  authctl rfc9421 sign --secret @hmac.key --alg hmac-sha256 --keyid k1 --url https://api.example/v1/x \\\n      --components '\"@method\" \"@authority\" \"@path\" \"@query\"' --expires 60s --print-signature-base"
    )]
    Sign(SignArgs),
    /// Verify a request's signature with the signer's public key or shared secret.
    #[command(
        after_help = "Example:\n  authctl rfc9421 verify --public-key partner.pub.pem --method POST --url https://api.example/v1/orders \\\n      --body @order.json --headers @headers.txt     # header lines 'Name: value'"
    )]
    Verify(VerifyArgs),
}

/// The key: a key file or a shared HMAC secret.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct KeySource {
    /// A private key (sign) or public key (verify) file.
    #[arg(long, visible_alias = "public-key", value_name = "PATH")]
    key: Option<String>,
    /// A shared HMAC secret for hmac-sha256: @FILE, env:NAME or -.
    #[arg(long, value_name = "SOURCE")]
    secret: Option<String>,
}

/// The request being signed or verified.
#[derive(Debug, Args)]
pub(crate) struct HttpMessageArgs {
    /// The method.
    #[arg(long, default_value = "GET")]
    method: String,
    /// The absolute target URI.
    #[arg(long)]
    url: String,
    /// A header 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    header: Vec<String>,
    /// Header lines 'Name: value' from @FILE or - (e.g. a saved request's headers).
    #[arg(long, value_name = "SOURCE")]
    headers: Option<String>,
    /// The body: text, @FILE, env:NAME or -.
    #[arg(long)]
    body: Option<String>,
}

/// Arguments of `rfc9421 sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    #[command(flatten)]
    source: KeySource,
    #[command(flatten)]
    message: HttpMessageArgs,
    /// Algorithm: rsa-pss-sha512, rsa-v1_5-sha256, ecdsa-p256-sha256, ed25519, hmac-sha256
    /// (default by key type; rsa-pss-sha512 for RSA).
    #[arg(long)]
    alg: Option<String>,
    /// Write the alg parameter (the RFC recommends leaving it out).
    #[arg(long)]
    include_alg: bool,
    /// The keyid parameter (the key ID the server registered).
    #[arg(long)]
    keyid: Option<String>,
    /// Covered components as in Signature-Input (default: "@method" "@target-uri", plus
    /// "content-digest" when there is a body).
    #[arg(long)]
    components: Option<String>,
    /// The signature label.
    #[arg(long, default_value = "sig1")]
    label: String,
    /// `created` (Unix seconds or RFC 3339); default now.
    #[arg(long)]
    created: Option<String>,
    /// Leave `created` out.
    #[arg(long, conflicts_with = "created")]
    no_created: bool,
    /// `expires` = created + this duration (e.g. 60s).
    #[arg(long)]
    expires: Option<String>,
    /// The nonce (default: 16 random bytes, Base64url).
    #[arg(long, conflicts_with = "no_nonce")]
    nonce: Option<String>,
    /// Leave the nonce out.
    #[arg(long)]
    no_nonce: bool,
    /// The tag parameter.
    #[arg(long)]
    tag: Option<String>,
    /// Do not add (and cover) Content-Digest for a body.
    #[arg(long)]
    no_content_digest: bool,
    /// Print exactly the signature base instead of the headers.
    #[arg(long)]
    print_signature_base: bool,
}

/// Arguments of `rfc9421 verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    source: KeySource,
    #[command(flatten)]
    message: HttpMessageArgs,
    /// The algorithm the key is registered for (default by key type; rsa-pss-sha512 for RSA).
    #[arg(long)]
    alg: Option<String>,
    /// Components that must be covered besides the standard set.
    #[arg(long)]
    require: Option<String>,
    /// How old `created` may be.
    #[arg(long, default_value = "5m")]
    max_age: String,
    /// Accept signatures without a nonce.
    #[arg(long)]
    nonce_optional: bool,
    /// Verify the signature with this label (default: the first).
    #[arg(long)]
    label: Option<String>,
    /// Print exactly the signature base the signature is checked against.
    #[arg(long)]
    print_signature_base: bool,
}

/// Runs an `rfc9421` subcommand.
pub(crate) fn run(cmd: Rfc9421Command, ctx: &Ctx) -> CliResult {
    match cmd {
        Rfc9421Command::Sign(args) => sign(&args, ctx),
        Rfc9421Command::Verify(args) => verify(&args, ctx),
    }
}

fn parse_alg(name: &str) -> CliResult<SignatureAlgorithm> {
    rfc9421::algorithm_from_name(name).map_err(|e| {
        CliError::core_input(
            "--alg",
            &e,
            "pass rsa-pss-sha512, rsa-v1_5-sha256, ecdsa-p256-sha256, ed25519 or hmac-sha256",
        )
    })
}

fn default_alg(t: KeyType) -> SignatureAlgorithm {
    match t {
        KeyType::Rsa => SignatureAlgorithm::RsaPssSha512,
        KeyType::EcP256 => SignatureAlgorithm::EcdsaP256Sha256,
        KeyType::Ed25519 => SignatureAlgorithm::Ed25519,
        KeyType::Hmac => SignatureAlgorithm::HmacSha256,
    }
}

fn components(text: &str, flag: &str) -> CliResult<Vec<rfc9421::Component>> {
    rfc9421::parse_components(text).map_err(|e| {
        CliError::core_input(flag, &e, "write components as in Signature-Input: '\"@method\" \"@target-uri\" \"content-digest\"'")
    })
}

/// The message parts read from the command line, owned.
struct OwnedMessage {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn read_message(m: &HttpMessageArgs) -> CliResult<OwnedMessage> {
    let mut lines = m.header.clone();
    if let Some(src) = &m.headers {
        let text = input::read_input_text(src, "--headers")?;
        lines.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        );
    }
    Ok(OwnedMessage {
        headers: common::headers(&lines)?,
        body: common::body(m.body.as_deref())?,
    })
}

impl OwnedMessage {
    /// The header fields as the borrowed pairs auth-core reads.
    fn pairs(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }
}

/// The request auth-core signs or verifies, borrowed from the command line's parts.
fn build_request<'a>(
    m: &'a HttpMessageArgs,
    pairs: &'a [(&'a str, &'a str)],
    body: &'a [u8],
) -> CliResult<Request<'a>> {
    Request::new(
        &m.method,
        target(&m.url)?,
        Headers::new(pairs),
        Body::from_bytes(body),
    )
    .map_err(|e| CliError::core_input("the request", &e, "check --method and the headers"))
}

fn target(url: &str) -> CliResult<TargetUri<'_>> {
    TargetUri::parse(url).map_err(|e| {
        CliError::core_input(
            "--url",
            &e,
            "pass the absolute URL, e.g. https://api.example/v1/x?a=b",
        )
    })
}

fn sign(args: &SignArgs, ctx: &Ctx) -> CliResult {
    let requested = args.alg.as_deref().map(parse_alg).transpose()?;
    let key = match (&args.source.key, &args.source.secret) {
        (_, Some(secret)) => {
            let alg = requested.unwrap_or(SignatureAlgorithm::HmacSha256);
            SigningKey::hmac(&common::hmac_secret("--secret", secret)?, alg).map_err(|e| {
                CliError::core_input("--secret", &e, "use --alg hmac-sha256 with a secret")
            })?
        }
        (Some(path), None) => {
            let loaded = input::load_private_key(path, ctx.key_permissions)?;
            let alg = requested.unwrap_or_else(|| default_alg(loaded.key.key_type()));
            common::bind_signing_key(ctx, &loaded, alg)?
        }
        (None, None) => {
            return Err(CliError::usage(
                "a key is required",
                "pass --key PATH or --secret @FILE",
            ));
        }
    };
    let mut msg = read_message(&args.message)?;
    let has_body = !msg.body.is_empty();
    let digest = (has_body && !args.no_content_digest)
        .then(|| content_digest::create(&msg.body, DigestAlgorithm::Sha256));
    if let Some(d) = &digest {
        msg.headers.retain(|(n, _)| n != "content-digest");
        msg.headers.push(("content-digest".to_owned(), d.clone()));
    }
    let covered = match &args.components {
        Some(text) => components(text, "--components")?,
        None => {
            let mut c = vec![
                rfc9421::Component::method(),
                rfc9421::Component::target_uri(),
            ];
            if digest.is_some() {
                c.push(
                    rfc9421::Component::field("content-digest")
                        .map_err(|e| CliError::core_input("content-digest", &e, ""))?,
                );
            }
            c
        }
    };
    let created = match &args.created {
        Some(t) => crate::context::parse_time(t)?,
        None => ctx.now(),
    };
    let bad = |e: auth_core::Error| {
        CliError::core_input(
            "signature parameters",
            &e,
            "check --label, --keyid, --nonce and --tag",
        )
    };
    let mut spec = SignatureSpec::new(&args.label, covered, created).map_err(bad)?;
    if args.no_created {
        spec = spec.without_created();
    }
    if let Some(exp) = &args.expires {
        spec = spec.expires(created.saturating_add(common::duration(exp)?));
    }
    if let Some(keyid) = &args.keyid {
        spec = spec.keyid(keyid).map_err(bad)?;
    }
    let nonce = match (&args.nonce, args.no_nonce) {
        (Some(n), _) => Some(n.clone()),
        (None, true) => None,
        (None, false) => {
            let raw: [u8; 16] = auth_core::rand::bytes(ctx.rng()).map_err(|e| {
                CliError::input(format!("no randomness: {}", e.message()), "try again")
            })?;
            Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
        }
    };
    if let Some(n) = &nonce {
        spec = spec.nonce(n).map_err(bad)?;
    }
    if let Some(tag) = &args.tag {
        spec = spec.tag(tag).map_err(bad)?;
    }
    if args.include_alg {
        spec = spec.alg_parameter(AlgParameter::Include);
    }
    let pairs = msg.pairs();
    let req = build_request(&args.message, &pairs, &msg.body)?;
    let message = Message::Request(&req);
    let fail = |e: auth_core::Error| {
        CliError::core_input(
            "cannot sign",
            &e,
            "check that every covered component is present in the request (-H for header fields)",
        )
    };
    let base = rfc9421::signature_base_for_spec(&message, &spec, key.algorithm()).map_err(fail)?;
    let signed = rfc9421::sign(&message, &spec, &key, ctx.rng()).map_err(fail)?;
    ctx.out
        .verbose(1, format!("signature base is {} bytes", base.len()));
    let mut headers = serde_json::Map::new();
    let mut report = Report::new("rfc9421.sign");
    if let Some(d) = &digest {
        headers.insert("Content-Digest".into(), d.clone().into());
        report = report.line(format!("Content-Digest: {d}"));
    }
    headers.insert(
        "Signature-Input".into(),
        signed.signature_input.clone().into(),
    );
    headers.insert("Signature".into(), signed.signature.clone().into());
    let report = report
        .line(format!("Signature-Input: {}", signed.signature_input))
        .line(format!("Signature: {}", signed.signature))
        .field("headers", serde_json::Value::Object(headers))
        .field(
            "alg",
            rfc9421::algorithm_name(key.algorithm()).unwrap_or("unknown"),
        );
    common::finish(
        ctx,
        report,
        args.print_signature_base.then_some(base.as_bytes()),
    )
}

fn verify(args: &VerifyArgs, ctx: &Ctx) -> CliResult {
    let requested = args.alg.as_deref().map(parse_alg).transpose()?;
    let key = match (&args.source.key, &args.source.secret) {
        (_, Some(secret)) => {
            let alg = requested.unwrap_or(SignatureAlgorithm::HmacSha256);
            VerifyingKey::hmac(&common::hmac_secret("--secret", secret)?, alg).map_err(|e| {
                CliError::core_input("--secret", &e, "use --alg hmac-sha256 with a secret")
            })?
        }
        (Some(path), None) => {
            let public = input::load_public_key(path, ctx.key_permissions)?;
            let alg = requested.unwrap_or_else(|| default_alg(public.key_type()));
            common::bind_verifying_key(&public, path, alg)?
        }
        (None, None) => {
            return Err(CliError::usage(
                "a key is required",
                "pass --key PATH or --secret @FILE",
            ));
        }
    };
    let msg = read_message(&args.message)?;
    let mut policy = VerifyPolicy::new(common::duration(&args.max_age)?);
    if args.nonce_optional {
        policy = policy.with_nonce(NonceRequirement::Optional);
    }
    if let Some(label) = &args.label {
        policy = policy.with_label(LabelSelection::Named(label.clone()));
    }
    if let Some(text) = &args.require {
        for c in components(text, "--require")? {
            policy = policy.require(c);
        }
    }
    let pairs = msg.pairs();
    let req = build_request(&args.message, &pairs, &msg.body)?;
    let message = Message::Request(&req);
    let parsed = rfc9421::parse(&message, &policy).map_err(|e| {
        CliError::core_input(
            "no usable signature",
            &e,
            "pass the Signature-Input and Signature headers with -H or --headers",
        )
    })?;
    let base = parsed.signature_base(&message).map_err(|e| {
        CliError::core_verification(
            "the signature base cannot be built",
            &e,
            "a covered component is missing from the request",
        )
    })?;
    if args.print_signature_base && !ctx.out.is_json() {
        return common::finish(ctx, Report::new("rfc9421.verify"), Some(base.as_bytes()));
    }
    let verified = rfc9421::verify(&message, &parsed, &key, &policy, ctx.now()).map_err(|e| {
        CliError::core_verification(
            &format!("signature {} rejected", parsed.label()),
            &e,
            "compare the signature base (--print-signature-base) with the signer's; check the key, --alg and the clock (or --now)",
        )
    })?;
    let mut report = Report::new("rfc9421.verify")
        .field("valid", true)
        .field("label", verified.label)
        .field("keyid", verified.keyid)
        .field("created", verified.created.map(|t| t.as_secs()))
        .field("expires", verified.expires.map(|t| t.as_secs()))
        .field("nonce", verified.nonce)
        .field("body", format!("{:?}", verified.body))
        .styled(Style::Good, format!("signature {} valid", verified.label));
    if let Some(k) = verified.keyid {
        report = report.line(format!("keyid: {k}"));
    }
    common::finish(
        ctx,
        report,
        args.print_signature_base.then_some(base.as_bytes()),
    )
}
