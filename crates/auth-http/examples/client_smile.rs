//! Calls the demo server with a Smile "Signature" in the `smileid-*` headers (partner `085`).
//! Start `cargo run -p auth-http --example protected_server` first.
#![allow(clippy::expect_used, clippy::print_stdout)]

mod common;

use auth_http::client::{AuthClient, SmileAuth, SmilePlacement};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let auth = SmileAuth::new(
        "085",
        &common::read("smile_api_key.txt"),
        SmilePlacement::Headers,
    )?;
    let client = AuthClient::new(Arc::new(auth))?;
    let url = format!("{}/orders", common::base_url());
    common::show(
        client
            .send(client.http().post(url).body(r#"{"job":"id_verification"}"#))
            .await?,
    )
    .await;
    Ok(())
}
