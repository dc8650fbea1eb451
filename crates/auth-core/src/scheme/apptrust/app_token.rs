//! App tokens: the bearer token a node issues for a manifest that passed, and its verification
//! (issuer key, expiry, issuer epoch).
//!
//! Format (ours; the Actyx token is opaque to apps, so only the issuer must read it):
//!
//! ```text
//! axt1.<base64url(payload)>.<base64url(signature)>
//! payload   = definite CBOR map {"appId": text, "appVersion": text, "appMode": "trial"|"signed",
//!                                "created": uint ms since epoch, "validFor": uint seconds,
//!                                "epoch": uint}
//! signature = Ed25519 by the issuer key over "apptrust-token-v1\n" || payload
//! ```
//!
//! The signature is checked over the received payload bytes before the payload is decoded.
//! The context prefix keeps a token signature from ever being valid for another message
//! signed by the same node key. The epoch is a counter the service bumps on every start
//! ([`Epoch::after`]) and passes to both issuer and verifier: a restart invalidates every token
//! issued before it.

use super::app_id::AppId;
use super::cbor::{self, Fields, Item, encode};
use super::error::{ActyxCode, AppTrustError};
use super::keytext::{AxPublicKey, ed25519_signer};
use super::manifest::{AppMode, MAX_VERSION_LEN, VerifiedManifest};
use crate::encoding::{b64url_decode, b64url_encode};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::{SigningKey, VerifyingKey};
use crate::rand::SecureRandom;
use crate::time::UnixTime;
use std::time::Duration;

/// The token prefix (format version).
pub const TOKEN_PREFIX: &str = "axt1.";
/// Longest accepted token text.
pub const MAX_TOKEN_LEN: usize = 1024;
/// Default validity of a token.
pub const DEFAULT_TOKEN_VALIDITY: Duration = Duration::from_secs(24 * 3600);
/// Longest validity an issuer may be configured with.
const MAX_TOKEN_VALIDITY: Duration = Duration::from_secs(30 * 24 * 3600);
/// How far in the future a token's `created` may lie (clock skew between instances).
const MAX_FUTURE_SKEW: Duration = Duration::from_secs(60);
/// Domain separation for token signatures.
const CONTEXT: &[u8] = b"apptrust-token-v1\n";

/// The issuer's epoch: a counter the service persists and bumps on every start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Epoch(pub u64);

impl Epoch {
    /// The epoch of a first start.
    pub const FIRST: Self = Self(0);

    /// The epoch to use after a restart, given the last persisted one (`None` on first start).
    /// The service must persist the result before issuing tokens.
    pub fn after(previous: Option<Epoch>) -> Self {
        match previous {
            None => Self::FIRST,
            Some(Epoch(n)) => Self(n.saturating_add(1)),
        }
    }
}

/// A verified app token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppToken {
    /// The app ID.
    pub app_id: AppId,
    /// The app version from its manifest.
    pub app_version: String,
    /// Trial or signed.
    pub mode: AppMode,
    /// When the token was issued.
    pub created: UnixTime,
    /// How long it is valid from `created`.
    pub valid_for: Duration,
    /// The issuer epoch it was issued in.
    pub epoch: Epoch,
}

impl AppToken {
    /// When the token stops being valid.
    pub fn expires_at(&self) -> UnixTime {
        self.created.saturating_add(self.valid_for)
    }

    fn payload(&self) -> Vec<u8> {
        encode(&Item::Map(vec![
            ("appId", Item::Text(self.app_id.as_str())),
            ("appVersion", Item::Text(&self.app_version)),
            ("appMode", Item::Text(self.mode.as_str())),
            ("created", Item::Uint(self.created.as_millis())),
            ("validFor", Item::Uint(self.valid_for.as_secs())),
            ("epoch", Item::Uint(self.epoch.0)),
        ]))
    }

    fn from_payload(bytes: &[u8]) -> Result<Self> {
        let mut f = Fields::new(cbor::decode(bytes, "token payload")?, "token payload")?;
        let app_id = AppId::parse(&f.text("appId")?)?;
        let app_version = f.text("appVersion")?;
        if app_version.len() > MAX_VERSION_LEN {
            return Err(Error::malformed("token appVersion is too long"));
        }
        let mode = match f.text("appMode")?.as_str() {
            "trial" => AppMode::Trial,
            "signed" => AppMode::Signed,
            _ => return Err(Error::malformed("token appMode must be trial or signed")),
        };
        let created = UnixTime::from_millis(f.uint("created")?);
        let valid_for = Duration::from_secs(f.uint("validFor")?);
        let epoch = Epoch(f.uint("epoch")?);
        f.finish()?;
        Ok(Self {
            app_id,
            app_version,
            mode,
            created,
            valid_for,
            epoch,
        })
    }
}

fn signed_message(payload: &[u8]) -> Vec<u8> {
    [CONTEXT, payload].concat()
}

/// Issues app tokens with the node's key in its current epoch.
#[derive(Debug)]
pub struct TokenIssuer {
    key: SigningKey,
    epoch: Epoch,
    validity: Duration,
}

impl TokenIssuer {
    /// An issuer (Ed25519 key) for `epoch`, tokens valid for [`DEFAULT_TOKEN_VALIDITY`].
    pub fn new(key: SigningKey, epoch: Epoch) -> Result<Self> {
        ed25519_signer(&key, "token issuer")?;
        Ok(Self {
            key,
            epoch,
            validity: DEFAULT_TOKEN_VALIDITY,
        })
    }

    /// Another validity, 1 second to 30 days.
    pub fn with_validity(mut self, validity: Duration) -> Result<Self> {
        if validity.as_secs() == 0 || validity > MAX_TOKEN_VALIDITY {
            return Err(Error::malformed(
                "token validity must be 1 second to 30 days",
            ));
        }
        self.validity = validity;
        Ok(self)
    }

    /// The issuer's public key (what [`TokenVerifier`] needs).
    pub fn public_key(&self) -> Result<AxPublicKey> {
        ed25519_signer(&self.key, "token issuer")
    }

    /// Issues a token for a manifest that passed verification and licensing.
    pub fn issue(
        &self,
        manifest: &VerifiedManifest,
        now: UnixTime,
        rng: &dyn SecureRandom,
    ) -> Result<String> {
        let token = AppToken {
            app_id: manifest.app_id().clone(),
            app_version: manifest.version().to_owned(),
            mode: manifest.mode(),
            created: now,
            valid_for: self.validity,
            epoch: self.epoch,
        };
        let payload = token.payload();
        let sig = self.key.sign(&signed_message(&payload), rng)?;
        Ok(format!(
            "{TOKEN_PREFIX}{}.{}",
            b64url_encode(&payload),
            b64url_encode(&sig)
        ))
    }
}

/// Verifies app tokens against the issuer key and the current epoch.
#[derive(Debug)]
pub struct TokenVerifier {
    key: VerifyingKey,
    epoch: Epoch,
}

fn invalid(e: Error) -> AppTrustError {
    AppTrustError::new(ActyxCode::TokenInvalid, e)
}

impl TokenVerifier {
    /// A verifier for tokens of `issuer` in `epoch` (the service's current one).
    pub fn new(issuer: &AxPublicKey, epoch: Epoch) -> Result<Self> {
        Ok(Self {
            key: issuer.verifying_key()?,
            epoch,
        })
    }

    /// Verifies `token` at `now`:
    ///
    /// - not of the form above, too long, undecodable: `ERR_TOKEN_INVALID`
    ///   ([`ErrorCode::Malformed`], [`ErrorCode::TooLarge`]);
    /// - signature does not verify (any byte changed, another issuer): `ERR_TOKEN_UNAUTHORIZED`
    ///   ([`ErrorCode::SignatureMismatch`]);
    /// - issued in another epoch (before a restart): `ERR_TOKEN_UNAUTHORIZED`
    ///   ([`ErrorCode::InvalidToken`]);
    /// - `created` more than 60 s in the future: `ERR_TOKEN_INVALID`
    ///   ([`ErrorCode::StaleTimestamp`]);
    /// - `now >= created + validFor`: `ERR_TOKEN_EXPIRED` ([`ErrorCode::TokenExpired`]).
    pub fn verify(&self, token: &str, now: UnixTime) -> Result<AppToken, AppTrustError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(invalid(Error::new(
                ErrorCode::TooLarge,
                "token is too long",
            )));
        }
        let rest = token
            .strip_prefix(TOKEN_PREFIX)
            .ok_or_else(|| invalid(Error::malformed("token does not start with axt1.")))?;
        let (payload_b64, sig_b64) = rest
            .split_once('.')
            .ok_or_else(|| invalid(Error::malformed("token has no signature part")))?;
        let payload = b64url_decode(payload_b64, "token payload").map_err(invalid)?;
        let sig = b64url_decode(sig_b64, "token signature").map_err(invalid)?;
        if sig.len() != 64 {
            return Err(invalid(Error::malformed(
                "token signature must be 64 bytes",
            )));
        }
        self.key
            .verify(&signed_message(&payload), &sig)
            .map_err(|_| {
                AppTrustError::new(
                    ActyxCode::TokenUnauthorized,
                    Error::signature_mismatch("the token was not issued by this node"),
                )
            })?;
        let t = AppToken::from_payload(&payload).map_err(invalid)?;
        if t.epoch != self.epoch {
            return Err(AppTrustError::new(
                ActyxCode::TokenUnauthorized,
                Error::new(
                    ErrorCode::InvalidToken,
                    "the token was issued before the node restarted; get a new one",
                ),
            ));
        }
        if t.created > now.saturating_add(MAX_FUTURE_SKEW) {
            return Err(invalid(Error::new(
                ErrorCode::StaleTimestamp,
                "the token's creation time lies in the future",
            )));
        }
        if now >= t.expires_at() {
            return Err(AppTrustError::new(
                ActyxCode::TokenExpired,
                Error::new(
                    ErrorCode::TokenExpired,
                    "the token has expired; get a new one",
                ),
            ));
        }
        Ok(t)
    }
}

/// Takes the token out of an `Authorization` header value (`Bearer <token>`, scheme
/// case-insensitive). No header: `ERR_MISSING_AUTH_HEADER`; another scheme:
/// `ERR_UNSUPPORTED_AUTH_TYPE`; an empty token: `ERR_TOKEN_INVALID`. (The `access_token` query
/// parameter is the adapter's business: it is the token itself.)
pub fn bearer_token_from_header(header: Option<&str>) -> Result<&str, AppTrustError> {
    let header = header.ok_or_else(|| {
        AppTrustError::new(
            ActyxCode::MissingAuthHeader,
            Error::new(
                ErrorCode::Unauthorized,
                "send the app token as Authorization: Bearer <token>",
            ),
        )
    })?;
    let (scheme, token) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AppTrustError::new(
            ActyxCode::UnsupportedAuthType,
            Error::new(
                ErrorCode::UnsupportedAlgorithm,
                "only the Bearer authorization scheme is supported",
            ),
        ));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(invalid(Error::malformed("the Bearer token is empty")));
    }
    Ok(token)
}
