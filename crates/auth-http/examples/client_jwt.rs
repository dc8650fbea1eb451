//! Calls the demo server with HS256 JWT partner tokens (`clientId`, `iat`, `exp = iat + 900`),
//! minted before expiry and re-minted once after a 401. Start the server example first.
#![allow(clippy::expect_used, clippy::print_stdout)]

mod common;

use auth_core::keys::HmacSecret;
use auth_core::scheme::jwt::{Algorithm, JwtSigner};
use auth_http::client::{AuthClient, JwtAuth};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = HmacSecret::from_bytes(common::read("jwt_secret.txt").as_bytes())?;
    let auth = JwtAuth::new(JwtSigner::hmac(&secret, Algorithm::HS256)?, "demo-client");
    let client = AuthClient::new(Arc::new(auth))?;
    common::show(
        client
            .send(client.http().get(format!("{}/orders", common::base_url())))
            .await?,
    )
    .await;
    Ok(())
}
