//! A caching [`KeyResolver`]: answers (including "not registered") are kept for a TTL in one
//! map bounded by size with CLOCK (second-chance) eviction, keyed by the same
//! [`CredentialRef`] that invalidates them. A generation counter makes invalidation safe
//! against lookups in flight: an answer fetched while any invalidation happened is returned
//! to its caller but never written back, so a revoked key is not served from the cache.

use super::resolver::{KeyResolver, Lookup};
use crate::BoxFuture;
use auth_core::credential::{Credential, CredentialRef};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Default number of cached answers.
pub const DEFAULT_CACHE_ENTRIES: usize = 10_000;

struct Entry {
    fetched: Instant,
    value: Option<Arc<Credential>>,
    /// Set by every hit, cleared when the eviction hand passes (CLOCK's second chance).
    referenced: bool,
}

/// A map bounded by `capacity` that evicts with the CLOCK algorithm: an approximation of
/// least-recently-used in which a hit only sets a flag (no reordering, no allocation), and
/// eviction walks the ring of keys in insertion order, sparing each recently used one once.
struct Lru {
    capacity: usize,
    entries: HashMap<CredentialRef, Entry>,
    /// Every key of `entries` once, in the order the hand visits them; keys removed from
    /// `entries` are skipped (and dropped) when the hand reaches them.
    ring: VecDeque<CredentialRef>,
}

impl Lru {
    fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            ring: VecDeque::new(),
        }
    }

    fn get(&mut self, key: &CredentialRef, ttl: Duration) -> Option<Option<Arc<Credential>>> {
        let entry = self.entries.get_mut(key)?;
        if entry.fetched.elapsed() >= ttl {
            self.entries.remove(key);
            return None;
        }
        entry.referenced = true;
        Some(entry.value.clone())
    }

    fn put(&mut self, key: CredentialRef, value: Option<Arc<Credential>>) {
        let entry = Entry {
            fetched: Instant::now(),
            value,
            referenced: false,
        };
        if let Some(slot) = self.entries.get_mut(&key) {
            *slot = entry;
            return;
        }
        while self.entries.len() >= self.capacity {
            if !self.evict_one() {
                // The ring lost track of the map (cannot happen; kept total): rebuild it.
                self.ring = self.entries.keys().cloned().collect();
                if self.ring.is_empty() {
                    break;
                }
            }
        }
        // Removed keys leave stale slots (dropped as the hand passes) and a key put again
        // after a removal gets a second slot; compact the ring before it outgrows the map.
        if self.ring.len() >= self.capacity.saturating_mul(2) {
            let entries = &self.entries;
            let mut seen = std::collections::HashSet::with_capacity(entries.len());
            self.ring
                .retain(|k| entries.contains_key(k) && seen.insert(k.clone()));
        }
        self.ring.push_back(key.clone());
        self.entries.insert(key, entry);
    }

    /// Evicts the first entry the hand finds unreferenced; false if the ring ran out.
    fn evict_one(&mut self) -> bool {
        while let Some(key) = self.ring.pop_front() {
            match self.entries.get_mut(&key) {
                None => {}
                Some(entry) if entry.referenced => {
                    entry.referenced = false;
                    self.ring.push_back(key);
                }
                Some(_) => {
                    self.entries.remove(&key);
                    return true;
                }
            }
        }
        false
    }

    /// Removes `key` and every entry whose answer is the credential `key` names (an alias
    /// such as a JWT key's `clientId` caches the same credential under another reference).
    fn remove(&mut self, key: &CredentialRef) {
        self.entries.retain(|k, e| {
            let names_it = k == key || e.value.as_ref().is_some_and(|c| c.reference() == *key);
            !names_it
        });
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.ring.clear();
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

    #[test]
    fn clock_eviction_spares_recently_used_entries_and_stays_bounded() {
        let r = |i: usize| CredentialRef::parse(Purpose::ApiKey, &format!("k{i}")).unwrap();
        let ttl = Duration::from_secs(3600);
        let mut lru = Lru::new(3);
        for i in 0..3 {
            lru.put(r(i), None);
        }
        // k0 is used; inserting k3 evicts the oldest unused entry, k1.
        assert!(lru.get(&r(0), ttl).is_some());
        lru.put(r(3), None);
        assert!(lru.get(&r(1), ttl).is_none());
        assert!(lru.get(&r(0), ttl).is_some());
        assert_eq!(lru.entries.len(), 3);
        // Removing and re-adding one key many times neither grows the ring past twice the
        // capacity nor breaks the bound.
        for _ in 0..100 {
            lru.remove(&r(0));
            lru.put(r(0), None);
        }
        assert!(lru.ring.len() <= 6, "{}", lru.ring.len());
        for i in 10..50 {
            lru.put(r(i), None);
            assert!(lru.entries.len() <= 3);
        }
    }
}
