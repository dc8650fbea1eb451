//! The SQLite registry: the shared store suite, plus what only an embedded file store must
//! do (survive a restart, refuse a newer schema, keep its files private, answer within its
//! deadline when another process holds the lock).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::credential::PartnerId;
use auth_core::time::UnixTime;
use auth_verify::store::sqlite::{DB_FILE, SCHEMA_VERSION, SqliteStore};
use auth_verify::store::{PartnerRecord, PartnerStatus, Store, StoreError, suite};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_millis(500);

fn partner(id: &str) -> PartnerRecord {
    PartnerRecord {
        id: PartnerId::new(id).unwrap(),
        name: format!("name of {id}"),
        status: PartnerStatus::Active,
        allowed_origins: vec![],
        created_at: UnixTime::from_secs(1_800_000_000),
    }
}

#[tokio::test]
async fn passes_the_store_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("data"), DEADLINE).unwrap();
    suite::run_all(&store).await;
    // Twice on the same database: the suite coexists with data it left behind.
    suite::run_all(&store).await;
}

#[tokio::test]
async fn files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested").join("data");
    let store = SqliteStore::open(&data, DEADLINE).unwrap();
    store.create_partner(&partner("p1")).await.unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join(DB_FILE)), 0o600);
    assert_eq!(mode(&data.join(format!("{DB_FILE}-wal"))), 0o600);
}

#[tokio::test]
async fn a_link_in_place_of_the_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere.db");
    std::os::unix::fs::symlink(&target, dir.path().join(DB_FILE)).unwrap();
    let err = SqliteStore::open(dir.path(), DEADLINE).unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable(ref m) if m.contains("link")),
        "{err:?}"
    );
    assert!(!target.exists());
}

#[tokio::test]
async fn data_survives_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(dir.path(), DEADLINE).unwrap();
        store.create_partner(&partner("kept")).await.unwrap();
        store.replace_admins(0, &["0admin".into()]).await.unwrap();
        store.set_meta("m", b"v", true).await.unwrap();
    }
    let store = SqliteStore::open(dir.path(), DEADLINE).unwrap();
    assert_eq!(
        store
            .partner(&PartnerId::new("kept").unwrap())
            .await
            .unwrap(),
        Some(partner("kept"))
    );
    let admins = store.admins().await.unwrap();
    assert_eq!(
        (admins.version, admins.keys),
        (1, vec!["0admin".to_owned()])
    );
    assert_eq!(store.meta("m").await.unwrap(), Some(b"v".to_vec()));
    // Migrations are not re-applied on reopen (they would fail on existing tables).
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    let versions: i64 = conn
        .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(versions, SCHEMA_VERSION);
}

#[tokio::test]
async fn a_newer_schema_is_refused_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path(), DEADLINE).unwrap());
    let path = dir.path().join(DB_FILE);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, 0)",
            [SCHEMA_VERSION + 1],
        )
        .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = SqliteStore::open(dir.path(), DEADLINE).unwrap_err();
    let StoreError::Unavailable(message) = &err else {
        panic!("{err:?}");
    };
    assert!(message.contains("newer than this binary"), "{message}");
    assert!(
        message.contains(&format!("{}", SCHEMA_VERSION + 1)),
        "{message}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[tokio::test]
async fn a_locked_database_answers_unavailable_within_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), Duration::from_millis(300)).unwrap();
    // Another process holds the write lock far longer than the deadline.
    let other = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = Instant::now();
    let err = store.create_partner(&partner("blocked")).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        took < Duration::from_millis(1500),
        "answered after {took:?}"
    );
    assert!(
        took >= Duration::from_millis(250),
        "did not wait for the lock: {took:?}"
    );
    // Calls queued behind it also answer, and the store recovers once the lock is gone.
    let err = store.replace_admins(0, &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    other.execute_batch("ROLLBACK").unwrap();
    store.create_partner(&partner("after")).await.unwrap();
    assert_eq!(store.partners().await.unwrap().len(), 1);
}
