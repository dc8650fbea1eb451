//! Opens an Altalix signed payload URL on the demo server: the order JSON (naming partner
//! `altalix-partner` and key `altalix-key-1`) signed with the partner's RSA key, Base64 in
//! `?payload=...&signature=...`. Each URL works once, within five minutes of `created_at`.
//! Start `cargo run -p auth-http --example protected_server` first.
#![allow(clippy::expect_used, clippy::print_stdout)]

mod common;

use auth_core::keys::{PrivateKey, SignatureAlgorithm, SigningKey};
use auth_core::rand::SystemRandom;
use auth_core::scheme::altalix::{self, Amount, Payload};
use auth_http::clock::{Clock, SystemClock};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rng = SystemRandom::new();
    let key = PrivateKey::from_pem(&common::read("altalix_key.pem"))?;
    let signer = SigningKey::new(&key, SignatureAlgorithm::RsaPkcs1Sha256, &rng)?;
    let payload = Payload {
        sell_currency: "EUR".into(),
        buy_currency: "ETH".into(),
        address: "0x71C7656EC7ab88b098defB751B7401B5f6d8976F".into(),
        partner_id: "altalix-partner".into(),
        key_id: "altalix-key-1".into(),
        created_at: SystemClock.now().to_rfc3339(),
        amount: Amount::Sell("250".into()),
    };
    let url =
        altalix::sign(&payload, &signer, &rng)?.url(&format!("{}/widget", common::base_url()));
    let http = reqwest::Client::new();
    print!("first use: ");
    common::show(http.get(&url).send().await?).await;
    print!("the same URL again: ");
    common::show(http.get(&url).send().await?).await;
    Ok(())
}
