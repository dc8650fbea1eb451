//! The resolver over the store: turns registry records into auth-core credentials for
//! auth-http's layer (public keys parsed and bound to their algorithm, sealed secrets
//! opened, the partner's status applied), and [`UsageRecorder`], which counts decisions per
//! credential in memory and writes them in batches, never one write per request.
//!
//! [`Registry`] does two store reads per lookup and parses keys each time: put it under
//! `auth_http::server::CachingResolver`, and invalidate a partner's credentials there when
//! the partner is suspended or reactivated.

use crate::sealed::{MasterKey, SealError};
use crate::store::{
    CredentialRecord, PartnerStatus, Store, StoreResult, StoredMaterial, UsageDelta,
};
use crate::upload::public_key_algorithm;
use auth_core::apikey::ApiKeyDigest;
use auth_core::credential::{Credential, CredentialRef, Material, Status};
use auth_core::keys::{HmacSecret, PublicKey, VerifyingKey};
use auth_core::scheme::jwt::{Algorithm as JwsAlgorithm, JwtKey};
use auth_core::scheme::smile::SmileKey;
use auth_core::time::UnixTime;
use auth_http::Clock;
use auth_http::server::{
    BoxFuture, Decision, KeyResolver, Lookup, Observer, Outcome, StoreUnavailable,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Resolves credentials from the registry store.
///
/// A record that exists but cannot be turned into a credential (a sealed secret that does
/// not open, a stored key that no longer parses) is logged by reference and answered as
/// *unavailable* (503), not as absent: it is a fault on our side, and "unknown key" would
/// tell the partner their valid key was revoked, be cached as a negative answer, and hide
/// the fault from store-error metrics. It still fails closed.
pub struct Registry {
    store: Arc<dyn Store>,
    master: Arc<MasterKey>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("master", &self.master)
            .finish_non_exhaustive()
    }
}

/// Why a stored record could not become a credential. Never carries secret bytes.
#[derive(Debug, thiserror::Error)]
enum ConvertError {
    #[error("sealed secret: {0}")]
    Sealed(#[from] SealError),
    #[error("stored key: {0}")]
    Key(#[from] auth_core::Error),
    #[error("stored material does not match the reference's purpose")]
    Purpose,
}

impl Registry {
    /// A resolver over `store`, opening sealed secrets with `master`.
    pub fn new(store: Arc<dyn Store>, master: Arc<MasterKey>) -> Self {
        Self { store, master }
    }

    async fn lookup(&self, reference: &CredentialRef) -> Lookup {
        let unavailable = |e: crate::store::StoreError| StoreUnavailable(e.to_string());
        let Some(record) = self
            .store
            .credential(reference)
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        if record.reference.purpose() != reference.purpose() {
            return Ok(None);
        }
        let Some(partner) = self
            .store
            .partner(&record.partner)
            .await
            .map_err(unavailable)?
        else {
            // Foreign keys make this impossible; if it happens, nobody owns the key.
            return Ok(None);
        };
        match to_credential(&record, partner.status, &self.master) {
            Ok(credential) => Ok(credential.map(Arc::new)),
            Err(error) => {
                tracing::error!(
                    credential = %record.reference,
                    %error,
                    "a registered credential cannot be loaded; answering 503"
                );
                Err(StoreUnavailable(
                    "a registered credential cannot be loaded; see the service log".into(),
                ))
            }
        }
    }
}

impl KeyResolver for Registry {
    fn resolve<'a>(&'a self, reference: &'a CredentialRef) -> BoxFuture<'a, Lookup> {
        Box::pin(self.lookup(reference))
    }
}

fn verifying_key(record: &crate::store::PublicKeyRecord) -> Result<VerifyingKey, ConvertError> {
    let alg = public_key_algorithm(&record.algorithm)
        .map_err(|e| auth_core::Error::invalid_key(format!("stored algorithm: {e}")))?;
    Ok(VerifyingKey::new(
        &PublicKey::from_spki_der(&record.spki_der)?,
        alg,
    )?)
}

/// The credential a record stands for; `None` for records that never authenticate a
/// request by themselves (a provider's own `sec_key` private key).
fn to_credential(
    record: &CredentialRecord,
    partner: PartnerStatus,
    master: &MasterKey,
) -> Result<Option<Credential>, ConvertError> {
    let id = record.reference.id();
    let material = match &record.material {
        StoredMaterial::ApiKey { .. } => Material::ApiKey(ApiKeyDigest::from_hex(id.as_str())?),
        StoredMaterial::Qredo {
            public_key, mode, ..
        } => Material::Qredo {
            api_key: ApiKeyDigest::from_hex(id.as_str())?,
            public_key: Arc::new(verifying_key(public_key)?),
            mode: *mode,
        },
        StoredMaterial::HttpSignature(key) => {
            Material::HttpSignature(Arc::new(verifying_key(key)?))
        }
        StoredMaterial::Altalix(key) => Material::Altalix(Arc::new(verifying_key(key)?)),
        StoredMaterial::JwtPublic(key) => Material::Jwt(Arc::new(bind_client(
            JwtKey::from_verifying_key(verifying_key(key)?),
            record,
        ))),
        StoredMaterial::JwtSecret { algorithm, secret } => {
            let alg = JwsAlgorithm::from_name(algorithm).ok_or_else(|| {
                auth_core::Error::invalid_key("stored JWT secret has an unknown algorithm")
            })?;
            let plain = master.open_credential(&record.reference, secret)?;
            let key = JwtKey::hmac(&HmacSecret::from_bytes(plain.expose())?, alg)?;
            Material::Jwt(Arc::new(bind_client(key, record)))
        }
        StoredMaterial::Smile { secret } => {
            let plain = master.open_credential(&record.reference, secret)?;
            Material::Smile(Arc::new(SmileKey::from_secret(&plain)?))
        }
        StoredMaterial::SecKeyPrivate { .. } => return Ok(None),
    };
    if material.purpose() != record.reference.purpose() {
        return Err(ConvertError::Purpose);
    }
    let mut status = record.status;
    if partner == PartnerStatus::Suspended {
        status = suspended(status);
    }
    Ok(Some(Credential {
        partner: record.partner.clone(),
        id: id.clone(),
        environment: record.environment,
        scopes: record.scopes.clone(),
        status,
        material,
    }))
}

/// A suspended partner's credentials answer as revoked.
fn suspended(status: Status) -> Status {
    Status {
        revoked_at: Some(UnixTime::EPOCH),
        ..status
    }
}

/// A JWT key registered with one client ID (its alias) accepts only tokens of that client.
fn bind_client(key: JwtKey, record: &CredentialRecord) -> JwtKey {
    match record.aliases.as_slice() {
        [client] => key.for_client(client.id().as_str()),
        _ => key,
    }
}

/// Default bound on credentials counted between flushes.
pub const DEFAULT_USAGE_ENTRIES: usize = 100_000;

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    accepted: u64,
    rejected: u64,
    last_used: Option<UnixTime>,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.accepted = self.accepted.saturating_add(other.accepted);
        self.rejected = self.rejected.saturating_add(other.rejected);
        self.last_used = self.last_used.max(other.last_used);
    }
}

/// Counts accepted and rejected decisions per credential in a bounded in-memory map and
/// writes them through [`Store::record_usage`] in one batch per flush. When the map is full,
/// decisions for credentials not yet in it are dropped and counted in [`UsageRecorder::dropped`]
/// (usage is a statistic; memory stays bounded under a flood of distinct keys).
pub struct UsageRecorder {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    pending: Mutex<HashMap<CredentialRef, Counts>>,
    capacity: usize,
    dropped: AtomicU64,
}

impl std::fmt::Debug for UsageRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageRecorder")
            .field("pending", &self.pending())
            .field("capacity", &self.capacity)
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

impl UsageRecorder {
    /// A recorder that keeps at most `capacity` credentials between flushes.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, capacity: usize) -> Self {
        Self {
            store,
            clock,
            pending: Mutex::new(HashMap::new()),
            capacity,
            dropped: AtomicU64::new(0),
        }
    }

    /// How many credentials have counts waiting.
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    /// Decisions dropped because the map was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CredentialRef, Counts>> {
        // Each update is one map operation, so a panic elsewhere leaves it consistent.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn add(
        &self,
        map: &mut HashMap<CredentialRef, Counts>,
        reference: &CredentialRef,
        counts: Counts,
    ) {
        if let Some(entry) = map.get_mut(reference) {
            entry.add(counts);
        } else if map.len() < self.capacity {
            map.insert(reference.clone(), counts);
        } else {
            let lost = counts.accepted.saturating_add(counts.rejected);
            self.dropped.fetch_add(lost, Ordering::Relaxed);
        }
    }

    /// Writes the counts gathered so far in one `record_usage` call. On failure they are kept
    /// for the next flush (within the bound) and the error is returned. Returns how many
    /// credentials were written.
    pub async fn flush(&self) -> StoreResult<usize> {
        let batch = std::mem::take(&mut *self.lock());
        if batch.is_empty() {
            return Ok(0);
        }
        let deltas: Vec<UsageDelta> = batch
            .iter()
            .map(|(reference, c)| UsageDelta {
                reference: reference.clone(),
                accepted: c.accepted,
                rejected: c.rejected,
                last_used: c.last_used,
            })
            .collect();
        match self.store.record_usage(&deltas).await {
            Ok(()) => Ok(deltas.len()),
            Err(error) => {
                let mut map = self.lock();
                for (reference, counts) in batch {
                    self.add(&mut map, &reference, counts);
                }
                Err(error)
            }
        }
    }

    /// Flushes every `interval` until the handle is aborted (flush once more at shutdown).
    pub fn spawn_flusher(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let recorder = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                if let Err(error) = recorder.flush().await {
                    tracing::warn!(%error, "usage counts not written; kept for the next flush");
                }
            }
        })
    }
}

impl Observer for UsageRecorder {
    fn observe(&self, decision: &Decision<'_>) {
        let Some(reference) = decision.credential else {
            return;
        };
        let counts = match decision.outcome {
            Outcome::Accepted => Counts {
                accepted: 1,
                rejected: 0,
                last_used: Some(self.clock.now()),
            },
            Outcome::Rejected => Counts {
                accepted: 0,
                rejected: 1,
                last_used: None,
            },
        };
        let mut map = self.lock();
        self.add(&mut map, reference, counts);
    }
}
