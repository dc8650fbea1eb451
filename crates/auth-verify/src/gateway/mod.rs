//! The verification endpoints gateways call: `POST /v1/verify` (a request described in JSON),
//! forward-auth for nginx, Traefik, Caddy and Envoy (digest-bound: the gateway keeps the body),
//! and the inline proxy that verifies the body too and forwards to one upstream.
//!
//! Serve the routers with `into_make_service_with_connect_info::<SocketAddr>()`: forwarded
//! headers are believed only from a [`GatewayConfig::trusted_proxies`] peer, and a router
//! served without the peer address trusts nobody.

mod forward;
mod headers;
mod proxy;
mod trust;
mod verify_api;

pub use proxy::{InvalidUpstream, ProxyConfig};
pub use trust::{InvalidNetwork, Network};

use auth_http::BoxFuture;
use auth_http::server::AuthLayer;
use axum::Router;
use axum::routing::{any, post};
use std::sync::Arc;

/// Decides whether the caller of `/v1/verify` may see an explanation of any credential (an
/// admin). A `test` credential's explanation needs no permission.
pub trait ExplainPolicy: Send + Sync + 'static {
    /// Whether the `/v1/verify` call with these parts and body comes from an admin.
    fn is_admin<'a>(
        &'a self,
        parts: &'a http::request::Parts,
        body: &'a [u8],
    ) -> BoxFuture<'a, bool>;
}

/// No caller is an admin: explanations only for `test` credentials.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAdmins;

impl ExplainPolicy for NoAdmins {
    fn is_admin<'a>(
        &'a self,
        _parts: &'a http::request::Parts,
        _body: &'a [u8],
    ) -> BoxFuture<'a, bool> {
        Box::pin(async { false })
    }
}

/// Default largest `/v1/verify` request: room for a 1 MiB body in Base64 and its headers.
pub const DEFAULT_VERIFY_REQUEST_LIMIT: usize = 2 * 1024 * 1024;

/// How the gateway endpoints behave.
#[derive(Clone)]
pub struct GatewayConfig {
    /// Peers whose `X-Forwarded-*` and `X-Original-*` headers are believed.
    pub trusted_proxies: Vec<Network>,
    /// The scheme and authority clients address (`https://api.example.com`); when set it
    /// replaces the forwarded host and protocol in every rebuilt request URL.
    pub public_origin: Option<String>,
    /// Who may ask `/v1/verify` to explain any credential.
    pub explain: Arc<dyn ExplainPolicy>,
    /// Largest `/v1/verify` request body (413 beyond).
    pub verify_request_limit: usize,
}

impl std::fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("trusted_proxies", &self.trusted_proxies)
            .field("public_origin", &self.public_origin)
            .field("verify_request_limit", &self.verify_request_limit)
            .finish_non_exhaustive()
    }
}

impl Default for GatewayConfig {
    /// Trusts no proxy, takes the origin from the request, explains only `test` credentials.
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            public_origin: None,
            explain: Arc::new(NoAdmins),
            verify_request_limit: DEFAULT_VERIFY_REQUEST_LIMIT,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct Gateway {
    pub(crate) layer: AuthLayer,
    pub(crate) config: Arc<GatewayConfig>,
}

/// `POST /v1/verify`, `/forward-auth/nginx`, `/forward-auth/traefik`, `/forward-auth/caddy`
/// and `/forward-auth/envoy/{original path}` (any method).
pub fn router(layer: AuthLayer, config: GatewayConfig) -> Router {
    let gateway = Gateway {
        layer,
        config: Arc::new(config),
    };
    Router::new()
        .route("/v1/verify", post(verify_api::verify))
        .route("/forward-auth/nginx", any(forward::nginx))
        .route("/forward-auth/traefik", any(forward::traefik))
        .route("/forward-auth/caddy", any(forward::caddy))
        .route("/forward-auth/envoy", any(forward::envoy))
        .route("/forward-auth/envoy/", any(forward::envoy))
        .route("/forward-auth/envoy/{*rest}", any(forward::envoy))
        .with_state(gateway)
}

/// The inline proxy (`auth-verify proxy --upstream URL`): every request is verified in full,
/// body included, by `layer`; client-sent `X-Auth-*` headers are removed, the verified ones
/// added, and the request is forwarded to `upstream` only, whose answer is passed back.
pub fn proxy_router(layer: AuthLayer, upstream: ProxyConfig, config: GatewayConfig) -> Router {
    proxy::router(
        Gateway {
            layer,
            config: Arc::new(config),
        },
        upstream,
    )
}
