//! How the layer finds credentials: one async [`KeyResolver`] keyed by a [`CredentialRef`]
//! (purpose + presented ID) that the provider implements over its store, and an in-memory
//! one. The caching wrapper is in `cache.rs`; the same reference that finds a credential
//! invalidates it.

use auth_core::credential::{Credential, CredentialRef, Purpose};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::BoxFuture;

/// A store could not answer. The layer fails closed: the request gets 503, never a 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUnavailable(pub String);

impl std::fmt::Display for StoreUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "credential store unavailable: {}", self.0)
    }
}

impl std::error::Error for StoreUnavailable {}

/// The answer of a lookup: the credential, or `None` when nothing of that purpose is
/// registered under that ID.
pub type Lookup = Result<Option<Arc<Credential>>, StoreUnavailable>;

/// Looks credentials up by reference. `Ok(None)` means "not registered for this purpose";
/// `Err` means the store cannot tell (the layer answers 503). An implementation must only
/// return credentials whose purpose is the reference's (the layer checks again).
pub trait KeyResolver: Send + Sync + 'static {
    /// The credential `reference` names.
    fn resolve<'a>(&'a self, reference: &'a CredentialRef) -> BoxFuture<'a, Lookup>;
}

impl<R: KeyResolver + ?Sized> KeyResolver for Arc<R> {
    fn resolve<'a>(&'a self, reference: &'a CredentialRef) -> BoxFuture<'a, Lookup> {
        (**self).resolve(reference)
    }
}

/// An in-memory resolver: the default for single-process use, examples and tests.
#[derive(Default)]
pub struct MemoryResolver {
    by_ref: RwLock<HashMap<CredentialRef, Arc<Credential>>>,
    /// Extra references (a JWT key's bound `clientId`) and the credential they name.
    aliases: RwLock<HashMap<CredentialRef, CredentialRef>>,
    unavailable: AtomicBool,
}

impl MemoryResolver {
    /// An empty resolver.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `credential` under its own reference. Returns that reference.
    pub fn insert(&self, credential: Credential) -> CredentialRef {
        let reference = credential.reference();
        write(&self.by_ref).insert(reference.clone(), Arc::new(credential));
        reference
    }

    /// Registers `credential` (under its own reference) and makes `alias`, a reference of the
    /// same purpose, name it too (a JWT key found by its bound `clientId` as well as by its
    /// `kid`). Changing or removing the credential changes what the alias answers. An alias
    /// of another purpose is ignored: a credential never answers for another purpose.
    pub fn insert_alias(&self, alias: CredentialRef, credential: Credential) {
        if alias.purpose() != credential.purpose() {
            return;
        }
        let canonical = credential.reference();
        write(&self.by_ref)
            .entry(canonical.clone())
            .or_insert_with(|| Arc::new(credential));
        write(&self.aliases).insert(alias, canonical);
    }

    /// Changes the credential registered under `reference` (revocation, expiry, scopes).
    pub fn update(&self, reference: &CredentialRef, f: impl FnOnce(&mut Credential)) {
        let mut map = write(&self.by_ref);
        if let Some(entry) = map.get_mut(reference) {
            let mut changed = Credential::clone(entry);
            f(&mut changed);
            *entry = Arc::new(changed);
        }
    }

    /// Removes `reference` (a credential, with its aliases, or one alias).
    pub fn remove(&self, reference: &CredentialRef) {
        write(&self.by_ref).remove(reference);
        write(&self.aliases).retain(|alias, target| alias != reference && target != reference);
    }

    /// How many references are registered for `purpose`.
    pub fn count(&self, purpose: Purpose) -> usize {
        read(&self.by_ref)
            .keys()
            .filter(|r| r.purpose() == purpose)
            .count()
    }

    /// Simulates an outage: every lookup fails until switched back (tests the fail-closed path).
    pub fn set_unavailable(&self, down: bool) {
        self.unavailable.store(down, Ordering::SeqCst);
    }
}

// A poisoned lock means a panic elsewhere while holding it; the map stays consistent (every
// write is a single insert/remove), so keep serving.
fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl KeyResolver for MemoryResolver {
    fn resolve<'a>(&'a self, reference: &'a CredentialRef) -> BoxFuture<'a, Lookup> {
        Box::pin(async move {
            if self.unavailable.load(Ordering::SeqCst) {
                return Err(StoreUnavailable(
                    "the in-memory store is marked unavailable".into(),
                ));
            }
            let alias = read(&self.aliases).get(reference).cloned();
            let map = read(&self.by_ref);
            let found = map
                .get(reference)
                .or_else(|| alias.as_ref().and_then(|a| map.get(a)));
            Ok(found
                .filter(|c| c.purpose() == reference.purpose())
                .cloned())
        })
    }
}
