//! A protected API server accepting every scheme, with demo credentials registered and written
//! to `target/demo-credentials/` (or `PA_DEMO_DIR`) for the example clients:
//!
//! ```sh
//! cargo run -p auth-http --example protected_server        # listens on 127.0.0.1:8080
//! cargo run -p auth-http --example client_api_key          # in another terminal
//! ```
//!
//! Routes: `GET|POST /orders` (any credential), `GET /api/rates` (needs `user:rate`),
//! `POST /api/auth/sessions` (API key: mints a restricted user token), `POST /api/v2/auth`
//! (app manifest: issues an app token), `GET /healthz` (public).
#![allow(clippy::expect_used, clippy::print_stdout)]

mod common;

use auth_core::apikey::{self, ApiKeyRecord, Environment, KeyPrefix};
use auth_core::keys::{self, HmacSecret, SignatureAlgorithm, SigningKey, VerifyingKey};
use auth_core::rand::SystemRandom;
use auth_core::scheme::apptrust::{
    AuthorityKey, AxPublicKey, Epoch, Licensing, TokenIssuer, TokenVerifier,
};
use auth_core::scheme::jwt::{Algorithm, JwtKey, JwtSigner};
use auth_core::scheme::smile::SmileKey;
use auth_core::scheme::user_token::{UserTokenIssuer, UserTokenVerifier};
use auth_http::clock::{Clock, SystemClock};
use auth_http::server::{
    ApiKeyEntry, AppAuthEndpoint, AppTokenConfig, AuthConfig, AuthLayer, HandlerFn, JwtEntry,
    KeyEntry, MemoryReplayStore, MemoryResolver, Principal, SchemeKind, SharedRevocations,
    SmileEntry, UserTokenConfig, issue_session, require_scope,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::sync::Arc;
use tower_layer::Layer;

const AUTHORITY: &str = "075i62XGQJuXjv6nnLQyJzECZhF29acYvYeEOJ3kc5M8=";

fn json(status: u16, body: serde_json::Value) -> http::Response<Full<Bytes>> {
    let mut r = http::Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = http::StatusCode::from_u16(status).expect("status");
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rng = SystemRandom::new();
    let dir = common::demo_dir();
    std::fs::create_dir_all(&dir)?;
    let write =
        |name: &str, data: &[u8]| std::fs::write(dir.join(name), data).expect("write credential");
    let resolver = Arc::new(MemoryResolver::new());
    let scopes = |s: &[&str]| -> Arc<[String]> {
        s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>().into()
    };

    // Bearer API key (ours), allowed to mint user:rate tokens.
    let prefix = KeyPrefix::new("pa")?;
    let api_key = apikey::generate(&prefix, Environment::Test, &rng)?;
    let record = |digest| ApiKeyRecord {
        digest,
        environment: None,
        expires_at: None,
        revoked_at: None,
    };
    resolver.add_api_key(ApiKeyEntry {
        partner: "demo-partner".into(),
        record: record(api_key.digest()),
        scopes: scopes(&["user:rate"]),
    });
    write("api_key.txt", api_key.expose().as_bytes());

    // Qredo: an opaque Base64 API key and the partner's RSA key (PKCS#1, as Qredo partners make).
    let qredo_api_key = auth_core::encoding::b64_encode(&auth_core::rand::bytes::<24>(&rng)?);
    let rsa = keys::generate_rsa(2048, &rng)?;
    resolver.add_api_key(ApiKeyEntry {
        partner: "qredo-partner".into(),
        record: record(apikey::ApiKeyDigest::of(&qredo_api_key)),
        scopes: scopes(&[]),
    });
    resolver.add_key(KeyEntry {
        partner: "qredo-partner".into(),
        key_id: "qredo-rsa".into(),
        key: Arc::new(VerifyingKey::new(
            &rsa.public_key(),
            SignatureAlgorithm::RsaPkcs1Sha256,
        )?),
        scopes: scopes(&[]),
    });
    resolver.link_qredo(apikey::ApiKeyDigest::of(&qredo_api_key), "qredo-rsa");
    write("qredo_api_key.txt", qredo_api_key.as_bytes());
    write("qredo_key.pem", rsa.to_traditional_pem().expose());

    // RFC 9421: an Ed25519 key registered under a key ID.
    let ed = keys::generate_ed25519(&rng)?;
    resolver.add_key(KeyEntry {
        partner: "sig-partner".into(),
        key_id: "demo-ed25519".into(),
        key: Arc::new(VerifyingKey::new(
            &ed.public_key(),
            SignatureAlgorithm::Ed25519,
        )?),
        scopes: scopes(&[]),
    });
    write("ed25519_key.pem", ed.to_pkcs8_pem().expose());

    // JWT partner tokens: HS256 with a shared secret, client ID `demo-client`.
    let jwt_secret = auth_core::encoding::b64url_encode(&auth_core::rand::bytes::<32>(&rng)?);
    let jwt_key = JwtKey::hmac(
        &HmacSecret::from_bytes(jwt_secret.as_bytes())?,
        Algorithm::HS256,
    )?
    .for_client("demo-client");
    resolver.add_jwt_key(
        None,
        Some("demo-client"),
        JwtEntry {
            partner: "demo-client".into(),
            key: Arc::new(jwt_key),
            scopes: scopes(&[]),
        },
    );
    write("jwt_secret.txt", jwt_secret.as_bytes());

    // Smile: partner 085 whose API key is the HMAC secret.
    let smile_key = auth_core::encoding::b64_encode(&auth_core::rand::bytes::<24>(&rng)?);
    resolver.add_smile_key(SmileEntry {
        partner: "085".into(),
        key: Arc::new(SmileKey::new(smile_key.as_bytes())?),
        scopes: scopes(&[]),
    });
    write("smile_api_key.txt", smile_key.as_bytes());

    // Restricted user tokens, signed with a provider-only secret.
    let ut_secret = HmacSecret::from_bytes(&auth_core::rand::bytes::<32>(&rng)?)?;
    let user_tokens = Arc::new(UserTokenIssuer::new(
        JwtSigner::hmac(&ut_secret, Algorithm::HS256)?,
        "partner-auth-demo",
    ));
    let ut_verifier = UserTokenVerifier::new(
        JwtKey::hmac(&ut_secret, Algorithm::HS256)?,
        "partner-auth-demo",
    )?;

    // App tokens: this node's key, epoch 1, development licensing.
    let node_key = SigningKey::new(
        &keys::generate_ed25519(&rng)?,
        SignatureAlgorithm::Ed25519,
        &rng,
    )?;
    let issuer = TokenIssuer::new(node_key, Epoch(1))?;
    let app_verifier = TokenVerifier::new(&issuer.public_key()?, Epoch(1))?;
    let app_auth = Arc::new(AppAuthEndpoint {
        authority: AuthorityKey::new(AxPublicKey::from_text(AUTHORITY)?)?,
        licensing: Licensing::development(),
        issuer,
    });

    let mut config = AuthConfig::new(prefix, Environment::Test);
    config.user_tokens = Some(UserTokenConfig {
        verifier: Arc::new(ut_verifier),
        required_scope: "user:rate".into(),
        revocations: Arc::new(SharedRevocations::default()),
    });
    config.app_tokens = Some(AppTokenConfig {
        verifier: Arc::new(app_verifier),
    });
    config.public_paths = vec!["/api/v2/auth".into(), "/healthz".into()];
    let layer = AuthLayer::new(config, resolver, Arc::new(MemoryReplayStore::default()));

    let handler = HandlerFn(move |req: http::Request<Full<Bytes>>| {
        let user_tokens = user_tokens.clone();
        let app_auth = app_auth.clone();
        async move {
            let path = req.uri().path().to_owned();
            let principal = req.extensions().get::<Principal>().cloned();
            if path == "/api/rates" {
                if let Err(r) = require_scope(&req, "user:rate") {
                    return r.into_response();
                }
                return json(
                    200,
                    serde_json::json!({"symbol": "ETHEUR", "rate": "3120.55"}),
                );
            }
            let body = req
                .into_body()
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            match (path.as_str(), principal) {
                ("/healthz", _) => json(200, serde_json::json!({"ok": true})),
                ("/api/v2/auth", _) => app_auth.handle(&body, SystemClock.now()),
                ("/api/auth/sessions", Some(p)) if p.scheme == SchemeKind::ApiKey => {
                    issue_session(&user_tokens, &p, &body, SystemClock.now())
                }
                (_, Some(p)) => json(
                    200,
                    serde_json::json!({
                        "partner": p.partner, "scheme": p.scheme.as_str(), "key_id": p.key_id,
                    }),
                ),
                (_, None) => json(404, serde_json::json!({"error": "not found"})),
            }
        }
    });
    let addr = std::env::var("PA_DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "listening on http://{}; demo credentials in {}",
        listener.local_addr()?,
        dir.display()
    );
    auth_http::server::serve(listener, layer.layer(handler)).await?;
    Ok(())
}
