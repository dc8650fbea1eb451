//! Altalix restricted user tokens on the partner side: the backend asks the provider's
//! sessions endpoint for a short-lived `user:rate` token with its API key
//! ([`fetch_user_token`]), and [`UserTokenAuth`] sends such tokens as bearer credentials,
//! fetching a new one before expiry and once more after a 401 (through the token cache
//! shared with the other token clients, [`super::token::TokenCache`]).

use super::token::{Minted, TokenCache, TokenSource};
use super::{AfterUnauthorized, ClientAuth, ClientError};
use crate::BoxFuture;
use auth_core::UnixTime;
use auth_core::secret::SecretBytes;
use std::fmt;
use std::time::Duration;

/// A token the sessions endpoint issued. Debug shows when it expires, never the token.
#[derive(Clone)]
pub struct UserToken {
    /// The bearer token.
    pub access_token: String,
    /// When it stops working.
    pub expires_at: UnixTime,
}

impl fmt::Debug for UserToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserToken")
            .field("access_token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// `POST <sessions_url>` with `Authorization: Bearer <api_key>` and
/// `{"scopes":[...],"expires_at":"<RFC 3339>"}`; returns the issued token.
///
/// The request goes out with `http` as it is configured, redirect policy included. The API
/// key travels only in `Authorization`, which reqwest removes on every redirect to another
/// origin (scheme, host or port) whatever the policy (`tests/client_redirects.rs` pins this);
/// build `http` with `redirect::Policy::none()` to refuse redirects here altogether.
pub async fn fetch_user_token(
    http: &reqwest::Client,
    sessions_url: &str,
    api_key: &str,
    scopes: &[&str],
    expires_at: UnixTime,
) -> Result<UserToken, ClientError> {
    let body = serde_json::json!({"scopes": scopes, "expires_at": expires_at.to_rfc3339()});
    let resp = http
        .post(sessions_url)
        .header(http::header::AUTHORIZATION, format!("Bearer {api_key}"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await?;
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        return Err(ClientError::Auth(auth_core::Error::new(
            auth_core::ErrorCode::Unauthorized,
            format!("the sessions endpoint answered {status}: {text}"),
        )));
    }
    #[derive(serde::Deserialize)]
    struct Issued {
        access_token: String,
    }
    let issued: Issued = serde_json::from_str(&text).map_err(|_| {
        ClientError::Auth(auth_core::Error::malformed(
            "the sessions endpoint did not answer {\"access_token\":...}",
        ))
    })?;
    Ok(UserToken {
        access_token: issued.access_token,
        expires_at,
    })
}

/// Fetches user tokens from the sessions endpoint.
struct SessionsEndpoint {
    http: reqwest::Client,
    sessions_url: String,
    api_key: SecretBytes,
    scopes: Vec<String>,
    lifetime: Duration,
}

impl TokenSource for SessionsEndpoint {
    fn mint(&self, now: UnixTime) -> BoxFuture<'_, Result<Minted, ClientError>> {
        Box::pin(async move {
            let api_key = std::str::from_utf8(self.api_key.expose()).unwrap_or_default();
            let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
            let fresh = fetch_user_token(
                &self.http,
                &self.sessions_url,
                api_key,
                &scopes,
                now.saturating_add(self.lifetime),
            )
            .await?;
            Ok(Minted {
                token: fresh.access_token,
                expires_at: Some(fresh.expires_at),
            })
        })
    }
}

/// Sends a restricted user token, fetched from the sessions endpoint with the API key.
pub struct UserTokenAuth {
    cache: TokenCache<SessionsEndpoint>,
}

impl fmt::Debug for UserTokenAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.cache.source;
        f.debug_struct("UserTokenAuth")
            .field("sessions_url", &e.sessions_url)
            .field("api_key", &e.api_key)
            .field("scopes", &e.scopes)
            .field("lifetime", &e.lifetime)
            .field("cache", &self.cache)
            .finish()
    }
}

impl UserTokenAuth {
    /// Tokens with `scopes`, living 10 minutes, renewed 30 seconds before expiry, fetched with
    /// `http` (see [`fetch_user_token`] for what its redirect policy may do).
    pub fn new(http: reqwest::Client, sessions_url: &str, api_key: &str, scopes: &[&str]) -> Self {
        let endpoint = SessionsEndpoint {
            http,
            sessions_url: sessions_url.to_owned(),
            api_key: SecretBytes::from_slice(api_key.as_bytes()),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            lifetime: Duration::from_secs(600),
        };
        Self {
            cache: TokenCache::new(endpoint, Duration::from_secs(30)),
        }
    }

    /// Token lifetime asked for (the provider caps it).
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.cache.source.lifetime = lifetime;
        self
    }
}

impl ClientAuth for UserTokenAuth {
    fn authorize<'a>(
        &'a self,
        req: &'a mut reqwest::Request,
        _body: &'a [u8],
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(self.cache.authorize(req))
    }

    fn on_unauthorized<'a>(
        &'a self,
        sent: &'a http::HeaderMap,
        _response: &'a reqwest::Response,
    ) -> BoxFuture<'a, AfterUnauthorized> {
        Box::pin(self.cache.rejected(sent))
    }
}
