//! auth-core: every partner-authentication scheme of partner-auth, without IO.
//!
//! Time ([`time::UnixTime`]) and randomness ([`rand::SecureRandom`]) are arguments; keys are
//! parsed once ([`keys`]); every rejection is a typed [`Error`] with a stable [`ErrorCode`].
#![forbid(unsafe_code)]

pub mod apikey;
pub mod audit;
pub mod content_digest;
pub mod credential;
pub mod encoding;
pub mod error;
pub mod keys;
pub mod rand;
pub mod replay;
pub mod request;
pub mod scheme;
pub mod secret;
pub mod time;

pub use credential::{Credential, CredentialRef, Principal, Purpose, Scheme};
pub use error::{Error, ErrorCode, Result};
pub use time::UnixTime;
