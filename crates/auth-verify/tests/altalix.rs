//! Altalix signed payload URLs end to end through the real binary: an RSA public key uploaded
//! with purpose `altalix`, a payload URL signed with auth-core's signer, accepted through
//! `/v1/verify` and forward-auth once; an altered payload, a stale one, one naming another
//! partner, a replay and a payload signed with another key are refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod service;

use auth_core::keys::{PrivateKey, SignatureAlgorithm, SigningKey, generate_rsa};
use auth_core::rand::SystemRandom;
use auth_core::scheme::altalix::{self, Amount, Payload};
use auth_core::time::UnixTime;
use serde_json::json;
use service::{Admin, Service, forward_auth, partner_with_key, verify};
use std::time::{Duration, SystemTime};

const BASE: &str = "https://api.example.com/partners/transaction-create";

fn now() -> UnixTime {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    UnixTime::from_secs(d.as_secs())
}

fn payload(partner: &str, key_id: &str, created_at: UnixTime, amount: &str) -> Payload {
    Payload {
        sell_currency: "EUR".into(),
        buy_currency: "ETH".into(),
        address: "0x52908400098527886E0F7030069857D2E4169EE7".into(),
        partner_id: partner.into(),
        key_id: key_id.into(),
        created_at: created_at.to_rfc3339(),
        amount: Amount::Sell(amount.into()),
    }
}

fn signer(private: &PrivateKey) -> SigningKey {
    SigningKey::new(
        private,
        SignatureAlgorithm::RsaPkcs1Sha256,
        &SystemRandom::new(),
    )
    .unwrap()
}

fn signed_url(p: &Payload, key: &SigningKey) -> String {
    altalix::sign(p, key, &SystemRandom::new())
        .unwrap()
        .url(BASE)
}

async fn upload_altalix_key(
    svc: &Service,
    admin: &Admin,
    partner: &str,
    private: &PrivateKey,
) -> String {
    let (s, issued) = admin
        .call(
            "POST",
            &svc.url(&format!("/admin/partners/{partner}/public-keys")),
            Some(
                json!({"name": format!("altalix-{}", service::free_port()), "environment": "live",
                "purpose": "altalix", "algorithm": "RS256",
                "public_key": private.public_key().to_spki_pem(), "scopes": ["orders:write"]}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{issued}");
    issued["credential"]["key_id"].as_str().unwrap().to_owned()
}

/// The path and query of `url`, as nginx passes it in `X-Original-URI`.
fn path_and_query(url: &str) -> &str {
    &url["https://api.example.com".len()..]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_payload_urls_are_accepted_once_and_forgeries_refused() {
    let svc = Service::start();
    let admin = Admin::new();
    partner_with_key(&svc, &admin, "acme", "live").await;
    partner_with_key(&svc, &admin, "globex", "live").await;
    let rng = SystemRandom::new();
    let rsa = generate_rsa(2048, &rng).unwrap();
    let key_id = upload_altalix_key(&svc, &admin, "acme", &rsa).await;
    let key = signer(&rsa);

    // Accepted through /v1/verify, as acme's altalix key.
    let url = signed_url(&payload("acme", &key_id, now(), "100.00"), &key);
    let answer = verify(&svc, "GET", &url, &[], b"").await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["principal"]["scheme"], "altalix", "{answer}");
    assert_eq!(answer["principal"]["partner"], "acme");
    assert_eq!(answer["principal"]["key_id"], key_id.as_str(), "{answer}");
    assert_eq!(
        answer["principal"]["scopes"],
        json!(["orders:write"]),
        "{answer}"
    );
    // Each payload is single use.
    let replay = verify(&svc, "GET", &url, &[], b"").await;
    assert_eq!(replay["ok"], false, "{replay}");

    // Accepted through forward-auth (a fresh payload), refused when replayed there.
    let url = signed_url(&payload("acme", &key_id, now(), "101.00"), &key);
    let (s, h) = forward_auth(&svc, path_and_query(&url), &[]).await;
    assert_eq!(s, 200);
    assert_eq!(h["x-auth-scheme"], "altalix");
    assert_eq!(h["x-auth-partner"], "acme");
    assert_eq!(h["x-auth-key-id"], key_id.as_str());
    let (s, h) = forward_auth(&svc, path_and_query(&url), &[]).await;
    assert_eq!(s, 401);
    assert!(h.get("x-auth-partner").is_none());

    // The payload altered after signing (the amount), keeping the signature: refused.
    let honest = altalix::sign(&payload("acme", &key_id, now(), "5.00"), &key, &rng).unwrap();
    let altered = altalix::sign(&payload("acme", &key_id, now(), "5000.00"), &key, &rng).unwrap();
    let forged = altalix::SignedPayload {
        json: altered.json.clone(),
        payload_b64: altered.payload_b64.clone(),
        signature_b64: honest.signature_b64.clone(),
    };
    let answer = verify(&svc, "GET", &forged.url(BASE), &[], b"").await;
    assert_eq!(answer["ok"], false, "{answer}");
    let (s, _) = forward_auth(&svc, path_and_query(&forged.url(BASE)), &[]).await;
    assert_eq!(s, 401);
    // The honest one was not spent by the forgery.
    assert_eq!(
        verify(&svc, "GET", &honest.url(BASE), &[], b"").await["ok"],
        true
    );

    // Created ten minutes ago (the window is 5 minutes): refused; from the future too.
    let stale = signed_url(
        &payload(
            "acme",
            &key_id,
            now().saturating_sub(Duration::from_secs(600)),
            "1.00",
        ),
        &key,
    );
    let answer = verify(&svc, "GET", &stale, &[], b"").await;
    assert_eq!(answer["ok"], false, "{answer}");
    let (s, _) = forward_auth(&svc, path_and_query(&stale), &[]).await;
    assert_eq!(s, 401);
    let future = signed_url(
        &payload(
            "acme",
            &key_id,
            now().saturating_add(Duration::from_secs(600)),
            "1.00",
        ),
        &key,
    );
    assert_eq!(verify(&svc, "GET", &future, &[], b"").await["ok"], false);

    // A payload naming another partner under acme's key: refused.
    let other = signed_url(&payload("globex", &key_id, now(), "1.00"), &key);
    assert_eq!(verify(&svc, "GET", &other, &[], b"").await["ok"], false);
    // Signed with another RSA key under acme's key ID: refused.
    let stranger = signer(&generate_rsa(2048, &rng).unwrap());
    let wrong = signed_url(&payload("acme", &key_id, now(), "1.00"), &stranger);
    assert_eq!(verify(&svc, "GET", &wrong, &[], b"").await["ok"], false);

    // Revoked: the very next payload is refused.
    let reference = format!("altalix_key:{key_id}");
    let (s, body) = admin
        .call(
            "POST",
            &svc.url(&format!("/admin/credentials/{reference}/revoke")),
            None,
        )
        .await;
    assert!(s == 200 || s == 204, "{s} {body}");
    let after = signed_url(&payload("acme", &key_id, now(), "2.00"), &key);
    assert_eq!(verify(&svc, "GET", &after, &[], b"").await["ok"], false);
}

/// Flips one character inside the first string value of `field` on `line`, keeping the JSON
/// valid; answers the edited line.
fn flip_in_field(line: &str, field: &str) -> String {
    let marker = format!("\"{field}\":\"");
    let start = line.find(&marker).unwrap() + marker.len();
    let mut bytes = line.as_bytes().to_vec();
    let c = bytes[start];
    bytes[start] = if c == b'x' { b'y' } else { b'x' };
    String::from_utf8(bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_of_decisions_verifies_offline_and_names_an_edited_entry() {
    let mut svc = Service::start();
    let dir = svc.keep_dir().unwrap();
    let admin = Admin::new();
    let (api_key, reference) = partner_with_key(&svc, &admin, "acme", "live").await;
    let rsa = generate_rsa(2048, &SystemRandom::new()).unwrap();
    let key_id = upload_altalix_key(&svc, &admin, "acme", &rsa).await;
    let url = signed_url(&payload("acme", &key_id, now(), "9.00"), &signer(&rsa));
    assert_eq!(verify(&svc, "GET", &url, &[], b"").await["ok"], true);
    assert_eq!(verify(&svc, "GET", &url, &[], b"").await["ok"], false);
    let bearer = format!("Bearer {api_key}");
    let (s, _) = forward_auth(&svc, "/orders", &[("authorization", &bearer)]).await;
    assert_eq!(s, 200);
    let (s, _) = admin
        .call(
            "POST",
            &svc.url(&format!("/admin/credentials/{reference}/revoke")),
            None,
        )
        .await;
    assert!(s == 200 || s == 204);
    let (s, _) = forward_auth(&svc, "/orders", &[("authorization", &bearer)]).await;
    assert_eq!(s, 401);
    svc.stop();

    let log = svc.data_dir.join("audit.jsonl");
    let audit_verify = || {
        std::process::Command::new(service::binary())
            .args(["audit", "verify"])
            .arg(&log)
            .output()
            .unwrap()
    };
    let out = audit_verify();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The log holds the admin changes and the decisions above, none with a secret in it.
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 8, "{text}");
    assert!(!text.contains(&api_key));
    for wanted in ["altalix", "api_key", "revoke"] {
        assert!(text.contains(wanted), "no {wanted} entry in {text}");
    }
    // An accepted decision in the middle of the log gets one character changed in its path.
    let (index, line) = lines
        .iter()
        .enumerate()
        .find(|(_, l)| l.contains("\"path\":\"") && l.contains("/orders"))
        .expect("a decision about /orders");
    assert!(index + 1 < lines.len(), "the edited entry is not the last");
    let seq = serde_json::from_str::<serde_json::Value>(line).unwrap()["seq"]
        .as_u64()
        .unwrap();
    let mut edited: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    edited[index] = flip_in_field(line, "path");
    assert_ne!(edited[index], *line);
    std::fs::write(&log, edited.join("\n") + "\n").unwrap();

    let out = audit_verify();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "an edited log verified: {report}");
    assert!(
        report.contains(&format!("line {} (seq {seq})", index + 1)),
        "the report does not name line {} / seq {seq}: {report}",
        index + 1
    );
    drop(dir);
}
