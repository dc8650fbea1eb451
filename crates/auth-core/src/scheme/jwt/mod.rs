//! JWT partner tokens (the seed's "Authentication" document, PROTOCOLS.md section 4): minting
//! and verifying compact JWS tokens with HS256/384/512, RS256/384/512, PS256/384/512, ES256
//! and EdDSA.
//!
//! The algorithm belongs to the key ([`JwtKey`]); a token's `alg` is only compared with it.
//! Verification is two-phase: [`parse`] pulls out `kid` and `clientId` so the caller can find
//! the key, then [`verify`] checks signature and claims at a given `now`. [`JwtVerifier`] does
//! both for a fixed key set and is the fast path: keys are prepared once (HMAC key schedule,
//! parsed public key) and reused for every token.
//!
//! Every rejection is [`ErrorCode::InvalidToken`], [`ErrorCode::TokenExpired`] or
//! [`ErrorCode::Unauthorized`] (a valid token for another client, audience or issuer), with a
//! message naming the check that failed.

mod claims;
pub mod jws;

pub use claims::{Audience, Claims, MAX_AUDIENCES, NoCustomClaims, SEED_LIFETIME_SECS};
pub use jws::{Algorithm, DEFAULT_MAX_TOKEN_LEN, Header};

use crate::error::{Error, ErrorCode, Result};
use crate::keys::{HmacSecret, PrivateKey, PublicKey, SigningKey, VerifyingKey};
use crate::rand::SecureRandom;
use crate::time::UnixTime;
use claims::{Registered, Span};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// Default clock leeway for `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// Default maximum lifetime (`exp - iat`), before leeway.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(15 * 60);

pub(crate) fn invalid(message: impl Into<Cow<'static, str>>) -> Error {
    Error::new(ErrorCode::InvalidToken, message)
}

fn unauthorized(message: impl Into<Cow<'static, str>>) -> Error {
    Error::new(ErrorCode::Unauthorized, message)
}

/// Whether JSON nests at most [`jws::MAX_JSON_DEPTH`] levels (strings are skipped).
pub(crate) fn depth_ok(json: &[u8]) -> bool {
    // Fewer opening brackets than the limit cannot nest deeper than it (a vectorised count).
    if json.iter().filter(|&&b| b == b'{' || b == b'[').count() <= jws::MAX_JSON_DEPTH {
        return true;
    }
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    for &b in json {
        if in_str {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > jws::MAX_JSON_DEPTH {
                    return false;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// Whether `iat` must be present. The seed profile always sends it; RFC 7515's examples do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IatRule {
    /// `iat` must be present (the default; the lifetime is `exp - iat`).
    Required,
    /// `iat` may be absent; then the remaining lifetime `exp - now` is capped instead.
    Optional,
}

/// What the `typ` header must say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRule {
    /// Absent, or `JWT` in any case (partner tokens; the default).
    JwtOrAbsent,
    /// Exactly this value (ASCII case-insensitive). Distinct token kinds use distinct types so
    /// one kind can never be replayed as another.
    Exactly(Cow<'static, str>),
}

impl TypeRule {
    fn check(&self, typ: Option<&str>) -> Result<()> {
        let ok = match (self, typ) {
            (Self::JwtOrAbsent, None) => true,
            (Self::JwtOrAbsent, Some(t)) => t.eq_ignore_ascii_case("JWT"),
            (Self::Exactly(want), Some(t)) => t.eq_ignore_ascii_case(want),
            (Self::Exactly(_), None) => false,
        };
        if ok {
            Ok(())
        } else {
            Err(invalid(
                "the `typ` header is not the token type this verifier accepts",
            ))
        }
    }
}

/// The checks a verifier applies to claims. Defaults are the strictest: `exp` and `iat`
/// required, 30 s leeway, 15 min maximum lifetime, tokens with an `aud` refused unless an
/// audience is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtPolicy {
    iat: IatRule,
    leeway: Duration,
    max_lifetime: Duration,
    audience: Option<Vec<String>>,
    issuer: Option<String>,
    typ: TypeRule,
    max_token_len: usize,
}

impl Default for JwtPolicy {
    fn default() -> Self {
        Self::new(IatRule::Required)
    }
}

impl JwtPolicy {
    /// A policy with the given `iat` rule and every other check at its default.
    pub fn new(iat: IatRule) -> Self {
        Self {
            iat,
            leeway: DEFAULT_LEEWAY,
            max_lifetime: DEFAULT_MAX_LIFETIME,
            audience: None,
            issuer: None,
            typ: TypeRule::JwtOrAbsent,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
        }
    }

    /// Clock leeway for `exp`, `nbf` and `iat` (at most 5 minutes).
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.min(Duration::from_secs(300));
        self
    }

    /// Maximum lifetime: `exp - iat` (or `exp - now` without `iat`) may not exceed it plus leeway.
    pub fn with_max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = max;
        self
    }

    /// Requires `aud` to contain one of `audiences`.
    pub fn with_audience<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audience = Some(audiences.into_iter().map(Into::into).collect());
        self
    }

    /// Requires `iss` to equal `issuer`.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Requires the `typ` header to follow `rule`.
    pub fn with_type(mut self, rule: TypeRule) -> Self {
        self.typ = rule;
        self
    }

    /// Largest token accepted (capped at [`jws::ABSOLUTE_MAX_TOKEN_LEN`]).
    pub fn with_max_token_len(mut self, len: usize) -> Self {
        self.max_token_len = len.min(jws::ABSOLUTE_MAX_TOKEN_LEN);
        self
    }

    /// The leeway.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    fn check_claims(&self, c: &Registered, payload: &str, now: UnixTime) -> Result<()> {
        let leeway = self.leeway;
        let exp = c
            .exp
            .map(UnixTime::from_secs)
            .ok_or_else(|| invalid("the token has no `exp` claim; every token must expire"))?;
        if now > exp.saturating_add(leeway) {
            return Err(Error::new(
                ErrorCode::TokenExpired,
                "the token has expired (`exp` is in the past); mint a new one",
            ));
        }
        if let Some(nbf) = c.nbf.map(UnixTime::from_secs)
            && nbf > now.saturating_add(leeway)
        {
            return Err(invalid(
                "the token is not valid yet (`nbf` is in the future)",
            ));
        }
        let start = match (c.iat.map(UnixTime::from_secs), self.iat) {
            (Some(iat), _) => {
                if iat > now.saturating_add(leeway) {
                    return Err(invalid(
                        "the token was issued in the future (`iat` is ahead of the clock beyond leeway)",
                    ));
                }
                if exp < iat {
                    return Err(invalid("the token expires before it was issued"));
                }
                iat
            }
            (None, IatRule::Required) => {
                return Err(invalid("the token has no `iat` claim, which is required"));
            }
            (None, IatRule::Optional) => now,
        };
        if exp.abs_diff(start) > self.max_lifetime.saturating_add(leeway) {
            return Err(invalid(format!(
                "the token lives longer than the {} s allowed (`exp` - `iat`)",
                self.max_lifetime.as_secs()
            )));
        }
        if let Some(want) = &self.issuer
            && c.iss.as_ref().map(|s| s.get(payload)) != Some(want.as_str())
        {
            return Err(unauthorized("the token's `iss` is not the expected issuer"));
        }
        match &self.audience {
            None if !c.aud.is_empty() => Err(unauthorized(
                "the token names an audience (`aud`) but this verifier has none configured",
            )),
            None => Ok(()),
            Some(want) => {
                if c.aud
                    .iter()
                    .any(|a| want.iter().any(|w| w == a.get(payload)))
                {
                    Ok(())
                } else {
                    Err(unauthorized(
                        "the token is not meant for this audience (`aud`)",
                    ))
                }
            }
        }
    }
}

/// A verification key bound to its JWS algorithm, optionally to a key ID and a client ID.
pub struct JwtKey {
    alg: Algorithm,
    kid: Option<String>,
    client_id: Option<String>,
    key: VerifyingKey,
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl JwtKey {
    /// An HMAC secret for HS256, HS384 or HS512.
    pub fn hmac(secret: &HmacSecret, alg: Algorithm) -> Result<Self> {
        Ok(Self::from_verifying_key(VerifyingKey::hmac(
            secret,
            alg.signature_algorithm(),
        )?))
    }

    /// A public key for an RS, PS, ES or EdDSA algorithm.
    pub fn public(public: &PublicKey, alg: Algorithm) -> Result<Self> {
        Ok(Self::from_verifying_key(VerifyingKey::new(
            public,
            alg.signature_algorithm(),
        )?))
    }

    /// From a prepared [`VerifyingKey`]; its algorithm becomes the token's required `alg`.
    pub fn from_verifying_key(key: VerifyingKey) -> Self {
        Self {
            alg: Algorithm::from_signature_algorithm(key.algorithm()),
            kid: None,
            client_id: None,
            key,
        }
    }

    /// Binds a key ID: a token naming another `kid` is refused.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Binds a client: a token whose `clientId` is another is [`ErrorCode::Unauthorized`].
    pub fn for_client(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key ID, if bound.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }
}

/// A token split, decoded and read, but not yet verified: use it only to find the key.
pub struct ParsedJwt<'t> {
    compact: jws::Compact<'t>,
    payload: String,
    claims: Registered,
}

impl fmt::Debug for ParsedJwt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedJwt")
            .field("header", &self.compact.header)
            .finish_non_exhaustive()
    }
}

impl ParsedJwt<'_> {
    /// The `alg` the token claims (unverified).
    pub fn algorithm(&self) -> Algorithm {
        self.compact.header.alg
    }

    /// The `kid` header (unverified).
    pub fn kid(&self) -> Option<&str> {
        self.compact.header.kid.as_deref()
    }

    /// The `clientId` claim (unverified), to look up the partner's key.
    pub fn client_id(&self) -> Option<&str> {
        self.claims.client_id.as_ref().map(|s| s.get(&self.payload))
    }

    /// The `iss` claim (unverified).
    pub fn issuer(&self) -> Option<&str> {
        self.claims.iss.as_ref().map(|s| s.get(&self.payload))
    }
}

/// Splits and decodes a compact JWT and reads its header and registered claims.
/// Nothing is trusted yet: find the key with [`ParsedJwt::kid`] / [`ParsedJwt::client_id`],
/// then call [`verify`].
pub fn parse<'t>(token: &'t str, policy: &JwtPolicy) -> Result<ParsedJwt<'t>> {
    let compact = jws::Compact::parse(token, policy.max_token_len)?;
    policy.typ.check(compact.header.typ.as_deref())?;
    let payload = String::from_utf8(compact.payload()?)
        .map_err(|_| invalid("the claims are not UTF-8 JSON"))?;
    let claims = Registered::parse(&payload)?;
    Ok(ParsedJwt {
        compact,
        payload,
        claims,
    })
}

/// Verifies a parsed token with `key` at `now`: `alg` must be the key's, a `kid` must match the
/// key's, the signature must verify, then the claims are checked against `policy`.
pub fn verify(
    parsed: ParsedJwt<'_>,
    key: &JwtKey,
    policy: &JwtPolicy,
    now: UnixTime,
) -> Result<VerifiedJwt> {
    if let (Some(want), Some(got)) = (key.kid.as_deref(), parsed.kid())
        && want != got
    {
        return Err(invalid("the token's `kid` names a different key"));
    }
    parsed.compact.verify(&key.key)?;
    policy.check_claims(&parsed.claims, &parsed.payload, now)?;
    if let Some(want) = &key.client_id
        && parsed.client_id() != Some(want.as_str())
    {
        return Err(unauthorized(
            "the token's `clientId` is not the client this key belongs to",
        ));
    }
    Ok(VerifiedJwt {
        header: parsed.compact.header,
        payload: parsed.payload,
        claims: parsed.claims,
    })
}

/// A verified token: its header and claims, readable without further checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedJwt {
    header: Header,
    payload: String,
    claims: Registered,
}

impl VerifiedJwt {
    fn text<'a>(&'a self, s: &'a Option<Span>) -> Option<&'a str> {
        s.as_ref().map(|s| s.get(&self.payload))
    }

    /// The protected header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// `clientId`.
    pub fn client_id(&self) -> Option<&str> {
        self.text(&self.claims.client_id)
    }

    /// `iss`.
    pub fn issuer(&self) -> Option<&str> {
        self.text(&self.claims.iss)
    }

    /// `sub`.
    pub fn subject(&self) -> Option<&str> {
        self.text(&self.claims.sub)
    }

    /// `jti`.
    pub fn jwt_id(&self) -> Option<&str> {
        self.text(&self.claims.jti)
    }

    /// `scope` (space-separated, as in OAuth).
    pub fn scope(&self) -> Option<&str> {
        self.text(&self.claims.scope)
    }

    /// The audiences in `aud`.
    pub fn audiences(&self) -> impl Iterator<Item = &str> {
        self.claims.aud.iter().map(|s| s.get(&self.payload))
    }

    /// `exp`.
    pub fn expires_at(&self) -> UnixTime {
        UnixTime::from_secs(self.claims.exp.unwrap_or_default())
    }

    /// `iat`.
    pub fn issued_at(&self) -> Option<UnixTime> {
        self.claims.iat.map(UnixTime::from_secs)
    }

    /// `nbf`.
    pub fn not_before(&self) -> Option<UnixTime> {
        self.claims.nbf.map(UnixTime::from_secs)
    }

    /// The claims JSON text.
    pub fn payload_json(&self) -> &str {
        &self.payload
    }

    /// Deserialises the claims (for example a [`Claims`] with custom claims) from the payload.
    pub fn claims<'a, T: Deserialize<'a>>(&'a self) -> Result<T> {
        if !crate::scheme::is_json_object(self.payload.as_bytes()) {
            return Err(invalid("the claims set must be a JSON object"));
        }
        serde_json::from_str(&self.payload).map_err(|e| {
            invalid(format!(
                "the claims do not have the shape the application expects: {e}"
            ))
        })
    }

    /// Requires `clientId` to be `client_id` ([`ErrorCode::Unauthorized`] otherwise).
    pub fn require_client(&self, client_id: &str) -> Result<()> {
        if self.client_id() == Some(client_id) {
            Ok(())
        } else {
            Err(unauthorized("the token was minted for another client"))
        }
    }
}

/// A fixed set of keys and one policy: the fast path for a provider that verifies many tokens.
#[derive(Debug)]
pub struct JwtVerifier {
    keys: Vec<JwtKey>,
    policy: JwtPolicy,
}

impl JwtVerifier {
    /// One or more keys; with several, each must have a distinct `kid`.
    pub fn new(keys: Vec<JwtKey>, policy: JwtPolicy) -> Result<Self> {
        if keys.is_empty() {
            return Err(Error::invalid_key("a JWT verifier needs at least one key"));
        }
        if keys.len() > 1 {
            let mut kids: Vec<&str> = Vec::with_capacity(keys.len());
            for k in &keys {
                let kid = k.kid.as_deref().ok_or_else(|| {
                    Error::invalid_key("with several keys, every key needs a `kid`")
                })?;
                if kids.contains(&kid) {
                    return Err(Error::invalid_key("two keys share one `kid`"));
                }
                kids.push(kid);
            }
        }
        Ok(Self { keys, policy })
    }

    /// The policy.
    pub fn policy(&self) -> &JwtPolicy {
        &self.policy
    }

    /// Parses and verifies `token` at `now`. A token's `kid` selects the key with that `kid`;
    /// a token without one is accepted only when exactly one key is registered; a single key
    /// registered without a `kid` takes any token's `kid` as a mere hint.
    pub fn verify(&self, token: &str, now: UnixTime) -> Result<VerifiedJwt> {
        let parsed = parse(token, &self.policy)?;
        let key = match (parsed.kid(), self.keys.as_slice()) {
            // One key registered without a `kid`: the token's `kid` is only a hint.
            (Some(_), [only]) if only.kid.is_none() => only,
            (Some(kid), keys) => keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .ok_or_else(|| invalid("the token's `kid` names no key registered here"))?,
            (None, [only]) => only,
            (None, _) => {
                return Err(invalid(
                    "the token has no `kid` and several keys are registered; send a `kid`",
                ));
            }
        };
        verify(parsed, key, &self.policy, now)
    }
}

/// Mints tokens with one key; the header is `{"alg":...,"typ":"JWT"}` plus `kid` when bound.
pub struct JwtSigner {
    key: SigningKey,
    kid: Option<String>,
    typ: Cow<'static, str>,
}

impl fmt::Debug for JwtSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtSigner")
            .field("alg", &self.algorithm())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl JwtSigner {
    /// An HMAC signer (HS256 is the seed profile's).
    pub fn hmac(secret: &HmacSecret, alg: Algorithm) -> Result<Self> {
        Ok(Self::from_signing_key(SigningKey::hmac(
            secret,
            alg.signature_algorithm(),
        )?))
    }

    /// A private-key signer (RS, PS, ES256, EdDSA).
    pub fn new(private: &PrivateKey, alg: Algorithm, rng: &dyn SecureRandom) -> Result<Self> {
        Ok(Self::from_signing_key(SigningKey::new(
            private,
            alg.signature_algorithm(),
            rng,
        )?))
    }

    /// From a prepared [`SigningKey`].
    pub fn from_signing_key(key: SigningKey) -> Self {
        Self {
            key,
            kid: None,
            typ: Cow::Borrowed("JWT"),
        }
    }

    /// Writes `kid` into every header.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Writes this `typ` instead of `JWT`.
    pub fn with_type(mut self, typ: impl Into<Cow<'static, str>>) -> Self {
        self.typ = typ.into();
        self
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        Algorithm::from_signature_algorithm(self.key.algorithm())
    }

    /// Mints a compact JWT of `claims`.
    pub fn sign<T: Serialize>(&self, claims: &T, rng: &dyn SecureRandom) -> Result<String> {
        let header = serde_json::to_vec(&jws::HeaderOut {
            alg: self.algorithm().name(),
            typ: &self.typ,
            kid: self.kid.as_deref(),
        })
        .map_err(|e| Error::new(ErrorCode::Internal, format!("header encoding failed: {e}")))?;
        let payload = serde_json::to_vec(claims).map_err(|e| {
            Error::malformed(format!("the claims cannot be serialised as JSON: {e}"))
        })?;
        // Verifiers (ours included) refuse any other claims set: do not mint one.
        if !crate::scheme::is_json_object(&payload) {
            return Err(Error::malformed(
                "the claims must serialise as a JSON object (a struct or a map)",
            ));
        }
        let mut out = String::with_capacity(header.len() * 2 + payload.len() * 2 + 128);
        base64::Engine::encode_string(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            &header,
            &mut out,
        );
        jws::finish_compact(out, &payload, &self.key, rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_limit_counts_only_structure() {
        assert!(depth_ok(
            br#"{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}"#
        ));
        let deep = format!("{}{}", "[".repeat(17), "]".repeat(17));
        assert!(!depth_ok(deep.as_bytes()));
        let ok = format!("{}{}", "[".repeat(16), "]".repeat(16));
        assert!(depth_ok(ok.as_bytes()));
        assert!(depth_ok(br#"{"a":"\"[[[[[[[[[[[[[[[[[[[[[[[\\"}"#));
    }
}
