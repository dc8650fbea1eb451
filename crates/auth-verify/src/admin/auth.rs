//! Who may call the admin API: requests signed (RFC 9421, Ed25519, nonce required) with an
//! admin key whose Actyx key text is the `keyid`. Signature checking is auth-http's layer over
//! a resolver that knows only admin keys (so no partner credential can ever sign as an admin);
//! authorization is auth-core's `AuthorizedUsers` policy over the stored list: trust on first
//! use while it is empty, enrolment a compare-and-set in the store, so two racing first
//! callers enrol exactly one key.

use auth_core::apikey::Environment;
use auth_core::credential::{Credential, CredentialRef, Material, Purpose};
use auth_core::scheme::apptrust::{AdminDecision, AuthorizedUsers, AxPublicKey};
use auth_http::BoxFuture;
use auth_http::server::{
    Accept, AuthConfig, AuthLayer, KeyResolver, Lookup, MemoryReplayStore, Route, Routes,
};
use std::sync::Arc;

use crate::store::{Store, StoreError};

/// The partner ID admin principals carry inside the admin layer (never seen by partner routes).
pub const ADMIN_PARTNER: &str = "admin";
/// Path prefix of the admin API.
pub const ADMIN_PREFIX: &str = "/admin";
/// `/v1/verify` calls may be admin-signed too (to see explanations of any credential).
const VERIFY_PATH: &str = "/v1/verify";

/// The verified admin behind a request (a request extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminIdentity {
    /// The admin's public key, Actyx key text.
    pub key: String,
    /// Whether this request enrolled the key (trust on first use).
    pub enrolled: bool,
}

/// Resolves a `keyid` that is an Ed25519 public key in Actyx key text to that key. The key
/// proves itself by the signature; whether it may act is decided afterwards.
struct AdminKeyResolver;

impl KeyResolver for AdminKeyResolver {
    fn resolve<'a>(&'a self, reference: &'a CredentialRef) -> BoxFuture<'a, Lookup> {
        Box::pin(async move {
            if reference.purpose() != Purpose::HttpSignatureKey {
                return Ok(None);
            }
            let Ok(key) = AxPublicKey::from_text(reference.id().as_str()) else {
                return Ok(None);
            };
            let Ok(verifying) = key.verifying_key() else {
                return Ok(None);
            };
            Ok(Credential::new(
                ADMIN_PARTNER,
                reference.id().as_str(),
                Environment::Live,
                Material::HttpSignature(Arc::new(verifying)),
            )
            .ok()
            .map(Arc::new))
        })
    }
}

/// The layer that checks admin signatures on every `/admin` path. Admins are told precisely
/// why a signature failed (they hold the key; the details help them fix their client).
pub fn admin_layer() -> Result<AuthLayer, auth_core::Error> {
    let routes = Routes::new()
        .prefix(ADMIN_PREFIX, Route::new().accept(Accept::http_signature()))
        .exact(VERIFY_PATH, Route::new().accept(Accept::http_signature()));
    // Admin requests never carry API keys; the prefix only fills the configuration.
    let prefix = auth_core::apikey::KeyPrefix::new("admin")?;
    let mut config = AuthConfig::new(prefix, routes);
    config.disclosure = auth_http::server::Disclosure::Detailed;
    Ok(AuthLayer::new(
        config,
        Arc::new(AdminKeyResolver),
        Arc::new(MemoryReplayStore::new(100_000, 10_000)),
    ))
}

/// Why an admin was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminAuthError {
    /// The key is not in `authorizedUsers`.
    #[error("this admin key is not authorized; an authorized admin must add it first")]
    NotAuthorized,
    /// The store could not answer.
    #[error("the registry is unavailable; try again")]
    Unavailable,
    /// The stored list is unreadable.
    #[error("the stored admin list is corrupt")]
    Corrupt,
}

/// Decides whether the verified `key` may act, enrolling it if the list is empty.
pub async fn authorize(store: &dyn Store, key: &str) -> Result<AdminIdentity, AdminAuthError> {
    let presented = AxPublicKey::from_text(key).map_err(|_| AdminAuthError::NotAuthorized)?;
    // A lost compare-and-set means someone changed the list: decide again on the new list.
    for _ in 0..4 {
        let stored = store.admins().await.map_err(store_error)?;
        let keys = stored
            .keys
            .iter()
            .map(|k| AxPublicKey::from_text(k))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| AdminAuthError::Corrupt)?;
        let list =
            AuthorizedUsers::new(stored.version, keys).map_err(|_| AdminAuthError::Corrupt)?;
        match list.decide(&presented) {
            AdminDecision::Allowed => {
                return Ok(AdminIdentity {
                    key: key.to_owned(),
                    enrolled: false,
                });
            }
            AdminDecision::Denied(_) => return Err(AdminAuthError::NotAuthorized),
            AdminDecision::Enrol(change) => {
                let texts: Vec<String> = change.new_keys.iter().map(|k| k.to_text()).collect();
                match store.replace_admins(change.expected_version, &texts).await {
                    Ok(()) => {
                        return Ok(AdminIdentity {
                            key: key.to_owned(),
                            enrolled: true,
                        });
                    }
                    Err(StoreError::Conflict(_)) => continue,
                    Err(e) => return Err(store_error(e)),
                }
            }
        }
    }
    Err(AdminAuthError::Unavailable)
}

fn store_error(e: StoreError) -> AdminAuthError {
    match e {
        StoreError::Corrupt(_) => AdminAuthError::Corrupt,
        _ => AdminAuthError::Unavailable,
    }
}

/// Lets an admin-signed `/v1/verify` call see explanations of any credential. Read-only: it
/// never enrols (trust on first use happens on `/admin` only).
pub struct AdminExplain {
    store: Arc<dyn Store>,
    layer: AuthLayer,
}

impl AdminExplain {
    /// Checks signatures with `layer` (from [`admin_layer`]) against the admins in `store`.
    pub fn new(store: Arc<dyn Store>, layer: AuthLayer) -> Self {
        Self { store, layer }
    }
}

impl crate::gateway::ExplainPolicy for AdminExplain {
    fn is_admin<'a>(
        &'a self,
        parts: &'a http::request::Parts,
        body: &'a [u8],
    ) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            if !parts.headers.contains_key("signature-input") {
                return false;
            }
            let Ok(Some(principal)) = self.layer.authenticate(parts, body).await else {
                return false;
            };
            match self.store.admins().await {
                Ok(list) => list
                    .keys
                    .iter()
                    .any(|k| k == principal.credential.id().as_str()),
                Err(_) => false,
            }
        })
    }
}
