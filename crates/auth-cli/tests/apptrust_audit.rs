//! App trust and audit logs through the binary: the protocols' app-trust vectors reproduce,
//! manifests and licenses verify and fail as they should, and `audit verify` checks a log in
//! the service's format (built here with auth-core's writer half), naming the first broken line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::audit::entry::{self, AdminOutcome, AdminRecord, Body, Checkpoint, Event, GENESIS};
use auth_core::keys::{PrivateKey, SignatureAlgorithm, SigningKey};
use auth_core::rand::SystemRandom;
use common::{b64, fails, json, ok, run, tempdir, write_private};
use std::fs;
use std::path::Path;

const AUTHORITY: &str = "0WBFFicIHbivRZXAlO7tPs7rCX6s7u2OIMJ2mx9nwg0w=";
const AUTHORITY_PUB: &str = "075i62XGQJuXjv6nnLQyJzECZhF29acYvYeEOJ3kc5M8=";
const DEV: &str = "08lUw93C+xzdxBcsYOoPVjzn8IHPJtnJW9Y/WyEu4v64=";
const DEV_PUB: &str = "0nz1YdHu/JDmS6CImcZgOj9Y960sJOPrbZHAJO107qW0=";

fn chain(d: &Path) {
    write_private(d, "authority.key", AUTHORITY.as_bytes());
    write_private(d, "dev.key", DEV.as_bytes());
    ok(
        d,
        &[
            "apptrust",
            "cert",
            "issue",
            "--authority-key",
            "authority.key",
            "--dev-public-key",
            DEV_PUB,
            "--domain",
            "com.actyx.*",
            "--domain",
            "com.example.*",
            "-o",
            "cert.json",
        ],
    );
}

#[test]
fn certificate_and_manifest_reproduce_the_protocols_vectors() {
    let dir = tempdir();
    let d = dir.path();
    chain(d);
    let cert: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(d.join("cert.json")).unwrap()).unwrap();
    assert_eq!(
        cert["axSignature"],
        "8Bl3zCNno5GbpKUoati7CiFgr0KGwNHB1kTwBVKzO9pzW07hFkkQ+GXvyc9QaWhHT5aXzzO+mVrx3eiC7TREAQ=="
    );
    assert_eq!(
        ok(d, &["pubkey", "authority.key", "--format", "actyx"]).trim(),
        AUTHORITY_PUB
    );
    ok(
        d,
        &[
            "apptrust",
            "cert",
            "verify",
            "--authority",
            AUTHORITY_PUB,
            "cert.json",
        ],
    );
    let v = json(
        d,
        &[
            "apptrust",
            "manifest",
            "sign",
            "--dev-key",
            "dev.key",
            "--cert",
            "cert.json",
            "--app-id",
            "com.actyx.auth-test",
            "--display-name",
            "auth test app",
            "--app-version",
            "v0.0.1",
        ],
    );
    let signature = b64(v["manifest"]["signature"].as_str().unwrap());
    let dev_sig =
        b"gBFM82eZLY7IC8QnanW1XgLkdTPh3yh+Fx2efUjbojXkTMhTtVMEOAdRZ1WSHfrR6T8yu4AJtSyk8LnDoMXeBw==";
    assert!(
        signature.windows(dev_sig.len()).any(|w| w == dev_sig),
        "the manifest carries the vector's dev_signature"
    );
    fs::write(d.join("m.json"), v["manifest"].to_string()).unwrap();
    let verified = json(
        d,
        &[
            "apptrust",
            "manifest",
            "verify",
            "--authority",
            AUTHORITY_PUB,
            "m.json",
        ],
    );
    assert_eq!(
        (verified["valid"].as_bool(), verified["mode"].as_str()),
        (Some(true), Some("signed"))
    );
    let edited = v["manifest"].to_string().replace("v0.0.1", "v0.0.2");
    fs::write(d.join("edited.json"), edited).unwrap();
    fails(
        d,
        &[
            "apptrust",
            "manifest",
            "verify",
            "--authority",
            AUTHORITY_PUB,
            "edited.json",
        ],
        1,
    );
    // Another authority's key does not vouch for this chain.
    ok(d, &["apptrust", "authority-init", "-o", "other.key"]);
    fails(
        d,
        &[
            "apptrust",
            "manifest",
            "verify",
            "--authority",
            "other.key",
            "m.json",
        ],
        1,
    );
    fails(
        d,
        &[
            "apptrust",
            "manifest",
            "sign",
            "--dev-key",
            "dev.key",
            "--cert",
            "cert.json",
            "--app-id",
            "com.other.app",
            "--display-name",
            "x",
            "--app-version",
            "1",
        ],
        2,
    );
}

#[test]
fn licenses_verify_for_their_app_until_they_expire() {
    let dir = tempdir();
    let d = dir.path();
    chain(d);
    let v = json(
        d,
        &[
            "apptrust",
            "license",
            "issue",
            "--authority-key",
            "authority.key",
            "--app-id",
            "com.actyx.auth-test",
            "--expires-at",
            "2030-01-01T00:00:00Z",
            "--email",
            "ops@acme.example",
            "--now",
            "2026-01-01T00:00:00Z",
        ],
    );
    let license = v["license"].as_str().unwrap().to_owned();
    fs::write(d.join("license.txt"), &license).unwrap();
    let verify = |app: &str, now: &str| {
        run(
            d,
            &[
                "apptrust",
                "license",
                "verify",
                "--authority",
                AUTHORITY_PUB,
                "--app-id",
                app,
                "@license.txt",
                "--now",
                now,
            ],
        )
        .code
    };
    assert_eq!(verify("com.actyx.auth-test", "2027-01-01T00:00:00Z"), 0);
    assert_eq!(verify("com.actyx.other", "2027-01-01T00:00:00Z"), 1);
    assert_eq!(verify("com.actyx.auth-test", "2030-01-02T00:00:00Z"), 1);
    fs::write(d.join("bad.txt"), "not a license").unwrap();
    fails(
        d,
        &[
            "apptrust",
            "license",
            "verify",
            "--authority",
            AUTHORITY_PUB,
            "--app-id",
            "com.actyx.auth-test",
            "@bad.txt",
        ],
        2,
    );
}

/// Writes a log of `n` admin entries with a checkpoint after every 4th, signed by `key`, in
/// the service's format, and `service.pub` beside it.
fn write_log(d: &Path, n: u64) -> Vec<String> {
    let rng = SystemRandom::new();
    let private = PrivateKey::ed25519_from_seed(&[3u8; 32]).unwrap();
    let public = private.public_key();
    fs::write(d.join("service.pub"), public.to_spki_pem()).unwrap();
    let raw: [u8; 32] = match &public {
        auth_core::keys::PublicKey::Ed25519(raw) => *raw,
        _ => unreachable!(),
    };
    let key = SigningKey::new(&private, SignatureAlgorithm::Ed25519, &rng).unwrap();
    let mut lines = Vec::new();
    let mut prev = GENESIS;
    let mut seq = 0;
    for i in 0..n {
        seq += 1;
        let event = Event::Admin(AdminRecord {
            actor: "admin".into(),
            action: "partner.create".into(),
            target: Some(format!("partner-{i}")),
            outcome: AdminOutcome::Succeeded,
            code: None,
        });
        let body = Body {
            seq,
            time: "2026-11-29T12:00:00Z".into(),
            prev: entry::hex(&prev),
            event,
        };
        let (line, hash) = entry::encode(&body).unwrap();
        lines.push(String::from_utf8(line).unwrap());
        prev = hash;
        if seq % 5 == 4 {
            seq += 1;
            let sig = key
                .sign(&entry::checkpoint_message(seq - 1, &prev), &rng)
                .unwrap();
            let body = Body {
                seq,
                time: "2026-11-29T12:00:00Z".into(),
                prev: entry::hex(&prev),
                event: Event::Checkpoint(Checkpoint {
                    covers_seq: seq - 1,
                    covers_hash: entry::hex(&prev),
                    key: entry::key_fingerprint(&raw),
                    sig: entry::hex(&sig),
                }),
            };
            let (line, hash) = entry::encode(&body).unwrap();
            lines.push(String::from_utf8(line).unwrap());
            prev = hash;
        }
    }
    fs::write(d.join("audit.jsonl"), lines.concat()).unwrap();
    lines
}

#[test]
fn audit_logs_verify_and_the_first_broken_entry_is_named() {
    let dir = tempdir();
    let d = dir.path();
    let lines = write_log(d, 8);
    let v = json(d, &["audit", "verify", "audit.jsonl"]);
    assert_eq!(
        (
            v["valid"].as_bool(),
            v["entries"].as_u64(),
            v["checkpoints"].as_u64()
        ),
        (Some(true), Some(10), Some(2))
    );
    assert_eq!(v["last_checkpoint"]["seq"], 9);
    let human = ok(
        d,
        &[
            "audit",
            "verify",
            "audit.jsonl",
            "--public-key",
            "service.pub",
        ],
    );
    assert!(
        human.contains("OK, 10 entries, 2 signed checkpoints"),
        "{human}"
    );

    // An edited entry.
    let edited: String = lines
        .iter()
        .map(|l| l.replace("partner-2", "partner-X"))
        .collect();
    fs::write(d.join("edited.jsonl"), edited).unwrap();
    fs::copy(d.join("service.pub"), d.join("service.pub.bak")).unwrap();
    let r = run(d, &["--json", "audit", "verify", "edited.jsonl"]);
    assert_eq!(r.code, 1, "{r:?}");
    let out: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(
        (
            out["error"]["line"].as_u64(),
            out["error"]["problem"].as_str()
        ),
        (Some(3), Some("hash_mismatch"))
    );
    // A removed entry.
    let removed: String = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, l)| l.as_str())
        .collect();
    fs::write(d.join("removed.jsonl"), removed).unwrap();
    let line = fails(d, &["audit", "verify", "removed.jsonl"], 1);
    assert!(
        line.contains("line 2") && line.contains("seq gap"),
        "{line}"
    );
    // Another key: the checkpoints do not verify.
    ok(
        d,
        &[
            "keygen",
            "--type",
            "ed25519",
            "-o",
            "other.pem",
            "--public-out",
            "other.pub",
        ],
    );
    let line = fails(
        d,
        &[
            "audit",
            "verify",
            "audit.jsonl",
            "--public-key",
            "other.pub",
        ],
        1,
    );
    assert!(line.contains("checkpoint signature invalid"), "{line}");
    // No key at all, or not an Ed25519 key: an input error, not a verdict.
    fs::create_dir(d.join("sub")).unwrap();
    fs::copy(d.join("audit.jsonl"), d.join("sub/audit.jsonl")).unwrap();
    fails(d, &["audit", "verify", "sub/audit.jsonl"], 2);
    ok(d, &["keygen", "-o", "rsa.pem", "--public-out", "rsa.pub"]);
    fails(
        d,
        &["audit", "verify", "audit.jsonl", "--public-key", "rsa.pub"],
        2,
    );
    fails(d, &["audit", "verify", "missing.jsonl"], 2);
}
