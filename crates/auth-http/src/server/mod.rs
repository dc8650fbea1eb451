//! The provider side: a tower [`AuthLayer`] that buffers the body (refusing oversized ones with
//! 413 before any cryptography), picks the scheme from the headers present, resolves keys
//! through a [`KeyResolver`], checks replay through a [`ReplayStore`], and hands the handler a
//! request whose extensions hold the verified [`Principal`]. Works with hyper directly and
//! with any tower-based framework (axum).

mod app_tokens;
mod principal;
mod rejection;
mod replay;
mod resolver;
mod user_tokens;
mod verify;

pub use app_tokens::{AppAuthEndpoint, AppTokenConfig};
pub use principal::{Principal, SchemeKind};
pub use rejection::{ErrorStyle, Rejection, status_for};
pub use replay::{MemoryReplayStore, ReplayStore, ReplayVerdict};
pub use resolver::{
    ApiKeyEntry, BoxFuture, CachingResolver, JwtEntry, KeyEntry, KeyResolver, MemoryResolver,
    SmileEntry, StoreUnavailable,
};
pub use user_tokens::{SharedRevocations, UserTokenConfig, issue_session};

use crate::clock::{Clock, SystemClock};
use auth_core::apikey::{Environment, KeyPrefix};
use auth_core::scheme::jwt::JwtPolicy;
use auth_core::scheme::qredo::QredoPolicy;
use auth_core::scheme::rfc9421::VerifyPolicy;
use auth_core::scheme::smile::SmilePolicy;
use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Either, Full, Limited};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Default largest body buffered for verification: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Which schemes a route accepts; the headers present choose among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schemes {
    /// Bearer / `x-api-key` API keys.
    pub api_key: bool,
    /// Qredo signatures.
    pub qredo: bool,
    /// RFC 9421 signatures.
    pub http_signature: bool,
    /// JWT partner tokens.
    pub jwt: bool,
    /// Smile signatures.
    pub smile: bool,
}

impl Schemes {
    /// Every scheme.
    pub const ALL: Self = Self {
        api_key: true,
        qredo: true,
        http_signature: true,
        jwt: true,
        smile: true,
    };

    /// Only `kind`.
    pub fn only(kind: SchemeKind) -> Self {
        Self {
            api_key: kind == SchemeKind::ApiKey,
            qredo: kind == SchemeKind::Qredo,
            http_signature: kind == SchemeKind::HttpSignature,
            jwt: kind == SchemeKind::Jwt,
            smile: kind == SchemeKind::Smile,
        }
    }
}

/// What the layer enforces. Defaults are the strictest sensible ones.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Accepted schemes.
    pub schemes: Schemes,
    /// Largest body buffered; larger gets 413 before any verification.
    pub body_limit: usize,
    /// Prefix of the API keys this provider issues.
    pub api_key_prefix: KeyPrefix,
    /// The environment this deployment serves (keys of the other one are refused).
    pub environment: Environment,
    /// The scheme and authority clients address, to rebuild the signed URL
    /// (`https://api.example.com`); `None` takes `http` and the `Host` header.
    pub public_origin: Option<String>,
    /// RFC 9421 verification policy.
    pub http_signature_policy: VerifyPolicy,
    /// Qredo policy (timestamp window, nonce mode).
    pub qredo_policy: QredoPolicy,
    /// JWT policy (leeway, maximum lifetime, `iat` rule, audience, issuer).
    pub jwt_policy: JwtPolicy,
    /// Smile timestamp window.
    pub smile_policy: SmilePolicy,
    /// Restricted user tokens accepted on this route, if any.
    pub user_tokens: Option<UserTokenConfig>,
    /// Actyx-style app tokens accepted on this route, if any.
    pub app_tokens: Option<AppTokenConfig>,
    /// Paths served without authentication (exact match: `/api/v2/auth`, `/healthz`); their
    /// requests carry no [`Principal`].
    pub public_paths: Vec<String>,
}

impl AuthConfig {
    /// A configuration for keys with `prefix` in `environment`; every scheme on, 1 MiB bodies,
    /// RFC 9421 signatures at most 5 minutes old, Qredo window ±30 s.
    pub fn new(prefix: KeyPrefix, environment: Environment) -> Self {
        Self {
            schemes: Schemes::ALL,
            body_limit: DEFAULT_BODY_LIMIT,
            api_key_prefix: prefix,
            environment,
            public_origin: None,
            http_signature_policy: VerifyPolicy::new(Duration::from_secs(300)),
            qredo_policy: QredoPolicy::default(),
            jwt_policy: JwtPolicy::default(),
            smile_policy: SmilePolicy::default(),
            user_tokens: None,
            app_tokens: None,
            public_paths: Vec::new(),
        }
    }
}

pub(crate) struct Shared {
    pub(crate) config: AuthConfig,
    pub(crate) resolver: Arc<dyn KeyResolver>,
    pub(crate) replay: Arc<dyn ReplayStore>,
    pub(crate) clock: Arc<dyn Clock>,
}

/// The tower layer.
#[derive(Clone)]
pub struct AuthLayer {
    shared: Arc<Shared>,
}

impl AuthLayer {
    /// A layer with the system clock.
    pub fn new(
        config: AuthConfig,
        resolver: Arc<dyn KeyResolver>,
        replay: Arc<dyn ReplayStore>,
    ) -> Self {
        Self::with_clock(config, resolver, replay, Arc::new(SystemClock))
    }

    /// A layer with an explicit clock (tests).
    pub fn with_clock(
        config: AuthConfig,
        resolver: Arc<dyn KeyResolver>,
        replay: Arc<dyn ReplayStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                config,
                resolver,
                replay,
                clock,
            }),
        }
    }

    /// Verifies a request already buffered, without a service behind: the entry point for
    /// forward-auth endpoints, benchmarks and fuzzing.
    pub async fn authenticate(
        &self,
        parts: &http::request::Parts,
        body: &[u8],
    ) -> Result<Principal, Rejection> {
        verify::authenticate(&self.shared, parts, body).await
    }
}

impl<S> tower_layer::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps around a handler.
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    shared: Arc<Shared>,
}

/// The response body: the handler's, or the rejection's.
pub type AuthBody<B> = Either<B, Full<Bytes>>;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for AuthService<S>
where
    S: tower_service::Service<Request<Full<Bytes>>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // The clone that was polled ready serves this call; a fresh clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let limit = shared.config.body_limit;
            let declared = parts
                .headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|n| n > limit as u64) {
                return Ok(reject(Rejection::too_large(limit)));
            }
            let bytes = match Limited::new(body, limit).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(e) => {
                    return Ok(reject(if e.is::<http_body_util::LengthLimitError>() {
                        Rejection::too_large(limit)
                    } else {
                        Rejection::new(
                            auth_core::Error::malformed("the request body could not be read"),
                            ErrorStyle::Problem,
                        )
                    }));
                }
            };
            if shared
                .config
                .public_paths
                .iter()
                .any(|p| p == parts.uri.path())
            {
                let resp = inner
                    .call(Request::from_parts(parts, Full::new(bytes)))
                    .await?;
                return Ok(resp.map(Either::Left));
            }
            match verify::authenticate(&shared, &parts, &bytes).await {
                Ok(principal) => {
                    parts.extensions.insert(principal);
                    let req = Request::from_parts(parts, Full::new(bytes));
                    let resp = inner.call(req).await?;
                    Ok(resp.map(Either::Left))
                }
                Err(rejection) => Ok(reject(rejection)),
            }
        })
    }
}

fn reject<B>(r: Rejection) -> Response<AuthBody<B>> {
    r.into_response().map(Either::Right)
}

/// Checks that the verified principal of `req` carries `scope`: 401 when the request was not
/// authenticated, 403 (`insufficient_scope`) when it was but lacks the scope.
pub fn require_scope<'r, B>(req: &'r Request<B>, scope: &str) -> Result<&'r Principal, Rejection> {
    let principal = req
        .extensions()
        .get::<Principal>()
        .ok_or_else(Rejection::missing)?;
    if principal.has_scope(scope) {
        Ok(principal)
    } else {
        Err(Rejection::new(
            auth_core::Error::new(
                auth_core::ErrorCode::InsufficientScope,
                format!("this endpoint needs the scope {scope:?}"),
            ),
            ErrorStyle::Problem,
        )
        .with_challenge("Bearer error=\"insufficient_scope\""))
    }
}

mod serve;
pub use serve::{
    ACCEPT_ERROR_BACKOFF, BodyReadError, DeadlineBody, InvalidServeConfig, MAX_TIMEOUT,
    MIN_BUF_SIZE, ServeConfig, serve, serve_with,
};

/// Adapts an async function into the handler service [`AuthLayer`] wraps.
#[derive(Clone)]
pub struct HandlerFn<F>(pub F);

impl<F, Fut> tower_service::Service<Request<Full<Bytes>>> for HandlerFn<F>
where
    F: Fn(Request<Full<Bytes>>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    type Response = Response<Full<Bytes>>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Full<Bytes>>) -> Self::Future {
        let fut = (self.0)(req);
        Box::pin(async move { Ok(fut.await) })
    }
}
