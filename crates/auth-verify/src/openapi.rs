//! The OpenAPI 3.1 document of the admin, token and verification APIs, generated from the
//! handlers' annotations (utoipa) and served at `/openapi.json`.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::OpenApi;

use crate::admin::{api, apptrust, error};
use crate::tokens;

#[derive(OpenApi)]
#[openapi(
    info(title = "auth-verify", description = "The partner-auth verification service: admin, token and verification APIs."),
    paths(
        api::create_partner, api::list_partners, api::get_partner, api::update_partner,
        api::issue_api_key, api::upload_public_key, api::create_secret, api::list_credentials,
        api::revoke, api::regenerate, api::list_admins, api::add_admin, api::remove_admin,
        apptrust::create_authority, apptrust::get_authority, apptrust::issue_certificate,
        apptrust::issue_license, apptrust::get_node_licensing, apptrust::set_node_licensing,
        tokens::sessions, tokens::sessions_preflight, tokens::app_auth,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    tags(
        (name = "admin", description = "Signed by an admin key (RFC 9421, Ed25519)"),
        (name = "tokens", description = "Short-lived tokens"),
        (name = "verify", description = "Verification for gateways"),
    )
)]
struct ApiDoc;

/// The document as JSON text.
pub fn document() -> String {
    let mut doc = ApiDoc::openapi();
    doc.merge(GatewayDoc::openapi());
    doc.to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// `GET /openapi.json`.
pub fn router() -> Router {
    let text = document();
    Router::new().route(
        "/openapi.json",
        get(move || {
            let text = text.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], text).into_response() }
        }),
    )
}

/// A request described for `/v1/verify`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct VerifyRequest {
    /// `GET`, `POST`, ...
    method: String,
    /// The full URL the client addressed.
    url: String,
    /// `[[name, value], ...]` in order, or `{name: value}`.
    #[schema(value_type = Object)]
    headers: serde_json::Value,
    /// The body, Base64 (needed by schemes that sign it).
    body_b64: Option<String>,
    /// Also answer what the server computed (admins, or `test` credentials only).
    explain: Option<bool>,
}

/// The answer of `/v1/verify`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct VerifyAnswer {
    /// Whether the request would be accepted.
    ok: bool,
    /// The verified principal (`partner`, `key_id`, `scheme`, `scopes`, `environment`,
    /// `expires_at`).
    #[schema(value_type = Object)]
    principal: Option<serde_json::Value>,
    /// The status the scheme would answer when refused.
    status: Option<u16>,
    /// `code` and `message` when refused.
    #[schema(value_type = Object)]
    error: Option<serde_json::Value>,
    /// With `explain`: signature base, covered components, clock skew, code.
    #[schema(value_type = Object)]
    explain: Option<serde_json::Value>,
}

/// Verifies a request described in JSON.
#[utoipa::path(post, path = "/v1/verify", tag = "verify", request_body = VerifyRequest,
    responses((status = 200, body = VerifyAnswer, description = "The decision, accepted or not"),
        (status = 400, body = error::ErrorBody), (status = 413, description = "Too large")))]
#[allow(dead_code)]
fn v1_verify() {}

/// nginx `auth_request`: the original request from `X-Original-URI` and `X-Original-Method`.
#[utoipa::path(get, path = "/forward-auth/nginx", tag = "verify",
    responses((status = 200, description = "Accepted; X-Auth-Partner, X-Auth-Key-Id, X-Auth-Scheme, X-Auth-Scopes, X-Auth-Environment (and X-Auth-Content-Digest)"),
        (status = 401, description = "The scheme's rejection"), (status = 403, description = "Insufficient scope")))]
#[allow(dead_code)]
fn forward_nginx() {}

/// Traefik ForwardAuth: `X-Forwarded-Method`, `-Proto`, `-Host`, `-Uri`.
#[utoipa::path(get, path = "/forward-auth/traefik", tag = "verify",
    responses((status = 200, description = "Accepted, with the X-Auth-* headers"), (status = 401, description = "Refused")))]
#[allow(dead_code)]
fn forward_traefik() {}

/// Caddy `forward_auth`: `X-Forwarded-Method`, `-Proto`, `-Host`, `-Uri`.
#[utoipa::path(get, path = "/forward-auth/caddy", tag = "verify",
    responses((status = 200, description = "Accepted, with the X-Auth-* headers"), (status = 401, description = "Refused")))]
#[allow(dead_code)]
fn forward_caddy() {}

/// Envoy `ext_authz` over HTTP: the original path follows the prefix.
#[utoipa::path(get, path = "/forward-auth/envoy/{path}", tag = "verify",
    params(("path" = String, Path, description = "The original path")),
    responses((status = 200, description = "Accepted, with the X-Auth-* headers"), (status = 401, description = "Refused")))]
#[allow(dead_code)]
fn forward_envoy() {}

#[derive(OpenApi)]
#[openapi(
    paths(
        v1_verify,
        forward_nginx,
        forward_traefik,
        forward_caddy,
        forward_envoy
    ),
    components(schemas(VerifyRequest, VerifyAnswer))
)]
struct GatewayDoc;
