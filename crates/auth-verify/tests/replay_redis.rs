//! The Redis replay store against a real Redis: the same answers as the in-memory store,
//! replays caught across store instances, races, and fail-closed behaviour against a private
//! `redis-server` that is hung (SIGSTOP), killed and restarted. The shared Redis comes from
//! `PA_TEST_REDIS_URL`; each test uses its own random key prefix and deletes its keys.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::credential::{CredentialRef, Purpose};
use auth_core::replay::{ReplayKey, ReplayKind, ReplayObligation};
use auth_core::{ErrorCode, UnixTime};
use auth_http::server::{MemoryReplayStore, ReplayStore};
use auth_verify::replay_redis::{DEFAULT_REDIS_DEADLINE, RedisReplayStore};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const T0: UnixTime = UnixTime::from_secs(1_700_000_000);

/// The shared Redis, or `None` (test skipped) when the variable is unset outside CI.
fn redis_url() -> Option<String> {
    match std::env::var("PA_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("PA_TEST_REDIS_URL is not set, and CI is: the Redis tests must run in CI")
        }
        _ => {
            println!("SKIPPED: PA_TEST_REDIS_URL is not set");
            None
        }
    }
}

fn random_hex() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 8];
    ring::rand::SystemRandom::new().fill(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random key prefix whose keys are deleted on drop (also when the test panics).
struct Prefix {
    url: String,
    prefix: String,
}

impl Prefix {
    fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            prefix: format!("pa-test-{}:", random_hex()),
        }
    }

    fn keys(&self) -> Vec<String> {
        let mut conn = redis::Client::open(self.url.as_str())
            .unwrap()
            .get_connection()
            .unwrap();
        let mut cursor = 0u64;
        let mut keys = Vec::new();
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}*", self.prefix))
                .arg("COUNT")
                .arg(1000)
                .query(&mut conn)
                .unwrap();
            keys.extend(batch);
            if next == 0 {
                return keys;
            }
            cursor = next;
        }
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open(self.url.as_str()) else {
            return;
        };
        let Ok(mut conn) = client.get_connection() else {
            return;
        };
        for key in self.keys() {
            let _: Result<i64, _> = redis::cmd("DEL").arg(&key).query(&mut conn);
        }
    }
}

fn cref(id: &str) -> CredentialRef {
    CredentialRef::parse(Purpose::HttpSignatureKey, id).unwrap()
}

fn once(id: &str, nonce: &str, ttl: Duration) -> ReplayObligation {
    ReplayObligation::SingleUse {
        key: ReplayKey::new(&cref(id), ReplayKind::Nonce, nonce).unwrap(),
        ttl,
    }
}

fn counter(id: &str, value: u64) -> ReplayObligation {
    ReplayObligation::Monotonic {
        key: ReplayKey::counter(&cref(id)),
        value,
    }
}

async fn store(url: &str, prefix: &Prefix) -> RedisReplayStore {
    RedisReplayStore::connect(url, &prefix.prefix, DEFAULT_REDIS_DEADLINE)
        .await
        .unwrap()
}

/// (code, message) of an outcome, `None` for `Ok`.
fn outcome(r: Result<(), auth_core::Error>) -> Option<(ErrorCode, String)> {
    r.err().map(|e| (e.code(), e.message().to_owned()))
}

#[tokio::test]
async fn answers_like_the_memory_store() {
    let Some(url) = redis_url() else { return };
    let prefix = Prefix::new(&url);
    let redis = store(&url, &prefix).await;
    let memory = MemoryReplayStore::default();
    let ttl = Duration::from_secs(60);
    let script = [
        once("a", "1", ttl),
        once("a", "1", ttl),
        once("a", "2", ttl),
        once("b", "1", ttl),
        once("b", "1", ttl),
        counter("q", 5),
        counter("q", 5),
        counter("q", 4),
        counter("q", 0),
        counter("q", 6),
        counter("other", 0),
        counter("other", 0),
        ReplayObligation::None,
        ReplayObligation::None,
    ];
    let mut replayed = 0;
    for obligation in &script {
        let want = outcome(memory.record(obligation, T0).await);
        let got = outcome(redis.record(obligation, T0).await);
        assert_eq!(got, want, "{obligation:?}");
        replayed += usize::from(matches!(got, Some((ErrorCode::Replayed, _))));
    }
    assert_eq!(replayed, 6);
    // The keys are the prefix plus the replay key's text (one hash tag per credential); the
    // counter lives forever, the single-use keys for their TTL.
    let mut keys = prefix.keys();
    keys.sort();
    let p = &prefix.prefix;
    assert_eq!(
        keys,
        [
            format!("{p}r:{{http_signature_key:a}}:n:1"),
            format!("{p}r:{{http_signature_key:a}}:n:2"),
            format!("{p}r:{{http_signature_key:b}}:n:1"),
            format!("{p}r:{{http_signature_key:other}}:ctr:0"),
            format!("{p}r:{{http_signature_key:q}}:ctr:0"),
        ]
    );
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let pttl: i64 = redis::cmd("PTTL").arg(&keys[0]).query(&mut conn).unwrap();
    assert!(pttl > 50_000 && pttl <= 60_000, "{pttl}");
    let pttl: i64 = redis::cmd("PTTL").arg(&keys[4]).query(&mut conn).unwrap();
    assert_eq!(pttl, -1, "counters have no TTL");
    let stored: String = redis::cmd("GET").arg(&keys[4]).query(&mut conn).unwrap();
    assert_eq!(stored, "6");
}

#[tokio::test]
async fn a_key_is_fresh_again_after_its_ttl() {
    let Some(url) = redis_url() else { return };
    let prefix = Prefix::new(&url);
    let redis = store(&url, &prefix).await;
    let short = once("a", "n", Duration::from_millis(100));
    redis.record(&short, T0).await.unwrap();
    assert_eq!(
        redis.record(&short, T0).await.unwrap_err().code(),
        ErrorCode::Replayed
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.record(&short, T0).await.unwrap();
    // A sub-millisecond TTL is rounded up, never to "PX 0" (which Redis refuses).
    redis
        .record(&once("a", "tiny", Duration::from_micros(10)), T0)
        .await
        .unwrap();
}

#[tokio::test]
async fn counters_compare_exactly_beyond_doubles() {
    let Some(url) = redis_url() else { return };
    let prefix = Prefix::new(&url);
    let redis = store(&url, &prefix).await;
    let two_53 = 1u64 << 53;
    redis.record(&counter("q", two_53 + 1), T0).await.unwrap();
    // As doubles, 2^53 + 1 == 2^53: a Lua-number comparison would get these wrong.
    assert_eq!(
        redis
            .record(&counter("q", two_53), T0)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Replayed
    );
    assert_eq!(
        redis
            .record(&counter("q", two_53 + 1), T0)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Replayed
    );
    redis.record(&counter("q", two_53 + 2), T0).await.unwrap();
    redis.record(&counter("q", u64::MAX - 1), T0).await.unwrap();
    redis.record(&counter("q", u64::MAX), T0).await.unwrap();
    assert_eq!(
        redis
            .record(&counter("q", u64::MAX), T0)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Replayed
    );
    // Shorter decimal strings are smaller numbers (9 < 10), not larger text.
    redis.record(&counter("r", 9), T0).await.unwrap();
    redis.record(&counter("r", 10), T0).await.unwrap();
    assert_eq!(
        redis.record(&counter("r", 9), T0).await.unwrap_err().code(),
        ErrorCode::Replayed
    );
}

#[tokio::test]
async fn a_replay_is_caught_by_another_instance() {
    let Some(url) = redis_url() else { return };
    let prefix = Prefix::new(&url);
    let a = store(&url, &prefix).await;
    let b = store(&url, &prefix).await;
    let ttl = Duration::from_secs(60);
    a.record(&once("k", "1", ttl), T0).await.unwrap();
    assert_eq!(
        b.record(&once("k", "1", ttl), T0).await.unwrap_err().code(),
        ErrorCode::Replayed
    );
    b.record(&once("k", "2", ttl), T0).await.unwrap();
    assert_eq!(
        a.record(&once("k", "2", ttl), T0).await.unwrap_err().code(),
        ErrorCode::Replayed
    );
    a.record(&counter("q", 7), T0).await.unwrap();
    assert_eq!(
        b.record(&counter("q", 7), T0).await.unwrap_err().code(),
        ErrorCode::Replayed
    );
    b.record(&counter("q", 8), T0).await.unwrap();
    // Another prefix is another key space.
    let other = Prefix::new(&url);
    let c = store(&url, &other).await;
    c.record(&once("k", "1", ttl), T0).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_racing_tasks_admit_exactly_one() {
    let Some(url) = redis_url() else { return };
    let prefix = Prefix::new(&url);
    // Two instances, so the race also crosses connections.
    let stores = [
        Arc::new(store(&url, &prefix).await),
        Arc::new(store(&url, &prefix).await),
    ];
    for obligation in [
        once("race", "same", Duration::from_secs(60)),
        counter("race", 42),
    ] {
        let obligation = Arc::new(obligation);
        let barrier = Arc::new(tokio::sync::Barrier::new(50));
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let store = stores[i % 2].clone();
                let obligation = obligation.clone();
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.record(&obligation, T0).await
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => ok += 1,
                Err(e) => assert_eq!(e.code(), ErrorCode::Replayed, "{e:?}"),
            }
        }
        assert_eq!(ok, 1, "{obligation:?}");
    }
    // Racing increasing values: whatever the order, the counter ends at the largest.
    let tasks: Vec<_> = (100..150u64)
        .map(|v| {
            let store = stores[(v % 2) as usize].clone();
            tokio::spawn(async move { store.record(&counter("climb", v), T0).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        ok += usize::from(t.await.unwrap().is_ok());
    }
    assert!(ok >= 1);
    assert_eq!(
        stores[0]
            .record(&counter("climb", 149), T0)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Replayed
    );
    stores[1].record(&counter("climb", 150), T0).await.unwrap();
}

#[tokio::test]
async fn bad_configuration_is_refused() {
    let bad_prefix =
        RedisReplayStore::connect("redis://127.0.0.1:1", "pa:{x}:", DEFAULT_REDIS_DEADLINE)
            .await
            .unwrap_err();
    assert_eq!(bad_prefix.code(), ErrorCode::Malformed);
    let bad_url = RedisReplayStore::connect("http://nope", "pa:", DEFAULT_REDIS_DEADLINE)
        .await
        .unwrap_err();
    assert_eq!(bad_url.code(), ErrorCode::Malformed);
}

/// A private `redis-server` on a free port in a temporary directory; killed on drop.
struct PrivateRedis {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PrivateRedis {
    /// `None` (test skipped) when there is no `redis-server` outside CI.
    fn start() -> Option<Self> {
        let found = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok();
        if !found {
            if std::env::var_os("CI").is_some() {
                panic!("redis-server is not installed, and CI is set: the fault tests must run");
            }
            println!("SKIPPED: redis-server is not installed");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = Self {
            port,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        r.spawn();
        Some(r)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        wait_for_ping(&self.url(), self.dir.path());
    }

    fn pid(&self) -> String {
        self.child.as_ref().unwrap().id().to_string()
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([sig, &self.pid()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {sig}");
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill(); // SIGKILL also ends a stopped process.
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn wait_for_ping(url: &str, dir: &Path) {
    let start = Instant::now();
    loop {
        let pong = redis::Client::open(url)
            .and_then(|c| c.get_connection())
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
        if pong.is_ok() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the private redis-server in {} did not start",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Records `obligation` and expects `Unavailable` well before any hang would end.
async fn expect_unavailable(store: &RedisReplayStore, obligation: &ReplayObligation, why: &str) {
    let start = Instant::now();
    let err = store.record(obligation, T0).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unavailable, "{why}: {err:?}");
    assert_eq!(
        err.message(),
        "the replay store cannot answer; try again",
        "{why}"
    );
    // Not a measurement: a bound generous enough for a loaded machine, far below a hang.
    let bound = store.deadline() + Duration::from_secs(2);
    assert!(start.elapsed() < bound, "{why}: took {:?}", start.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_closed_when_redis_hangs_dies_or_fills_and_recovers_by_itself() {
    // Private server only: the shared one is never stopped or reconfigured.
    if redis_url().is_none() {
        return;
    }
    let Some(mut server) = PrivateRedis::start() else {
        return;
    };
    let url = server.url();
    let store = RedisReplayStore::connect(&url, "pa:", DEFAULT_REDIS_DEADLINE)
        .await
        .unwrap();
    let ttl = Duration::from_secs(60);
    store.record(&once("f", "0", ttl), T0).await.unwrap();
    store.record(&counter("f", 1), T0).await.unwrap();

    // Hung: the process is stopped, the socket still accepts bytes.
    server.signal("-STOP");
    expect_unavailable(&store, &once("f", "1", ttl), "hung, single use").await;
    expect_unavailable(&store, &counter("f", 2), "hung, counter").await;
    // No obligation, no round trip: a hung Redis does not matter.
    store.record(&ReplayObligation::None, T0).await.unwrap();
    let hung_connect = RedisReplayStore::connect(&url, "pa:", DEFAULT_REDIS_DEADLINE).await;
    assert_eq!(
        hung_connect.unwrap_err().code(),
        ErrorCode::Unavailable,
        "connect to a hung server"
    );

    // Refused: the process is gone.
    server.kill();
    for i in 0..3 {
        expect_unavailable(&store, &once("f", &format!("r{i}"), ttl), "refused").await;
    }
    expect_unavailable(&store, &counter("f", 3), "refused, counter").await;
    let refused_connect = RedisReplayStore::connect(&url, "pa:", DEFAULT_REDIS_DEADLINE).await;
    assert_eq!(refused_connect.unwrap_err().code(), ErrorCode::Unavailable);

    // Back on the same port (empty: nothing was saved): the same store works again.
    server.spawn();
    let start = Instant::now();
    loop {
        match store.record(&once("f", "back", ttl), T0).await {
            Ok(()) => break,
            Err(e) => assert_eq!(e.code(), ErrorCode::Unavailable),
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the store did not reconnect"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        store
            .record(&once("f", "back", ttl), T0)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Replayed
    );
    store.record(&counter("f", 1), T0).await.unwrap(); // the script is loaded again
    store.ping().await.unwrap();

    // Full: writes are refused with OOM under noeviction, and that is Unavailable.
    let mut admin = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "maxmemory", "1"])
        .query(&mut admin)
        .unwrap();
    expect_unavailable(&store, &once("f", "full", ttl), "full, single use").await;
    expect_unavailable(&store, &counter("f", 2), "full, counter").await;
    // An evicting Redis could forget replay keys: refused at connect.
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "maxmemory", "0"])
        .query(&mut admin)
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "maxmemory-policy", "allkeys-lru"])
        .query(&mut admin)
        .unwrap();
    let evicting = RedisReplayStore::connect(&url, "pa:", DEFAULT_REDIS_DEADLINE)
        .await
        .unwrap_err();
    assert_eq!(evicting.code(), ErrorCode::Unavailable);
    assert!(evicting.message().contains("noeviction"), "{evicting:?}");
    server.kill();
}
