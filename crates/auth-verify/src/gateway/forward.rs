//! Forward-auth: a gateway asks about a request it holds (without its body) and lets it
//! through on 200, copying the `X-Auth-*` headers to the upstream. The original method, URI,
//! host and protocol come from the gateway's headers, believed only from a trusted proxy;
//! from anyone else the check request is judged as it arrived.

use super::Gateway;
use super::headers::{insert_verified, json_error};
use super::trust::is_trusted;
use auth_http::server::BodySource;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use std::net::SocketAddr;

/// Where a gateway puts the original request line.
struct Dialect {
    method: &'static str,
    uri: &'static str,
    /// How to configure the gateway when a header is missing.
    advice: &'static str,
}

const NGINX: Dialect = Dialect {
    method: "x-original-method",
    uri: "x-original-uri",
    advice: "proxy_set_header X-Original-URI $request_uri; \
             proxy_set_header X-Original-Method $request_method;",
};

const FORWARDED: Dialect = Dialect {
    method: "x-forwarded-method",
    uri: "x-forwarded-uri",
    advice: "send X-Forwarded-Method and X-Forwarded-Uri (Traefik's ForwardAuth and Caddy's \
             forward_auth do)",
};

/// `auth_request` of nginx.
pub(crate) async fn nginx(State(gw): State<Gateway>, req: Request) -> Response {
    described(&gw, req, &NGINX).await
}

/// Traefik's ForwardAuth middleware.
pub(crate) async fn traefik(State(gw): State<Gateway>, req: Request) -> Response {
    described(&gw, req, &FORWARDED).await
}

/// Caddy's `forward_auth`.
pub(crate) async fn caddy(State(gw): State<Gateway>, req: Request) -> Response {
    described(&gw, req, &FORWARDED).await
}

/// Envoy's `ext_authz` HTTP service: the original path follows the prefix, the method and
/// the allowed headers are the original request's.
pub(crate) async fn envoy(State(gw): State<Gateway>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let trusted = peer_trusted(&gw, &parts);
    let path = parts
        .uri
        .path()
        .strip_prefix("/forward-auth/envoy")
        .unwrap_or_default();
    let path = if path.is_empty() { "/" } else { path };
    let path_and_query = match parts.uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let method = parts.method.clone();
    check(&gw, parts, trusted, method, &path_and_query).await
}

/// nginx, Traefik and Caddy: the request line in headers.
async fn described(gw: &Gateway, req: Request, dialect: &Dialect) -> Response {
    let (parts, _) = req.into_parts();
    let trusted = peer_trusted(gw, &parts);
    if !trusted {
        let method = parts.method.clone();
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        return check(gw, parts, false, method, &path_and_query).await;
    }
    let (Some(method), Some(uri)) = (
        single(&parts.headers, dialect.method),
        single(&parts.headers, dialect.uri),
    ) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "gateway_misconfigured",
            &format!(
                "the gateway did not say which request it holds; {}",
                dialect.advice
            ),
        );
    };
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the original method is not an HTTP method",
        );
    };
    let uri = uri.to_owned();
    check(gw, parts, true, method, &uri).await
}

fn peer_trusted(gw: &Gateway, parts: &http::request::Parts) -> bool {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    is_trusted(&gw.config.trusted_proxies, peer)
}

/// The first value of a header, as text (a list's first element).
fn single<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let value = headers.get(name)?.to_str().ok()?;
    let first = value.split(',').next()?.trim();
    (!first.is_empty()).then_some(first)
}

/// Rebuilds the original request and verifies it digest-bound.
async fn check(
    gw: &Gateway,
    mut parts: http::request::Parts,
    trusted: bool,
    method: Method,
    path_and_query: &str,
) -> Response {
    if !path_and_query.starts_with('/') {
        return json_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the original URI must be a path starting with /",
        );
    }
    let forwarded = |name| {
        if trusted {
            single(&parts.headers, name)
        } else {
            None
        }
    };
    let origin = match &gw.config.public_origin {
        Some(origin) => Some(origin.trim_end_matches('/').to_owned()),
        None => {
            let proto = forwarded("x-forwarded-proto").unwrap_or("http");
            let host = forwarded("x-forwarded-host")
                .or_else(|| parts.headers.get(header::HOST)?.to_str().ok());
            host.map(|h| format!("{proto}://{h}"))
        }
    };
    let text = match &origin {
        Some(origin) => format!("{origin}{path_and_query}"),
        None => path_and_query.to_owned(),
    };
    let Ok(uri) = text.parse::<Uri>() else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the original request's URL is not valid",
        );
    };
    // The Host the client sent, so a signature over the `host` field matches.
    if let Some(authority) = uri.authority()
        && let Ok(host) = HeaderValue::from_str(authority.as_str())
    {
        parts.headers.insert(header::HOST, host);
    }
    parts.method = method;
    parts.uri = uri;
    match gw
        .layer
        .authenticate_with(&parts, BodySource::DigestBound)
        .await
    {
        Ok(found) => {
            let mut resp = StatusCode::OK.into_response();
            if let Some(verified) = found {
                insert_verified(resp.headers_mut(), &verified);
            }
            resp
        }
        Err(refusal) => refusal.rejection().into_response().map(Body::new),
    }
}
