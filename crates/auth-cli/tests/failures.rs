//! Bad input through the binary: malformed keys, wrong formats, unreadable files, a
//! world-readable private key, a secret passed as an argument and bad flags each give one
//! error line naming the problem and the fix, exit 2, never a panic; plus help, exit codes,
//! completions and the JSON error shape.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{fails, ok, run, run_with, tempdir, write_private};
use std::fs;
use std::os::unix::fs::PermissionsExt;

#[test]
fn malformed_keys_and_wrong_formats_are_input_errors() {
    let dir = tempdir();
    let d = dir.path();
    write_private(
        d,
        "garbage.pem",
        b"-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n",
    );
    write_private(d, "empty.pem", b"");
    write_private(d, "binary.der", &[0x30, 0x82, 0xff, 0xff, 1, 2, 3]);
    for key in ["garbage.pem", "empty.pem", "binary.der"] {
        let line = fails(
            d,
            &[
                "qredo",
                "sign",
                "--key",
                key,
                "--url",
                "https://a.example/x",
            ],
            2,
        );
        assert!(
            line.contains(key) && line.contains("not a usable private key") && line.contains("PEM"),
            "{line}"
        );
    }
    ok(d, &["keygen", "-o", "k.pem", "--public-out", "k.pub"]);
    // A public key where a private key is needed.
    let line = fails(d, &["jwt", "mint", "--key", "k.pub", "--client-id", "x"], 2);
    assert!(
        line.contains("k.pub is a public key") && line.contains("private key file of the pair"),
        "{line}"
    );
    // The wrong key type for the scheme.
    ok(d, &["keygen", "--type", "ed25519", "-o", "ed.pem"]);
    let line = fails(
        d,
        &[
            "qredo",
            "sign",
            "--key",
            "ed.pem",
            "--url",
            "https://a.example/x",
        ],
        2,
    );
    assert!(
        line.contains("cannot sign") && line.contains("key of the type"),
        "{line}"
    );
    let line = fails(
        d,
        &[
            "apptrust",
            "cert",
            "issue",
            "--authority-key",
            "k.pem",
            "--dev-public-key",
            "k.pub",
            "--domain",
            "com.a.*",
        ],
        2,
    );
    assert!(line.contains("hint:"), "{line}");
    fs::write(d.join("notakey.txt"), "hello").unwrap();
    let line = fails(d, &["fingerprint", "notakey.txt"], 2);
    assert!(line.contains("not a public key authctl can read"), "{line}");
    // Malformed non-key input.
    fails(
        d,
        &["qredo", "sign", "--key", "k.pem", "--url", "not a url"],
        2,
    );
    fails(d, &["jwt", "inspect", "-"], 2);
    let r = run_with(d, &["jwt", "inspect", "-"], Some(b"a.b"), &[]);
    assert_eq!(r.code, 2);
    fails(
        d,
        &[
            "rfc9421",
            "sign",
            "--key",
            "k.pem",
            "--url",
            "https://a.example/",
            "--components",
            "@method",
        ],
        2,
    );
    fails(
        d,
        &[
            "rfc9421",
            "sign",
            "--key",
            "k.pem",
            "--url",
            "https://a.example/",
            "--components",
            "\"x-missing\"",
        ],
        2,
    );
}

#[test]
fn unreadable_and_missing_files_say_which_and_what_to_do() {
    let dir = tempdir();
    let d = dir.path();
    let line = fails(d, &["fingerprint", "nowhere.pem"], 2);
    assert!(
        line.contains("nowhere.pem does not exist") && line.contains("check the path"),
        "{line}"
    );
    fs::create_dir(d.join("adir")).unwrap();
    let line = fails(d, &["apikey", "check", "@adir"], 2);
    assert!(line.contains("adir"), "{line}");
    let line = fails(
        d,
        &[
            "qredo",
            "sign",
            "--key",
            "nowhere.pem",
            "--url",
            "https://a.example/x",
        ],
        2,
    );
    assert!(line.contains("nowhere.pem"), "{line}");
    let line = fails(
        d,
        &[
            "audit",
            "verify",
            "nowhere.jsonl",
            "--public-key",
            "nowhere.pub",
        ],
        2,
    );
    assert!(line.contains("nowhere.pub"), "{line}");
}

#[test]
fn world_readable_private_keys_are_refused_unless_insecure_permissions() {
    let dir = tempdir();
    let d = dir.path();
    ok(d, &["keygen", "-o", "k.pem"]);
    for mode in [0o644, 0o640, 0o604] {
        fs::set_permissions(d.join("k.pem"), fs::Permissions::from_mode(mode)).unwrap();
        let line = fails(
            d,
            &[
                "qredo",
                "sign",
                "--key",
                "k.pem",
                "--url",
                "https://a.example/x",
            ],
            2,
        );
        assert!(
            line.contains("readable by group or others")
                && line.contains("chmod 600 k.pem")
                && line.contains("--insecure-permissions"),
            "{line}"
        );
        // Also where only the public half is wanted: the file is still a private key.
        fails(d, &["fingerprint", "k.pem"], 2);
    }
    ok(
        d,
        &[
            "--insecure-permissions",
            "qredo",
            "sign",
            "--key",
            "k.pem",
            "--url",
            "https://a.example/x",
        ],
    );
    ok(
        d,
        &[
            "qredo",
            "sign",
            "--key",
            "k.pem",
            "--url",
            "https://a.example/x",
            "--insecure-permissions",
        ],
    );
    fs::set_permissions(d.join("k.pem"), fs::Permissions::from_mode(0o600)).unwrap();
    ok(
        d,
        &[
            "qredo",
            "sign",
            "--key",
            "k.pem",
            "--url",
            "https://a.example/x",
        ],
    );
    // Public key files may be readable by anyone.
    ok(d, &["pubkey", "k.pem", "-o", "k.pub"]);
    fs::set_permissions(d.join("k.pub"), fs::Permissions::from_mode(0o644)).unwrap();
    ok(d, &["fingerprint", "k.pub"]);
}

#[test]
fn secrets_passed_as_arguments_are_refused_and_never_echoed() {
    let dir = tempdir();
    let d = dir.path();
    let generated: serde_json::Value =
        serde_json::from_str(&ok(d, &["--json", "apikey", "generate", "--env", "live"])).unwrap();
    let secret = generated["api_key"].as_str().unwrap();
    for args in [
        vec!["apikey", "check", secret],
        vec!["apikey", "digest", secret],
        vec!["jwt", "mint", "--secret", secret, "--client-id", "x"],
        vec!["jwt", "verify", secret, "--secret", "@s.bin"],
        vec!["jwt", "inspect", secret],
        vec!["smile", "sign", "--partner-id", "085", "--api-key", secret],
        vec![
            "rfc9421",
            "sign",
            "--secret",
            secret,
            "--url",
            "https://a.example/",
        ],
    ] {
        let r = run(d, &args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        let line = common::one_error_line(&r);
        assert!(
            line.contains("secrets are not accepted as arguments")
                && line.contains("@FILE, env:NAME or -"),
            "{line}"
        );
        assert!(
            !r.stderr.contains(secret) && !r.stdout.contains(secret),
            "{args:?} echoed the secret"
        );
    }
    // The same secret from a file, the environment or stdin is accepted.
    fs::write(d.join("key.txt"), secret).unwrap();
    let from_file = run(d, &["apikey", "digest", "@key.txt"]);
    let from_env = run_with(
        d,
        &["apikey", "digest", "env:MY_KEY"],
        None,
        &[("MY_KEY", secret)],
    );
    let from_stdin = run_with(d, &["apikey", "digest", "-"], Some(secret.as_bytes()), &[]);
    assert_eq!(from_file.code, 0, "{from_file:?}");
    assert_eq!(from_file.stdout, from_env.stdout);
    assert_eq!(from_file.stdout, from_stdin.stdout);
    let line = fails(d, &["apikey", "digest", "env:UNSET_VARIABLE_X"], 2);
    assert!(line.contains("UNSET_VARIABLE_X is not set"), "{line}");
    // Secrets never show under -v either.
    let r = run_with(
        d,
        &[
            "-vv",
            "smile",
            "sign",
            "--partner-id",
            "085",
            "--api-key",
            "env:K",
        ],
        None,
        &[("K", "very-secret-smile-key")],
    );
    assert_eq!(r.code, 0);
    assert!(
        !r.stderr.contains("very-secret-smile-key") && !r.stdout.contains("very-secret-smile-key")
    );
}

#[test]
fn bad_flags_are_one_usage_line_with_exit_2() {
    let dir = tempdir();
    let d = dir.path();
    for args in [
        vec!["--bogus"],
        vec!["keygen", "--type", "dsa", "-o", "x.pem"],
        vec!["keygen", "--bits", "1024", "-o", "x.pem"],
        vec!["keygen"],
        vec!["qredo", "sign", "--url", "https://a.example/"],
        vec!["jwt", "mint", "--key", "a", "--secret", "@b"],
        vec!["nosuchcommand"],
        vec!["apikey", "generate", "--env", "prod"],
        vec!["--now", "yesterday", "apikey", "generate", "--env", "test"],
        vec![
            "keygen", "--type", "ed25519", "--bits", "2048", "-o", "x.pem",
        ],
        vec![
            "keygen", "--type", "rsa", "--format", "actyx", "-o", "x.pem",
        ],
        vec!["pubkey", "x.pem", "--kid", "k"],
    ] {
        let r = run(d, &args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        let line = common::one_error_line(&r);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{args:?}: {r:?}");
        assert!(
            line.contains("--help") || line.contains("pass") || line.contains("drop"),
            "{line}"
        );
    }
    assert!(!d.join("x.pem").exists());
}

#[test]
fn json_errors_have_the_documented_shape() {
    let dir = tempdir();
    let r = run(dir.path(), &["--json", "fingerprint", "nowhere.pem"]);
    assert_eq!(r.code, 2);
    let v: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(
        (
            v["version"].as_u64(),
            v["kind"].as_str(),
            v["exit_code"].as_u64()
        ),
        (Some(1), Some("error"), Some(2))
    );
    assert_eq!(v["error"]["kind"], "input");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nowhere.pem")
    );
    assert!(v["error"]["hint"].is_string());
    let r = run(dir.path(), &["--json", "--bogus"]);
    let v: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!((v["error"]["kind"].as_str(), r.code), (Some("usage"), 2));
}

#[test]
fn help_documents_exit_codes_and_every_command_has_an_example() {
    let dir = tempdir();
    let d = dir.path();
    let help = ok(d, &["--help"]);
    for want in [
        "Exit codes:",
        "0  ok",
        "1  verification failed",
        "2  usage or input error",
        "3  network or server error",
    ] {
        assert!(help.contains(want), "{want}");
    }
    for cmd in [
        vec!["keygen"],
        vec!["pubkey"],
        vec!["fingerprint"],
        vec!["apikey", "generate"],
        vec!["apikey", "check"],
        vec!["qredo", "sign"],
        vec!["qredo", "verify"],
        vec!["rfc9421", "sign"],
        vec!["rfc9421", "verify"],
        vec!["altalix", "sign"],
        vec!["smile", "sec-key", "confirm"],
        vec!["jwt", "inspect"],
        vec!["apptrust", "license", "issue"],
        vec!["audit", "verify"],
        vec!["completions"],
    ] {
        let mut args = cmd.clone();
        args.push("--help");
        let text = ok(d, &args);
        assert!(
            text.contains("Example") && text.contains("authctl "),
            "{cmd:?}"
        );
    }
    let r = run(d, &[]);
    assert_eq!(r.code, 2, "no command is a usage error");
    assert!(r.stderr.contains("Usage:"));
    assert!(ok(d, &["--version"]).starts_with("authctl "));
}

#[test]
fn completions_are_generated_for_common_shells() {
    let dir = tempdir();
    for (shell, marker) in [
        ("bash", "_authctl()"),
        ("zsh", "#compdef authctl"),
        ("fish", "complete -c authctl"),
    ] {
        let out = ok(dir.path(), &["completions", shell]);
        assert!(out.contains(marker), "{shell}");
        assert!(out.contains("keygen") && out.contains("rfc9421"), "{shell}");
    }
    fails(dir.path(), &["completions", "cmd.exe"], 2);
}

#[test]
fn no_colour_without_a_terminal_even_when_asked_for_nothing() {
    let dir = tempdir();
    let d = dir.path();
    // Not a terminal: no escape codes, with or without NO_COLOR.
    let r = run_with(
        d,
        &["keygen", "--type", "ed25519", "-o", "k.pem"],
        None,
        &[("NO_COLOR", "")],
    );
    assert!(
        !r.stdout.contains('\x1b') && !r.stderr.contains('\x1b'),
        "{r:?}"
    );
    let r = run_with(d, &["fingerprint", "nowhere"], None, &[("NO_COLOR", "")]);
    assert!(!r.stderr.contains('\x1b'), "{r:?}");
}

/// Runs `authctl args` on a pseudo-terminal (util-linux `script`) and returns what it showed.
fn on_a_terminal(dir: &std::path::Path, args: &str, no_color: bool) -> Option<String> {
    if !std::path::Path::new("/usr/bin/script").exists() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "util-linux script is needed in CI"
        );
        eprintln!("SKIP: /usr/bin/script (util-linux) is not installed");
        return None;
    }
    let mut cmd = std::process::Command::new("/usr/bin/script");
    cmd.args([
        "-qec",
        &format!("{} {args}", env!("CARGO_BIN_EXE_authctl")),
        "/dev/null",
    ])
    .current_dir(dir)
    .stdin(std::process::Stdio::null())
    .env_remove("NO_COLOR");
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let out = cmd.output().unwrap();
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let dir = tempdir();
    let d = dir.path();
    ok(d, &["keygen", "--type", "ed25519", "-o", "k.pem"]);
    let Some(coloured) = on_a_terminal(d, "fingerprint nowhere.pem", false) else {
        return;
    };
    assert!(coloured.contains("\x1b[31merror:"), "{coloured:?}");
    let plain = on_a_terminal(d, "fingerprint nowhere.pem", true).unwrap();
    assert!(
        plain.contains("error:") && !plain.contains('\x1b'),
        "{plain:?}"
    );
    let flag = on_a_terminal(d, "--no-color pubkey k.pem --format jwk", false).unwrap();
    assert!(
        flag.contains("\"kty\"") && !flag.contains('\x1b'),
        "{flag:?}"
    );
}
