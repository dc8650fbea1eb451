//! The provider side: a tower [`AuthLayer`] that finds the request's [`Route`], detects which
//! of the route's schemes the request carries (headers only), reads the body only when that
//! scheme signs it (refusing oversized or slow bodies before any cryptography), resolves the
//! credential through a [`KeyResolver`], executes the replay obligation through a
//! [`ReplayStore`], reports the decision to an [`Observer`], and hands the handler a request
//! whose extensions hold the verified [`Principal`]. Works with hyper directly and with any
//! tower-based framework (axum).

mod app_tokens;
mod cache;
mod digest_check;
mod observer;
mod rejection;
mod replay;
mod resolver;
mod route;
mod schemes;
mod serve;
mod settings;
mod user_tokens;

pub use app_tokens::{AppAuthEndpoint, AppTokenConfig, TrialApps};
pub use auth_core::credential::{Principal, Scheme};
pub use cache::{CacheStats, CachingResolver, DEFAULT_CACHE_ENTRIES};
pub use digest_check::{
    AUTH_CONTENT_DIGEST, ContentDigestCheck, ContentDigestService, DEFAULT_CHECKED_BODY_LIMIT,
};
pub use observer::{Decision, NoObserver, Observer, Outcome};
pub use rejection::{Disclosure, ErrorStyle, Rejection, status_for};
pub use replay::{DEFAULT_REPLAY_CAPACITY, DEFAULT_REPLAY_QUOTA, MemoryReplayStore, ReplayStore};
pub use resolver::{KeyResolver, Lookup, MemoryResolver, StoreUnavailable};
pub use route::{Accept, Route, Routes};
pub use serve::{
    ACCEPT_ERROR_BACKOFF, BodyReadError, DeadlineBody, InvalidServeConfig, MAX_TIMEOUT,
    MIN_BUF_SIZE, PeerAddr, ServeConfig, serve, serve_until, serve_with,
};
pub use settings::{
    DisclosureSetting, EnvironmentSetting, LayerSettings, NoTokenVerifiers, NonceSetting,
    PathMatchSetting, RouteSettings, SchemeSettings, TokenVerifiers,
};
pub use user_tokens::{SharedRevocations, UserTokenConfig, issue_session};

pub use crate::BoxFuture;
use crate::clock::{Clock, SystemClock};
use auth_core::apikey::KeyPrefix;
use auth_core::request::Headers;
use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Either, Full, Limited};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Default largest body buffered for verification: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// Default time the whole body of a signed request may take to arrive.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The body a handler behind the layer receives: the buffered body of a signed request, or
/// the still-unread stream (bounded by the same limit) of a header-authenticated one.
pub struct RequestBody(UnsyncBoxBody<Bytes, BoxError>);

impl RequestBody {
    /// A body of `bytes` (tests, handlers behind other layers).
    pub fn from_bytes(bytes: Bytes) -> Self {
        buffered(bytes)
    }

    /// Boxes any body with byte chunks.
    pub fn new<B>(body: B) -> Self
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Self(body.map_err(Into::into).boxed_unsync())
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        std::pin::Pin::new(&mut self.0).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.0.size_hint()
    }
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestBody")
    }
}

/// What the layer enforces. Defaults are the strictest sensible ones; the route table
/// decides which schemes each path accepts (none unless listed).
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Which schemes each path accepts.
    pub routes: Routes,
    /// Prefix of the API keys this provider issues.
    pub api_key_prefix: KeyPrefix,
    /// The scheme and authority clients address, to rebuild the signed URL
    /// (`https://api.example.com`); `None` takes `http` and the `Host` header.
    pub public_origin: Option<String>,
    /// Largest body buffered or passed on; larger gets 413 before any verification.
    pub body_limit: usize,
    /// Longest time a signed request's body may take to arrive (408 after it).
    pub body_read_timeout: Duration,
    /// How much a rejection tells the caller.
    pub disclosure: Disclosure,
}

impl AuthConfig {
    /// A configuration for keys with `prefix` and the route table `routes`; 1 MiB bodies read
    /// within 30 s, opaque errors.
    pub fn new(prefix: KeyPrefix, routes: Routes) -> Self {
        Self {
            routes,
            api_key_prefix: prefix,
            public_origin: None,
            body_limit: DEFAULT_BODY_LIMIT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            disclosure: Disclosure::Opaque,
        }
    }
}

#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) config: AuthConfig,
    pub(crate) resolver: Arc<dyn KeyResolver>,
    pub(crate) replay: Arc<dyn ReplayStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) observer: Arc<dyn Observer>,
}

/// The tower layer. Run it on a tokio runtime with timers enabled (as every hyper server
/// is): a signed body is read under a deadline.
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
                observer: Arc::new(NoObserver),
            }),
        }
    }

    /// Reports every decision to `observer`.
    pub fn with_observer(self, observer: Arc<dyn Observer>) -> Self {
        let mut shared = Arc::unwrap_or_clone(self.shared);
        shared.observer = observer;
        Self {
            shared: Arc::new(shared),
        }
    }

    /// Verifies a request already buffered, without a service behind: the entry point for
    /// benchmarks and fuzzing. A public route gives `Ok(None)`.
    pub async fn authenticate(
        &self,
        parts: &http::request::Parts,
        body: &[u8],
    ) -> Result<Option<Principal>, Rejection> {
        match self.authenticate_with(parts, BodySource::Bytes(body)).await {
            Ok(found) => Ok(found.map(|a| a.principal)),
            Err(refusal) => Err(refusal.rejection()),
        }
    }

    /// Verifies a request whose body is where `body` says: the entry point for `/v1/verify`
    /// and forward-auth. A public route gives `Ok(None)`. The refusal keeps its detail for
    /// an explain answer; [`Refusal::rejection`] is what a caller may be shown.
    pub async fn authenticate_with(
        &self,
        parts: &http::request::Parts,
        body: BodySource<'_>,
    ) -> Result<Option<Authenticated>, Refusal> {
        let started = Instant::now();
        let shared = &*self.shared;
        let refuse = |detailed| Refusal {
            detailed,
            disclosure: shared.config.disclosure,
        };
        let route = route_for(shared, parts).map_err(refuse)?;
        if route.is_public() {
            return Ok(None);
        }
        let result = match schemes::header_fields(&parts.headers) {
            Ok(fields) => {
                let headers = Headers::new(&fields);
                let plan = Plan::new(route, parts, &headers);
                decide(shared, route, parts, headers, &plan, body).await
            }
            Err(r) => Err(r),
        };
        let principal_result = result
            .as_ref()
            .map(|a| a.principal.clone())
            .map_err(Clone::clone);
        observe(shared, parts, started, &principal_result);
        result.map(Some).map_err(refuse)
    }

    /// What the server computed for `parts` (the signature base, covered components, clock
    /// skew, the detailed code) after [`AuthLayer::authenticate_with`] gave `outcome`. It
    /// records nothing. Show it only to an admin or for a `test` credential: the caller
    /// decides, with [`Explanation::environment`].
    pub async fn explain(
        &self,
        parts: &http::request::Parts,
        body: BodySource<'_>,
        outcome: &Result<Option<Authenticated>, Refusal>,
    ) -> Explanation {
        let shared = &*self.shared;
        let now = shared.clock.now();
        let (scheme, code, message, principal_env, subject) = match outcome {
            Ok(Some(a)) => (
                Some(a.principal.scheme),
                None,
                None,
                Some(a.principal.environment),
                None,
            ),
            Ok(None) => (None, None, None, None, None),
            Err(r) => (
                r.detailed.scheme,
                Some(r.detailed.error.code()),
                Some(r.detailed.error.message().to_owned()),
                None,
                r.detailed.subject.as_ref().map(|s| s.1.clone()),
            ),
        };
        let signature = match (
            route_for(shared, parts)
                .ok()
                .and_then(|r| r.find(Scheme::HttpSignature)),
            schemes::header_fields(&parts.headers),
        ) {
            (Some(Accept::HttpSignature(policy)), Ok(fields)) => {
                let (bytes, digest_bound) = body.split();
                let ctx = schemes::Ctx {
                    shared,
                    parts,
                    headers: Headers::new(&fields),
                    body: bytes,
                    digest_bound,
                    now,
                };
                schemes::http_signature::explain(&ctx, policy)
            }
            _ => None,
        };
        // A refused credential's environment, when the request named a registered one.
        let named = subject.or_else(|| {
            let keyid = signature.as_ref()?.keyid.as_deref()?;
            auth_core::credential::CredentialRef::parse(
                auth_core::credential::Purpose::HttpSignatureKey,
                keyid,
            )
            .ok()
        });
        let environment = match (principal_env, named) {
            (Some(env), _) => Some(env),
            (None, Some(reference)) => match shared.resolver.resolve(&reference).await {
                Ok(Some(c)) if c.purpose() == reference.purpose() => Some(c.environment),
                _ => None,
            },
            (None, None) => None,
        };
        Explanation {
            scheme,
            code,
            message,
            environment,
            server_time: now,
            signature,
        }
    }
}

/// Where the body of a request being authenticated is.
#[derive(Debug, Clone, Copy)]
pub enum BodySource<'a> {
    /// The complete body (an empty slice: no body).
    Bytes(&'a [u8]),
    /// Forward-auth: a gateway kept the body. A signature binds it by covering
    /// `Content-Digest`, which the upstream then checks ([`ContentDigestCheck`]); schemes that
    /// sign the raw body (Qredo, Smile body fields) are refused with an error naming the
    /// inline mode.
    DigestBound,
}

impl<'a> BodySource<'a> {
    fn split(self) -> (&'a [u8], bool) {
        match self {
            Self::Bytes(b) => (b, false),
            Self::DigestBound => (&[], true),
        }
    }
}

/// A verified request.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// Who made it.
    pub principal: Principal,
    /// In digest-bound mode, the signed `Content-Digest` value the upstream must check its
    /// body against (forward-auth returns it as `X-Auth-Content-Digest`).
    pub content_digest: Option<String>,
}

/// A refused request. Its detail is kept for an explain answer; what a caller may be shown
/// is [`Refusal::rejection`], disclosed as the layer is configured.
#[derive(Debug, Clone)]
pub struct Refusal {
    detailed: Rejection,
    disclosure: Disclosure,
}

impl Refusal {
    /// The rejection to send, with the configured [`Disclosure`] applied.
    pub fn rejection(&self) -> Rejection {
        self.detailed.clone().disclose(self.disclosure)
    }

    /// The undisclosed rejection: for an explain answer to an admin or a `test` credential
    /// and for logs, never for an ordinary caller.
    pub fn detailed(&self) -> &Rejection {
        &self.detailed
    }
}

/// What the server computed for a request (see [`AuthLayer::explain`]).
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The scheme detected, when one was.
    pub scheme: Option<Scheme>,
    /// The detailed error code of a refusal.
    pub code: Option<auth_core::ErrorCode>,
    /// The detailed error message of a refusal.
    pub message: Option<String>,
    /// The environment of the credential the request named, when it is registered.
    pub environment: Option<auth_core::credential::Environment>,
    /// The server's clock when it explained.
    pub server_time: auth_core::UnixTime,
    /// The RFC 9421 signature as the server read it, when the request carries one.
    pub signature: Option<SignatureExplanation>,
}

/// An RFC 9421 signature as the server read it.
#[derive(Debug, Clone)]
pub struct SignatureExplanation {
    /// The label verified.
    pub label: String,
    /// The `keyid`.
    pub keyid: Option<String>,
    /// The covered components, as identifiers (`"@method"`, `"content-digest"`).
    pub covered_components: Vec<String>,
    /// The signature base the server built, or why it could not.
    pub signature_base: Result<String, String>,
    /// `created`.
    pub created: Option<auth_core::UnixTime>,
    /// `expires`.
    pub expires: Option<auth_core::UnixTime>,
    /// Server time minus `created`, in seconds (negative: created in the server's future).
    pub clock_skew_seconds: Option<i64>,
}

fn route_for<'s>(shared: &'s Shared, parts: &http::request::Parts) -> Result<&'s Route, Rejection> {
    shared
        .config
        .routes
        .find(parts.uri.path())
        .ok_or_else(Rejection::missing)
}

/// Which of the route's schemes the request carries (headers only), and whether Smile body
/// fields may stand in when it carries none. The body is needed only in those cases.
struct Plan<'r> {
    detected: Option<&'r Accept>,
    smile_body: bool,
}

impl<'r> Plan<'r> {
    fn new(route: &'r Route, parts: &http::request::Parts, headers: &Headers<'_>) -> Self {
        let detected = schemes::detect(route, parts, headers);
        let smile_body = detected.is_none()
            && route.find(Scheme::Smile).is_some()
            && !schemes::carries_other_credential(headers);
        Self {
            detected,
            smile_body,
        }
    }

    fn wants_body(&self) -> bool {
        self.detected.is_some_and(schemes::signs_body) || self.smile_body
    }
}

/// The decision for a request on `route`, with the body read if the plan wanted it.
async fn decide(
    shared: &Shared,
    route: &Route,
    parts: &http::request::Parts,
    headers: Headers<'_>,
    plan: &Plan<'_>,
    body: BodySource<'_>,
) -> Result<Authenticated, Rejection> {
    let (body, digest_bound) = body.split();
    let ctx = schemes::Ctx {
        shared,
        parts,
        headers,
        body,
        digest_bound,
        now: shared.clock.now(),
    };
    let verified = match plan.detected {
        Some(Accept::Qredo(_)) if digest_bound => {
            return Err(schemes::needs_inline("Qredo's x-sign signs the raw body"));
        }
        Some(accept) => schemes::verify(&ctx, accept).await?,
        None if digest_bound && plan.smile_body => {
            return Err(schemes::needs_inline(
                "this route takes Smile signatures in the JSON body (send them in the \
                 smileid-* headers to use forward-auth)",
            ));
        }
        None => match (route.find(Scheme::Smile), plan.smile_body) {
            (Some(Accept::Smile(policy)), true) => match schemes::smile::body_fields(body) {
                Some(fields) => schemes::smile::verify_body(&ctx, policy, &fields).await?,
                None => return Err(missing(route)),
            },
            _ => return Err(missing(route)),
        },
    };
    let content_digest = verified.content_digest.clone();
    let principal = schemes::finish(&ctx, route, verified).await?;
    Ok(Authenticated {
        principal,
        content_digest,
    })
}

/// No accepted credential was presented: app-token-only routes answer as an Actyx node does.
fn missing(route: &Route) -> Rejection {
    match route.schemes() {
        [Accept::AppToken(_)] => {
            app_tokens::actyx_rejection(auth_core::scheme::apptrust::AppTrustError::new(
                auth_core::scheme::apptrust::ActyxCode::MissingAuthHeader,
                auth_core::Error::new(
                    auth_core::ErrorCode::Unauthorized,
                    "send Authorization: Bearer <token> or ?access_token=<token>",
                ),
            ))
        }
        _ => Rejection::missing(),
    }
}

fn observe(
    shared: &Shared,
    parts: &http::request::Parts,
    started: Instant,
    result: &Result<Principal, Rejection>,
) {
    let path = parts.uri.path();
    let latency = started.elapsed();
    let decision = match result {
        Ok(p) => Decision {
            outcome: Outcome::Accepted,
            path,
            scheme: Some(p.scheme),
            partner: Some(&p.partner),
            credential: Some(&p.credential),
            code: None,
            latency,
        },
        Err(r) => Decision {
            outcome: Outcome::Rejected,
            path,
            scheme: r.scheme,
            partner: r.subject.as_ref().map(|s| &s.0),
            credential: r.subject.as_ref().map(|s| &s.1),
            code: Some(r.error.code()),
            latency,
        },
    };
    shared.observer.observe(&decision);
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

/// A boxed error of a body or a service.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why the body could not be buffered.
enum BodyFailure {
    TooLarge,
    Slow,
    Broken,
}

async fn buffer<B>(body: B, limit: usize, timeout: Duration) -> Result<Bytes, BodyFailure>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Err(_) => Err(BodyFailure::Slow),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(BodyFailure::TooLarge),
        // `serve`'s own body deadline passed first.
        Ok(Err(e))
            if e.downcast_ref::<BodyReadError>()
                .is_some_and(BodyReadError::is_timeout) =>
        {
            Err(BodyFailure::Slow)
        }
        Ok(Err(_)) => Err(BodyFailure::Broken),
    }
}

fn body_rejection(failure: BodyFailure, limit: usize) -> Rejection {
    match failure {
        BodyFailure::TooLarge => Rejection::too_large(limit),
        BodyFailure::Slow => {
            let mut r = Rejection::new(
                auth_core::Error::malformed("the request body did not arrive in time"),
                ErrorStyle::Problem,
            );
            r.status = http::StatusCode::REQUEST_TIMEOUT;
            r
        }
        BodyFailure::Broken => Rejection::new(
            auth_core::Error::malformed("the request body could not be read"),
            ErrorStyle::Problem,
        ),
    }
}

fn streamed<B>(body: B, limit: usize) -> RequestBody
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    RequestBody(Limited::new(body, limit).boxed_unsync())
}

fn buffered(bytes: Bytes) -> RequestBody {
    RequestBody(
        Full::new(bytes)
            .map_err(|never| match never {})
            .boxed_unsync(),
    )
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for AuthService<S>
where
    S: tower_service::Service<Request<RequestBody>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    ReqBody: Body<Data = Bytes> + Send + 'static,
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
            let started = Instant::now();
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
            let route = match route_for(&shared, &parts) {
                Ok(route) => route,
                Err(r) => return Ok(reject(r.disclose(shared.config.disclosure))),
            };
            if route.is_public() {
                let req = Request::from_parts(parts, streamed(body, limit));
                return Ok(inner.call(req).await?.map(Either::Left));
            }
            // Read the body only if the detected scheme signs it: a header-authenticated
            // request is decided before a byte of its body is read.
            let fields = match schemes::header_fields(&parts.headers) {
                Ok(f) => f,
                Err(r) => return Ok(reject(r.disclose(shared.config.disclosure))),
            };
            let headers = Headers::new(&fields);
            let plan = Plan::new(route, &parts, &headers);
            let mut body = Some(body);
            let mut bytes = None;
            if plan.wants_body()
                && let Some(b) = body.take()
            {
                match buffer(b, limit, shared.config.body_read_timeout).await {
                    Ok(b) => bytes = Some(b),
                    Err(f) => return Ok(reject(body_rejection(f, limit))),
                }
            }
            let result = decide(
                &shared,
                route,
                &parts,
                headers,
                &plan,
                BodySource::Bytes(bytes.as_deref().unwrap_or_default()),
            )
            .await
            .map(|a| a.principal);
            observe(&shared, &parts, started, &result);
            drop(fields);
            match result {
                Ok(principal) => {
                    parts.extensions.insert(principal);
                    let body = match (bytes, body) {
                        (Some(b), _) => buffered(b),
                        (None, Some(b)) => streamed(b, limit),
                        (None, None) => buffered(Bytes::new()),
                    };
                    let resp = inner.call(Request::from_parts(parts, body)).await?;
                    Ok(resp.map(Either::Left))
                }
                Err(rejection) => Ok(reject(rejection.disclose(shared.config.disclosure))),
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

/// Adapts an async function into the handler service [`AuthLayer`] wraps.
#[derive(Clone)]
pub struct HandlerFn<F>(pub F);

impl<F, Fut> tower_service::Service<Request<RequestBody>> for HandlerFn<F>
where
    F: Fn(Request<RequestBody>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    type Response = Response<Full<Bytes>>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<RequestBody>) -> Self::Future {
        let fut = (self.0)(req);
        Box::pin(async move { Ok(fut.await) })
    }
}
