//! Pieces every signing and verifying command shares: binding a key file to an algorithm,
//! request bodies and headers from the command line, durations, and `--print-signature-base`.

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::input;
use crate::output::Report;
use auth_core::keys::{HmacSecret, PublicKey, SignatureAlgorithm, SigningKey, VerifyingKey};
use base64::Engine as _;
use std::io::Write;
use std::time::Duration;

/// Loads a private key file and binds it to `alg`, with a message naming the mismatch.
pub(crate) fn signing_key(
    ctx: &Ctx,
    key_arg: &str,
    alg: SignatureAlgorithm,
) -> CliResult<SigningKey> {
    let loaded = input::load_private_key(key_arg, ctx.key_permissions)?;
    bind_signing_key(ctx, &loaded, alg)
}

/// Binds a loaded private key to `alg`.
pub(crate) fn bind_signing_key(
    ctx: &Ctx,
    loaded: &input::LoadedKey,
    alg: SignatureAlgorithm,
) -> CliResult<SigningKey> {
    ctx.out.verbose(
        1,
        format!(
            "private key from {} ({:?})",
            loaded.origin,
            loaded.key.key_type()
        ),
    );
    SigningKey::new(&loaded.key, alg, ctx.rng()).map_err(|e| {
        CliError::core_input(
            &format!("{} cannot sign with {alg:?}", loaded.origin),
            &e,
            "use a key of the type the algorithm needs (see 'authctl keygen --help')",
        )
    })
}

/// Loads a public key (or a private key's public half) and binds it to `alg`.
pub(crate) fn verifying_key(
    ctx: &Ctx,
    key_arg: &str,
    alg: SignatureAlgorithm,
) -> CliResult<VerifyingKey> {
    let public = input::load_public_key(key_arg, ctx.key_permissions)?;
    bind_verifying_key(&public, key_arg, alg)
}

/// Binds a loaded public key to `alg`.
pub(crate) fn bind_verifying_key(
    public: &PublicKey,
    key_arg: &str,
    alg: SignatureAlgorithm,
) -> CliResult<VerifyingKey> {
    VerifyingKey::new(public, alg).map_err(|e| {
        CliError::core_input(
            &format!("{key_arg} cannot verify {alg:?}"),
            &e,
            "use the public key of the type the algorithm needs",
        )
    })
}

/// Reads an HMAC secret (never from argv).
pub(crate) fn hmac_secret(flag: &str, arg: &str) -> CliResult<HmacSecret> {
    let bytes = input::read_secret(flag, arg)?;
    HmacSecret::from_bytes(&bytes).map_err(|e| {
        CliError::core_input(
            &format!("{flag} is not a usable HMAC secret"),
            &e,
            "use a secret of 16 to 1024 bytes (e.g. 'head -c 32 /dev/urandom > secret.bin')",
        )
    })
}

/// Reads an optional body: a literal, @FILE, env:NAME or - (stdin); none is empty.
pub(crate) fn body(arg: Option<&str>) -> CliResult<Vec<u8>> {
    arg.map_or_else(|| Ok(Vec::new()), |a| input::read_input(a, "the body"))
}

/// Splits `-H "Name: value"` arguments into owned (lowercase name, trimmed value) pairs.
pub(crate) fn headers(args: &[String]) -> CliResult<Vec<(String, String)>> {
    args.iter()
        .map(|h| {
            let (name, value) = h.split_once(':').ok_or_else(|| {
                CliError::usage(
                    format!("header '{h}' has no ':'"),
                    "write headers as -H 'Name: value'",
                )
            })?;
            let name = name.trim();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(CliError::usage(
                    format!("header name '{name}' is not valid"),
                    "write headers as -H 'Name: value'",
                ));
            }
            Ok((name.to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect()
}

/// Parses a duration: `30`, `30s`, `5m`, `2h`, `7d`.
pub(crate) fn duration(text: &str) -> CliResult<Duration> {
    let (num, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = num.parse().map_err(|_| bad_duration(text))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(bad_duration(text)),
    };
    Ok(Duration::from_secs(secs))
}

fn bad_duration(text: &str) -> CliError {
    CliError::usage(
        format!("'{text}' is not a duration"),
        "write e.g. 30s, 5m, 2h or 7d",
    )
}

/// Prints a result. With `--print-signature-base`, human output is exactly the signed bytes
/// (nothing added, so `| openssl dgst -sign` reproduces the signature); JSON output carries
/// them as `signature_base` (when UTF-8) and `signature_base_b64`.
pub(crate) fn finish(ctx: &Ctx, report: Report, base: Option<&[u8]>) -> CliResult {
    let Some(base) = base else {
        ctx.out.report(&report);
        return Ok(());
    };
    if ctx.out.is_json() {
        let mut report = report.field(
            "signature_base_b64",
            base64::engine::general_purpose::STANDARD.encode(base),
        );
        if let Ok(text) = std::str::from_utf8(base) {
            report = report.field("signature_base", text);
        }
        ctx.out.report(&report);
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(base).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::input(
            format!("cannot write to stdout: {e}"),
            "check the pipe",
        )),
        _ => Ok(()),
    }
}
