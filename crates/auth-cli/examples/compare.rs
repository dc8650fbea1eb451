//! Whole-process comparison of `authctl` and `openssl` for RSA-2048: key generation, signing
//! (RSASSA-PKCS1-v1_5 SHA-256, as Qredo signs) and verifying, each run N times as separate
//! processes in one run, with a table of medians and ratios.
//!
//! `cargo build --release -p auth-cli --examples && target/release/examples/compare [N]`
//! (authctl is taken from beside the example's directory, or from `$AUTHCTL`).

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const URL: &str = "https://api.example/v1/orders";
const TIMESTAMP: &str = "1700000000";

/// Runs `program args` once in `dir`, failing on a non-zero exit; returns its wall time.
fn time_once(dir: &Path, program: &Path, args: &[&str]) -> Result<Duration> {
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    let elapsed = start.elapsed();
    if !status.success() {
        return Err(format!("{} {args:?} failed: {status}", program.display()).into());
    }
    Ok(elapsed)
}

/// Median, min and max of `n` runs, in milliseconds.
fn measure(dir: &Path, program: &Path, args: &[&str], n: usize) -> Result<(f64, f64, f64)> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        times.push(time_once(dir, program, args)?.as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let median = times.get(n / 2).copied().unwrap_or_default();
    Ok((
        median,
        times.first().copied().unwrap_or_default(),
        times.last().copied().unwrap_or_default(),
    ))
}

fn authctl_path() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("AUTHCTL") {
        return Ok(PathBuf::from(p));
    }
    let me = std::env::current_exe()?;
    let candidate = me
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("authctl"))
        .ok_or("cannot locate the target directory")?;
    if candidate.exists() {
        Ok(candidate)
    } else {
        Err(format!(
            "{} not found: build it first (cargo build --release -p auth-cli) or set AUTHCTL",
            candidate.display()
        )
        .into())
    }
}

fn main() -> Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(30);
    let authctl = authctl_path()?;
    let openssl = PathBuf::from("openssl");
    let dir = std::env::temp_dir().join(format!("authctl-compare-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let d = dir.as_path();

    // One key pair, one body, one signature from each tool, for the sign and verify rounds.
    time_once(
        d,
        &authctl,
        &[
            "keygen",
            "--type",
            "rsa",
            "--bits",
            "2048",
            "-o",
            "k.pem",
            "--public-out",
            "k.pub",
            "--force",
        ],
    )?;
    std::fs::write(
        d.join("body.json"),
        br#"{"sell_currency":"EUR","buy_currency":"ETH","amount":"25"}"#,
    )?;
    let sign_args = [
        "qredo",
        "sign",
        "--key",
        "k.pem",
        "--url",
        URL,
        "--body",
        "@body.json",
        "--timestamp",
        TIMESTAMP,
    ];
    let out = Command::new(&authctl)
        .current_dir(d)
        .arg("--json")
        .args(sign_args)
        .output()?;
    let signed: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let x_sign = signed["headers"]["x-sign"]
        .as_str()
        .ok_or("no x-sign")?
        .to_owned();
    let base = Command::new(&authctl)
        .current_dir(d)
        .args(sign_args)
        .arg("--print-signature-base")
        .output()?;
    std::fs::write(d.join("base.bin"), &base.stdout)?;
    time_once(
        d,
        &openssl,
        &[
            "dgst", "-sha256", "-sign", "k.pem", "-out", "sig.bin", "base.bin",
        ],
    )?;

    let verify_args = [
        "qredo",
        "verify",
        "--public-key",
        "k.pub",
        "--url",
        URL,
        "--body",
        "@body.json",
        "--timestamp",
        TIMESTAMP,
        "--sign",
        &x_sign,
        "--now",
        TIMESTAMP,
    ];
    let rows: [(&str, usize, Vec<&str>, Vec<&str>); 3] = [
        (
            "RSA-2048 key generation",
            n,
            vec![
                "keygen", "--type", "rsa", "--bits", "2048", "-o", "gen.pem", "--force",
            ],
            vec![
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                "gen-o.pem",
            ],
        ),
        (
            "sign (PKCS#1 v1.5 SHA-256)",
            n,
            sign_args.to_vec(),
            vec![
                "dgst", "-sha256", "-sign", "k.pem", "-out", "sig.bin", "base.bin",
            ],
        ),
        (
            "verify (PKCS#1 v1.5 SHA-256)",
            n,
            verify_args.to_vec(),
            vec![
                "dgst",
                "-sha256",
                "-verify",
                "k.pub",
                "-signature",
                "sig.bin",
                "base.bin",
            ],
        ),
    ];
    println!("whole-process wall time, median (min-max) in ms; ratio = authctl / openssl");
    println!(
        "{:<30} {:>5} {:>22} {:>22} {:>7}",
        "operation", "runs", "authctl", "openssl", "ratio"
    );
    for (name, runs, ours, theirs) in rows {
        let (a, a_min, a_max) = measure(d, &authctl, &ours, runs)?;
        let (o, o_min, o_max) = measure(d, &openssl, &theirs, runs)?;
        println!(
            "{name:<30} {runs:>5} {:>22} {:>22} {:>7.2}",
            format!("{a:.1} ({a_min:.1}-{a_max:.1})"),
            format!("{o:.1} ({o_min:.1}-{o_max:.1})"),
            a / o
        );
    }
    std::fs::remove_dir_all(d)?;
    Ok(())
}
