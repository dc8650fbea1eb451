//! The JWT partner-token client: mints `clientId`/`iat`/`exp` tokens with the partner's key,
//! reuses a token until shortly before it expires, mints a new one before that, and after a
//! 401 mints once more so [`super::AuthClient`] retries exactly once (never a loop). The
//! caching and refreshing is [`super::token::TokenCache`]'s, shared with the other token
//! clients.

use super::token::{Minted, TokenCache, TokenSource};
use super::{AfterUnauthorized, ClientAuth, ClientError};
use crate::BoxFuture;
use crate::clock::Clock;
use auth_core::UnixTime;
use auth_core::rand::SystemRandom;
use auth_core::scheme::jwt::{Claims, JwtSigner};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Mints seed-profile tokens.
struct JwtMinter {
    signer: JwtSigner,
    client_id: String,
    lifetime: Duration,
    rng: SystemRandom,
}

impl TokenSource for JwtMinter {
    fn mint(&self, now: UnixTime) -> BoxFuture<'_, Result<Minted, ClientError>> {
        let mut claims = Claims::seed_profile(self.client_id.clone(), now);
        claims.exp = now.as_secs().saturating_add(self.lifetime.as_secs());
        let minted = self.signer.sign(&claims, &self.rng).map(|token| Minted {
            token,
            expires_at: Some(UnixTime::from_secs(claims.exp)),
        });
        Box::pin(async move { Ok(minted?) })
    }
}

/// Mints and caches JWT partner tokens.
pub struct JwtAuth {
    cache: TokenCache<JwtMinter>,
}

impl fmt::Debug for JwtAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.cache.source;
        f.debug_struct("JwtAuth")
            .field("client_id", &m.client_id)
            .field("signer", &m.signer)
            .field("lifetime", &m.lifetime)
            .field("cache", &self.cache)
            .finish()
    }
}

impl JwtAuth {
    /// Tokens for `client_id` signed by `signer`, living 15 minutes (the seed profile), renewed
    /// 60 seconds before they expire.
    pub fn new(signer: JwtSigner, client_id: &str) -> Self {
        let minter = JwtMinter {
            signer,
            client_id: client_id.to_owned(),
            lifetime: Duration::from_secs(auth_core::scheme::jwt::SEED_LIFETIME_SECS),
            rng: SystemRandom::new(),
        };
        Self {
            cache: TokenCache::new(minter, Duration::from_secs(60)),
        }
    }

    /// Token lifetime (`exp - iat`); whole seconds, at least one.
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.cache.source.lifetime = lifetime.max(Duration::from_secs(1));
        self
    }

    /// How long before expiry a new token is minted.
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.cache.refresh_margin = margin;
        self
    }

    /// Uses `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.cache.clock = clock;
        self
    }

    /// How many tokens were minted so far.
    pub fn minted(&self) -> u64 {
        self.cache.minted()
    }

    /// The current token, minting a new one when there is none or it is about to expire.
    pub async fn token(&self) -> Result<String, ClientError> {
        self.cache.token().await
    }

    /// Drops the cached token so the next request mints a new one.
    pub async fn invalidate(&self) {
        self.cache.invalidate().await;
    }
}

impl ClientAuth for JwtAuth {
    fn authorize<'a>(
        &'a self,
        req: &'a mut reqwest::Request,
        _body: &'a [u8],
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(self.cache.authorize(req))
    }

    fn on_unauthorized<'a>(
        &'a self,
        sent: &'a http::HeaderMap,
        _response: &'a reqwest::Response,
    ) -> BoxFuture<'a, AfterUnauthorized> {
        Box::pin(self.cache.rejected(sent))
    }
}
