//! Calls the demo server the Qredo way: `x-api-key`, `x-timestamp`, and `x-sign` (RSA over
//! timestamp + full URL + body). Start `cargo run -p auth-http --example protected_server` first.
#![allow(clippy::expect_used, clippy::print_stdout)]

mod common;

use auth_core::keys::{PrivateKey, SignatureAlgorithm, SigningKey};
use auth_core::rand::SystemRandom;
use auth_http::client::{AuthClient, QredoAuth, QredoFreshness};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = PrivateKey::from_pem(&common::read("qredo_key.pem"))?;
    let signer = SigningKey::new(
        &key,
        SignatureAlgorithm::RsaPkcs1Sha256,
        &SystemRandom::new(),
    )?;
    let auth = QredoAuth::new(
        &common::read("qredo_api_key.txt"),
        signer,
        QredoFreshness::Timestamp,
    );
    let client = AuthClient::new(Arc::new(auth))?;
    let url = format!("{}/orders?company=acme", common::base_url());
    common::show(
        client
            .send(client.http().post(url).body(r#"{"name":"acme"}"#))
            .await?,
    )
    .await;
    Ok(())
}
