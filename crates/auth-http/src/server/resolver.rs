//! How the layer finds keys: an async [`KeyResolver`] the provider implements over its store,
//! an in-memory one, and a caching wrapper whose entries can be invalidated (a revoked key
//! stops working at once in this process, and within the cache TTL everywhere else).

use auth_core::apikey::{ApiKeyDigest, ApiKeyRecord};
use auth_core::keys::VerifyingKey;
use auth_core::scheme::jwt::JwtKey;
use auth_core::scheme::smile::SmileKey;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

pub use crate::BoxFuture;

/// A store could not answer. The layer fails closed: the request gets 503, never a 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUnavailable(pub String);

impl std::fmt::Display for StoreUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "key store unavailable: {}", self.0)
    }
}

impl std::error::Error for StoreUnavailable {}

/// An API key's record and its owner.
#[derive(Debug, Clone)]
pub struct ApiKeyEntry {
    /// The partner the key belongs to.
    pub partner: String,
    /// Digest, environment, expiry, revocation.
    pub record: ApiKeyRecord,
    /// What the key may do.
    pub scopes: Arc<[String]>,
}

/// A registered verification key and its owner.
#[derive(Debug, Clone)]
pub struct KeyEntry {
    /// The partner the key belongs to.
    pub partner: String,
    /// The key ID it is registered under.
    pub key_id: String,
    /// The parsed key, bound to its algorithm.
    pub key: Arc<VerifyingKey>,
    /// What requests signed with it may do.
    pub scopes: Arc<[String]>,
}

/// A registered JWT verification key (HMAC secret or public key, bound to its algorithm).
#[derive(Clone)]
pub struct JwtEntry {
    /// The partner the key belongs to.
    pub partner: String,
    /// The prepared key (with `kid` and bound `clientId` when configured).
    pub key: Arc<JwtKey>,
    /// What tokens verified with it may do.
    pub scopes: Arc<[String]>,
}

impl std::fmt::Debug for JwtEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtEntry")
            .field("partner", &self.partner)
            .finish_non_exhaustive()
    }
}

/// A Smile partner's HMAC key (its API key, used as the HMAC secret).
#[derive(Clone)]
pub struct SmileEntry {
    /// The partner (the `partner_id` it signs with).
    pub partner: String,
    /// The prepared HMAC key.
    pub key: Arc<SmileKey>,
    /// What its requests may do.
    pub scopes: Arc<[String]>,
}

impl std::fmt::Debug for SmileEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmileEntry")
            .field("partner", &self.partner)
            .finish_non_exhaustive()
    }
}

/// Looks credentials up. Every method answers `Ok(None)` for "not registered" and
/// `Err(StoreUnavailable)` when it cannot tell.
pub trait KeyResolver: Send + Sync + 'static {
    /// An API key by the digest of the presented key.
    fn api_key<'a>(
        &'a self,
        digest: &'a ApiKeyDigest,
    ) -> BoxFuture<'a, Result<Option<ApiKeyEntry>, StoreUnavailable>>;

    /// A verification key by key ID (RFC 9421 `keyid`, JWT `kid`, Altalix `key_id`).
    fn verifying_key<'a>(
        &'a self,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<KeyEntry>, StoreUnavailable>>;

    /// Qredo: the public key registered for the partner whose `x-api-key` has this digest.
    fn qredo_key<'a>(
        &'a self,
        api_key: &'a ApiKeyDigest,
    ) -> BoxFuture<'a, Result<Option<KeyEntry>, StoreUnavailable>>;

    /// A JWT key by the token's `kid`, else by its `clientId`. Resolvers without JWT
    /// support keep the default: nothing is registered.
    fn jwt_key<'a>(
        &'a self,
        _kid: Option<&'a str>,
        _client_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<JwtEntry>, StoreUnavailable>> {
        Box::pin(async { Ok(None) })
    }

    /// A Smile partner's key by its `partner_id`. Default: nothing is registered.
    fn smile_key<'a>(
        &'a self,
        _partner_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SmileEntry>, StoreUnavailable>> {
        Box::pin(async { Ok(None) })
    }
}

fn jwt_cache_key(kid: Option<&str>, client_id: Option<&str>) -> String {
    format!("{}\u{0}{}", kid.unwrap_or(""), client_id.unwrap_or(""))
}

/// An in-memory resolver: the default for single-process use, examples and tests.
#[derive(Default)]
pub struct MemoryResolver {
    api_keys: RwLock<HashMap<ApiKeyDigest, ApiKeyEntry>>,
    keys: RwLock<HashMap<String, KeyEntry>>,
    qredo: RwLock<HashMap<ApiKeyDigest, String>>,
    jwt_by_kid: RwLock<HashMap<String, JwtEntry>>,
    jwt_by_client: RwLock<HashMap<String, JwtEntry>>,
    smile: RwLock<HashMap<String, SmileEntry>>,
    unavailable: std::sync::atomic::AtomicBool,
}

impl MemoryResolver {
    /// An empty resolver.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers an API key (by its record's digest).
    pub fn add_api_key(&self, entry: ApiKeyEntry) {
        write(&self.api_keys).insert(entry.record.digest, entry);
    }

    /// Replaces an API key's record (rotation, revocation, expiry change).
    pub fn update_api_key(&self, digest: &ApiKeyDigest, f: impl FnOnce(&mut ApiKeyEntry)) {
        if let Some(e) = write(&self.api_keys).get_mut(digest) {
            f(e);
        }
    }

    /// Registers a verification key under its key ID.
    pub fn add_key(&self, entry: KeyEntry) {
        write(&self.keys).insert(entry.key_id.clone(), entry);
    }

    /// Removes a verification key.
    pub fn remove_key(&self, key_id: &str) {
        write(&self.keys).remove(key_id);
    }

    /// Links a Qredo API key to the key ID of the partner's uploaded public key.
    pub fn link_qredo(&self, api_key: ApiKeyDigest, key_id: &str) {
        write(&self.qredo).insert(api_key, key_id.to_owned());
    }

    /// Registers a JWT key under its `kid` (if it has one) and for `client_id` (if given).
    pub fn add_jwt_key(&self, kid: Option<&str>, client_id: Option<&str>, entry: JwtEntry) {
        if let Some(kid) = kid {
            write(&self.jwt_by_kid).insert(kid.to_owned(), entry.clone());
        }
        if let Some(client) = client_id {
            write(&self.jwt_by_client).insert(client.to_owned(), entry);
        }
    }

    /// Registers a Smile partner's key under its partner ID.
    pub fn add_smile_key(&self, entry: SmileEntry) {
        write(&self.smile).insert(entry.partner.clone(), entry);
    }

    /// Simulates an outage: every lookup fails until switched back (tests the fail-closed path).
    pub fn set_unavailable(&self, down: bool) {
        self.unavailable
            .store(down, std::sync::atomic::Ordering::SeqCst);
    }

    fn check_up(&self) -> Result<(), StoreUnavailable> {
        if self.unavailable.load(std::sync::atomic::Ordering::SeqCst) {
            Err(StoreUnavailable(
                "the in-memory store is marked unavailable".into(),
            ))
        } else {
            Ok(())
        }
    }
}

// A poisoned lock means a panic elsewhere while holding it; the maps stay consistent
// (every write is a single insert/remove), so keep serving.
fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl KeyResolver for MemoryResolver {
    fn api_key<'a>(
        &'a self,
        digest: &'a ApiKeyDigest,
    ) -> BoxFuture<'a, Result<Option<ApiKeyEntry>, StoreUnavailable>> {
        Box::pin(async move {
            self.check_up()?;
            Ok(read(&self.api_keys).get(digest).cloned())
        })
    }

    fn verifying_key<'a>(
        &'a self,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<KeyEntry>, StoreUnavailable>> {
        Box::pin(async move {
            self.check_up()?;
            Ok(read(&self.keys).get(key_id).cloned())
        })
    }

    fn qredo_key<'a>(
        &'a self,
        api_key: &'a ApiKeyDigest,
    ) -> BoxFuture<'a, Result<Option<KeyEntry>, StoreUnavailable>> {
        Box::pin(async move {
            self.check_up()?;
            let id = read(&self.qredo).get(api_key).cloned();
            Ok(id.and_then(|id| read(&self.keys).get(&id).cloned()))
        })
    }

    fn jwt_key<'a>(
        &'a self,
        kid: Option<&'a str>,
        client_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<JwtEntry>, StoreUnavailable>> {
        Box::pin(async move {
            self.check_up()?;
            if let Some(kid) = kid {
                return Ok(read(&self.jwt_by_kid).get(kid).cloned());
            }
            Ok(client_id.and_then(|c| read(&self.jwt_by_client).get(c).cloned()))
        })
    }

    fn smile_key<'a>(
        &'a self,
        partner_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SmileEntry>, StoreUnavailable>> {
        Box::pin(async move {
            self.check_up()?;
            Ok(read(&self.smile).get(partner_id).cloned())
        })
    }
}

/// A resolver that caches answers (including "not registered") for `ttl`; call
/// [`CachingResolver::invalidate_all`] or the targeted invalidations when keys change.
pub struct CachingResolver<R> {
    inner: R,
    ttl: Duration,
    api_keys: RwLock<HashMap<ApiKeyDigest, (Instant, Option<ApiKeyEntry>)>>,
    keys: RwLock<HashMap<String, (Instant, Option<KeyEntry>)>>,
    qredo: RwLock<HashMap<ApiKeyDigest, (Instant, Option<KeyEntry>)>>,
    jwt: RwLock<HashMap<String, (Instant, Option<JwtEntry>)>>,
    smile: RwLock<HashMap<String, (Instant, Option<SmileEntry>)>>,
}

/// Most entries one cache map holds before it is cleared (bounds memory under key spraying).
const MAX_CACHE_ENTRIES: usize = 100_000;

impl<R: KeyResolver> CachingResolver<R> {
    /// Caches `inner`'s answers for `ttl`.
    pub fn new(inner: R, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            api_keys: RwLock::default(),
            keys: RwLock::default(),
            qredo: RwLock::default(),
            jwt: RwLock::default(),
            smile: RwLock::default(),
        }
    }

    /// The wrapped resolver.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// Forgets everything cached.
    pub fn invalidate_all(&self) {
        write(&self.api_keys).clear();
        write(&self.keys).clear();
        write(&self.qredo).clear();
        write(&self.jwt).clear();
        write(&self.smile).clear();
    }

    /// Forgets every cached JWT key.
    pub fn invalidate_jwt_keys(&self) {
        write(&self.jwt).clear();
    }

    /// Forgets one API key (and any Qredo link through it).
    pub fn invalidate_api_key(&self, digest: &ApiKeyDigest) {
        write(&self.api_keys).remove(digest);
        write(&self.qredo).remove(digest);
    }

    /// Forgets one key ID (and every Qredo link, which may point at it).
    pub fn invalidate_key(&self, key_id: &str) {
        write(&self.keys).remove(key_id);
        write(&self.qredo).clear();
    }
}

fn cached<K: std::hash::Hash + Eq, V: Clone>(
    map: &RwLock<HashMap<K, (Instant, Option<V>)>>,
    key: &K,
    ttl: Duration,
) -> Option<Option<V>> {
    read(map)
        .get(key)
        .filter(|(at, _)| at.elapsed() < ttl)
        .map(|(_, v)| v.clone())
}

fn remember<K: std::hash::Hash + Eq, V>(
    map: &RwLock<HashMap<K, (Instant, Option<V>)>>,
    key: K,
    value: Option<V>,
) {
    let mut m = write(map);
    if m.len() >= MAX_CACHE_ENTRIES {
        m.clear();
    }
    m.insert(key, (Instant::now(), value));
}

/// Answers from `map` while the entry is younger than `ttl`, else asks `fetch` and remembers
/// the answer (a "not registered" answer too, so unknown keys do not hammer the store).
async fn read_through<K, V, F>(
    map: &RwLock<HashMap<K, (Instant, Option<V>)>>,
    key: K,
    ttl: Duration,
    fetch: F,
) -> Result<Option<V>, StoreUnavailable>
where
    K: std::hash::Hash + Eq,
    V: Clone,
    F: Future<Output = Result<Option<V>, StoreUnavailable>>,
{
    if let Some(hit) = cached(map, &key, ttl) {
        return Ok(hit);
    }
    let v = fetch.await?;
    remember(map, key, v.clone());
    Ok(v)
}

impl<R: KeyResolver> KeyResolver for CachingResolver<R> {
    fn api_key<'a>(
        &'a self,
        digest: &'a ApiKeyDigest,
    ) -> BoxFuture<'a, Result<Option<ApiKeyEntry>, StoreUnavailable>> {
        Box::pin(read_through(
            &self.api_keys,
            *digest,
            self.ttl,
            self.inner.api_key(digest),
        ))
    }

    fn verifying_key<'a>(
        &'a self,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<KeyEntry>, StoreUnavailable>> {
        let fetch = self.inner.verifying_key(key_id);
        Box::pin(read_through(&self.keys, key_id.to_owned(), self.ttl, fetch))
    }

    fn qredo_key<'a>(
        &'a self,
        api_key: &'a ApiKeyDigest,
    ) -> BoxFuture<'a, Result<Option<KeyEntry>, StoreUnavailable>> {
        Box::pin(read_through(
            &self.qredo,
            *api_key,
            self.ttl,
            self.inner.qredo_key(api_key),
        ))
    }

    fn jwt_key<'a>(
        &'a self,
        kid: Option<&'a str>,
        client_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<JwtEntry>, StoreUnavailable>> {
        let key = jwt_cache_key(kid, client_id);
        Box::pin(read_through(
            &self.jwt,
            key,
            self.ttl,
            self.inner.jwt_key(kid, client_id),
        ))
    }

    fn smile_key<'a>(
        &'a self,
        partner_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SmileEntry>, StoreUnavailable>> {
        let fetch = self.inner.smile_key(partner_id);
        Box::pin(read_through(
            &self.smile,
            partner_id.to_owned(),
            self.ttl,
            fetch,
        ))
    }
}

impl<R: KeyResolver + ?Sized> KeyResolver for Arc<R> {
    fn api_key<'a>(
        &'a self,
        digest: &'a ApiKeyDigest,
    ) -> BoxFuture<'a, Result<Option<ApiKeyEntry>, StoreUnavailable>> {
        (**self).api_key(digest)
    }

    fn verifying_key<'a>(
        &'a self,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<KeyEntry>, StoreUnavailable>> {
        (**self).verifying_key(key_id)
    }

    fn qredo_key<'a>(
        &'a self,
        api_key: &'a ApiKeyDigest,
    ) -> BoxFuture<'a, Result<Option<KeyEntry>, StoreUnavailable>> {
        (**self).qredo_key(api_key)
    }

    fn jwt_key<'a>(
        &'a self,
        kid: Option<&'a str>,
        client_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<JwtEntry>, StoreUnavailable>> {
        (**self).jwt_key(kid, client_id)
    }

    fn smile_key<'a>(
        &'a self,
        partner_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SmileEntry>, StoreUnavailable>> {
        (**self).smile_key(partner_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::UnixTime;

    fn entry(digest: ApiKeyDigest) -> ApiKeyEntry {
        ApiKeyEntry {
            partner: "p".into(),
            record: ApiKeyRecord {
                digest,
                environment: None,
                expires_at: None,
                revoked_at: None,
            },
            scopes: Arc::from(vec![]),
        }
    }

    #[tokio::test]
    async fn cache_serves_until_invalidated_and_fails_closed() {
        let digest = ApiKeyDigest::of("some-key-text-for-the-cache-test");
        let cache = CachingResolver::new(MemoryResolver::new(), Duration::from_secs(3600));
        // "Not registered" is cached too, until invalidated.
        assert!(cache.api_key(&digest).await.unwrap().is_none());
        cache.inner().add_api_key(entry(digest));
        assert!(cache.api_key(&digest).await.unwrap().is_none());
        cache.invalidate_api_key(&digest);
        assert!(cache.api_key(&digest).await.unwrap().is_some());
        // A revocation is seen after invalidation (the service invalidates on change).
        cache
            .inner()
            .update_api_key(&digest, |e| e.record.revoked_at = Some(UnixTime::EPOCH));
        let stale = cache.api_key(&digest).await.unwrap().unwrap();
        assert_eq!(stale.record.revoked_at, None);
        cache.invalidate_all();
        let fresh = cache.api_key(&digest).await.unwrap().unwrap();
        assert_eq!(fresh.record.revoked_at, Some(UnixTime::EPOCH));
        // With an expired TTL the store is asked again; when it is down the error surfaces.
        let short = CachingResolver::new(MemoryResolver::new(), Duration::ZERO);
        short.inner().set_unavailable(true);
        assert!(short.api_key(&digest).await.is_err());
    }
}
