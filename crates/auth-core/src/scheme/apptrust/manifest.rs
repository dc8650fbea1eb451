//! App manifests: `{"appId", "displayName", "version", "signature"?}`. A developer signs CBOR
//! `{"app_id", "display_name", "version"}`; the `signature` field is Base64 of an
//! indefinite-length CBOR map carrying that signature and the developer's certificate.

use super::app_id::AppId;
use super::cbor::{self, Fields, Item, encode};
use super::certificate::{DeveloperCertificate, MAX_APP_DOMAINS, parse_domains};
use super::error::{ActyxCode, AppTrustError};
use super::keytext::{AuthorityKey, AxPublicKey, decode_signature, ed25519_signer, sign_ed25519};
use crate::encoding::{b64_decode, b64_encode};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::SigningKey;
use crate::rand::SecureRandom;
use serde::{Deserialize, Serialize};

/// Bound on a manifest's JSON text.
pub const MAX_MANIFEST_JSON_LEN: usize = 16 * 1024;
/// Bound on `displayName`, in bytes.
pub const MAX_DISPLAY_NAME_LEN: usize = 256;
/// Bound on `version`, in bytes.
pub const MAX_VERSION_LEN: usize = 64;
/// The only manifest signature format version.
const SIG_VERSION: u64 = 0;

/// How an app was admitted: this goes into its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppMode {
    /// Unsigned manifest under [`super::TRIAL_PREFIX`].
    Trial,
    /// Signed by a certified developer.
    Signed,
}

impl AppMode {
    /// `"trial"` or `"signed"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Trial => "trial",
            Self::Signed => "signed",
        }
    }
}

/// The CBOR bytes a developer signs: definite map `{"app_id", "display_name", "version"}`.
pub fn manifest_signing_bytes(app_id: &AppId, display_name: &str, version: &str) -> Vec<u8> {
    encode(&Item::Map(vec![
        ("app_id", Item::Text(app_id.as_str())),
        ("display_name", Item::Text(display_name)),
        ("version", Item::Text(version)),
    ]))
}

/// The decoded `signature` of a manifest: the developer's signature and its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestSignature {
    dev_signature: [u8; 64],
    certificate: DeveloperCertificate,
}

impl ManifestSignature {
    /// From its parts.
    pub fn new(dev_signature: [u8; 64], certificate: DeveloperCertificate) -> Self {
        Self {
            dev_signature,
            certificate,
        }
    }

    /// The developer's signature over [`manifest_signing_bytes`].
    pub fn dev_signature(&self) -> &[u8; 64] {
        &self.dev_signature
    }

    /// The embedded developer certificate.
    pub fn certificate(&self) -> &DeveloperCertificate {
        &self.certificate
    }

    /// Indefinite-length CBOR map `{"sig_version": 0, "dev_signature", "devPubkey",
    /// "appDomains", "axSignature"}`.
    pub fn to_cbor(&self) -> Vec<u8> {
        let dev_sig = b64_encode(&self.dev_signature);
        let key = self.certificate.dev_pubkey().to_text();
        let ax_sig = b64_encode(self.certificate.ax_signature());
        encode(&Item::IndefiniteMap(vec![
            ("sig_version", Item::Uint(SIG_VERSION)),
            ("dev_signature", Item::Text(&dev_sig)),
            ("devPubkey", Item::Text(&key)),
            (
                "appDomains",
                Item::Array(
                    self.certificate
                        .app_domains()
                        .iter()
                        .map(|d| Item::Text(d.as_str()))
                        .collect(),
                ),
            ),
            ("axSignature", Item::Text(&ax_sig)),
        ]))
    }

    /// Decodes the CBOR map (definite or indefinite length; unknown fields and any
    /// `sig_version` but 0 are [`ErrorCode::Malformed`]). Not verified yet.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self> {
        let mut f = Fields::new(
            cbor::decode(bytes, "manifest signature")?,
            "manifest signature",
        )?;
        if f.uint("sig_version")? != SIG_VERSION {
            return Err(Error::malformed(
                "manifest signature: sig_version must be 0",
            ));
        }
        let dev_signature = decode_signature(&f.text("dev_signature")?, "dev_signature")?;
        let dev_pubkey = AxPublicKey::from_text(&f.text("devPubkey")?)?;
        let domains = parse_domains(&f.text_array("appDomains", MAX_APP_DOMAINS)?)?;
        let ax_signature = decode_signature(&f.text("axSignature")?, "axSignature")?;
        f.finish()?;
        Ok(Self {
            dev_signature,
            certificate: DeveloperCertificate::from_parts(dev_pubkey, domains, ax_signature)?,
        })
    }

    /// Base64 of [`to_cbor`](Self::to_cbor): the manifest's `signature` field.
    pub fn to_base64(&self) -> String {
        b64_encode(&self.to_cbor())
    }

    /// Decodes the manifest's `signature` field.
    pub fn from_base64(text: &str) -> Result<Self> {
        if text.len() > cbor::MAX_CBOR_LEN * 4 / 3 + 4 {
            return Err(Error::new(
                ErrorCode::TooLarge,
                "manifest signature is too large",
            ));
        }
        Self::from_cbor(&b64_decode(text, "manifest signature")?)
    }
}

/// An app manifest as sent to `POST /api/v2/auth`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppManifest {
    app_id: AppId,
    display_name: String,
    version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
}

/// A manifest that passed [`AppManifest::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
///
/// Only [`AppManifest::verify`] makes one, so licensing and token issuing cannot be handed a
/// manifest that skipped verification.
pub struct VerifiedManifest {
    app_id: AppId,
    display_name: String,
    version: String,
    mode: AppMode,
    developer: Option<AxPublicKey>,
}

impl VerifiedManifest {
    /// The app ID.
    pub fn app_id(&self) -> &AppId {
        &self.app_id
    }

    /// The display name.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Trial (unsigned, `com.example.`) or signed.
    pub fn mode(&self) -> AppMode {
        self.mode
    }

    /// The developer key that signed it (signed mode only).
    pub fn developer(&self) -> Option<&AxPublicKey> {
        self.developer.as_ref()
    }
}

fn manifest_invalid(e: Error) -> AppTrustError {
    AppTrustError::new(ActyxCode::ManifestInvalid, e)
}

fn check_text_fields(display_name: &str, version: &str) -> Result<()> {
    if display_name.is_empty() || display_name.len() > MAX_DISPLAY_NAME_LEN {
        return Err(Error::malformed(format!(
            "displayName must be 1 to {MAX_DISPLAY_NAME_LEN} bytes"
        )));
    }
    if version.is_empty() || version.len() > MAX_VERSION_LEN {
        return Err(Error::malformed(format!(
            "version must be 1 to {MAX_VERSION_LEN} bytes"
        )));
    }
    Ok(())
}

impl AppManifest {
    /// An unsigned manifest; only app IDs under `com.example.` may be unsigned.
    pub fn trial(app_id: AppId, display_name: &str, version: &str) -> Result<Self> {
        check_text_fields(display_name, version)?;
        if !app_id.is_trial() {
            return Err(Error::new(
                ErrorCode::Unauthorized,
                "only app IDs under com.example. may be unsigned (trial mode)",
            ));
        }
        Ok(Self {
            app_id,
            display_name: display_name.to_owned(),
            version: version.to_owned(),
            signature: None,
        })
    }

    /// The developer signs a manifest with its key; `certificate` must be for that key and
    /// cover `app_id` (else [`ErrorCode::Unauthorized`]).
    pub fn sign(
        dev_key: &SigningKey,
        certificate: &DeveloperCertificate,
        app_id: AppId,
        display_name: &str,
        version: &str,
        rng: &dyn SecureRandom,
    ) -> Result<Self> {
        check_text_fields(display_name, version)?;
        if ed25519_signer(dev_key, "developer")? != *certificate.dev_pubkey() {
            return Err(Error::new(
                ErrorCode::Unauthorized,
                "the developer key is not the one the certificate names",
            ));
        }
        if !certificate.covers(&app_id) {
            return Err(Error::new(
                ErrorCode::Unauthorized,
                format!("app ID {app_id} is not under the certificate's app domains"),
            ));
        }
        let dev_signature = sign_ed25519(
            dev_key,
            &manifest_signing_bytes(&app_id, display_name, version),
            rng,
        )?;
        Ok(Self {
            app_id,
            display_name: display_name.to_owned(),
            version: version.to_owned(),
            signature: Some(ManifestSignature::new(dev_signature, certificate.clone()).to_base64()),
        })
    }

    /// A manifest from its raw parts (e.g. to test a foreign signature).
    pub fn from_parts(
        app_id: AppId,
        display_name: &str,
        version: &str,
        signature: Option<String>,
    ) -> Self {
        Self {
            app_id,
            display_name: display_name.to_owned(),
            version: version.to_owned(),
            signature,
        }
    }

    /// Parses the JSON body (bounded; unknown fields rejected); errors are
    /// `ERR_MANIFEST_INVALID`.
    pub fn from_json(text: &str) -> Result<Self, AppTrustError> {
        if text.len() > MAX_MANIFEST_JSON_LEN {
            return Err(manifest_invalid(Error::new(
                ErrorCode::TooLarge,
                "manifest JSON is larger than 16 KiB",
            )));
        }
        if !crate::scheme::is_json_object(text.as_bytes()) {
            return Err(manifest_invalid(Error::malformed(
                "a manifest must be a JSON object",
            )));
        }
        serde_json::from_str(text).map_err(|e| {
            manifest_invalid(Error::malformed(format!("manifest JSON is invalid: {e}")))
        })
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        serde_json::json!(self).to_string()
    }

    /// The app ID.
    pub fn app_id(&self) -> &AppId {
        &self.app_id
    }

    /// The display name.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The raw `signature` field.
    pub fn signature(&self) -> Option<&str> {
        self.signature.as_deref()
    }

    /// Verifies the manifest against `authority`. Every failure is `ERR_MANIFEST_INVALID`,
    /// with the auth-core code telling why:
    ///
    /// - unsigned outside `com.example.`: [`ErrorCode::Unauthorized`];
    /// - bad field lengths, undecodable `signature`, `sig_version` not 0: [`ErrorCode::Malformed`];
    /// - app ID not under the certificate's domains: [`ErrorCode::Unauthorized`];
    /// - `dev_signature` (any of app ID, display name, version changed) or `axSignature`
    ///   (key or domains changed) does not verify: [`ErrorCode::SignatureMismatch`].
    pub fn verify(&self, authority: &AuthorityKey) -> Result<VerifiedManifest, AppTrustError> {
        check_text_fields(&self.display_name, &self.version).map_err(manifest_invalid)?;
        let Some(sig_text) = &self.signature else {
            if !self.app_id.is_trial() {
                return Err(manifest_invalid(Error::new(
                    ErrorCode::Unauthorized,
                    format!(
                        "manifest for {} is unsigned; only app IDs under com.example. may be unsigned",
                        self.app_id
                    ),
                )));
            }
            return Ok(self.verified(AppMode::Trial, None));
        };
        let sig = ManifestSignature::from_base64(sig_text).map_err(manifest_invalid)?;
        let cert = &sig.certificate;
        if !cert.covers(&self.app_id) {
            return Err(manifest_invalid(Error::new(
                ErrorCode::Unauthorized,
                format!(
                    "app ID {} is not under the certificate's app domains",
                    self.app_id
                ),
            )));
        }
        let signed = manifest_signing_bytes(&self.app_id, &self.display_name, &self.version);
        cert.dev_pubkey()
            .verifying_key()
            .and_then(|k| k.verify(&signed, &sig.dev_signature))
            .map_err(|_| {
                manifest_invalid(Error::signature_mismatch(
                    "the developer signature (dev_signature) does not verify for this appId, displayName and version",
                ))
            })?;
        cert.verify(authority).map_err(manifest_invalid)?;
        Ok(self.verified(AppMode::Signed, Some(*cert.dev_pubkey())))
    }

    fn verified(&self, mode: AppMode, developer: Option<AxPublicKey>) -> VerifiedManifest {
        VerifiedManifest {
            app_id: self.app_id.clone(),
            display_name: self.display_name.clone(),
            version: self.version.clone(),
            mode,
            developer,
        }
    }
}
