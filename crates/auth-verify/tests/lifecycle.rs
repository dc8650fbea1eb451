//! The service end to end, through the real binary: bootstrap and trust on first use, partners
//! and API keys, regeneration (immediate and with grace) and revocation taking effect on the
//! very next request, restarts losing nothing, no plaintext secret in the database file, a
//! wrong master key refused, and bad input refused with nothing stored changing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod service;

use serde_json::{Value, json};
use service::{Admin, Service, forward_auth, partner_with_key, verify};
use std::time::Duration;

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_start_tells_how_to_bootstrap_and_the_first_signed_admin_is_enrolled_once() {
    let svc = Service::start();
    // Health before anything else.
    let health = reqwest::get(svc.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        svc.stderr().contains("no admin is enrolled yet"),
        "{}",
        svc.stderr()
    );

    // Unsigned admin calls are refused.
    let unsigned = reqwest::get(svc.url("/admin/partners")).await.unwrap();
    assert_eq!(unsigned.status(), 401);

    // Eight different keys race for the first enrolment: exactly one wins.
    let admins: Vec<Admin> = (0..8).map(|_| Admin::new()).collect();
    let url = svc.url("/admin/partners");
    let results =
        futures_util::future::join_all(admins.iter().map(|a| a.call("GET", &url, None))).await;
    let winners: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, (s, _))| *s == 200)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (i, (s, _)) in results.iter().enumerate() {
        if i != winners[0] {
            assert_eq!(*s, 401, "{results:?}");
        }
    }
    let winner = &admins[winners[0]];
    let (s, list) = winner
        .call("GET", &svc.url("/admin/authorized-users"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(list["keys"], json!([winner.key_text]));

    // A replayed admin request (same signature, same nonce) is refused.
    use auth_http::client::ClientAuth;
    let mut signed = winner
        .client
        .http()
        .get(svc.url("/admin/partners"))
        .build()
        .unwrap();
    winner.auth.authorize(&mut signed, b"").await.unwrap();
    let copy = signed.try_clone().unwrap();
    let http = reqwest::Client::new();
    assert_eq!(http.execute(signed).await.unwrap().status(), 200);
    assert_eq!(http.execute(copy).await.unwrap().status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_regenerate_revoke_and_restart_as_promised() {
    let mut svc = Service::start();
    let admin = Admin::new();
    let (key, reference) = partner_with_key(&svc, &admin, "acme", "live").await;

    // Accepted through /v1/verify and forward-auth, with the verified facts.
    let answer = verify(
        &svc,
        "GET",
        "https://api.example.com/orders",
        &[("authorization", &bearer(&key))],
        b"",
    )
    .await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["principal"]["partner"], "acme");
    let (s, h) = forward_auth(&svc, "/orders", &[("authorization", &bearer(&key))]).await;
    assert_eq!(s, 200);
    assert_eq!(h["x-auth-partner"], "acme");
    assert_eq!(h["x-auth-scheme"], "api_key");
    assert_eq!(h["x-auth-environment"], "live");

    // Immediate regeneration: the old key fails on the very next request.
    let (s, regen) = admin
        .call(
            "POST",
            &svc.url(&format!("/admin/credentials/{reference}/regenerate")),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 201, "{regen}");
    let new_key = regen["secret"].as_str().unwrap().to_owned();
    let new_ref = regen["credential"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        forward_auth(&svc, "/orders", &[("authorization", &bearer(&key))])
            .await
            .0,
        401
    );
    assert_eq!(
        forward_auth(&svc, "/orders", &[("authorization", &bearer(&new_key))])
            .await
            .0,
        200
    );

    // With a grace period the old key works until then, and not after.
    let (s, regen2) = admin
        .call(
            "POST",
            &svc.url(&format!("/admin/credentials/{new_ref}/regenerate")),
            Some(json!({"grace_secs": 2})),
        )
        .await;
    assert_eq!(s, 201, "{regen2}");
    let third = regen2["secret"].as_str().unwrap().to_owned();
    let third_ref = regen2["credential"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        forward_auth(&svc, "/orders", &[("authorization", &bearer(&new_key))])
            .await
            .0,
        200
    );
    assert_eq!(
        forward_auth(&svc, "/orders", &[("authorization", &bearer(&third))])
            .await
            .0,
        200
    );
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    assert_eq!(
        forward_auth(&svc, "/orders", &[("authorization", &bearer(&new_key))])
            .await
            .0,
        401
    );
    assert_eq!(
        forward_auth(&svc, "/orders", &[("authorization", &bearer(&third))])
            .await
            .0,
        200
    );

    // Revocation: the next request fails.
    let (s, _) = admin
        .call(
            "POST",
            &svc.url(&format!("/admin/credentials/{third_ref}/revoke")),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        forward_auth(&svc, "/orders", &[("authorization", &bearer(&third))])
            .await
            .0,
        401
    );

    // A fourth key, then a restart: everything is still there.
    let (fourth, _) = partner_with_key(&svc, &admin, "acme", "test").await;
    let dir = svc.keep_dir().unwrap();
    svc.stop();
    let svc = Service::start_in(&svc.data_dir, &[]).unwrap();
    assert_eq!(
        forward_auth(&svc, "/orders", &[("authorization", &bearer(&fourth))])
            .await
            .0,
        200
    );
    assert_eq!(
        forward_auth(&svc, "/orders", &[("authorization", &bearer(&third))])
            .await
            .0,
        401
    );
    let (s, creds) = admin
        .call("GET", &svc.url("/admin/partners/acme/credentials"), None)
        .await;
    assert_eq!(s, 200, "{creds}");
    assert_eq!(creds.as_array().unwrap().len(), 4, "{creds}");
    // The admin enrolled before the restart is still the admin; a new key is not.
    assert_eq!(
        Admin::new()
            .call("GET", &svc.url("/admin/partners"), None)
            .await
            .0,
        401
    );
    // The audit log survived and still verifies.
    let out = std::process::Command::new(service::binary())
        .args(["audit", "verify"])
        .arg(svc.data_dir.join("audit.jsonl"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_never_holds_a_plaintext_key_or_secret() {
    let mut svc = Service::start();
    let admin = Admin::new();
    let (key, _) = partner_with_key(&svc, &admin, "acme", "live").await;
    let (s, secret) = admin
        .call(
            "POST",
            &svc.url("/admin/partners/acme/secrets"),
            Some(json!({"name": "jwt", "environment": "live", "kind": "jwt_hs256", "client_id": "acme-client"})),
        )
        .await;
    assert_eq!(s, 201, "{secret}");
    let shared = secret["secret"].as_str().unwrap().to_owned();
    let (s, smile) = admin
        .call(
            "POST",
            &svc.url("/admin/partners/acme/secrets"),
            Some(json!({"name": "smile", "environment": "live", "kind": "smile"})),
        )
        .await;
    assert_eq!(s, 201, "{smile}");
    let smile_secret = smile["secret"].as_str().unwrap().to_owned();
    let (s, authority) = admin
        .call("POST", &svc.url("/admin/app-trust/authority"), None)
        .await;
    assert_eq!(s, 201, "{authority}");
    let dir = svc.keep_dir().unwrap();
    svc.stop();
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&svc.data_dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("registry")
        {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(bytes.len() > 4096);
    for needle in [&key, &shared, &smile_secret] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "found a plaintext secret in the database"
        );
    }
    // The API key's random part (between the environment and the checksum) is not there either.
    let random = key.split('_').nth(2).unwrap();
    assert!(!bytes.windows(random.len()).any(|w| w == random.as_bytes()));
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_master_key_refuses_to_start_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut svc = Service::start_in(&data, &[]).unwrap();
    let admin = Admin::new();
    partner_with_key(&svc, &admin, "acme", "live").await;
    svc.stop();
    let snapshot = |dir: &std::path::Path| -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = snapshot(&data);
    let other = tmp.path().join("other.key");
    std::fs::write(&other, base64_key(7)).unwrap();
    let err = Service::start_in(&data, &["--master-key-file", other.to_str().unwrap()])
        .err()
        .expect("a wrong master key must not start");
    assert!(err.contains("master key"), "{err}");
    assert!(
        err.contains("nothing was changed") || err.contains("not changed"),
        "{err}"
    );
    assert_eq!(before, snapshot(&data));
}

fn base64_key(byte: u8) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_4xx_and_changes_nothing() {
    let svc = Service::start();
    let admin = Admin::new();
    let (_, _) = partner_with_key(&svc, &admin, "acme", "live").await;
    let named = json!({"name": "billing", "environment": "live"});
    let (s, _) = admin
        .call(
            "POST",
            &svc.url("/admin/partners/acme/api-keys"),
            Some(named.clone()),
        )
        .await;
    assert_eq!(s, 201);
    let creds_url = svc.url("/admin/partners/acme/credentials");
    let before = admin.call("GET", &creds_url, None).await.1;
    let partners_before = admin.call("GET", &svc.url("/admin/partners"), None).await.1;

    let rsa1024 = openssl_key(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:1024",
    ]);
    let rsa1024_pub = openssl_pub(&rsa1024);
    let ed_private = openssl_key(&["genpkey", "-algorithm", "ed25519"]);
    let past = "2001-01-01T00:00:00Z";
    let cases: Vec<(&str, String, Value, u16, &str)> = vec![
        (
            "POST",
            "/admin/partners".into(),
            json!("not an object"),
            400,
            "invalid_json",
        ),
        (
            "POST",
            "/admin/partners".into(),
            json!({"id": 5, "name": "x"}),
            400,
            "invalid_json",
        ),
        (
            "POST",
            "/admin/partners".into(),
            json!({"id": "acme", "name": "acme Ltd"}),
            409,
            "conflict",
        ),
        (
            "POST",
            "/admin/partners".into(),
            json!({"id": "has space", "name": "n"}),
            400,
            "invalid_id",
        ),
        (
            "POST",
            "/admin/partners".into(),
            json!({"id": "x", "name": "n", "extra": 1}),
            400,
            "invalid_json",
        ),
        (
            "POST",
            "/admin/partners/nobody/api-keys".into(),
            json!({"name": "k", "environment": "live"}),
            404,
            "not_found",
        ),
        (
            "POST",
            "/admin/partners/acme/api-keys".into(),
            json!({"name": "k", "environment": "staging"}),
            400,
            "invalid_json",
        ),
        (
            "POST",
            "/admin/partners/acme/api-keys".into(),
            json!({"name": "k", "environment": "live", "expires_at": past}),
            400,
            "invalid_expiry",
        ),
        (
            "POST",
            "/admin/partners/acme/public-keys".into(),
            json!({"name": "p", "environment": "live", "purpose": "http_signature", "algorithm": "ed25519", "public_key": ed_private}),
            400,
            "invalid_public_key",
        ),
        (
            "POST",
            "/admin/partners/acme/public-keys".into(),
            json!({"name": "p", "environment": "live", "purpose": "http_signature", "algorithm": "rsa-v1_5-sha256", "public_key": rsa1024_pub}),
            400,
            "invalid_public_key",
        ),
        (
            "POST",
            "/admin/credentials/api_key:nothing/revoke".into(),
            Value::Null,
            404,
            "not_found",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let body = if body.is_null() { None } else { Some(body) };
        let (s, answer) = admin.call(method, &svc.url(&path), body.clone()).await;
        assert_eq!(s, status, "{method} {path} {body:?}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{method} {path}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| m.len() > 10)
        );
    }
    // Malformed bytes and an oversized body.
    let (s, answer) = admin
        .call_raw("POST", &svc.url("/admin/partners"), b"{\"id\": ".to_vec())
        .await;
    assert_eq!(s, 400, "{answer}");
    let (s, _) = admin
        .call_raw("POST", &svc.url("/admin/partners"), vec![b' '; 200 * 1024])
        .await;
    assert_eq!(s, 413);
    // The private key message tells the caller what to do.
    let (_, answer) = admin
        .call(
            "POST",
            &svc.url("/admin/partners/acme/public-keys"),
            Some(json!({"name": "p", "environment": "live", "purpose": "http_signature", "algorithm": "ed25519", "public_key": ed_private})),
        )
        .await;
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("private"),
        "{answer}"
    );
    // Nothing changed.
    assert_eq!(before, admin.call("GET", &creds_url, None).await.1);
    assert_eq!(
        partners_before,
        admin.call("GET", &svc.url("/admin/partners"), None).await.1
    );
}

fn openssl_key(args: &[&str]) -> String {
    let out = std::process::Command::new("openssl")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn openssl_pub(private_pem: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("openssl")
        .args(["pkey", "-pubout"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(private_pem.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}
