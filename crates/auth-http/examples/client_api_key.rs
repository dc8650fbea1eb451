//! Calls the demo server with the bearer API key it issued (`Authorization: Bearer pa_test_...`).
//! Start `cargo run -p auth-http --example protected_server` first.
#![allow(clippy::expect_used, clippy::print_stdout)]

mod common;

use auth_http::client::{ApiKeyAuth, ApiKeyPlacement, AuthClient};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let auth = ApiKeyAuth::new(&common::read("api_key.txt"), ApiKeyPlacement::Bearer);
    let client = AuthClient::new(Arc::new(auth))?;
    common::show(
        client
            .send(client.http().get(format!("{}/orders", common::base_url())))
            .await?,
    )
    .await;
    Ok(())
}
