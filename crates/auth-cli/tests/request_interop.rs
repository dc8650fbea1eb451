//! An RFC 9421 request from `authctl request` is accepted by an independent implementation:
//! a tiny Python HTTP server (`tests/interop/hms_server.py`) that verifies every request with
//! the PyPI package `http-message-signatures`, Content-Digest included, for each algorithm;
//! a request signed with another key, or whose body was not covered, is refused by it.
//!
//! The Python comes from `PA_INTEROP_PYTHON` (set by `cargo xtask ci`, which installs the
//! package); without it the test says it was skipped, and under `CI` it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod online;

use online::User;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn python() -> Option<PathBuf> {
    match std::env::var_os("PA_INTEROP_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("CI").is_some() => {
            panic!("PA_INTEROP_PYTHON is required under CI (cargo xtask ci sets it up)")
        }
        None => {
            eprintln!(
                "SKIPPED: PA_INTEROP_PYTHON is not set; run `cargo xtask ci` to run interop tests"
            );
            None
        }
    }
}

/// The Python verifier, listening; killed on drop.
struct PyServer {
    child: Child,
    base: String,
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(python: &Path, keyid: &str, alg: &str, public_pem: &Path) -> PyServer {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/hms_server.py");
    let mut child = Command::new(python)
        .arg(script)
        .args([keyid, alg])
        .arg(public_pem)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("the Python server did not start: {line:?}"));
    PyServer {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

fn public_pem(private: &Path) -> PathBuf {
    let out = private.with_extension("pub");
    let ok = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(private)
        .arg("-out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(ok.success());
    out
}

#[test]
fn python_http_message_signatures_accepts_authctl_requests() {
    let Some(python) = python() else { return };
    let user = User::new();
    let ed = user.path("ed.pem");
    online::openssl_ed25519(&ed);
    let rsa = user.path("rsa.pem");
    online::openssl_rsa(&rsa, true);
    let p256 = user.path("p256.pem");
    let ok = Command::new("openssl")
        .args([
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
        ])
        .arg(&p256)
        .status()
        .unwrap();
    assert!(ok.success());
    online::write_private(&p256, &std::fs::read(&p256).unwrap());

    for (key, alg) in [
        (&ed, "ed25519"),
        (&rsa, "rsa-pss-sha512"),
        (&rsa, "rsa-v1_5-sha256"),
        (&p256, "ecdsa-p256-sha256"),
    ] {
        let server = start(&python, "partner-key-1", alg, &public_pem(key));
        let url = format!("{}/orders/42?expand=items&x=1", server.base);
        let run = user.run(&[
            "request",
            "-X",
            "POST",
            &url,
            "-H",
            "content-type: application/json",
            "-d",
            r#"{"qty":3}"#,
            "--scheme",
            "rfc9421",
            "--key",
            key.to_str().unwrap(),
            "--key-id",
            "partner-key-1",
            "--alg",
            alg,
        ]);
        assert_eq!(run.code, 0, "{alg}: {}\n{}", run.stdout, run.stderr);
        let answer: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(answer["verified"], true, "{alg}: {answer}");
        assert_eq!(answer["body_verified"], true, "{alg}: {answer}");
        assert_eq!(answer["keyid"], "partner-key-1");
        for c in [
            "\"@method\"",
            "\"@authority\"",
            "\"@path\"",
            "\"@query\"",
            "\"content-digest\"",
        ] {
            assert!(
                answer["covered"].as_array().unwrap().iter().any(|x| x == c),
                "{alg}: {c} not covered: {answer}"
            );
        }
        // A GET without a body.
        let run = user.run(&[
            "request",
            &url,
            "--scheme",
            "rfc9421",
            "--key",
            key.to_str().unwrap(),
            "--key-id",
            "partner-key-1",
            "--alg",
            alg,
        ]);
        assert_eq!(run.code, 0, "{alg} GET: {}\n{}", run.stdout, run.stderr);
    }

    // The verifier is not a rubber stamp: another key under the same key ID is refused (exit 1).
    let other = user.path("other.pem");
    online::openssl_ed25519(&other);
    let server = start(&python, "partner-key-1", "ed25519", &public_pem(&ed));
    let url = format!("{}/orders", server.base);
    let run = user.run(&[
        "request",
        &url,
        "-d",
        "{}",
        "--scheme",
        "rfc9421",
        "--key",
        other.to_str().unwrap(),
        "--key-id",
        "partner-key-1",
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("\"verified\": false"), "{}", run.stdout);
    // ... and so is a body that the signature does not cover.
    let run = user.run(&[
        "request",
        &url,
        "-d",
        "{}",
        "--scheme",
        "rfc9421",
        "--key",
        ed.to_str().unwrap(),
        "--key-id",
        "partner-key-1",
        "--components",
        r#""@method" "@authority" "@path""#,
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("Content-Digest"), "{}", run.stdout);
}
