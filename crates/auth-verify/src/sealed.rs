//! Secrets at rest: the master key, AES-256-GCM sealing bound to what each secret protects,
//! the start-up check that refuses a wrong key, and `rekey`.
//!
//! A sealed blob is `nonce (12) || ciphertext || tag (16)` under a random nonce per seal. Its
//! associated data names the row it belongs to (a credential reference, a document part, a
//! metadata key), so a blob copied into another row fails to open. `key_id` is a short,
//! domain-separated fingerprint of the master key: it lets a wrong key be named, and reveals
//! nothing of the key.

use crate::store::{Document, SealedSecret, Store, StoreError, StoredMaterial};
use auth_core::credential::CredentialRef;
use auth_core::secret::SecretBytes;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The environment variable holding the master key (standard Base64 of 32 bytes).
pub const MASTER_KEY_ENV: &str = "AUTH_VERIFY_MASTER_KEY";
/// The master key file generated in the data directory on a first start.
pub const MASTER_KEY_FILE: &str = "master.key";
/// The metadata key of the key-check value.
pub const CHECK_META_KEY: &str = "master_key_check";
/// Metadata keys whose values are sealed with [`MasterKey::seal_meta`]; `rekey` reseals them.
pub const SEALED_META_KEYS: &[&str] = &[
    CHECK_META_KEY,
    "sealed:user_token_key",
    "sealed:app_token_key",
    "sealed:app_trust_authority",
];
/// Document kinds whose top-level sealed parts ([`MasterKey::seal_document_part`]) `rekey`
/// reseals.
pub const SEALED_DOCUMENT_KINDS: &[&str] =
    &["authority", "node_licensing", "certificate", "license"];
/// The JSON member that marks a sealed document part.
const SEALED_PART: &str = "$sealed";
const CHECK_PLAINTEXT: &[u8] = b"auth-verify master key check v1";
const TAG_LEN: usize = 16;

/// What went wrong with the master key or a sealed secret. Messages never carry key bytes or
/// plaintext.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The master key could not be loaded (file, environment, generation).
    #[error("master key: {0}")]
    KeySource(String),
    /// The data was sealed under another master key.
    #[error(
        "the master key {given} is not the key this data was sealed with ({stored}); \
         nothing was changed. Start with the right key (--master-key-file, \
         AUTH_VERIFY_MASTER_KEY or <data dir>/master.key)"
    )]
    WrongKey {
        /// The key ID recorded with the data.
        stored: String,
        /// The key ID of the key that was given.
        given: String,
    },
    /// A sealed value failed authentication: damaged, tampered with or moved to another row.
    #[error("a sealed value failed authentication (damaged, altered or moved between rows)")]
    Tampered,
    /// The store failed; nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The 32-byte key every secret at rest is sealed under. Wiped on drop; `Debug` shows only
/// its key ID.
pub struct MasterKey {
    key: LessSafeKey,
    bytes: Zeroizing<[u8; 32]>,
    id: String,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({}, [redacted])", self.id)
    }
}

/// Where the master key came from; `Generated` asks the caller to tell the operator to back
/// the new file up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// The configured file.
    File(PathBuf),
    /// The `AUTH_VERIFY_MASTER_KEY` environment variable.
    Environment,
    /// `<data dir>/master.key`, present from an earlier start.
    DataDir(PathBuf),
    /// `<data dir>/master.key`, generated now: log "generated a master key at ...; back it up".
    Generated(PathBuf),
}

/// The result of [`MasterKey::check_against`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    /// The store had no check value; this key's was written (first start).
    Recorded,
    /// The store's check value opened under this key.
    Matches,
}

impl MasterKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let array: [u8; 32] = bytes.try_into().map_err(|_| {
            SealError::KeySource(format!(
                "a master key is exactly 32 bytes, this one has {}",
                bytes.len()
            ))
        })?;
        let bytes = Zeroizing::new(array);
        let unbound = UnboundKey::new(&AES_256_GCM, bytes.as_slice())
            .map_err(|_| SealError::KeySource("AES-256-GCM refused the key".into()))?;
        let mut hasher = ring::digest::Context::new(&ring::digest::SHA256);
        hasher.update(b"auth-verify master key id v1\0");
        hasher.update(bytes.as_slice());
        let digest = hasher.finish();
        let id = digest.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self {
            key: LessSafeKey::new(unbound),
            bytes,
            id,
        })
    }

    /// A key from standard Base64 text of 32 bytes (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, SealError> {
        let raw = Zeroizing::new(B64.decode(text.trim()).map_err(|_| {
            SealError::KeySource("the master key is not valid Base64 (32 bytes expected)".into())
        })?);
        Self::from_bytes(&raw)
    }

    /// A fresh random key.
    pub fn generate() -> Result<Self, SealError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(bytes.as_mut_slice())
            .map_err(|_| SealError::KeySource("the system random generator failed".into()))?;
        Self::from_bytes(bytes.as_slice())
    }

    /// The key as standard Base64, for writing a key file or the environment variable.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(B64.encode(self.bytes.as_slice()))
    }

    /// The key ID: 16 hex digits of a domain-separated SHA-256 of the key.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Loads the master key from, in order: `file` (configuration), `env_value` (the value
    /// of [`MASTER_KEY_ENV`], passed in so tests need not touch the process environment),
    /// else `<data_dir>/master.key`, generated there with mode 0600 if absent.
    pub fn load(
        file: Option<&Path>,
        env_value: Option<&str>,
        data_dir: &Path,
    ) -> Result<(Self, KeyOrigin), SealError> {
        if let Some(path) = file {
            return Ok((read_key_file(path)?, KeyOrigin::File(path.to_owned())));
        }
        if let Some(value) = env_value.filter(|v| !v.trim().is_empty()) {
            let key = Self::from_base64(value)
                .map_err(|e| SealError::KeySource(format!("{MASTER_KEY_ENV}: {e}")))?;
            return Ok((key, KeyOrigin::Environment));
        }
        let path = data_dir.join(MASTER_KEY_FILE);
        match std::fs::symlink_metadata(&path) {
            Ok(_) => Ok((read_key_file(&path)?, KeyOrigin::DataDir(path))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate()?;
                write_new_key_file(data_dir, &path, &key)?;
                Ok((key, KeyOrigin::Generated(path)))
            }
            Err(e) => Err(SealError::KeySource(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    /// [`MasterKey::load`] with the value of [`MASTER_KEY_ENV`] from the process environment.
    pub fn load_from_environment(
        file: Option<&Path>,
        data_dir: &Path,
    ) -> Result<(Self, KeyOrigin), SealError> {
        let env = std::env::var(MASTER_KEY_ENV).ok().map(Zeroizing::new);
        Self::load(file, env.as_deref().map(String::as_str), data_dir)
    }

    /// Seals `plaintext`, bound to `aad` (what it protects: see [`credential_aad`]).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<SealedSecret, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError::KeySource("the system random generator failed".into()))?;
        let mut bytes = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut bytes[NONCE_LEN..],
            )
            .map_err(|_| SealError::KeySource("AES-256-GCM sealing failed".into()))?;
        bytes.extend_from_slice(tag.as_ref());
        Ok(SealedSecret {
            key_id: self.id.clone(),
            bytes,
        })
    }

    /// Opens `sealed`, which must have been sealed under this key with the same `aad`.
    pub fn open(&self, sealed: &SealedSecret, aad: &[u8]) -> Result<SecretBytes, SealError> {
        if sealed.key_id != self.id {
            return Err(SealError::WrongKey {
                stored: sealed.key_id.clone(),
                given: self.id.clone(),
            });
        }
        if sealed.bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::Tampered);
        }
        let (nonce, rest) = sealed.bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Tampered)?;
        let mut buffer = Zeroizing::new(rest.to_vec());
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut buffer)
            .map_err(|_| SealError::Tampered)?;
        Ok(SecretBytes::from_slice(plaintext))
    }

    /// Seals a credential's secret, bound to its reference.
    pub fn seal_credential(
        &self,
        reference: &CredentialRef,
        plaintext: &[u8],
    ) -> Result<SealedSecret, SealError> {
        self.seal(plaintext, &credential_aad(reference))
    }

    /// Opens a credential's secret.
    pub fn open_credential(
        &self,
        reference: &CredentialRef,
        sealed: &SealedSecret,
    ) -> Result<SecretBytes, SealError> {
        self.open(sealed, &credential_aad(reference))
    }

    /// Seals a metadata value (the bytes to store under `key`), bound to `key`.
    pub fn seal_meta(&self, key: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let sealed = self.seal(plaintext, &meta_aad(key))?;
        serde_json::to_vec(&sealed)
            .map_err(|_| SealError::KeySource("cannot encode a sealed value".into()))
    }

    /// Opens a metadata value written by [`MasterKey::seal_meta`].
    pub fn open_meta(&self, key: &str, stored: &[u8]) -> Result<SecretBytes, SealError> {
        let sealed: SealedSecret =
            serde_json::from_slice(stored).map_err(|_| SealError::Tampered)?;
        self.open(&sealed, &meta_aad(key))
    }

    /// A sealed document part, to put under `field` at the top level of the document
    /// (`kind`, `id`): `{"$sealed": {"key_id": ..., "bytes": "<base64>"}}`.
    pub fn seal_document_part(
        &self,
        kind: &str,
        id: &str,
        field: &str,
        plaintext: &[u8],
    ) -> Result<serde_json::Value, SealError> {
        let sealed = self.seal(plaintext, &document_aad(kind, id, field))?;
        Ok(sealed_part_json(&sealed))
    }

    /// Opens the sealed part under `field` of `document`.
    pub fn open_document_part(
        &self,
        document: &Document,
        field: &str,
    ) -> Result<SecretBytes, SealError> {
        let sealed = document
            .body
            .get(field)
            .and_then(parse_sealed_part)
            .ok_or(SealError::Tampered)?;
        self.open(&sealed, &document_aad(&document.kind, &document.id, field))
    }

    /// Compares this key with the check value in the store. On a first start (no check
    /// value) this key's is recorded. A wrong key is refused naming both key IDs, and
    /// nothing is changed.
    pub async fn check_against(&self, store: &dyn Store) -> Result<KeyCheck, SealError> {
        if let Some(stored) = store.meta(CHECK_META_KEY).await? {
            return self.verify_check_value(&stored).map(|()| KeyCheck::Matches);
        }
        let value = self.seal_meta(CHECK_META_KEY, CHECK_PLAINTEXT)?;
        match store.set_meta(CHECK_META_KEY, &value, true).await {
            Ok(()) => Ok(KeyCheck::Recorded),
            // Another instance recorded its key first: ours must be the same.
            Err(StoreError::Conflict(_)) => {
                let stored = store.meta(CHECK_META_KEY).await?.ok_or_else(|| {
                    StoreError::Unavailable("the master key check value vanished".into())
                })?;
                self.verify_check_value(&stored).map(|()| KeyCheck::Matches)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn verify_check_value(&self, stored: &[u8]) -> Result<(), SealError> {
        let plain = self.open_meta(CHECK_META_KEY, stored)?;
        if plain.expose() == CHECK_PLAINTEXT {
            Ok(())
        } else {
            Err(SealError::Tampered)
        }
    }
}

/// Re-seals everything sealed under `old` with `new`, in one store transaction: every sealed
/// credential secret, every sealed metadata value ([`SEALED_META_KEYS`], including the key
/// check) and every sealed document part ([`SEALED_DOCUMENT_KINDS`]). `old` must match the
/// store's check value. Any failure changes nothing. Returns how many values were resealed.
pub async fn rekey(
    store: &dyn Store,
    old: &MasterKey,
    new: &MasterKey,
) -> Result<usize, SealError> {
    old.check_against(store).await?;
    let mut materials: Vec<(CredentialRef, StoredMaterial)> = Vec::new();
    for record in store.sealed_credentials().await? {
        let Some(sealed) = record.material.sealed() else {
            continue;
        };
        let plain = old.open_credential(&record.reference, sealed)?;
        let resealed = new.seal_credential(&record.reference, plain.expose())?;
        materials.push((
            record.reference.clone(),
            record.material.with_sealed(resealed),
        ));
    }
    let mut meta = Vec::new();
    for key in SEALED_META_KEYS {
        if let Some(stored) = store.meta(key).await? {
            let plain = old.open_meta(key, &stored)?;
            meta.push(((*key).to_owned(), new.seal_meta(key, plain.expose())?));
        }
    }
    let mut documents = Vec::new();
    for kind in SEALED_DOCUMENT_KINDS {
        for mut document in store.documents(kind).await? {
            let fields: Vec<String> = match &document.body {
                serde_json::Value::Object(map) => map
                    .iter()
                    .filter(|(_, v)| parse_sealed_part(v).is_some())
                    .map(|(k, _)| k.clone())
                    .collect(),
                _ => Vec::new(),
            };
            if fields.is_empty() {
                continue;
            }
            for field in fields {
                let plain = old.open_document_part(&document, &field)?;
                let part =
                    new.seal_document_part(&document.kind, &document.id, &field, plain.expose())?;
                if let serde_json::Value::Object(map) = &mut document.body {
                    map.insert(field, part);
                }
            }
            documents.push(document);
        }
    }
    let count = materials.len() + meta.len() + documents.len();
    store.reseal(&materials, &meta, &documents).await?;
    Ok(count)
}

/// The associated data that binds a credential's sealed secret to its reference.
pub fn credential_aad(reference: &CredentialRef) -> Vec<u8> {
    format!("auth-verify/credential\0{}", reference.to_wire()).into_bytes()
}

fn meta_aad(key: &str) -> Vec<u8> {
    format!("auth-verify/meta\0{key}").into_bytes()
}

fn document_aad(kind: &str, id: &str, field: &str) -> Vec<u8> {
    format!("auth-verify/document\0{kind}\0{id}\0{field}").into_bytes()
}

fn sealed_part_json(sealed: &SealedSecret) -> serde_json::Value {
    serde_json::json!({ SEALED_PART: { "key_id": sealed.key_id, "bytes": B64.encode(&sealed.bytes) } })
}

fn parse_sealed_part(value: &serde_json::Value) -> Option<SealedSecret> {
    let inner = value.get(SEALED_PART)?;
    Some(SealedSecret {
        key_id: inner.get("key_id")?.as_str()?.to_owned(),
        bytes: B64.decode(inner.get("bytes")?.as_str()?).ok()?,
    })
}

fn read_key_file(path: &Path) -> Result<MasterKey, SealError> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| SealError::KeySource(format!("cannot read {}: {e}", path.display())))?,
    );
    MasterKey::from_base64(&text)
        .map_err(|e| SealError::KeySource(format!("{}: {e}", path.display())))
}

/// Writes a new key file with mode 0600; `create_new` (O_EXCL) never follows or overwrites a
/// link or an existing file.
fn write_new_key_file(data_dir: &Path, path: &Path, key: &MasterKey) -> Result<(), SealError> {
    let failed =
        |e: std::io::Error| SealError::KeySource(format!("cannot write {}: {e}", path.display()));
    crate::store::sqlite::create_private_dir(data_dir).map_err(failed)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(failed)?;
    let mut text = key.to_base64();
    text.push('\n');
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.sync_all().map_err(failed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use auth_core::credential::Purpose;
    use std::os::unix::fs::PermissionsExt;

    fn reference(id: &str) -> CredentialRef {
        CredentialRef::parse(Purpose::SmileKey, id).unwrap()
    }

    #[test]
    fn round_trip_and_bindings() {
        let key = MasterKey::generate().unwrap();
        let a = reference("partner-a");
        let sealed = key.seal_credential(&a, b"the secret").unwrap();
        assert_eq!(
            key.open_credential(&a, &sealed).unwrap().expose(),
            b"the secret"
        );
        // Two seals of the same plaintext differ (random nonce).
        assert_ne!(
            key.seal_credential(&a, b"the secret").unwrap().bytes,
            sealed.bytes
        );
        // Moved to another row: refused.
        assert!(matches!(
            key.open_credential(&reference("partner-b"), &sealed),
            Err(SealError::Tampered)
        ));
        // One flipped bit anywhere: refused.
        for i in 0..sealed.bytes.len() {
            let mut bad = sealed.clone();
            bad.bytes[i] ^= 1;
            assert!(matches!(
                key.open_credential(&a, &bad),
                Err(SealError::Tampered)
            ));
        }
        let mut short = sealed.clone();
        short.bytes.truncate(10);
        assert!(matches!(
            key.open_credential(&a, &short),
            Err(SealError::Tampered)
        ));
        // Another key: named, not guessed at.
        let other = MasterKey::generate().unwrap();
        let err = other.open_credential(&a, &sealed).unwrap_err();
        assert!(matches!(err, SealError::WrongKey { .. }));
        let text = err.to_string();
        assert!(
            text.contains(key.id()) && text.contains(other.id()),
            "{text}"
        );
        // Same key ID forged onto a blob from another key: still refused by the tag.
        let mut forged = other.seal_credential(&a, b"x").unwrap();
        forged.key_id = key.id().to_owned();
        assert!(matches!(
            key.open_credential(&a, &forged),
            Err(SealError::Tampered)
        ));
    }

    #[test]
    fn debug_and_errors_carry_no_key() {
        let key = MasterKey::generate().unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains("redacted") && !debug.contains(key.to_base64().as_str()));
        assert_eq!(key.id().len(), 16);
        assert!(MasterKey::from_bytes(&[0u8; 31]).is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
    }

    #[test]
    fn generated_file_is_private_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let (key, origin) = MasterKey::load(None, None, &data).unwrap();
        let path = data.join(MASTER_KEY_FILE);
        assert_eq!(origin, KeyOrigin::Generated(path.clone()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(&data).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        let (again, origin) = MasterKey::load(None, None, &data).unwrap();
        assert_eq!(origin, KeyOrigin::DataDir(path));
        assert_eq!(again.id(), key.id());
    }

    #[test]
    fn a_planted_link_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::os::unix::fs::symlink(&target, dir.path().join(MASTER_KEY_FILE)).unwrap();
        // The dangling link is "present": reading it fails, nothing is written through it.
        assert!(MasterKey::load(None, None, dir.path()).is_err());
        assert!(!target.exists());
    }

    #[test]
    fn sources_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let env_key = MasterKey::generate().unwrap();
        let file_key = MasterKey::generate().unwrap();
        let file = dir.path().join("configured.key");
        std::fs::write(&file, file_key.to_base64().as_bytes()).unwrap();
        let (k, origin) =
            MasterKey::load(Some(&file), Some(&env_key.to_base64()), dir.path()).unwrap();
        assert_eq!((k.id(), origin), (file_key.id(), KeyOrigin::File(file)));
        let (k, origin) = MasterKey::load(None, Some(&env_key.to_base64()), dir.path()).unwrap();
        assert_eq!((k.id(), origin), (env_key.id(), KeyOrigin::Environment));
        // The environment form is checked, not silently replaced by a generated key.
        let err = MasterKey::load(None, Some("c2hvcnQ="), dir.path()).unwrap_err();
        assert!(err.to_string().contains(MASTER_KEY_ENV), "{err}");
        assert!(!dir.path().join(MASTER_KEY_FILE).exists());
    }

    #[test]
    fn document_parts_are_bound_to_their_place() {
        let key = MasterKey::generate().unwrap();
        let part = key
            .seal_document_part("authority", "main", "private_key", b"k")
            .unwrap();
        let doc = |kind: &str, id: &str, field: &str| Document {
            kind: kind.into(),
            id: id.into(),
            body: serde_json::json!({ field: part.clone(), "public": "x" }),
            created_at: auth_core::time::UnixTime::EPOCH,
        };
        let good = doc("authority", "main", "private_key");
        assert_eq!(
            key.open_document_part(&good, "private_key")
                .unwrap()
                .expose(),
            b"k"
        );
        assert!(
            key.open_document_part(&doc("authority", "other", "private_key"), "private_key")
                .is_err()
        );
        assert!(
            key.open_document_part(&doc("authority", "main", "other"), "other")
                .is_err()
        );
        assert!(key.open_document_part(&good, "public").is_err());
        // Meta values are bound to their key.
        let m = key.seal_meta("service_signing_key", b"v").unwrap();
        assert_eq!(
            key.open_meta("service_signing_key", &m).unwrap().expose(),
            b"v"
        );
        assert!(key.open_meta(CHECK_META_KEY, &m).is_err());
    }
}
