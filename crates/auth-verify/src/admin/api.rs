//! The admin API's JSON handlers: partners, API keys (issue, list, revoke, regenerate), public
//! keys, shared secrets, the admin list and app trust. Every handler parses its body strictly
//! (unknown fields refused), validates before it writes, writes once through the store, drops
//! the changed reference from the resolver cache, and records the change in the audit log
//! without any secret. Secrets are returned once, in the response that creates them.

use auth_core::apikey::{self, Environment};
use auth_core::credential::{CredentialId, CredentialRef, PartnerId, Purpose, Scopes, Status};
use auth_core::time::UnixTime;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

use super::auth::AdminIdentity;
use super::error::ApiError;
use crate::app::AppState;
use crate::store::{
    CredentialRecord, PartnerRecord, PartnerStatus, PublicKeyRecord, StoredMaterial, Usage,
};

/// Most scopes on one credential, and longest scope.
const MAX_SCOPES: usize = 64;
const MAX_SCOPE_LEN: usize = 128;
/// Longest display name and notes.
const MAX_NAME_LEN: usize = 128;
const MAX_NOTES_LEN: usize = 2_048;
/// Most allowed origins of one partner.
const MAX_ORIGINS: usize = 32;

pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_json",
            "this endpoint needs a JSON body",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request("invalid_json", format!("the JSON body is invalid: {e}"))
    })
}

// ---------------------------------------------------------------------------------------------
// Partners

/// A new partner.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePartner {
    /// Unique ID: 1 to 128 visible ASCII characters.
    pub id: String,
    /// Unique display name.
    pub name: String,
    /// Browser origins allowed to call the session endpoint (`https://app.example.com`).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

/// A change to a partner.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePartner {
    /// `active` or `suspended`.
    #[serde(default)]
    pub status: Option<PartnerStatusView>,
    /// Replaces the allowed origins.
    #[serde(default)]
    pub allowed_origins: Option<Vec<String>>,
}

/// Partner status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartnerStatusView {
    /// Its credentials work.
    Active,
    /// None of its credentials work.
    Suspended,
}

/// A partner as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerView {
    /// ID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Status.
    pub status: PartnerStatusView,
    /// Allowed browser origins.
    pub allowed_origins: Vec<String>,
    /// Creation time, RFC 3339.
    pub created_at: String,
}

impl From<&PartnerRecord> for PartnerView {
    fn from(p: &PartnerRecord) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name.clone(),
            status: match p.status {
                PartnerStatus::Active => PartnerStatusView::Active,
                PartnerStatus::Suspended => PartnerStatusView::Suspended,
            },
            allowed_origins: p.allowed_origins.clone(),
            created_at: p.created_at.to_rfc3339(),
        }
    }
}

fn check_name(what: &str, name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.len() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_name",
            format!("{what} must be 1 to {MAX_NAME_LEN} characters without control characters"),
        ));
    }
    Ok(())
}

fn check_origins(origins: &[String]) -> Result<(), ApiError> {
    if origins.len() > MAX_ORIGINS {
        return Err(ApiError::bad_request(
            "invalid_origin",
            format!("at most {MAX_ORIGINS} allowed origins"),
        ));
    }
    for o in origins {
        let ok = (o.starts_with("https://") || o.starts_with("http://"))
            && !o.ends_with('/')
            && o.len() <= 256
            && o.bytes().all(|b| b.is_ascii_graphic())
            && !o["https://".len().min(o.len())..].contains('/');
        if !ok {
            return Err(ApiError::bad_request(
                "invalid_origin",
                format!(
                    "{o:?} is not an origin; give scheme and host only, such as https://app.example.com"
                ),
            ));
        }
    }
    Ok(())
}

fn partner_id(text: &str) -> Result<PartnerId, ApiError> {
    PartnerId::new(text).map_err(|e| ApiError::bad_request("invalid_id", e.to_string()))
}

async fn existing_partner(state: &AppState, id: &str) -> Result<PartnerRecord, ApiError> {
    let id = partner_id(id)?;
    state
        .store
        .partner(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no partner {id}")))
}

/// Creates a partner.
#[utoipa::path(post, path = "/admin/partners", tag = "admin",
    request_body = CreatePartner,
    responses((status = 201, body = PartnerView), (status = 400, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody)))]
pub async fn create_partner(
    State(state): State<Arc<AppState>>,
    axum::Extension(admin): axum::Extension<AdminIdentity>,
    body: Bytes,
) -> Result<(StatusCode, Json<PartnerView>), ApiError> {
    let req: CreatePartner = parse(&body)?;
    let id = partner_id(&req.id)?;
    check_name("a partner name", &req.name)?;
    check_origins(&req.allowed_origins)?;
    let record = PartnerRecord {
        id,
        name: req.name,
        status: PartnerStatus::Active,
        allowed_origins: req.allowed_origins,
        created_at: state.now(),
    };
    state.store.create_partner(&record).await?;
    state.audit_admin(&admin, "partner.create", &record.id.to_string());
    Ok((StatusCode::CREATED, Json(PartnerView::from(&record))))
}

/// Lists partners.
#[utoipa::path(get, path = "/admin/partners", tag = "admin",
    responses((status = 200, body = Vec<PartnerView>)))]
pub async fn list_partners(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<PartnerView>>, ApiError> {
    let partners = state.store.partners().await?;
    Ok(Json(partners.iter().map(PartnerView::from).collect()))
}

/// One partner.
#[utoipa::path(get, path = "/admin/partners/{partner}", tag = "admin",
    params(("partner" = String, Path, description = "Partner ID")),
    responses((status = 200, body = PartnerView), (status = 404, body = super::error::ErrorBody)))]
pub async fn get_partner(
    State(state): State<Arc<AppState>>,
    Path(partner): Path<String>,
) -> Result<Json<PartnerView>, ApiError> {
    let p = existing_partner(&state, &partner).await?;
    Ok(Json(PartnerView::from(&p)))
}

/// Suspends or reactivates a partner, or replaces its allowed origins.
#[utoipa::path(patch, path = "/admin/partners/{partner}", tag = "admin",
    params(("partner" = String, Path, description = "Partner ID")),
    request_body = UpdatePartner,
    responses((status = 200, body = PartnerView), (status = 404, body = super::error::ErrorBody)))]
pub async fn update_partner(
    State(state): State<Arc<AppState>>,
    axum::Extension(admin): axum::Extension<AdminIdentity>,
    Path(partner): Path<String>,
    body: Bytes,
) -> Result<Json<PartnerView>, ApiError> {
    let req: UpdatePartner = parse(&body)?;
    if let Some(origins) = &req.allowed_origins {
        check_origins(origins)?;
    }
    let mut p = existing_partner(&state, &partner).await?;
    if let Some(status) = req.status {
        p.status = match status {
            PartnerStatusView::Active => PartnerStatus::Active,
            PartnerStatusView::Suspended => PartnerStatus::Suspended,
        };
    }
    if let Some(origins) = req.allowed_origins {
        p.allowed_origins = origins;
    }
    state.store.update_partner(&p).await?;
    // A partner's status applies to all its credentials: drop every cached lookup.
    state.invalidate_all();
    state.audit_admin(&admin, "partner.update", p.id.as_str());
    Ok(Json(PartnerView::from(&p)))
}

// ---------------------------------------------------------------------------------------------
// Credentials

/// `live` or `test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnvironmentView {
    /// Production.
    Live,
    /// Sandbox.
    Test,
}

impl From<EnvironmentView> for Environment {
    fn from(e: EnvironmentView) -> Self {
        match e {
            EnvironmentView::Live => Self::Live,
            EnvironmentView::Test => Self::Test,
        }
    }
}

impl From<Environment> for EnvironmentView {
    fn from(e: Environment) -> Self {
        match e {
            Environment::Live => Self::Live,
            Environment::Test => Self::Test,
        }
    }
}

/// Fields every new credential has.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCredential {
    /// Unique among the partner's credentials.
    pub name: String,
    /// `live` or `test`.
    pub environment: EnvironmentView,
    /// What it may do.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Expiry, RFC 3339; must be in the future.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Free text.
    #[serde(default)]
    pub notes: String,
}

/// A new public key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadPublicKey {
    /// Name, environment, scopes, expiry, notes.
    #[serde(flatten)]
    pub common: NewCredential,
    /// `http_signature`, `altalix`, `jwt` or `qredo`.
    pub purpose: KeyPurposeView,
    /// The algorithm the key is bound to: RFC 9421 names (`ed25519`, `rsa-v1_5-sha256`,
    /// `rsa-pss-sha512`, `ecdsa-p256-sha256`) or JOSE names (`RS256`, `ES256`, `EdDSA`).
    pub algorithm: String,
    /// SPKI PEM, PKCS#1 PEM, or a JWK (as a JSON object or its text).
    #[schema(value_type = Object)]
    pub public_key: serde_json::Value,
    /// For `jwt`: the `clientId` tokens carry, which also finds the key.
    #[serde(default)]
    pub client_id: Option<String>,
    /// For `qredo`: `timestamp` (default) or `nonce`.
    #[serde(default)]
    pub qredo_mode: Option<String>,
}

/// What an uploaded public key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyPurposeView {
    /// RFC 9421 signatures.
    HttpSignature,
    /// Altalix signed payload URLs.
    Altalix,
    /// JWT partner tokens signed with the partner's private key.
    Jwt,
    /// Qredo `x-sign` (an `x-api-key` is issued with it).
    Qredo,
}

/// A new shared secret.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSecret {
    /// Name, environment, scopes, expiry, notes.
    #[serde(flatten)]
    pub common: NewCredential,
    /// `jwt_hs256` (a JWT client secret) or `smile` (a Smile API key).
    pub kind: SecretKindView,
    /// For `jwt_hs256`: the `clientId` tokens carry (default: the generated key ID).
    #[serde(default)]
    pub client_id: Option<String>,
}

/// Kind of shared secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecretKindView {
    /// HS256 client secret.
    JwtHs256,
    /// Smile HMAC key.
    Smile,
}

/// Regeneration of an API key.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Regenerate {
    /// How long the old key keeps working, seconds; 0 or absent: inert at once.
    #[serde(default)]
    pub grace_secs: u64,
}

/// A credential just created: the secret part appears here once and never again.
#[derive(Serialize, ToSchema)]
pub struct Issued {
    /// The credential as listed.
    pub credential: CredentialView,
    /// The API key (`api_key`, `qredo`) or shared secret (base64url), shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("credential", &self.credential)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// A credential as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialView {
    /// The reference to use in URLs (`purpose:id`).
    pub reference: String,
    /// The ID a client presents (`keyid`, `kid`, `clientId`); for API keys, the digest.
    pub key_id: String,
    /// Purpose.
    pub purpose: String,
    /// Partner.
    pub partner: String,
    /// Name.
    pub name: String,
    /// Notes.
    pub notes: String,
    /// `live` or `test`.
    pub environment: EnvironmentView,
    /// Scopes.
    pub scopes: Vec<String>,
    /// `active`, `not_yet_valid`, `expired` or `revoked`, now.
    pub state: String,
    /// Expiry, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Revocation time, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Algorithm, for keys and secrets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// RFC 7638 thumbprint of a public key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The visible part of an API key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Other IDs that find it (a JWT `clientId`).
    pub aliases: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Usage totals (flushed in batches, so a few seconds behind).
    pub usage: UsageView,
}

/// Usage totals.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct UsageView {
    /// Accepted requests.
    pub accepted: u64,
    /// Rejected requests.
    pub rejected: u64,
    /// Latest accepted request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used: Option<String>,
}

fn view(record: &CredentialRecord, usage: Usage, now: UnixTime) -> CredentialView {
    let state = match record.status.check(now) {
        Ok(()) => "active".to_owned(),
        Err(e) => e.code().as_str().trim_end_matches("_key").to_owned(),
    };
    let (algorithm, fingerprint, hint) = match &record.material {
        StoredMaterial::ApiKey { hint } => (None, None, Some(hint.clone())),
        StoredMaterial::Qredo {
            public_key, hint, ..
        } => (
            Some(public_key.algorithm.clone()),
            Some(public_key.fingerprint.clone()),
            Some(hint.clone()),
        ),
        StoredMaterial::HttpSignature(k)
        | StoredMaterial::Altalix(k)
        | StoredMaterial::JwtPublic(k) => {
            (Some(k.algorithm.clone()), Some(k.fingerprint.clone()), None)
        }
        StoredMaterial::JwtSecret { algorithm, .. } => (Some(algorithm.clone()), None, None),
        StoredMaterial::Smile { .. } => (Some("smile-hmac-sha256".into()), None, None),
        StoredMaterial::SecKeyPrivate { public_key, .. } => (
            Some(public_key.algorithm.clone()),
            Some(public_key.fingerprint.clone()),
            None,
        ),
    };
    CredentialView {
        reference: record.reference.to_wire(),
        key_id: record.reference.id().to_string(),
        purpose: record.reference.purpose().as_str().to_owned(),
        partner: record.partner.to_string(),
        name: record.name.clone(),
        notes: record.notes.clone(),
        environment: record.environment.into(),
        scopes: record.scopes.iter().map(str::to_owned).collect(),
        state,
        expires_at: record.status.expires_at.map(UnixTime::to_rfc3339),
        revoked_at: record.status.revoked_at.map(UnixTime::to_rfc3339),
        algorithm,
        fingerprint,
        hint,
        aliases: record.aliases.iter().map(|a| a.id().to_string()).collect(),
        created_at: record.created_at.to_rfc3339(),
        usage: UsageView {
            accepted: usage.accepted,
            rejected: usage.rejected,
            last_used: usage.last_used.map(UnixTime::to_rfc3339),
        },
    }
}

/// Validated common fields.
struct Common {
    name: String,
    notes: String,
    environment: Environment,
    scopes: Scopes,
    status: Status,
}

fn common(req: NewCredential, now: UnixTime) -> Result<Common, ApiError> {
    check_name("a credential name", &req.name)?;
    if req.notes.len() > MAX_NOTES_LEN {
        return Err(ApiError::bad_request(
            "invalid_notes",
            format!("notes are at most {MAX_NOTES_LEN} bytes"),
        ));
    }
    if req.scopes.len() > MAX_SCOPES
        || req.scopes.iter().any(|s| {
            s.is_empty() || s.len() > MAX_SCOPE_LEN || !s.bytes().all(|b| b.is_ascii_graphic())
        })
    {
        return Err(ApiError::bad_request(
            "invalid_scopes",
            format!(
                "scopes are at most {MAX_SCOPES} words of 1 to {MAX_SCOPE_LEN} visible ASCII characters"
            ),
        ));
    }
    let expires_at = match req.expires_at {
        None => None,
        Some(text) => {
            let t = UnixTime::parse_rfc3339(&text).map_err(|_| {
                ApiError::bad_request(
                    "invalid_expiry",
                    "expires_at must be an RFC 3339 time such as 2027-01-31T00:00:00Z",
                )
            })?;
            if t <= now {
                return Err(ApiError::bad_request(
                    "invalid_expiry",
                    "expires_at is in the past; give a future time",
                ));
            }
            Some(t)
        }
    };
    Ok(Common {
        name: req.name,
        notes: req.notes,
        environment: req.environment.into(),
        scopes: Scopes::new(req.scopes),
        status: Status {
            expires_at,
            ..Status::ACTIVE
        },
    })
}

fn record(
    partner: &PartnerRecord,
    reference: CredentialRef,
    c: Common,
    material: StoredMaterial,
    aliases: Vec<CredentialRef>,
    now: UnixTime,
) -> CredentialRecord {
    CredentialRecord {
        reference,
        partner: partner.id.clone(),
        environment: c.environment,
        name: c.name,
        notes: c.notes,
        scopes: c.scopes,
        status: c.status,
        created_at: now,
        material,
        aliases,
    }
}

/// Issues an API key; the key is in the response once, only its digest is stored.
#[utoipa::path(post, path = "/admin/partners/{partner}/api-keys", tag = "admin",
    params(("partner" = String, Path, description = "Partner ID")),
    request_body = NewCredential,
    responses((status = 201, body = Issued), (status = 400, body = super::error::ErrorBody),
        (status = 404, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody)))]
pub async fn issue_api_key(
    State(state): State<Arc<AppState>>,
    axum::Extension(admin): axum::Extension<AdminIdentity>,
    Path(partner): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Issued>), ApiError> {
    let req: NewCredential = parse(&body)?;
    let now = state.now();
    let c = common(req, now)?;
    let partner = existing_partner(&state, &partner).await?;
    let key = apikey::generate(&state.key_prefix, c.environment, &state.rng)
        .map_err(|_| ApiError::internal("could not generate a key"))?;
    let reference = CredentialRef::by_digest(Purpose::ApiKey, &key.digest());
    let hint = key.hint();
    let rec = record(
        &partner,
        reference,
        c,
        StoredMaterial::ApiKey { hint },
        vec![],
        now,
    );
    state.store.insert_credential(&rec).await?;
    state.audit_admin(&admin, "api_key.issue", &rec.reference.to_wire());
    Ok((
        StatusCode::CREATED,
        Json(Issued {
            credential: view(&rec, Usage::default(), now),
            secret: Some(key.expose().to_owned()),
        }),
    ))
}

fn random_id(state: &AppState, prefix: &str) -> Result<String, ApiError> {
    let mut bytes = [0u8; 12];
    ring::rand::SecureRandom::fill(&state.rng, &mut bytes)
        .map_err(|_| ApiError::internal("the system random generator failed"))?;
    let mut out = String::with_capacity(prefix.len() + 24);
    out.push_str(prefix);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    Ok(out)
}

fn upload_error(e: crate::upload::UploadError) -> ApiError {
    ApiError::bad_request("invalid_public_key", e.to_string())
}

fn key_text(value: &serde_json::Value) -> Result<String, ApiError> {
    match value {
        serde_json::Value::String(s) => Ok(s.clone()),
        serde_json::Value::Object(_) => Ok(value.to_string()),
        _ => Err(ApiError::bad_request(
            "invalid_public_key",
            "public_key is a PEM string or a JWK object",
        )),
    }
}

/// Registers a partner's public key and answers its `key_id` (and, for Qredo, the
/// `x-api-key` once).
#[utoipa::path(post, path = "/admin/partners/{partner}/public-keys", tag = "admin",
    params(("partner" = String, Path, description = "Partner ID")),
    request_body = UploadPublicKey,
    responses((status = 201, body = Issued), (status = 400, body = super::error::ErrorBody),
        (status = 404, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody)))]
pub async fn upload_public_key(
    State(state): State<Arc<AppState>>,
    axum::Extension(admin): axum::Extension<AdminIdentity>,
    Path(partner): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Issued>), ApiError> {
    let req: UploadPublicKey = parse(&body)?;
    let now = state.now();
    let text = key_text(&req.public_key)?;
    let key: PublicKeyRecord =
        crate::upload::parse_public_key(&text, &req.algorithm).map_err(upload_error)?;
    let c = common(req.common, now)?;
    let partner = existing_partner(&state, &partner).await?;
    let mut secret = None;
    let mut aliases = Vec::new();
    let (reference, material) = match req.purpose {
        KeyPurposeView::HttpSignature => (
            CredentialRef::new(Purpose::HttpSignatureKey, new_id(&state, "key_")?),
            StoredMaterial::HttpSignature(key),
        ),
        KeyPurposeView::Altalix => (
            CredentialRef::new(Purpose::AltalixKey, new_id(&state, "key_")?),
            StoredMaterial::Altalix(key),
        ),
        KeyPurposeView::Jwt => {
            let reference = CredentialRef::new(Purpose::JwtClientKey, new_id(&state, "kid_")?);
            if let Some(client) = &req.client_id {
                aliases.push(
                    CredentialRef::parse(Purpose::JwtClientKey, client)
                        .map_err(|e| ApiError::bad_request("invalid_client_id", e.to_string()))?,
                );
            }
            (reference, StoredMaterial::JwtPublic(key))
        }
        KeyPurposeView::Qredo => {
            let mode = match req.qredo_mode.as_deref() {
                None | Some("timestamp") => auth_core::credential::QredoMode::Timestamp,
                Some("nonce") => auth_core::credential::QredoMode::Nonce,
                Some(_) => {
                    return Err(ApiError::bad_request(
                        "invalid_qredo_mode",
                        "qredo_mode is timestamp or nonce",
                    ));
                }
            };
            let api_key = apikey::generate(&state.key_prefix, c.environment, &state.rng)
                .map_err(|_| ApiError::internal("could not generate a key"))?;
            let reference = CredentialRef::by_digest(Purpose::QredoKey, &api_key.digest());
            let hint = api_key.hint();
            secret = Some(api_key.expose().to_owned());
            (
                reference,
                StoredMaterial::Qredo {
                    public_key: key,
                    mode,
                    hint,
                },
            )
        }
    };
    let rec = record(&partner, reference, c, material, aliases, now);
    state.store.insert_credential(&rec).await?;
    state.audit_admin(&admin, "public_key.upload", &rec.reference.to_wire());
    Ok((
        StatusCode::CREATED,
        Json(Issued {
            credential: view(&rec, Usage::default(), now),
            secret,
        }),
    ))
}

fn new_id(state: &AppState, prefix: &str) -> Result<CredentialId, ApiError> {
    CredentialId::new(&random_id(state, prefix)?)
        .map_err(|_| ApiError::internal("could not form a key ID"))
}

/// Creates a shared secret (JWT HS256 client secret or Smile key), sealed at rest; the secret
/// is in the response once.
#[utoipa::path(post, path = "/admin/partners/{partner}/secrets", tag = "admin",
    params(("partner" = String, Path, description = "Partner ID")),
    request_body = CreateSecret,
    responses((status = 201, body = Issued), (status = 400, body = super::error::ErrorBody),
        (status = 404, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody)))]
pub async fn create_secret(
    State(state): State<Arc<AppState>>,
    axum::Extension(admin): axum::Extension<AdminIdentity>,
    Path(partner): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Issued>), ApiError> {
    let req: CreateSecret = parse(&body)?;
    let now = state.now();
    let c = common(req.common, now)?;
    let partner = existing_partner(&state, &partner).await?;
    let mut raw = zeroize::Zeroizing::new([0u8; 32]);
    ring::rand::SecureRandom::fill(&state.rng, &mut raw[..])
        .map_err(|_| ApiError::internal("the system random generator failed"))?;
    let text = zeroize::Zeroizing::new(base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &raw[..],
    ));
    let (purpose, prefix) = match req.kind {
        SecretKindView::JwtHs256 => (Purpose::JwtClientKey, "kid_"),
        SecretKindView::Smile => (Purpose::SmileKey, "smile_"),
    };
    let reference = CredentialRef::new(purpose, new_id(&state, prefix)?);
    let sealed = state
        .master
        .seal_credential(&reference, text.as_bytes())
        .map_err(|_| ApiError::internal("could not seal the secret"))?;
    let mut aliases = Vec::new();
    let material = match req.kind {
        SecretKindView::JwtHs256 => {
            if let Some(client) = &req.client_id {
                aliases.push(
                    CredentialRef::parse(Purpose::JwtClientKey, client)
                        .map_err(|e| ApiError::bad_request("invalid_client_id", e.to_string()))?,
                );
            }
            StoredMaterial::JwtSecret {
                algorithm: "HS256".into(),
                secret: sealed,
            }
        }
        SecretKindView::Smile => StoredMaterial::Smile { secret: sealed },
    };
    let rec = record(&partner, reference, c, material, aliases, now);
    state.store.insert_credential(&rec).await?;
    state.audit_admin(&admin, "secret.create", &rec.reference.to_wire());
    Ok((
        StatusCode::CREATED,
        Json(Issued {
            credential: view(&rec, Usage::default(), now),
            secret: Some(text.to_string()),
        }),
    ))
}

/// Lists a partner's credentials with status and usage.
#[utoipa::path(get, path = "/admin/partners/{partner}/credentials", tag = "admin",
    params(("partner" = String, Path, description = "Partner ID")),
    responses((status = 200, body = Vec<CredentialView>), (status = 404, body = super::error::ErrorBody)))]
pub async fn list_credentials(
    State(state): State<Arc<AppState>>,
    Path(partner): Path<String>,
) -> Result<Json<Vec<CredentialView>>, ApiError> {
    let partner = existing_partner(&state, &partner).await?;
    let now = state.now();
    let records = state.store.credentials(&partner.id).await?;
    let mut out = Vec::with_capacity(records.len());
    for r in &records {
        let usage = state.store.usage(&r.reference).await?;
        out.push(view(r, usage, now));
    }
    Ok(Json(out))
}

fn reference(text: &str) -> Result<CredentialRef, ApiError> {
    CredentialRef::from_wire(text).map_err(|_| {
        ApiError::bad_request(
            "invalid_reference",
            "a credential reference is purpose:id, as listed in `reference`",
        )
    })
}

async fn existing_credential(state: &AppState, text: &str) -> Result<CredentialRecord, ApiError> {
    let r = reference(text)?;
    state
        .store
        .credential(&r)
        .await?
        .ok_or_else(|| ApiError::not_found("no such credential"))
}

/// Revokes a credential: inert from the next request on.
#[utoipa::path(post, path = "/admin/credentials/{reference}/revoke", tag = "admin",
    params(("reference" = String, Path, description = "purpose:id")),
    responses((status = 200, body = CredentialView), (status = 404, body = super::error::ErrorBody)))]
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    axum::Extension(admin): axum::Extension<AdminIdentity>,
    Path(reference): Path<String>,
) -> Result<Json<CredentialView>, ApiError> {
    let mut rec = existing_credential(&state, &reference).await?;
    let now = state.now();
    if rec.status.revoked_at.is_none() {
        rec.status.revoked_at = Some(now);
        state.store.set_status(&rec.reference, rec.status).await?;
    }
    state.invalidate(&rec);
    state.audit_admin(&admin, "credential.revoke", &rec.reference.to_wire());
    let usage = state.store.usage(&rec.reference).await?;
    Ok(Json(view(&rec, usage, now)))
}

/// Regenerates an API key: a new key under the same name; the old one is inert at once, or
/// after `grace_secs`.
#[utoipa::path(post, path = "/admin/credentials/{reference}/regenerate", tag = "admin",
    params(("reference" = String, Path, description = "purpose:id of an API key")),
    request_body = Regenerate,
    responses((status = 201, body = Issued), (status = 400, body = super::error::ErrorBody),
        (status = 404, body = super::error::ErrorBody)))]
pub async fn regenerate(
    State(state): State<Arc<AppState>>,
    axum::Extension(admin): axum::Extension<AdminIdentity>,
    Path(reference): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Issued>), ApiError> {
    let req: Regenerate = if body.is_empty() {
        Regenerate::default()
    } else {
        parse(&body)?
    };
    const MAX_GRACE_SECS: u64 = 30 * 86_400;
    if req.grace_secs > MAX_GRACE_SECS {
        return Err(ApiError::bad_request(
            "invalid_grace",
            format!("grace_secs is at most {MAX_GRACE_SECS} (30 days)"),
        ));
    }
    let old = existing_credential(&state, &reference).await?;
    let StoredMaterial::ApiKey { .. } = old.material else {
        return Err(ApiError::bad_request(
            "not_an_api_key",
            "only API keys are regenerated; for a key pair upload the new public key and revoke the old one",
        ));
    };
    let now = state.now();
    if old.status.check(now).is_err() {
        return Err(ApiError::bad_request(
            "credential_inactive",
            "this key is revoked or expired; issue a new key instead",
        ));
    }
    let key = apikey::generate(&state.key_prefix, old.environment, &state.rng)
        .map_err(|_| ApiError::internal("could not generate a key"))?;
    let replacement = CredentialRecord {
        reference: CredentialRef::by_digest(Purpose::ApiKey, &key.digest()),
        status: Status {
            expires_at: old.status.expires_at,
            ..Status::ACTIVE
        },
        created_at: now,
        material: StoredMaterial::ApiKey { hint: key.hint() },
        aliases: vec![],
        ..old.clone()
    };
    let old_expires = now.saturating_add(std::time::Duration::from_secs(req.grace_secs));
    let old_expires = match old.status.expires_at {
        Some(t) if t < old_expires => t,
        _ => old_expires,
    };
    state
        .store
        .regenerate(&old.reference, old_expires, &replacement)
        .await?;
    state.invalidate(&old);
    state.audit_admin(&admin, "api_key.regenerate", &old.reference.to_wire());
    Ok((
        StatusCode::CREATED,
        Json(Issued {
            credential: view(&replacement, Usage::default(), now),
            secret: Some(key.expose().to_owned()),
        }),
    ))
}

// ---------------------------------------------------------------------------------------------
// Admins

/// The admin list.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminsView {
    /// Bumped by every change.
    pub version: u64,
    /// Admin public keys (Actyx key text).
    pub keys: Vec<String>,
}

/// A key to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddAdmin {
    /// An Ed25519 public key in Actyx key text (`0...`).
    pub key: String,
}

/// The admin list.
#[utoipa::path(get, path = "/admin/authorized-users", tag = "admin",
    responses((status = 200, body = AdminsView)))]
pub async fn list_admins(State(state): State<Arc<AppState>>) -> Result<Json<AdminsView>, ApiError> {
    let a = state.store.admins().await?;
    Ok(Json(AdminsView {
        version: a.version,
        keys: a.keys,
    }))
}

/// Adds an admin key.
#[utoipa::path(post, path = "/admin/authorized-users", tag = "admin",
    request_body = AddAdmin,
    responses((status = 200, body = AdminsView), (status = 400, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody)))]
pub async fn add_admin(
    State(state): State<Arc<AppState>>,
    axum::Extension(admin): axum::Extension<AdminIdentity>,
    body: Bytes,
) -> Result<Json<AdminsView>, ApiError> {
    let req: AddAdmin = parse(&body)?;
    let key = auth_core::scheme::apptrust::AxPublicKey::from_text(&req.key).map_err(|_| {
        ApiError::bad_request(
            "invalid_admin_key",
            "key is an Ed25519 public key in Actyx key text (0 followed by base64)",
        )
    })?;
    let a = state.store.admins().await?;
    let mut keys = a.keys.clone();
    let text = key.to_text();
    if keys.contains(&text) {
        return Err(ApiError::conflict("this key is already an admin"));
    }
    if keys.len() >= auth_core::scheme::apptrust::MAX_AUTHORIZED_USERS {
        return Err(ApiError::bad_request(
            "too_many_admins",
            "the admin list is full",
        ));
    }
    keys.push(text.clone());
    state.store.replace_admins(a.version, &keys).await?;
    state.audit_admin(&admin, "admin.add", &text);
    Ok(Json(AdminsView {
        version: a.version + 1,
        keys,
    }))
}

/// Removes an admin key (not the last one: that would lock everyone out or reopen trust on
/// first use).
#[utoipa::path(delete, path = "/admin/authorized-users/{key}", tag = "admin",
    params(("key" = String, Path, description = "Actyx key text")),
    responses((status = 200, body = AdminsView), (status = 404, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody)))]
pub async fn remove_admin(
    State(state): State<Arc<AppState>>,
    axum::Extension(admin): axum::Extension<AdminIdentity>,
    Path(key): Path<String>,
) -> Result<Json<AdminsView>, ApiError> {
    let a = state.store.admins().await?;
    if !a.keys.contains(&key) {
        return Err(ApiError::not_found("this key is not an admin"));
    }
    if a.keys.len() == 1 {
        return Err(ApiError::conflict(
            "cannot remove the last admin; add another admin first",
        ));
    }
    let keys: Vec<String> = a.keys.into_iter().filter(|k| *k != key).collect();
    state.store.replace_admins(a.version, &keys).await?;
    state.audit_admin(&admin, "admin.remove", &key);
    Ok(Json(AdminsView {
        version: a.version + 1,
        keys,
    }))
}
