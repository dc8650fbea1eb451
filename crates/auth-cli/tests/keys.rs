//! `authctl keygen`, `pubkey`, `fingerprint` through the binary: file modes, --force, every
//! form checked against openssl (keys from authctl load in openssl and the other way round),
//! and the RFC 7638 example thumbprint.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{fails, have, json, ok, run, tempdir, tool};
use std::fs;
use std::os::unix::fs::PermissionsExt;

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn rsa_keys_are_written_0600_and_load_in_openssl() {
    let dir = tempdir();
    let d = dir.path();
    let v = json(
        d,
        &[
            "keygen",
            "--type",
            "rsa",
            "--bits",
            "2048",
            "-o",
            "k.pem",
            "--public-out",
            "k.pub.pem",
        ],
    );
    assert_eq!(v["kind"], "keygen");
    assert_eq!(
        (
            v["key_type"].as_str(),
            v["bits"].as_u64(),
            v["format"].as_str()
        ),
        (Some("rsa"), Some(2048), Some("pkcs8"))
    );
    assert_eq!(mode(&d.join("k.pem")), 0o600);
    assert_eq!(mode(&d.join("k.pub.pem")), 0o644);
    assert!(
        fs::read_to_string(d.join("k.pem"))
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    if !have("openssl") {
        return;
    }
    tool(d, "openssl", &["pkey", "-in", "k.pem", "-check", "-noout"]);
    let spki = tool(d, "openssl", &["pkey", "-in", "k.pem", "-pubout"]);
    assert_eq!(
        String::from_utf8(spki).unwrap(),
        fs::read_to_string(d.join("k.pub.pem")).unwrap()
    );
    let text = tool(d, "openssl", &["rsa", "-in", "k.pem", "-text", "-noout"]);
    assert!(String::from_utf8_lossy(&text).contains("Private-Key: (2048 bit, 2 primes)"));
}

#[test]
fn traditional_rsa_and_sec1_keys_load_in_openssl() {
    let dir = tempdir();
    let d = dir.path();
    ok(
        d,
        &[
            "keygen",
            "--type",
            "rsa",
            "--format",
            "traditional",
            "-o",
            "t.pem",
        ],
    );
    assert!(
        fs::read_to_string(d.join("t.pem"))
            .unwrap()
            .starts_with("-----BEGIN RSA PRIVATE KEY-----")
    );
    ok(
        d,
        &[
            "keygen",
            "--type",
            "p256",
            "--format",
            "traditional",
            "-o",
            "ec.pem",
        ],
    );
    assert!(
        fs::read_to_string(d.join("ec.pem"))
            .unwrap()
            .contains("-----BEGIN EC PRIVATE KEY-----")
    );
    ok(d, &["keygen", "--type", "p256", "-o", "ec8.pem"]);
    ok(d, &["keygen", "--type", "ed25519", "-o", "ed.pem"]);
    if !have("openssl") {
        return;
    }
    tool(d, "openssl", &["rsa", "-in", "t.pem", "-check", "-noout"]);
    tool(d, "openssl", &["ec", "-in", "ec.pem", "-check", "-noout"]);
    tool(
        d,
        "openssl",
        &["pkey", "-in", "ec8.pem", "-check", "-noout"],
    );
    let ed = tool(d, "openssl", &["pkey", "-in", "ed.pem", "-text", "-noout"]);
    assert!(String::from_utf8_lossy(&ed).contains("ED25519 Private-Key"));
}

#[test]
fn slow_rsa_generation_says_so_on_one_line_without_a_terminal() {
    let dir = tempdir();
    let r = run(dir.path(), &["keygen", "--bits", "3072", "-o", "big.pem"]);
    assert_eq!(r.code, 0, "{r:?}");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{r:?}");
    assert!(lines[0].contains("generating an RSA-3072 key"), "{r:?}");
    assert!(!r.stderr.contains('\r'), "no redrawing without a terminal");
}

#[test]
fn existing_files_are_kept_without_force_and_replaced_0600_with_it() {
    let dir = tempdir();
    let d = dir.path();
    ok(d, &["keygen", "--type", "ed25519", "-o", "k.pem"]);
    let before = fs::read(d.join("k.pem")).unwrap();
    let line = fails(d, &["keygen", "--type", "ed25519", "-o", "k.pem"], 2);
    assert!(
        line.contains("already exists") && line.contains("--force"),
        "{line}"
    );
    assert_eq!(fs::read(d.join("k.pem")).unwrap(), before);
    fs::set_permissions(d.join("k.pem"), fs::Permissions::from_mode(0o644)).unwrap();
    ok(
        d,
        &["keygen", "--type", "ed25519", "-o", "k.pem", "--force"],
    );
    assert_ne!(fs::read(d.join("k.pem")).unwrap(), before);
    assert_eq!(mode(&d.join("k.pem")), 0o600);
}

#[test]
fn actyx_text_keys_round_trip_through_pubkey() {
    let dir = tempdir();
    let d = dir.path();
    let v = json(
        d,
        &[
            "keygen", "--type", "ed25519", "--format", "actyx", "-o", "a.key",
        ],
    );
    let text = fs::read_to_string(d.join("a.key")).unwrap();
    assert!(text.starts_with('0') && text.trim().len() == 45, "{text}");
    let public = ok(d, &["pubkey", "a.key", "--format", "actyx"])
        .trim()
        .to_owned();
    assert_ne!(public, text.trim(), "the public key is not the seed");
    assert!(public.starts_with('0') && public.len() == 45);
    // A public "0..." text in a *.pub file is read as public: same thumbprint as the key.
    ok(d, &["pubkey", "a.key", "--format", "actyx", "-o", "a.pub"]);
    let fp_pub = ok(d, &["fingerprint", "a.pub"]);
    assert_eq!(fp_pub.trim(), v["thumbprint"].as_str().unwrap());
    assert_eq!(
        ok(d, &["fingerprint", "a.key"]).trim(),
        v["thumbprint"].as_str().unwrap()
    );
}

#[test]
fn public_key_forms_match_openssl_and_smile() {
    let dir = tempdir();
    let d = dir.path();
    ok(d, &["keygen", "-o", "k.pem"]);
    let spki = ok(d, &["pubkey", "k.pem"]);
    let pkcs1 = ok(d, &["pubkey", "k.pem", "--format", "pkcs1"]);
    assert!(pkcs1.starts_with("-----BEGIN RSA PUBLIC KEY-----"));
    let smile = ok(d, &["pubkey", "k.pem", "--format", "smile"]);
    assert_eq!(String::from_utf8(common::b64(&smile)).unwrap(), spki);
    let jwk: serde_json::Value = serde_json::from_str(&ok(
        d,
        &["pubkey", "k.pem", "--format", "jwk", "--kid", "k1"],
    ))
    .unwrap();
    assert_eq!(
        (jwk["kty"].as_str(), jwk["e"].as_str(), jwk["kid"].as_str()),
        (Some("RSA"), Some("AQAB"), Some("k1"))
    );
    // Every form reads back as the same key.
    let fp = ok(d, &["fingerprint", "k.pem"]);
    for (name, text) in [("s.pem", &spki), ("p1.pem", &pkcs1), ("smile.txt", &smile)] {
        fs::write(d.join(name), text).unwrap();
        assert_eq!(ok(d, &["fingerprint", name]), fp, "{name}");
    }
    if !have("openssl") {
        return;
    }
    assert_eq!(
        String::from_utf8(tool(d, "openssl", &["pkey", "-in", "k.pem", "-pubout"])).unwrap(),
        spki
    );
    let ossl_pkcs1 = tool(d, "openssl", &["rsa", "-in", "k.pem", "-RSAPublicKey_out"]);
    assert_eq!(String::from_utf8(ossl_pkcs1).unwrap(), pkcs1);
    let modulus = String::from_utf8(tool(
        d,
        "openssl",
        &["rsa", "-in", "k.pem", "-modulus", "-noout"],
    ))
    .unwrap();
    let n_hex = modulus.trim().trim_start_matches("Modulus=").to_lowercase();
    let n: String = common::b64url(jwk["n"].as_str().unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(n, n_hex);
}

#[test]
fn fingerprint_is_the_rfc7638_thumbprint() {
    // RFC 7638 section 3.1: this key's thumbprint is NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs.
    let jwk = r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#;
    let dir = tempdir();
    fs::write(dir.path().join("rfc.jwk"), jwk).unwrap();
    let v = json(dir.path(), &["fingerprint", "rfc.jwk"]);
    assert_eq!(
        v["thumbprint"],
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    assert_eq!(v["bits"], 2048);
}

#[test]
fn keys_made_by_openssl_work_for_pubkey_and_fingerprint() {
    let dir = tempdir();
    let d = dir.path();
    if !have("openssl") {
        return;
    }
    tool(
        d,
        "openssl",
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "g.pem",
        ],
    );
    tool(
        d,
        "openssl",
        &["genrsa", "-traditional", "-out", "t.pem", "2048"],
    );
    tool(
        d,
        "openssl",
        &["genpkey", "-algorithm", "ED25519", "-out", "ed.pem"],
    );
    tool(
        d,
        "openssl",
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "ec.pem",
        ],
    );
    tool(
        d,
        "openssl",
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-out",
            "sec1.pem",
        ],
    );
    for name in ["g.pem", "t.pem", "ed.pem", "ec.pem", "sec1.pem"] {
        fs::set_permissions(d.join(name), fs::Permissions::from_mode(0o600)).unwrap();
        let ours = ok(d, &["pubkey", name]);
        let theirs =
            String::from_utf8(tool(d, "openssl", &["pkey", "-in", name, "-pubout"])).unwrap();
        assert_eq!(ours, theirs, "{name}");
        fs::write(d.join(format!("{name}.pub")), &theirs).unwrap();
        assert_eq!(
            ok(d, &["fingerprint", name]),
            ok(d, &["fingerprint", &format!("{name}.pub")]),
            "{name}"
        );
    }
}

#[test]
fn keys_can_come_from_stdin_or_the_environment_once() {
    let dir = tempdir();
    let d = dir.path();
    ok(d, &["keygen", "--type", "ed25519", "-o", "k.pem"]);
    let pem = fs::read(d.join("k.pem")).unwrap();
    let pem_text = String::from_utf8(pem.clone()).unwrap();
    let from_file = ok(d, &["pubkey", "k.pem"]);
    let stdin = common::run_with(d, &["pubkey", "-"], Some(&pem), &[]);
    assert_eq!((stdin.code, &stdin.stdout), (0, &from_file), "{stdin:?}");
    let env = common::run_with(d, &["pubkey", "env:KEY"], None, &[("KEY", &pem_text)]);
    assert_eq!((env.code, &env.stdout), (0, &from_file), "{env:?}");
    let signed = common::run_with(
        d,
        &[
            "rfc9421",
            "sign",
            "--key",
            "-",
            "--url",
            "https://a.example/",
        ],
        Some(&pem),
        &[],
    );
    assert_eq!(signed.code, 0, "{signed:?}");
    // Two inputs cannot both come from stdin.
    ok(d, &["keygen", "-o", "rsa.pem"]);
    let rsa = fs::read(d.join("rsa.pem")).unwrap();
    let r = common::run_with(
        d,
        &[
            "qredo",
            "sign",
            "--key",
            "-",
            "--url",
            "https://a.example/",
            "--body",
            "-",
        ],
        Some(&rsa),
        &[],
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(common::one_error_line(&r).contains("stdin was already used"));
}
