//! The registry behind one trait: partners, credentials (API key digests, public keys, sealed
//! secrets), usage counters, the admin list and app-trust state. The embedded SQLite store
//! implements it here, the PostgreSQL store (`postgres.rs`, for many instances; not yet
//! selectable from the service's configuration) implements the same trait and passes the
//! same suite (`suite.rs`). Secrets arrive already sealed ([`crate::sealed`]): a store never
//! sees a plaintext secret or API key.

pub mod postgres;
pub mod sqlite;
#[cfg(any(test, feature = "store-suite"))]
pub mod suite;

use auth_core::apikey::Environment;
use auth_core::credential::{CredentialRef, PartnerId, QredoMode, Scopes, Status};
use auth_core::time::UnixTime;
use serde::{Deserialize, Serialize};

pub use auth_http::BoxFuture;

/// Why a store call failed. Each maps to one HTTP status in the admin API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store cannot answer now (503); nothing was changed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A unique name or ID is taken, or a compare-and-set lost (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Nothing with that ID (404).
    #[error("not found: {0}")]
    NotFound(String),
    /// The stored data cannot be read back (500): a bug or tampering.
    #[error("corrupt store data: {0}")]
    Corrupt(String),
}

/// A store call's result.
pub type StoreResult<T> = Result<T, StoreError>;

/// Whether a partner may authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerStatus {
    /// Its credentials work.
    Active,
    /// None of its credentials work until reactivated.
    Suspended,
}

/// A partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerRecord {
    /// Its ID (unique).
    pub id: PartnerId,
    /// Display name (unique).
    pub name: String,
    /// Active or suspended.
    pub status: PartnerStatus,
    /// Browser origins allowed to call the session endpoint with its user tokens (CORS).
    pub allowed_origins: Vec<String>,
    /// When it was created.
    pub created_at: UnixTime,
}

/// An AEAD-sealed secret as stored: which master key sealed it and the ciphertext.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    /// Identifies the master key (its fingerprint), so a wrong key is named, not guessed at.
    pub key_id: String,
    /// Nonce, ciphertext and tag.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SealedSecret(key {}, {} bytes)",
            self.key_id,
            self.bytes.len()
        )
    }
}

/// A public key as uploaded, normalised to SPKI DER, with the algorithm it is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyRecord {
    /// The algorithm's RFC 9421 / JOSE name (`ed25519`, `rsa-v1_5-sha256`, `RS256`, ...).
    pub algorithm: String,
    /// SubjectPublicKeyInfo, DER.
    pub spki_der: Vec<u8>,
    /// RFC 7638 JWK thumbprint (base64url SHA-256), shown in listings.
    pub fingerprint: String,
}

/// What a credential holds; the variant fixes its purpose, as in `auth_core::credential`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoredMaterial {
    /// A bearer API key: the reference's ID is its digest; `hint` is its last characters.
    ApiKey {
        /// The last few characters, shown in listings.
        hint: String,
    },
    /// A Qredo key: the reference's ID is the digest of `x-api-key`.
    Qredo {
        /// The partner's RSA public key.
        public_key: PublicKeyRecord,
        /// Timestamp or nonce freshness.
        #[serde(with = "qredo_mode")]
        mode: QredoMode,
        /// The last few characters of the `x-api-key`.
        hint: String,
    },
    /// An RFC 9421 public key.
    HttpSignature(PublicKeyRecord),
    /// An Altalix RSA public key.
    Altalix(PublicKeyRecord),
    /// A JWT verification key: a public key, or a sealed HMAC client secret.
    JwtPublic(PublicKeyRecord),
    /// A JWT client secret (HS256), sealed.
    JwtSecret {
        /// `HS256`, `HS384` or `HS512`.
        algorithm: String,
        /// The secret.
        secret: SealedSecret,
    },
    /// A Smile HMAC key, sealed.
    Smile {
        /// The secret.
        secret: SealedSecret,
    },
    /// A provider's legacy `sec_key` RSA private key, sealed (PKCS#8 DER inside).
    SecKeyPrivate {
        /// The private key.
        secret: SealedSecret,
        /// Its public half, for listings and fingerprints.
        public_key: PublicKeyRecord,
    },
}

impl StoredMaterial {
    /// The sealed secret inside, if any (what `rekey` rewrites).
    pub fn sealed(&self) -> Option<&SealedSecret> {
        match self {
            Self::JwtSecret { secret, .. }
            | Self::Smile { secret }
            | Self::SecKeyPrivate { secret, .. } => Some(secret),
            _ => None,
        }
    }

    /// The same material with its sealed secret replaced (rekey).
    pub fn with_sealed(&self, sealed: SealedSecret) -> Self {
        let mut copy = self.clone();
        match &mut copy {
            Self::JwtSecret { secret, .. }
            | Self::Smile { secret }
            | Self::SecKeyPrivate { secret, .. } => *secret = sealed,
            _ => {}
        }
        copy
    }
}

/// `QredoMode` as `"timestamp"` or `"nonce"` (auth-core has no serde).
mod qredo_mode {
    use auth_core::credential::QredoMode;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(mode: &QredoMode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match mode {
            QredoMode::Timestamp => "timestamp",
            QredoMode::Nonce => "nonce",
        })
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<QredoMode, D::Error> {
        match String::deserialize(d)?.as_str() {
            "timestamp" => Ok(QredoMode::Timestamp),
            "nonce" => Ok(QredoMode::Nonce),
            other => Err(serde::de::Error::custom(format!(
                "unknown Qredo mode {other:?}"
            ))),
        }
    }
}

/// A credential as the registry keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    /// Purpose and ID: how it is found. Unique.
    pub reference: CredentialRef,
    /// Whose it is.
    pub partner: PartnerId,
    /// `live` or `test`.
    pub environment: Environment,
    /// A name unique among the partner's credentials.
    pub name: String,
    /// Free text for the partner's own use.
    pub notes: String,
    /// What it may do.
    pub scopes: Scopes,
    /// Not before, expires, revoked.
    pub status: Status,
    /// When it was created.
    pub created_at: UnixTime,
    /// Its material.
    pub material: StoredMaterial,
    /// Other references of the same purpose that find it (a JWT key's `clientId`). Unique.
    pub aliases: Vec<CredentialRef>,
}

/// Counts and last use of one credential since the last flush, added to the stored totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDelta {
    /// Which credential.
    pub reference: CredentialRef,
    /// Accepted requests.
    pub accepted: u64,
    /// Rejected requests attributed to it (wrong signature, expired, ...).
    pub rejected: u64,
    /// The latest accepted request.
    pub last_used: Option<UnixTime>,
}

/// Stored usage totals of one credential.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// Accepted requests.
    pub accepted: u64,
    /// Rejected requests.
    pub rejected: u64,
    /// The latest accepted request.
    pub last_used: Option<UnixTime>,
}

/// The admin list: version and Actyx key-text public keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminList {
    /// Bumped by every change.
    pub version: u64,
    /// Public keys in Actyx key text (`0...`).
    pub keys: Vec<String>,
}

/// A small named document of app-trust state (authority key, node licensing mode, issued
/// certificates and licenses), stored as JSON with sealed parts already sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Its kind (`authority`, `node_licensing`, `certificate`, `license`).
    pub kind: String,
    /// Its ID within the kind.
    pub id: String,
    /// The JSON body.
    pub body: serde_json::Value,
    /// When it was written.
    pub created_at: UnixTime,
}

/// The registry. Every method is one transaction; every write either fully happens or not at
/// all. Implementations bound every call in time and answer `Unavailable` rather than hang.
pub trait Store: Send + Sync + 'static {
    /// Whether the store answers (readiness).
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>>;

    /// A value from the store's metadata table (master-key check value, service key).
    fn meta<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<Option<Vec<u8>>>>;
    /// Sets a metadata value; with `only_if_absent`, a present value is a `Conflict`.
    fn set_meta<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        only_if_absent: bool,
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// Creates a partner; a taken ID or name is a `Conflict`.
    fn create_partner<'a>(&'a self, partner: &'a PartnerRecord) -> BoxFuture<'a, StoreResult<()>>;
    /// One partner.
    fn partner<'a>(
        &'a self,
        id: &'a PartnerId,
    ) -> BoxFuture<'a, StoreResult<Option<PartnerRecord>>>;
    /// All partners, by ID.
    fn partners(&self) -> BoxFuture<'_, StoreResult<Vec<PartnerRecord>>>;
    /// Replaces a partner's status and allowed origins (name and ID are fixed).
    fn update_partner<'a>(&'a self, partner: &'a PartnerRecord) -> BoxFuture<'a, StoreResult<()>>;

    /// Adds a credential; a taken reference, alias or (partner, name) is a `Conflict`; an
    /// unknown partner is `NotFound`.
    fn insert_credential<'a>(
        &'a self,
        credential: &'a CredentialRecord,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// The credential a reference or alias names.
    fn credential<'a>(
        &'a self,
        reference: &'a CredentialRef,
    ) -> BoxFuture<'a, StoreResult<Option<CredentialRecord>>>;
    /// A partner's credentials, oldest first.
    fn credentials<'a>(
        &'a self,
        partner: &'a PartnerId,
    ) -> BoxFuture<'a, StoreResult<Vec<CredentialRecord>>>;
    /// Replaces a credential's status (revoke, expire); `NotFound` if absent.
    fn set_status<'a>(
        &'a self,
        reference: &'a CredentialRef,
        status: Status,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Regenerates in one transaction: the old credential's expiry becomes `old_expires_at`
    /// (now for immediate) and `replacement` is inserted with the old one's name.
    fn regenerate<'a>(
        &'a self,
        old: &'a CredentialRef,
        old_expires_at: UnixTime,
        replacement: &'a CredentialRecord,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Every credential holding a sealed secret (rekey).
    fn sealed_credentials(&self) -> BoxFuture<'_, StoreResult<Vec<CredentialRecord>>>;
    /// Replaces materials and metadata values in one transaction (rekey); all or nothing.
    fn reseal<'a>(
        &'a self,
        materials: &'a [(CredentialRef, StoredMaterial)],
        meta: &'a [(String, Vec<u8>)],
        documents: &'a [Document],
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// Adds usage deltas to the stored totals, in one transaction.
    fn record_usage<'a>(&'a self, deltas: &'a [UsageDelta]) -> BoxFuture<'a, StoreResult<()>>;
    /// A credential's usage totals.
    fn usage<'a>(&'a self, reference: &'a CredentialRef) -> BoxFuture<'a, StoreResult<Usage>>;

    /// The admin list.
    fn admins(&self) -> BoxFuture<'_, StoreResult<AdminList>>;
    /// Replaces the admin list if its version is still `expected_version` (then it becomes
    /// `expected_version + 1`); otherwise `Conflict` and nothing changes.
    fn replace_admins<'a>(
        &'a self,
        expected_version: u64,
        keys: &'a [String],
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// Writes a document; an existing (kind, id) is a `Conflict` unless `replace`.
    fn put_document<'a>(
        &'a self,
        document: &'a Document,
        replace: bool,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// One document.
    fn document<'a>(
        &'a self,
        kind: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<Document>>>;
    /// Every document of a kind, oldest first.
    fn documents<'a>(&'a self, kind: &'a str) -> BoxFuture<'a, StoreResult<Vec<Document>>>;
}
