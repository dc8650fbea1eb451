//! Reading what commands work on, and writing key files.
//!
//! - Plain inputs (a body, a token, a payload): a literal flag value, `@PATH` for a file, or
//!   `-` for stdin ([`read_input`]).
//! - Secrets (API keys, HMAC secrets, passwords): never a literal argv value, because argv is
//!   visible in `ps` and lands in shell history. Only `@PATH`, `env:NAME` or `-`
//!   ([`read_secret`]); anything else is refused with a one-line error naming the fix.
//! - Private keys: a path (or `@PATH`, `env:NAME`, `-`) to PEM (PKCS#8, PKCS#1, SEC1), DER, or
//!   the Actyx `"0"`-text form, parsed by auth-core. A key *file* readable by group or others is
//!   refused as ssh does, unless `--insecure-permissions` ([`load_private_key`]).
//! - Key files are written with mode 0600 (private) or 0644 (public) and never overwrite an
//!   existing file without `--force` ([`write_key_file`]).

use crate::error::{CliError, CliResult};
use auth_core::keys::{PrivateKey, PublicKey};
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use zeroize::Zeroizing;

/// The largest input read from a file or stdin (a body, a log, a manifest).
pub(crate) const MAX_INPUT: u64 = 64 * 1024 * 1024;

/// Key files are small; anything larger is not a key.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// stdin can be read once per run; a second `-` is a usage error, not an empty read.
static STDIN_TAKEN: AtomicBool = AtomicBool::new(false);

/// Whether a private key file readable by group or others may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyPermissions {
    /// Refuse a key file whose mode grants anything to group or others (the default).
    Strict,
    /// `--insecure-permissions`: accept it.
    Insecure,
}

/// Whether an existing file may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overwrite {
    /// Refuse to replace an existing file (the default).
    Never,
    /// `--force`: replace it.
    Force,
}

impl Overwrite {
    /// From a `--force` flag.
    pub(crate) fn from_force(force: bool) -> Self {
        if force { Self::Force } else { Self::Never }
    }
}

/// What kind of file is written, which decides its mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// Private key material: 0600.
    Private,
    /// Public material: 0644.
    Public,
}

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// The argument itself.
    Literal(String),
    /// `@PATH` (or a bare path where a path is expected).
    File(PathBuf),
    /// `env:NAME`.
    Env(String),
    /// `-`.
    Stdin,
}

impl Source {
    /// Parses an input argument: `-`, `@PATH`, `env:NAME`, otherwise a literal.
    pub(crate) fn parse(arg: &str) -> Self {
        if arg == "-" {
            Self::Stdin
        } else if let Some(path) = arg.strip_prefix('@') {
            Self::File(PathBuf::from(path))
        } else if let Some(name) = arg.strip_prefix("env:") {
            Self::Env(name.to_owned())
        } else {
            Self::Literal(arg.to_owned())
        }
    }

    /// Parses a path argument: like [`Source::parse`], but a literal is a path.
    pub(crate) fn parse_path(arg: &str) -> Self {
        match Self::parse(arg) {
            Self::Literal(path) => Self::File(PathBuf::from(path)),
            other => other,
        }
    }
}

fn read_stdin(what: &str) -> CliResult<Vec<u8>> {
    if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
        return Err(CliError::usage(
            format!("{what} wants stdin ('-'), but stdin was already used by another input"),
            "read only one input from stdin and pass the others as @FILE",
        ));
    }
    let mut buf = Vec::new();
    io::stdin()
        .lock()
        .take(MAX_INPUT + 1)
        .read_to_end(&mut buf)
        .map_err(|e| {
            CliError::input(
                format!("cannot read {what} from stdin: {e}"),
                "check the pipe into authctl",
            )
        })?;
    if buf.len() as u64 > MAX_INPUT {
        return Err(too_large(what, MAX_INPUT));
    }
    Ok(buf)
}

fn too_large(what: &str, max: u64) -> CliError {
    CliError::input(
        format!("{what} is larger than {max} bytes"),
        "pass the right file; this is too large to be one",
    )
}

/// Reads a whole file, bounded, with errors that name the file and the fix.
pub(crate) fn read_file(path: &Path, what: &str, max: u64) -> CliResult<Vec<u8>> {
    let file = fs::File::open(path).map_err(|e| open_error(path, what, &e))?;
    let mut buf = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| open_error(path, what, &e))?;
    if buf.len() as u64 > max {
        return Err(too_large(what, max));
    }
    Ok(buf)
}

fn open_error(path: &Path, what: &str, err: &io::Error) -> CliError {
    let shown = path.display();
    match err.kind() {
        io::ErrorKind::NotFound => CliError::input(
            format!("{what} file {shown} does not exist"),
            "check the path",
        ),
        io::ErrorKind::PermissionDenied => CliError::input(
            format!("{what} file {shown} cannot be read: permission denied"),
            "check the file's owner and mode, or run as its owner",
        ),
        io::ErrorKind::IsADirectory => {
            CliError::input(format!("{what} path {shown} is a directory"), "pass a file")
        }
        _ => CliError::input(
            format!("cannot read {what} file {shown}: {err}"),
            "check the path",
        ),
    }
}

fn read_env(name: &str, what: &str) -> CliResult<Vec<u8>> {
    match std::env::var_os(name) {
        Some(v) if !v.is_empty() => Ok(v.into_encoded_bytes()),
        _ => Err(CliError::input(
            format!("{what}: environment variable {name} is not set or empty"),
            format!("export {name}=... first, or pass @FILE or -"),
        )),
    }
}

/// Reads a plain (non-secret) input: a literal, `@PATH`, `env:NAME` or `-` for stdin.
pub(crate) fn read_input(arg: &str, what: &str) -> CliResult<Vec<u8>> {
    match Source::parse(arg) {
        Source::Literal(text) => Ok(text.into_bytes()),
        Source::File(path) => read_file(&path, what, MAX_INPUT),
        Source::Env(name) => read_env(&name, what),
        Source::Stdin => read_stdin(what),
    }
}

/// Reads a plain input as UTF-8 text.
pub(crate) fn read_input_text(arg: &str, what: &str) -> CliResult<String> {
    String::from_utf8(read_input(arg, what)?)
        .map_err(|_| CliError::input(format!("{what} is not UTF-8 text"), "pass the text form"))
}

/// Reads a file-or-stdin input (`PATH`, `@PATH` or `-`), for inputs that are always files
/// (logs, manifests, certificates).
pub(crate) fn read_path_input(arg: &str, what: &str) -> CliResult<Vec<u8>> {
    match Source::parse_path(arg) {
        Source::File(path) => read_file(&path, what, MAX_INPUT),
        Source::Env(name) => read_env(&name, what),
        Source::Stdin => read_stdin(what),
        Source::Literal(_) => Err(CliError::usage(
            format!("{what} must be a path"),
            "pass PATH or -",
        )),
    }
}

/// Reads a secret from `@PATH`, `env:NAME` or `-`; a literal value is refused. One trailing
/// line break (from `echo` or an editor) is dropped; the value is wiped from memory on drop.
/// `flag` names the flag in the error (`--api-key`).
pub(crate) fn read_secret(flag: &str, arg: &str) -> CliResult<Zeroizing<Vec<u8>>> {
    let mut bytes = Zeroizing::new(match Source::parse(arg) {
        Source::Literal(_) => return Err(secret_in_argv(flag)),
        Source::File(path) => read_file(&path, flag, MAX_KEY_FILE)?,
        Source::Env(name) => read_env(&name, flag)?,
        Source::Stdin => read_stdin(flag)?,
    });
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    if bytes.is_empty() {
        return Err(CliError::input(
            format!("{flag} is empty"),
            "put the secret in the file or variable",
        ));
    }
    Ok(bytes)
}

/// Reads a secret as UTF-8 text (API keys, passwords).
pub(crate) fn read_secret_text(flag: &str, arg: &str) -> CliResult<Zeroizing<String>> {
    let bytes = read_secret(flag, arg)?;
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(CliError::input(
            format!("{flag} is not UTF-8 text"),
            "pass the secret's text form",
        )),
    }
}

/// Reads a secret from the flag if given, else from the environment variable `default_env`.
pub(crate) fn read_secret_or_env(
    flag: &str,
    arg: Option<&str>,
    default_env: &str,
) -> CliResult<Zeroizing<String>> {
    match arg {
        Some(arg) => read_secret_text(flag, arg),
        None if std::env::var_os(default_env).is_some() => {
            read_secret_text(flag, &format!("env:{default_env}"))
        }
        None => Err(CliError::usage(
            format!("{flag} is required"),
            format!("pass {flag} @FILE, {flag} env:NAME or {flag} - (stdin), or set {default_env}"),
        )),
    }
}

/// The error for a secret given literally on the command line.
pub(crate) fn secret_in_argv(flag: &str) -> CliError {
    CliError::usage(
        format!(
            "{flag} takes a secret, and secrets are not accepted as arguments (argv shows in ps and shell history)"
        ),
        format!("give {flag} as @FILE, env:NAME or - (stdin)"),
    )
}

/// Refuses a private key file whose mode grants group or others any access (ssh's rule).
fn check_key_permissions(path: &Path, policy: KeyPermissions) -> CliResult<()> {
    if policy == KeyPermissions::Insecure {
        return Ok(());
    }
    let meta = fs::metadata(path).map_err(|e| open_error(path, "private key", &e))?;
    let mode = meta.permissions().mode() & 0o777;
    if meta.is_file() && mode & 0o077 != 0 {
        return Err(CliError::input(
            format!(
                "private key file {} is readable by group or others (mode {mode:04o})",
                path.display()
            ),
            format!(
                "run chmod 600 {}, or pass --insecure-permissions",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// What a private key argument resolved to: the key, and the file it came from.
#[derive(Debug)]
pub(crate) struct LoadedKey {
    /// The parsed key.
    pub(crate) key: PrivateKey,
    /// Where it came from, for messages (`stdin`, `env:NAME`, a path).
    pub(crate) origin: String,
}

/// Loads a private key from a path, `@PATH`, `env:NAME` or `-`: PEM (PKCS#8, PKCS#1 or SEC1),
/// DER, or the Actyx `"0"` text form of an Ed25519 seed.
pub(crate) fn load_private_key(arg: &str, policy: KeyPermissions) -> CliResult<LoadedKey> {
    let (bytes, origin, file) = read_key(arg, "private key")?;
    private_from_bytes(&bytes, origin, file.as_deref(), policy)
}

/// Reads a key argument once: its bytes (wiped on drop), a name for messages, and the file.
fn read_key(arg: &str, what: &str) -> CliResult<(Zeroizing<Vec<u8>>, String, Option<PathBuf>)> {
    Ok(match Source::parse_path(arg) {
        Source::File(path) => {
            let bytes = Zeroizing::new(read_file(&path, what, MAX_KEY_FILE)?);
            (bytes, path.display().to_string(), Some(path))
        }
        Source::Env(name) => (
            Zeroizing::new(read_env(&name, what)?),
            format!("env:{name}"),
            None,
        ),
        Source::Stdin => (Zeroizing::new(read_stdin(what)?), "stdin".to_owned(), None),
        Source::Literal(_) => {
            return Err(CliError::usage(
                "a key must be a path",
                "pass PATH, @PATH, env:NAME or -",
            ));
        }
    })
}

/// Parses a private key read from `origin`, then applies the permission check to its file.
fn private_from_bytes(
    bytes: &[u8],
    origin: String,
    file: Option<&Path>,
    policy: KeyPermissions,
) -> CliResult<LoadedKey> {
    let key = parse_private_key(bytes).map_err(|e| {
        if parse_public_key(bytes).is_some() {
            return CliError::input(
                format!("{origin} is a public key, but a private key is needed here"),
                "pass the private key file of the pair",
            );
        }
        CliError::core_input(
            &format!("{origin} is not a usable private key"),
            &e,
            "pass a PEM (PKCS#8, PKCS#1 or SEC1) or DER private key, or an Actyx \"0...\" key; \
             a public key will not do here",
        )
    })?;
    // Checked once the file is known to hold a private key (ssh's rule for key files).
    if let Some(path) = file {
        check_key_permissions(path, policy)?;
    }
    Ok(LoadedKey { key, origin })
}

/// Parses private key bytes in any form `authctl` reads.
pub(crate) fn parse_private_key(bytes: &[u8]) -> auth_core::Result<PrivateKey> {
    if let Some(text) = actyx_text(bytes) {
        return auth_core::scheme::apptrust::private_key_from_text(text);
    }
    PrivateKey::from_pem_or_der(bytes)
}

/// The trimmed text if `bytes` look like the Actyx `"0"` + Base64 form (45 characters).
fn actyx_text(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    (text.len() == 45 && text.starts_with('0')).then_some(text)
}

/// Loads a public key: SPKI or PKCS#1 (PEM or DER), a JWK, the Smile Base64 form, the Actyx
/// `"0"` text form (in a `*.pub` file; elsewhere that text is a private seed), or a private key file (whose public half is taken, after the permission
/// check), so a key pair from `openssl genpkey` works wherever a public key is asked for.
pub(crate) fn load_public_key(arg: &str, policy: KeyPermissions) -> CliResult<PublicKey> {
    let (bytes, origin, file) = read_key(arg, "public key")?;
    // An Actyx "0..." text is the same shape for a seed and a public key. Taking a seed for a
    // public key would print a secret as "public", so, as with ssh's id_ed25519 / .pub, only
    // a `*.pub` file holds a public key; any other source is read as a private key.
    let actyx_private = actyx_text(&bytes).is_some() && !origin.ends_with(".pub");
    if !actyx_private && let Some(public) = parse_public_key(&bytes) {
        return Ok(public);
    }
    // A private key: its public half, after the same permission check.
    if actyx_private || parse_private_key(&bytes).is_ok() {
        return private_from_bytes(&bytes, origin, file.as_deref(), policy)
            .map(|loaded| loaded.key.public_key());
    }
    Err(CliError::input(
        format!("{origin} is not a public key authctl can read"),
        "pass an SPKI or PKCS#1 PEM/DER, a JWK, a Smile Base64 key, an Actyx \"0...\" key, or a private key file",
    ))
}

/// Parses public key bytes in any form `authctl` reads, or `None`.
pub(crate) fn parse_public_key(bytes: &[u8]) -> Option<PublicKey> {
    if let Ok(key) = PublicKey::from_pem_or_der(bytes) {
        return Some(key);
    }
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if text.starts_with('{') {
        let jwk = auth_core::keys::jwk::Jwk::from_json(text).ok()?;
        return PublicKey::from_jwk(&jwk).ok();
    }
    if actyx_text(bytes).is_some()
        && let Ok(key) = auth_core::scheme::apptrust::AxPublicKey::from_text(text)
    {
        return Some(key.to_public_key());
    }
    PublicKey::from_smile_base64(text).ok()
}

/// Writes a key file: mode 0600 for private material, 0644 for public; an existing file is
/// replaced only with [`Overwrite::Force`], through a temporary file and a rename so a reader
/// never sees a half-written key and a replaced private key never passes through a wider mode.
pub(crate) fn write_key_file(
    path: &Path,
    contents: &[u8],
    kind: FileKind,
    overwrite: Overwrite,
) -> CliResult<()> {
    let mode = match kind {
        FileKind::Private => 0o600,
        FileKind::Public => 0o644,
    };
    let exists = fs::symlink_metadata(path).is_ok();
    if exists && overwrite == Overwrite::Never {
        return Err(CliError::input(
            format!("{} already exists", path.display()),
            "pass --force to overwrite it, or choose another path",
        ));
    }
    let write_err = |e: io::Error| {
        CliError::input(
            format!("cannot write {}: {e}", path.display()),
            "check that the directory exists and is writable",
        )
    };
    let target = if exists {
        temp_sibling(path)
    } else {
        path.to_path_buf()
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&target)
        .map_err(write_err)?;
    // The umask may have narrowed the mode; public files should still be readable.
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(write_err)?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(write_err)?;
    if exists {
        fs::rename(&target, path).map_err(|e| {
            let _ = fs::remove_file(&target);
            write_err(e)
        })?;
    }
    Ok(())
}

fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.authctl-{}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse() {
        assert_eq!(Source::parse("-"), Source::Stdin);
        assert_eq!(Source::parse("@a/b"), Source::File("a/b".into()));
        assert_eq!(Source::parse("env:X"), Source::Env("X".into()));
        assert_eq!(Source::parse("abc"), Source::Literal("abc".into()));
        assert_eq!(Source::parse_path("abc"), Source::File("abc".into()));
    }

    #[test]
    fn literal_secrets_are_refused() {
        let err = read_secret("--api-key", "sk_live_abc").unwrap_err();
        assert_eq!(err.kind().exit_code(), 2);
        assert!(err.to_string().contains("--api-key as @FILE"));
        assert!(!err.to_string().contains("sk_live_abc"));
    }

    #[test]
    fn secrets_from_files_lose_one_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        fs::write(&path, "secret\n").unwrap();
        let got = read_secret("--secret", &format!("@{}", path.display())).unwrap();
        assert_eq!(got.as_slice(), b"secret");
    }

    #[test]
    fn key_files_are_0600_and_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        write_key_file(&path, b"one", FileKind::Private, Overwrite::Never).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let err = write_key_file(&path, b"two", FileKind::Private, Overwrite::Never).unwrap_err();
        assert!(err.to_string().contains("--force"));
        assert_eq!(fs::read(&path).unwrap(), b"one");
        write_key_file(&path, b"two", FileKind::Private, Overwrite::Force).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn group_readable_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        fs::write(&path, "x").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let err = check_key_permissions(&path, KeyPermissions::Strict).unwrap_err();
        assert!(err.to_string().contains("chmod 600"));
        check_key_permissions(&path, KeyPermissions::Insecure).unwrap();
    }
}
