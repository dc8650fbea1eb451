//! The service's own Ed25519 keys (user-token signing, app-token signing, the app-trust
//! authority): created on first use, kept sealed in the store's metadata under
//! `sealed:<name>` (bound to that name), listed in `sealed::SEALED_META_KEYS` so `rekey`
//! re-seals every one of them.

use auth_core::keys::{PrivateKey, generate_ed25519};
use zeroize::Zeroizing;

use crate::sealed::MasterKey;
use crate::store::{Store, StoreError};

/// Metadata keys holding sealed values start with this.
pub const SEALED_META_PREFIX: &str = "sealed:";

/// Why a service key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ServiceKeyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored value does not open or parse.
    #[error("the stored service key {0} cannot be opened: {1}")]
    Corrupt(String, String),
    /// Generating failed.
    #[error("cannot generate a key: {0}")]
    Generate(String),
}

/// The meta key of the named service key.
pub fn meta_key(name: &str) -> String {
    format!("{SEALED_META_PREFIX}{name}")
}

/// The named key if it exists.
pub async fn load(
    store: &dyn Store,
    master: &MasterKey,
    name: &str,
) -> Result<Option<PrivateKey>, ServiceKeyError> {
    let key = meta_key(name);
    let Some(bytes) = store.meta(&key).await? else {
        return Ok(None);
    };
    let seed = master
        .open_meta(&key, &bytes)
        .map_err(|e| ServiceKeyError::Corrupt(name.to_owned(), e.to_string()))?;
    PrivateKey::ed25519_from_seed(seed.expose())
        .map(Some)
        .map_err(|e| ServiceKeyError::Corrupt(name.to_owned(), e.to_string()))
}

/// Creates the named key unless it exists (`Conflict` if it does), returning it.
pub async fn create(
    store: &dyn Store,
    master: &MasterKey,
    name: &str,
    rng: &ring::rand::SystemRandom,
) -> Result<PrivateKey, ServiceKeyError> {
    let private = generate_ed25519(rng).map_err(|e| ServiceKeyError::Generate(e.to_string()))?;
    let seed = Zeroizing::new(
        private
            .ed25519_seed()
            .ok_or_else(|| ServiceKeyError::Generate("not an Ed25519 key".into()))?
            .to_vec(),
    );
    let key = meta_key(name);
    let bytes = master
        .seal_meta(&key, &seed)
        .map_err(|e| ServiceKeyError::Generate(e.to_string()))?;
    store.set_meta(&key, &bytes, true).await?;
    Ok(private)
}

/// The named key, created on first use. Two instances racing both end with the stored one.
pub async fn load_or_create(
    store: &dyn Store,
    master: &MasterKey,
    name: &str,
    rng: &ring::rand::SystemRandom,
) -> Result<PrivateKey, ServiceKeyError> {
    if let Some(key) = load(store, master, name).await? {
        return Ok(key);
    }
    match create(store, master, name, rng).await {
        Ok(key) => Ok(key),
        Err(ServiceKeyError::Store(StoreError::Conflict(_))) => load(store, master, name)
            .await?
            .ok_or_else(|| ServiceKeyError::Corrupt(name.to_owned(), "vanished".into())),
        Err(e) => Err(e),
    }
}
