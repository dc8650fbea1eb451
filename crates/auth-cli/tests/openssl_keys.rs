//! Keys made by `openssl genpkey`, `openssl genrsa -traditional` and `openssl ecparam` work in
//! every authctl command that takes a key of their type (sign with the private key file,
//! verify with openssl's public key file).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{have, json, ok, tempdir, tool};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const URL: &str = "https://api.example/v1/x?y=1";

/// Generates `name` with openssl (mode 0600) and `name.pub` (SPKI PEM from openssl).
fn openssl_key(d: &Path, name: &str, args: &[&str]) {
    let mut all = args.to_vec();
    all.extend(["-out", name]);
    tool(d, "openssl", &all);
    fs::set_permissions(d.join(name), fs::Permissions::from_mode(0o600)).unwrap();
    let public = tool(d, "openssl", &["pkey", "-in", name, "-pubout"]);
    fs::write(d.join(format!("{name}.pub")), public).unwrap();
}

fn rfc9421_round_trip(d: &Path, key: &str, alg: &str) {
    let headers = ok(
        d,
        &[
            "rfc9421", "sign", "--key", key, "--alg", alg, "--keyid", "k", "--method", "POST",
            "--url", URL, "--body", "hi",
        ],
    );
    fs::write(d.join("h.txt"), headers).unwrap();
    ok(
        d,
        &[
            "rfc9421",
            "verify",
            "--key",
            &format!("{key}.pub"),
            "--alg",
            alg,
            "--method",
            "POST",
            "--url",
            URL,
            "--body",
            "hi",
            "--headers",
            "@h.txt",
        ],
    );
}

fn jwt_round_trip(d: &Path, key: &str, alg: &str) {
    let token = ok(
        d,
        &[
            "jwt",
            "mint",
            "--key",
            key,
            "--alg",
            alg,
            "--client-id",
            "acme",
        ],
    );
    fs::write(d.join("t.txt"), token.trim()).unwrap();
    ok(
        d,
        &[
            "jwt",
            "verify",
            "@t.txt",
            "--key",
            &format!("{key}.pub"),
            "--alg",
            alg,
            "--client-id",
            "acme",
        ],
    );
}

#[test]
fn openssl_rsa_keys_work_in_every_rsa_command() {
    let dir = tempdir();
    let d = dir.path();
    if !have("openssl") {
        return;
    }
    openssl_key(
        d,
        "pkcs8.pem",
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ],
    );
    openssl_key(d, "pkcs1.pem", &["genrsa", "-traditional"]);
    assert!(
        fs::read_to_string(d.join("pkcs1.pem"))
            .unwrap()
            .starts_with("-----BEGIN RSA PRIVATE KEY-----")
    );
    for key in ["pkcs8.pem", "pkcs1.pem"] {
        let public = format!("{key}.pub");
        // Qredo.
        let v = json(
            d,
            &[
                "qredo",
                "sign",
                "--key",
                key,
                "--url",
                URL,
                "--body",
                "b",
                "--timestamp",
                "1700000000",
            ],
        );
        let sign = v["headers"]["x-sign"].as_str().unwrap();
        ok(
            d,
            &[
                "qredo",
                "verify",
                "--public-key",
                &public,
                "--url",
                URL,
                "--body",
                "b",
                "--timestamp",
                "1700000000",
                "--sign",
                sign,
                "--now",
                "1700000001",
            ],
        );
        // RFC 9421, both RSA algorithms.
        rfc9421_round_trip(d, key, "rsa-pss-sha512");
        rfc9421_round_trip(d, key, "rsa-v1_5-sha256");
        // Altalix.
        let url = ok(
            d,
            &[
                "altalix",
                "sign",
                "--key",
                key,
                "--key-id",
                "k",
                "--partner-id",
                "p",
                "--sell-currency",
                "EUR",
                "--buy-currency",
                "ETH",
                "--address",
                "0x1",
                "--buy-amount",
                "1",
            ],
        );
        fs::write(d.join("url.txt"), url.trim()).unwrap();
        ok(
            d,
            &[
                "altalix",
                "verify",
                "--public-key",
                &public,
                "--url",
                "@url.txt",
            ],
        );
        // JWT.
        jwt_round_trip(d, key, "RS256");
        jwt_round_trip(d, key, "PS256");
        // Smile sec_key, both directions, with openssl's public key as the provider key.
        let v = json(
            d,
            &[
                "smile",
                "sec-key",
                "generate",
                "--provider-key",
                &public,
                "--partner-id",
                "7",
                "--timestamp",
                "1700000000",
            ],
        );
        fs::write(d.join("sk.txt"), v["sec_key"].as_str().unwrap()).unwrap();
        ok(
            d,
            &[
                "smile",
                "sec-key",
                "verify",
                "--key",
                key,
                "--partner-id",
                "7",
                "--timestamp",
                "1700000000",
                "--sec-key",
                "@sk.txt",
                "--now",
                "1700000001",
            ],
        );
        let r = json(
            d,
            &[
                "smile",
                "sec-key",
                "respond",
                "--key",
                key,
                "--partner-id",
                "7",
                "--timestamp",
                "1700000000",
            ],
        );
        ok(
            d,
            &[
                "smile",
                "sec-key",
                "confirm",
                "--provider-key",
                &public,
                "--partner-id",
                "7",
                "--timestamp",
                "1700000000",
                "--signature",
                r["signature"].as_str().unwrap(),
            ],
        );
        // Key forms.
        ok(d, &["pubkey", key, "--format", "smile"]);
        ok(d, &["pubkey", key, "--format", "jwk"]);
    }
}

#[test]
fn openssl_ed25519_and_p256_keys_work_in_every_command_of_their_type() {
    let dir = tempdir();
    let d = dir.path();
    if !have("openssl") {
        return;
    }
    openssl_key(d, "ed.pem", &["genpkey", "-algorithm", "ED25519"]);
    openssl_key(d, "dev.pem", &["genpkey", "-algorithm", "ED25519"]);
    openssl_key(
        d,
        "ec.pem",
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ],
    );
    openssl_key(
        d,
        "sec1.pem",
        &["ecparam", "-name", "prime256v1", "-genkey"],
    );
    rfc9421_round_trip(d, "ed.pem", "ed25519");
    jwt_round_trip(d, "ed.pem", "EdDSA");
    for key in ["ec.pem", "sec1.pem"] {
        rfc9421_round_trip(d, key, "ecdsa-p256-sha256");
        jwt_round_trip(d, key, "ES256");
    }
    // App trust with openssl's Ed25519 keys as authority and developer.
    ok(
        d,
        &[
            "apptrust",
            "cert",
            "issue",
            "--authority-key",
            "ed.pem",
            "--dev-public-key",
            "dev.pem.pub",
            "--domain",
            "com.acme.*",
            "-o",
            "cert.json",
        ],
    );
    ok(
        d,
        &[
            "apptrust",
            "cert",
            "verify",
            "--authority",
            "ed.pem.pub",
            "cert.json",
        ],
    );
    ok(
        d,
        &[
            "apptrust",
            "manifest",
            "sign",
            "--dev-key",
            "dev.pem",
            "--cert",
            "cert.json",
            "--app-id",
            "com.acme.app",
            "--display-name",
            "App",
            "--app-version",
            "1.0",
            "-o",
            "m.json",
        ],
    );
    ok(
        d,
        &[
            "apptrust",
            "manifest",
            "verify",
            "--authority",
            "ed.pem.pub",
            "m.json",
        ],
    );
    let license = ok(
        d,
        &[
            "apptrust",
            "license",
            "issue",
            "--authority-key",
            "ed.pem",
            "--app-id",
            "com.acme.app",
            "--expires-at",
            "30d",
            "--email",
            "a@acme.example",
        ],
    );
    fs::write(d.join("l.txt"), license.trim()).unwrap();
    ok(
        d,
        &[
            "apptrust",
            "license",
            "verify",
            "--authority",
            "ed.pem.pub",
            "--app-id",
            "com.acme.app",
            "@l.txt",
        ],
    );
    assert_eq!(
        ok(d, &["pubkey", "ed.pem", "--format", "actyx"]),
        ok(d, &["pubkey", "ed.pem.pub", "--format", "actyx"])
    );
}
