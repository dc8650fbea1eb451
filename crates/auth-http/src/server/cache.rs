//! A caching [`KeyResolver`]: answers (including "not registered") are kept for a TTL in one
//! map bounded by size with least-recently-used eviction, keyed by the same
//! [`CredentialRef`] that invalidates them. A generation counter makes invalidation safe
//! against lookups in flight: an answer fetched while any invalidation happened is returned
//! to its caller but never written back, so a revoked key is not served from the cache.

use super::resolver::{KeyResolver, Lookup};
use crate::BoxFuture;
use auth_core::credential::{Credential, CredentialRef};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Default number of cached answers.
pub const DEFAULT_CACHE_ENTRIES: usize = 10_000;

struct Entry {
    fetched: Instant,
    value: Option<Arc<Credential>>,
    used: u64,
}

/// A map bounded by `capacity` that evicts the least recently used entry.
struct Lru {
    capacity: usize,
    tick: u64,
    entries: HashMap<CredentialRef, Entry>,
    by_use: BTreeMap<u64, CredentialRef>,
}

impl Lru {
    fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            tick: 0,
            entries: HashMap::new(),
            by_use: BTreeMap::new(),
        }
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    fn get(&mut self, key: &CredentialRef, ttl: Duration) -> Option<Option<Arc<Credential>>> {
        let tick = self.next_tick();
        let entry = self.entries.get_mut(key)?;
        if entry.fetched.elapsed() >= ttl {
            let used = entry.used;
            self.entries.remove(key);
            self.by_use.remove(&used);
            return None;
        }
        self.by_use.remove(&entry.used);
        entry.used = tick;
        self.by_use.insert(tick, key.clone());
        Some(entry.value.clone())
    }

    fn put(&mut self, key: CredentialRef, value: Option<Arc<Credential>>) {
        let tick = self.next_tick();
        if let Some(old) = self.entries.remove(&key) {
            self.by_use.remove(&old.used);
        }
        while self.entries.len() >= self.capacity {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
        self.by_use.insert(tick, key.clone());
        self.entries.insert(
            key,
            Entry {
                fetched: Instant::now(),
                value,
                used: tick,
            },
        );
    }

    /// Removes `key` and every entry whose answer is the credential `key` names (an alias
    /// such as a JWT key's `clientId` caches the same credential under another reference).
    fn remove(&mut self, key: &CredentialRef) {
        let stale: Vec<CredentialRef> = self
            .entries
            .iter()
            .filter(|(k, e)| *k == key || e.value.as_ref().is_some_and(|c| c.reference() == *key))
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            if let Some(old) = self.entries.remove(&k) {
                self.by_use.remove(&old.used);
            }
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.by_use.clear();
    }
}

/// How often the cache answered and how often it asked the wrapped resolver, since it was
/// built. Counters only grow (wrapping after 2^64), as Prometheus counters expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Lookups answered from the cache (including cached "not registered" answers).
    pub hits: u64,
    /// Lookups passed on to the wrapped resolver (absent or expired entries).
    pub misses: u64,
}

/// Caches `inner`'s answers for `ttl`, at most `capacity` of them.
pub struct CachingResolver<R> {
    inner: R,
    ttl: Duration,
    generation: AtomicU64,
    map: Mutex<Lru>,
    // Relaxed atomics: statistics need no ordering with the map, and a lock would cost the
    // hot path more than the count is worth.
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<R: KeyResolver> CachingResolver<R> {
    /// Caches `inner`'s answers for `ttl`, at most [`DEFAULT_CACHE_ENTRIES`].
    pub fn new(inner: R, ttl: Duration) -> Self {
        Self::with_capacity(inner, ttl, DEFAULT_CACHE_ENTRIES)
    }

    /// Caches at most `capacity` answers.
    pub fn with_capacity(inner: R, ttl: Duration, capacity: usize) -> Self {
        Self {
            inner,
            ttl,
            generation: AtomicU64::new(0),
            map: Mutex::new(Lru::new(capacity)),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The wrapped resolver.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// Cached answers now held.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Hits and misses so far (for metrics).
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets `reference` and every cached alias of the same credential (call it after every
    /// change of that credential). Scans the map: invalidations are rare, lookups are not.
    pub fn invalidate(&self, reference: &CredentialRef) {
        // Bump first: a lookup that started before this call must not write back.
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.lock().remove(reference);
    }

    /// Forgets everything (after a lost invalidation channel, for instance).
    pub fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<R: KeyResolver> KeyResolver for CachingResolver<R> {
    fn resolve<'a>(&'a self, reference: &'a CredentialRef) -> BoxFuture<'a, Lookup> {
        Box::pin(async move {
            if let Some(hit) = self.lock().get(reference, self.ttl) {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(hit);
            }
            self.misses.fetch_add(1, Ordering::Relaxed);
            let generation = self.generation.load(Ordering::SeqCst);
            let value = self.inner.resolve(reference).await?;
            let mut map = self.lock();
            // Checked under the lock that `invalidate` also takes after bumping: either the
            // bump is visible here, or the invalidation's removal comes after this write.
            if self.generation.load(Ordering::SeqCst) == generation {
                map.put(reference.clone(), value.clone());
            }
            Ok(value)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::credential::Purpose;

    struct Empty;

    impl KeyResolver for Empty {
        fn resolve<'a>(&'a self, _: &'a CredentialRef) -> BoxFuture<'a, Lookup> {
            Box::pin(async { Ok(None) })
        }
    }

    #[tokio::test]
    async fn stats_count_hits_misses_and_the_miss_after_invalidation() {
        let cache = CachingResolver::new(Empty, Duration::from_secs(60));
        let key = CredentialRef::parse(Purpose::HttpSignatureKey, "k1").unwrap();
        let other = CredentialRef::parse(Purpose::HttpSignatureKey, "k2").unwrap();
        assert_eq!(cache.stats(), CacheStats::default());
        cache.resolve(&key).await.unwrap();
        cache.resolve(&key).await.unwrap();
        cache.resolve(&other).await.unwrap();
        assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 2 });
        cache.invalidate(&key);
        cache.resolve(&key).await.unwrap();
        assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 3 });
    }
}
