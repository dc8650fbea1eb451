//! The one token cache behind the three token clients (JWT partner tokens, restricted user
//! tokens, app tokens): a token is reused until `refresh_margin` before it expires, a new one
//! is obtained from the client's [`TokenSource`] before that, and after a 401 the rejected
//! token is dropped so that [`super::AuthClient`]'s single retry carries a new one.
//!
//! Refreshes are single-flight: the cache's lock is held while a token is obtained, so
//! concurrent requests wait for the one refresh instead of each starting their own; and a 401
//! drops the cached token only if it is the token that was rejected, so a burst of 401s for
//! one expired token leads to one new token, not one per request.

use super::{AfterUnauthorized, ClientError};
use crate::BoxFuture;
use crate::clock::{Clock, SystemClock};
use auth_core::UnixTime;
use auth_core::secret::SecretBytes;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;

/// A token just obtained.
pub(crate) struct Minted {
    /// The bearer token.
    pub(crate) token: String,
    /// When it stops working; `None`: unknown, used until the server rejects it.
    pub(crate) expires_at: Option<UnixTime>,
}

/// Where a token client's tokens come from (minted locally or fetched from an endpoint).
pub(crate) trait TokenSource: Send + Sync + 'static {
    /// A new token, issued at `now`.
    fn mint(&self, now: UnixTime) -> BoxFuture<'_, Result<Minted, ClientError>>;
}

struct Cached {
    token: SecretBytes,
    expires_at: Option<UnixTime>,
}

/// Caches one token from `source`; see the module documentation.
pub(crate) struct TokenCache<S> {
    pub(crate) source: S,
    pub(crate) refresh_margin: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    current: Mutex<Option<Cached>>,
    minted: AtomicU64,
}

impl<S> fmt::Debug for TokenCache<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("refresh_margin", &self.refresh_margin)
            .field("minted", &self.minted.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<S: TokenSource> TokenCache<S> {
    /// An empty cache over `source` that renews `refresh_margin` before expiry, on the system
    /// clock.
    pub(crate) fn new(source: S, refresh_margin: Duration) -> Self {
        Self {
            source,
            refresh_margin,
            clock: Arc::new(SystemClock),
            current: Mutex::new(None),
            minted: AtomicU64::new(0),
        }
    }

    /// How many tokens were obtained so far.
    pub(crate) fn minted(&self) -> u64 {
        self.minted.load(Ordering::Relaxed)
    }

    /// The cached token, or a new one when there is none or it is about to expire.
    pub(crate) async fn token(&self) -> Result<String, ClientError> {
        // Held across `mint`: whoever comes while a token is obtained waits for it.
        let mut current = self.current.lock().await;
        let now = self.clock.now();
        if let Some(cached) = current.as_ref()
            && cached
                .expires_at
                .is_none_or(|exp| now.saturating_add(self.refresh_margin) < exp)
        {
            return Ok(String::from_utf8_lossy(cached.token.expose()).into_owned());
        }
        let fresh = self.source.mint(now).await?;
        self.minted.fetch_add(1, Ordering::Relaxed);
        *current = Some(Cached {
            token: SecretBytes::from_slice(fresh.token.as_bytes()),
            expires_at: fresh.expires_at,
        });
        Ok(fresh.token)
    }

    /// Drops the cached token so the next request obtains a new one.
    pub(crate) async fn invalidate(&self) {
        *self.current.lock().await = None;
    }

    /// Puts the token on `req` as `Authorization: Bearer`.
    pub(crate) async fn authorize(&self, req: &mut reqwest::Request) -> Result<(), ClientError> {
        let token = self.token().await?;
        super::set_bearer(req, &token)
    }

    /// After a 401 to a request sent with `sent`: drops the cached token if it is the one
    /// that request carried (a concurrent request may have replaced it already), and asks for
    /// the one retry.
    pub(crate) async fn rejected(&self, sent: &http::HeaderMap) -> AfterUnauthorized {
        let used = sent
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let mut current = self.current.lock().await;
        let stale = current
            .as_ref()
            .is_some_and(|c| used.is_none_or(|u| c.token.ct_eq(u.as_bytes())));
        if stale {
            *current = None;
        }
        AfterUnauthorized::RetryOnce
    }
}
