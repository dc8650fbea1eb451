//! Restricted user tokens (Altalix `user:rate`, PROTOCOLS.md section 2): a partner's backend,
//! holding an API key with broad scopes, asks for a short-lived token whose scopes are a subset
//! of its own; the browser or app then calls the provider directly with that token.
//!
//! Format (our choice, a JWT profile): a compact JWS with header `typ` = [`TOKEN_TYPE`], signed
//! by the provider's own key (any [`JwtSigner`] algorithm; HS256 or EdDSA are typical), claims
//! `iss` (the provider), `sub` (the principal of the issuing API key), `scope` (space-separated,
//! as in OAuth 2.0), `iat`, `exp` and `jti` (128 random bits, Base64url), the ID under which a
//! token is revoked. The distinct `typ` keeps a user token from ever passing as a partner JWT
//! and the other way round. Lifetime is capped at issue and again at verification (default
//! 10 minutes).

use crate::credential::{Principal, Scheme};
use crate::encoding::b64url_encode;
use crate::error::{Error, ErrorCode, Result};
use crate::rand::SecureRandom;
use crate::scheme::jwt::{
    Claims, IatRule, JwtKey, JwtPolicy, JwtSigner, JwtVerifier, TypeRule, VerifiedJwt,
};
use crate::time::UnixTime;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

/// The `typ` header of every user token.
pub const TOKEN_TYPE: &str = "pa-user+jwt";
/// Default (and usual) lifetime cap.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// The scope that lets a token read rates.
pub const SCOPE_USER_RATE: &str = "user:rate";
/// Most scopes in one token.
pub const MAX_SCOPES: usize = 16;
/// Longest scope name.
pub const MAX_SCOPE_LEN: usize = 64;

fn check_scope(scope: &str) -> Result<()> {
    let ok = !scope.is_empty()
        && scope.len() <= MAX_SCOPE_LEN
        && scope
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::malformed(
            "a scope is 1 to 64 characters of letters, digits and `:_.-`",
        ))
    }
}

/// The body of `POST /api/auth/sessions`: `{"scopes":["user:rate"],"expires_at":"<RFC 3339>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    /// Requested scopes.
    pub scopes: Vec<String>,
    /// Requested expiry, RFC 3339.
    pub expires_at: String,
}

impl SessionRequest {
    /// Parses the JSON body (at most 4 KiB).
    pub fn from_json(text: &str) -> Result<Self> {
        if text.len() > 4096 {
            return Err(Error::new(
                ErrorCode::TooLarge,
                "the session request is too large",
            ));
        }
        if !super::is_json_object(text.as_bytes()) {
            return Err(Error::malformed(
                "the session request must be a JSON object {\"scopes\":[...],\"expires_at\":\"...\"}",
            ));
        }
        serde_json::from_str(text).map_err(|e| {
            Error::malformed(format!(
                "expected {{\"scopes\":[...],\"expires_at\":\"<RFC 3339>\"}}: {e}"
            ))
        })
    }

    /// `expires_at` as a time.
    pub fn expiry(&self) -> Result<UnixTime> {
        UnixTime::parse_rfc3339(&self.expires_at)
    }
}

/// A freshly minted token. Debug shows its ID and expiry, not the bearer token.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedUserToken {
    /// The compact token (`access_token` in the response).
    pub access_token: String,
    /// Its ID, for revocation.
    pub jti: String,
    /// Its expiry.
    pub expires_at: UnixTime,
}

impl fmt::Debug for IssuedUserToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedUserToken")
            .field("access_token", &"[redacted]")
            .field("jti", &self.jti)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

#[derive(Serialize)]
struct ScopeClaim<'a> {
    scope: &'a str,
}

/// Mints restricted tokens with the provider's key.
#[derive(Debug)]
pub struct UserTokenIssuer {
    signer: JwtSigner,
    issuer: String,
    max_lifetime: Duration,
}

impl UserTokenIssuer {
    /// `signer` is the provider's key; `issuer` goes into `iss`. Lifetime cap 10 minutes.
    pub fn new(signer: JwtSigner, issuer: impl Into<String>) -> Self {
        Self {
            signer: signer.with_type(TOKEN_TYPE),
            issuer: issuer.into(),
            max_lifetime: DEFAULT_MAX_LIFETIME,
        }
    }

    /// Another lifetime cap (use the same on the verifier).
    pub fn with_max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = max;
        self
    }

    /// Mints a token for `principal` with `scopes` (each must be one of the principal's) that
    /// expires at `expires_at` (in the future, at most the cap away).
    pub fn issue(
        &self,
        principal: &Principal,
        scopes: &[&str],
        expires_at: UnixTime,
        now: UnixTime,
        rng: &dyn SecureRandom,
    ) -> Result<IssuedUserToken> {
        // A token never mints tokens: only a partner's own credential may ask.
        if matches!(principal.scheme, Scheme::UserToken | Scheme::AppToken) {
            return Err(Error::new(
                ErrorCode::InsufficientScope,
                "tokens are issued to partner credentials only, not to tokens",
            ));
        }
        if scopes.is_empty() || scopes.len() > MAX_SCOPES {
            return Err(Error::malformed("ask for 1 to 16 scopes"));
        }
        for s in scopes {
            check_scope(s)?;
            if !principal.has_scope(s) {
                return Err(Error::new(
                    ErrorCode::InsufficientScope,
                    format!("scope `{s}` is not among the issuing API key's scopes"),
                ));
            }
        }
        if expires_at <= now {
            return Err(Error::malformed("expires_at must be in the future"));
        }
        if expires_at.abs_diff(now) > self.max_lifetime {
            return Err(Error::malformed(format!(
                "expires_at is too far away; a token lives at most {} s",
                self.max_lifetime.as_secs()
            )));
        }
        let jti = b64url_encode(&crate::rand::bytes::<16>(rng)?);
        let scope = scopes.join(" ");
        let exp = expires_at.as_secs();
        let claims = Claims {
            client_id: None,
            iss: Some(self.issuer.clone()),
            sub: Some(principal.partner.as_str().to_owned()),
            aud: None,
            iat: Some(now.as_secs()),
            nbf: None,
            exp,
            jti: Some(jti.clone()),
            custom: ScopeClaim { scope: &scope },
        };
        Ok(IssuedUserToken {
            access_token: self.signer.sign(&claims, rng)?,
            jti,
            expires_at: UnixTime::from_secs(exp),
        })
    }
}

/// Where revoked token IDs are looked up. The core keeps no state: the provider's store does.
pub trait RevocationList {
    /// Whether the token with this `jti` was revoked.
    fn is_revoked(&self, jti: &str) -> bool;
}

/// An in-memory revocation list: IDs are kept until the token they name would have expired.
#[derive(Debug, Default, Clone)]
pub struct RevokedIds {
    ids: HashMap<String, UnixTime>,
}

impl RevokedIds {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Revokes `jti` (a token expiring at `expires_at`).
    pub fn revoke(&mut self, jti: impl Into<String>, expires_at: UnixTime) {
        self.ids.insert(jti.into(), expires_at);
    }

    /// Forgets IDs of tokens that have expired anyway (past `now` plus `leeway`).
    pub fn prune(&mut self, now: UnixTime, leeway: Duration) {
        self.ids.retain(|_, exp| exp.saturating_add(leeway) >= now);
    }

    /// How many IDs are held.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

impl RevocationList for RevokedIds {
    fn is_revoked(&self, jti: &str) -> bool {
        self.ids.contains_key(jti)
    }
}

/// A verified user token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedUserToken {
    jwt: VerifiedJwt,
}

impl VerifiedUserToken {
    /// The principal it was issued to.
    pub fn subject(&self) -> &str {
        self.jwt.subject().unwrap_or_default()
    }

    /// Its scopes.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.jwt.scope().unwrap_or_default().split(' ')
    }

    /// Its ID.
    pub fn jti(&self) -> &str {
        self.jwt.jwt_id().unwrap_or_default()
    }

    /// Its expiry.
    pub fn expires_at(&self) -> UnixTime {
        self.jwt.expires_at()
    }
}

/// Verifies user tokens signed with the provider's key.
#[derive(Debug)]
pub struct UserTokenVerifier {
    jwt: JwtVerifier,
}

impl UserTokenVerifier {
    /// `key` is the provider's (public or HMAC) key, `issuer` the expected `iss`.
    pub fn new(key: JwtKey, issuer: impl Into<String>) -> Result<Self> {
        Self::with_max_lifetime(key, issuer, DEFAULT_MAX_LIFETIME)
    }

    /// With another lifetime cap (the issuer's).
    pub fn with_max_lifetime(
        key: JwtKey,
        issuer: impl Into<String>,
        max_lifetime: Duration,
    ) -> Result<Self> {
        let policy = JwtPolicy::new(IatRule::Required)
            .with_type(TypeRule::Exactly(TOKEN_TYPE.into()))
            .with_issuer(issuer)
            .with_max_lifetime(max_lifetime)
            .with_max_token_len(2048);
        Ok(Self {
            jwt: JwtVerifier::new(vec![key], policy)?,
        })
    }

    /// Checks signature, type, issuer, lifetime and expiry, then revocation, then that
    /// `required_scope` is granted. Codes: `invalid_token`, `token_expired`, `revoked_key`
    /// (the token was revoked), `insufficient_scope`.
    pub fn verify(
        &self,
        token: &str,
        required_scope: &str,
        revocations: &dyn RevocationList,
        now: UnixTime,
    ) -> Result<VerifiedUserToken> {
        let jwt = self.jwt.verify(token, now).map_err(|e| {
            // A user token for another issuer is simply not ours.
            if e.code() == ErrorCode::Unauthorized {
                Error::new(ErrorCode::InvalidToken, e.message().to_owned())
            } else {
                e
            }
        })?;
        let jti = jwt
            .jwt_id()
            .filter(|j| !j.is_empty())
            .ok_or_else(|| Error::new(ErrorCode::InvalidToken, "the token has no `jti`"))?;
        if jwt.subject().is_none_or(str::is_empty) {
            return Err(Error::new(
                ErrorCode::InvalidToken,
                "the token has no `sub`",
            ));
        }
        if revocations.is_revoked(jti) {
            return Err(Error::new(
                ErrorCode::RevokedKey,
                "this token has been revoked",
            ));
        }
        let token = VerifiedUserToken { jwt };
        if !token.scopes().any(|s| s == required_scope) {
            return Err(Error::new(
                ErrorCode::InsufficientScope,
                format!("the token does not grant `{required_scope}`"),
            ));
        }
        Ok(token)
    }
}
