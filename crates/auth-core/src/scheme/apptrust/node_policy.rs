//! The node licensing policy (`licensing` node setting): `development` skips license checks;
//! otherwise the node's license must be valid and each signed app needs a valid license.

use super::app_id::AppId;
use super::error::{ActyxCode, AppTrustError, LicenseProblem};
use super::keytext::AuthorityKey;
use super::license::{License, MAX_LICENSE_LEN, NODE_LICENSE_APP_ID};
use super::manifest::{AppMode, VerifiedManifest};
use crate::error::{Error, ErrorCode, Result};
use crate::time::UnixTime;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Most app licenses one node setting may hold.
const MAX_APP_LICENSES: usize = 1024;
/// Bound on the settings JSON.
const MAX_SETTINGS_LEN: usize = MAX_APP_LICENSES * (MAX_LICENSE_LEN + 256);

/// The node's own licensing mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeLicensing {
    /// `"development"`: no license checks (manifest signatures are still checked).
    Development,
    /// A node license key (Base64 CBOR) that must be valid for the node subject.
    License(String),
}

/// The `licensing` setting:
/// `{"node": "development" | "<license>", "apps": {"<appId>": "<license>"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Licensing {
    node: NodeLicensing,
    apps: BTreeMap<AppId, String>,
    node_subject: AppId,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LicensingJson {
    node: String,
    #[serde(default)]
    apps: BTreeMap<AppId, String>,
}

impl Licensing {
    /// Development mode: no license checks.
    pub fn development() -> Self {
        Self::new(NodeLicensing::Development, BTreeMap::new())
    }

    /// Licensed mode with the node's license and one license per signed app.
    pub fn licensed(node_license: String, apps: BTreeMap<AppId, String>) -> Self {
        Self::new(NodeLicensing::License(node_license), apps)
    }

    fn new(node: NodeLicensing, apps: BTreeMap<AppId, String>) -> Self {
        Self {
            node,
            apps,
            node_subject: AppId(NODE_LICENSE_APP_ID.to_owned()),
        }
    }

    /// The app ID the node license must name (default [`NODE_LICENSE_APP_ID`]); a provider
    /// running its own authority may choose another.
    pub fn with_node_subject(mut self, subject: AppId) -> Self {
        self.node_subject = subject;
        self
    }

    /// Parses the setting (bounded; unknown fields and invalid app IDs rejected).
    pub fn from_json(text: &str) -> Result<Self> {
        if text.len() > MAX_SETTINGS_LEN {
            return Err(Error::new(
                ErrorCode::TooLarge,
                "licensing settings are too large",
            ));
        }
        if !crate::scheme::is_json_object(text.as_bytes()) {
            return Err(Error::malformed("licensing settings must be a JSON object"));
        }
        let json: LicensingJson = serde_json::from_str(text)
            .map_err(|e| Error::malformed(format!("licensing settings are invalid: {e}")))?;
        if json.apps.len() > MAX_APP_LICENSES {
            return Err(Error::new(
                ErrorCode::TooLarge,
                format!("licensing settings hold more than {MAX_APP_LICENSES} app licenses"),
            ));
        }
        let node = if json.node == "development" {
            NodeLicensing::Development
        } else {
            NodeLicensing::License(json.node)
        };
        Ok(Self::new(node, json.apps))
    }

    /// The node mode.
    pub fn node(&self) -> &NodeLicensing {
        &self.node
    }

    /// Checks the node's own license: in development mode always fine; otherwise failures are
    /// `ERR_NODE_UNAUTHORIZED` with the [`LicenseProblem`].
    pub fn check_node(&self, authority: &AuthorityKey, now: UnixTime) -> Result<(), AppTrustError> {
        let NodeLicensing::License(text) = &self.node else {
            return Ok(());
        };
        if text.trim().is_empty() {
            return Err(AppTrustError::license(
                ActyxCode::NodeUnauthorized,
                LicenseProblem::Missing,
                "the node has no license; set licensing.node to a license key or \"development\"",
            ));
        }
        License::from_key_text(text)
            .and_then(|l| l.verify(authority, &self.node_subject, now))
            .map_err(|e| e.with_code(ActyxCode::NodeUnauthorized))
    }

    /// Whether an app whose manifest passed may run: development mode and trial apps need no
    /// license; a signed app on a licensed node needs a valid node license
    /// (else `ERR_NODE_UNAUTHORIZED`) and a valid license for its app ID (else
    /// `ERR_APP_UNAUTHORIZED` with [`LicenseProblem::Missing`], `Malformed`,
    /// `InvalidSignature`, `WrongSubject` or `Expired`).
    pub fn authorize_app(
        &self,
        manifest: &VerifiedManifest,
        authority: &AuthorityKey,
        now: UnixTime,
    ) -> Result<(), AppTrustError> {
        if self.node == NodeLicensing::Development {
            return Ok(());
        }
        self.check_node(authority, now)?;
        if manifest.mode() == AppMode::Trial {
            return Ok(());
        }
        let text = self.apps.get(manifest.app_id()).ok_or_else(|| {
            AppTrustError::license(
                ActyxCode::AppUnauthorized,
                LicenseProblem::Missing,
                format!("no license is configured for {}", manifest.app_id()),
            )
        })?;
        License::from_key_text(text)?.verify(authority, manifest.app_id(), now)
    }
}
