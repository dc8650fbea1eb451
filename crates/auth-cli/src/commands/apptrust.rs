//! `authctl apptrust`: the Actyx-style app trust chain by auth-core: an authority key,
//! developer certificates, signed app manifests, and license keys, issued and verified.

use crate::commands::common;
use crate::context::{Ctx, parse_time};
use crate::error::{CliError, CliResult};
use crate::input::{self, FileKind, Overwrite};
use crate::output::{Report, Style};
use auth_core::keys::{self, SignatureAlgorithm};
use auth_core::scheme::apptrust::{
    AppDomain, AppId, AppManifest, AppTrustError, AuthorityKey, AxPublicKey, DeveloperCertificate,
    License, private_key_to_text,
};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `authctl apptrust` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ApptrustCommand {
    /// Create an authority key (Ed25519, Actyx text form, mode 0600) and print its public key.
    #[command(after_help = "Example:\n  authctl apptrust authority-init -o authority.key")]
    AuthorityInit(AuthorityInitArgs),
    /// Developer certificates.
    #[command(subcommand)]
    Cert(CertCommand),
    /// App manifests.
    #[command(subcommand)]
    Manifest(ManifestCommand),
    /// License keys.
    #[command(subcommand)]
    License(LicenseCommand),
}

/// `authctl apptrust cert` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum CertCommand {
    /// Issue a developer certificate for a developer public key and app domains.
    #[command(
        after_help = "Example:\n  authctl keygen --type ed25519 --format actyx -o dev.key\n  authctl apptrust cert issue --authority-key authority.key --dev-public-key dev.key \\\n      --domain com.acme.* -o cert.json"
    )]
    Issue(CertIssueArgs),
    /// Verify a developer certificate against an authority public key.
    #[command(
        after_help = "Example:\n  authctl apptrust cert verify --authority 075i62XG... cert.json"
    )]
    Verify(CertVerifyArgs),
}

/// `authctl apptrust manifest` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ManifestCommand {
    /// Sign an app manifest with the developer key and certificate.
    #[command(
        after_help = "Example:\n  authctl apptrust manifest sign --dev-key dev.key --cert cert.json \\\n      --app-id com.acme.rates --display-name 'Rates' --app-version 1.0.0 -o manifest.json"
    )]
    Sign(ManifestSignArgs),
    /// Verify an app manifest against an authority public key.
    #[command(
        after_help = "Example:\n  authctl apptrust manifest verify --authority authority.key manifest.json"
    )]
    Verify(ManifestVerifyArgs),
}

/// `authctl apptrust license` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum LicenseCommand {
    /// Issue a license key for an app ID.
    #[command(
        after_help = "Example:\n  authctl apptrust license issue --authority-key authority.key --app-id com.acme.rates \\\n      --expires-at 2027-12-31T00:00:00Z --email ops@acme.example"
    )]
    Issue(LicenseIssueArgs),
    /// Verify a license key for an app ID.
    #[command(
        after_help = "Example:\n  authctl apptrust license verify --authority authority.key --app-id com.acme.rates @license.txt"
    )]
    Verify(LicenseVerifyArgs),
}

/// Arguments of `apptrust authority-init`.
#[derive(Debug, Args)]
pub(crate) struct AuthorityInitArgs {
    /// Where to write the authority private key (mode 0600).
    #[arg(short, long, value_name = "PATH")]
    out: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    force: bool,
}

/// Arguments of `apptrust cert issue`.
#[derive(Debug, Args)]
pub(crate) struct CertIssueArgs {
    /// The authority private key.
    #[arg(long, value_name = "PATH")]
    authority_key: String,
    /// The developer's public key: "0..." text, or a key file (public or private).
    #[arg(long, value_name = "KEY")]
    dev_public_key: String,
    /// An app domain such as com.acme.* (repeatable).
    #[arg(long, required = true)]
    domain: Vec<String>,
    /// Write the certificate JSON here (mode 0644) instead of stdout.
    #[arg(short, long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Overwrite an existing --out file.
    #[arg(long)]
    force: bool,
}

/// Arguments of `apptrust cert verify`.
#[derive(Debug, Args)]
pub(crate) struct CertVerifyArgs {
    /// The authority public key: "0..." text, or a key file.
    #[arg(long, value_name = "KEY")]
    authority: String,
    /// The certificate JSON: PATH, @PATH or -.
    cert: String,
}

/// Arguments of `apptrust manifest sign`.
#[derive(Debug, Args)]
pub(crate) struct ManifestSignArgs {
    /// The developer private key (default: devPrivkey inside the certificate file).
    #[arg(long, value_name = "PATH")]
    dev_key: Option<String>,
    /// The developer certificate JSON.
    #[arg(long, value_name = "PATH")]
    cert: String,
    /// The app ID (lowercase reverse DNS under a certificate domain).
    #[arg(long)]
    app_id: String,
    /// The display name.
    #[arg(long)]
    display_name: String,
    /// The app version (the manifest's `version`).
    #[arg(long, value_name = "VERSION")]
    app_version: String,
    /// Write the manifest JSON here (mode 0644) instead of stdout.
    #[arg(short, long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Overwrite an existing --out file.
    #[arg(long)]
    force: bool,
}

/// Arguments of `apptrust manifest verify`.
#[derive(Debug, Args)]
pub(crate) struct ManifestVerifyArgs {
    /// The authority public key: "0..." text, or a key file.
    #[arg(long, value_name = "KEY")]
    authority: String,
    /// The manifest JSON: PATH, @PATH or -.
    manifest: String,
}

/// Arguments of `apptrust license issue`.
#[derive(Debug, Args)]
pub(crate) struct LicenseIssueArgs {
    /// The authority private key.
    #[arg(long, value_name = "PATH")]
    authority_key: String,
    /// The licensed app ID (com.actyx.node for a node license).
    #[arg(long)]
    app_id: String,
    /// Expiry: RFC 3339, Unix seconds, or a duration from now (365d).
    #[arg(long)]
    expires_at: String,
    /// The requester's e-mail address.
    #[arg(long)]
    email: String,
}

/// Arguments of `apptrust license verify`.
#[derive(Debug, Args)]
pub(crate) struct LicenseVerifyArgs {
    /// The authority public key: "0..." text, or a key file.
    #[arg(long, value_name = "KEY")]
    authority: String,
    /// The app ID the license must be for.
    #[arg(long)]
    app_id: String,
    /// The license key: text, @FILE or -.
    license: String,
}

/// Runs an `apptrust` subcommand.
pub(crate) fn run(cmd: ApptrustCommand, ctx: &Ctx) -> CliResult {
    match cmd {
        ApptrustCommand::AuthorityInit(args) => authority_init(&args, ctx),
        ApptrustCommand::Cert(CertCommand::Issue(args)) => cert_issue(&args, ctx),
        ApptrustCommand::Cert(CertCommand::Verify(args)) => cert_verify(&args, ctx),
        ApptrustCommand::Manifest(ManifestCommand::Sign(args)) => manifest_sign(&args, ctx),
        ApptrustCommand::Manifest(ManifestCommand::Verify(args)) => manifest_verify(&args, ctx),
        ApptrustCommand::License(LicenseCommand::Issue(args)) => license_issue(&args, ctx),
        ApptrustCommand::License(LicenseCommand::Verify(args)) => license_verify(&args, ctx),
    }
}

/// An Ed25519 public key given as "0..." text or as a key file.
fn ax_public(ctx: &Ctx, arg: &str) -> CliResult<AxPublicKey> {
    if let Ok(key) = AxPublicKey::from_text(arg.trim()) {
        return Ok(key);
    }
    let public = input::load_public_key(arg, ctx.key_permissions)?;
    AxPublicKey::from_public_key(&public).map_err(|e| {
        CliError::core_input(
            arg,
            &e,
            "the app trust chain uses Ed25519 keys ('authctl keygen --type ed25519')",
        )
    })
}

fn authority(ctx: &Ctx, arg: &str) -> CliResult<AuthorityKey> {
    AuthorityKey::new(ax_public(ctx, arg)?).map_err(|e| {
        CliError::core_input("--authority", &e, "pass the authority's Ed25519 public key")
    })
}

fn app_id(text: &str) -> CliResult<AppId> {
    AppId::parse(text).map_err(|e| {
        CliError::core_input(
            "--app-id",
            &e,
            "use a lowercase reverse-DNS name such as com.acme.rates",
        )
    })
}

/// Writes `text` to `out` (mode 0644) or prints it.
fn emit(ctx: &Ctx, report: Report, text: &str, out: Option<&PathBuf>, force: bool) -> CliResult {
    match out {
        Some(path) => {
            input::write_key_file(
                path,
                format!("{text}\n").as_bytes(),
                FileKind::Public,
                Overwrite::from_force(force),
            )?;
            ctx.out
                .report(&report.shown("written_to", path.display().to_string()));
        }
        None => ctx.out.report(&report.line(text)),
    }
    Ok(())
}

fn trust_rejection(what: &str, e: &AppTrustError) -> CliError {
    CliError::verification(
        format!(
            "{what} rejected: {} ({}, {})",
            e.error().message(),
            e.code(),
            e.error().code().as_str()
        ),
        "check that it was issued by this authority for this app ID, and not altered",
    )
}

fn authority_init(args: &AuthorityInitArgs, ctx: &Ctx) -> CliResult {
    if !args.force && std::fs::symlink_metadata(&args.out).is_ok() {
        return Err(CliError::input(
            format!("{} already exists", args.out.display()),
            "pass --force to overwrite it, or choose another path",
        ));
    }
    let key = keys::generate_ed25519(ctx.rng()).map_err(|e| {
        CliError::input(
            format!("key generation failed: {}", e.message()),
            "try again",
        )
    })?;
    let text = private_key_to_text(&key)
        .map_err(|e| CliError::core_input("authority key", &e, "try again"))?;
    input::write_key_file(
        &args.out,
        format!("{}\n", text.as_str()).as_bytes(),
        FileKind::Private,
        Overwrite::from_force(args.force),
    )?;
    let public = AxPublicKey::from_public_key(&key.public_key())
        .map_err(|e| CliError::core_input("authority key", &e, "try again"))?;
    ctx.out.report(
        &Report::new("apptrust.authority_init")
            .shown("authority_key", args.out.display().to_string())
            .shown("public_key", public.to_text()),
    );
    Ok(())
}

fn cert_issue(args: &CertIssueArgs, ctx: &Ctx) -> CliResult {
    let authority = common::signing_key(ctx, &args.authority_key, SignatureAlgorithm::Ed25519)?;
    let dev = ax_public(ctx, &args.dev_public_key)?;
    let domains = args
        .domain
        .iter()
        .map(|d| {
            AppDomain::parse(d).map_err(|e| {
                CliError::core_input(&format!("--domain {d}"), &e, "domains look like com.acme.*")
            })
        })
        .collect::<CliResult<Vec<_>>>()?;
    let cert = DeveloperCertificate::issue(&authority, dev, domains, ctx.rng()).map_err(|e| {
        CliError::core_input(
            "cannot issue the certificate",
            &e,
            "check the authority key",
        )
    })?;
    let json = cert
        .to_json(None)
        .map_err(|e| CliError::core_input("certificate", &e, ""))?;
    let report = Report::new("apptrust.cert_issue").field(
        "certificate",
        serde_json::from_str::<serde_json::Value>(&json).unwrap_or_default(),
    );
    emit(ctx, report, &json, args.out.as_ref(), args.force)
}

fn read_cert(arg: &str) -> CliResult<auth_core::scheme::apptrust::CertificateFile> {
    let bytes = input::read_path_input(arg, "certificate")?;
    let text = String::from_utf8(bytes).map_err(|_| {
        CliError::input(
            "the certificate is not UTF-8 JSON",
            "pass the certificate JSON file",
        )
    })?;
    DeveloperCertificate::from_json(&text).map_err(|e| {
        CliError::core_input(
            "the certificate is malformed",
            &e,
            "pass the JSON 'apptrust cert issue' wrote",
        )
    })
}

fn cert_verify(args: &CertVerifyArgs, ctx: &Ctx) -> CliResult {
    let authority = authority(ctx, &args.authority)?;
    let file = read_cert(&args.cert)?;
    file.certificate.verify(&authority).map_err(|e| {
        CliError::core_verification(
            "certificate rejected",
            &e,
            "check that this authority issued it and that it was not altered",
        )
    })?;
    let domains: Vec<&str> = file
        .certificate
        .app_domains()
        .iter()
        .map(AppDomain::as_str)
        .collect();
    ctx.out.report(
        &Report::new("apptrust.cert_verify")
            .field("valid", true)
            .styled(Style::Good, "certificate valid")
            .shown("dev_public_key", file.certificate.dev_pubkey().to_text())
            .shown("app_domains", domains.join(", ")),
    );
    Ok(())
}

fn manifest_sign(args: &ManifestSignArgs, ctx: &Ctx) -> CliResult {
    let file = read_cert(&args.cert)?;
    let dev_key = match (&args.dev_key, &file.dev_private) {
        (Some(path), _) => common::signing_key(ctx, path, SignatureAlgorithm::Ed25519)?,
        (None, Some(private)) => {
            keys::SigningKey::new(private, SignatureAlgorithm::Ed25519, ctx.rng())
                .map_err(|e| CliError::core_input("devPrivkey", &e, "pass --dev-key"))?
        }
        (None, None) => {
            return Err(CliError::usage(
                "the certificate carries no devPrivkey",
                "pass --dev-key PATH (the developer's private key)",
            ));
        }
    };
    let manifest = AppManifest::sign(
        &dev_key,
        &file.certificate,
        app_id(&args.app_id)?,
        &args.display_name,
        &args.app_version,
        ctx.rng(),
    )
    .map_err(|e| {
        CliError::core_input(
            "cannot sign the manifest",
            &e,
            "the developer key must be the certificate's and the app ID under its domains",
        )
    })?;
    let json = manifest.to_json();
    let report = Report::new("apptrust.manifest_sign").field(
        "manifest",
        serde_json::from_str::<serde_json::Value>(&json).unwrap_or_default(),
    );
    emit(ctx, report, &json, args.out.as_ref(), args.force)
}

fn manifest_verify(args: &ManifestVerifyArgs, ctx: &Ctx) -> CliResult {
    let authority = authority(ctx, &args.authority)?;
    let bytes = input::read_path_input(&args.manifest, "manifest")?;
    let text = String::from_utf8(bytes).map_err(|_| {
        CliError::input(
            "the manifest is not UTF-8 JSON",
            "pass the manifest JSON file",
        )
    })?;
    let manifest = AppManifest::from_json(&text).map_err(|e| {
        CliError::input(
            format!("the manifest is malformed: {}", e.error().message()),
            "pass the manifest JSON ('apptrust manifest sign' writes one)",
        )
    })?;
    let verified = manifest
        .verify(&authority)
        .map_err(|e| trust_rejection("manifest", &e))?;
    let mut report = Report::new("apptrust.manifest_verify")
        .field("valid", true)
        .field("mode", format!("{:?}", verified.mode()).to_lowercase())
        .styled(Style::Good, "manifest valid")
        .shown("app_id", verified.app_id().to_string())
        .shown("app_version", verified.version());
    if let Some(dev) = verified.developer() {
        report = report.shown("developer", dev.to_text());
    }
    ctx.out.report(&report);
    Ok(())
}

fn license_issue(args: &LicenseIssueArgs, ctx: &Ctx) -> CliResult {
    let authority = common::signing_key(ctx, &args.authority_key, SignatureAlgorithm::Ed25519)?;
    let now = ctx.now();
    let expires = match common::duration(&args.expires_at) {
        Ok(d) if args.expires_at.ends_with(['s', 'm', 'h', 'd']) => now.saturating_add(d),
        _ => parse_time(&args.expires_at)?,
    };
    let license = License::issue(
        &authority,
        app_id(&args.app_id)?,
        expires,
        now,
        &args.email,
        ctx.rng(),
    )
    .map_err(|e| {
        CliError::core_input(
            "cannot issue the license",
            &e,
            "check --email and the authority key",
        )
    })?;
    let text = license.to_key_text();
    ctx.out.report(
        &Report::new("apptrust.license_issue")
            .field("license", text.clone())
            .field("app_id", args.app_id.clone())
            .field("expires_at", license.expires_at().to_rfc3339())
            .line(text),
    );
    Ok(())
}

fn license_verify(args: &LicenseVerifyArgs, ctx: &Ctx) -> CliResult {
    let authority = authority(ctx, &args.authority)?;
    let text = input::read_input_text(&args.license, "the license")?;
    let license = License::from_key_text(text.trim()).map_err(|e| {
        CliError::input(
            format!("the license key is malformed: {}", e.error().message()),
            "pass the license key text as issued",
        )
    })?;
    license
        .verify(&authority, &app_id(&args.app_id)?, ctx.now())
        .map_err(|e| trust_rejection("license", &e))?;
    ctx.out.report(
        &Report::new("apptrust.license_verify")
            .field("valid", true)
            .styled(Style::Good, "license valid")
            .shown("app_id", license.app_id().to_string())
            .shown("expires_at", license.expires_at().to_rfc3339())
            .shown("requester", license.requester_email()),
    );
    Ok(())
}
