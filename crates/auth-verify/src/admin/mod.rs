//! The admin API: JSON over HTTP under `/admin`, every request signed by an admin key
//! (`auth.rs`), handlers in `api.rs` (registry) and `apptrust.rs` (authority, certificates,
//! licenses, node licensing), one error shape (`error.rs`).

pub mod api;
pub mod apptrust;
pub mod auth;
pub mod error;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use std::sync::Arc;

use crate::app::AppState;
use auth::{AdminAuthError, authorize};
use error::ApiError;

/// The admin routes, each behind the admin signature check.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/admin/partners",
            post(api::create_partner).get(api::list_partners),
        )
        .route(
            "/admin/partners/{partner}",
            get(api::get_partner).patch(api::update_partner),
        )
        .route(
            "/admin/partners/{partner}/api-keys",
            post(api::issue_api_key),
        )
        .route(
            "/admin/partners/{partner}/public-keys",
            post(api::upload_public_key),
        )
        .route(
            "/admin/partners/{partner}/secrets",
            post(api::create_secret),
        )
        .route(
            "/admin/partners/{partner}/credentials",
            get(api::list_credentials),
        )
        .route("/admin/credentials/{reference}/revoke", post(api::revoke))
        .route(
            "/admin/credentials/{reference}/regenerate",
            post(api::regenerate),
        )
        .route(
            "/admin/authorized-users",
            get(api::list_admins).post(api::add_admin),
        )
        .route("/admin/authorized-users/{key}", delete(api::remove_admin))
        .route(
            "/admin/app-trust/authority",
            get(apptrust::get_authority).post(apptrust::create_authority),
        )
        .route(
            "/admin/app-trust/certificates",
            post(apptrust::issue_certificate),
        )
        .route("/admin/app-trust/licenses", post(apptrust::issue_license))
        .route(
            "/admin/app-trust/node-licensing",
            get(apptrust::get_node_licensing).put(apptrust::set_node_licensing),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), require_admin))
        .with_state(state)
}

/// Verifies the admin signature over the buffered request, decides authorization (enrolling
/// the first key), and passes the request on with an [`auth::AdminIdentity`] extension.
async fn require_admin(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let limit = state.config.limits.admin_body_limit;
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return ApiError::too_large(limit).into_response(),
    };
    let principal = match state.admin_layer.authenticate(&parts, &bytes).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return ApiError::unauthorized("sign admin requests with your admin key")
                .into_response();
        }
        Err(rejection) => return rejection.into_response().map(Body::new),
    };
    let key = principal.credential.id().as_str();
    let identity = match authorize(&*state.store, key).await {
        Ok(identity) => identity,
        Err(AdminAuthError::NotAuthorized) => {
            state.audit_admin_refused(key);
            return ApiError::unauthorized(AdminAuthError::NotAuthorized.to_string())
                .into_response();
        }
        Err(AdminAuthError::Unavailable) => return ApiError::unavailable().into_response(),
        Err(AdminAuthError::Corrupt) => {
            return ApiError::internal("the stored admin list is corrupt").into_response();
        }
    };
    if identity.enrolled {
        tracing::info!(admin = %identity.key, "enrolled the first admin key (trust on first use)");
        state.audit_admin(&identity, "admin.enrol", &identity.key);
    }
    let enrolled = identity.enrolled;
    parts.extensions.insert(identity);
    let mut response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if enrolled {
        response.headers_mut().insert(
            "x-admin-enrolled",
            axum::http::HeaderValue::from_static("true"),
        );
    }
    response
}
