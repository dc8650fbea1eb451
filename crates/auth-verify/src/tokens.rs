//! Token endpoints. `POST /api/auth/sessions` (Altalix style): a partner authenticated by one
//! of its own credentials gets a restricted user token, scopes within its own, lifetime capped,
//! callable from the browser origins the partner allowed (CORS). `POST /api/v2/auth` (Actyx
//! style): a signed app manifest in, an app token out, under the authority and node licensing
//! set through the admin API. The tokens' verifiers are offered to the route table by name
//! (`sessions`, `apps`), so a provider's routes accept them only where they say so.

use auth_core::apikey::KeyPrefix;
use auth_core::credential::{Environment, Principal};
use auth_core::keys::{PrivateKey, SignatureAlgorithm, SigningKey};
use auth_core::scheme::apptrust::{AxPublicKey, Epoch, TokenIssuer, TokenVerifier};
use auth_core::scheme::jwt::{Algorithm, JwtKey, JwtSigner};
use auth_core::scheme::user_token::{UserTokenIssuer, UserTokenVerifier};
use auth_http::server::{
    Accept, AppAuthEndpoint, AppTokenConfig, AuthConfig, AuthLayer, Route, Routes,
    SharedRevocations, TokenVerifiers, UserTokenConfig, issue_session,
};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use std::sync::Arc;
use std::time::Duration;

use crate::admin::error::ApiError;
use crate::app::AppState;
use crate::sealed::MasterKey;
use crate::service_keys;
use crate::store::Store;

/// Path of the session endpoint.
pub const SESSIONS_PATH: &str = "/api/auth/sessions";
/// Path of the app auth endpoint.
pub const APP_AUTH_PATH: &str = "/api/v2/auth";
/// The `iss` of user tokens minted for `live` credentials.
pub const USER_TOKEN_ISSUER: &str = "auth-verify";
/// The `iss` of user tokens minted for `test` credentials: a distinct issuer, because the
/// token carries no environment of its own and a test key must never mint a live token.
pub const TEST_USER_TOKEN_ISSUER: &str = "auth-verify/test";
/// The name routes use for live user tokens (`verifier = "sessions"`, which requires
/// [`USER_TOKEN_SCOPE`], or `verifier = "sessions:<scope>"`, which requires `<scope>`).
pub const SESSIONS_VERIFIER: &str = "sessions";
/// The name routes use for user tokens minted by `test` credentials (`test-sessions`,
/// `test-sessions:<scope>`); their principals are in `test`.
pub const TEST_SESSIONS_VERIFIER: &str = "test-sessions";
/// The name routes use for app tokens (`verifier = "apps"`).
pub const APPS_VERIFIER: &str = "apps";
/// The scope a user token needs on routes that name plain `sessions`.
pub const USER_TOKEN_SCOPE: &str = "user";
/// Largest session or manifest request body.
const MAX_TOKEN_REQUEST: usize = 16 * 1024;

/// The token machinery, built once at start.
pub struct Tokens {
    user_issuer: UserTokenIssuer,
    user_verifier: Arc<UserTokenVerifier>,
    test_user_issuer: UserTokenIssuer,
    test_user_verifier: Arc<UserTokenVerifier>,
    user_revocations: Arc<SharedRevocations>,
    app_key: PrivateKey,
    app_epoch: Epoch,
    app_validity: Duration,
    app_config: AppTokenConfig,
}

/// Why tokens could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up token signing: {0}")]
pub struct TokenSetupError(String);

fn setup<E: std::fmt::Display>(e: E) -> TokenSetupError {
    TokenSetupError(e.to_string())
}

impl Tokens {
    /// Loads (or creates) the token keys and bumps the app-token epoch.
    pub async fn build(
        store: &dyn Store,
        master: &MasterKey,
        settings: &crate::config::TokenSettings,
        rng: &ring::rand::SystemRandom,
    ) -> Result<Self, TokenSetupError> {
        let user_key = service_keys::load_or_create(store, master, "user_token_key", rng)
            .await
            .map_err(setup)?;
        let max = Duration::from_secs(settings.max_user_token_secs.max(1));
        let pair =
            |iss: &str| -> Result<(UserTokenIssuer, Arc<UserTokenVerifier>), TokenSetupError> {
                let signer = JwtSigner::new(&user_key, Algorithm::EdDSA, rng).map_err(setup)?;
                let issuer = UserTokenIssuer::new(signer, iss).with_max_lifetime(max);
                let verifier = UserTokenVerifier::with_max_lifetime(
                    JwtKey::public(&user_key.public_key(), Algorithm::EdDSA).map_err(setup)?,
                    iss,
                    max,
                )
                .map_err(setup)?;
                Ok((issuer, Arc::new(verifier)))
            };
        let (user_issuer, user_verifier) = pair(USER_TOKEN_ISSUER)?;
        let (test_user_issuer, test_user_verifier) = pair(TEST_USER_TOKEN_ISSUER)?;

        let app_key = service_keys::load_or_create(store, master, "app_token_key", rng)
            .await
            .map_err(setup)?;
        let previous = store
            .meta("app_token_epoch")
            .await
            .map_err(setup)?
            .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
            .map(|b| Epoch(u64::from_be_bytes(b)));
        let app_epoch = Epoch::after(previous);
        store
            .set_meta("app_token_epoch", &app_epoch.0.to_be_bytes(), false)
            .await
            .map_err(setup)?;
        let app_public = AxPublicKey::from_public_key(&app_key.public_key()).map_err(setup)?;
        let app_verifier = TokenVerifier::new(&app_public, app_epoch).map_err(setup)?;
        let app_config = AppTokenConfig::new(Arc::new(app_verifier));
        Ok(Self {
            user_issuer,
            user_verifier,
            test_user_issuer,
            test_user_verifier,
            user_revocations: Arc::new(SharedRevocations::default()),
            app_key,
            app_epoch,
            app_validity: Duration::from_secs(settings.app_token_secs.max(60)),
            app_config,
        })
    }
}

impl Tokens {
    /// The issuer for a partner credential's environment.
    fn issuer_for(&self, principal: &Principal) -> &UserTokenIssuer {
        match principal.environment {
            Environment::Test => &self.test_user_issuer,
            Environment::Live => &self.user_issuer,
        }
    }
}

impl TokenVerifiers for Tokens {
    fn user_tokens(&self, name: &str) -> Option<UserTokenConfig> {
        if let Some(rest) = name.strip_prefix("test-") {
            let scope = required_scope(rest)?;
            return Some(
                UserTokenConfig::new(
                    self.test_user_verifier.clone(),
                    scope,
                    self.user_revocations.clone(),
                )
                .with_environment(Environment::Test),
            );
        }
        let scope = required_scope(name)?;
        Some(UserTokenConfig::new(
            self.user_verifier.clone(),
            scope,
            self.user_revocations.clone(),
        ))
    }

    fn app_tokens(&self, name: &str) -> Option<AppTokenConfig> {
        (name == APPS_VERIFIER).then(|| self.app_config.clone())
    }
}

/// The scope a route's user-token verifier name requires: `sessions` requires
/// [`USER_TOKEN_SCOPE`]; `sessions:<scope>` requires `<scope>`, so a route can take tokens
/// minted for what it serves (`sessions:rates:read` on `/rates`) without every partner key
/// also holding `user`. `None` for any other name, so a typo refuses to start.
fn required_scope(name: &str) -> Option<&str> {
    if name == SESSIONS_VERIFIER {
        return Some(USER_TOKEN_SCOPE);
    }
    let scope = name.strip_prefix(SESSIONS_VERIFIER)?.strip_prefix(':')?;
    let valid = !scope.is_empty()
        && scope.len() <= auth_core::scheme::user_token::MAX_SCOPE_LEN
        && scope
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":_.-".contains(&b));
    valid.then_some(scope)
}

/// The layer that authenticates partners at the session endpoint: their own credentials only,
/// never a token (a user token cannot mint another).
pub fn session_layer(
    prefix: KeyPrefix,
    resolver: Arc<dyn auth_http::server::KeyResolver>,
    replay: Arc<dyn auth_http::server::ReplayStore>,
    clock: Arc<dyn auth_http::clock::Clock>,
) -> AuthLayer {
    let route = Route::new()
        .accept(Accept::ApiKey)
        .accept(Accept::http_signature())
        .accept(Accept::jwt())
        .accept(Accept::qredo());
    let routes = Routes::new().exact(SESSIONS_PATH, route);
    AuthLayer::with_clock(AuthConfig::new(prefix, routes), resolver, replay, clock)
}

/// The token routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(SESSIONS_PATH, post(sessions).options(sessions_preflight))
        .route(APP_AUTH_PATH, post(app_auth))
        .with_state(state)
}

const CORS_HEADERS: &str =
    "authorization, content-type, x-api-key, signature, signature-input, content-digest";

/// The `Origin` header. Bytes that are not visible ASCII are kept (lossily) rather than
/// dropped, so they match no allowed origin instead of passing as "no origin at all".
fn origin(headers: &HeaderMap) -> Option<std::borrow::Cow<'_, str>> {
    headers
        .get(header::ORIGIN)
        .map(|v| String::from_utf8_lossy(v.as_bytes()))
}

fn allow_origin(response: &mut Response, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// Preflight: allowed when some partner allowed the origin (the partner is not known until
/// the real request authenticates; the real request is checked against its partner's list).
#[utoipa::path(options, path = "/api/auth/sessions", tag = "tokens",
    responses((status = 204, description = "CORS preflight accepted"),
        (status = 403, description = "No partner allows this origin")))]
pub async fn sessions_preflight(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    let Some(origin) = origin(&headers) else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let allowed = match state.store.partners().await {
        Ok(partners) => partners
            .iter()
            .any(|p| p.allowed_origins.iter().any(|o| *o == origin)),
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !allowed {
        return ApiError::forbidden(
            "origin_not_allowed",
            "this origin may not call this endpoint",
        )
        .into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    allow_origin(&mut response, &origin);
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(CORS_HEADERS),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

/// Issues a restricted user token to the authenticated partner: body
/// `{"scopes": [...], "expires_at": "<RFC 3339>"}`, answer `{"access_token", "expires_at"}`.
#[utoipa::path(post, path = "/api/auth/sessions", tag = "tokens",
    request_body(content = Object, description = "{\"scopes\": [..], \"expires_at\": \"RFC 3339\"}"),
    responses((status = 200, description = "{\"access_token\", \"expires_at\"}"),
        (status = 400, description = "Invalid request"), (status = 401, description = "Not authenticated"),
        (status = 403, description = "Scope or origin not allowed")))]
pub async fn sessions(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_TOKEN_REQUEST).await {
        Ok(b) => b,
        Err(_) => return ApiError::too_large(MAX_TOKEN_REQUEST).into_response(),
    };
    let principal: Principal = match state.session_layer.authenticate(&parts, &bytes).await {
        Ok(Some(p)) => p,
        Ok(None) => return ApiError::unauthorized("authenticate as the partner").into_response(),
        Err(r) => return r.into_response().map(Body::new),
    };
    let origin = origin(&parts.headers).map(std::borrow::Cow::into_owned);
    if let Some(origin) = &origin {
        match state.store.partner(&principal.partner).await {
            Ok(Some(p)) if p.allowed_origins.iter().any(|o| o == origin) => {}
            Ok(_) => {
                return ApiError::forbidden(
                    "origin_not_allowed",
                    "your partner account does not allow this origin; add it to allowed_origins",
                )
                .into_response();
            }
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    let mut response = issue_session(
        state.tokens.issuer_for(&principal),
        &principal,
        &bytes,
        state.now(),
    )
    .map(Body::new);
    if let Some(origin) = &origin {
        allow_origin(&mut response, origin);
    }
    response
}

/// Exchanges a signed app manifest for an app token (`{"token": ...}`), or an Actyx-style
/// error `{"code": "ERR_...", "message"}`.
#[utoipa::path(post, path = "/api/v2/auth", tag = "tokens",
    request_body(content = Object, description = "An app manifest"),
    responses((status = 200, description = "{\"token\"}"),
        (status = 400, description = "Invalid manifest"), (status = 401, description = "Not licensed or not signed"),
        (status = 503, description = "App trust is not set up")))]
pub async fn app_auth(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let bytes = match axum::body::to_bytes(req.into_body(), MAX_TOKEN_REQUEST).await {
        Ok(b) => b,
        Err(_) => return ApiError::too_large(MAX_TOKEN_REQUEST).into_response(),
    };
    let (authority, licensing) = match crate::admin::apptrust::current(&*state.store).await {
        Ok(Some(pair)) => pair,
        Ok(None) => {
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "app_trust_not_set_up",
                "no app-trust authority is configured; an admin must POST /admin/app-trust/authority",
            )
            .into_response();
        }
        Err(e) => return e.into_response(),
    };
    let tokens = &state.tokens;
    let issuer = SigningKey::new(&tokens.app_key, SignatureAlgorithm::Ed25519, &state.rng)
        .and_then(|key| TokenIssuer::new(key, tokens.app_epoch))
        .and_then(|i| i.with_validity(tokens.app_validity));
    let issuer = match issuer {
        Ok(i) => i,
        Err(_) => return ApiError::internal("the app token key is unusable").into_response(),
    };
    let endpoint = AppAuthEndpoint {
        authority,
        licensing,
        issuer,
    };
    endpoint.handle(&bytes, state.now()).map(Body::new)
}

#[cfg(test)]
mod tests {
    use super::required_scope;

    #[test]
    fn verifier_names_map_to_the_scope_they_require() {
        assert_eq!(required_scope("sessions"), Some("user"));
        assert_eq!(required_scope("sessions:rates:read"), Some("rates:read"));
        assert_eq!(required_scope("sessions:"), None);
        assert_eq!(required_scope("sessions:a b"), None);
        assert_eq!(required_scope("sessionsx"), None);
        assert_eq!(required_scope("apps"), None);
        assert_eq!(
            required_scope("test-sessions"),
            None,
            "the test- prefix is stripped first"
        );
        assert_eq!(
            required_scope(&format!("sessions:{}", "a".repeat(65))),
            None
        );
    }
}
