//! The service's Ed25519 signing key for audit checkpoints: generated into
//! `<data_dir>/service.key` (PKCS#8 PEM, mode 0600) on first start, never read through a
//! symbolic link, and its public half published as `service.pub` (SPKI PEM, which `openssl`
//! reads) so an operator can verify a log offline.

use super::AuditError;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use zeroize::Zeroizing;

/// File name of the private key in the data directory.
pub const SERVICE_KEY_FILE: &str = "service.key";
/// File name of the public key next to it (auth-core's audit verifier names it too).
pub use auth_core::audit::verify::SERVICE_PUB_FILE;

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32 key bytes follow.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// DER prefix of a PKCS#8 v1 Ed25519 private key (RFC 8410): the 32-byte seed follows. ring
/// generates v2 (with the public key), which OpenSSL 3 does not read; v1 both read.
const ED25519_PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// The same prefix in ring's v2 output.
const ED25519_PKCS8_V2_PREFIX: [u8; 16] = [
    0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Larger than any PKCS#8 Ed25519 PEM; a bigger file is not our key.
const MAX_KEY_FILE: u64 = 4096;

/// The signing key; its `Debug` shows only the fingerprint.
pub(crate) struct ServiceKey {
    pair: Ed25519KeyPair,
    public_pem: String,
    fingerprint: String,
}

impl std::fmt::Debug for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServiceKey({})", self.fingerprint)
    }
}

impl ServiceKey {
    /// Loads `dir/service.key`, or generates it when absent (`true` in the answer), and
    /// (re)writes `service.pub` from it.
    pub(crate) fn load_or_create(dir: &Path) -> Result<(Self, bool), AuditError> {
        let path = dir.join(SERVICE_KEY_FILE);
        let (pkcs8, created) = match read_key_file(&path)? {
            Some(bytes) => (bytes, false),
            None => (create_key_file(dir, &path)?, true),
        };
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8).map_err(|_| {
            AuditError::ServiceKey(format!(
                "{} is not an Ed25519 PKCS#8 key; restore it from backup (a new key would not \
                 verify the existing checkpoints)",
                path.display()
            ))
        })?;
        let public: [u8; 32] =
            pair.public_key().as_ref().try_into().map_err(|_| {
                AuditError::ServiceKey("unexpected Ed25519 public key length".into())
            })?;
        let key = Self {
            public_pem: public_pem(&public),
            fingerprint: fingerprint(&public),
            pair,
        };
        write_public(dir, &key.public_pem)?;
        Ok((key, created))
    }

    /// Signs `msg`.
    pub(crate) fn sign(&self, msg: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(msg).as_ref());
        out
    }

    /// The public key as SPKI PEM.
    pub(crate) fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// Hex SHA-256 of the 32 public key bytes.
    pub(crate) fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// Hex SHA-256 of the raw public key, as checkpoints name it.
pub(crate) fn fingerprint(public: &[u8; 32]) -> String {
    auth_core::audit::entry::key_fingerprint(public)
}

/// `public` as an SPKI `PUBLIC KEY` PEM.
fn public_pem(public: &[u8; 32]) -> String {
    let mut der = ED25519_SPKI_PREFIX.to_vec();
    der.extend_from_slice(public);
    encode_pem(&pem::Pem::new("PUBLIC KEY", der))
}

/// PEM with `\n` line endings, as openssl writes it.
fn encode_pem(pem: &pem::Pem) -> String {
    pem::encode_config(
        pem,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// A verifier's view of the service key: the raw 32 bytes, from SPKI PEM or raw bytes.
pub(crate) fn parse_public(bytes: &[u8]) -> Option<[u8; 32]> {
    if let Ok(raw) = <[u8; 32]>::try_from(bytes) {
        return Some(raw);
    }
    let pem = pem::parse(bytes).ok()?;
    if pem.tag() != "PUBLIC KEY" {
        return None;
    }
    pem.contents()
        .strip_prefix(&ED25519_SPKI_PREFIX[..])?
        .try_into()
        .ok()
}

/// Reads the key file's PEM into PKCS#8 DER; `None` when there is no file.
fn read_key_file(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, AuditError> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(AuditError::ServiceKey(format!(
                "cannot open {} ({e}); it must be a regular file, not a link",
                path.display()
            )));
        }
    };
    let meta = file.metadata().map_err(|e| io_error(path, &e))?;
    if !meta.is_file() || meta.len() > MAX_KEY_FILE {
        return Err(AuditError::ServiceKey(format!(
            "{} is not a service key file",
            path.display()
        )));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(AuditError::ServiceKey(format!(
            "{} is readable by other users; run `chmod 600` on it (and consider the key exposed)",
            path.display()
        )));
    }
    let mut text = Zeroizing::new(Vec::new());
    file.take(MAX_KEY_FILE)
        .read_to_end(&mut text)
        .map_err(|e| io_error(path, &e))?;
    let pem = pem::parse(&text[..]).map_err(|_| {
        AuditError::ServiceKey(format!("{} is not a PEM private key", path.display()))
    })?;
    if pem.tag() != "PRIVATE KEY" {
        return Err(AuditError::ServiceKey(format!(
            "{} is not a PKCS#8 PRIVATE KEY",
            path.display()
        )));
    }
    Ok(Some(Zeroizing::new(pem.into_contents())))
}

/// Generates a key and publishes it atomically: written to a temporary file, then linked to
/// its name, which fails rather than replace anything (a link planted there included).
fn create_key_file(dir: &Path, path: &Path) -> Result<Zeroizing<Vec<u8>>, AuditError> {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .map_err(|_| AuditError::ServiceKey("the system random generator failed".into()))?;
    let seed = pkcs8
        .as_ref()
        .strip_prefix(&ED25519_PKCS8_V2_PREFIX[..])
        .and_then(|rest| rest.get(..32))
        .ok_or_else(|| AuditError::ServiceKey("unexpected PKCS#8 layout from ring".into()))?;
    let mut der = Zeroizing::new(ED25519_PKCS8_V1_PREFIX.to_vec());
    der.extend_from_slice(seed);
    let text = Zeroizing::new(encode_pem(&pem::Pem::new("PRIVATE KEY", der.to_vec())));
    let tmp = dir.join(format!("{SERVICE_KEY_FILE}.tmp"));
    // A crash may have left one; remove_file removes a link itself, never its target.
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(&tmp, &e)),
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)
        .map_err(|e| io_error(&tmp, &e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(&tmp, &e))?;
    drop(file);
    fs::hard_link(&tmp, path).map_err(|e| io_error(path, &e))?;
    fs::remove_file(&tmp).map_err(|e| io_error(&tmp, &e))?;
    sync_dir(dir)?;
    Ok(der)
}

/// Writes `service.pub` through a temporary file and a rename, which replaces a planted
/// link instead of writing through it.
fn write_public(dir: &Path, text: &str) -> Result<(), AuditError> {
    let path = dir.join(SERVICE_PUB_FILE);
    let tmp = dir.join(format!("{SERVICE_PUB_FILE}.tmp"));
    let _ = fs::remove_file(&tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)
        .map_err(|e| io_error(&tmp, &e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.set_permissions(fs::Permissions::from_mode(0o644)))
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(&tmp, &e))?;
    fs::rename(&tmp, &path).map_err(|e| io_error(&path, &e))?;
    sync_dir(dir)
}

/// Makes a directory entry durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), AuditError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, &e))
}

fn io_error(path: &Path, e: &std::io::Error) -> AuditError {
    AuditError::Io(format!("{}: {e}", path.display()))
}
