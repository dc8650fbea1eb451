//! `authctl keygen`, `pubkey`, `fingerprint`: key generation and public key forms. Every
//! encoding comes from auth-core; this module picks the form and writes the file.

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::input::{self, FileKind, Overwrite};
use crate::output::Report;
use auth_core::keys::{self, KeyType, PrivateKey, PublicKey};
use auth_core::scheme::apptrust::{AxPublicKey, private_key_to_text};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The key types `keygen` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KeyKind {
    /// RSA (Qredo, Altalix, JWT RS256/PS256, RFC 9421 rsa-*).
    Rsa,
    /// Ed25519 (app trust, admin keys, JWT EdDSA, RFC 9421 ed25519).
    Ed25519,
    /// ECDSA P-256 (JWT ES256, RFC 9421 ecdsa-p256-sha256).
    P256,
}

/// How a private key file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PrivateFormat {
    /// PKCS#8 PEM (`BEGIN PRIVATE KEY`), what `openssl genpkey` writes.
    Pkcs8,
    /// PKCS#1 `BEGIN RSA PRIVATE KEY` (RSA) or SEC1 `BEGIN EC PRIVATE KEY` (P-256), what
    /// `openssl genrsa -traditional` writes and Qredo documents.
    #[value(alias = "pkcs1", alias = "sec1")]
    Traditional,
    /// The Actyx text form, `"0"` + Base64 of the Ed25519 seed (app trust keys).
    Actyx,
}

/// Public key forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PublicFormat {
    /// SPKI PEM (`BEGIN PUBLIC KEY`), what providers upload.
    Spki,
    /// PKCS#1 PEM (`BEGIN RSA PUBLIC KEY`), RSA only.
    Pkcs1,
    /// A JSON Web Key (RFC 7517).
    Jwk,
    /// Smile's legacy `api_key` form: Base64 of the SPKI PEM text.
    Smile,
    /// The Actyx text form, `"0"` + Base64 of the raw Ed25519 key.
    Actyx,
}

const KEYGEN_EXAMPLES: &str = "\
Examples:
  authctl keygen --type rsa --bits 2048 -o partner.pem --public-out partner.pub.pem
  authctl keygen --type rsa --format traditional -o qredo.pem     # BEGIN RSA PRIVATE KEY
  authctl keygen --type ed25519 --format actyx -o authority.key   # \"0...\" text form
  authctl keygen --type p256 -o es256.pem --force                 # replace an existing file";

/// Arguments of `keygen`.
#[derive(Debug, Args)]
#[command(after_help = KEYGEN_EXAMPLES)]
pub(crate) struct KeygenArgs {
    /// Key type.
    #[arg(long = "type", value_enum, default_value = "rsa")]
    kind: KeyKind,
    /// RSA modulus size (2048, 3072 or 4096).
    #[arg(long, value_parser = ["2048", "3072", "4096"])]
    bits: Option<String>,
    /// Private key encoding.
    #[arg(long, value_enum, default_value = "pkcs8")]
    format: PrivateFormat,
    /// Where to write the private key (mode 0600); `-` writes it to stdout.
    #[arg(short, long, value_name = "PATH")]
    out: PathBuf,
    /// Also write the public key (SPKI PEM, mode 0644) here.
    #[arg(long, value_name = "PATH")]
    public_out: Option<PathBuf>,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
}

const PUBKEY_EXAMPLES: &str = "\
Examples:
  authctl pubkey partner.pem                      # SPKI PEM, to upload
  authctl pubkey partner.pem --format jwk --kid 2026-11
  authctl pubkey provider.pem --format smile      # the legacy Smile api_key form
  authctl pubkey authority.key --format actyx -o authority.pub";

/// Arguments of `pubkey`.
#[derive(Debug, Args)]
#[command(after_help = PUBKEY_EXAMPLES)]
pub(crate) struct PubkeyArgs {
    /// A private or public key: PEM/DER (PKCS#8, PKCS#1, SEC1, SPKI), JWK, Smile or Actyx
    /// form; PATH, @PATH, env:NAME or - for stdin.
    key: String,
    /// Output form.
    #[arg(long, value_enum, default_value = "spki")]
    format: PublicFormat,
    /// A `kid` to put in the JWK (only with --format jwk).
    #[arg(long)]
    kid: Option<String>,
    /// Write to this file (mode 0644) instead of stdout.
    #[arg(short, long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Overwrite an existing --out file.
    #[arg(long)]
    force: bool,
}

/// Arguments of `fingerprint`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  authctl fingerprint partner.pem     # the same for the private and the public key"
)]
pub(crate) struct FingerprintArgs {
    /// A private or public key (any form `pubkey` reads); PATH, @PATH, env:NAME or -.
    key: String,
}

/// The stable name of a key type in output.
pub(crate) fn key_type_name(t: KeyType) -> &'static str {
    match t {
        KeyType::Rsa => "rsa",
        KeyType::EcP256 => "p256",
        KeyType::Ed25519 => "ed25519",
        KeyType::Hmac => "hmac",
    }
}

/// The size in bits of a public key.
pub(crate) fn key_bits(key: &PublicKey) -> usize {
    match key {
        PublicKey::Rsa(rsa) => rsa.bits(),
        PublicKey::EcP256(_) | PublicKey::Ed25519(_) => 256,
    }
}

/// Runs `f` while telling the person at the terminal that slow work is going on: a line
/// redrawn with the elapsed seconds on a terminal, one line otherwise.
fn with_progress<T>(ctx: &Ctx, what: &str, f: impl FnOnce() -> T) -> T {
    if !ctx.out.stderr_is_terminal() {
        ctx.out.note(format!("{what} (this can take a while)..."));
        return f();
    }
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let label = what.to_owned();
    let ticker = std::thread::spawn(move || {
        let start = Instant::now();
        let spinner = ['|', '/', '-', '\\'];
        let mut i = 0usize;
        while done_rx.recv_timeout(Duration::from_millis(200)).is_err() {
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r{} {label} {:.1}s",
                spinner[i % 4],
                start.elapsed().as_secs_f32()
            );
            let _ = err.flush();
            i += 1;
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "\r{label} done in {:.1}s      ",
            start.elapsed().as_secs_f32()
        );
    });
    let result = f();
    let _ = done_tx.send(());
    let _ = ticker.join();
    result
}

/// Runs `keygen`.
pub(crate) fn keygen(args: KeygenArgs, ctx: &Ctx) -> CliResult {
    let bits: usize = match (&args.bits, args.kind) {
        (Some(b), KeyKind::Rsa) => b.parse().unwrap_or(2048),
        (None, KeyKind::Rsa) => 2048,
        (Some(_), _) => {
            return Err(CliError::usage(
                "--bits applies to RSA keys only",
                "drop --bits, or pass --type rsa",
            ));
        }
        (None, _) => 256,
    };
    match (args.format, args.kind) {
        (PrivateFormat::Actyx, KeyKind::Ed25519) | (PrivateFormat::Pkcs8, _) => {}
        (PrivateFormat::Actyx, _) => {
            return Err(CliError::usage(
                "the Actyx text form holds Ed25519 keys only",
                "pass --type ed25519, or --format pkcs8",
            ));
        }
        (PrivateFormat::Traditional, KeyKind::Ed25519) => {
            return Err(CliError::usage(
                "Ed25519 keys have no traditional form",
                "pass --format pkcs8 or --format actyx",
            ));
        }
        (PrivateFormat::Traditional, _) => {}
    }
    let to_stdout = args.out.as_os_str() == "-";
    if !to_stdout {
        refuse_existing(&args.out, args.force)?;
    }
    if let Some(public_out) = &args.public_out {
        refuse_existing(public_out, args.force)?;
    }
    let rng = ctx.rng();
    let generated = match args.kind {
        KeyKind::Rsa if bits >= 3072 => {
            with_progress(ctx, &format!("generating an RSA-{bits} key"), || {
                keys::generate_rsa(bits, rng)
            })
        }
        KeyKind::Rsa => keys::generate_rsa(bits, rng),
        KeyKind::Ed25519 => keys::generate_ed25519(rng),
        KeyKind::P256 => keys::generate_p256(rng),
    };
    let key = generated.map_err(|e| {
        CliError::input(
            format!("key generation failed: {}", e.message()),
            "try again; the system random source may be unavailable",
        )
    })?;
    let encoded = encode_private(&key, args.format)?;
    let public = key.public_key();
    let thumbprint = public.jwk_thumbprint();
    let format_name = match args.format {
        PrivateFormat::Pkcs8 => "pkcs8",
        PrivateFormat::Traditional if args.kind == KeyKind::Rsa => "pkcs1",
        PrivateFormat::Traditional => "sec1",
        PrivateFormat::Actyx => "actyx",
    };
    if to_stdout {
        // The key itself is the output; its facts go to stderr so the stream stays a key.
        std::io::stdout()
            .write_all(&encoded)
            .and_then(|()| std::io::stdout().flush())
            .map_err(|e| {
                CliError::input(
                    format!("cannot write the key to stdout: {e}"),
                    "check the pipe",
                )
            })?;
        ctx.out.verbose(
            1,
            format!(
                "{} key, {bits} bits, {format_name}, thumbprint {thumbprint}",
                key_type_name(key.key_type())
            ),
        );
        return Ok(());
    }
    input::write_key_file(
        &args.out,
        &encoded,
        FileKind::Private,
        Overwrite::from_force(args.force),
    )?;
    let mut report = Report::new("keygen")
        .shown("private_key", args.out.display().to_string())
        .shown("key_type", key_type_name(key.key_type()))
        .field("bits", bits)
        .shown("format", format_name)
        .shown("thumbprint", thumbprint.clone())
        .field("public_key_pem", public.to_spki_pem());
    if let Some(public_out) = &args.public_out {
        input::write_key_file(
            public_out,
            public.to_spki_pem().as_bytes(),
            FileKind::Public,
            Overwrite::from_force(args.force),
        )?;
        report = report.shown("public_key", public_out.display().to_string());
    }
    ctx.out.report(&report);
    Ok(())
}

fn refuse_existing(path: &Path, force: bool) -> CliResult {
    if !force && std::fs::symlink_metadata(path).is_ok() {
        return Err(CliError::input(
            format!("{} already exists", path.display()),
            "pass --force to overwrite it, or choose another path",
        ));
    }
    Ok(())
}

fn encode_private(
    key: &PrivateKey,
    format: PrivateFormat,
) -> CliResult<zeroize::Zeroizing<Vec<u8>>> {
    Ok(zeroize::Zeroizing::new(match format {
        PrivateFormat::Pkcs8 => key.to_pkcs8_pem().expose().to_vec(),
        PrivateFormat::Traditional => key.to_traditional_pem().expose().to_vec(),
        PrivateFormat::Actyx => {
            let text = private_key_to_text(key)
                .map_err(|e| CliError::core_input("actyx form", &e, "pass --type ed25519"))?;
            format!("{}\n", text.as_str()).into_bytes()
        }
    }))
}

/// The text of `public` in `format`.
pub(crate) fn encode_public(
    public: &PublicKey,
    format: PublicFormat,
    kid: Option<&str>,
) -> CliResult<String> {
    Ok(match format {
        PublicFormat::Spki => public.to_spki_pem(),
        PublicFormat::Pkcs1 => public.to_pkcs1_pem().map_err(|e| {
            CliError::core_input(
                "PKCS#1 form",
                &e,
                "PKCS#1 holds RSA keys only; use --format spki",
            )
        })?,
        PublicFormat::Jwk => {
            let mut jwk = public.to_jwk();
            jwk.kid = kid.map(str::to_owned);
            jwk.to_json()
        }
        PublicFormat::Smile => public.to_smile_base64(),
        PublicFormat::Actyx => AxPublicKey::from_public_key(public)
            .map_err(|e| {
                CliError::core_input(
                    "Actyx form",
                    &e,
                    "the Actyx form holds Ed25519 keys only; use --format spki",
                )
            })?
            .to_text(),
    })
}

/// Runs `pubkey`.
pub(crate) fn pubkey(args: PubkeyArgs, ctx: &Ctx) -> CliResult {
    if args.kid.is_some() && args.format != PublicFormat::Jwk {
        return Err(CliError::usage(
            "--kid applies to --format jwk only",
            "add --format jwk, or drop --kid",
        ));
    }
    let public = input::load_public_key(&args.key, ctx.key_permissions)?;
    let text = encode_public(&public, args.format, args.kid.as_deref())?;
    let format_name = format!("{:?}", args.format).to_lowercase();
    if let Some(path) = &args.out {
        let mut contents = text.clone();
        if !contents.ends_with('\n') {
            contents.push('\n');
        }
        input::write_key_file(
            path,
            contents.as_bytes(),
            FileKind::Public,
            Overwrite::from_force(args.force),
        )?;
        ctx.out.report(
            &Report::new("pubkey")
                .shown("public_key_file", path.display().to_string())
                .shown("format", format_name)
                .field("public_key", text)
                .shown("thumbprint", public.jwk_thumbprint()),
        );
    } else {
        ctx.out.report(
            &Report::new("pubkey")
                .field("format", format_name)
                .field("key_type", key_type_name(public.key_type()))
                .field("thumbprint", public.jwk_thumbprint())
                .field("public_key", text.clone())
                .line(text.trim_end()),
        );
    }
    Ok(())
}

/// Runs `fingerprint`.
pub(crate) fn fingerprint(args: FingerprintArgs, ctx: &Ctx) -> CliResult {
    let public = input::load_public_key(&args.key, ctx.key_permissions)?;
    let thumbprint = public.jwk_thumbprint();
    ctx.out.report(
        &Report::new("fingerprint")
            .field("key_type", key_type_name(public.key_type()))
            .field("bits", key_bits(&public))
            .field("thumbprint", thumbprint.clone())
            .field("method", "RFC 7638 JWK thumbprint, SHA-256, base64url")
            .line(thumbprint),
    );
    Ok(())
}
