//! Replay state behind an async trait: the layer hands the store the [`ReplayObligation`]
//! verification returned and accepts the request only when the store says it was fresh. The
//! in-memory store wraps auth-core's bounded [`ReplayLedger`]; the service brings a Redis one
//! for many instances (`SET NX PX`, a script for counters).

use crate::BoxFuture;
use auth_core::replay::{ReplayLedger, ReplayObligation};
use auth_core::{Error, UnixTime};
use std::sync::Mutex;

/// Where replay state lives.
pub trait ReplayStore: Send + Sync + 'static {
    /// Records `obligation` at `now`. `Ok` when fresh; otherwise an error coded
    /// [`auth_core::ErrorCode::Replayed`], [`auth_core::ErrorCode::RateLimited`] (this
    /// credential's quota is used up) or [`auth_core::ErrorCode::Unavailable`] (the store
    /// cannot answer or is full: the layer answers 503).
    fn record<'a>(
        &'a self,
        obligation: &'a ReplayObligation,
        now: UnixTime,
    ) -> BoxFuture<'a, Result<(), Error>>;
}

impl<S: ReplayStore + ?Sized> ReplayStore for std::sync::Arc<S> {
    fn record<'a>(
        &'a self,
        obligation: &'a ReplayObligation,
        now: UnixTime,
    ) -> BoxFuture<'a, Result<(), Error>> {
        (**self).record(obligation, now)
    }
}

/// Default capacity of the in-memory store (live single-use keys, and counters).
pub const DEFAULT_REPLAY_CAPACITY: usize = 1_000_000;
/// Default share of one credential: live single-use keys within the replay window.
pub const DEFAULT_REPLAY_QUOTA: usize = 100_000;

/// In-process replay state, bounded, with a quota per credential; refuses (as unavailable)
/// rather than forgets when full.
pub struct MemoryReplayStore {
    ledger: Mutex<ReplayLedger>,
}

impl MemoryReplayStore {
    /// Holds at most `capacity` live entries, at most `quota` per credential.
    pub fn new(capacity: usize, quota: usize) -> Self {
        Self {
            ledger: Mutex::new(ReplayLedger::new(capacity, quota)),
        }
    }
}

impl Default for MemoryReplayStore {
    fn default() -> Self {
        Self::new(DEFAULT_REPLAY_CAPACITY, DEFAULT_REPLAY_QUOTA)
    }
}

impl ReplayStore for MemoryReplayStore {
    fn record<'a>(
        &'a self,
        obligation: &'a ReplayObligation,
        now: UnixTime,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let result = self
            .ledger
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .execute(obligation, now);
        Box::pin(std::future::ready(result))
    }
}
