//! The Actyx-style app trust chain (PROTOCOLS.md section 6): Ed25519 key text, developer
//! certificates, signed app manifests, license keys, the node licensing policy, app tokens and
//! the trust-on-first-use admin list. Byte-compatible with the formats Actyx nodes use, but
//! tied to no vendor: every check takes the authority key as an argument.
//!
//! The chain, from the top:
//!
//! 1. An **authority** (a provider runs its own; [`AuthorityKey`]) issues a
//!    [`DeveloperCertificate`] binding a developer public key to app domains (`com.acme.*`).
//! 2. The developer signs an [`AppManifest`] (`appId`, `displayName`, `version`) with its key;
//!    the manifest's `signature` carries the certificate.
//! 3. The authority issues [`License`] keys for app IDs (and for the node itself,
//!    [`NODE_LICENSE_APP_ID`]); a node's [`Licensing`] settings decide whether they are needed.
//! 4. A node that accepted a manifest issues an [`AppToken`] (bearer token) with its own key and
//!    its current epoch; a restart starts a new epoch and old tokens stop working.
//! 5. Administrative access is a list of user keys ([`AuthorizedUsers`]), trust on first use
//!    while the list is empty.
//!
//! What is signed is CBOR of a small struct: definite-length maps with keys in field order
//! (the private `cbor` module encodes exactly those shapes; decoding is bounded). Errors carry
//! the Actyx code the HTTP layer renders as `{"code", "message"}` ([`AppTrustError`]).

mod admin;
mod app_id;
mod app_token;
pub(crate) mod cbor;
mod certificate;
mod error;
mod keytext;
mod license;
mod manifest;
mod node_policy;

pub use admin::{AdminChange, AdminDecision, AuthorizedUsers, EnrolOutcome, MAX_AUTHORIZED_USERS};
pub use app_id::{AppDomain, AppId, MAX_APP_ID_LEN, MAX_LABEL_LEN, TRIAL_PREFIX};
pub use app_token::{
    AppToken, DEFAULT_TOKEN_VALIDITY, Epoch, MAX_TOKEN_LEN, TOKEN_PREFIX, TokenIssuer,
    TokenVerifier, bearer_token_from_header,
};
pub use certificate::{CertificateFile, DeveloperCertificate, MAX_APP_DOMAINS};
pub use error::{ActyxCode, AppTrustError, LicenseProblem};
pub use keytext::{
    AuthorityKey, AxPublicKey, KEY_TEXT_LEN, private_key_from_text, private_key_to_text,
    signing_key_from_text,
};
pub use license::{License, MAX_LICENSE_LEN, NODE_LICENSE_APP_ID};
pub use manifest::{
    AppManifest, AppMode, MAX_DISPLAY_NAME_LEN, MAX_MANIFEST_JSON_LEN, MAX_VERSION_LEN,
    ManifestSignature, VerifiedManifest, manifest_signing_bytes,
};
pub use node_policy::{Licensing, NodeLicensing};
