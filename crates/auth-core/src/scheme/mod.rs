//! One module per partner-authentication scheme, each shaped the same: types, `sign`, `parse`, `verify`.

pub mod jwt;
pub mod smile;
pub mod user_token;
