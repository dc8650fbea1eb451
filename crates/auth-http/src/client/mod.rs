//! The partner side: [`AuthClient`] wraps a `reqwest::Client` and attaches one scheme's
//! credentials to every request. Bodies are buffered (up to a limit) so they can be signed;
//! a request answered with 401 is re-authorized and retried at most once when the scheme says
//! a fresh credential may help (token refresh), and every retry is signed anew.

mod app_token;
mod jwt;
mod schemes;
mod user_token;

pub use app_token::AppTokenAuth;
pub use jwt::JwtAuth;
pub use schemes::{
    ApiKeyAuth, ApiKeyPlacement, HttpSignatureAuth, QredoAuth, QredoFreshness, SmileAuth,
    SmilePlacement,
};
pub use user_token::{UserToken, UserTokenAuth, fetch_user_token};

use crate::BoxFuture;
use std::fmt;
use std::sync::Arc;

/// Default largest body the client buffers to sign: 8 MiB.
pub const DEFAULT_CLIENT_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Why a request could not be sent.
#[derive(Debug)]
pub enum ClientError {
    /// Signing or token minting failed.
    Auth(auth_core::Error),
    /// The body is a stream or larger than the limit.
    Body(String),
    /// The HTTP exchange failed.
    Http(reqwest::Error),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auth(e) => write!(f, "could not authorize the request: {e}"),
            Self::Body(m) => write!(f, "request body: {m}"),
            Self::Http(e) => write!(f, "HTTP request failed: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<auth_core::Error> for ClientError {
    fn from(e: auth_core::Error) -> Self {
        Self::Auth(e)
    }
}

impl From<reqwest::Error> for ClientError {
    fn from(e: reqwest::Error) -> Self {
        Self::Http(e)
    }
}

/// Sets `Authorization: Bearer <token>`, marked sensitive so it is never logged.
pub(crate) fn set_bearer(req: &mut reqwest::Request, token: &str) -> Result<(), ClientError> {
    let mut value = http::HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        ClientError::Auth(auth_core::Error::malformed(
            "the credential is not a valid header value",
        ))
    })?;
    value.set_sensitive(true);
    req.headers_mut().insert(http::header::AUTHORIZATION, value);
    Ok(())
}

/// What to do after a 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterUnauthorized {
    /// Return the 401 to the caller.
    GiveUp,
    /// A fresh credential may help: authorize again and retry once.
    RetryOnce,
}

/// One scheme's way of putting credentials on a request.
pub trait ClientAuth: Send + Sync + 'static {
    /// Adds credentials to `req`, whose body bytes are `body`. Called again for a retry.
    fn authorize<'a>(
        &'a self,
        req: &'a mut reqwest::Request,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<(), ClientError>>;

    /// Told that the server answered 401; by default the 401 goes to the caller.
    fn on_unauthorized<'a>(
        &'a self,
        _response: &'a reqwest::Response,
    ) -> BoxFuture<'a, AfterUnauthorized> {
        Box::pin(async { AfterUnauthorized::GiveUp })
    }
}

/// A reqwest client that authorizes every request with one scheme.
#[derive(Clone)]
pub struct AuthClient {
    http: reqwest::Client,
    auth: Arc<dyn ClientAuth>,
    body_limit: usize,
}

impl AuthClient {
    /// Wraps `http` with `auth`.
    pub fn new(http: reqwest::Client, auth: Arc<dyn ClientAuth>) -> Self {
        Self {
            http,
            auth,
            body_limit: DEFAULT_CLIENT_BODY_LIMIT,
        }
    }

    /// Changes the largest body buffered for signing.
    pub fn with_body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// The underlying reqwest client (to build requests with).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Authorizes and sends a request built with [`AuthClient::http`]; on a 401 that the
    /// scheme can cure, authorizes again and retries exactly once.
    pub async fn execute(&self, req: reqwest::Request) -> Result<reqwest::Response, ClientError> {
        let body: Vec<u8> = match req.body() {
            None => Vec::new(),
            Some(b) => b
                .as_bytes()
                .ok_or_else(|| {
                    ClientError::Body("streamed bodies cannot be signed; send bytes".into())
                })?
                .to_vec(),
        };
        if body.len() > self.body_limit {
            return Err(ClientError::Body(format!(
                "the body is {} bytes, over the {}-byte signing limit",
                body.len(),
                self.body_limit
            )));
        }
        let retry = req.try_clone();
        let mut first = req;
        self.auth.authorize(&mut first, &body).await?;
        let resp = self.http.execute(first).await?;
        if resp.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        match (self.auth.on_unauthorized(&resp).await, retry) {
            (AfterUnauthorized::RetryOnce, Some(mut again)) => {
                self.auth.authorize(&mut again, &body).await?;
                Ok(self.http.execute(again).await?)
            }
            _ => Ok(resp),
        }
    }

    /// Shorthand: builds `builder` and executes it.
    pub async fn send(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ClientError> {
        self.execute(builder.build()?).await
    }
}
