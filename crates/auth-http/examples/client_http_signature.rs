//! Calls the demo server with an RFC 9421 signature (Ed25519, `keyid="demo-ed25519"`, nonce,
//! Content-Digest). Start `cargo run -p auth-http --example protected_server` first.
#![allow(clippy::expect_used, clippy::print_stdout)]

mod common;

use auth_core::keys::{PrivateKey, SignatureAlgorithm, SigningKey};
use auth_core::rand::SystemRandom;
use auth_http::client::{AuthClient, HttpSignatureAuth};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = PrivateKey::from_pem(&common::read("ed25519_key.pem"))?;
    let signer = SigningKey::new(&key, SignatureAlgorithm::Ed25519, &SystemRandom::new())?;
    let client = AuthClient::new(Arc::new(HttpSignatureAuth::new("demo-ed25519", signer)))?;
    let url = format!("{}/orders?page=1", common::base_url());
    common::show(
        client
            .send(client.http().post(url).body(r#"{"hello":"world"}"#))
            .await?,
    )
    .await;
    Ok(())
}
