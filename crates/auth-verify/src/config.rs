//! The service's configuration: a TOML file, then environment variables, then flags (flags
//! win). Every field has a safe default, so `auth-verify serve` starts on a fresh machine with
//! nothing set: 127.0.0.1:8080, data in `./data`. Unknown TOML fields are refused, so a typo
//! never silently falls back to a default.

use auth_http::server::{LayerSettings, RouteSettings, SchemeSettings};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default listening address: loopback only, so a first start exposes nothing.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default data directory (registry, master key, service key, audit log).
pub const DEFAULT_DATA_DIR: &str = "./data";

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the registry, keys and audit log live.
    pub data_dir: PathBuf,
    /// A file holding the master key (base64, 32 bytes); default `<data_dir>/master.key`,
    /// or the `AUTH_VERIFY_MASTER_KEY` environment variable.
    pub master_key_file: Option<PathBuf>,
    /// `text` (default) or `json` logs.
    pub log_format: LogFormat,
    /// The protected API: which schemes each path accepts (forward-auth, `/v1/verify`, proxy).
    pub auth: LayerSettings,
    /// Forward-auth and proxy settings.
    pub gateway: GatewaySettings,
    /// Token endpoints.
    pub tokens: TokenSettings,
    /// Audit log checkpoints.
    pub audit: AuditSettings,
    /// Request limits and timeouts of the listener.
    pub limits: LimitSettings,
    /// How long a store call may take before the request gets 503, in milliseconds.
    pub store_deadline_ms: u64,
    /// Registry lookups cached in process.
    pub cache_entries: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080))),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            master_key_file: None,
            log_format: LogFormat::Text,
            auth: default_auth(),
            gateway: GatewaySettings::default(),
            tokens: TokenSettings::default(),
            audit: AuditSettings::default(),
            limits: LimitSettings::default(),
            store_deadline_ms: 2_000,
            cache_entries: 200_000,
        }
    }
}

/// The protected API when the file names none: every path accepts API keys, RFC 9421
/// signatures, JWT client tokens and Qredo signatures, each with its strict defaults.
/// Restricted user tokens and app tokens are never accepted unless a route names them.
pub fn default_auth() -> LayerSettings {
    LayerSettings {
        routes: vec![RouteSettings {
            schemes: vec![
                SchemeSettings::ApiKey,
                SchemeSettings::HttpSignature {
                    max_age_secs: None,
                    clock_skew_secs: None,
                    nonce: Default::default(),
                },
                SchemeSettings::Jwt {
                    leeway_secs: None,
                    max_lifetime_secs: None,
                    audience: None,
                    issuer: None,
                },
                SchemeSettings::Qredo {
                    window_secs: None,
                    nonces: false,
                },
                SchemeSettings::Altalix { max_age_secs: None },
                SchemeSettings::Smile {
                    max_age_secs: None,
                    max_skew_secs: None,
                },
            ],
            ..RouteSettings::default()
        }],
        ..LayerSettings::default()
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Forward-auth and proxy settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewaySettings {
    /// Peers whose `X-Forwarded-*` / `X-Original-*` headers are believed (IPs or CIDRs).
    /// Default: loopback only.
    pub trusted_proxies: Vec<String>,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            trusted_proxies: vec!["127.0.0.1/32".into(), "::1/128".into()],
        }
    }
}

/// Token endpoint settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenSettings {
    /// Longest lifetime of a restricted user token, seconds.
    pub max_user_token_secs: u64,
    /// Lifetime of an app token, seconds.
    pub app_token_secs: u64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            max_user_token_secs: 3_600,
            app_token_secs: 86_400,
        }
    }
}

/// Audit checkpoint cadence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSettings {
    /// A signed checkpoint after this many entries.
    pub checkpoint_every: u64,
    /// And at least this often while entries arrive, milliseconds.
    pub checkpoint_interval_ms: u64,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            checkpoint_every: 1_000,
            checkpoint_interval_ms: 10_000,
        }
    }
}

/// Listener limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Largest admin or token request body, bytes.
    pub admin_body_limit: usize,
    /// Longest time a request may take, milliseconds.
    pub request_timeout_ms: u64,
    /// Most simultaneous connections.
    pub max_connections: usize,
    /// Longest graceful-shutdown wait for in-flight requests, milliseconds.
    pub shutdown_grace_ms: u64,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            admin_body_limit: 64 * 1024,
            request_timeout_ms: 30_000,
            max_connections: 4_096,
            shutdown_grace_ms: 10_000,
        }
    }
}

impl LimitSettings {
    /// The request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

impl Config {
    /// The store deadline.
    pub fn store_deadline(&self) -> Duration {
        Duration::from_millis(self.store_deadline_ms)
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this configuration.
    #[error("the configuration file {path} is invalid: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        message: String,
    },
}

/// The values given on the command line or in the environment; `None` keeps the file's.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--listen` / `AUTH_VERIFY_LISTEN`.
    pub listen: Option<SocketAddr>,
    /// `--data-dir` / `AUTH_VERIFY_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// `--master-key-file` / `AUTH_VERIFY_MASTER_KEY_FILE`.
    pub master_key_file: Option<PathBuf>,
    /// `--log-format` / `AUTH_VERIFY_LOG_FORMAT`.
    pub log_format: Option<LogFormat>,
}

impl Config {
    /// Reads `path` (if given) and applies `overrides` on top.
    pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        let mut config = match path {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        if let Some(listen) = overrides.listen {
            config.listen = listen;
        }
        if let Some(dir) = &overrides.data_dir {
            config.data_dir = dir.clone();
        }
        if let Some(file) = &overrides.master_key_file {
            config.master_key_file = Some(file.clone());
        }
        if let Some(format) = overrides.log_format {
            config.log_format = format;
        }
        Ok(config)
    }

    /// Parses one file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_listen_on_loopback_and_accept_no_token_schemes() {
        let c = Config::default();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        let schemes = &c.auth.routes[0].schemes;
        assert!(!schemes.iter().any(|s| matches!(
            s,
            SchemeSettings::UserToken { .. } | SchemeSettings::AppToken { .. }
        )));
    }

    #[test]
    fn file_then_flags_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/a\"\n",
        )
        .unwrap();
        let from_file = Config::load(Some(&path), &Overrides::default()).unwrap();
        assert_eq!(from_file.listen.port(), 9000);
        assert_eq!(from_file.data_dir, PathBuf::from("/srv/a"));
        let flags = Overrides {
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            ..Overrides::default()
        };
        let merged = Config::load(Some(&path), &flags).unwrap();
        assert_eq!(merged.listen.port(), 9100);
        assert_eq!(merged.data_dir, PathBuf::from("/srv/a"));
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused_with_the_place() {
        let typo = Config::from_toml("listn = \"127.0.0.1:1\"").unwrap_err();
        assert!(typo.contains("listn"), "{typo}");
        let bad = Config::from_toml("listen = \"not an address\"").unwrap_err();
        assert!(bad.contains("listen") || bad.contains("line 1"), "{bad}");
    }
}
