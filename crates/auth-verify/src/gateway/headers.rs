//! The `X-Auth-*` headers a verified request carries to the upstream, and the JSON error body
//! of the gateway's own endpoints.

use auth_http::server::{AUTH_CONTENT_DIGEST, Authenticated, Principal};
use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// Verified partner.
pub(crate) const AUTH_PARTNER: HeaderName = HeaderName::from_static("x-auth-partner");
/// Verified credential ID.
pub(crate) const AUTH_KEY_ID: HeaderName = HeaderName::from_static("x-auth-key-id");
/// Scheme that verified.
pub(crate) const AUTH_SCHEME: HeaderName = HeaderName::from_static("x-auth-scheme");
/// The credential's scopes, space-separated.
pub(crate) const AUTH_SCOPES: HeaderName = HeaderName::from_static("x-auth-scopes");
/// `live` or `test`.
pub(crate) const AUTH_ENVIRONMENT: HeaderName = HeaderName::from_static("x-auth-environment");

/// The credential ID as shown to gateways and callers.
pub(crate) fn key_id(principal: &Principal) -> &str {
    principal.credential.id().as_str()
}

/// The principal's scopes, space-separated.
pub(crate) fn scopes(principal: &Principal) -> String {
    principal.scopes.iter().collect::<Vec<_>>().join(" ")
}

/// Adds the verified `X-Auth-*` headers (a value that is not a valid header is left out:
/// registered IDs and scopes are ASCII, so this does not happen).
pub(crate) fn insert_verified(headers: &mut HeaderMap, verified: &Authenticated) {
    let p = &verified.principal;
    let mut put = |name: HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put(AUTH_PARTNER, p.partner.as_str());
    put(AUTH_KEY_ID, key_id(p));
    put(AUTH_SCHEME, p.scheme.as_str());
    put(AUTH_SCOPES, &scopes(p));
    put(AUTH_ENVIRONMENT, p.environment.as_str());
    // Always present, empty when no body is bound: Caddy 2.6's `copy_headers` would pass its
    // unexpanded placeholder on for a header the answer lacked.
    put(
        HeaderName::from_static(AUTH_CONTENT_DIGEST),
        verified.content_digest.as_deref().unwrap_or_default(),
    );
}

/// Removes every `X-Auth-*` header: only the service sets them.
pub(crate) fn strip_auth_headers(headers: &mut HeaderMap) {
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|n| n.as_str().starts_with("x-auth-"))
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
}

/// An error of the gateway's own endpoints: `{"error":{"code","message"}}`.
pub(crate) fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}
