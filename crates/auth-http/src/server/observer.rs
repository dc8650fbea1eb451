//! A hook on every decision the layer makes, for the metrics, tracing and audit log that a
//! service attaches: outcome, scheme, partner, credential, code and latency; never a secret
//! (credential references name bearer keys by digest).

use auth_core::ErrorCode;
use auth_core::credential::{CredentialRef, PartnerId, Scheme};
use std::time::Duration;

/// Whether the request went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Authenticated; the handler ran.
    Accepted,
    /// Refused with the code in [`Decision::code`].
    Rejected,
}

/// One decision. Fields are `None` where the layer did not get that far (no scheme detected,
/// no credential resolved).
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    /// Accepted or rejected.
    pub outcome: Outcome,
    /// The request path (no query: it may carry a token).
    pub path: &'a str,
    /// The scheme that was tried.
    pub scheme: Option<Scheme>,
    /// The partner, once a credential was resolved.
    pub partner: Option<&'a PartnerId>,
    /// The credential, once resolved.
    pub credential: Option<&'a CredentialRef>,
    /// The precise code of a rejection (before any opaque rendering).
    pub code: Option<ErrorCode>,
    /// Time spent deciding (body read, lookup, cryptography, replay store).
    pub latency: Duration,
}

/// Receives every decision. Keep it cheap: it runs on the request path.
pub trait Observer: Send + Sync + 'static {
    /// Called once per request the layer decides.
    fn observe(&self, decision: &Decision<'_>);
}

/// The default: observe nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl Observer for NoObserver {
    fn observe(&self, _: &Decision<'_>) {}
}
