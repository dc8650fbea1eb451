//! License keys: Base64 of an indefinite-length CBOR map `{"licenseVersion": 0, "licenseType":
//! {"expiring": {"appId", "expiresAt"}}, "createdAt", "signature", "requester": {"email"}}`;
//! the authority signs the definite-length CBOR of the first three fields.

use super::app_id::AppId;
use super::cbor::{self, Fields, Item, encode};
use super::error::{ActyxCode, AppTrustError, LicenseProblem};
use super::keytext::{AuthorityKey, decode_signature, ed25519_signer, sign_ed25519};
use crate::encoding::{b64_decode, b64_encode};
use crate::error::{Error, Result};
use crate::keys::SigningKey;
use crate::rand::SecureRandom;
use crate::time::UnixTime;

/// The app ID a node's own license names.
pub const NODE_LICENSE_APP_ID: &str = "com.actyx.node";
/// Bound on a license key's text.
pub const MAX_LICENSE_LEN: usize = 4 * 1024;
/// Bound on the requester's e-mail address.
const MAX_EMAIL_LEN: usize = 254;
/// The only license format version.
const LICENSE_VERSION: u64 = 0;

/// A time as it appears in a license: the exact RFC 3339 text (it is signed as text) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TimeText {
    text: String,
    time: UnixTime,
}

impl TimeText {
    fn from_time(time: UnixTime) -> Self {
        Self {
            text: time.to_rfc3339(),
            time,
        }
    }

    fn parse(text: String, what: &str) -> Result<Self> {
        if !text.ends_with('Z') {
            return Err(Error::malformed(format!(
                "license {what} must be RFC 3339 in UTC ending in Z"
            )));
        }
        let time = UnixTime::parse_rfc3339(&text)
            .map_err(|_| Error::malformed(format!("license {what} is not RFC 3339")))?;
        Ok(Self { text, time })
    }
}

/// An expiring license for one app ID (or for the node: [`NODE_LICENSE_APP_ID`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    app_id: AppId,
    expires_at: TimeText,
    created_at: TimeText,
    signature: [u8; 64],
    requester_email: String,
}

fn license_error(problem: LicenseProblem, message: impl Into<String>) -> AppTrustError {
    AppTrustError::license(ActyxCode::AppUnauthorized, problem, message)
}

/// The signed fields, in field order: `licenseVersion`, `licenseType`, `createdAt`.
fn signed_entries<'a>(
    app_id: &'a str,
    expires_at: &'a str,
    created_at: &'a str,
) -> Vec<(&'a str, Item<'a>)> {
    vec![
        ("licenseVersion", Item::Uint(LICENSE_VERSION)),
        (
            "licenseType",
            Item::Map(vec![(
                "expiring",
                Item::Map(vec![
                    ("appId", Item::Text(app_id)),
                    ("expiresAt", Item::Text(expires_at)),
                ]),
            )]),
        ),
        ("createdAt", Item::Text(created_at)),
    ]
}

impl License {
    /// The authority issues a license for `app_id`, valid until `expires_at`.
    pub fn issue(
        authority: &SigningKey,
        app_id: AppId,
        expires_at: UnixTime,
        created_at: UnixTime,
        requester_email: &str,
        rng: &dyn SecureRandom,
    ) -> Result<Self> {
        ed25519_signer(authority, "authority")?;
        check_email(requester_email)?;
        let expires_at = TimeText::from_time(expires_at);
        let created_at = TimeText::from_time(created_at);
        let mut license = Self {
            app_id,
            expires_at,
            created_at,
            signature: [0; 64],
            requester_email: requester_email.to_owned(),
        };
        license.signature = sign_ed25519(authority, &license.signing_bytes(), rng)?;
        Ok(license)
    }

    /// The bytes the authority signs: definite CBOR `{"licenseVersion": 0, "licenseType":
    /// {"expiring": {"appId", "expiresAt"}}, "createdAt"}`, times as their exact text.
    pub fn signing_bytes(&self) -> Vec<u8> {
        encode(&Item::Map(self.signed_entries()))
    }

    fn signed_entries(&self) -> Vec<(&str, Item<'_>)> {
        signed_entries(
            self.app_id.as_str(),
            &self.expires_at.text,
            &self.created_at.text,
        )
    }

    /// The indefinite-length CBOR map of the license key.
    pub fn to_cbor(&self) -> Vec<u8> {
        let sig = b64_encode(&self.signature);
        let mut entries = self.signed_entries();
        entries.push(("signature", Item::Text(&sig)));
        entries.push((
            "requester",
            Item::Map(vec![("email", Item::Text(&self.requester_email))]),
        ));
        encode(&Item::IndefiniteMap(entries))
    }

    /// Decodes the CBOR map (definite or indefinite; unknown fields, other license versions
    /// or types are [`crate::ErrorCode::Malformed`]). Not verified yet.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self> {
        let mut f = Fields::new(cbor::decode(bytes, "license")?, "license")?;
        if f.uint("licenseVersion")? != LICENSE_VERSION {
            return Err(Error::malformed("license: licenseVersion must be 0"));
        }
        let mut ty = f.map("licenseType", "licenseType")?;
        let mut exp = ty.map("expiring", "licenseType.expiring")?;
        ty.finish()?;
        let app_id = AppId::parse(&exp.text("appId")?)?;
        let expires_at = TimeText::parse(exp.text("expiresAt")?, "expiresAt")?;
        exp.finish()?;
        let created_at = TimeText::parse(f.text("createdAt")?, "createdAt")?;
        let signature = decode_signature(&f.text("signature")?, "license signature")?;
        let mut req = f.map("requester", "license requester")?;
        let requester_email = req.text("email")?;
        check_email(&requester_email)?;
        req.finish()?;
        f.finish()?;
        Ok(Self {
            app_id,
            expires_at,
            created_at,
            signature,
            requester_email,
        })
    }

    /// The license key text: Base64 of [`to_cbor`](Self::to_cbor).
    pub fn to_key_text(&self) -> String {
        b64_encode(&self.to_cbor())
    }

    /// Decodes a license key. Any failure is `ERR_APP_UNAUTHORIZED` with
    /// [`LicenseProblem::Malformed`].
    pub fn from_key_text(text: &str) -> Result<Self, AppTrustError> {
        if text.len() > MAX_LICENSE_LEN {
            return Err(license_error(
                LicenseProblem::Malformed,
                "license key is longer than 4 KiB",
            ));
        }
        b64_decode(text.trim(), "license key")
            .and_then(|b| Self::from_cbor(&b))
            .map_err(|e| license_error(LicenseProblem::Malformed, e.message().to_owned()))
    }

    /// Verifies the license for `expected` at `now`. Failures are `ERR_APP_UNAUTHORIZED` with:
    /// [`LicenseProblem::InvalidSignature`] (any signed field changed, or another authority),
    /// [`LicenseProblem::WrongSubject`] (license for another app ID),
    /// [`LicenseProblem::Expired`] (`now >= expiresAt`).
    pub fn verify(
        &self,
        authority: &AuthorityKey,
        expected: &AppId,
        now: UnixTime,
    ) -> Result<(), AppTrustError> {
        authority
            .verify(&self.signing_bytes(), &self.signature)
            .map_err(|_| {
                license_error(
                    LicenseProblem::InvalidSignature,
                    "the license is not signed by this authority",
                )
            })?;
        if self.app_id != *expected {
            return Err(license_error(
                LicenseProblem::WrongSubject,
                format!("the license is for {}, not {expected}", self.app_id),
            ));
        }
        if now >= self.expires_at.time {
            return Err(license_error(
                LicenseProblem::Expired,
                format!(
                    "the license for {} expired at {}",
                    self.app_id, self.expires_at.text
                ),
            ));
        }
        Ok(())
    }

    /// The licensed app ID.
    pub fn app_id(&self) -> &AppId {
        &self.app_id
    }

    /// When the license expires.
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at.time
    }

    /// When it was issued.
    pub fn created_at(&self) -> UnixTime {
        self.created_at.time
    }

    /// Who asked for it (not signed).
    pub fn requester_email(&self) -> &str {
        &self.requester_email
    }
}

fn check_email(email: &str) -> Result<()> {
    if email.len() > MAX_EMAIL_LEN || !email.contains('@') {
        return Err(Error::malformed(
            "license requester e-mail must contain '@' and be at most 254 bytes",
        ));
    }
    Ok(())
}
