//! The layer's settings as data: what a service reads from TOML or JSON (serde) and turns into
//! an [`AuthConfig`]. Every field may be left out and then takes the strict default; unknown
//! fields are refused, so a typo never silently weakens a policy. Schemes that need runtime
//! objects (user-token and app-token verifiers) are named here and supplied by the caller.

use super::app_tokens::{AppTokenConfig, TrialApps};
use super::rejection::Disclosure;
use super::route::{Accept, Route, Routes};
use super::user_tokens::UserTokenConfig;
use super::{AuthConfig, DEFAULT_BODY_LIMIT, DEFAULT_BODY_READ_TIMEOUT};
use auth_core::apikey::KeyPrefix;
use auth_core::credential::{Environment, Scopes};
use auth_core::scheme::altalix::AltalixPolicy;
use auth_core::scheme::jwt::JwtPolicy;
use auth_core::scheme::qredo::{FreshnessMode, QredoPolicy};
use auth_core::scheme::rfc9421::{NonceRequirement, VerifyPolicy};
use auth_core::scheme::smile::SmilePolicy;
use auth_core::{Error, Result};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Layer settings (one `[auth]` table of a service's configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LayerSettings {
    /// Prefix of the API keys this provider issues.
    pub api_key_prefix: String,
    /// The origin clients address (`https://api.example.com`), for signed URLs.
    pub public_origin: Option<String>,
    /// Largest body, in bytes.
    pub body_limit: usize,
    /// Longest time a signed body may take to arrive, in milliseconds.
    pub body_read_timeout_ms: u64,
    /// `opaque` (default) or `detailed`.
    pub disclosure: DisclosureSetting,
    /// The route table, first match wins; a path no route matches accepts nothing.
    pub routes: Vec<RouteSettings>,
}

impl Default for LayerSettings {
    fn default() -> Self {
        Self {
            api_key_prefix: "pa".into(),
            public_origin: None,
            body_limit: DEFAULT_BODY_LIMIT,
            body_read_timeout_ms: millis(DEFAULT_BODY_READ_TIMEOUT),
            disclosure: DisclosureSetting::Opaque,
            routes: Vec::new(),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// How much rejections tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisclosureSetting {
    /// One answer for every credential failure.
    #[default]
    Opaque,
    /// Precise codes and messages (development).
    Detailed,
}

/// How a route's path matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathMatchSetting {
    /// The path and everything below it (whole segments).
    #[default]
    Prefix,
    /// Exactly the path.
    Exact,
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouteSettings {
    /// The path.
    pub path: String,
    /// `prefix` (default) or `exact`.
    #[serde(rename = "match")]
    pub path_match: PathMatchSetting,
    /// Served without authentication (then `schemes` must be empty).
    pub public: bool,
    /// Only credentials of this environment (`live` or `test`).
    pub environment: Option<EnvironmentSetting>,
    /// The accepted schemes, in order.
    pub schemes: Vec<SchemeSettings>,
}

impl Default for RouteSettings {
    fn default() -> Self {
        Self {
            path: "/".into(),
            path_match: PathMatchSetting::Prefix,
            public: false,
            environment: None,
            schemes: Vec::new(),
        }
    }
}

/// `live` or `test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvironmentSetting {
    /// Production.
    Live,
    /// Sandbox.
    Test,
}

impl From<EnvironmentSetting> for Environment {
    fn from(e: EnvironmentSetting) -> Self {
        match e {
            EnvironmentSetting::Live => Self::Live,
            EnvironmentSetting::Test => Self::Test,
        }
    }
}

/// `required` (default) or `optional`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NonceSetting {
    /// Every signature carries a single-use nonce.
    #[default]
    Required,
    /// Signatures without a nonce are single-use by their signed content.
    Optional,
}

/// One accepted scheme and its policy. Omitted numbers take the strict defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case", deny_unknown_fields)]
pub enum SchemeSettings {
    /// Bearer API keys.
    ApiKey,
    /// Qredo; `nonces` lets keys registered for `x-nonce` sign with it.
    Qredo {
        /// `±window`, seconds (default 30).
        #[serde(default)]
        window_secs: Option<u64>,
        /// Whether nonce-mode keys are served (default false).
        #[serde(default)]
        nonces: bool,
    },
    /// RFC 9421.
    HttpSignature {
        /// Oldest `created`, seconds (default 300).
        #[serde(default)]
        max_age_secs: Option<u64>,
        /// Allowed clock skew into the future, seconds (default 5).
        #[serde(default)]
        clock_skew_secs: Option<u64>,
        /// Nonce rule (default required).
        #[serde(default)]
        nonce: NonceSetting,
    },
    /// Altalix signed payload URLs.
    Altalix {
        /// Oldest `created_at`, seconds (default 300).
        #[serde(default)]
        max_age_secs: Option<u64>,
    },
    /// JWT partner tokens.
    Jwt {
        /// Leeway, seconds (default 30, at most 300).
        #[serde(default)]
        leeway_secs: Option<u64>,
        /// Longest `exp - iat`, seconds (default 900).
        #[serde(default)]
        max_lifetime_secs: Option<u64>,
        /// Required audience, if any.
        #[serde(default)]
        audience: Option<String>,
        /// Required issuer, if any.
        #[serde(default)]
        issuer: Option<String>,
    },
    /// Smile signatures.
    Smile {
        /// Oldest timestamp, seconds (default 300).
        #[serde(default)]
        max_age_secs: Option<u64>,
        /// Allowed skew into the future, seconds (default 30).
        #[serde(default)]
        max_skew_secs: Option<u64>,
    },
    /// Restricted user tokens from the named verifier.
    UserToken {
        /// The name the caller supplies a [`UserTokenConfig`] under.
        verifier: String,
    },
    /// App tokens from the named verifier.
    AppToken {
        /// The name the caller supplies an [`AppTokenConfig`] under.
        verifier: String,
        /// Whether trial apps are accepted (default false).
        #[serde(default)]
        trial_apps: bool,
        /// The scopes app tokens get here.
        #[serde(default)]
        scopes: Vec<String>,
    },
}

/// The runtime objects settings refer to by name.
pub trait TokenVerifiers {
    /// The user-token configuration named `name`.
    fn user_tokens(&self, name: &str) -> Option<UserTokenConfig>;
    /// The app-token configuration named `name`.
    fn app_tokens(&self, name: &str) -> Option<AppTokenConfig>;
}

/// No token verifiers: settings that name one are refused.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTokenVerifiers;

impl TokenVerifiers for NoTokenVerifiers {
    fn user_tokens(&self, _: &str) -> Option<UserTokenConfig> {
        None
    }
    fn app_tokens(&self, _: &str) -> Option<AppTokenConfig> {
        None
    }
}

fn secs(value: Option<u64>, default: Duration) -> Duration {
    value.map_or(default, Duration::from_secs)
}

impl SchemeSettings {
    fn build(&self, verifiers: &dyn TokenVerifiers) -> Result<Accept> {
        Ok(match self {
            Self::ApiKey => Accept::ApiKey,
            Self::Qredo {
                window_secs,
                nonces,
            } => {
                let policy = QredoPolicy::new(secs(*window_secs, Duration::from_secs(30)));
                Accept::Qredo(if *nonces {
                    policy.with_freshness(FreshnessMode::TimestampOrNonce)
                } else {
                    policy
                })
            }
            Self::HttpSignature {
                max_age_secs,
                clock_skew_secs,
                nonce,
            } => {
                let defaults = VerifyPolicy::default();
                Accept::HttpSignature(
                    VerifyPolicy::new(secs(*max_age_secs, defaults.max_age()))
                        .with_clock_skew(secs(*clock_skew_secs, defaults.clock_skew()))
                        .with_nonce(match nonce {
                            NonceSetting::Required => NonceRequirement::Required,
                            NonceSetting::Optional => NonceRequirement::Optional,
                        }),
                )
            }
            Self::Altalix { max_age_secs } => Accept::Altalix(AltalixPolicy::new(secs(
                *max_age_secs,
                Duration::from_secs(300),
            ))),
            Self::Jwt {
                leeway_secs,
                max_lifetime_secs,
                audience,
                issuer,
            } => {
                let mut policy = JwtPolicy::default();
                if let Some(l) = leeway_secs {
                    policy = policy.with_leeway(Duration::from_secs(*l));
                }
                if let Some(m) = max_lifetime_secs {
                    policy = policy.with_max_lifetime(Duration::from_secs(*m));
                }
                if let Some(a) = audience {
                    policy = policy.with_audience([a.clone()]);
                }
                if let Some(i) = issuer {
                    policy = policy.with_issuer(i.clone());
                }
                Accept::Jwt(policy)
            }
            Self::Smile {
                max_age_secs,
                max_skew_secs,
            } => Accept::Smile(SmilePolicy::new(
                secs(*max_age_secs, Duration::from_secs(300)),
                secs(*max_skew_secs, Duration::from_secs(30)),
            )),
            Self::UserToken { verifier } => {
                Accept::UserToken(verifiers.user_tokens(verifier).ok_or_else(|| {
                    Error::malformed(format!("no user-token verifier is named {verifier:?}"))
                })?)
            }
            Self::AppToken {
                verifier,
                trial_apps,
                scopes,
            } => {
                let cfg = verifiers.app_tokens(verifier).ok_or_else(|| {
                    Error::malformed(format!("no app-token verifier is named {verifier:?}"))
                })?;
                Accept::AppToken(
                    cfg.with_trial_apps(if *trial_apps {
                        TrialApps::Accept
                    } else {
                        TrialApps::Refuse
                    })
                    .with_scopes(Scopes::new(scopes.iter().cloned())),
                )
            }
        })
    }
}

impl LayerSettings {
    /// The configuration these settings describe; `verifiers` supplies named token verifiers.
    pub fn build(&self, verifiers: &dyn TokenVerifiers) -> Result<AuthConfig> {
        let mut routes = Routes::new();
        for r in &self.routes {
            if r.public && !r.schemes.is_empty() {
                return Err(Error::malformed(format!(
                    "route {:?} is public and also lists schemes; choose one",
                    r.path
                )));
            }
            let mut route = if r.public {
                Route::public()
            } else {
                Route::new()
            };
            for s in &r.schemes {
                route = route.accept(s.build(verifiers)?);
            }
            if let Some(env) = r.environment {
                route = route.require_environment(env.into());
            }
            routes = match r.path_match {
                PathMatchSetting::Prefix => routes.prefix(&r.path, route),
                PathMatchSetting::Exact => routes.exact(&r.path, route),
            };
        }
        let mut config = AuthConfig::new(KeyPrefix::new(&self.api_key_prefix)?, routes);
        config.public_origin = self.public_origin.clone();
        config.body_limit = self.body_limit;
        config.body_read_timeout = Duration::from_millis(self.body_read_timeout_ms);
        config.disclosure = match self.disclosure {
            DisclosureSetting::Opaque => Disclosure::Opaque,
            DisclosureSetting::Detailed => Disclosure::Detailed,
        };
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn empty_settings_accept_nothing_and_are_strict() {
        let s: LayerSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, LayerSettings::default());
        let config = s.build(&NoTokenVerifiers).unwrap();
        assert!(config.routes.find("/anything").is_none());
        assert_eq!(config.disclosure, Disclosure::Opaque);
    }

    #[test]
    fn routes_and_policies_round_trip_and_typos_are_refused() {
        let json = r#"{
            "api_key_prefix": "acme",
            "routes": [
                {"path": "/healthz", "match": "exact", "public": true},
                {"path": "/api", "environment": "test", "schemes": [
                    {"scheme": "api_key"},
                    {"scheme": "qredo", "window_secs": 10},
                    {"scheme": "http_signature", "nonce": "optional"}
                ]}
            ]
        }"#;
        let s: LayerSettings = serde_json::from_str(json).unwrap();
        let back: LayerSettings =
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(s, back);
        let config = s.build(&NoTokenVerifiers).unwrap();
        assert!(config.routes.find("/healthz").unwrap().is_public());
        let api = config.routes.find("/api/x").unwrap();
        assert_eq!(api.schemes().len(), 3);
        assert_eq!(api.environment(), Some(Environment::Test));
        // A misspelt field is an error, not a silently weaker policy.
        let typo =
            r#"{"routes": [{"path": "/", "schemes": [{"scheme": "qredo", "windw_secs": 999}]}]}"#;
        assert!(serde_json::from_str::<LayerSettings>(typo).is_err());
        let typo = r#"{"disclosre": "detailed"}"#;
        assert!(serde_json::from_str::<LayerSettings>(typo).is_err());
        // A named verifier that does not exist is refused when building.
        let missing = r#"{"routes": [{"schemes": [{"scheme": "user_token", "verifier": "x"}]}]}"#;
        let s: LayerSettings = serde_json::from_str(missing).unwrap();
        assert!(s.build(&NoTokenVerifiers).is_err());
    }
}
