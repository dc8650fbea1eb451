//! Replay state behind an async trait: single-use nonces and signatures (`SET NX` with a TTL)
//! and strictly increasing per-key counters (Qredo `x-nonce`). The in-memory store wraps
//! auth-core's bounded caches; the service brings a Redis one for many instances.

use super::resolver::{BoxFuture, StoreUnavailable};
use auth_core::UnixTime;
use auth_core::replay::{MonotonicNonces, ReplayCache};
use std::sync::Mutex;
use std::time::Duration;

/// What the replay store said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayVerdict {
    /// First time seen: recorded.
    Fresh,
    /// Seen before (or not increasing): reject.
    Replayed,
}

/// Where replay state lives.
pub trait ReplayStore: Send + Sync + 'static {
    /// Records `key` for `ttl` unless it is already recorded (`SET key NX PX ttl`).
    fn check_and_insert<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
        now: UnixTime,
    ) -> BoxFuture<'a, Result<ReplayVerdict, StoreUnavailable>>;

    /// Accepts `value` only if it is greater than the last one accepted for `key`.
    fn advance<'a>(
        &'a self,
        key: &'a str,
        value: u64,
    ) -> BoxFuture<'a, Result<ReplayVerdict, StoreUnavailable>>;
}

/// In-process replay state, bounded; refuses (as unavailable) rather than forgets when full.
pub struct MemoryReplayStore {
    seen: Mutex<ReplayCache>,
    counters: Mutex<MonotonicNonces>,
}

impl MemoryReplayStore {
    /// Holds at most `capacity` live entries of each kind.
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: Mutex::new(ReplayCache::new(capacity)),
            counters: Mutex::new(MonotonicNonces::new(capacity)),
        }
    }
}

impl Default for MemoryReplayStore {
    fn default() -> Self {
        Self::new(1_000_000)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ReplayStore for MemoryReplayStore {
    fn check_and_insert<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
        now: UnixTime,
    ) -> BoxFuture<'a, Result<ReplayVerdict, StoreUnavailable>> {
        Box::pin(async move {
            match lock(&self.seen).check_and_insert(key, now, ttl) {
                Ok(()) => Ok(ReplayVerdict::Fresh),
                Err(e) if e.code() == auth_core::ErrorCode::Replayed => Ok(ReplayVerdict::Replayed),
                Err(e) => Err(StoreUnavailable(e.message().to_owned())),
            }
        })
    }

    fn advance<'a>(
        &'a self,
        key: &'a str,
        value: u64,
    ) -> BoxFuture<'a, Result<ReplayVerdict, StoreUnavailable>> {
        Box::pin(async move {
            match lock(&self.counters).check_and_update(key, value) {
                Ok(()) => Ok(ReplayVerdict::Fresh),
                Err(e) if e.code() == auth_core::ErrorCode::Replayed => Ok(ReplayVerdict::Replayed),
                Err(e) => Err(StoreUnavailable(e.message().to_owned())),
            }
        })
    }
}
