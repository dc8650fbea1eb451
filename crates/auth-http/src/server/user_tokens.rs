//! Altalix-style restricted user tokens on the provider side: the sessions endpoint that a
//! partner's backend calls with its API key (`POST /api/auth/sessions`), and the settings the
//! layer needs to accept the tokens it issues (`Authorization: Bearer <access_token>`).

use super::{ErrorStyle, Principal, Rejection};
use auth_core::UnixTime;
use auth_core::credential::{Environment, Scheme};
use auth_core::rand::SystemRandom;
use auth_core::scheme::user_token::{
    self, RevocationList, SessionRequest, UserTokenIssuer, UserTokenVerifier,
};
use bytes::Bytes;
use http::{HeaderValue, Response, header};
use http_body_util::Full;
use std::sync::{Arc, RwLock};

/// Revocations shared between the sessions endpoint (revoke) and the layer (check).
#[derive(Debug, Default)]
pub struct SharedRevocations(RwLock<user_token::RevokedIds>);

impl SharedRevocations {
    /// Revokes the token with this `jti` until it would have expired anyway.
    pub fn revoke(&self, jti: &str, expires_at: UnixTime) {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .revoke(jti, expires_at);
    }
}

impl RevocationList for SharedRevocations {
    fn is_revoked(&self, jti: &str) -> bool {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_revoked(jti)
    }
}

/// What the layer needs to accept user tokens on a route.
#[derive(Clone)]
pub struct UserTokenConfig {
    /// The provider's verifier (its key and issuer name).
    pub verifier: Arc<UserTokenVerifier>,
    /// The scope every user token on this route must carry (`user:rate`).
    pub required_scope: String,
    /// Revoked token IDs.
    pub revocations: Arc<SharedRevocations>,
    /// The environment user-token principals are in.
    pub environment: Environment,
}

impl UserTokenConfig {
    /// Principals of these tokens are in `environment`.
    pub fn with_environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self
    }

    /// Accepts tokens from `verifier` that carry `required_scope`, in `live`.
    pub fn new(
        verifier: Arc<UserTokenVerifier>,
        required_scope: impl Into<String>,
        revocations: Arc<SharedRevocations>,
    ) -> Self {
        Self {
            verifier,
            required_scope: required_scope.into(),
            revocations,
            environment: Environment::Live,
        }
    }
}

impl std::fmt::Debug for UserTokenConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserTokenConfig")
            .field("required_scope", &self.required_scope)
            .finish_non_exhaustive()
    }
}

/// Handles `POST /api/auth/sessions` for an authenticated partner (the layer verified its
/// credential first): `{"scopes":[...],"expires_at":"<RFC 3339>"}` gives
/// `{"access_token":...}` with scopes only from the credential's own and a capped lifetime;
/// anything else is a 4xx problem. Only a partner credential may ask: a user token or an app
/// token is refused (403), so a token can never renew itself past its cap or its revocation.
pub fn issue_session(
    issuer: &UserTokenIssuer,
    principal: &Principal,
    body: &[u8],
    now: UnixTime,
) -> Response<Full<Bytes>> {
    if matches!(principal.scheme, Scheme::UserToken | Scheme::AppToken) {
        return Rejection::new(
            auth_core::Error::new(
                auth_core::ErrorCode::InsufficientScope,
                "sessions are issued to partner credentials only, not to tokens",
            ),
            ErrorStyle::Problem,
        )
        .into_response();
    }
    let result = (|| {
        let text = std::str::from_utf8(body)
            .map_err(|_| auth_core::Error::malformed("the session request is not UTF-8 JSON"))?;
        let request = SessionRequest::from_json(text)?;
        let expires_at = request.expiry()?;
        let wanted: Vec<&str> = request.scopes.iter().map(String::as_str).collect();
        issuer.issue(principal, &wanted, expires_at, now, &SystemRandom::new())
    })();
    match result {
        Ok(issued) => {
            let body = serde_json::json!({
                "access_token": issued.access_token,
                "expires_at": issued.expires_at.to_rfc3339(),
            });
            let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp
        }
        Err(e) => {
            let mut r = Rejection::new(e, ErrorStyle::Problem);
            if r.status == http::StatusCode::UNAUTHORIZED {
                // The caller is authenticated; a bad session request is its request's fault.
                r.status = http::StatusCode::BAD_REQUEST;
            }
            r.into_response()
        }
    }
}
