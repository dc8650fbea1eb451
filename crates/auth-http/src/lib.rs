//! auth-http: every auth-core scheme in real HTTP code. The partner side (feature `client`)
//! wraps a `reqwest` client that signs each request (and refreshes tokens); the provider side
//! (feature `server`) is a tower [`server::AuthLayer`] over hyper (and so axum) that verifies
//! every request before the handler runs. Both features are on by default; a partner that only
//! signs requests builds with `default-features = false, features = ["client"]` and pulls in
//! neither hyper's server nor tower. The real clock and the OS random generator live here, not
//! in auth-core.
#![forbid(unsafe_code)]

#[cfg(feature = "client")]
pub mod client;
pub mod clock;
#[cfg(feature = "server")]
pub mod server;

pub use clock::{Clock, SystemClock};

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future: what the object-safe async traits of both sides return (the
/// client's `ClientAuth`, the server's resolver and replay stores).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
