//! Replay policy, pure: whether a claimed time is fresh, the replay-cache key of a nonce
//! (scoped by key ID), the strictly-increasing rule for Qredo `x-nonce`, and bounded
//! in-memory stores for both with the time passed in. The Redis-backed store of the service
//! follows the same rules (`SET key NX PX ttl`).
//!
//! Both in-memory stores fail closed: when full of live entries they refuse new ones
//! ([`ErrorCode::TooLarge`]) rather than forget an entry and let a replay through.

use crate::error::{Error, ErrorCode, Result};
use crate::time::UnixTime;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

/// Longest nonce accepted (bytes).
pub const MAX_NONCE_LEN: usize = 256;
/// Longest key ID accepted in a cache key (bytes).
pub const MAX_KEY_ID_LEN: usize = 512;

/// How far a claimed time may lie in the past and in the future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreshnessWindow {
    /// Oldest acceptable age.
    pub max_age: Duration,
    /// How far ahead of `now` a claim may be (clock skew).
    pub max_future: Duration,
}

impl FreshnessWindow {
    /// A symmetric window `±window` (Qredo's `x-timestamp`).
    pub const fn symmetric(window: Duration) -> Self {
        Self {
            max_age: window,
            max_future: window,
        }
    }

    /// How long a nonce must be remembered so that it cannot be replayed while its claimed
    /// time is still fresh: `max_age + max_future`.
    pub fn retention(&self) -> Duration {
        self.max_age.saturating_add(self.max_future)
    }
}

/// Whether `claimed` is fresh at `now`: not older than `max_age`, not later than
/// `now + max_future`. Either failure is [`ErrorCode::StaleTimestamp`].
pub fn check_fresh(claimed: UnixTime, now: UnixTime, window: FreshnessWindow) -> Result<()> {
    if claimed > now.saturating_add(window.max_future) {
        return Err(Error::new(
            ErrorCode::StaleTimestamp,
            "the timestamp is in the future; check the sender's clock",
        ));
    }
    if now.saturating_sub(window.max_age) > claimed {
        return Err(Error::new(
            ErrorCode::StaleTimestamp,
            format!(
                "the timestamp is older than {} s; sign the request again",
                window.max_age.as_secs()
            ),
        ));
    }
    Ok(())
}

/// The replay-cache key of `nonce` presented with `key_id` under `scheme`: nonces are
/// scoped by key, so one partner cannot burn another's nonces. The key ID is
/// length-prefixed so no two (key ID, nonce) pairs share a cache key.
pub fn nonce_cache_key(scheme: &str, key_id: &str, nonce: &str) -> Result<String> {
    if nonce.is_empty() || nonce.len() > MAX_NONCE_LEN {
        return Err(Error::malformed(format!(
            "a nonce must have 1 to {MAX_NONCE_LEN} bytes"
        )));
    }
    if key_id.len() > MAX_KEY_ID_LEN {
        return Err(Error::new(ErrorCode::TooLarge, "the key ID is too long"));
    }
    Ok(format!("replay:{scheme}:{}:{key_id}:{nonce}", key_id.len()))
}

/// The strictly-increasing rule for Qredo `x-nonce`: `presented` must exceed the last
/// accepted nonce of the key. A repeat or a smaller value is [`ErrorCode::Replayed`].
pub fn check_monotonic(last: Option<u64>, presented: u64) -> Result<()> {
    match last {
        Some(l) if presented <= l => Err(Error::new(
            ErrorCode::Replayed,
            "x-nonce must be greater than the last nonce used with this key",
        )),
        _ => Ok(()),
    }
}

/// A bounded in-memory set of seen nonces, each remembered until its expiry. Wrap it in a
/// `Mutex` to share it between threads.
#[derive(Debug)]
pub struct ReplayCache {
    capacity: usize,
    expiry_of: HashMap<String, UnixTime>,
    by_expiry: BTreeSet<(UnixTime, String)>,
}

impl ReplayCache {
    /// A cache holding at most `capacity` live entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            expiry_of: HashMap::new(),
            by_expiry: BTreeSet::new(),
        }
    }

    /// Live entries (after the last purge).
    pub fn len(&self) -> usize {
        self.expiry_of.len()
    }

    /// Whether the cache holds no entries.
    pub fn is_empty(&self) -> bool {
        self.expiry_of.is_empty()
    }

    /// Forgets every entry whose expiry is at or before `now`.
    pub fn purge(&mut self, now: UnixTime) {
        while let Some((t, _)) = self.by_expiry.first() {
            if *t > now {
                break;
            }
            if let Some((_, k)) = self.by_expiry.pop_first() {
                self.expiry_of.remove(&k);
            }
        }
    }

    /// Records `key` (from [`nonce_cache_key`]) until `now + retention`. A key still
    /// remembered is [`ErrorCode::Replayed`]; a full cache is [`ErrorCode::TooLarge`].
    pub fn check_and_insert(
        &mut self,
        key: &str,
        now: UnixTime,
        retention: Duration,
    ) -> Result<()> {
        self.purge(now);
        if self.expiry_of.contains_key(key) {
            return Err(Error::new(
                ErrorCode::Replayed,
                "this nonce was already used; send a fresh one",
            ));
        }
        if self.expiry_of.len() >= self.capacity {
            return Err(Error::new(
                ErrorCode::TooLarge,
                "the replay cache is full; try again shortly",
            ));
        }
        let expiry = now.saturating_add(retention);
        self.expiry_of.insert(key.to_owned(), expiry);
        self.by_expiry.insert((expiry, key.to_owned()));
        Ok(())
    }
}

/// The last accepted Qredo `x-nonce` per key, bounded in the number of keys.
#[derive(Debug)]
pub struct MonotonicNonces {
    capacity: usize,
    last: HashMap<String, u64>,
}

impl MonotonicNonces {
    /// A store for at most `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            last: HashMap::new(),
        }
    }

    /// The last accepted nonce of `key_id`.
    pub fn last(&self, key_id: &str) -> Option<u64> {
        self.last.get(key_id).copied()
    }

    /// Accepts `nonce` for `key_id` if it is greater than the last one, and remembers it.
    /// A store full of other keys refuses new keys ([`ErrorCode::TooLarge`]).
    pub fn check_and_update(&mut self, key_id: &str, nonce: u64) -> Result<()> {
        check_monotonic(self.last(key_id), nonce)?;
        if let Some(slot) = self.last.get_mut(key_id) {
            *slot = nonce;
            return Ok(());
        }
        if key_id.len() > MAX_KEY_ID_LEN {
            return Err(Error::new(ErrorCode::TooLarge, "the key ID is too long"));
        }
        if self.last.len() >= self.capacity {
            return Err(Error::new(
                ErrorCode::TooLarge,
                "the nonce store is full; raise its capacity",
            ));
        }
        self.last.insert(key_id.to_owned(), nonce);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const T0: UnixTime = UnixTime::from_secs(1_700_000_000);

    #[test]
    fn freshness_edges() {
        let w = FreshnessWindow {
            max_age: Duration::from_secs(300),
            max_future: Duration::from_secs(5),
        };
        check_fresh(T0, T0, w).unwrap();
        check_fresh(T0, T0.saturating_add(Duration::from_secs(300)), w).unwrap();
        check_fresh(T0.saturating_add(Duration::from_secs(5)), T0, w).unwrap();
        for (claimed, now) in [
            (T0, T0.saturating_add(Duration::from_millis(300_001))),
            (T0.saturating_add(Duration::from_millis(5_001)), T0),
        ] {
            assert_eq!(
                check_fresh(claimed, now, w).unwrap_err().code(),
                ErrorCode::StaleTimestamp
            );
        }
        assert_eq!(w.retention(), Duration::from_secs(305));
    }

    #[test]
    fn cache_keys_are_scoped_and_unambiguous() {
        let a = nonce_cache_key("rfc9421", "a:b", "c").unwrap();
        let b = nonce_cache_key("rfc9421", "a", "b:c").unwrap();
        assert_ne!(a, b);
        assert_ne!(
            nonce_cache_key("rfc9421", "k1", "n").unwrap(),
            nonce_cache_key("rfc9421", "k2", "n").unwrap()
        );
        assert!(nonce_cache_key("x", "k", "").is_err());
        assert!(nonce_cache_key("x", "k", &"n".repeat(257)).is_err());
    }

    #[test]
    fn cache_rejects_replays_until_expiry_and_fails_closed_when_full() {
        let mut c = ReplayCache::new(2);
        let ttl = Duration::from_secs(10);
        c.check_and_insert("a", T0, ttl).unwrap();
        assert_eq!(
            c.check_and_insert("a", T0.saturating_add(Duration::from_secs(9)), ttl)
                .unwrap_err()
                .code(),
            ErrorCode::Replayed
        );
        c.check_and_insert("b", T0, ttl).unwrap();
        assert_eq!(
            c.check_and_insert("c", T0, ttl).unwrap_err().code(),
            ErrorCode::TooLarge
        );
        // After expiry both slots free up and "a" is new again.
        let later = T0.saturating_add(Duration::from_secs(10));
        c.check_and_insert("a", later, ttl).unwrap();
        c.check_and_insert("c", later, ttl).unwrap();
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn nonces_must_strictly_increase_per_key() {
        let mut m = MonotonicNonces::new(1);
        m.check_and_update("k", 5).unwrap();
        for n in [5, 4, 0] {
            assert_eq!(
                m.check_and_update("k", n).unwrap_err().code(),
                ErrorCode::Replayed
            );
        }
        m.check_and_update("k", 6).unwrap();
        assert_eq!(m.last("k"), Some(6));
        assert_eq!(
            m.check_and_update("other", 1).unwrap_err().code(),
            ErrorCode::TooLarge
        );
        check_monotonic(None, 0).unwrap();
    }
}
