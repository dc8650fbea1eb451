//! The partner-authentication schemes, one module each, all of the same shape (types, sign, parse, verify).

pub mod apptrust;
