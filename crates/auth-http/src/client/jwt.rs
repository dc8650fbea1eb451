//! The JWT partner-token client: mints `clientId`/`iat`/`exp` tokens with the partner's key,
//! reuses a token until shortly before it expires, mints a new one before that, and after a
//! 401 mints once more so [`super::AuthClient`] retries exactly once (never a loop).

use super::{AfterUnauthorized, ClientAuth, ClientError};
use crate::BoxFuture;
use crate::clock::{Clock, SystemClock};
use auth_core::UnixTime;
use auth_core::rand::SystemRandom;
use auth_core::scheme::jwt::{Claims, JwtSigner};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Mints and caches JWT partner tokens.
pub struct JwtAuth {
    signer: JwtSigner,
    client_id: String,
    lifetime: Duration,
    refresh_margin: Duration,
    clock: Arc<dyn Clock>,
    rng: SystemRandom,
    current: Mutex<Option<(String, UnixTime)>>,
    minted: AtomicU64,
}

impl JwtAuth {
    /// Tokens for `client_id` signed by `signer`, living 15 minutes (the seed profile), renewed
    /// 60 seconds before they expire.
    pub fn new(signer: JwtSigner, client_id: &str) -> Self {
        Self {
            signer,
            client_id: client_id.to_owned(),
            lifetime: Duration::from_secs(auth_core::scheme::jwt::SEED_LIFETIME_SECS),
            refresh_margin: Duration::from_secs(60),
            clock: Arc::new(SystemClock),
            rng: SystemRandom::new(),
            current: Mutex::new(None),
            minted: AtomicU64::new(0),
        }
    }

    /// Token lifetime (`exp - iat`); whole seconds, at least one.
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime.max(Duration::from_secs(1));
        self
    }

    /// How long before expiry a new token is minted.
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// Uses `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How many tokens were minted so far.
    pub fn minted(&self) -> u64 {
        self.minted.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(String, UnixTime)>> {
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current token, minting a new one when there is none or it is about to expire.
    pub fn token(&self) -> Result<String, ClientError> {
        let now = self.clock.now();
        let mut current = self.lock();
        if let Some((token, exp)) = current.as_ref()
            && now.saturating_add(self.refresh_margin) < *exp
        {
            return Ok(token.clone());
        }
        let mut claims = Claims::seed_profile(self.client_id.clone(), now);
        claims.exp = now.as_secs().saturating_add(self.lifetime.as_secs());
        let token = self.signer.sign(&claims, &self.rng)?;
        self.minted.fetch_add(1, Ordering::Relaxed);
        *current = Some((token.clone(), UnixTime::from_secs(claims.exp)));
        Ok(token)
    }

    /// Drops the cached token so the next request mints a new one.
    pub fn invalidate(&self) {
        *self.lock() = None;
    }
}

impl ClientAuth for JwtAuth {
    fn authorize<'a>(
        &'a self,
        req: &'a mut reqwest::Request,
        _body: &'a [u8],
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async move {
            let token = self.token()?;
            super::set_bearer(req, &token)?;
            Ok(())
        })
    }

    fn on_unauthorized<'a>(
        &'a self,
        _response: &'a reqwest::Response,
    ) -> BoxFuture<'a, AfterUnauthorized> {
        Box::pin(async move {
            self.invalidate();
            AfterUnauthorized::RetryOnce
        })
    }
}
