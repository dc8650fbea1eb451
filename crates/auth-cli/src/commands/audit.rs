//! `authctl audit verify`: checks an exported audit log (the JSON Lines auth-verify writes)
//! with auth-core's chain verifier: hash chain, seq, and signed checkpoints; names the first
//! broken entry.

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::input;
use crate::output::{Report, Style};
use auth_core::audit::verify::{MAX_READ, SERVICE_PUB_FILE};
use auth_core::audit::{ChainVerifier, Finding, Problem, VerifyReport};
use auth_core::keys::PublicKey;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// `authctl audit` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Verify an audit log's hash chain and signed checkpoints (exit 1 names the first broken entry).
    #[command(
        after_help = "Examples:\n  authctl audit verify /var/lib/auth-verify/audit.jsonl        # service.pub next to it\n  authctl audit verify audit.jsonl --public-key service.pub --json"
    )]
    Verify(VerifyArgs),
}

/// Arguments of `audit verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The audit log file (audit.jsonl).
    file: PathBuf,
    /// The service's Ed25519 public key (SPKI PEM as auth-verify publishes it); default:
    /// service.pub next to the log.
    #[arg(long, value_name = "PATH")]
    public_key: Option<String>,
}

/// Runs an `audit` subcommand.
pub(crate) fn run(cmd: AuditCommand, ctx: &Ctx) -> CliResult {
    match cmd {
        AuditCommand::Verify(args) => verify(&args, ctx),
    }
}

fn service_key(ctx: &Ctx, args: &VerifyArgs) -> CliResult<[u8; 32]> {
    let arg = match &args.public_key {
        Some(arg) => arg.clone(),
        None => {
            let beside = args.file.with_file_name(SERVICE_PUB_FILE);
            if !beside.exists() {
                return Err(CliError::input(
                    format!("no service public key: {} does not exist", beside.display()),
                    "pass --public-key PATH (the service.pub of the auth-verify that wrote the log)",
                ));
            }
            beside.display().to_string()
        }
    };
    match input::load_public_key(&arg, ctx.key_permissions)? {
        PublicKey::Ed25519(raw) => Ok(raw),
        _ => Err(CliError::input(
            format!(
                "{arg} is not an Ed25519 key; audit checkpoints are signed with the service's Ed25519 key"
            ),
            "pass the service.pub of the auth-verify that wrote the log",
        )),
    }
}

/// Reads the log line by line into the verifier (logs can be large: never all in memory).
fn verify_file(path: &Path, public: [u8; 32]) -> CliResult<VerifyReport> {
    let file = std::fs::File::open(path).map_err(|e| {
        CliError::input(
            format!("cannot read the audit log {}: {e}", path.display()),
            "check the path and its permissions",
        )
    })?;
    let mut verifier = ChainVerifier::new(path.display().to_string(), public);
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        // At most one line (plus one byte to tell a too-long line apart) per read.
        let read = (&mut reader)
            .take(MAX_READ as u64)
            .read_until(b'\n', &mut buf)
            .map_err(|e| {
                CliError::input(
                    format!("cannot read the audit log {}: {e}", path.display()),
                    "check the file",
                )
            })?;
        if read == 0 || !verifier.push_line(&buf) {
            break;
        }
    }
    Ok(verifier.finish())
}

fn finding_json(f: &Finding) -> Value {
    json!({"line": f.line, "seq": f.seq, "problem": f.problem.code(), "message": f.problem.to_string()})
}

fn verify(args: &VerifyArgs, ctx: &Ctx) -> CliResult {
    let public = service_key(ctx, args)?;
    let report = verify_file(&args.file, public)?;
    if let Some(Finding {
        problem: Problem::Unreadable(e),
        ..
    }) = &report.error
    {
        return Err(CliError::input(
            format!("cannot read the audit log: {e}"),
            "check the file",
        ));
    }
    let mut out = Report::new("audit.verify")
        .field("valid", report.is_ok())
        .field("entries", report.entries)
        .field("checkpoints", report.checkpoints)
        .field(
            "last_checkpoint",
            report
                .last_checkpoint
                .as_ref()
                .map_or(Value::Null, |(seq, hash)| json!({"seq": seq, "hash": hash})),
        )
        .field(
            "error",
            report.error.as_ref().map_or(Value::Null, finding_json),
        )
        .field(
            "warnings",
            report.warnings.iter().map(finding_json).collect::<Vec<_>>(),
        );
    for line in report.to_string().lines() {
        let style = match line {
            l if l.starts_with("warning:") => Style::Warn,
            l if l.contains(": BROKEN at ") => Style::Bad,
            l if l.contains(": OK, ") => Style::Good,
            _ => Style::Dim,
        };
        out = out.styled(style, line);
    }
    match &report.error {
        None => {
            ctx.out.report(&out);
            Ok(())
        }
        Some(finding) => {
            ctx.out.report(&out);
            Err(CliError::verification(
                format!("the audit log is broken at {finding}"),
                "entries from there on cannot be trusted; compare with a copy kept elsewhere",
            ))
        }
    }
}
