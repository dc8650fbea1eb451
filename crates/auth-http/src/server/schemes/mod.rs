//! Scheme adapters, one per file, each with the same two steps: `detect` (are this scheme's
//! credentials in the request? headers only, before the body is read) and `verify` (parse,
//! resolve the credential by reference, verify with auth-core, return the principal and the
//! replay obligation). The dispatcher here picks the first accepted scheme the request
//! carries, in the route's order, executes the obligation and checks the route's environment.

pub(crate) mod altalix;
pub(crate) mod api_key;
pub(crate) mod app_token;
pub(crate) mod bearer;
pub(crate) mod http_signature;
pub(crate) mod jwt;
pub(crate) mod qredo;
pub(crate) mod smile;
pub(crate) mod user_token;

use super::Shared;
use super::rejection::{ErrorStyle, Rejection};
use super::route::{Accept, Route};
use auth_core::credential::{Credential, CredentialRef, Principal, unknown_credential};
use auth_core::replay::ReplayObligation;
use auth_core::request::{Body, Headers, Request, TargetUri};
use auth_core::{Error, ErrorCode, UnixTime};
use std::sync::Arc;

/// Most header fields looked at.
pub(crate) const MAX_FIELDS: usize = 128;

/// One request as the adapters see it; `now` is read once per request.
pub(crate) struct Ctx<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) parts: &'a http::request::Parts,
    pub(crate) headers: Headers<'a>,
    /// The buffered body; empty when the detected scheme does not sign it.
    pub(crate) body: &'a [u8],
    /// Digest-bound mode: the body stayed with a gateway; see [`super::BodySource`].
    pub(crate) digest_bound: bool,
    pub(crate) now: UnixTime,
}

/// What a scheme adapter established.
pub(crate) struct Verified {
    pub(crate) principal: Principal,
    pub(crate) replay: ReplayObligation,
    /// How a replay refusal is rendered for this scheme.
    pub(crate) style: ErrorStyle,
    /// Digest-bound mode: the signed `Content-Digest` the upstream must check the body against.
    pub(crate) content_digest: Option<String>,
}

/// The header fields as auth-core's view takes them. A value outside visible ASCII (and
/// HTAB) is refused: it would be left out of a signature base yet reach the handler.
pub(crate) fn header_fields(map: &http::HeaderMap) -> Result<Vec<(&str, &str)>, Rejection> {
    if map.len() > MAX_FIELDS {
        return Err(problem(Error::new(
            ErrorCode::TooLarge,
            format!("more than {MAX_FIELDS} header fields"),
        )));
    }
    map.iter()
        .map(|(k, v)| match v.to_str() {
            Ok(text) => Ok((k.as_str(), text)),
            Err(_) => Err(problem(Error::malformed(format!(
                "the {} header has bytes outside visible ASCII; send it ASCII-only",
                k.as_str()
            )))),
        })
        .collect()
}

/// The scheme of `route` whose credentials the request carries, in the route's order.
pub(crate) fn detect<'r>(
    route: &'r Route,
    parts: &http::request::Parts,
    headers: &Headers<'_>,
) -> Option<&'r Accept> {
    route.schemes().iter().find(|a| match a {
        Accept::ApiKey => api_key::detect(headers),
        Accept::Qredo(_) => qredo::detect(headers),
        Accept::HttpSignature(_) => http_signature::detect(headers),
        Accept::Altalix(_) => altalix::detect(parts),
        Accept::Jwt(_) => jwt::detect(
            headers,
            route
                .find(auth_core::credential::Scheme::UserToken)
                .is_some(),
        ),
        Accept::Smile(_) => smile::detect_headers(headers),
        Accept::UserToken(_) => user_token::detect(headers),
        Accept::AppToken(_) => app_token::detect(parts, headers),
    })
}

/// Whether the detected scheme signs the body (so the layer must buffer it).
pub(crate) fn signs_body(accept: &Accept) -> bool {
    matches!(accept, Accept::Qredo(_) | Accept::HttpSignature(_))
}

/// Whether the request carries any credential-looking header at all (Smile body fields are
/// read only when it does not).
pub(crate) fn carries_other_credential(headers: &Headers<'_>) -> bool {
    [
        "authorization",
        "x-api-key",
        "x-sign",
        "signature",
        "signature-input",
        auth_core::scheme::smile::HEADER_SIGNATURE,
    ]
    .iter()
    .any(|h| headers.contains(h))
}

/// Runs the detected scheme.
pub(crate) async fn verify(ctx: &Ctx<'_>, accept: &Accept) -> Result<Verified, Rejection> {
    let result = match accept {
        Accept::ApiKey => api_key::verify(ctx).await,
        Accept::Qredo(policy) => qredo::verify(ctx, policy).await,
        Accept::HttpSignature(policy) => http_signature::verify(ctx, policy).await,
        Accept::Altalix(policy) => altalix::verify(ctx, policy).await,
        Accept::Jwt(policy) => jwt::verify(ctx, policy).await,
        Accept::Smile(policy) => smile::verify_headers(ctx, policy).await,
        Accept::UserToken(cfg) => user_token::verify(ctx, cfg),
        Accept::AppToken(cfg) => app_token::verify(ctx, cfg),
    };
    result.map_err(|mut r| {
        r.scheme.get_or_insert(accept.scheme());
        r
    })
}

/// Executes the obligation, then checks the route's environment.
pub(crate) async fn finish(
    ctx: &Ctx<'_>,
    route: &Route,
    verified: Verified,
) -> Result<Principal, Rejection> {
    if let Some(env) = route.environment()
        && verified.principal.environment != env
    {
        return Err(Rejection::new(
            Error::new(
                ErrorCode::Unauthorized,
                format!(
                    "this route serves {} credentials; use one of those",
                    env.as_str()
                ),
            ),
            verified.style.clone(),
        )
        .about(&verified.principal));
    }
    if let Err(e) = ctx.shared.replay.record(&verified.replay, ctx.now).await {
        let rejection = match e.code() {
            ErrorCode::Replayed | ErrorCode::RateLimited => {
                Rejection::new(e, verified.style.clone())
            }
            _ => Rejection::unavailable(),
        };
        return Err(rejection.about(&verified.principal));
    }
    Ok(verified.principal)
}

/// Resolves `reference`; `None` is the one "not recognised" answer, an outage is 503.
pub(crate) async fn resolve(
    ctx: &Ctx<'_>,
    reference: &CredentialRef,
    style: &ErrorStyle,
) -> Result<Arc<Credential>, Rejection> {
    match ctx.shared.resolver.resolve(reference).await {
        Ok(Some(c)) if c.purpose() == reference.purpose() => Ok(c),
        Ok(_) => Err(Rejection::new(unknown_credential(), style.clone())),
        Err(_) => Err(Rejection::unavailable()),
    }
}

pub(crate) fn problem(e: Error) -> Rejection {
    Rejection::new(e, ErrorStyle::Problem)
}

/// The absolute URL the client addressed: the configured public origin, else `http` and the
/// `Host` header.
pub(crate) fn target<'a>(ctx: &'a Ctx<'a>, style: &ErrorStyle) -> Result<TargetUri<'a>, Rejection> {
    let parts = ctx.parts;
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let (scheme, authority) = match &ctx.shared.config.public_origin {
        Some(origin) => origin
            .split_once("://")
            .unwrap_or(("https", origin.as_str())),
        None => {
            let host = parts
                .uri
                .authority()
                .map(|a| a.as_str())
                .or_else(|| ctx.headers.get_one("host").ok().flatten())
                .ok_or_else(|| {
                    Rejection::new(
                        Error::malformed("the request has no Host header"),
                        style.clone(),
                    )
                })?;
            (parts.uri.scheme_str().unwrap_or("http"), host)
        }
    };
    TargetUri::from_parts(scheme, authority, path_and_query)
        .map_err(|e| Rejection::new(e, style.clone()))
}

/// auth-core's borrowed view of the request.
pub(crate) fn view<'a>(
    ctx: &'a Ctx<'a>,
    target: TargetUri<'a>,
    style: &ErrorStyle,
) -> Result<Request<'a>, Rejection> {
    let body = if !ctx.digest_bound {
        Body::from_bytes(ctx.body)
    } else if announces_body(&ctx.headers) {
        Body::Streamed
    } else {
        Body::Empty
    };
    Request::new(ctx.parts.method.as_str(), target, ctx.headers, body)
        .map_err(|e| Rejection::new(e, style.clone()))
}

/// Whether the headers say a body follows (digest-bound mode, where the body is not seen):
/// a `Content-Digest`, a non-zero `Content-Length` or a `Transfer-Encoding`.
pub(crate) fn announces_body(headers: &Headers<'_>) -> bool {
    headers.contains("content-digest")
        || headers.contains("transfer-encoding")
        || headers.get_all("content-length").any(|v| v.trim() != "0")
}

/// A request that cannot be verified without its body, which the gateway kept: the error
/// names the mode that would work. 400, so that opaque disclosure keeps the advice.
pub(crate) fn needs_inline(what: &str) -> Rejection {
    problem(Error::malformed(format!(
        "{what}, which forward-auth never sees: run `auth-verify proxy --upstream <your API>` \
         (inline mode) in front of this API instead"
    )))
}
