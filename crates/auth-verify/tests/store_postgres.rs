//! The PostgreSQL registry: the shared store suite on a fresh schema, plus what only a shared
//! server store must do (two instances racing the first admin enrolment and starting at
//! once, nothing lost across a restart of the store, a newer schema refused, Unavailable
//! within the deadline from a refusing or silent server). Needs `PA_TEST_POSTGRES_URL`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::credential::PartnerId;
use auth_core::time::UnixTime;
use auth_verify::store::postgres::{PostgresStore, SCHEMA_VERSION};
use auth_verify::store::{PartnerRecord, PartnerStatus, Store, StoreError, suite};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(2);

/// The server's URL, or `None` (test skipped) when unset outside CI.
fn url() -> Option<String> {
    match std::env::var("PA_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("PA_TEST_POSTGRES_URL is not set, and CI is: the PostgreSQL tests must run")
        }
        _ => {
            println!("SKIPPED: PA_TEST_POSTGRES_URL is not set");
            None
        }
    }
}

/// A schema of its own for one test, dropped (with everything in it) when it goes out of
/// scope, even if the test failed.
struct Schema {
    url: String,
    name: String,
}

impl Schema {
    fn new(url: &str, tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Self {
            url: url.to_owned(),
            name: format!("pa_test_{tag}_{nanos:x}_{}", std::process::id()),
        }
    }

    async fn sql(&self, sql: &str) {
        run_sql(&self.url, sql).await;
    }
}

/// Runs `sql` on a connection of its own.
async fn run_sql(url: &str, sql: &str) {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let task = tokio::spawn(conn);
    client.batch_execute(sql).await.unwrap();
    drop(client);
    let _ = task.await;
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // Drop runs inside the test's runtime: clean up on a thread of our own.
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(run_sql(
                &url,
                &format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"),
            ));
        });
        let _ = cleanup.join();
    }
}

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
    let Some(url) = url() else { return };
    let schema = Schema::new(&url, "suite");
    let store = PostgresStore::connect(&url, &schema.name, DEADLINE)
        .await
        .unwrap();
    suite::run_all(&store).await;
    // Twice on the same schema: the suite coexists with data it left behind.
    suite::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_racing_the_first_admin_enrolment_enrol_exactly_one() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url, "race");
    // Both start at once: the advisory lock lets exactly one of them migrate.
    let (a, b) = tokio::join!(
        PostgresStore::connect(&url, &schema.name, DEADLINE),
        PostgresStore::connect(&url, &schema.name, DEADLINE),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    for round in 0..20u64 {
        let version = a.admins().await.unwrap().version;
        assert_eq!(version, b.admins().await.unwrap().version);
        let (key_a, key_b) = (format!("0a{round}"), format!("0b{round}"));
        let (ra, rb) = tokio::join!(
            a.replace_admins(version, std::slice::from_ref(&key_a)),
            b.replace_admins(version, std::slice::from_ref(&key_b)),
        );
        let wins = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {ra:?} {rb:?}");
        let loser = if ra.is_ok() { &rb } else { &ra };
        assert!(matches!(loser, Err(StoreError::Conflict(_))), "{loser:?}");
        let after = b.admins().await.unwrap();
        assert_eq!(after.version, version + 1);
        let winner = if ra.is_ok() { key_a } else { key_b };
        assert_eq!(after.keys, vec![winner]);
    }
}

#[tokio::test]
async fn data_survives_dropping_the_store_and_connecting_again() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url, "restart");
    {
        let store = PostgresStore::connect(&url, &schema.name, DEADLINE)
            .await
            .unwrap();
        store.create_partner(&partner("kept")).await.unwrap();
        store.replace_admins(0, &["0admin".into()]).await.unwrap();
        store.set_meta("m", b"v", true).await.unwrap();
    }
    let store = PostgresStore::connect(&url, &schema.name, DEADLINE)
        .await
        .unwrap();
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
    drop(store);
    // Migrations are recorded once, not re-applied.
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let versions: i64 = client
        .query_one(
            &format!("SELECT COUNT(*) FROM \"{}\".schema_migrations", schema.name),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(versions, SCHEMA_VERSION);
}

#[tokio::test]
async fn a_newer_schema_is_refused_unchanged() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url, "newer");
    drop(
        PostgresStore::connect(&url, &schema.name, DEADLINE)
            .await
            .unwrap(),
    );
    schema
        .sql(&format!(
            "INSERT INTO \"{}\".schema_migrations (version, applied_at) VALUES ({}, 0)",
            schema.name,
            SCHEMA_VERSION + 1
        ))
        .await;
    let err = PostgresStore::connect(&url, &schema.name, DEADLINE)
        .await
        .unwrap_err();
    let StoreError::Unavailable(message) = &err else {
        panic!("{err:?}");
    };
    assert!(message.contains("newer than this binary"), "{message}");
    assert!(
        message.contains(&format!("{}", SCHEMA_VERSION + 1)),
        "{message}"
    );
}

#[tokio::test]
async fn a_bad_schema_name_is_refused() {
    let err = PostgresStore::connect("postgres://u@127.0.0.1:1/db", "x\"; DROP", DEADLINE)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn a_closed_port_answers_unavailable_within_the_deadline() {
    // A port nobody listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let deadline = Duration::from_millis(500);
    let started = Instant::now();
    let err = PostgresStore::connect(
        &format!("postgres://postgres@127.0.0.1:{port}/test"),
        "pa_closed",
        deadline,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(started.elapsed() < deadline * 2, "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_silent_server_answers_unavailable_within_the_deadline() {
    // Accepts connections and never answers (a hung server).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let deadline = Duration::from_millis(500);
    let started = Instant::now();
    let err = PostgresStore::connect(
        &format!("postgres://postgres@127.0.0.1:{port}/test"),
        "pa_silent",
        deadline,
    )
    .await
    .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(took < deadline * 3, "answered after {took:?}");
    hold.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_blocked_by_a_lock_answers_unavailable_within_the_deadline() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url, "locked");
    let deadline = Duration::from_millis(400);
    let store = PostgresStore::connect(&url, &schema.name, deadline)
        .await
        .unwrap();
    // Another session holds the admin row far longer than the deadline.
    let (other, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    other
        .batch_execute(&format!(
            "BEGIN; SELECT * FROM \"{}\".admins FOR UPDATE",
            schema.name
        ))
        .await
        .unwrap();
    let started = Instant::now();
    let err = store.replace_admins(0, &[]).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(took < deadline * 3, "answered after {took:?}");
    other.batch_execute("ROLLBACK").await.unwrap();
    // The store recovers once the lock is gone.
    store.replace_admins(0, &["0x".into()]).await.unwrap();
}
