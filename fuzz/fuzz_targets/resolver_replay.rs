//! Fuzzes the layer's two stores against models: a `CachingResolver` over a `MemoryResolver`
//! (whose lookups can be held pending, so invalidations land while a lookup is in flight), and
//! a small `MemoryReplayStore`, driven by operations decoded from the input: insert, update
//! (status, revocation), remove, cross-purpose alias, invalidate, invalidate_all, store outage,
//! resolve (at once, or started and completed later), single-use and monotonic replay
//! obligations with small capacities and quotas, and advancing time.
//!
//! Invariants: a resolve never returns a credential of another purpose; a reference changed
//! and then invalidated (or after invalidate_all) resolves to the changed credential, never a
//! stale one, even when a lookup that started before the change completes after it; a lookup
//! that missed the cache answers what the store held when it started; an error only while the
//! store is down. The replay store answers exactly as a model of (credential, kind, value)
//! triples does: it never accepts a single-use key twice while live, never accepts a
//! non-increasing counter value, and answers `rate_limited` only to a credential that itself
//! holds its whole quota (never to another credential's fresh key).
#![no_main]
use auth_core::apikey::{ApiKeyDigest, Environment};
use auth_core::credential::{
    Credential, CredentialRef, Material, Purpose, QredoMode, Scopes, Status,
};
use auth_core::keys::{HmacSecret, PublicKey, SignatureAlgorithm, VerifyingKey};
use auth_core::replay::{ReplayKey, ReplayKind, ReplayObligation};
use auth_core::scheme::jwt::{Algorithm, JwtKey};
use auth_core::scheme::smile::SmileKey;
use auth_core::{ErrorCode, UnixTime};
use auth_http::server::{
    BoxFuture, CachingResolver, KeyResolver, Lookup, MemoryReplayStore, MemoryResolver, ReplayStore,
};
use libfuzzer_sys::fuzz_target;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

const T0: UnixTime = UnixTime::from_secs(1_700_000_000);
const RSA_PUBLIC_PEM: &str = include_str!("../../testvectors/fixtures/rsa2048-spki.pem");
/// Most operations per input.
const MAX_OPS: usize = 256;
/// Most lookups held pending at once.
const MAX_PENDING: usize = 4;

/// Key material for every purpose, made once.
struct Materials {
    digest: ApiKeyDigest,
    rsa: Arc<VerifyingKey>,
    hmac: Arc<VerifyingKey>,
    jwt: Arc<JwtKey>,
    smile: Arc<SmileKey>,
}

fn materials() -> &'static Materials {
    static M: OnceLock<Materials> = OnceLock::new();
    M.get_or_init(|| {
        let secret =
            HmacSecret::from_bytes(b"resolver-replay-fuzz-secret-32-bytes").expect("secret");
        let rsa = PublicKey::from_pem(RSA_PUBLIC_PEM).expect("rsa public key");
        Materials {
            digest: ApiKeyDigest::of("k0-api-key-text"),
            rsa: Arc::new(
                VerifyingKey::new(&rsa, SignatureAlgorithm::RsaPkcs1Sha256).expect("rsa"),
            ),
            hmac: Arc::new(
                VerifyingKey::hmac(&secret, SignatureAlgorithm::HmacSha256).expect("hmac"),
            ),
            jwt: Arc::new(JwtKey::hmac(&secret, Algorithm::HS256).expect("jwt")),
            smile: Arc::new(SmileKey::new(b"smile-key").expect("smile")),
        }
    })
}

/// The references the operations name: the same ID under two purposes, IDs that collide when
/// `:` `{` `}` `%` are not escaped, and one of each other purpose.
fn pool() -> Vec<CredentialRef> {
    let hex = materials().digest.to_hex();
    [
        (Purpose::ApiKey, hex.as_str()),
        (Purpose::QredoKey, hex.as_str()),
        (Purpose::HttpSignatureKey, "a:b"),
        (Purpose::HttpSignatureKey, "a"),
        (Purpose::HttpSignatureKey, "a%3Ab"),
        (Purpose::JwtClientKey, "j}{1"),
        (Purpose::SmileKey, "085"),
        (Purpose::AltalixKey, "alx"),
    ]
    .into_iter()
    .map(|(p, id)| CredentialRef::parse(p, id).expect("pool reference"))
    .collect()
}

/// Nonce values that collide with the pool's IDs when unescaped (`a:b` + `c` vs `a` + `b:c`).
const VALUES: [&str; 6] = ["c", "b:c", "b%3Ac", "1", "}{", "%"];

fn material_for(purpose: Purpose) -> Material {
    let m = materials();
    match purpose {
        Purpose::ApiKey => Material::ApiKey(m.digest),
        Purpose::QredoKey => Material::Qredo {
            api_key: m.digest,
            public_key: m.rsa.clone(),
            mode: QredoMode::Nonce,
        },
        Purpose::AltalixKey => Material::Altalix(m.rsa.clone()),
        Purpose::JwtClientKey => Material::Jwt(m.jwt.clone()),
        Purpose::SmileKey => Material::Smile(m.smile.clone()),
        _ => Material::HttpSignature(m.hmac.clone()),
    }
}

/// What the model knows of one registered credential: its version (a scope `v<n>`, distinct
/// for every change) and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    scope: String,
    status: Status,
}

fn credential(r: &CredentialRef, v: &Version) -> Credential {
    Credential::new(
        "partner",
        r.id().as_str(),
        Environment::Live,
        material_for(r.purpose()),
    )
    .expect("credential")
    .with_scopes([v.scope.clone()])
    .with_status(v.status)
}

fn status(choice: u8, now: UnixTime) -> Status {
    let at = |s: u64| Some(now.saturating_add(Duration::from_secs(s)));
    match choice % 4 {
        0 => Status::ACTIVE,
        1 => Status {
            revoked_at: Some(now),
            ..Status::ACTIVE
        },
        2 => Status {
            expires_at: at(60),
            ..Status::ACTIVE
        },
        _ => Status {
            not_before: at(60),
            ..Status::ACTIVE
        },
    }
}

/// A resolver whose lookups read the store when first polled, then stay pending once: the
/// harness can change the store and invalidate the cache while a lookup is in flight.
struct Gated(MemoryResolver);

struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

impl KeyResolver for Gated {
    fn resolve<'a>(&'a self, reference: &'a CredentialRef) -> BoxFuture<'a, Lookup> {
        Box::pin(async move {
            let answer = self.0.resolve(reference).await;
            YieldOnce(false).await;
            answer
        })
    }
}

fn poll<T>(fut: &mut BoxFuture<'_, T>) -> Poll<T> {
    fut.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

fn finish<T>(fut: &mut BoxFuture<'_, T>) -> T {
    for _ in 0..8 {
        if let Poll::Ready(v) = poll(fut) {
            return v;
        }
    }
    panic!("a lookup never completed");
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u8(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
        self.0 = rest;
        first
    }
}

/// Checks an answer for `r` against the model: never another purpose; equal to `expected`
/// when the harness knows the answer (`None` when a stale answer is allowed).
fn check_answer(
    r: &CredentialRef,
    answer: &Lookup,
    expected: Option<&Option<Version>>,
    may_fail: bool,
    what: &str,
) {
    match answer {
        Err(e) => assert!(may_fail, "{what} {r}: failed while the store was up: {e}"),
        Ok(found) => {
            if let Some(c) = found {
                assert_eq!(
                    c.purpose(),
                    r.purpose(),
                    "{what} {r}: a credential of another purpose"
                );
                assert_eq!(c.id, *r.id(), "{what} {r}: another credential");
            }
            if let Some(expected) = expected {
                let got = found.as_ref().map(|c| Version {
                    scope: c.scopes.iter().next().unwrap_or_default().to_owned(),
                    status: c.status,
                });
                assert_eq!(
                    got.as_ref(),
                    expected.as_ref(),
                    "{what} {r}: stale or wrong answer"
                );
            }
        }
    }
}

/// The replay store's model, keyed by the logical triple so an escaping collision in the
/// store's text keys shows as a difference.
struct ReplayModel {
    capacity: usize,
    quota: usize,
    /// (reference index, kind, value) -> expiry.
    live: HashMap<(usize, u8, String), UnixTime>,
    counters: HashMap<usize, u64>,
}

impl ReplayModel {
    fn purge(&mut self, now: UnixTime) {
        self.live.retain(|_, expiry| *expiry > now);
    }

    fn single_use(
        &mut self,
        triple: (usize, u8, String),
        ttl: Duration,
        now: UnixTime,
    ) -> Result<(), ErrorCode> {
        self.purge(now);
        if self.live.contains_key(&triple) {
            return Err(ErrorCode::Replayed);
        }
        if self.live.keys().filter(|k| k.0 == triple.0).count() >= self.quota {
            return Err(ErrorCode::RateLimited);
        }
        if self.live.len() >= self.capacity {
            return Err(ErrorCode::Unavailable);
        }
        self.live.insert(triple, now.saturating_add(ttl));
        Ok(())
    }

    fn monotonic(&mut self, r: usize, value: u64) -> Result<(), ErrorCode> {
        match self.counters.get(&r) {
            Some(last) if value <= *last => Err(ErrorCode::Replayed),
            Some(_) => {
                self.counters.insert(r, value);
                Ok(())
            }
            None if self.counters.len() >= self.capacity => Err(ErrorCode::Unavailable),
            None => {
                self.counters.insert(r, value);
                Ok(())
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader(data);
    let refs = pool();
    let cache_capacity = 1 + usize::from(r.u8() % 8);
    // A zero TTL caches nothing (every lookup misses); an hour outlives the run.
    let ttl = if r.u8() & 1 == 0 {
        Duration::from_secs(3600)
    } else {
        Duration::ZERO
    };
    let cache = CachingResolver::with_capacity(Gated(MemoryResolver::new()), ttl, cache_capacity);
    let store = &cache.inner().0;
    let capacity = 1 + usize::from(r.u8() % 16);
    let quota = 1 + usize::from(r.u8() % 8);
    let replay = MemoryReplayStore::new(capacity, quota);
    let mut replay_model = ReplayModel {
        capacity,
        quota: quota.min(capacity),
        live: HashMap::new(),
        counters: HashMap::new(),
    };

    let mut now = T0;
    let mut next_version = 0u64;
    let mut model: Vec<Option<Version>> = vec![None; refs.len()];
    // References changed in the store since they were last invalidated: the cache may still
    // hold an older answer for them.
    let mut dirty: HashSet<usize> = HashSet::new();
    let mut down = false;
    type Pending<'a> = (usize, BoxFuture<'a, Lookup>, Option<Version>, bool);
    let mut pending: Vec<Pending<'_>> = Vec::new();

    for _ in 0..MAX_OPS {
        if r.0.is_empty() {
            break;
        }
        let op = r.u8();
        let i = usize::from(r.u8()) % refs.len();
        let arg = r.u8();
        let reference = &refs[i];
        match op % 14 {
            0 => {
                next_version += 1;
                let v = Version {
                    scope: format!("v{next_version}"),
                    status: status(arg, now),
                };
                assert_eq!(store.insert(credential(reference, &v)), *reference);
                model[i] = Some(v);
                dirty.insert(i);
            }
            1 => {
                next_version += 1;
                let scope = format!("v{next_version}");
                let new_status = status(arg, now);
                store.update(reference, |c| {
                    c.scopes = Scopes::new([scope.clone()]);
                    c.status = new_status;
                });
                if let Some(v) = &mut model[i] {
                    *v = Version {
                        scope,
                        status: new_status,
                    };
                    dirty.insert(i);
                }
            }
            2 => {
                store.remove(reference);
                model[i] = None;
                dirty.insert(i);
            }
            3 => {
                // Registering another purpose's credential under this reference is ignored.
                let other = &refs[usize::from(arg) % refs.len()];
                if other.purpose() != reference.purpose() {
                    let v = Version {
                        scope: "alias".into(),
                        status: Status::ACTIVE,
                    };
                    store.insert_alias(reference.clone(), credential(other, &v));
                }
            }
            4 => {
                cache.invalidate(reference);
                dirty.remove(&i);
            }
            5 => {
                cache.invalidate_all();
                dirty.clear();
            }
            6 => {
                down = !down;
                store.set_unavailable(down);
            }
            7 | 8 => {
                let mut fut = cache.resolve(reference);
                let answer = match poll(&mut fut) {
                    // A hit: fresh unless the reference changed since its last invalidation.
                    Poll::Ready(answer) => {
                        let expected = (!dirty.contains(&i)).then_some(&model[i]);
                        check_answer(reference, &answer, expected, false, "cache hit");
                        continue;
                    }
                    Poll::Pending => {
                        if op % 14 == 8 && pending.len() < MAX_PENDING {
                            pending.push((i, fut, model[i].clone(), down));
                            continue;
                        }
                        finish(&mut fut)
                    }
                };
                // A miss reads the store as it is.
                check_answer(reference, &answer, Some(&model[i]), down, "lookup");
            }
            9 => {
                if !pending.is_empty() {
                    let (j, mut fut, snapshot, was_down) =
                        pending.remove(usize::from(arg) % pending.len());
                    let answer = finish(&mut fut);
                    check_answer(&refs[j], &answer, Some(&snapshot), was_down, "late lookup");
                }
            }
            10 | 11 => {
                let kind = if op % 14 == 10 {
                    ReplayKind::Nonce
                } else {
                    ReplayKind::Content
                };
                let value = VALUES[usize::from(arg) % VALUES.len()];
                let key = match kind {
                    ReplayKind::Nonce => ReplayKey::new(reference, kind, value).expect("key"),
                    _ => ReplayKey::content(reference, &[arg % 4; 32]),
                };
                let ttl = Duration::from_secs([1, 5, 30, 300][usize::from(arg >> 6)]);
                let obligation = ReplayObligation::SingleUse { key, ttl };
                let got = finish(&mut replay.record(&obligation, now)).map_err(|e| e.code());
                let kind_tag = if kind == ReplayKind::Nonce { 0 } else { 1 };
                let value = if kind == ReplayKind::Nonce {
                    value.to_owned()
                } else {
                    (arg % 4).to_string()
                };
                replay_model.purge(now);
                let fresh_for_me =
                    replay_model.live.keys().filter(|k| k.0 == i).count() < replay_model.quota;
                let want = replay_model.single_use((i, kind_tag, value), ttl, now);
                if got == Err(ErrorCode::RateLimited) {
                    assert!(
                        !fresh_for_me,
                        "{reference}: rate limited under its own quota (another credential's entries counted)"
                    );
                }
                if want == Err(ErrorCode::Replayed) {
                    assert!(
                        got.is_err(),
                        "{reference}: a live single-use key accepted twice"
                    );
                }
                assert_eq!(
                    got, want,
                    "{reference}: single-use {obligation:?} at {now:?}"
                );
            }
            12 => {
                let value = u64::from(arg % 16);
                let obligation = ReplayObligation::Monotonic {
                    key: ReplayKey::counter(reference),
                    value,
                };
                let got = finish(&mut replay.record(&obligation, now)).map_err(|e| e.code());
                let want = replay_model.monotonic(i, value);
                if want == Err(ErrorCode::Replayed) {
                    assert!(
                        got.is_err(),
                        "{reference}: a non-increasing counter value {value} accepted"
                    );
                }
                assert_eq!(got, want, "{reference}: counter {value}");
            }
            _ => {
                now = now.saturating_add(Duration::from_secs(
                    [0, 1, 5, 30, 300, 3600][usize::from(arg) % 6],
                ));
            }
        }
    }
    // Whatever is still in flight completes and answers what it read.
    for (j, mut fut, snapshot, was_down) in pending {
        let answer = finish(&mut fut);
        check_answer(&refs[j], &answer, Some(&snapshot), was_down, "late lookup");
    }
    // After a full invalidation every reference reads the store.
    store.set_unavailable(false);
    cache.invalidate_all();
    for (i, reference) in refs.iter().enumerate() {
        let answer = finish(&mut cache.resolve(reference));
        check_answer(reference, &answer, Some(&model[i]), false, "final lookup");
    }
});
