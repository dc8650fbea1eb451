//! auth-verify: the provider's verification service. It keeps partners' credentials in a
//! registry ([`store`]), verifies every scheme through auth-http's layer ([`registry`] is the
//! resolver over the store), issues short-lived tokens, answers `/v1/verify` and forward-auth
//! checks for existing gateways, proxies inline, and records every decision in a hash-chained
//! [`audit`] log. The binary (`main.rs`) only parses the command line and calls in here.

#![forbid(unsafe_code)]

pub mod audit;
pub mod gateway;
pub mod registry;
pub mod sealed;
pub mod store;
pub mod upload;
