//! Actyx-style app tokens: a trial app (`com.example.*`, unsigned manifest) obtains a token from
//! `/api/v2/auth`. `/orders` accepts tokens of signed apps only and refuses it; the server's one
//! demo route for trial apps, `/demo/trial-app`, accepts it. Start the server example first.
#![allow(clippy::expect_used, clippy::print_stdout)]

mod common;

use auth_http::client::{AppTokenAuth, AuthClient};
use std::sync::Arc;

const MANIFEST: &str = r#"{"appId":"com.example.demo","displayName":"Demo app","version":"1.0.0"}"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = common::base_url();
    let auth = AppTokenAuth::new(
        reqwest::Client::new(),
        &format!("{base}/api/v2/auth"),
        MANIFEST,
    );
    let client = AuthClient::new(Arc::new(auth))?;
    print!("/orders (signed apps only): ");
    common::show(
        client
            .send(client.http().get(format!("{base}/orders")))
            .await?,
    )
    .await;
    print!("/demo/trial-app (trial apps accepted): ");
    common::show(
        client
            .send(client.http().get(format!("{base}/demo/trial-app")))
            .await?,
    )
    .await;
    Ok(())
}
