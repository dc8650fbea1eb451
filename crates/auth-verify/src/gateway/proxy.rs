//! The inline proxy: the whole request, body included, goes through the [`AuthLayer`]; a
//! verified request is forwarded to the one configured upstream with the verified `X-Auth-*`
//! headers (any the client sent are removed), streamed both ways, under timeouts. Redirects
//! are passed back, never followed, so credentials reach no other host.
//!
//! [`AuthLayer`]: auth_http::server::AuthLayer

use super::Gateway;
use super::headers::{insert_verified, json_error, strip_auth_headers};
use super::trust::is_trusted;
use auth_http::server::{Authenticated, Principal, RequestBody};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use http_body_util::BodyExt;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt as _;
use tower_layer::Layer as _;

/// Where and how the proxy forwards.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    upstream: reqwest::Url,
    /// Longest time to connect to the upstream.
    pub connect_timeout: Duration,
    /// Longest time for the upstream's whole exchange, body included.
    pub timeout: Duration,
}

/// The upstream URL is not an `http`/`https` URL without credentials, query or fragment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the upstream must be an http:// or https:// URL with no user, query or fragment")]
pub struct InvalidUpstream;

impl ProxyConfig {
    /// Forwards to `upstream` (`http://127.0.0.1:9000`, optionally with a base path); connects
    /// within 5 s, whole exchanges within 60 s.
    pub fn new(upstream: &str) -> Result<Self, InvalidUpstream> {
        let url = reqwest::Url::parse(upstream).map_err(|_| InvalidUpstream)?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none()
            || !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(InvalidUpstream);
        }
        Ok(Self {
            upstream: url,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
        })
    }

    /// The upstream URL.
    pub fn upstream(&self) -> &reqwest::Url {
        &self.upstream
    }
}

/// Headers that belong to one connection, not to the message.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

#[derive(Clone)]
struct Forwarder {
    client: reqwest::Client,
    upstream: Arc<reqwest::Url>,
}

impl Forwarder {
    /// The upstream URL for `uri`: the upstream's base path, then the request's path and
    /// query. Concatenation after the authority cannot change the host.
    fn target(&self, uri: &Uri) -> Option<reqwest::Url> {
        let base = self.upstream.as_str().trim_end_matches('/');
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let url = reqwest::Url::parse(&format!("{base}{path}")).ok()?;
        (url.host_str() == self.upstream.host_str()
            && url.port_or_known_default() == self.upstream.port_or_known_default()
            && url.scheme() == self.upstream.scheme())
        .then_some(url)
    }

    async fn forward(&self, req: http::Request<RequestBody>) -> Response {
        let (parts, body) = req.into_parts();
        let Some(url) = self.target(&parts.uri) else {
            return json_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the request path cannot be forwarded",
            );
        };
        let mut headers = forwardable(&parts.headers);
        strip_auth_headers(&mut headers);
        if let Some(principal) = parts.extensions.get::<Principal>() {
            let verified = Authenticated {
                principal: principal.clone(),
                content_digest: None,
            };
            insert_verified(&mut headers, &verified);
        }
        if let Some(host) = parts.headers.get(header::HOST) {
            headers.insert(HeaderName::from_static("x-forwarded-host"), host.clone());
        }
        let sent = self
            .client
            .request(parts.method, url)
            .headers(headers)
            .body(reqwest::Body::wrap_stream(body.into_data_stream()))
            .send()
            .await;
        match sent {
            Ok(resp) => {
                let mut out = Response::builder().status(resp.status());
                if let Some(h) = out.headers_mut() {
                    *h = forwardable(resp.headers());
                }
                out.body(Body::from_stream(resp.bytes_stream()))
                    .unwrap_or_else(|_| bad_gateway())
            }
            Err(e) if e.is_timeout() => json_error(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                "the upstream did not answer in time",
            ),
            Err(_) => bad_gateway(),
        }
    }
}

fn bad_gateway() -> Response {
    json_error(
        StatusCode::BAD_GATEWAY,
        "upstream_unavailable",
        "the upstream could not be reached",
    )
}

/// `headers` without the hop-by-hop ones (and those the `Connection` header names).
fn forwardable(headers: &HeaderMap) -> HeaderMap {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let n = name.as_str();
        if !HOP_BY_HOP.contains(&n) && n != "content-length" && !named.iter().any(|c| c == n) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// Rebuilds the absolute URI from a trusted proxy's `X-Forwarded-Host`/`-Proto`, or from the
/// configured public origin, before the layer reads it.
fn with_origin(gw: &Gateway, mut req: Request) -> Request {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let trusted = is_trusted(&gw.config.trusted_proxies, peer);
    let first = |name: &str| {
        let v = req.headers().get(name)?.to_str().ok()?;
        let v = v.split(',').next()?.trim();
        (!v.is_empty()).then(|| v.to_owned())
    };
    let origin = match &gw.config.public_origin {
        Some(o) => Some(o.trim_end_matches('/').to_owned()),
        None if trusted => first("x-forwarded-host").map(|host| {
            let proto = first("x-forwarded-proto").unwrap_or_else(|| "http".into());
            format!("{proto}://{host}")
        }),
        None => None,
    };
    if let Some(origin) = origin {
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        if let Ok(uri) = format!("{origin}{path}").parse::<Uri>() {
            if let Some(host) = uri
                .authority()
                .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
            {
                req.headers_mut().insert(header::HOST, host);
            }
            *req.uri_mut() = uri;
        }
    }
    req
}

pub(super) fn router(gw: Gateway, upstream: ProxyConfig) -> Router {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(upstream.connect_timeout)
        .timeout(upstream.timeout)
        .build()
        // Without a client the proxy cannot forward; every request then gets 502.
        .unwrap_or_else(|_| reqwest::Client::new());
    let forwarder = Forwarder {
        client,
        upstream: Arc::new(upstream.upstream),
    };
    let handler = tower::service_fn(move |req: http::Request<RequestBody>| {
        let forwarder = forwarder.clone();
        async move { Ok::<_, Infallible>(forwarder.forward(req).await) }
    });
    let verified = gw.layer.layer(handler);
    Router::new()
        .fallback(move |State(gw): State<Gateway>, req: Request| {
            let verified = verified.clone();
            async move {
                match verified.oneshot(with_origin(&gw, req)).await {
                    Ok(resp) => resp.into_response(),
                    Err(never) => match never {},
                }
            }
        })
        .with_state(gw)
}
