//! Shared helpers for integration tests: locating the independent implementations used for
//! interop (openssl CLI, a Python with PyJWT / cryptography / http-message-signatures, node
//! with jsonwebtoken), and running them.
//!
//! `cargo xtask ci` installs the Python and node packages and sets `PA_INTEROP_PYTHON` and
//! `PA_INTEROP_NODE_PATH`. Without them a test says it was skipped; under `CI` it fails, so CI
//! can never pass by skipping.
#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn missing(what: &str) -> Option<PathBuf> {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is required under CI (cargo xtask ci sets it up)");
    }
    eprintln!("SKIPPED: {what} is not set up; run `cargo xtask ci` to run interop tests");
    None
}

/// The Python interpreter with the interop packages, if configured.
pub fn python() -> Option<PathBuf> {
    match std::env::var_os("PA_INTEROP_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        None => missing("PA_INTEROP_PYTHON"),
    }
}

/// The `node_modules` directory with the interop packages, if configured.
pub fn node_path() -> Option<PathBuf> {
    match std::env::var_os("PA_INTEROP_NODE_PATH") {
        Some(p) => Some(PathBuf::from(p)),
        None => missing("PA_INTEROP_NODE_PATH"),
    }
}

/// Whether the openssl CLI is on PATH (it is on every machine here; under CI it must be).
pub fn openssl_available() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        missing("the openssl CLI");
    }
    ok
}

/// Runs a command with `stdin`, returning stdout; panics with stderr on failure.
pub fn run(cmd: &mut Command, stdin: &[u8]) -> Vec<u8> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs a Python script (given as text) with the interop interpreter; args follow.
pub fn run_python(python: &PathBuf, script: &str, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    run(Command::new(python).arg("-c").arg(script).args(args), stdin)
}

/// Runs a node script (given as text) with NODE_PATH set; args follow.
pub fn run_node(node_path: &PathBuf, script: &str, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    run(
        Command::new("node")
            .env("NODE_PATH", node_path)
            .arg("-e")
            .arg(script)
            .arg("--")
            .args(args),
        stdin,
    )
}

/// Like [`run`] but returns whether it succeeded instead of panicking.
pub fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
