//! Altalix restricted user tokens: the "backend" part fetches a `user:rate` token from
//! `/api/auth/sessions` with its API key; the "app" part calls `/api/rates` with it.
//! Start `cargo run -p auth-http --example protected_server` first.
#![allow(clippy::expect_used, clippy::print_stdout)]

mod common;

use auth_http::client::{AuthClient, UserTokenAuth};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = common::base_url();
    let sessions = format!("{base}/api/auth/sessions");
    let auth = UserTokenAuth::new(
        reqwest::Client::new(),
        &sessions,
        &common::read("api_key.txt"),
        &["user:rate"],
    );
    let client = AuthClient::new(Arc::new(auth))?;
    let url = format!("{base}/api/rates?symbol=ETHEUR&sell_volume=25");
    common::show(client.send(client.http().get(url)).await?).await;
    Ok(())
}
