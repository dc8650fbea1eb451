//! auth-verify: the provider's verification service. It keeps partners' credentials in a
//! registry ([`store`]), verifies every scheme through auth-http's layer ([`registry`] is the
//! resolver over the store), issues short-lived tokens ([`tokens`]), answers `/v1/verify` and
//! forward-auth checks for existing gateways and proxies inline ([`gateway`]), is managed
//! through a signed admin API ([`admin`]), and records every decision in a hash-chained
//! [`audit`] log. The binary (`main.rs`) only parses the command line and calls [`app`].

#![forbid(unsafe_code)]

pub mod admin;
pub mod app;
pub mod audit;
pub mod config;
pub mod gateway;
pub mod openapi;
pub mod ops;
pub mod registry;
pub mod replay_redis;
pub mod sealed;
pub mod service_keys;
pub mod store;
pub mod tokens;
pub mod upload;
