//! Signing and verifying through the binary, per scheme: the protocols' published vectors
//! reproduce, openssl verifies what authctl signs (over the bytes `--print-signature-base`
//! shows), round trips succeed, and any change or a stale time fails with exit 1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    b64, b64url, fails, have, json, ok, repo_root, run, run_with, tempdir, tool, write_private,
};
use std::fs;
use std::path::Path;

const URL: &str = "https://api.example/v1/orders?a=b";

fn rsa_pair(d: &Path) {
    ok(d, &["keygen", "-o", "k.pem", "--public-out", "k.pub"]);
}

#[test]
fn qredo_signature_base_is_the_protocols_example_and_openssl_verifies_the_signature() {
    let dir = tempdir();
    let d = dir.path();
    rsa_pair(d);
    let url = "https://api.qredo.network/api/v1/p/company/search";
    let base = run(
        d,
        &[
            "qredo",
            "sign",
            "--key",
            "k.pem",
            "--url",
            url,
            "--timestamp",
            "1605779886",
            "--print-signature-base",
        ],
    );
    assert_eq!(
        base.raw_stdout,
        b"1605779886https://api.qredo.network/api/v1/p/company/search"
    );
    fs::write(d.join("body.json"), br#"{"name":"acme"}"#).unwrap();
    let v = json(
        d,
        &[
            "qredo",
            "sign",
            "--key",
            "k.pem",
            "--url",
            url,
            "--timestamp",
            "1605779886",
            "--body",
            "@body.json",
        ],
    );
    let sign = v["headers"]["x-sign"].as_str().unwrap().to_owned();
    assert_eq!(sign.len(), 342, "RSA-2048 gives 342 Base64url characters");
    assert_eq!(v["headers"]["x-timestamp"], "1605779886");
    if have("openssl") {
        let signed = run(
            d,
            &[
                "qredo",
                "sign",
                "--key",
                "k.pem",
                "--url",
                url,
                "--timestamp",
                "1605779886",
                "--body",
                "@body.json",
                "--print-signature-base",
            ],
        );
        assert_eq!(
            signed.raw_stdout,
            [&b"1605779886"[..], url.as_bytes(), br#"{"name":"acme"}"#].concat()
        );
        fs::write(d.join("base.bin"), &signed.raw_stdout).unwrap();
        fs::write(d.join("sig.bin"), b64url(&sign)).unwrap();
        tool(
            d,
            "openssl",
            &[
                "dgst",
                "-sha256",
                "-verify",
                "k.pub",
                "-signature",
                "sig.bin",
                "base.bin",
            ],
        );
    }
    let verify = |body: &str, now: &str| {
        run(
            d,
            &[
                "qredo",
                "verify",
                "--public-key",
                "k.pub",
                "--url",
                url,
                "--timestamp",
                "1605779886",
                "--sign",
                &sign,
                "--body",
                body,
                "--now",
                now,
            ],
        )
    };
    assert_eq!(verify("@body.json", "1605779890").code, 0);
    assert_eq!(verify(r#"{"name":"acmf"}"#, "1605779890").code, 1);
    let stale = verify("@body.json", "1605779986");
    assert_eq!(stale.code, 1);
    assert!(common::one_error_line(&stale).contains("reason: timestamp"));
}

#[test]
fn qredo_signatures_by_openssl_verify_in_authctl() {
    let dir = tempdir();
    let d = dir.path();
    if !have("openssl") {
        return;
    }
    tool(
        d,
        "openssl",
        &["genrsa", "-traditional", "-out", "t.pem", "2048"],
    );
    write_private(d, "t.pem", &fs::read(d.join("t.pem")).unwrap());
    fs::write(d.join("base.bin"), format!("1700000000{URL}")).unwrap();
    let sig = tool(
        d,
        "openssl",
        &["dgst", "-sha256", "-sign", "t.pem", "base.bin"],
    );
    use base64::Engine as _;
    let sign = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig);
    ok(
        d,
        &[
            "qredo",
            "verify",
            "--public-key",
            "t.pem",
            "--url",
            URL,
            "--timestamp",
            "1700000000",
            "--sign",
            &sign,
            "--now",
            "1700000001",
        ],
    );
}

#[test]
fn smile_signature_reproduces_the_protocols_vector() {
    let dir = tempdir();
    let d = dir.path();
    fs::write(d.join("smile.key"), "test-api-key\n").unwrap();
    let ts = "2022-04-03T21:31:47.296Z";
    let v = json(
        d,
        &[
            "smile",
            "sign",
            "--partner-id",
            "085",
            "--api-key",
            "@smile.key",
            "--timestamp",
            ts,
        ],
    );
    assert_eq!(
        v["signature"],
        "FITNqlcg6TBm3xfDXh1R/WQs3AixkcRe58N9Qu4VA6I="
    );
    let base = run(
        d,
        &[
            "smile",
            "sign",
            "--partner-id",
            "085",
            "--api-key",
            "@smile.key",
            "--timestamp",
            ts,
            "--print-signature-base",
        ],
    );
    assert_eq!(base.raw_stdout, b"2022-04-03T21:31:47.296Z085sid_request");
    let sig = "FITNqlcg6TBm3xfDXh1R/WQs3AixkcRe58N9Qu4VA6I=";
    let args = [
        "smile",
        "verify",
        "--partner-id",
        "085",
        "--timestamp",
        ts,
        "--signature",
        sig,
        "--now",
        ts,
    ];
    let r = run_with(d, &args, None, &[("SMILE_API_KEY", "test-api-key")]);
    assert_eq!(r.code, 0, "{r:?}");
    let wrong = run_with(d, &args, None, &[("SMILE_API_KEY", "other-key")]);
    assert_eq!(wrong.code, 1);
    let late = fails(
        d,
        &[
            "smile",
            "verify",
            "--partner-id",
            "085",
            "--api-key",
            "@smile.key",
            "--timestamp",
            ts,
            "--signature",
            sig,
            "--now",
            "2022-04-03T22:31:47Z",
        ],
        1,
    );
    assert!(late.contains("stale") || late.contains("old"), "{late}");
}

#[test]
fn legacy_sec_key_round_trips_both_ways_and_its_hash_is_the_protocols_vector() {
    let dir = tempdir();
    let d = dir.path();
    rsa_pair(d);
    let smile_form = ok(d, &["pubkey", "k.pem", "--format", "smile"]);
    fs::write(d.join("provider_api_key.txt"), &smile_form).unwrap();
    let base = run(
        d,
        &[
            "smile",
            "sec-key",
            "generate",
            "--provider-key",
            "provider_api_key.txt",
            "--partner-id",
            "085",
            "--timestamp",
            "1649021507",
            "--print-signature-base",
        ],
    );
    assert_eq!(
        base.raw_stdout,
        b"3dd7a3cd3977d6a12f3e4f9b79cb111756603f860d5ff894a4b93434e20d8833"
    );
    let v = json(
        d,
        &[
            "smile",
            "sec-key",
            "generate",
            "--provider-key",
            "provider_api_key.txt",
            "--partner-id",
            "085",
            "--timestamp",
            "1649021507",
        ],
    );
    let sec_key = v["sec_key"].as_str().unwrap().to_owned();
    assert!(sec_key.ends_with("|3dd7a3cd3977d6a12f3e4f9b79cb111756603f860d5ff894a4b93434e20d8833"));
    fs::write(d.join("sec_key.txt"), &sec_key).unwrap();
    let verify = |partner: &str| {
        run(
            d,
            &[
                "smile",
                "sec-key",
                "verify",
                "--key",
                "k.pem",
                "--partner-id",
                partner,
                "--timestamp",
                "1649021507",
                "--sec-key",
                "@sec_key.txt",
                "--now",
                "1649021510",
            ],
        )
    };
    assert_eq!(verify("085").code, 0);
    assert_eq!(verify("086").code, 1);
    if have("openssl") {
        // The ciphertext is PKCS#1 v1.5 encryption of the hash: openssl decrypts it.
        let ct = b64(sec_key.split('|').next().unwrap());
        fs::write(d.join("ct.bin"), ct).unwrap();
        let pt = tool(
            d,
            "openssl",
            &[
                "pkeyutl",
                "-decrypt",
                "-inkey",
                "k.pem",
                "-in",
                "ct.bin",
                "-pkeyopt",
                "rsa_padding_mode:pkcs1",
            ],
        );
        assert_eq!(
            pt,
            b"3dd7a3cd3977d6a12f3e4f9b79cb111756603f860d5ff894a4b93434e20d8833"
        );
    }
    let resp = json(
        d,
        &[
            "smile",
            "sec-key",
            "respond",
            "--key",
            "k.pem",
            "--partner-id",
            "085",
            "--timestamp",
            "1649021507",
        ],
    );
    let signature = resp["signature"].as_str().unwrap().to_owned();
    ok(
        d,
        &[
            "smile",
            "sec-key",
            "confirm",
            "--provider-key",
            "provider_api_key.txt",
            "--partner-id",
            "085",
            "--timestamp",
            "1649021507",
            "--signature",
            &signature,
        ],
    );
    fails(
        d,
        &[
            "smile",
            "sec-key",
            "confirm",
            "--provider-key",
            "provider_api_key.txt",
            "--partner-id",
            "085",
            "--timestamp",
            "1649021508",
            "--signature",
            &signature,
        ],
        1,
    );
}

#[test]
fn altalix_urls_verify_and_openssl_checks_the_signature_over_the_payload_json() {
    let dir = tempdir();
    let d = dir.path();
    rsa_pair(d);
    let sign_args = [
        "altalix",
        "sign",
        "--key",
        "k.pem",
        "--key-id",
        "5f0c9a54-6f3e-4ac9-9d7c-3b2f1d0e8a11",
        "--partner-id",
        "acme",
        "--sell-currency",
        "EUR",
        "--buy-currency",
        "ETH",
        "--address",
        "0xabc",
        "--sell-amount",
        "25",
        "--created-at",
        "2026-11-29T12:00:00Z",
        "--base-url",
        "https://altalix.example/partners/transaction-create",
    ];
    let v = json(d, &sign_args);
    let url = v["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("https://altalix.example/partners/transaction-create?payload="));
    let mut with_base = sign_args.to_vec();
    with_base.push("--print-signature-base");
    let base = run(d, &with_base).raw_stdout;
    assert_eq!(base, v["payload_json"].as_str().unwrap().as_bytes());
    assert_eq!(b64(v["payload"].as_str().unwrap()), base);
    let payload: serde_json::Value = serde_json::from_slice(&base).unwrap();
    assert_eq!(
        (payload["key_id"].as_str(), payload["sell_amount"].as_str()),
        (Some("5f0c9a54-6f3e-4ac9-9d7c-3b2f1d0e8a11"), Some("25"))
    );
    if have("openssl") {
        fs::write(d.join("base.bin"), &base).unwrap();
        fs::write(d.join("sig.bin"), b64(v["signature"].as_str().unwrap())).unwrap();
        tool(
            d,
            "openssl",
            &[
                "dgst",
                "-sha256",
                "-verify",
                "k.pub",
                "-signature",
                "sig.bin",
                "base.bin",
            ],
        );
    }
    fs::write(d.join("url.txt"), &url).unwrap();
    ok(
        d,
        &[
            "altalix",
            "verify",
            "--public-key",
            "k.pub",
            "--url",
            "@url.txt",
            "--now",
            "2026-11-29T12:01:00Z",
        ],
    );
    fails(
        d,
        &[
            "altalix",
            "verify",
            "--public-key",
            "k.pub",
            "--url",
            "@url.txt",
            "--now",
            "2026-11-29T13:00:00Z",
        ],
        1,
    );
    ok(d, &["keygen", "-o", "other.pem"]);
    fails(
        d,
        &[
            "altalix",
            "verify",
            "--public-key",
            "other.pem",
            "--url",
            "@url.txt",
            "--now",
            "2026-11-29T12:01:00Z",
        ],
        1,
    );
}

fn vectors() -> serde_json::Value {
    let text =
        fs::read_to_string(repo_root().join("testvectors/rfc9421/appendix-b2.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn case(id: &str) -> serde_json::Value {
    vectors()["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
        .clone()
}

/// The B.2 request's headers as -H arguments.
fn b2_request_args() -> Vec<String> {
    let v = vectors();
    let req = &v["request"];
    let mut args = vec![
        "--method".to_owned(),
        "POST".to_owned(),
        "--url".to_owned(),
        req["target_uri"].as_str().unwrap().to_owned(),
    ];
    for h in req["headers"].as_array().unwrap() {
        args.push("-H".into());
        args.push(format!(
            "{}: {}",
            h[0].as_str().unwrap(),
            h[1].as_str().unwrap()
        ));
    }
    args.push("--body".into());
    args.push(req["body"].as_str().unwrap().into());
    args
}

#[test]
fn rfc9421_appendix_b_2_5_and_b_2_6_reproduce_byte_for_byte() {
    let dir = tempdir();
    let d = dir.path();
    let keys = repo_root().join("testvectors/rfc9421/keys");
    write_private(
        d,
        "ed.pem",
        &fs::read(keys.join("test-key-ed25519.pem")).unwrap(),
    );
    write_private(
        d,
        "secret.bin",
        &b64(&fs::read_to_string(keys.join("test-shared-secret.txt")).unwrap()),
    );
    for (id, key_flag, key, components, keyid) in [
        (
            "B.2.6",
            "--key",
            "ed.pem",
            r#""date" "@method" "@path" "@authority" "content-type" "content-length""#,
            "test-key-ed25519",
        ),
        (
            "B.2.5",
            "--secret",
            "@secret.bin",
            r#""date" "@authority" "content-type""#,
            "test-shared-secret",
        ),
    ] {
        let c = case(id);
        let label = c["label"].as_str().unwrap();
        let mut args: Vec<String> = [
            "rfc9421",
            "sign",
            key_flag,
            key,
            "--keyid",
            keyid,
            "--label",
            label,
            "--components",
            components,
            "--created",
            "1618884473",
            "--no-nonce",
            "--no-content-digest",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(b2_request_args());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let v = json(d, &refs);
        assert_eq!(
            v["headers"]["Signature-Input"], c["signature_input"],
            "{id}"
        );
        assert_eq!(v["headers"]["Signature"], c["signature"], "{id}");
        let mut with_base = refs.clone();
        with_base.push("--print-signature-base");
        assert_eq!(
            run(d, &with_base).stdout,
            c["signature_base"].as_str().unwrap(),
            "{id}"
        );
    }
}

#[test]
fn rfc9421_round_trips_for_every_key_type_and_rejects_changes() {
    let dir = tempdir();
    let d = dir.path();
    ok(
        d,
        &[
            "keygen",
            "--type",
            "rsa",
            "-o",
            "rsa.pem",
            "--public-out",
            "rsa.pub",
        ],
    );
    ok(
        d,
        &[
            "keygen",
            "--type",
            "ed25519",
            "-o",
            "ed.pem",
            "--public-out",
            "ed.pub",
        ],
    );
    ok(
        d,
        &[
            "keygen",
            "--type",
            "p256",
            "-o",
            "ec.pem",
            "--public-out",
            "ec.pub",
        ],
    );
    write_private(d, "hmac.bin", &[7u8; 32]);
    for (sign_key, verify_key, alg) in [
        (["--key", "rsa.pem"], ["--key", "rsa.pub"], "rsa-pss-sha512"),
        (
            ["--key", "rsa.pem"],
            ["--key", "rsa.pub"],
            "rsa-v1_5-sha256",
        ),
        (["--key", "ed.pem"], ["--key", "ed.pub"], "ed25519"),
        (
            ["--key", "ec.pem"],
            ["--key", "ec.pub"],
            "ecdsa-p256-sha256",
        ),
        (
            ["--secret", "@hmac.bin"],
            ["--secret", "@hmac.bin"],
            "hmac-sha256",
        ),
    ] {
        let mut args = vec!["rfc9421", "sign"];
        args.extend(sign_key);
        args.extend([
            "--alg",
            alg,
            "--keyid",
            "k1",
            "--method",
            "POST",
            "--url",
            URL,
            "--body",
            r#"{"x":1}"#,
            "--expires",
            "60s",
            "--tag",
            "t",
        ]);
        let headers = ok(d, &args);
        assert!(
            headers.contains("content-digest")
                && headers.contains(";expires=")
                && headers.contains(";nonce=")
                && headers.contains(";tag=\"t\""),
            "{headers}"
        );
        fs::write(d.join("h.txt"), &headers).unwrap();
        let verify = |body: &str, url: &str| {
            let mut v = vec!["rfc9421", "verify"];
            v.extend(verify_key);
            v.extend([
                "--alg",
                alg,
                "--method",
                "POST",
                "--url",
                url,
                "--body",
                body,
                "--headers",
                "@h.txt",
            ]);
            run(d, &v)
        };
        assert_eq!(
            verify(r#"{"x":1}"#, URL).code,
            0,
            "{alg}: {:?}",
            verify(r#"{"x":1}"#, URL)
        );
        assert_eq!(verify(r#"{"x":2}"#, URL).code, 1, "{alg}");
        assert_eq!(
            verify(r#"{"x":1}"#, "https://api.example/v1/orders?a=c").code,
            1,
            "{alg}"
        );
    }
}

#[test]
fn rfc9421_verify_shows_the_base_it_checked() {
    let dir = tempdir();
    let d = dir.path();
    ok(d, &["keygen", "--type", "ed25519", "-o", "ed.pem"]);
    let sign = [
        "rfc9421",
        "sign",
        "--key",
        "ed.pem",
        "--url",
        URL,
        "--created",
        "1700000000",
        "--nonce",
        "n1",
    ];
    let headers = ok(d, &sign);
    let mut with_base = sign.to_vec();
    with_base.push("--print-signature-base");
    let signed_base = run(d, &with_base).stdout;
    fs::write(d.join("h.txt"), &headers).unwrap();
    let checked = run(
        d,
        &[
            "rfc9421",
            "verify",
            "--key",
            "ed.pem",
            "--url",
            URL,
            "--headers",
            "@h.txt",
            "--print-signature-base",
        ],
    )
    .stdout;
    assert_eq!(signed_base, checked);
    assert_eq!(
        checked,
        format!(
            "\"@method\": GET\n\"@target-uri\": {URL}\n\"@signature-params\": (\"@method\" \"@target-uri\");created=1700000000;nonce=\"n1\""
        )
    );
    // Too old now, fine at its time.
    fails(
        d,
        &[
            "rfc9421",
            "verify",
            "--key",
            "ed.pem",
            "--url",
            URL,
            "--headers",
            "@h.txt",
        ],
        1,
    );
    ok(
        d,
        &[
            "rfc9421",
            "verify",
            "--key",
            "ed.pem",
            "--url",
            URL,
            "--headers",
            "@h.txt",
            "--now",
            "1700000010",
        ],
    );
}

#[test]
fn jwt_mint_verify_inspect_and_openssl_checks_rs256() {
    let dir = tempdir();
    let d = dir.path();
    rsa_pair(d);
    write_private(d, "s.bin", &[9u8; 32]);
    let t = json(
        d,
        &[
            "jwt",
            "mint",
            "--secret",
            "@s.bin",
            "--client-id",
            "acme",
            "--claim",
            "scope=\"user:rate\"",
            "--claim",
            "n=3",
            "--now",
            "1700000000",
        ],
    );
    let token = t["token"].as_str().unwrap().to_owned();
    assert_eq!(t["exp"], 1_700_000_900u64, "seed profile: 15 minutes");
    fs::write(d.join("t.txt"), &token).unwrap();
    let v = json(
        d,
        &[
            "jwt",
            "verify",
            "@t.txt",
            "--secret",
            "@s.bin",
            "--client-id",
            "acme",
            "--now",
            "1700000100",
        ],
    );
    assert_eq!(
        (v["claims"]["clientId"].as_str(), v["claims"]["n"].as_u64()),
        (Some("acme"), Some(3))
    );
    fails(
        d,
        &[
            "jwt",
            "verify",
            "@t.txt",
            "--secret",
            "@s.bin",
            "--now",
            "1700001000",
        ],
        1,
    );
    fails(
        d,
        &[
            "jwt",
            "verify",
            "@t.txt",
            "--secret",
            "@s.bin",
            "--client-id",
            "other",
            "--now",
            "1700000100",
        ],
        1,
    );
    write_private(d, "s2.bin", &[8u8; 32]);
    fails(
        d,
        &[
            "jwt",
            "verify",
            "@t.txt",
            "--secret",
            "@s2.bin",
            "--now",
            "1700000100",
        ],
        1,
    );
    // The algorithm is the key's: an HS256 token does not pass as RS256.
    fails(
        d,
        &[
            "jwt",
            "verify",
            "@t.txt",
            "--key",
            "k.pub",
            "--now",
            "1700000100",
        ],
        1,
    );

    let inspect = ok(d, &["jwt", "inspect", "@t.txt"]);
    assert!(inspect.lines().count() >= 4);
    assert!(
        inspect.lines().all(|l| l.starts_with("UNVERIFIED")),
        "{inspect}"
    );
    assert!(inspect.contains("clientId"));
    let j = json(d, &["jwt", "inspect", "@t.txt"]);
    assert_eq!(j["verified"], false);

    let rs = run(
        d,
        &[
            "jwt",
            "mint",
            "--key",
            "k.pem",
            "--kid",
            "k1",
            "--client-id",
            "acme",
        ],
    );
    assert_eq!(rs.code, 0);
    let rs_token = rs.stdout.trim().to_owned();
    fs::write(d.join("rs.txt"), &rs_token).unwrap();
    ok(
        d,
        &[
            "jwt", "verify", "@rs.txt", "--key", "k.pub", "--alg", "RS256", "--kid", "k1",
        ],
    );
    if have("openssl") {
        let (input, sig) = rs_token.rsplit_once('.').unwrap();
        fs::write(d.join("input.bin"), input).unwrap();
        fs::write(d.join("sig.bin"), b64url(sig)).unwrap();
        tool(
            d,
            "openssl",
            &[
                "dgst",
                "-sha256",
                "-verify",
                "k.pub",
                "-signature",
                "sig.bin",
                "input.bin",
            ],
        );
        let shown = run(
            d,
            &[
                "jwt",
                "verify",
                "@rs.txt",
                "--key",
                "k.pub",
                "--print-signature-base",
            ],
        );
        assert_eq!(shown.raw_stdout, input.as_bytes());
    }
}

#[test]
fn api_keys_generate_check_and_digest_as_auth_core_defines_them() {
    let dir = tempdir();
    let d = dir.path();
    for env in ["live", "test"] {
        let v = json(d, &["apikey", "generate", "--env", env]);
        let key = v["api_key"].as_str().unwrap().to_owned();
        assert!(key.starts_with(&format!("pa_{env}_")), "{key}");
        assert_eq!(v["environment"], env);
        fs::write(d.join("key.txt"), &key).unwrap();
        let c = json(d, &["apikey", "check", "@key.txt"]);
        assert_eq!(
            (c["form"].as_str(), c["environment"].as_str()),
            (Some("issued"), Some(env))
        );
        // The storage digest is SHA-256 of the key text (checked with sha256sum, independently).
        let digest = ok(d, &["apikey", "digest", "@key.txt"]);
        let theirs = String::from_utf8(tool(d, "sha256sum", &["key.txt"])).unwrap();
        assert_eq!(digest.trim(), theirs.split_whitespace().next().unwrap());
        assert_eq!(digest.trim(), v["digest"].as_str().unwrap());
        // One character changed, or one dropped: the checksum catches it before any lookup.
        let mut typo = key.clone().into_bytes();
        let at = 12;
        typo[at] = if typo[at] == b'a' { b'b' } else { b'a' };
        fs::write(d.join("typo.txt"), &typo).unwrap();
        fails(d, &["apikey", "check", "@typo.txt"], 1);
        fs::write(d.join("short.txt"), &key[..key.len() - 1]).unwrap();
        fails(d, &["apikey", "check", "@short.txt"], 1);
    }
    let r = run_with(
        d,
        &["apikey", "check", "-"],
        Some(b"sk_live_SomeForeignKey1234567890\n"),
        &[],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("foreign"));
    let r = run_with(
        d,
        &["apikey", "digest"],
        None,
        &[("AUTHCTL_API_KEY", "sk_live_SomeForeignKey1234567890")],
    );
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn less_common_flags_do_what_they_say() {
    let dir = tempdir();
    let d = dir.path();
    // keygen -o - writes the key itself to stdout and nothing else.
    let r = run(d, &["keygen", "--type", "ed25519", "-o", "-"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.starts_with("-----BEGIN PRIVATE KEY-----")
            && r.stdout.trim_end().ends_with("-----END PRIVATE KEY-----")
    );
    write_private(d, "ed.pem", r.stdout.as_bytes());
    // Qredo with x-nonce instead of x-timestamp.
    rsa_pair(d);
    let v = json(
        d,
        &[
            "qredo", "sign", "--key", "k.pem", "--url", URL, "--nonce", "42",
        ],
    );
    assert_eq!(v["headers"]["x-nonce"], "42");
    let sign = v["headers"]["x-sign"].as_str().unwrap();
    ok(
        d,
        &[
            "qredo",
            "verify",
            "--public-key",
            "k.pub",
            "--url",
            URL,
            "--nonce",
            "42",
            "--sign",
            sign,
        ],
    );
    fails(
        d,
        &[
            "qredo",
            "verify",
            "--public-key",
            "k.pub",
            "--url",
            URL,
            "--nonce",
            "43",
            "--sign",
            sign,
        ],
        1,
    );
    // RFC 9421: a required component that the signature does not cover.
    let headers = ok(
        d,
        &[
            "rfc9421",
            "sign",
            "--key",
            "ed.pem",
            "--url",
            URL,
            "-H",
            "X-Request-Id: 7",
        ],
    );
    fs::write(d.join("h.txt"), format!("{headers}\nX-Request-Id: 7\n")).unwrap();
    ok(
        d,
        &[
            "rfc9421",
            "verify",
            "--key",
            "ed.pem",
            "--url",
            URL,
            "--headers",
            "@h.txt",
        ],
    );
    let line = fails(
        d,
        &[
            "rfc9421",
            "verify",
            "--key",
            "ed.pem",
            "--url",
            URL,
            "--headers",
            "@h.txt",
            "--require",
            "\"x-request-id\"",
        ],
        1,
    );
    assert!(line.contains("x-request-id"), "{line}");
    let covered = ok(
        d,
        &[
            "rfc9421",
            "sign",
            "--key",
            "ed.pem",
            "--url",
            URL,
            "-H",
            "X-Request-Id: 7",
            "--components",
            "\"@method\" \"@target-uri\" \"x-request-id\"",
        ],
    );
    fs::write(d.join("h2.txt"), format!("{covered}\nX-Request-Id: 7\n")).unwrap();
    ok(
        d,
        &[
            "rfc9421",
            "verify",
            "--key",
            "ed.pem",
            "--url",
            URL,
            "--headers",
            "@h2.txt",
            "--require",
            "\"x-request-id\"",
        ],
    );
    // JWT audiences.
    write_private(d, "s.bin", &[5u8; 32]);
    let token = ok(
        d,
        &[
            "jwt",
            "mint",
            "--secret",
            "@s.bin",
            "--client-id",
            "c",
            "--aud",
            "rates",
        ],
    );
    fs::write(d.join("t.txt"), token.trim()).unwrap();
    ok(
        d,
        &[
            "jwt", "verify", "@t.txt", "--secret", "@s.bin", "--aud", "rates",
        ],
    );
    fails(
        d,
        &[
            "jwt", "verify", "@t.txt", "--secret", "@s.bin", "--aud", "orders",
        ],
        1,
    );
    fails(d, &["jwt", "verify", "@t.txt", "--secret", "@s.bin"], 1);
}
