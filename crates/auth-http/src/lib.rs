//! auth-http: every auth-core scheme in real HTTP code. The partner side wraps a `reqwest`
//! client that signs each request (and refreshes tokens); the provider side is a tower
//! [`server::AuthLayer`] over hyper (and so axum) that verifies every request before the
//! handler runs. The real clock and the OS random generator live here, not in auth-core.
#![forbid(unsafe_code)]

pub mod client;
pub mod clock;
pub mod server;

pub use clock::{Clock, SystemClock};

/// A boxed, sendable future (the resolver and replay traits are object-safe).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
