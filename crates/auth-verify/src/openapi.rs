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
    doc.merge(crate::gateway::openapi());
    doc.to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
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
