//! One module per command group; each has its clap arguments and its `run`.

// --- offline commands (cli-a) ---
pub(crate) mod altalix;
pub(crate) mod apikey;
pub(crate) mod apptrust;
pub(crate) mod audit;
pub(crate) mod common;
pub(crate) mod completions;
pub(crate) mod jwt;
pub(crate) mod keys;
pub(crate) mod qredo;
pub(crate) mod rfc9421;
pub(crate) mod smile;

// --- server commands (cli-b): request, admin, doctor ---
pub(crate) mod admin;
pub(crate) mod doctor;
pub(crate) mod profile;
pub(crate) mod request;
