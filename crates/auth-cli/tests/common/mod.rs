//! Shared helpers for the end-to-end tests: run the built `authctl` binary in a temporary
//! directory, check exit codes and the one-line error rule, and find external tools (openssl)
//! with the CI rule (missing in CI fails, elsewhere skips with a reason).
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub raw_stdout: Vec<u8>,
    pub stderr: String,
}

/// The repository root (for testvectors/).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authctl"));
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("AUTHCTL_NOW")
        .env_remove("AUTHCTL_API_KEY")
        .env_remove("SMILE_API_KEY")
        .env_remove("RUST_BACKTRACE");
    cmd
}

/// Runs `authctl args` in `dir` with `stdin` (empty when `None`).
pub fn run_with(dir: &Path, args: &[&str], stdin: Option<&[u8]>, envs: &[(&str, &str)]) -> Run {
    let mut cmd = command(dir, args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("authctl runs");
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(bytes) = stdin {
            input.write_all(bytes).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        raw_stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    // Whatever happened, never a panic or a backtrace.
    assert!(
        !run.stderr.contains("panicked")
            && !run.stderr.contains("internal error")
            && !run.stderr.contains("RUST_BACKTRACE"),
        "{args:?}: {run:?}"
    );
    run
}

/// Runs `authctl args` in `dir`.
pub fn run(dir: &Path, args: &[&str]) -> Run {
    run_with(dir, args, None, &[])
}

/// Runs and expects exit 0; returns stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let r = run(dir, args);
    assert_eq!(r.code, 0, "authctl {args:?} failed: {r:?}");
    r.stdout
}

/// Runs and expects exit `code` with exactly one error line on stderr naming a fix
/// (`; hint:`); returns that line.
pub fn fails(dir: &Path, args: &[&str], code: i32) -> String {
    let r = run(dir, args);
    assert_eq!(r.code, code, "authctl {args:?}: {r:?}");
    one_error_line(&r)
}

/// The single `error: ...; hint: ...` line of a failed run.
pub fn one_error_line(r: &Run) -> String {
    let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let errors: Vec<&&str> = lines.iter().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "want one error line: {r:?}");
    let line = errors[0].to_string();
    assert!(line.contains("; hint: "), "the error names no fix: {line}");
    line
}

/// JSON on stdout.
pub fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = ok(dir, &all);
    let v: serde_json::Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    assert_eq!(v["version"], 1, "{v}");
    assert!(v["kind"].is_string(), "{v}");
    v
}

/// Whether `tool` can run. Missing: a failure in CI (`CI=true`), a printed skip elsewhere.
pub fn have(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{tool} is required for this test in CI; install it (apt-get install {tool})");
        }
        eprintln!("SKIP: {tool} is not installed; this test needs it");
    }
    found
}

/// Runs an external tool in `dir`, expecting success; returns stdout bytes.
pub fn tool(dir: &Path, program: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("tool runs");
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Writes a private key file with mode 0600.
pub fn write_private(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Standard Base64 decode (tests only).
pub fn b64(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap()
}

/// Base64url (no padding) decode (tests only).
pub fn b64url(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim())
        .unwrap()
}
