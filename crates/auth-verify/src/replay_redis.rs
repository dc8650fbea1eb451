//! Replay state in Redis, shared by every instance: [`RedisReplayStore`] executes the
//! [`ReplayObligation`]s verification returns with the same answers and error codes as
//! auth-http's in-memory [`MemoryReplayStore`](auth_http::server::MemoryReplayStore).
//!
//! - `SingleUse { key, ttl }` is `SET <prefix><key> 1 NX PX <ttl ms>`: `OK` is fresh, nil is
//!   [`ErrorCode::Replayed`]. The TTL is rounded up to whole milliseconds (never forgotten
//!   early) and counts on Redis's clock from the moment the key is set.
//! - `Monotonic { key, value }` runs [`MONOTONIC_SCRIPT`] (`EVALSHA`, falling back to loading the
//!   script on `NOSCRIPT`): it stores `value` only if it is strictly greater than the stored one,
//!   atomically. Values are compared as canonical decimal strings, not Lua numbers, because a
//!   Lua number (a double) cannot tell `2^53` from `2^53 + 1`. The counter key has **no TTL**:
//!   the in-memory store never forgets a counter either, the strictly-increasing rule must hold
//!   for the credential's whole life (a forgotten counter would accept any old captured nonce
//!   that is still otherwise valid), and there is one small key per credential, so memory is
//!   bounded by the number of credentials, not by traffic.
//! - `None` is `Ok` without a round trip.
//!
//! Keys are a configurable prefix followed by the [`ReplayKey`] text, which carries exactly one
//! `{purpose:credential}` hash tag: every key of a credential lands on one Redis Cluster slot and
//! each command or script touches exactly one key, so the same commands work on a cluster. The
//! prefix may not contain braces (Redis would take the prefix's braces as the hash tag).
//!
//! **Fails closed.** Every call runs under one deadline (connection, command and script reload
//! together); any Redis error, a refused or hung server, or the deadline is
//! [`ErrorCode::Unavailable`] ("the replay store cannot answer; try again"), never `Ok`. The
//! [`ConnectionManager`] reconnects by itself, so the store works again when Redis returns,
//! without being rebuilt. A full Redis (`maxmemory` reached under `noeviction`) refuses writes
//! with `OOM`, which is also `Unavailable`. An *evicting* Redis would silently forget replay keys
//! and let replays through, so [`RedisReplayStore::connect`] refuses a server whose
//! `maxmemory-policy` is anything but `noeviction` (when `CONFIG GET` is not allowed, as on some
//! managed services, it logs a warning and trusts the operator).
//!
//! **No per-credential quota** (the in-memory store's [`ErrorCode::RateLimited`] share of its
//! bounded cache). In memory the quota keeps one busy credential from filling a cache every
//! credential shares. Here the bound is Redis's `maxmemory`, sized for the fleet's traffic
//! (live keys = requests per second x TTL); the per-credential and per-partner rate limits
//! enforced across instances through Redis bound how fast one credential can add keys, and a
//! second counter key plus a script on every signed request would duplicate them at the cost
//! of the single `SET NX PX` round trip. A credential that floods Redis until it is full makes
//! requests fail closed (503), it never lets a replay through.

use auth_core::replay::{ReplayKey, ReplayObligation};
use auth_core::{Error, ErrorCode, UnixTime};
use auth_http::BoxFuture;
use auth_http::server::ReplayStore;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script, Value};
use std::future::Future;
use std::time::Duration;

/// Default deadline of one replay-store call (connection, command and any script reload).
pub const DEFAULT_REDIS_DEADLINE: Duration = Duration::from_millis(250);

/// Default prefix of every key the store writes.
pub const DEFAULT_REDIS_PREFIX: &str = "pa:";

/// Stores `ARGV[1]` under `KEYS[1]` only if it is strictly greater than the stored value;
/// returns 1 when stored, 0 when not greater. Both values are canonical decimal `u64`s (no
/// sign, no leading zeros), so a longer string is a larger number and equal lengths compare
/// as text.
pub const MONOTONIC_SCRIPT: &str = r"
local cur = redis.call('GET', KEYS[1])
local new = ARGV[1]
if cur and (#new < #cur or (#new == #cur and new <= cur)) then
  return 0
end
redis.call('SET', KEYS[1], new)
return 1
";

const UNAVAILABLE: &str = "the replay store cannot answer; try again";
// The same messages as auth-core's in-memory stores, so a caller cannot tell them apart.
const REPLAYED: &str = "this request was already received; sign a new one";
const NOT_INCREASING: &str = "x-nonce must be greater than the last nonce used with this key";

/// Replay state in Redis: see the [module documentation](self).
#[derive(Clone)]
pub struct RedisReplayStore {
    conn: ConnectionManager,
    prefix: String,
    deadline: Duration,
    monotonic: Script,
}

impl std::fmt::Debug for RedisReplayStore {
    // The connection's Debug names the server URL, which may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisReplayStore")
            .field("prefix", &self.prefix)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

fn unavailable() -> Error {
    Error::new(ErrorCode::Unavailable, UNAVAILABLE)
}

impl RedisReplayStore {
    /// Connects to `url` (`redis://[:password@]host:port[/db]`, `rediss://` is not built in),
    /// writing keys under `prefix` (e.g. [`DEFAULT_REDIS_PREFIX`]), every call under `deadline`
    /// (e.g. [`DEFAULT_REDIS_DEADLINE`]). Fails with [`ErrorCode::Malformed`] for a bad URL or
    /// prefix, and [`ErrorCode::Unavailable`] when Redis does not answer within the deadline or
    /// evicts keys (see the module documentation).
    pub async fn connect(url: &str, prefix: &str, deadline: Duration) -> Result<Self, Error> {
        if prefix.contains(['{', '}']) {
            return Err(Error::malformed(
                "the Redis key prefix may not contain '{' or '}' (they would replace the credential's hash tag)",
            ));
        }
        // The URL is not echoed: it may carry a password.
        let client = Client::open(url).map_err(|_| {
            Error::malformed("the Redis URL is not valid; expected redis://host:port[/db]")
        })?;
        // The crate's own timeouts follow the deadline so a hung server's connection is
        // abandoned and rebuilt; retries are few and short because the deadline, not the
        // backoff, decides when a request gives up, and a new request starts a new attempt.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(deadline))
            .set_response_timeout(Some(deadline))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(Duration::from_millis(100));
        let conn =
            tokio::time::timeout(deadline, ConnectionManager::new_with_config(client, config))
                .await
                .map_err(|_| unavailable())?
                .map_err(|e| {
                    tracing::warn!(error = %e, "cannot connect to the Redis replay store");
                    unavailable()
                })?;
        let store = Self {
            conn,
            prefix: prefix.to_owned(),
            deadline,
            monotonic: Script::new(MONOTONIC_SCRIPT),
        };
        store.check_eviction_policy().await?;
        Ok(store)
    }

    /// The prefix of every key.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The deadline of every call.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// The Redis key of `key`.
    pub fn redis_key(&self, key: &ReplayKey) -> String {
        let mut k = String::with_capacity(self.prefix.len() + key.as_str().len());
        k.push_str(&self.prefix);
        k.push_str(key.as_str());
        k
    }

    /// Whether Redis answers `PING` within the deadline (for `/readyz`).
    pub async fn ping(&self) -> Result<(), Error> {
        let mut conn = self.conn.clone();
        let reply: String = self
            .bounded(async move { redis::cmd("PING").query_async(&mut conn).await })
            .await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(unavailable())
        }
    }

    /// Refuses a Redis that evicts keys: an evicted replay key is a replay let through. A
    /// server that refuses `CONFIG` is trusted with a warning; one that does not answer is
    /// unavailable.
    async fn check_eviction_policy(&self) -> Result<(), Error> {
        let mut conn = self.conn.clone();
        let reply = tokio::time::timeout(self.deadline, async move {
            redis::cmd("CONFIG")
                .arg("GET")
                .arg("maxmemory-policy")
                .query_async::<Value>(&mut conn)
                .await
        })
        .await
        .map_err(|_| unavailable())?;
        let policy = match reply {
            Ok(v) => policy_of(&v),
            Err(e) if matches!(e.kind(), redis::ErrorKind::Server(_)) => None,
            Err(e) => {
                tracing::warn!(error = %e, "the Redis replay store failed");
                return Err(unavailable());
            }
        };
        match policy.as_deref() {
            Some("noeviction") => Ok(()),
            Some(other) => Err(Error::new(
                ErrorCode::Unavailable,
                format!(
                    "the Redis replay store evicts keys (maxmemory-policy {other}); set maxmemory-policy noeviction so that a full Redis refuses writes instead of forgetting replay keys"
                ),
            )),
            None => {
                tracing::warn!(
                    "cannot read the Redis maxmemory-policy (CONFIG GET refused?); make sure it is noeviction, or replays may pass when Redis is full"
                );
                Ok(())
            }
        }
    }

    /// Runs `op` under the deadline; any error or timeout is [`ErrorCode::Unavailable`].
    async fn bounded<T>(
        &self,
        op: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.deadline, op).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the Redis replay store failed");
                Err(unavailable())
            }
            Err(_) => {
                tracing::warn!(deadline = ?self.deadline, "the Redis replay store missed its deadline");
                Err(unavailable())
            }
        }
    }

    async fn single_use(&self, key: &ReplayKey, ttl: Duration) -> Result<(), Error> {
        let mut conn = self.conn.clone();
        let redis_key = self.redis_key(key);
        let ms = ttl_millis(ttl);
        let reply: Value = self
            .bounded(async move {
                redis::cmd("SET")
                    .arg(&redis_key)
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(ms)
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        match reply {
            Value::Okay => Ok(()),
            Value::SimpleString(s) if s == "OK" => Ok(()),
            Value::Nil => Err(Error::new(ErrorCode::Replayed, REPLAYED)),
            // Anything else is not an answer we understand: refuse.
            _ => Err(unavailable()),
        }
    }

    async fn monotonic(&self, key: &ReplayKey, value: u64) -> Result<(), Error> {
        let mut conn = self.conn.clone();
        let mut invocation = self.monotonic.key(self.redis_key(key));
        invocation.arg(value.to_string());
        let stored: i64 = self
            .bounded(async move { invocation.invoke_async(&mut conn).await })
            .await?;
        match stored {
            1 => Ok(()),
            0 => Err(Error::new(ErrorCode::Replayed, NOT_INCREASING)),
            _ => Err(unavailable()),
        }
    }
}

/// The TTL in whole milliseconds, rounded up, at least 1 (Redis refuses `PX 0`).
fn ttl_millis(ttl: Duration) -> u64 {
    let ms = ttl.as_nanos().div_ceil(1_000_000).max(1);
    // Redis takes a signed 64-bit expiry; a longer TTL than that is "forever" anyway.
    u64::try_from(ms).map_or(i64::MAX as u64, |m| m.min(i64::MAX as u64))
}

/// The policy out of a `CONFIG GET` reply (RESP2 array or RESP3 map).
fn policy_of(v: &Value) -> Option<String> {
    let text = |v: &Value| match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    };
    match v {
        Value::Array(items) => items.get(1).and_then(text),
        Value::Map(pairs) => pairs.first().and_then(|(_, v)| text(v)),
        _ => None,
    }
}

impl ReplayStore for RedisReplayStore {
    fn record<'a>(
        &'a self,
        obligation: &'a ReplayObligation,
        _now: UnixTime,
    ) -> BoxFuture<'a, Result<(), Error>> {
        match obligation {
            ReplayObligation::None => Box::pin(std::future::ready(Ok(()))),
            ReplayObligation::SingleUse { key, ttl } => Box::pin(self.single_use(key, *ttl)),
            ReplayObligation::Monotonic { key, value } => Box::pin(self.monotonic(key, *value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rounds_up_and_never_reaches_zero() {
        assert_eq!(ttl_millis(Duration::ZERO), 1);
        assert_eq!(ttl_millis(Duration::from_micros(1)), 1);
        assert_eq!(ttl_millis(Duration::from_micros(1_001)), 2);
        assert_eq!(ttl_millis(Duration::from_secs(305)), 305_000);
        assert_eq!(ttl_millis(Duration::MAX), i64::MAX as u64);
    }

    #[test]
    fn policy_reads_both_reply_shapes() {
        let name = Value::BulkString(b"maxmemory-policy".to_vec());
        let policy = Value::BulkString(b"noeviction".to_vec());
        assert_eq!(
            policy_of(&Value::Array(vec![name.clone(), policy.clone()])).as_deref(),
            Some("noeviction")
        );
        assert_eq!(
            policy_of(&Value::Map(vec![(name, policy)])).as_deref(),
            Some("noeviction")
        );
        assert_eq!(policy_of(&Value::Array(vec![])), None);
    }
}
