//! A development server for trying the partner schemes: every path names the schemes it
//! accepts, demo credentials are registered as sandbox (`test`) credentials and written to
//! `target/demo-credentials/` (or `PA_DEMO_DIR`; the directory is mode 0700, each file 0600)
//! for the example clients:
//!
//! ```sh
//! cargo run -p auth-http --example protected_server        # listens on 127.0.0.1:8080
//! cargo run -p auth-http --example client_api_key          # in another terminal
//! ```
//!
//! Routes (the first match decides; a path not listed accepts nothing):
//!
//! | path | accepts |
//! | --- | --- |
//! | `GET /healthz`, `POST /api/v2/auth` (app manifest in, app token out) | public |
//! | `GET /api/rates` (needs the scope `user:rate`) | restricted user tokens only |
//! | `POST /api/auth/sessions` (mints a user token) | partner credentials only: API key, RFC 9421, JWT |
//! | `GET /widget?payload=...&signature=...` | Altalix signed payload URLs only |
//! | `GET /demo/trial-app` | app tokens, trial apps (unsigned `com.example.*`) included |
//! | `GET`, `POST /orders` | API key, Qredo, RFC 9421, JWT, Smile, and app tokens of signed apps |
//!
//! Because it is for development, rejections are detailed (`Disclosure::Detailed`: the exact
//! code and message); a production server keeps the default opaque answers.
#![allow(clippy::expect_used, clippy::print_stdout)]

mod common;
#[path = "common/secret_files.rs"]
mod secret_files;

use auth_core::apikey::{self, ApiKeyDigest, Environment, KeyPrefix};
use auth_core::credential::{Credential, CredentialRef, Material, Purpose, QredoMode};
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
    Accept, AppAuthEndpoint, AppTokenConfig, AuthConfig, AuthLayer, Disclosure, HandlerFn,
    MemoryReplayStore, MemoryResolver, Principal, RequestBody, Route, Routes, SharedRevocations,
    TrialApps, UserTokenConfig, issue_session, require_scope,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::sync::Arc;
use tower_layer::Layer;

const AUTHORITY: &str = "075i62XGQJuXjv6nnLQyJzECZhF29acYvYeEOJ3kc5M8=";
/// Every demo credential is a sandbox credential; the partner routes serve only those.
const ENV: Environment = Environment::Test;

fn json(status: u16, body: serde_json::Value) -> http::Response<Full<Bytes>> {
    let mut r = http::Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = http::StatusCode::from_u16(status).expect("status");
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

/// The partner schemes of `/orders`, after the schemes `route` already lists.
fn partner_schemes(route: Route) -> Route {
    route
        .accept(Accept::ApiKey)
        .accept(Accept::qredo())
        .accept(Accept::http_signature())
        .accept(Accept::jwt())
        .accept(Accept::smile())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rng = SystemRandom::new();
    let dir = common::demo_dir();
    secret_files::private_dir(&dir)?;
    let write = |name: &str, data: &[u8]| secret_files::write_secret(&dir, name, data);
    let resolver = Arc::new(MemoryResolver::new());

    // Bearer API key (ours, `pa_test_...`), allowed to mint user:rate tokens.
    let prefix = KeyPrefix::new("pa")?;
    let api_key = apikey::generate(&prefix, ENV, &rng)?;
    resolver.insert(
        Credential::api_key("demo-partner", api_key.digest(), ENV)?.with_scopes(["user:rate"]),
    );
    write("api_key.txt", api_key.expose().as_bytes())?;

    // Qredo: an opaque Base64 `x-api-key` bound to the partner's RSA key (PKCS#1, as Qredo
    // partners make) and to timestamp mode. It is a Qredo key only: sent alone as a bearer key
    // it is not recognised.
    let qredo_api_key = auth_core::encoding::b64_encode(&auth_core::rand::bytes::<24>(&rng)?);
    let qredo_rsa = keys::generate_rsa(2048, &rng)?;
    resolver.insert(Credential::new(
        "qredo-partner",
        "qredo-rsa",
        ENV,
        Material::Qredo {
            api_key: ApiKeyDigest::of(&qredo_api_key),
            public_key: Arc::new(VerifyingKey::new(
                &qredo_rsa.public_key(),
                SignatureAlgorithm::RsaPkcs1Sha256,
            )?),
            mode: QredoMode::Timestamp,
        },
    )?);
    write("qredo_api_key.txt", qredo_api_key.as_bytes())?;
    write("qredo_key.pem", qredo_rsa.to_traditional_pem().expose())?;

    // RFC 9421: an Ed25519 key registered under its key ID.
    let ed = keys::generate_ed25519(&rng)?;
    resolver.insert(Credential::new(
        "sig-partner",
        "demo-ed25519",
        ENV,
        Material::HttpSignature(Arc::new(VerifyingKey::new(
            &ed.public_key(),
            SignatureAlgorithm::Ed25519,
        )?)),
    )?);
    write("ed25519_key.pem", ed.to_pkcs8_pem().expose())?;

    // Altalix signed payload URLs: an RSA key registered under its key ID for partner
    // `altalix-partner` (the payload must name both).
    let altalix_rsa = keys::generate_rsa(2048, &rng)?;
    resolver.insert(Credential::new(
        "altalix-partner",
        "altalix-key-1",
        ENV,
        Material::Altalix(Arc::new(VerifyingKey::new(
            &altalix_rsa.public_key(),
            SignatureAlgorithm::RsaPkcs1Sha256,
        )?)),
    )?);
    write("altalix_key.pem", altalix_rsa.to_traditional_pem().expose())?;

    // JWT partner tokens: HS256 with a shared secret, registered under its key ID and bound to
    // client ID `demo-client`; the client's tokens carry no `kid`, so the key is also found by
    // that client ID.
    let jwt_secret = auth_core::encoding::b64url_encode(&auth_core::rand::bytes::<32>(&rng)?);
    let jwt_key = JwtKey::hmac(
        &HmacSecret::from_bytes(jwt_secret.as_bytes())?,
        Algorithm::HS256,
    )?
    .with_kid("demo-jwt-hs256")
    .for_client("demo-client");
    let jwt = Credential::new(
        "jwt-partner",
        "demo-jwt-hs256",
        ENV,
        Material::Jwt(Arc::new(jwt_key)),
    )?;
    resolver.insert_alias(
        CredentialRef::parse(Purpose::JwtClientKey, "demo-client")?,
        jwt.clone(),
    );
    resolver.insert(jwt);
    write("jwt_secret.txt", jwt_secret.as_bytes())?;

    // Smile: partner 085 whose API key is the HMAC secret (found by partner ID).
    let smile_key = auth_core::encoding::b64_encode(&auth_core::rand::bytes::<24>(&rng)?);
    resolver.insert(Credential::new(
        "085",
        "085",
        ENV,
        Material::Smile(Arc::new(SmileKey::new(smile_key.as_bytes())?)),
    )?);
    write("smile_api_key.txt", smile_key.as_bytes())?;

    // Restricted user tokens, signed with a provider-only secret.
    let ut_secret = HmacSecret::from_bytes(&auth_core::rand::bytes::<32>(&rng)?)?;
    let user_tokens = Arc::new(UserTokenIssuer::new(
        JwtSigner::hmac(&ut_secret, Algorithm::HS256)?,
        "partner-auth-demo",
    ));
    let mut user_token_config = UserTokenConfig::new(
        Arc::new(UserTokenVerifier::new(
            JwtKey::hmac(&ut_secret, Algorithm::HS256)?,
            "partner-auth-demo",
        )?),
        "user:rate",
        Arc::new(SharedRevocations::default()),
    );
    user_token_config.environment = ENV;

    // App tokens: this node's key, epoch 1, development licensing.
    let node_key = SigningKey::new(
        &keys::generate_ed25519(&rng)?,
        SignatureAlgorithm::Ed25519,
        &rng,
    )?;
    let issuer = TokenIssuer::new(node_key, Epoch(1))?;
    let mut signed_apps = AppTokenConfig::new(Arc::new(TokenVerifier::new(
        &issuer.public_key()?,
        Epoch(1),
    )?));
    signed_apps.environment = ENV;
    let trial_apps = signed_apps.clone().with_trial_apps(TrialApps::Accept);
    let app_auth = Arc::new(AppAuthEndpoint {
        authority: AuthorityKey::new(AxPublicKey::from_text(AUTHORITY)?)?,
        licensing: Licensing::development(),
        issuer,
    });

    let routes = Routes::new()
        .exact("/healthz", Route::public())
        .exact("/api/v2/auth", Route::public())
        .exact(
            "/api/rates",
            Route::new()
                .accept(Accept::UserToken(user_token_config))
                .require_environment(ENV),
        )
        // Only a partner's own credential may mint user tokens: never a token.
        .exact(
            "/api/auth/sessions",
            Route::new()
                .accept(Accept::ApiKey)
                .accept(Accept::http_signature())
                .accept(Accept::jwt())
                .require_environment(ENV),
        )
        .exact(
            "/widget",
            Route::new()
                .accept(Accept::altalix())
                .require_environment(ENV),
        )
        // The one route where unsigned trial apps are let in, for trying the app flow.
        .exact(
            "/demo/trial-app",
            Route::new()
                .accept(Accept::AppToken(trial_apps))
                .require_environment(ENV),
        )
        .prefix(
            "/orders",
            partner_schemes(Route::new().accept(Accept::AppToken(signed_apps)))
                .require_environment(ENV),
        );
    let mut config = AuthConfig::new(prefix, routes);
    config.disclosure = Disclosure::Detailed;
    let layer = AuthLayer::new(config, resolver, Arc::new(MemoryReplayStore::default()));

    let handler = HandlerFn(move |req: http::Request<RequestBody>| {
        let user_tokens = user_tokens.clone();
        let app_auth = app_auth.clone();
        async move {
            let path = req.uri().path().to_owned();
            if path == "/api/rates" {
                if let Err(r) = require_scope(&req, "user:rate") {
                    return r.into_response();
                }
                return json(
                    200,
                    serde_json::json!({"symbol": "ETHEUR", "rate": "3120.55"}),
                );
            }
            let principal = req.extensions().get::<Principal>().cloned();
            let body = match req.into_body().collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(e) => return json(400, serde_json::json!({"error": e.to_string()})),
            };
            match (path.as_str(), principal) {
                ("/healthz", _) => json(200, serde_json::json!({"ok": true})),
                ("/api/v2/auth", _) => app_auth.handle(&body, SystemClock.now()),
                ("/api/auth/sessions", Some(p)) => {
                    issue_session(&user_tokens, &p, &body, SystemClock.now())
                }
                (_, Some(p)) => json(
                    200,
                    serde_json::json!({
                        "path": path,
                        "partner": p.partner.as_str(),
                        "scheme": p.scheme.as_str(),
                        "credential": p.credential.to_wire(),
                        "environment": p.environment.as_str(),
                        "scopes": p.scopes.iter().collect::<Vec<_>>(),
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
