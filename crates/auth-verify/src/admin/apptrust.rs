//! Admin endpoints for app trust (Actyx style): create the authority key (its private half
//! sealed in the store, never shown), issue developer certificates and licenses signed by it,
//! and set the node licensing mode the app auth endpoint enforces. Issued certificates and
//! licenses are kept as documents so an operator can list what was signed.

use auth_core::keys::{SignatureAlgorithm, SigningKey};
use auth_core::scheme::apptrust::{
    AppDomain, AppId, AuthorityKey, AxPublicKey, DeveloperCertificate, License, Licensing,
};
use auth_core::time::UnixTime;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

use super::api::parse;
use super::auth::AdminIdentity;
use super::error::ApiError;
use crate::app::AppState;
use crate::service_keys::{self, ServiceKeyError};
use crate::store::{Document, Store, StoreError};

const AUTHORITY_KEY: &str = "app_trust_authority";
const NODE_LICENSING: &str = "node_licensing";

/// The authority's public key.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorityView {
    /// Ed25519 public key, Actyx key text; nodes and developers pin it.
    pub public_key: String,
}

fn key_error(e: ServiceKeyError) -> ApiError {
    match e {
        ServiceKeyError::Store(s) => s.into(),
        ServiceKeyError::Corrupt(..) | ServiceKeyError::Generate(_) => {
            ApiError::internal(&e.to_string())
        }
    }
}

async fn authority_signer(state: &AppState) -> Result<(SigningKey, AxPublicKey), ApiError> {
    let private = service_keys::load(&*state.store, &state.master, AUTHORITY_KEY)
        .await
        .map_err(key_error)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "no_authority",
                "create the authority first: POST /admin/app-trust/authority",
            )
        })?;
    let public = AxPublicKey::from_public_key(&private.public_key())
        .ok()
        .ok_or_else(|| ApiError::internal("the authority key has no Ed25519 public half"))?;
    let signer = SigningKey::new(&private, SignatureAlgorithm::Ed25519, &state.rng)
        .map_err(|_| ApiError::internal("the authority key is unusable"))?;
    Ok((signer, public))
}

/// The authority public key and the node licensing in force, or `None` before an authority
/// exists (the app auth endpoint then answers 503).
pub async fn current(store: &dyn Store) -> Result<Option<(AuthorityKey, Licensing)>, ApiError> {
    let Some(doc) = store.document("authority", "current").await? else {
        return Ok(None);
    };
    let text = doc
        .body
        .get("public_key")
        .and_then(|v| v.as_str())
        .ok_or_else(|| ApiError::internal("the authority document has no public key"))?;
    let authority = AuthorityKey::from_text(text)
        .map_err(|_| ApiError::internal("the stored authority key is invalid"))?;
    let licensing = match store.document(NODE_LICENSING, "current").await? {
        None => Licensing::development(),
        Some(doc) => Licensing::from_json(&doc.body.to_string())
            .map_err(|_| ApiError::internal("the stored node licensing is invalid"))?,
    };
    Ok(Some((authority, licensing)))
}

/// Creates the app-trust authority key (once).
#[utoipa::path(post, path = "/admin/app-trust/authority", tag = "admin",
    responses((status = 201, body = AuthorityView), (status = 409, body = super::error::ErrorBody)))]
pub async fn create_authority(
    State(state): State<Arc<AppState>>,
    axum::Extension(admin): axum::Extension<AdminIdentity>,
) -> Result<(StatusCode, Json<AuthorityView>), ApiError> {
    let private =
        match service_keys::create(&*state.store, &state.master, AUTHORITY_KEY, &state.rng).await {
            Ok(k) => k,
            Err(ServiceKeyError::Store(StoreError::Conflict(_))) => {
                return Err(ApiError::conflict("the authority already exists"));
            }
            Err(e) => return Err(key_error(e)),
        };
    let public = AxPublicKey::from_public_key(&private.public_key())
        .ok()
        .ok_or_else(|| ApiError::internal("the authority key has no Ed25519 public half"))?;
    let doc = Document {
        kind: "authority".into(),
        id: "current".into(),
        body: serde_json::json!({ "public_key": public.to_text() }),
        created_at: state.now(),
    };
    state.store.put_document(&doc, false).await?;
    state.audit_admin(&admin, "app_trust.authority.create", &public.to_text());
    Ok((
        StatusCode::CREATED,
        Json(AuthorityView {
            public_key: public.to_text(),
        }),
    ))
}

/// The authority's public key.
#[utoipa::path(get, path = "/admin/app-trust/authority", tag = "admin",
    responses((status = 200, body = AuthorityView), (status = 404, body = super::error::ErrorBody)))]
pub async fn get_authority(
    State(state): State<Arc<AppState>>,
) -> Result<Json<AuthorityView>, ApiError> {
    let doc = state
        .store
        .document("authority", "current")
        .await?
        .ok_or_else(|| ApiError::not_found("no authority yet"))?;
    let public_key = doc
        .body
        .get("public_key")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    Ok(Json(AuthorityView { public_key }))
}

/// A developer certificate request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCertificate {
    /// The developer's Ed25519 public key, Actyx key text.
    pub developer_public_key: String,
    /// App domains it may sign (`com.example.*`), 1 to 32.
    pub app_domains: Vec<String>,
}

/// An issued certificate, in the developer's certificate file form (without private key).
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateView {
    /// The certificate JSON (`devPubkey`, `appDomains`, `axSignature`).
    #[schema(value_type = Object)]
    pub certificate: serde_json::Value,
}

/// Issues a developer certificate.
#[utoipa::path(post, path = "/admin/app-trust/certificates", tag = "admin",
    request_body = IssueCertificate,
    responses((status = 201, body = CertificateView), (status = 400, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody)))]
pub async fn issue_certificate(
    State(state): State<Arc<AppState>>,
    axum::Extension(admin): axum::Extension<AdminIdentity>,
    body: Bytes,
) -> Result<(StatusCode, Json<CertificateView>), ApiError> {
    let req: IssueCertificate = parse(&body)?;
    let dev = AxPublicKey::from_text(&req.developer_public_key).map_err(|_| {
        ApiError::bad_request(
            "invalid_developer_key",
            "developer_public_key is an Ed25519 public key in Actyx key text",
        )
    })?;
    let domains = req
        .app_domains
        .iter()
        .map(|d| AppDomain::parse(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::bad_request("invalid_app_domain", e.to_string()))?;
    let (signer, _) = authority_signer(&state).await?;
    let cert = DeveloperCertificate::issue(&signer, dev, domains, &state.rng)
        .map_err(|e| ApiError::bad_request("invalid_certificate", e.to_string()))?;
    let json = cert
        .to_json(None)
        .map_err(|_| ApiError::internal("cannot encode the certificate"))?;
    let value: serde_json::Value = serde_json::from_str(&json)
        .map_err(|_| ApiError::internal("cannot encode the certificate"))?;
    let doc = Document {
        kind: "certificate".into(),
        id: dev.to_text(),
        body: value.clone(),
        created_at: state.now(),
    };
    state.store.put_document(&doc, true).await?;
    state.audit_admin(&admin, "app_trust.certificate.issue", &dev.to_text());
    Ok((
        StatusCode::CREATED,
        Json(CertificateView { certificate: value }),
    ))
}

/// A license request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueLicense {
    /// The app ID (or the node license subject).
    pub app_id: String,
    /// Expiry, RFC 3339, in the future.
    pub expires_at: String,
    /// Who asked for it.
    pub requester_email: String,
}

/// An issued license.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseView {
    /// The license key text (Base64 CBOR).
    pub license: String,
}

/// Issues a license.
#[utoipa::path(post, path = "/admin/app-trust/licenses", tag = "admin",
    request_body = IssueLicense,
    responses((status = 201, body = LicenseView), (status = 400, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody)))]
pub async fn issue_license(
    State(state): State<Arc<AppState>>,
    axum::Extension(admin): axum::Extension<AdminIdentity>,
    body: Bytes,
) -> Result<(StatusCode, Json<LicenseView>), ApiError> {
    let req: IssueLicense = parse(&body)?;
    let app_id = AppId::parse(&req.app_id)
        .map_err(|e| ApiError::bad_request("invalid_app_id", e.to_string()))?;
    let now = state.now();
    let expires_at = UnixTime::parse_rfc3339(&req.expires_at)
        .ok()
        .filter(|t| *t > now)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_expiry",
                "expires_at must be a future RFC 3339 time",
            )
        })?;
    let (signer, _) = authority_signer(&state).await?;
    let license = License::issue(
        &signer,
        app_id.clone(),
        expires_at,
        now,
        &req.requester_email,
        &state.rng,
    )
    .map_err(|e| ApiError::bad_request("invalid_license", e.to_string()))?;
    let text = license.to_key_text();
    let doc = Document {
        kind: "license".into(),
        id: format!("{}@{}", app_id.as_str(), now.as_millis()),
        body: serde_json::json!({ "app_id": app_id.as_str(), "expires_at": req.expires_at,
            "requester_email": req.requester_email, "license": text }),
        created_at: now,
    };
    state.store.put_document(&doc, true).await?;
    state.audit_admin(&admin, "app_trust.license.issue", app_id.as_str());
    Ok((StatusCode::CREATED, Json(LicenseView { license: text })))
}

/// The node licensing setting, Actyx form: `{"node": "development" | "<license>",
/// "apps": {"<appId>": "<license>"}}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeLicensingView {
    /// `development` or a node license.
    pub node: String,
    /// One license per signed app.
    #[serde(default)]
    pub apps: std::collections::BTreeMap<String, String>,
}

/// The node licensing in force.
#[utoipa::path(get, path = "/admin/app-trust/node-licensing", tag = "admin",
    responses((status = 200, body = NodeLicensingView)))]
pub async fn get_node_licensing(
    State(state): State<Arc<AppState>>,
) -> Result<Json<NodeLicensingView>, ApiError> {
    match state.store.document(NODE_LICENSING, "current").await? {
        None => Ok(Json(NodeLicensingView {
            node: "development".into(),
            apps: Default::default(),
        })),
        Some(doc) => serde_json::from_value(doc.body)
            .map(Json)
            .map_err(|_| ApiError::internal("the stored node licensing is invalid")),
    }
}

/// Sets the node licensing.
#[utoipa::path(put, path = "/admin/app-trust/node-licensing", tag = "admin",
    request_body = NodeLicensingView,
    responses((status = 200, body = NodeLicensingView), (status = 400, body = super::error::ErrorBody)))]
pub async fn set_node_licensing(
    State(state): State<Arc<AppState>>,
    axum::Extension(admin): axum::Extension<AdminIdentity>,
    body: Bytes,
) -> Result<Json<NodeLicensingView>, ApiError> {
    let req: NodeLicensingView = parse(&body)?;
    let value =
        serde_json::to_value(&req).map_err(|_| ApiError::internal("cannot encode the setting"))?;
    let licensing = Licensing::from_json(&value.to_string())
        .map_err(|e| ApiError::bad_request("invalid_licensing", e.to_string()))?;
    check_licenses(&state, &req, &licensing).await?;
    let doc = Document {
        kind: NODE_LICENSING.into(),
        id: "current".into(),
        body: value,
        created_at: state.now(),
    };
    state.store.put_document(&doc, true).await?;
    state.audit_admin(&admin, "app_trust.node_licensing.set", &req.node_summary());
    Ok(Json(req))
}

/// Checks every license in a new setting against the authority now, so a pasted wrong,
/// foreign or expired license is a 400 naming it at once, not an `ERR_*_UNAUTHORIZED` for
/// every app later. Licenses still expire afterwards; the app auth endpoint checks again.
async fn check_licenses(
    state: &AppState,
    req: &NodeLicensingView,
    licensing: &Licensing,
) -> Result<(), ApiError> {
    let authority = match current(&*state.store).await? {
        Some((authority, _)) => authority,
        None if req.node == "development" && req.apps.is_empty() => return Ok(()),
        None => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "no_authority",
                "licenses are checked against the authority: POST /admin/app-trust/authority first",
            ));
        }
    };
    let now = state.now();
    licensing.check_node(&authority, now).map_err(|e| {
        ApiError::bad_request("invalid_node_license", format!("node: {}", e.message()))
    })?;
    for (app, text) in &req.apps {
        let app_id = AppId::parse(app)
            .map_err(|e| ApiError::bad_request("invalid_app_id", e.to_string()))?;
        License::from_key_text(text)
            .and_then(|l| l.verify(&authority, &app_id, now))
            .map_err(|e| {
                ApiError::bad_request("invalid_app_license", format!("{app}: {}", e.message()))
            })?;
    }
    Ok(())
}

impl NodeLicensingView {
    fn node_summary(&self) -> String {
        if self.node == "development" {
            "development".into()
        } else {
            format!("licensed, {} apps", self.apps.len())
        }
    }
}
