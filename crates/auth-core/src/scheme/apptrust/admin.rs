//! Administrative authorization (`/admin/authorizedUsers`) as a pure policy: a versioned list
//! of admin public keys; trust on first use while it is empty; afterwards only listed keys
//! pass. Every change is a compare-and-set on the list's version, so a service applying it
//! atomically (`UPDATE ... WHERE version = expected`) enrols exactly one key even when two
//! first callers race.

use super::error::{ActyxCode, AppTrustError};
use super::keytext::AxPublicKey;
use crate::error::{Error, ErrorCode, Result};

/// Most keys the list may hold.
pub const MAX_AUTHORIZED_USERS: usize = 256;

/// A snapshot of the authorized users list with its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedUsers {
    version: u64,
    keys: Vec<AxPublicKey>,
}

/// A change to apply atomically: replace the list by `new_keys` if (and only if) the stored
/// version is still `expected_version`; the new version is `expected_version + 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminChange {
    /// The version the decision was taken on.
    pub expected_version: u64,
    /// The list after the change.
    pub new_keys: Vec<AxPublicKey>,
}

/// What to do with a request signed by an admin key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminDecision {
    /// The key is listed: go ahead.
    Allowed,
    /// The list is empty: enrol this key (trust on first use) by applying the change
    /// atomically; if that succeeds, allow the request and tell the caller it was enrolled;
    /// on a conflict, read the list again and decide again.
    Enrol(AdminChange),
    /// The key is not listed: `ERR_UNAUTHORIZED`.
    Denied(AppTrustError),
}

/// The result of applying an [`AdminChange`] to a snapshot (the in-memory model of the
/// service's compare-and-set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolOutcome {
    /// The version matched; the list was replaced.
    Applied,
    /// Someone changed the list first; nothing was changed.
    Conflict,
}

fn unauthorized(message: &'static str) -> AppTrustError {
    AppTrustError::new(
        ActyxCode::Unauthorized,
        Error::new(ErrorCode::Unauthorized, message),
    )
}

impl AuthorizedUsers {
    /// An empty list at version 0 (a fresh node: the first key will be enrolled).
    pub fn empty() -> Self {
        Self {
            version: 0,
            keys: Vec::new(),
        }
    }

    /// A stored snapshot. Duplicates and more than [`MAX_AUTHORIZED_USERS`] keys are rejected.
    pub fn new(version: u64, keys: Vec<AxPublicKey>) -> Result<Self> {
        if keys.len() > MAX_AUTHORIZED_USERS {
            return Err(Error::new(
                ErrorCode::TooLarge,
                format!("authorizedUsers holds more than {MAX_AUTHORIZED_USERS} keys"),
            ));
        }
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].contains(k) {
                return Err(Error::malformed("authorizedUsers lists a key twice"));
            }
        }
        Ok(Self { version, keys })
    }

    /// The version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The keys.
    pub fn keys(&self) -> &[AxPublicKey] {
        &self.keys
    }

    /// Whether `key` is listed.
    pub fn contains(&self, key: &AxPublicKey) -> bool {
        self.keys.contains(key)
    }

    /// Decides on a request whose signature by `key` has been verified.
    pub fn decide(&self, key: &AxPublicKey) -> AdminDecision {
        if self.keys.is_empty() {
            AdminDecision::Enrol(AdminChange {
                expected_version: self.version,
                new_keys: vec![*key],
            })
        } else if self.contains(key) {
            AdminDecision::Allowed
        } else {
            AdminDecision::Denied(unauthorized(
                "this key is not in authorizedUsers; ask an administrator to add it",
            ))
        }
    }

    /// Compare-and-set: applies `change` if the version still matches.
    pub fn apply(&mut self, change: &AdminChange) -> EnrolOutcome {
        if change.expected_version != self.version {
            return EnrolOutcome::Conflict;
        }
        self.keys.clone_from(&change.new_keys);
        self.version = self.version.saturating_add(1);
        EnrolOutcome::Applied
    }

    /// An authorized `actor` adds `key`. `None` if it is already listed.
    pub fn add(
        &self,
        actor: &AxPublicKey,
        key: AxPublicKey,
    ) -> Result<Option<AdminChange>, AppTrustError> {
        self.require(actor)?;
        if self.contains(&key) {
            return Ok(None);
        }
        if self.keys.len() >= MAX_AUTHORIZED_USERS {
            return Err(AppTrustError::new(
                ActyxCode::Unauthorized,
                Error::new(ErrorCode::TooLarge, "authorizedUsers is full"),
            ));
        }
        let mut new_keys = self.keys.clone();
        new_keys.push(key);
        Ok(Some(AdminChange {
            expected_version: self.version,
            new_keys,
        }))
    }

    /// An authorized `actor` removes `key`. `None` if it is not listed. Removing the last key
    /// is refused: an empty list would re-open trust on first use.
    pub fn remove(
        &self,
        actor: &AxPublicKey,
        key: &AxPublicKey,
    ) -> Result<Option<AdminChange>, AppTrustError> {
        self.require(actor)?;
        if !self.contains(key) {
            return Ok(None);
        }
        if self.keys.len() == 1 {
            return Err(unauthorized(
                "refusing to remove the last authorized user (the list would accept any key); add another first",
            ));
        }
        Ok(Some(AdminChange {
            expected_version: self.version,
            new_keys: self.keys.iter().filter(|k| *k != key).copied().collect(),
        }))
    }

    fn require(&self, actor: &AxPublicKey) -> Result<(), AppTrustError> {
        if self.contains(actor) {
            Ok(())
        } else {
            Err(unauthorized(
                "only keys in authorizedUsers may change authorizedUsers",
            ))
        }
    }
}
