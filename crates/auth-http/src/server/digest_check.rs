//! The upstream's half of digest-bound forward-auth: a tower layer that checks the body it
//! receives against the `X-Auth-Content-Digest` the verification service returned (the
//! RFC 9530 `Content-Digest` the client signed), so a body swapped behind the gateway never
//! reaches the handler. The body is hashed as it arrives (one pass, `sha-256`/`sha-512`) and
//! held, up to a limit, until the digest matched: the handler sees only checked bytes.
//!
//! The gateway must set `X-Auth-Content-Digest` (and the other `X-Auth-*` headers) from the
//! forward-auth answer on every request, so a client can never supply its own.

use super::rejection::{ErrorStyle, Rejection};
use super::{AuthBody, BoxError, BoxFuture, RequestBody};
use auth_core::content_digest::{AcceptedDigests, DigestVerifier};
use auth_core::{Error, ErrorCode};
use bytes::{Bytes, BytesMut};
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Either};
use std::task::{Context, Poll};
use std::time::Duration;

/// The header carrying the signed `Content-Digest` from forward-auth to the upstream.
pub const AUTH_CONTENT_DIGEST: &str = "x-auth-content-digest";
/// The header carrying the verified scheme from forward-auth to the upstream.
const AUTH_SCHEME: &str = "x-auth-scheme";
/// Default largest body checked: 16 MiB.
pub const DEFAULT_CHECKED_BODY_LIMIT: usize = 16 * 1024 * 1024;
/// Default time the whole body may take to arrive.
const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Schemes whose signature is meant to cover the body: a body they did not bind is refused.
const BODY_SIGNING_SCHEMES: [&str; 3] = ["http_signature", "qredo", "smile"];

/// The layer. Without `X-Auth-Content-Digest`, a non-empty body passes only when the verified
/// scheme (`X-Auth-Scheme`) does not sign bodies (API keys, tokens) and
/// [`ContentDigestCheck::require_bound_bodies`] was not asked for.
#[derive(Debug, Clone)]
pub struct ContentDigestCheck {
    limit: usize,
    read_timeout: Duration,
    require_bound: bool,
}

impl Default for ContentDigestCheck {
    fn default() -> Self {
        Self::new()
    }
}

impl ContentDigestCheck {
    /// Checks bodies up to [`DEFAULT_CHECKED_BODY_LIMIT`] arriving within 30 s.
    pub fn new() -> Self {
        Self {
            limit: DEFAULT_CHECKED_BODY_LIMIT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            require_bound: false,
        }
    }

    /// The largest body checked (larger: 413).
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The longest time the body may take to arrive (longer: 408).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Refuses every non-empty body that no signed digest binds, whatever the scheme.
    pub fn require_bound_bodies(mut self) -> Self {
        self.require_bound = true;
        self
    }
}

impl<S> tower_layer::Layer<S> for ContentDigestCheck {
    type Service = ContentDigestService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ContentDigestService {
            inner,
            check: self.clone(),
        }
    }
}

/// The service [`ContentDigestCheck`] wraps around a handler.
#[derive(Debug, Clone)]
pub struct ContentDigestService<S> {
    inner: S,
    check: ContentDigestCheck,
}

/// Why a body was refused.
fn refuse(status: StatusCode, code: ErrorCode, message: &'static str) -> Rejection {
    let mut r = Rejection::new(Error::new(code, message), ErrorStyle::Problem);
    r.status = status;
    r
}

/// Reads the whole body within the limit and deadline, feeding `verifier` as it goes.
async fn read_checked<B>(
    body: B,
    check: &ContentDigestCheck,
    mut verifier: Option<&mut DigestVerifier>,
) -> Result<Bytes, Rejection>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let read = async {
        let mut body = std::pin::pin!(body);
        let mut held = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| {
                refuse(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::Malformed,
                    "the request body could not be read",
                )
            })?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if held.len().saturating_add(data.len()) > check.limit {
                return Err(Rejection::too_large(check.limit));
            }
            if let Some(v) = verifier.as_deref_mut() {
                v.update(&data);
            }
            held.extend_from_slice(&data);
        }
        Ok(held.freeze())
    };
    match tokio::time::timeout(check.read_timeout, read).await {
        Ok(result) => result,
        Err(_) => Err(refuse(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::Malformed,
            "the request body did not arrive in time",
        )),
    }
}

/// Checks the body of `parts` and returns it, buffered, or the refusal.
async fn checked_body<B>(
    parts: &http::request::Parts,
    body: B,
    check: &ContentDigestCheck,
) -> Result<RequestBody, Rejection>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > check.limit as u64) {
        return Err(Rejection::too_large(check.limit));
    }
    // Empty counts as absent: Caddy's `copy_headers` sets a header the answer lacked to "".
    match parts
        .headers
        .get(AUTH_CONTENT_DIGEST)
        .filter(|v| !v.as_bytes().trim_ascii().is_empty())
    {
        Some(value) => {
            let mut verifier = value
                .to_str()
                .ok()
                .and_then(|v| DigestVerifier::new(v, AcceptedDigests::default()).ok())
                .ok_or_else(|| {
                    refuse(
                        StatusCode::BAD_REQUEST,
                        ErrorCode::Malformed,
                        "X-Auth-Content-Digest is not a Content-Digest value; the gateway must \
                         pass on the value forward-auth returned",
                    )
                })?;
            let bytes = read_checked(body, check, Some(&mut verifier)).await?;
            verifier.finish().map_err(|e| {
                refuse(
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::DigestMismatch,
                    match e.code() {
                        ErrorCode::DigestMismatch => {
                            "the body does not match the Content-Digest the client signed"
                        }
                        _ => "the body could not be checked against the signed Content-Digest",
                    },
                )
            })?;
            Ok(RequestBody::from_bytes(bytes))
        }
        None => {
            let scheme = parts
                .headers
                .get(AUTH_SCHEME)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !check.require_bound && !BODY_SIGNING_SCHEMES.contains(&scheme) {
                return Ok(RequestBody::new(http_body_util::Limited::new(
                    body,
                    check.limit,
                )));
            }
            let bytes = read_checked(body, check, None).await?;
            if bytes.is_empty() {
                Ok(RequestBody::from_bytes(bytes))
            } else {
                Err(refuse(
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::MissingComponent,
                    "the body is not bound by the signature; sign content-digest (digest-bound \
                     mode) or run `auth-verify proxy --upstream <your API>` (inline mode)",
                ))
            }
        }
    }
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for ContentDigestService<S>
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
        let check = self.check.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            match checked_body(&parts, body, &check).await {
                Ok(body) => {
                    let resp = inner.call(Request::from_parts(parts, body)).await?;
                    Ok(resp.map(Either::Left))
                }
                Err(r) => Ok(r.into_response().map(Either::Right)),
            }
        })
    }
}
