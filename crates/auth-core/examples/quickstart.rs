//! Quickstart: auth-core at work on a fresh machine. Generates an RSA-2048 and an Ed25519 key
//! pair, issues an API key and registers it as a credential, signs and verifies, and shows that
//! tampering, typos and revocation are caught.
#![allow(clippy::print_stdout)]

use auth_core::apikey::{self, Environment, KeyPrefix};
use auth_core::credential::{Credential, Purpose, Status};
use auth_core::keys::{self, PublicKey, SignatureAlgorithm, SigningKey, VerifyingKey};
use auth_core::rand::SystemRandom;
use auth_core::{Result, UnixTime};
use std::time::SystemTime;

fn main() -> Result<()> {
    // Adapters own the clock and the generator; auth-core takes both as arguments.
    let rng = SystemRandom::new();
    let now = UnixTime::from_millis(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
    );

    println!("== RSA-2048 key pair (PKCS#1 private key, SPKI public key)");
    let rsa = keys::generate_rsa(2048, &rng)?;
    let public_pem = rsa.public_key().to_spki_pem();
    print!("{public_pem}");
    println!(
        "key id (RFC 7638 thumbprint): {}",
        rsa.public_key().jwk_thumbprint()
    );

    let message = b"1605779886https://api.qredo.network/api/v1/p/company/search";
    let signer = SigningKey::new(&rsa, SignatureAlgorithm::RsaPkcs1Sha256, &rng)?;
    let signature = signer.sign(message, &rng)?;
    // The verifier side loads the uploaded PEM once and keeps the parsed key.
    let verifier = VerifyingKey::new(
        &PublicKey::from_pem(&public_pem)?,
        SignatureAlgorithm::RsaPkcs1Sha256,
    )?;
    verifier.verify(message, &signature)?;
    println!(
        "RSASSA-PKCS1-v1_5/SHA-256 signature ({} bytes): verified",
        signature.len()
    );
    let mut tampered = message.to_vec();
    tampered[0] ^= 1;
    match verifier.verify(&tampered, &signature) {
        Err(e) => println!("tampered message: rejected ({e})"),
        Ok(()) => println!("tampered message: ACCEPTED (this must never happen)"),
    }

    println!("\n== Ed25519 key pair");
    let ed = keys::generate_ed25519(&rng)?;
    let ed_signer = SigningKey::new(&ed, SignatureAlgorithm::Ed25519, &rng)?;
    let ed_sig = ed_signer.sign(message, &rng)?;
    VerifyingKey::new(&ed.public_key(), SignatureAlgorithm::Ed25519)?.verify(message, &ed_sig)?;
    println!("public JWK: {}", ed.public_key().to_jwk().to_json());
    println!("Ed25519 signature: verified");

    println!("\n== API key (shown once; only its digest is stored)");
    let prefix = KeyPrefix::new("pa")?;
    let issued = apikey::generate(&prefix, Environment::Test, &rng)?;
    println!("issued: {}", issued.expose());
    println!("stored digest: {}", issued.digest().to_hex());
    // What a store keeps: whose key it is, its environment and its status, never the key.
    let credential = Credential::api_key("demo-partner", issued.digest(), Environment::Test)?
        .with_scopes(["orders:read"])
        .with_status(Status {
            expires_at: Some(now.saturating_add(std::time::Duration::from_secs(90 * 86_400))),
            ..Status::ACTIVE
        });
    println!("registered as: {}", credential.reference());
    let presented = apikey::parse(issued.expose(), &prefix)?;
    credential.check_presented_key(&presented, &presented.digest())?;
    credential.check_usable(Purpose::ApiKey, now)?;
    println!("presented key: accepted for partner {}", credential.partner);
    let revoked = credential.clone().with_status(Status {
        revoked_at: Some(now),
        ..credential.status
    });
    match revoked.check_usable(Purpose::ApiKey, now) {
        Err(e) => println!("after revocation: rejected ({e})"),
        Ok(()) => println!("after revocation: ACCEPTED (this must never happen)"),
    }
    let mut typo = issued.expose().to_owned();
    typo.pop();
    typo.push('x');
    match apikey::parse(&typo, &prefix) {
        Err(e) => println!("key with a typo: rejected before any lookup ({e})"),
        Ok(_) => println!("key with a typo: ACCEPTED (this must never happen)"),
    }
    Ok(())
}
