//! Replay policy, pure: whether a claimed time is fresh, the one replay-key format
//! ([`ReplayKey`], scoped by credential), the strictly-increasing rule for Qredo `x-nonce`, and bounded
//! in-memory stores for both with the time passed in. The Redis-backed store of the service
//! follows the same rules (`SET key NX PX ttl`).
//!
//! Both in-memory stores fail closed: when full of live entries they refuse new ones
//! ([`ErrorCode::Unavailable`]) rather than forget an entry and let a replay through, and
//! the single-use cache gives each credential a quota ([`ErrorCode::RateLimited`]).

use crate::error::{Error, ErrorCode, Result};
use crate::time::UnixTime;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::time::Duration;

/// Longest nonce accepted (bytes).
pub const MAX_NONCE_LEN: usize = 256;
/// Longest key ID accepted in a cache key (bytes).
pub const MAX_KEY_ID_LEN: usize = 512;

/// How far a claimed time may lie in the past and in the future: the one freshness type of
/// every scheme (RFC 9421 `created`, Qredo `x-timestamp`, Smile timestamps, Altalix
/// `created_at`), and with [`FreshnessWindow::retention`] how long replay keys are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreshnessWindow {
    /// Oldest acceptable age.
    pub max_age: Duration,
    /// How far ahead of `now` a claim may be (clock skew).
    pub max_future: Duration,
}

impl FreshnessWindow {
    /// `max_age` into the past, `max_future` into the future.
    pub const fn new(max_age: Duration, max_future: Duration) -> Self {
        Self {
            max_age,
            max_future,
        }
    }

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

/// A replay-store key: canonical, escaped, and grouped by credential. Its text is
/// `r:{<purpose>:<credential id>}:<kind>:<value>` where `{`, `}`, `:` and `%` inside the
/// credential ID and the value are percent-escaped, so two different (credential, kind, value)
/// triples never share a key and the braces are a Redis Cluster hash tag: every key of one
/// credential lands on one shard. The key never depends on how a signature is encoded
/// (ECDSA's two valid `s` values, Base64 variants): it names the signed content or the nonce.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplayKey {
    text: String,
    scope_end: usize,
}

/// What a replay key protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplayKind {
    /// A caller-chosen nonce (RFC 9421 `nonce`).
    Nonce,
    /// The SHA-256 of the signed content (a signature without a nonce, a timestamped Qredo
    /// request, a Smile timestamp, an Altalix payload).
    Content,
    /// A strictly increasing counter (Qredo `x-nonce`).
    Counter,
}

impl ReplayKind {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Nonce => "n",
            Self::Content => "c",
            Self::Counter => "ctr",
        }
    }
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '%' | '{' | '}' | ':' => {
                out.push('%');
                out.push_str(&format!("{:02X}", c as u32));
            }
            c => out.push(c),
        }
    }
}

impl ReplayKey {
    /// The key of `value` (a nonce, a hex content digest) of `kind`, for `credential`.
    /// Nonces are 1 to [`MAX_NONCE_LEN`] bytes.
    pub fn new(
        credential: &crate::credential::CredentialRef,
        kind: ReplayKind,
        value: &str,
    ) -> Result<Self> {
        if value.is_empty() || value.len() > MAX_NONCE_LEN {
            return Err(Error::malformed(format!(
                "a nonce must have 1 to {MAX_NONCE_LEN} bytes"
            )));
        }
        Ok(Self::build(credential, kind, value))
    }

    fn build(credential: &crate::credential::CredentialRef, kind: ReplayKind, value: &str) -> Self {
        let id = credential.id().as_str();
        let mut text = String::with_capacity(12 + id.len() + value.len());
        text.push_str("r:{");
        text.push_str(credential.purpose().as_str());
        text.push(':');
        push_escaped(&mut text, id);
        text.push('}');
        let scope_end = text.len();
        text.push(':');
        text.push_str(kind.as_str());
        text.push(':');
        push_escaped(&mut text, value);
        Self { text, scope_end }
    }

    /// The key of signed content, by its SHA-256.
    pub fn content(credential: &crate::credential::CredentialRef, sha256: &[u8; 32]) -> Self {
        Self::build(
            credential,
            ReplayKind::Content,
            &crate::encoding::hex_lower(sha256),
        )
    }

    /// The key of a credential's counter.
    pub fn counter(credential: &crate::credential::CredentialRef) -> Self {
        Self::build(credential, ReplayKind::Counter, "0")
    }

    /// The whole key.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The credential part `r:{...}`: the unit of per-credential quotas.
    pub fn scope(&self) -> &str {
        &self.text[..self.scope_end]
    }
}

impl fmt::Debug for ReplayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplayKey({})", self.text)
    }
}

impl fmt::Display for ReplayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What a verification obliges the caller to record before it accepts the request. Verifiers
/// return it as data; the adapter executes it against its store (in memory, Redis) and accepts
/// the request only when the store says the obligation was fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayObligation {
    /// Nothing to record: a bearer credential is reused on every request by design.
    None,
    /// Record `key` unless already present, for `ttl` (`SET key NX PX ttl`).
    SingleUse {
        /// The key.
        key: ReplayKey,
        /// How long to remember it: the freshness window plus skew.
        ttl: Duration,
    },
    /// Accept only if `value` is greater than the last value recorded under `key`.
    Monotonic {
        /// The counter's key.
        key: ReplayKey,
        /// The presented value.
        value: u64,
    },
}

impl ReplayObligation {
    /// The key involved, if any.
    pub fn key(&self) -> Option<&ReplayKey> {
        match self {
            Self::None => None,
            Self::SingleUse { key, .. } | Self::Monotonic { key, .. } => Some(key),
        }
    }
}

/// A bounded in-memory set of seen keys, each remembered until its expiry, with an optional
/// quota per credential (the key's [`ReplayKey::scope`]) so that one partner filling the
/// cache cannot make every other partner's requests fail. Wrap it in a `Mutex` to share it.
///
/// Compact, because a busy service must remember every signed request of the replay window
/// (10,000 requests per second for 305 s is three million keys): a key is kept as the first 8
/// bytes of its SHA-256 (about 30 bytes per entry with the expiry index, instead of two
/// copies of the text). Two different keys with the same fingerprint make the second look
/// replayed: a refusal, never an acceptance, with a chance of about n / 2^64 per request.
/// Expiries are rounded up to whole seconds, so an entry may outlive its expiry by under a
/// second and is never forgotten early.
#[derive(Debug)]
pub struct ReplayCache {
    capacity: usize,
    scope_quota: usize,
    /// Fingerprints of live keys.
    live: HashSet<u64>,
    /// Expiry (whole seconds, rounded up) -> (fingerprint, scope fingerprint or [`NO_SCOPE`]).
    by_expiry: BTreeMap<u64, Vec<(u64, u64)>>,
    /// Live entries per scope fingerprint.
    per_scope: HashMap<u64, usize>,
}

/// The scope of a key without a credential scope (scope fingerprints have their low bit set).
const NO_SCOPE: u64 = 0;

/// The first 8 bytes of the SHA-256 of `text`.
fn fingerprint(text: &str) -> u64 {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    u64::from_le_bytes(first)
}

fn scope_fingerprint(scope: &str) -> u64 {
    fingerprint(scope) | 1
}

impl ReplayCache {
    /// A cache holding at most `capacity` live entries, with no per-credential quota.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            scope_quota: capacity,
            live: HashSet::new(),
            by_expiry: BTreeMap::new(),
            per_scope: HashMap::new(),
        }
    }

    /// At most `quota` live entries per credential (scope). Give it a value well below the
    /// capacity divided by the number of busy credentials.
    pub fn with_scope_quota(mut self, quota: usize) -> Self {
        self.scope_quota = quota.min(self.capacity);
        self
    }

    /// Live entries (after the last purge).
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether the cache holds no entries.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Live entries of one credential scope.
    pub fn scope_len(&self, scope: &str) -> usize {
        self.per_scope
            .get(&scope_fingerprint(scope))
            .copied()
            .unwrap_or(0)
    }

    /// Forgets every entry whose (rounded-up) expiry is at or before `now`.
    pub fn purge(&mut self, now: UnixTime) {
        let now_ms = now.as_millis();
        while let Some(entry) = self.by_expiry.first_entry() {
            if entry.key().saturating_mul(1000) > now_ms {
                break;
            }
            for (fp, scope) in entry.remove() {
                self.live.remove(&fp);
                if scope != NO_SCOPE
                    && let Some(n) = self.per_scope.get_mut(&scope)
                {
                    *n -= 1;
                    if *n == 0 {
                        self.per_scope.remove(&scope);
                    }
                }
            }
        }
    }

    /// Records `key` until `now + retention`. A key still remembered is
    /// [`ErrorCode::Replayed`]; a credential over its quota is [`ErrorCode::RateLimited`];
    /// a full cache is [`ErrorCode::Unavailable`]. Nothing is forgotten early.
    pub fn record(&mut self, key: &ReplayKey, now: UnixTime, retention: Duration) -> Result<()> {
        self.insert(
            fingerprint(key.as_str()),
            scope_fingerprint(key.scope()),
            now,
            retention,
        )
    }

    /// Records a plain string key (no credential scope: only the capacity bounds it).
    pub fn check_and_insert(
        &mut self,
        key: &str,
        now: UnixTime,
        retention: Duration,
    ) -> Result<()> {
        self.insert(fingerprint(key), NO_SCOPE, now, retention)
    }

    fn insert(&mut self, fp: u64, scope: u64, now: UnixTime, retention: Duration) -> Result<()> {
        self.purge(now);
        if self.live.contains(&fp) {
            return Err(Error::new(
                ErrorCode::Replayed,
                "this request was already received; sign a new one",
            ));
        }
        let scope_len = self.per_scope.get(&scope).copied().unwrap_or(0);
        if scope != NO_SCOPE && scope_len >= self.scope_quota {
            return Err(Error::new(
                ErrorCode::RateLimited,
                "too many signed requests from this credential in the replay window; slow down",
            ));
        }
        if self.live.len() >= self.capacity {
            return Err(Error::new(
                ErrorCode::Unavailable,
                "the replay cache is full; try again shortly",
            ));
        }
        let expiry_secs = now.saturating_add(retention).as_millis().div_ceil(1000);
        self.live.insert(fp);
        self.by_expiry
            .entry(expiry_secs)
            .or_default()
            .push((fp, scope));
        if scope != NO_SCOPE {
            *self.per_scope.entry(scope).or_insert(0) += 1;
        }
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
    /// A store full of other keys refuses new keys ([`ErrorCode::Unavailable`]).
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
                ErrorCode::Unavailable,
                "the nonce store is full; raise its capacity",
            ));
        }
        self.last.insert(key_id.to_owned(), nonce);
        Ok(())
    }
}

/// Executes [`ReplayObligation`]s in memory: a [`ReplayCache`] for single-use keys and
/// [`MonotonicNonces`] for counters. Pure (time passed in), bounded, fails closed.
#[derive(Debug)]
pub struct ReplayLedger {
    seen: ReplayCache,
    counters: MonotonicNonces,
}

impl ReplayLedger {
    /// At most `capacity` live single-use keys and counters, at most `scope_quota` live
    /// single-use keys per credential.
    pub fn new(capacity: usize, scope_quota: usize) -> Self {
        Self {
            seen: ReplayCache::new(capacity).with_scope_quota(scope_quota),
            counters: MonotonicNonces::new(capacity),
        }
    }

    /// Records `obligation` at `now`: `Ok` when fresh, else [`ErrorCode::Replayed`],
    /// [`ErrorCode::RateLimited`] (this credential's quota) or [`ErrorCode::Unavailable`].
    pub fn execute(&mut self, obligation: &ReplayObligation, now: UnixTime) -> Result<()> {
        match obligation {
            ReplayObligation::None => Ok(()),
            ReplayObligation::SingleUse { key, ttl } => self.seen.record(key, now, *ttl),
            ReplayObligation::Monotonic { key, value } => {
                self.counters.check_and_update(key.as_str(), *value)
            }
        }
    }

    /// The single-use cache (for inspection).
    pub fn cache(&self) -> &ReplayCache {
        &self.seen
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
            ErrorCode::Unavailable
        );
        // After expiry both slots free up and "a" is new again.
        let later = T0.saturating_add(Duration::from_secs(10));
        c.check_and_insert("a", later, ttl).unwrap();
        c.check_and_insert("c", later, ttl).unwrap();
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn expiries_round_up_to_whole_seconds_never_down() {
        let mut c = ReplayCache::new(4);
        let ttl = Duration::from_millis(1_500);
        c.check_and_insert("a", T0, ttl).unwrap();
        // Past the exact expiry (T0 + 1.5 s) but before the rounded one (T0 + 2 s): kept.
        let just_after = T0.saturating_add(Duration::from_millis(1_999));
        assert_eq!(
            c.check_and_insert("a", just_after, ttl).unwrap_err().code(),
            ErrorCode::Replayed
        );
        c.purge(T0.saturating_add(Duration::from_secs(2)));
        assert!(c.is_empty());
    }

    #[test]
    fn quota_counts_follow_purges_per_scope() {
        let mut c = ReplayCache::new(10).with_scope_quota(2);
        let key = |id: &str, n: &str| ReplayKey::new(&cref(id), ReplayKind::Nonce, n).unwrap();
        c.record(&key("a", "1"), T0, Duration::from_secs(5))
            .unwrap();
        c.record(&key("a", "2"), T0, Duration::from_secs(10))
            .unwrap();
        c.record(&key("b", "1"), T0, Duration::from_secs(5))
            .unwrap();
        assert_eq!(c.scope_len(key("a", "1").scope()), 2);
        c.purge(T0.saturating_add(Duration::from_secs(5)));
        assert_eq!(c.scope_len(key("a", "1").scope()), 1);
        assert_eq!(c.scope_len(key("b", "1").scope()), 0);
        assert_eq!(c.len(), 1);
        // "a" has room again; "a:2" is still remembered.
        c.record(&key("a", "3"), T0, Duration::from_secs(5))
            .unwrap();
        assert_eq!(
            c.record(&key("a", "2"), T0, Duration::from_secs(5))
                .unwrap_err()
                .code(),
            ErrorCode::Replayed
        );
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
            ErrorCode::Unavailable
        );
        check_monotonic(None, 0).unwrap();
    }

    fn cref(id: &str) -> crate::credential::CredentialRef {
        crate::credential::CredentialRef::parse(crate::credential::Purpose::HttpSignatureKey, id)
            .unwrap()
    }

    #[test]
    fn replay_keys_are_escaped_grouped_and_unambiguous() {
        let k = ReplayKey::new(&cref("a:b}{%"), ReplayKind::Nonce, "n:1").unwrap();
        assert_eq!(k.as_str(), "r:{http_signature_key:a%3Ab%7D%7B%25}:n:n%3A1");
        assert_eq!(k.scope(), "r:{http_signature_key:a%3Ab%7D%7B%25}");
        // (id "a:b", nonce "c") and (id "a", nonce "b:c") differ.
        assert_ne!(
            ReplayKey::new(&cref("a:b"), ReplayKind::Nonce, "c").unwrap(),
            ReplayKey::new(&cref("a"), ReplayKind::Nonce, "b:c").unwrap()
        );
        // Kinds are separate spaces.
        assert_ne!(
            ReplayKey::new(&cref("a"), ReplayKind::Nonce, "00").unwrap(),
            ReplayKey::new(&cref("a"), ReplayKind::Content, "00").unwrap()
        );
        assert!(ReplayKey::new(&cref("a"), ReplayKind::Nonce, "").is_err());
        // Exactly one hash tag.
        assert_eq!(k.as_str().matches('{').count(), 1);
    }

    #[test]
    fn one_credential_cannot_starve_another() {
        let mut ledger = ReplayLedger::new(100, 3);
        let ttl = Duration::from_secs(60);
        let once = |id: &str, n: &str| ReplayObligation::SingleUse {
            key: ReplayKey::new(&cref(id), ReplayKind::Nonce, n).unwrap(),
            ttl,
        };
        for n in ["1", "2", "3"] {
            ledger.execute(&once("greedy", n), T0).unwrap();
        }
        assert_eq!(
            ledger.execute(&once("greedy", "4"), T0).unwrap_err().code(),
            ErrorCode::RateLimited
        );
        ledger.execute(&once("polite", "1"), T0).unwrap();
        assert_eq!(
            ledger.execute(&once("polite", "1"), T0).unwrap_err().code(),
            ErrorCode::Replayed
        );
        // The quota frees up when entries expire.
        let later = T0.saturating_add(ttl);
        ledger.execute(&once("greedy", "4"), later).unwrap();
        assert_eq!(ledger.cache().scope_len("r:{http_signature_key:greedy}"), 1);
        let counter = |v| ReplayObligation::Monotonic {
            key: ReplayKey::counter(&cref("q")),
            value: v,
        };
        ledger.execute(&counter(5), T0).unwrap();
        assert_eq!(
            ledger.execute(&counter(5), T0).unwrap_err().code(),
            ErrorCode::Replayed
        );
        ledger.execute(&ReplayObligation::None, T0).unwrap();
    }
}
