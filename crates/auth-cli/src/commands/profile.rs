//! Which server and which admin key the online commands (`admin`, `doctor`, `request
//! --explain`) use, and the connection to the server: flags and `AUTHCTL_*` variables, then a
//! profile from the profiles file, then the per-user defaults (`http://127.0.0.1:8080` and an
//! Ed25519 admin key at `$XDG_CONFIG_HOME/authctl/admin.key`, created with mode 0600 on first
//! use, as the Actyx admin CLI does).
//!
//! The profiles file (`$XDG_CONFIG_HOME/authctl/config.toml`, or `AUTHCTL_CONFIG`):
//!
//! ```toml
//! default = "local"            # used when neither --profile nor AUTHCTL_PROFILE is given
//! [profiles.local]
//! url = "http://127.0.0.1:8080"
//! [profiles.prod]
//! url = "https://auth.example.com"
//! key = "/home/me/.config/authctl/prod-admin.key"
//! ```

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::input::{self, FileKind, Overwrite};
use auth_core::keys::{KeyType, PrivateKey, SignatureAlgorithm, SigningKey};
use auth_core::scheme::apptrust::AxPublicKey;
use auth_http::BoxFuture;
use auth_http::client::{AuthClient, ClientAuth, ClientError, HttpSignatureAuth};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The server a command talks to when nothing else says.
pub(crate) const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// How long one HTTP exchange may take.
pub(crate) const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the server and the admin key come from (shared by `admin`, `doctor` and `request`).
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct ServerArgs {
    /// Base URL of auth-verify (default: the profile's url, else http://127.0.0.1:8080).
    #[arg(long, env = "AUTHCTL_SERVER", value_name = "URL", global = true)]
    pub(crate) server: Option<String>,
    /// A profile of the profiles file ($XDG_CONFIG_HOME/authctl/config.toml or AUTHCTL_CONFIG).
    #[arg(long, env = "AUTHCTL_PROFILE", value_name = "NAME", global = true)]
    pub(crate) profile: Option<String>,
    /// The admin's Ed25519 private key (default: the profile's key, else
    /// $XDG_CONFIG_HOME/authctl/admin.key, created on first use).
    #[arg(long, env = "AUTHCTL_ADMIN_KEY", value_name = "FILE", global = true)]
    pub(crate) admin_key: Option<PathBuf>,
}

/// One server profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Profile {
    /// Base URL of auth-verify.
    pub(crate) url: String,
    /// The admin key file for this server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) key: Option<PathBuf>,
}

/// The profiles file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfilesFile {
    /// The profile used when none is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) default: Option<String>,
    /// Profiles by name.
    #[serde(default)]
    pub(crate) profiles: BTreeMap<String, Profile>,
}

/// `$XDG_CONFIG_HOME/authctl`, else `$HOME/.config/authctl`.
pub(crate) fn config_dir() -> CliResult<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(xdg) = non_empty("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(xdg).join("authctl"));
    }
    if let Some(home) = non_empty("HOME") {
        return Ok(PathBuf::from(home).join(".config").join("authctl"));
    }
    Err(CliError::usage(
        "cannot find a configuration directory: neither XDG_CONFIG_HOME nor HOME is set",
        "set HOME, or pass --admin-key FILE and --server URL",
    ))
}

/// The profiles file's path: `AUTHCTL_CONFIG`, else `config.toml` in [`config_dir`].
pub(crate) fn profiles_path() -> CliResult<PathBuf> {
    match std::env::var_os("AUTHCTL_CONFIG").filter(|v| !v.is_empty()) {
        Some(p) => Ok(PathBuf::from(p)),
        None => Ok(config_dir()?.join("config.toml")),
    }
}

impl ProfilesFile {
    /// Reads the file at `path`; a missing file is an empty one.
    pub(crate) fn load(path: &Path) -> CliResult<Self> {
        if !path.exists() {
            return Ok(Self::default());
        }
        let bytes = input::read_file(path, "profiles", 1024 * 1024)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            CliError::input(
                format!("profiles file {} is not UTF-8", path.display()),
                "fix or remove the file",
            )
        })?;
        toml::from_str(&text).map_err(|e| {
            CliError::input(
                format!(
                    "profiles file {} is invalid: {}",
                    path.display(),
                    e.message()
                ),
                "each profile is [profiles.NAME] with url = \"...\" and optionally key = \"...\"",
            )
        })
    }

    /// Writes the file at `path` (mode 0600; it names key files).
    pub(crate) fn save(&self, path: &Path) -> CliResult<()> {
        let text = toml::to_string(self).map_err(|e| {
            CliError::input(
                format!("cannot encode the profiles: {e}"),
                "check the profile names",
            )
        })?;
        if let Some(dir) = path.parent() {
            create_private_dir(dir)?;
        }
        input::write_key_file(path, text.as_bytes(), FileKind::Private, Overwrite::Force)
    }
}

/// Creates `dir` (and its parents) with mode 0700 when missing.
fn create_private_dir(dir: &Path) -> CliResult<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| {
            CliError::input(
                format!("cannot create directory {}: {e}", dir.display()),
                "check that its parent exists and is writable",
            )
        })
}

/// Where the admin key is, and whether it may be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AdminKeyPath {
    /// Named by a flag, the environment or a profile: it must exist.
    Given(PathBuf),
    /// The per-user default: created on first use.
    Default(PathBuf),
}

impl AdminKeyPath {
    /// The path.
    pub(crate) fn path(&self) -> &Path {
        match self {
            Self::Given(p) | Self::Default(p) => p,
        }
    }
}

/// The server and admin key a command uses, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Base URL without a trailing slash.
    pub(crate) base: String,
    /// The profile used, if any.
    pub(crate) profile: Option<String>,
    /// The admin key's location.
    pub(crate) admin_key: AdminKeyPath,
}

impl ServerArgs {
    /// Applies the precedence: flag or variable, then profile, then default.
    pub(crate) fn resolve(&self) -> CliResult<Target> {
        let path = profiles_path()?;
        let file = ProfilesFile::load(&path)?;
        let name = self.profile.clone().or_else(|| file.default.clone());
        let profile = match &name {
            None => None,
            Some(n) => Some(file.profiles.get(n).cloned().ok_or_else(|| {
                let known: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
                CliError::usage(
                    format!("no profile named '{n}' in {}", path.display()),
                    if known.is_empty() {
                        "add one with 'authctl admin profile set NAME --url URL'".to_owned()
                    } else {
                        format!("known profiles: {}", known.join(", "))
                    },
                )
            })?),
        };
        let base = self
            .server
            .clone()
            .or_else(|| profile.as_ref().map(|p| p.url.clone()))
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
        let base = check_base_url(&base)?;
        let admin_key = match (
            &self.admin_key,
            profile.as_ref().and_then(|p| p.key.clone()),
        ) {
            (Some(p), _) => AdminKeyPath::Given(p.clone()),
            (None, Some(p)) => AdminKeyPath::Given(p),
            (None, None) => AdminKeyPath::Default(config_dir()?.join("admin.key")),
        };
        Ok(Target {
            base,
            profile: name,
            admin_key,
        })
    }
}

/// A server base URL: http(s), no query; answered without a trailing slash.
pub(crate) fn check_base_url(url: &str) -> CliResult<String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        CliError::usage(
            format!("'{url}' is not a URL: {e}"),
            "pass the server's base URL, such as http://127.0.0.1:8080",
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
        return Err(CliError::usage(
            format!("'{url}' is not an http(s) base URL"),
            "pass the server's base URL, such as http://127.0.0.1:8080",
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// An admin's key: the private key and its Actyx key text (the `keyid` of admin requests).
pub(crate) struct AdminKey {
    /// The Ed25519 private key.
    pub(crate) private: PrivateKey,
    /// `"0"` + Base64 of the public key.
    pub(crate) key_text: String,
    /// Whether this run created it.
    pub(crate) created: bool,
}

impl std::fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminKey")
            .field("private", &"[redacted]")
            .field("key_text", &self.key_text)
            .field("created", &self.created)
            .finish()
    }
}

/// Loads the admin key; the default one is created (0600, in a 0700 directory) when missing.
pub(crate) fn load_or_create_admin_key(at: &AdminKeyPath, ctx: &Ctx) -> CliResult<AdminKey> {
    let path = at.path();
    let mut created = false;
    if !path.exists() {
        match at {
            AdminKeyPath::Given(p) => {
                return Err(CliError::input(
                    format!("admin key file {} does not exist", p.display()),
                    "check the path, or leave out --admin-key to use (and create) the default key",
                ));
            }
            AdminKeyPath::Default(p) => {
                if let Some(dir) = p.parent() {
                    create_private_dir(dir)?;
                }
                let key = auth_core::keys::generate_ed25519(ctx.rng()).map_err(|e| {
                    CliError::core_input("cannot generate the admin key", &e, "try again")
                })?;
                input::write_key_file(
                    p,
                    key.to_pkcs8_pem().expose(),
                    FileKind::Private,
                    Overwrite::Never,
                )?;
                created = true;
            }
        }
    }
    load_admin_key(path, ctx).map(|mut k| {
        k.created = created;
        k
    })
}

/// Loads an existing admin key (the permission check applies), never creating one.
pub(crate) fn load_admin_key(path: &Path, ctx: &Ctx) -> CliResult<AdminKey> {
    let loaded = input::load_private_key(&path.display().to_string(), ctx.key_permissions)?;
    if loaded.key.key_type() != KeyType::Ed25519 {
        return Err(CliError::input(
            format!("admin key {} is not an Ed25519 key", path.display()),
            "admin keys are Ed25519: 'authctl keygen ed25519' makes one",
        ));
    }
    let public = AxPublicKey::from_public_key(&loaded.key.public_key())
        .map_err(|e| CliError::core_input("the admin key", &e, "use an Ed25519 key"))?;
    Ok(AdminKey {
        private: loaded.key,
        key_text: public.to_text(),
        created: false,
    })
}

/// A single-threaded runtime for one command's HTTP exchanges.
pub(crate) fn runtime() -> CliResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            CliError::server(
                format!("cannot start the HTTP runtime: {e}"),
                "check the system's limits",
            )
        })
}

/// An HTTP client that authorizes every request with `auth` (auth-http's client: same-origin
/// redirects only, every hop signed anew).
pub(crate) fn http_client(auth: Arc<dyn ClientAuth>, timeout: Duration) -> CliResult<AuthClient> {
    AuthClient::with_http_builder(reqwest::Client::builder().timeout(timeout), auth)
        .map_err(|e| CliError::server(format!("cannot build the HTTP client: {e}"), ""))
}

/// Adds nothing (no scheme, the Altalix URL already carries its signature, or an unsigned
/// question to `/v1/verify`).
pub(crate) struct NoAuth;

impl ClientAuth for NoAuth {
    fn authorize<'a>(
        &'a self,
        _req: &'a mut reqwest::Request,
        _body: &'a [u8],
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async { Ok(()) })
    }
}

/// Signs admin requests with the admin key (RFC 9421, Ed25519, nonce; `keyid` = key text).
pub(crate) fn admin_auth(key: &AdminKey, ctx: &Ctx) -> CliResult<Arc<HttpSignatureAuth>> {
    let signer = SigningKey::new(&key.private, SignatureAlgorithm::Ed25519, ctx.rng())
        .map_err(|e| CliError::core_input("the admin key", &e, "use an Ed25519 key"))?;
    Ok(Arc::new(HttpSignatureAuth::new(&key.key_text, signer)))
}

/// The error for a request that never got an answer.
pub(crate) fn network_error(base: &str, e: &dyn std::fmt::Display) -> CliError {
    CliError::network(
        format!("cannot reach {base}: {e}"),
        "is auth-verify running there? start it with 'auth-verify serve', or pass --server URL",
    )
}

/// Header fields as (name, text) pairs, in order.
pub(crate) fn header_pairs(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// `headers` plus `host` as reqwest puts it on the wire for `url` (it is not among the
/// request's header fields), so `/v1/verify` sees the request as the server would.
pub(crate) fn with_host(mut headers: Vec<(String, String)>, url: &str) -> Vec<(String, String)> {
    if !headers.iter().any(|(k, _)| k == "host")
        && let Ok(url) = reqwest::Url::parse(url)
        && let Some(host) = url.host_str()
    {
        let host = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        headers.push(("host".into(), host));
    }
    headers
}

/// A JSON answer of the server.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    /// HTTP status.
    pub(crate) status: u16,
    /// The JSON body (`Null` when empty, a string when not JSON).
    pub(crate) body: serde_json::Value,
    /// Response header fields.
    pub(crate) headers: reqwest::header::HeaderMap,
}

/// Sends a request built with `client` and reads its answer.
pub(crate) async fn exchange(
    client: &AuthClient,
    base: &str,
    req: reqwest::RequestBuilder,
) -> CliResult<Answer> {
    let resp = client
        .send(req)
        .await
        .map_err(|e| network_error(base, &e))?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.map_err(|e| network_error(base, &e))?;
    let body = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Ok(Answer {
        status,
        body,
        headers,
    })
}

impl Answer {
    /// The server's `{"error": {"code", "message"}}`, if it sent one.
    pub(crate) fn error_detail(&self) -> Option<(String, String)> {
        let e = self.body.get("error")?;
        Some((
            e.get("code")?.as_str()?.to_owned(),
            e.get("message")?.as_str()?.to_owned(),
        ))
    }

    /// `Ok(self)` for 2xx; otherwise the error the status calls for: 401/403 exit 1 (refused),
    /// other 4xx exit 2 (the input was wrong), 5xx exit 3.
    pub(crate) fn ok_or_error(self, what: &str) -> CliResult<Self> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        let (code, message) = self.error_detail().unwrap_or_else(|| {
            (
                format!("http_{}", self.status),
                match &self.body {
                    serde_json::Value::String(s) => s.chars().take(200).collect(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string().chars().take(200).collect(),
                },
            )
        });
        let text = format!(
            "{what}: the server answered {} {code}: {message}",
            self.status
        );
        Err(match self.status {
            401 | 403 => CliError::verification(
                text,
                "an admin must authorize this key: 'authctl admin users add KEY' (see 'authctl admin whoami')",
            ),
            400..=499 => CliError::input(text, "fix the request as the server says"),
            _ => CliError::server(text, "check the server's log; try again later"),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn profiles_round_trip_and_refuse_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.toml");
        let mut file = ProfilesFile::default();
        file.profiles.insert(
            "prod".into(),
            Profile {
                url: "https://auth.example.com".into(),
                key: Some("/k/admin.key".into()),
            },
        );
        file.default = Some("prod".into());
        file.save(&path).unwrap();
        assert_eq!(ProfilesFile::load(&path).unwrap(), file);
        std::fs::write(&path, "[profiles.x]\nurl = \"http://a\"\nkye = \"typo\"\n").unwrap();
        let err = ProfilesFile::load(&path).unwrap_err();
        assert!(err.message().contains("kye"), "{err}");
        assert_eq!(err.kind().exit_code(), 2);
    }

    #[test]
    fn base_urls_are_http_without_query() {
        assert_eq!(
            check_base_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(check_base_url("ftp://x").is_err());
        assert!(check_base_url("http://x/?a=1").is_err());
        assert!(check_base_url("not a url").is_err());
    }
}
