//! One module per partner-authentication scheme, each shaped the same way: types, `sign`,
//! `parse` (pull out the key ID and claimed time), `verify`.

pub mod altalix;
pub mod apptrust;
pub mod jwt;
pub mod qredo;
pub mod rfc9421;
pub mod smile;
pub mod user_token;
