//! auth-core: every partner-authentication scheme of partner-auth, without IO.
//!
//! Time ([`time::UnixTime`]) and randomness ([`rand::SecureRandom`]) are arguments; keys are
//! parsed once ([`keys`]); every rejection is a typed [`Error`] with a stable [`ErrorCode`].
#![forbid(unsafe_code)]

pub mod apikey;
pub mod encoding;
pub mod error;
pub mod keys;
pub mod rand;
pub mod scheme;
pub mod secret;
pub mod time;

pub use error::{Error, ErrorCode, Result};
pub use time::UnixTime;
