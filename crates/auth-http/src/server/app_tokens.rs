//! Actyx-style app tokens on the node side: the auth endpoint (`POST /api/v2/auth` with an app
//! manifest gives `{"token": ...}`), and the settings the layer needs to accept those tokens as
//! `Authorization: Bearer` or `?access_token=`. Errors are `{"code": "ERR_...", "message"}`.

use super::{ErrorStyle, Rejection};
use auth_core::UnixTime;
use auth_core::credential::{Environment, Scopes};
use auth_core::rand::SystemRandom;
use auth_core::scheme::apptrust::{
    AppManifest, AppTrustError, AuthorityKey, Licensing, TokenIssuer, TokenVerifier,
};
use bytes::Bytes;
use http::{HeaderValue, Response, header};
use http_body_util::Full;
use std::sync::Arc;

/// Whether a route accepts tokens of trial apps (unsigned `com.example.*` manifests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrialApps {
    /// Only signed apps (the default).
    #[default]
    Refuse,
    /// Trial apps too (development routes).
    Accept,
}

/// What a route needs to accept app tokens, and what they may do there.
#[derive(Clone)]
pub struct AppTokenConfig {
    /// The node's verifier (its key and current epoch).
    pub verifier: Arc<TokenVerifier>,
    /// Whether trial apps are accepted.
    pub trial_apps: TrialApps,
    /// The scopes an app token has on this route.
    pub scopes: Scopes,
    /// The environment app principals are in.
    pub environment: Environment,
}

impl AppTokenConfig {
    /// Principals of these tokens are in `environment`.
    pub fn with_environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self
    }

    /// Accepts signed apps' tokens from `verifier`, with no scopes, in `live`.
    pub fn new(verifier: Arc<TokenVerifier>) -> Self {
        Self {
            verifier,
            trial_apps: TrialApps::Refuse,
            scopes: Scopes::none(),
            environment: Environment::Live,
        }
    }

    /// Also accepts trial apps.
    pub fn with_trial_apps(mut self, trial: TrialApps) -> Self {
        self.trial_apps = trial;
        self
    }

    /// The scopes app tokens get on this route.
    pub fn with_scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = scopes;
        self
    }
}

impl std::fmt::Debug for AppTokenConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppTokenConfig")
            .field("trial_apps", &self.trial_apps)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// A node's auth endpoint: the authority it trusts, its licensing settings, its token issuer.
pub struct AppAuthEndpoint {
    /// The authority whose certificates and licenses count.
    pub authority: AuthorityKey,
    /// `development` or licensed.
    pub licensing: Licensing,
    /// Issues tokens with the node key in the current epoch.
    pub issuer: TokenIssuer,
}

impl AppAuthEndpoint {
    /// Handles `POST /api/v2/auth`: verifies the manifest (signature chain, trial rule), applies
    /// the licensing policy and issues a token; errors carry the Actyx codes.
    pub fn handle(&self, body: &[u8], now: UnixTime) -> Response<Full<Bytes>> {
        let result = (|| -> Result<String, AppTrustError> {
            let text = std::str::from_utf8(body).map_err(|_| {
                AppTrustError::new(
                    auth_core::scheme::apptrust::ActyxCode::ManifestInvalid,
                    auth_core::Error::malformed("the manifest is not UTF-8 JSON"),
                )
            })?;
            let manifest = AppManifest::from_json(text)?;
            let verified = manifest.verify(&self.authority)?;
            self.licensing
                .authorize_app(&verified, &self.authority, now)?;
            self.issuer
                .issue(&verified, now, &SystemRandom::new())
                .map_err(|e| {
                    AppTrustError::new(auth_core::scheme::apptrust::ActyxCode::Unauthorized, e)
                })
        })();
        match result {
            Ok(token) => {
                let body = serde_json::json!({ "token": token }).to_string();
                let mut resp = Response::new(Full::new(Bytes::from(body)));
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                resp
            }
            Err(e) => actyx_rejection(e).into_response(),
        }
    }
}

/// The rejection for an app-trust error: its Actyx code and status.
pub(crate) fn actyx_rejection(e: AppTrustError) -> Rejection {
    let status =
        http::StatusCode::from_u16(e.http_status()).unwrap_or(http::StatusCode::UNAUTHORIZED);
    let mut r = Rejection::new(e.error().clone(), ErrorStyle::Actyx(e.code(), e.message()));
    r.status = status;
    r
}
