//! The audit log end to end: a clean log verifies; an edited, deleted, reordered or
//! re-chained entry and a forged checkpoint are each named; a restart and a torn write
//! continue the chain; concurrent writers keep seq contiguous; no secret reaches the file;
//! the key files and checkpoint signatures work with the openssl CLI.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::apikey::ApiKeyDigest;
use auth_core::credential::{CredentialRef, PartnerId, Purpose, Scheme};
use auth_http::server::{Decision, Observer, Outcome};
use auth_verify::audit::{
    AUDIT_FILE, AdminOutcome, AdminRecord, AuditConfig, AuditEvent, AuditLog, AuditObserver,
    DecisionOutcome, DecisionRecord, Problem, SERVICE_KEY_FILE, SERVICE_PUB_FILE, verify_file,
};
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

fn config(every: u64) -> AuditConfig {
    AuditConfig {
        checkpoint_every: every,
        checkpoint_interval: Duration::from_secs(3600),
        ..AuditConfig::default()
    }
}

fn decision(n: usize) -> AuditEvent {
    AuditEvent::Decision(DecisionRecord {
        outcome: DecisionOutcome::Accepted,
        path: format!("/v1/item/{n}"),
        scheme: Some("api_key".into()),
        partner: Some("acme".into()),
        credential: Some(format!("http_signature_key:key-{n}")),
        code: None,
        latency_us: 42,
    })
}

/// A log of `n` decisions, checkpointed every 4 entries, shut down cleanly.
async fn write_log(dir: &Path, n: usize) -> Vec<String> {
    let (log, report) = AuditLog::open(dir, config(4)).unwrap();
    assert!(report.created_key);
    assert_eq!(report.next_seq, 1);
    for i in 1..=n {
        log.record(decision(i)).unwrap();
    }
    log.shutdown().await.unwrap();
    lines(dir)
}

fn lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join(AUDIT_FILE))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn save(dir: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(dir.join(AUDIT_FILE), text).unwrap();
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap()
}

/// A line's canonical bytes without their closing brace: everything before `,"hash":"`.
fn head(line: &str) -> String {
    line[..line.rfind(r#","hash":""#).unwrap()].to_owned()
}

/// The line for canonical bytes `head` + `}`, hashed as the format is documented,
/// independently of the crate's encoder; returns it with its hash.
fn seal(head: &str) -> (String, String) {
    let hash = hex(&Sha256::digest(format!("{head}}}").as_bytes()));
    (format!(r#"{head},"hash":"{hash}"}}"#), hash)
}

/// `head` with the string field `field` set to `value` (each field name occurs once).
fn set(head: &str, field: &str, value: &str) -> String {
    let key = format!(r#""{field}":""#);
    let start = head.find(&key).unwrap() + key.len();
    let end = start + head[start..].find('"').unwrap();
    format!("{}{value}{}", &head[..start], &head[end..])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Edits entry `index` with `edit`, then re-chains every later entry (prev and hash) as an
/// attacker without the service key would; checkpoint signatures stay as they were.
fn rewrite_from(lines: &mut [String], index: usize, edit: impl FnOnce(&str) -> String) {
    let (line, mut prev) = seal(&edit(&head(&lines[index])));
    lines[index] = line;
    for line in lines.iter_mut().skip(index + 1) {
        let mut h = set(&head(line), "prev", &prev);
        if json(line)["event"]["kind"] == "checkpoint" {
            h = set(&h, "covers_hash", &prev);
        }
        (*line, prev) = seal(&h);
    }
}

fn error_of(dir: &Path) -> (u64, Option<u64>, Problem, String) {
    let report = verify_file(&dir.join(AUDIT_FILE), None);
    let shown = report.to_string();
    let e = report
        .error
        .unwrap_or_else(|| panic!("expected an error: {shown}"));
    (e.line, e.seq, e.problem, shown)
}

#[tokio::test]
async fn a_clean_log_verifies_with_every_entry_covered() {
    let dir = tempfile::tempdir().unwrap();
    let lines = write_log(dir.path(), 10).await;
    // 10 decisions, a checkpoint after every 4 entries, and a final one at shutdown.
    let kinds: Vec<String> = lines
        .iter()
        .map(|l| json(l)["event"]["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds.iter().filter(|k| *k == "checkpoint").count(), 3);
    assert_eq!(kinds.last().unwrap(), "checkpoint");
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(json(line)["seq"], i as u64 + 1);
    }
    assert_eq!(json(&lines[0])["prev"], "0".repeat(64));
    let report = verify_file(&dir.path().join(AUDIT_FILE), None);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.entries, 13);
    assert_eq!(report.checkpoints, 3);
    assert!(report.warnings.is_empty(), "{report}");
    assert_eq!(report.last_checkpoint.as_ref().unwrap().0, 12);
    assert!(
        report
            .to_string()
            .contains("OK, 13 entries, 3 signed checkpoints")
    );
}

#[tokio::test]
async fn an_edited_field_is_named_by_seq_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = write_log(dir.path(), 10).await;
    lines[2] = lines[2].replace("/v1/item/3", "/v1/item/X");
    save(dir.path(), &lines);
    let (line, seq, problem, shown) = error_of(dir.path());
    assert_eq!((line, seq, problem), (3, Some(3), Problem::HashMismatch));
    assert!(
        shown.contains("line 3 (seq 3): hash does not match its content"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_deleted_line_is_a_seq_gap() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = write_log(dir.path(), 10).await;
    lines.remove(3);
    save(dir.path(), &lines);
    let (line, seq, problem, shown) = error_of(dir.path());
    assert_eq!(
        (line, seq, problem),
        (
            4,
            Some(5),
            Problem::SeqGap {
                expected: 4,
                found: 5
            }
        )
    );
    assert!(shown.contains("seq gap"), "{shown}");
}

#[tokio::test]
async fn reordered_lines_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = write_log(dir.path(), 10).await;
    lines.swap(1, 2);
    save(dir.path(), &lines);
    let (line, _, problem, _) = error_of(dir.path());
    assert_eq!(line, 2);
    assert_eq!(
        problem,
        Problem::SeqGap {
            expected: 2,
            found: 3
        }
    );
}

#[tokio::test]
async fn an_entry_rehashed_alone_breaks_the_next_prev() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = write_log(dir.path(), 10).await;
    lines[1] = seal(&set(&head(&lines[1]), "partner", "mallory")).0;
    save(dir.path(), &lines);
    let (line, seq, problem, shown) = error_of(dir.path());
    assert_eq!(
        (line, seq, problem),
        (3, Some(3), Problem::PrevMismatch { previous: 2 })
    );
    assert!(
        shown.contains("prev does not match entry 2's hash"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_rechained_log_fails_at_the_first_checkpoint_after_the_edit() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = write_log(dir.path(), 10).await;
    // Entry 6 is edited; the checkpoints are entries 5, 10 and 13.
    rewrite_from(&mut lines, 5, |h| set(h, "path", "/v1/hidden"));
    save(dir.path(), &lines);
    let (line, seq, problem, shown) = error_of(dir.path());
    assert_eq!(
        (line, seq, problem),
        (10, Some(10), Problem::CheckpointSignatureInvalid)
    );
    assert!(shown.contains("checkpoint signature invalid"), "{shown}");
}

#[tokio::test]
async fn a_checkpoint_signed_by_another_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = write_log(dir.path(), 10).await;
    let other =
        ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    let other = ring::signature::Ed25519KeyPair::from_pkcs8(other.as_ref()).unwrap();
    use ring::signature::KeyPair;
    let other_fp = hex(&Sha256::digest(other.public_key().as_ref()));
    let checkpoint = json(&lines[4]);
    let mut msg = b"partner-auth audit checkpoint v1\0".to_vec();
    msg.extend_from_slice(
        &checkpoint["event"]["covers_seq"]
            .as_u64()
            .unwrap()
            .to_be_bytes(),
    );
    msg.extend_from_slice(&unhex(checkpoint["event"]["covers_hash"].as_str().unwrap()));
    let forged_sig = hex(other.sign(&msg).as_ref());
    rewrite_from(&mut lines, 4, |h| {
        set(&set(h, "sig", &forged_sig), "key", &other_fp)
    });
    assert_eq!(json(&lines[4])["event"]["kind"], "checkpoint");
    save(dir.path(), &lines);
    let (line, _, problem, _) = error_of(dir.path());
    assert_eq!((line, problem), (5, Problem::CheckpointSignatureInvalid));
    // The same file verifies under the forger's key up to the next genuine checkpoint only.
    let report = verify_file(
        &dir.path().join(AUDIT_FILE),
        Some(other.public_key().as_ref()),
    );
    assert_eq!(report.error.unwrap().line, 10);
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test]
async fn a_restart_continues_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 3).await;
    let before = lines(dir.path()).len() as u64;
    let (log, report) = AuditLog::open(dir.path(), config(4)).unwrap();
    assert!(!report.created_key);
    assert_eq!(report.next_seq, before + 1);
    assert_eq!(report.torn_tail, None);
    log.record(AuditEvent::Admin(AdminRecord {
        actor: "admin-key-1".into(),
        action: "api_key.revoke".into(),
        target: Some("api_key:abc".into()),
        outcome: AdminOutcome::Succeeded,
        code: None,
    }))
    .unwrap();
    log.shutdown().await.unwrap();
    assert_eq!(
        log.record(decision(0)),
        Err(auth_verify::audit::AuditError::Closed)
    );
    let report = verify_file(&dir.path().join(AUDIT_FILE), None);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.entries, before + 2);
}

#[tokio::test]
async fn a_torn_last_line_is_reported_then_named_by_a_recovery_entry() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 3).await;
    let path = dir.path().join(AUDIT_FILE);
    let clean_len = std::fs::metadata(&path).unwrap().len();
    let mut text = std::fs::read(&path).unwrap();
    text.extend_from_slice(br#"{"seq":6,"time":"2026-01-0"#);
    std::fs::write(&path, &text).unwrap();
    // Before the service restarts, the verifier says the end is torn.
    let (line, _, problem, _) = error_of(dir.path());
    assert_eq!((line, problem), (5, Problem::TornTail));

    let (log, report) = AuditLog::open(dir.path(), config(4)).unwrap();
    // 26 torn bytes and the newline the service added to end them.
    assert_eq!(report.torn_tail, Some((clean_len, 27)));
    log.record(decision(9)).unwrap();
    log.shutdown().await.unwrap();
    let report = verify_file(&path, None);
    assert!(report.is_ok(), "{report}");
    assert!(matches!(
        report.warnings[..],
        [auth_verify::audit::Finding {
            line: 5,
            problem: Problem::TornWriteRecovered { recovery_seq: 5 },
            ..
        }]
    ));
    // The torn bytes are still there, untouched.
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains(r#"{"seq":6,"time":"2026-01-0"#)
    );
}

#[tokio::test]
async fn entries_after_the_last_checkpoint_are_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = write_log(dir.path(), 10).await;
    lines.pop(); // the final checkpoint
    save(dir.path(), &lines);
    let report = verify_file(&dir.path().join(AUDIT_FILE), None);
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        report.warnings[0].problem,
        Problem::Uncovered { entries: 2 }
    );
    assert!(report.to_string().contains("not covered by a signature"));
}

#[tokio::test]
async fn a_checkpoint_is_written_when_the_interval_passes() {
    let dir = tempfile::tempdir().unwrap();
    let config = AuditConfig {
        checkpoint_every: 1_000_000,
        checkpoint_interval: Duration::from_millis(200),
        ..AuditConfig::default()
    };
    let (log, _) = AuditLog::open(dir.path(), config).unwrap();
    log.record(decision(1)).unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    log.flush().await.unwrap();
    let lines = lines(dir.path());
    assert_eq!(lines.len(), 2);
    assert_eq!(json(&lines[1])["event"]["kind"], "checkpoint");
    log.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_keep_seq_contiguous_under_backpressure() {
    let dir = tempfile::tempdir().unwrap();
    let config = AuditConfig {
        checkpoint_every: 50,
        queue: 8,
        batch: 16,
        ..config(50)
    };
    let (log, _) = AuditLog::open(dir.path(), config).unwrap();
    let log = Arc::new(log);
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let log = log.clone();
            tokio::spawn(async move {
                for i in 0..100 {
                    log.record(decision(t * 1000 + i)).unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    log.shutdown().await.unwrap();
    let report = verify_file(&dir.path().join(AUDIT_FILE), None);
    assert!(report.is_ok(), "{report}");
    // 1600 decisions, one checkpoint per 50 and none lost.
    assert_eq!(report.entries - report.checkpoints, 1600);
    assert_eq!(report.checkpoints, 32);
}

#[tokio::test]
async fn no_secret_reaches_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = AuditLog::open(dir.path(), config(4)).unwrap();
    let log = Arc::new(log);
    let api_key = "pk_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0SECRET";
    let digest = ApiKeyDigest::of(api_key);
    let credential = CredentialRef::by_digest(Purpose::ApiKey, &digest);
    let partner = PartnerId::new("acme").unwrap();
    let observer = AuditObserver::new(log.clone());
    for outcome in [Outcome::Accepted, Outcome::Rejected] {
        observer.observe(&Decision {
            outcome,
            path: "/v1/orders",
            scheme: Some(Scheme::ApiKey),
            partner: Some(&partner),
            credential: Some(&credential),
            code: (outcome == Outcome::Rejected).then_some(auth_core::ErrorCode::RevokedKey),
            latency: Duration::from_micros(12),
        });
    }
    log.shutdown().await.unwrap();
    let text = std::fs::read_to_string(dir.path().join(AUDIT_FILE)).unwrap();
    assert!(!text.contains(api_key));
    assert!(!text.contains("SECRET"));
    assert!(text.contains(&digest.to_hex()));
    assert!(text.contains(r#""code":"revoked_key""#));
    assert!(text.contains(r#""scheme":"api_key""#));
    let key_pem = std::fs::read_to_string(dir.path().join(SERVICE_KEY_FILE)).unwrap();
    assert!(!format!("{log:?}").contains(&key_pem[30..60]));
}

#[tokio::test]
async fn key_files_are_private_and_openssl_verifies_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let lines = write_log(dir.path(), 4).await;
    let mode = |name: &str| {
        std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(AUDIT_FILE), 0o600);
    assert_eq!(mode(SERVICE_KEY_FILE), 0o600);
    let checkpoint = json(&lines[4]);
    assert_eq!(checkpoint["event"]["kind"], "checkpoint");
    let mut msg = b"partner-auth audit checkpoint v1\0".to_vec();
    msg.extend_from_slice(
        &checkpoint["event"]["covers_seq"]
            .as_u64()
            .unwrap()
            .to_be_bytes(),
    );
    msg.extend_from_slice(&unhex(checkpoint["event"]["covers_hash"].as_str().unwrap()));
    std::fs::write(dir.path().join("msg"), &msg).unwrap();
    std::fs::write(
        dir.path().join("sig"),
        unhex(checkpoint["event"]["sig"].as_str().unwrap()),
    )
    .unwrap();
    let verify = |msg: &str| {
        Command::new("openssl")
            .args([
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                SERVICE_PUB_FILE,
                "-rawin",
            ])
            .args(["-in", msg, "-sigfile", "sig"])
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let out = verify("msg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    msg[40] ^= 1;
    std::fs::write(dir.path().join("msg2"), &msg).unwrap();
    assert!(!verify("msg2").status.success());
    // openssl reads the private key too, and derives the same public key.
    let out = Command::new("openssl")
        .args(["pkey", "-in", SERVICE_KEY_FILE, "-pubout"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        std::fs::read_to_string(dir.path().join(SERVICE_PUB_FILE)).unwrap()
    );
}

#[test]
fn a_planted_key_link_is_refused_and_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("elsewhere.pem");
    std::fs::write(&elsewhere, "not a key").unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.path().join(SERVICE_KEY_FILE)).unwrap();
    let err = AuditLog::open(dir.path(), config(4)).unwrap_err();
    assert!(err.to_string().contains("not a link"), "{err}");
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "not a key");
}

#[test]
fn hostile_files_never_panic_the_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(AUDIT_FILE);
    std::fs::write(dir.path().join(SERVICE_PUB_FILE), [7u8; 32]).unwrap();
    for content in [
        &b""[..],
        b"\n\n\n",
        &[0xffu8; 40_000][..],
        br#"{"seq":1,"time":"x","prev":"00","event":{"kind":"decision"},"hash":"zz"}"#,
    ] {
        std::fs::write(&path, content).unwrap();
        let _ = verify_file(&path, None).to_string();
    }
    assert!(
        verify_file(&dir.path().join("missing"), None)
            .error
            .is_some()
    );
}
