//! Actyx-style app tokens on the app side: obtain a token from the node's auth endpoint with
//! the app manifest, send it as a bearer token, and obtain a new one when the node rejects it
//! (expired, or issued before the node restarted its epoch), retrying once. The caching is
//! [`super::token::TokenCache`]'s, shared with the other token clients; the node states no
//! expiry, so a token is kept until the node rejects it.

use super::token::{Minted, TokenCache, TokenSource};
use super::{AfterUnauthorized, ClientAuth, ClientError};
use crate::BoxFuture;
use auth_core::UnixTime;
use std::fmt;
use std::time::Duration;

/// The node's auth endpoint.
struct AuthEndpoint {
    http: reqwest::Client,
    auth_url: String,
    manifest_json: String,
}

impl AuthEndpoint {
    async fn obtain(&self) -> Result<String, ClientError> {
        let resp = self
            .http
            .post(&self.auth_url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(self.manifest_json.clone())
            .send()
            .await?;
        let status = resp.status();
        let text = resp.text().await?;
        #[derive(serde::Deserialize)]
        struct Issued {
            token: String,
        }
        match serde_json::from_str::<Issued>(&text) {
            Ok(issued) if status.is_success() => Ok(issued.token),
            _ => Err(ClientError::Auth(auth_core::Error::new(
                auth_core::ErrorCode::Unauthorized,
                format!("the node refused the manifest ({status}): {text}"),
            ))),
        }
    }
}

impl TokenSource for AuthEndpoint {
    fn mint(&self, _now: UnixTime) -> BoxFuture<'_, Result<Minted, ClientError>> {
        Box::pin(async move {
            Ok(Minted {
                token: self.obtain().await?,
                expires_at: None,
            })
        })
    }
}

/// Sends an app token obtained from `POST <auth_url>` with the manifest JSON.
pub struct AppTokenAuth {
    cache: TokenCache<AuthEndpoint>,
}

impl fmt::Debug for AppTokenAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppTokenAuth")
            .field("auth_url", &self.cache.source.auth_url)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl AppTokenAuth {
    /// For the app described by `manifest_json` (`{"appId","displayName","version","signature"?}`),
    /// posted with `http` as it is configured (the manifest is no secret: it ships inside the
    /// app); the token is then sent only through the [`super::AuthClient`] this scheme serves.
    pub fn new(http: reqwest::Client, auth_url: &str, manifest_json: &str) -> Self {
        let endpoint = AuthEndpoint {
            http,
            auth_url: auth_url.to_owned(),
            manifest_json: manifest_json.to_owned(),
        };
        Self {
            cache: TokenCache::new(endpoint, Duration::ZERO),
        }
    }

    /// Asks the node for a token (not cached: the client's own token is unaffected).
    pub async fn obtain(&self) -> Result<String, ClientError> {
        self.cache.source.obtain().await
    }
}

impl ClientAuth for AppTokenAuth {
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
