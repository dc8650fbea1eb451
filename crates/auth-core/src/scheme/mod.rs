//! One module per partner-authentication scheme, each shaped the same way: types, `sign`,
//! `parse` (pull out the key ID and claimed time), `verify`.

pub mod altalix;
pub mod qredo;
pub mod rfc9421;
