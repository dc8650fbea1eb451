//! The one credential model every scheme and every store share: who a credential belongs to
//! (partner), what it is called (credential ID), what it may do (scopes), where it works
//! (environment), when it works (status) and the one thing it is for (purpose), plus the
//! verified [`Principal`] a request gets. A credential is never accepted for another purpose:
//! a Qredo `x-api-key` is not a bearer key, a user token is not its partner.

use crate::apikey::{ApiKeyDigest, PresentedKey};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::VerifyingKey;
use crate::scheme::jwt::JwtKey;
use crate::scheme::smile::SmileKey;
use crate::secret::ct_eq;
use crate::time::UnixTime;
use std::fmt;
use std::sync::Arc;

pub use crate::apikey::Environment;

/// Longest partner ID or credential ID accepted anywhere (bytes). Longer IDs are refused
/// before any lookup, so a caller cannot fill caches with large keys.
pub const MAX_ID_LEN: usize = 128;

fn check_id(text: &str, what: &'static str) -> Result<()> {
    if text.is_empty() || text.len() > MAX_ID_LEN {
        return Err(Error::new(
            if text.is_empty() {
                ErrorCode::Malformed
            } else {
                ErrorCode::TooLarge
            },
            format!("a {what} has 1 to {MAX_ID_LEN} bytes"),
        ));
    }
    if !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::malformed(format!(
            "a {what} is visible ASCII without spaces"
        )));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Validates `text`: 1 to [`MAX_ID_LEN`] bytes of visible ASCII.
            pub fn new(text: &str) -> Result<Self> {
                check_id(text, $what)?;
                Ok(Self(Arc::from(text)))
            }

            /// The text form.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), &*self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A partner's stable identifier (Smile's `partner_id`, a UUID, a slug).
    PartnerId,
    "partner ID"
);
id_type!(
    /// A credential's public identifier: a key ID, a client ID, a token ID, or for secret
    /// bearer keys the hex digest of the key (never the key itself).
    CredentialId,
    "credential ID"
);

/// The one thing a credential is for. Resolvers are asked for a purpose and a credential of
/// another purpose never answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Purpose {
    /// A bearer API key (`Authorization: Bearer` / `x-api-key` alone), found by its digest.
    ApiKey,
    /// A Qredo `x-api-key` bound to the partner's RSA public key: valid only together with an
    /// `x-sign` made with that key, never alone. Found by the digest of the `x-api-key`.
    QredoKey,
    /// A key registered under a `keyid` for RFC 9421 HTTP message signatures.
    HttpSignatureKey,
    /// An RSA public key registered under an Altalix `key_id` (signed payload URLs).
    AltalixKey,
    /// A JWT partner-token key (client secret or public key), found by `kid` or `clientId`.
    JwtClientKey,
    /// A Smile partner key (HMAC "Signature" method), found by `partner_id`.
    SmileKey,
    /// The provider's own token-signing key (restricted user tokens, app tokens); it never
    /// authenticates a request by itself.
    ProviderTokenKey,
    /// A restricted user token (Altalix `user:rate`) the provider issued: not its partner.
    UserToken,
    /// An app token (Actyx-style) the provider issued to an app.
    AppToken,
}

impl Purpose {
    /// Every purpose, in a fixed order.
    pub const ALL: [Self; 9] = [
        Self::ApiKey,
        Self::QredoKey,
        Self::HttpSignatureKey,
        Self::AltalixKey,
        Self::JwtClientKey,
        Self::SmileKey,
        Self::ProviderTokenKey,
        Self::UserToken,
        Self::AppToken,
    ];

    /// The stable text form (`api_key`, `qredo_key`, ...), used in cache keys, replay keys,
    /// invalidation messages and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::QredoKey => "qredo_key",
            Self::HttpSignatureKey => "http_signature_key",
            Self::AltalixKey => "altalix_key",
            Self::JwtClientKey => "jwt_client_key",
            Self::SmileKey => "smile_key",
            Self::ProviderTokenKey => "provider_token_key",
            Self::UserToken => "user_token",
            Self::AppToken => "app_token",
        }
    }

    /// The purpose named `text`.
    pub fn parse(text: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == text)
            .ok_or_else(|| Error::malformed("unknown credential purpose"))
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a credential is looked up and invalidated: its purpose and the identifier presented
/// for it. The same reference that finds a credential invalidates its cache entries (and is
/// the payload of cross-instance invalidation messages).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CredentialRef {
    purpose: Purpose,
    id: CredentialId,
}

impl CredentialRef {
    /// A reference by purpose and ID.
    pub fn new(purpose: Purpose, id: CredentialId) -> Self {
        Self { purpose, id }
    }

    /// A reference by purpose and ID text; the ID is validated (length, charset) first, so
    /// an over-long or odd ID is refused before any lookup.
    pub fn parse(purpose: Purpose, id: &str) -> Result<Self> {
        Ok(Self::new(purpose, CredentialId::new(id)?))
    }

    /// The reference of a bearer API key or a Qredo `x-api-key`: its digest, never its text.
    pub fn by_digest(purpose: Purpose, digest: &ApiKeyDigest) -> Self {
        // 64 lowercase hex digits always pass the ID check; one allocation on the hot path.
        let hex = digest_hex(digest);
        let text = std::str::from_utf8(&hex).unwrap_or_default();
        Self::new(purpose, CredentialId(Arc::from(text)))
    }

    /// The purpose.
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// The ID.
    pub fn id(&self) -> &CredentialId {
        &self.id
    }

    /// The canonical text `<purpose>:<id>` (IDs are visible ASCII, purposes have no `:`).
    pub fn to_wire(&self) -> String {
        format!("{}:{}", self.purpose, self.id)
    }

    /// Parses [`CredentialRef::to_wire`]'s form.
    pub fn from_wire(text: &str) -> Result<Self> {
        let (purpose, id) = text
            .split_once(':')
            .ok_or_else(|| Error::malformed("a credential reference is <purpose>:<id>"))?;
        Self::parse(Purpose::parse(purpose)?, id)
    }
}

impl fmt::Debug for CredentialRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CredentialRef({}:{})", self.purpose, self.id)
    }
}

impl fmt::Display for CredentialRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.purpose, self.id)
    }
}

/// Lowercase hex of a digest, on the stack.
fn digest_hex(digest: &ApiKeyDigest) -> [u8; 64] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, b) in digest.as_bytes().iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 15)];
    }
    out
}

/// When a credential works: not before, expires at, revoked at. Checked against `now` for
/// every kind of credential, each failure with its own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status {
    /// It does not work before this time.
    pub not_before: Option<UnixTime>,
    /// It stops working at this time.
    pub expires_at: Option<UnixTime>,
    /// It was revoked (or rotated away) at this time; inert from then on.
    pub revoked_at: Option<UnixTime>,
}

impl Status {
    /// Valid from now on, with no expiry.
    pub const ACTIVE: Self = Self {
        not_before: None,
        expires_at: None,
        revoked_at: None,
    };

    /// [`ErrorCode::RevokedKey`], [`ErrorCode::ExpiredKey`] or [`ErrorCode::NotYetValid`],
    /// in that order, or `Ok` when the credential works at `now`.
    pub fn check(&self, now: UnixTime) -> Result<()> {
        if self.revoked_at.is_some_and(|at| at <= now) {
            return Err(Error::new(
                ErrorCode::RevokedKey,
                "the credential was revoked or replaced; use the current one",
            ));
        }
        if self.expires_at.is_some_and(|at| at <= now) {
            return Err(Error::new(
                ErrorCode::ExpiredKey,
                "the credential has expired; issue a new one",
            ));
        }
        if self.not_before.is_some_and(|at| at > now) {
            return Err(Error::new(
                ErrorCode::NotYetValid,
                "the credential is not valid yet; check its start time and your clock",
            ));
        }
        Ok(())
    }
}

/// What a credential may do. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(Arc<[String]>);

impl Scopes {
    /// No scopes.
    pub fn none() -> Self {
        Self::default()
    }

    /// These scopes.
    pub fn new<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self(scopes.into_iter().map(Into::into).collect())
    }

    /// Whether `scope` is one of them.
    pub fn has(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    /// Each scope.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<S: Into<String>> FromIterator<S> for Scopes {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Self::new(iter)
    }
}

/// How a Qredo key proves freshness. Each key is bound to one mode, so a request captured in
/// one mode cannot be replayed in the other (the two sign the same bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QredoMode {
    /// `x-timestamp` within the window; each signed request is accepted once.
    #[default]
    Timestamp,
    /// `x-nonce`, strictly increasing per key.
    Nonce,
}

/// The key material of a credential; its variant is its purpose.
#[derive(Clone)]
pub enum Material {
    /// A bearer API key: only its digest.
    ApiKey(ApiKeyDigest),
    /// A Qredo `x-api-key` (its digest) bound to the partner's public key and one mode.
    Qredo {
        /// Digest of the `x-api-key`.
        api_key: ApiKeyDigest,
        /// The RSA public key that `x-sign` must verify under.
        public_key: Arc<VerifyingKey>,
        /// The freshness mode this key uses.
        mode: QredoMode,
    },
    /// An RFC 9421 key (public key or HMAC secret), bound to its algorithm.
    HttpSignature(Arc<VerifyingKey>),
    /// An Altalix RSA public key.
    Altalix(Arc<VerifyingKey>),
    /// A JWT key (bound to its algorithm, and to a `kid` / `clientId` when configured).
    Jwt(Arc<JwtKey>),
    /// A Smile HMAC key.
    Smile(Arc<SmileKey>),
}

impl Material {
    /// The purpose this material serves.
    pub fn purpose(&self) -> Purpose {
        match self {
            Self::ApiKey(_) => Purpose::ApiKey,
            Self::Qredo { .. } => Purpose::QredoKey,
            Self::HttpSignature(_) => Purpose::HttpSignatureKey,
            Self::Altalix(_) => Purpose::AltalixKey,
            Self::Jwt(_) => Purpose::JwtClientKey,
            Self::Smile(_) => Purpose::SmileKey,
        }
    }
}

impl fmt::Debug for Material {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Public keys are not secret, but HMAC keys inside VerifyingKey/JwtKey/SmileKey are:
        // print the purpose only.
        write!(f, "Material({})", self.purpose())
    }
}

/// A registered credential, as a store keeps it and a resolver returns it.
#[derive(Debug, Clone)]
pub struct Credential {
    /// Whose it is.
    pub partner: PartnerId,
    /// Its public ID (key ID, client ID, or a bearer key's digest).
    pub id: CredentialId,
    /// Where it works. A route may require one environment; a deployment serves both.
    pub environment: Environment,
    /// What it may do.
    pub scopes: Scopes,
    /// When it works.
    pub status: Status,
    /// Its key material, which fixes its purpose.
    pub material: Material,
}

impl Credential {
    /// A credential of `partner` named `id`, active, without scopes.
    pub fn new(
        partner: &str,
        id: &str,
        environment: Environment,
        material: Material,
    ) -> Result<Self> {
        Ok(Self {
            partner: PartnerId::new(partner)?,
            id: CredentialId::new(id)?,
            environment,
            scopes: Scopes::none(),
            status: Status::ACTIVE,
            material,
        })
    }

    /// A bearer API key of `partner`, named by its digest.
    pub fn api_key(partner: &str, digest: ApiKeyDigest, environment: Environment) -> Result<Self> {
        Self::new(
            partner,
            &digest.to_hex(),
            environment,
            Material::ApiKey(digest),
        )
    }

    /// The same credential with `scopes`.
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Scopes::new(scopes);
        self
    }

    /// The same credential with `status`.
    pub fn with_status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }

    /// The purpose (from the material).
    pub fn purpose(&self) -> Purpose {
        self.material.purpose()
    }

    /// Checks that this credential serves `purpose` and is valid at `now`. A credential of
    /// another purpose is reported as unknown: the caller learns nothing about what exists.
    pub fn check_usable(&self, purpose: Purpose, now: UnixTime) -> Result<()> {
        if self.purpose() != purpose {
            return Err(unknown_credential());
        }
        self.status.check(now)
    }

    /// For a bearer API key or a Qredo key: checks `digest`, the presented key's digest the
    /// caller already computed to find this credential, against the stored one (constant
    /// time), and the environment the key text names (ours name one).
    pub fn check_presented_key(
        &self,
        presented: &PresentedKey<'_>,
        digest: &ApiKeyDigest,
    ) -> Result<()> {
        let stored = match &self.material {
            Material::ApiKey(d) | Material::Qredo { api_key: d, .. } => d,
            _ => return Err(unknown_credential()),
        };
        if !ct_eq(digest.as_bytes(), stored.as_bytes()) {
            return Err(unknown_credential());
        }
        if let PresentedKey::Issued { env, .. } = presented
            && *env != self.environment
        {
            return Err(Error::new(
                ErrorCode::Unauthorized,
                "the key's environment does not match its registration",
            ));
        }
        Ok(())
    }

    /// The reference this credential is found and invalidated under.
    pub fn reference(&self) -> CredentialRef {
        match &self.material {
            // Registered under its digest; usually its ID already is that digest.
            Material::ApiKey(d) | Material::Qredo { api_key: d, .. }
                if self.id.as_str().as_bytes() != digest_hex(d) =>
            {
                CredentialRef::by_digest(self.purpose(), d)
            }
            _ => CredentialRef::new(self.purpose(), self.id.clone()),
        }
    }
}

/// The one answer for "no such credential", whatever the reason (absent, other purpose,
/// digest mismatch): it does not tell a caller what exists.
pub fn unknown_credential() -> Error {
    Error::new(
        ErrorCode::UnknownKey,
        "the credential is not recognised; check the key or key ID you were issued",
    )
}

/// Which scheme authenticated a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// A bearer API key (`Authorization: Bearer` or `x-api-key` alone).
    ApiKey,
    /// Qredo `x-api-key` + `x-timestamp`/`x-nonce` + `x-sign`.
    Qredo,
    /// RFC 9421 HTTP message signatures.
    HttpSignature,
    /// An Altalix signed payload URL.
    Altalix,
    /// A JWT partner token.
    Jwt,
    /// Smile "Signature" (headers or JSON body fields).
    Smile,
    /// A restricted user token (Altalix `user:rate`).
    UserToken,
    /// An Actyx-style app token.
    AppToken,
}

impl Scheme {
    /// A stable name for logs, metrics and configuration.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::Qredo => "qredo",
            Self::HttpSignature => "http_signature",
            Self::Altalix => "altalix",
            Self::Jwt => "jwt",
            Self::Smile => "smile",
            Self::UserToken => "user_token",
            Self::AppToken => "app_token",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verified caller of a request, built only from verified facts: the registered
/// credential (never a token's unverified claim) or a token the provider itself issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The partner (for app tokens: the app ID).
    pub partner: PartnerId,
    /// The credential that verified, typed by its purpose.
    pub credential: CredentialRef,
    /// The scheme it was presented with.
    pub scheme: Scheme,
    /// What the request may do.
    pub scopes: Scopes,
    /// The environment of the credential.
    pub environment: Environment,
    /// When the credential (or token) stops working, if it does.
    pub expires_at: Option<UnixTime>,
}

impl Principal {
    /// The principal of `credential` presented with `scheme`; for bearer keys the credential
    /// ID is the key's digest, never the key.
    pub fn of(credential: &Credential, scheme: Scheme) -> Self {
        Self {
            partner: credential.partner.clone(),
            credential: credential.reference(),
            scheme,
            scopes: credential.scopes.clone(),
            environment: credential.environment,
            expires_at: credential.status.expires_at,
        }
    }

    /// Whether the request may do `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.has(scope)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    const T0: UnixTime = UnixTime::from_secs(1_700_000_000);

    #[test]
    fn status_codes_are_distinct() {
        let later = T0.saturating_add(Duration::from_secs(10));
        let s = |nb, exp, rev| Status {
            not_before: nb,
            expires_at: exp,
            revoked_at: rev,
        };
        assert!(s(None, None, None).check(T0).is_ok());
        assert_eq!(
            s(Some(later), None, None).check(T0).unwrap_err().code(),
            ErrorCode::NotYetValid
        );
        assert_eq!(
            s(None, Some(T0), None).check(T0).unwrap_err().code(),
            ErrorCode::ExpiredKey
        );
        assert_eq!(
            s(None, Some(later), Some(T0)).check(T0).unwrap_err().code(),
            ErrorCode::RevokedKey
        );
        // Revocation in the future (a grace period) has not happened yet.
        assert!(s(None, None, Some(later)).check(T0).is_ok());
    }

    #[test]
    fn ids_are_bounded_and_refs_round_trip() {
        assert!(CredentialId::new("").is_err());
        assert_eq!(
            CredentialId::new(&"k".repeat(MAX_ID_LEN + 1))
                .unwrap_err()
                .code(),
            ErrorCode::TooLarge
        );
        assert!(CredentialId::new("a b").is_err());
        let r = CredentialRef::parse(Purpose::HttpSignatureKey, "key-1:x").unwrap();
        assert_eq!(r.to_wire(), "http_signature_key:key-1:x");
        assert_eq!(CredentialRef::from_wire(&r.to_wire()).unwrap(), r);
        for p in Purpose::ALL {
            assert_eq!(Purpose::parse(p.as_str()).unwrap(), p);
        }
    }

    #[test]
    fn a_credential_serves_only_its_purpose() {
        let digest = ApiKeyDigest::of("some-opaque-qredo-key-text");
        let c = Credential {
            partner: PartnerId::new("p1").unwrap(),
            id: CredentialId::new("q1").unwrap(),
            environment: Environment::Live,
            scopes: Scopes::none(),
            status: Status::ACTIVE,
            material: Material::ApiKey(digest),
        };
        assert!(c.check_usable(Purpose::ApiKey, T0).is_ok());
        assert_eq!(
            c.check_usable(Purpose::QredoKey, T0).unwrap_err().code(),
            ErrorCode::UnknownKey
        );
    }
}
