//! Shared fixtures of the gateway tests: registered credentials of three schemes, the gateway
//! service and an upstream that checks bodies with `ContentDigestCheck` and echoes the
//! `X-Auth-*` headers it got, all on 127.0.0.1.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::apikey::{self, Environment, KeyPrefix};
use auth_core::credential::{Credential, Material, QredoMode};
use auth_core::keys::{self, PrivateKey, SignatureAlgorithm, SigningKey, VerifyingKey};
use auth_core::rand::SystemRandom;
use auth_http::client::{ClientAuth, HttpSignatureAuth, QredoAuth, QredoFreshness};
use auth_http::server::{
    Accept, AuthConfig, AuthLayer, ContentDigestCheck, MemoryReplayStore, MemoryResolver,
    RequestBody, Route, Routes,
};
use auth_verify::gateway::GatewayConfig;
use axum::Router;
use http_body_util::BodyExt;
use std::net::SocketAddr;
use std::sync::Arc;
use tower_layer::Layer;

pub(crate) const RSA_PEM: &str = include_str!("../../../../testvectors/fixtures/rsa2048-pkcs1.pem");
pub(crate) const QREDO_KEY: &str = "cXJlZG8tc2FuZGJveC1rZXktZm9yLXRlc3Rz";
/// Live RFC 9421 key ID; `ED_TEST_KEY` is registered in the `test` environment.
pub(crate) const ED_KEY: &str = "ed-key-1";
pub(crate) const ED_TEST_KEY: &str = "ed-test-1";

pub(crate) struct Fixture {
    pub(crate) resolver: Arc<MemoryResolver>,
    pub(crate) api_key: String,
    /// Well-formed, never registered.
    pub(crate) unknown_api_key: String,
    pub(crate) rsa: PrivateKey,
    pub(crate) ed: PrivateKey,
    pub(crate) ed_test: PrivateKey,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        let rng = SystemRandom::new();
        let resolver = Arc::new(MemoryResolver::new());
        let prefix = KeyPrefix::new("pa").unwrap();
        let issued = apikey::generate(&prefix, Environment::Live, &rng).unwrap();
        resolver.insert(
            Credential::api_key("acme", issued.digest(), Environment::Live)
                .unwrap()
                .with_scopes(["orders:read", "orders:write"]),
        );
        let unknown = apikey::generate(&prefix, Environment::Live, &rng).unwrap();
        let rsa = PrivateKey::from_pem(RSA_PEM).unwrap();
        let digest = apikey::ApiKeyDigest::of(QREDO_KEY);
        resolver.insert(
            Credential::new(
                "qredo-partner",
                &digest.to_hex(),
                Environment::Live,
                Material::Qredo {
                    api_key: digest,
                    public_key: Arc::new(
                        VerifyingKey::new(&rsa.public_key(), SignatureAlgorithm::RsaPkcs1Sha256)
                            .unwrap(),
                    ),
                    mode: QredoMode::Timestamp,
                },
            )
            .unwrap(),
        );
        let ed = keys::generate_ed25519(&rng).unwrap();
        let ed_test = keys::generate_ed25519(&rng).unwrap();
        for (partner, id, env, key) in [
            ("sig-partner", ED_KEY, Environment::Live, &ed),
            ("sig-partner", ED_TEST_KEY, Environment::Test, &ed_test),
        ] {
            resolver.insert(
                Credential::new(
                    partner,
                    id,
                    env,
                    Material::HttpSignature(Arc::new(
                        VerifyingKey::new(&key.public_key(), SignatureAlgorithm::Ed25519).unwrap(),
                    )),
                )
                .unwrap(),
            );
        }
        Self {
            resolver,
            api_key: issued.expose().to_owned(),
            unknown_api_key: unknown.expose().to_owned(),
            rsa,
            ed,
            ed_test,
        }
    }

    /// Every path accepts API keys, Qredo and RFC 9421; bodies up to 4 MiB; opaque errors.
    pub(crate) fn layer(&self) -> AuthLayer {
        let route = Route::new()
            .accept(Accept::ApiKey)
            .accept(Accept::qredo())
            .accept(Accept::http_signature());
        let mut config = AuthConfig::new(
            KeyPrefix::new("pa").unwrap(),
            Routes::new().prefix("/", route),
        );
        config.body_limit = 4 * 1024 * 1024;
        AuthLayer::new(
            config,
            self.resolver.clone(),
            Arc::new(MemoryReplayStore::default()),
        )
    }

    pub(crate) fn ed_auth(&self) -> HttpSignatureAuth {
        HttpSignatureAuth::new(
            ED_KEY,
            SigningKey::new(&self.ed, SignatureAlgorithm::Ed25519, &SystemRandom::new()).unwrap(),
        )
    }

    pub(crate) fn ed_test_auth(&self) -> HttpSignatureAuth {
        HttpSignatureAuth::new(
            ED_TEST_KEY,
            SigningKey::new(
                &self.ed_test,
                SignatureAlgorithm::Ed25519,
                &SystemRandom::new(),
            )
            .unwrap(),
        )
    }

    pub(crate) fn qredo_auth(&self) -> QredoAuth {
        QredoAuth::new(
            QREDO_KEY,
            SigningKey::new(
                &self.rsa,
                SignatureAlgorithm::RsaPkcs1Sha256,
                &SystemRandom::new(),
            )
            .unwrap(),
            QredoFreshness::Timestamp,
        )
    }
}

/// Serves `app` on 127.0.0.1 with the peer address available; returns its address.
pub(crate) async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

/// The gateway endpoints, trusting 127.0.0.1 only.
pub(crate) async fn start_gateway(fixture: &Fixture) -> SocketAddr {
    let config = GatewayConfig {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..GatewayConfig::default()
    };
    serve(auth_verify::gateway::router(fixture.layer(), config)).await
}

/// An upstream answering JSON: the `X-Auth-*` headers it got, the path, method and body
/// length; behind `ContentDigestCheck` when `checked` (digest-bound gateways).
pub(crate) async fn start_upstream(checked: bool) -> SocketAddr {
    let echo = tower::service_fn(|req: http::Request<RequestBody>| async move {
        let (parts, body) = req.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let auth: serde_json::Map<String, serde_json::Value> = parts
            .headers
            .iter()
            .filter(|(k, _)| k.as_str().starts_with("x-auth-"))
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("?").into()))
            .collect();
        let answer = serde_json::json!({
            "path": parts.uri.path_and_query().map(|p| p.as_str()),
            "method": parts.method.as_str(),
            "auth": auth,
            "body_len": bytes.len(),
        });
        Ok::<_, std::convert::Infallible>(
            http::Response::builder()
                .header("content-type", "application/json")
                .body(axum::body::Body::from(answer.to_string()))
                .unwrap(),
        )
    });
    if checked {
        serve(Router::new().fallback_service(ContentDigestCheck::new().layer(echo))).await
    } else {
        let plain = tower::ServiceExt::map_request(echo, |req: http::Request<axum::body::Body>| {
            req.map(RequestBody::new)
        });
        serve(Router::new().fallback_service(plain)).await
    }
}

/// Signs `req` (whose body is `body`) with `auth`.
pub(crate) async fn signed(
    auth: &dyn ClientAuth,
    mut req: reqwest::Request,
    body: &[u8],
) -> reqwest::Request {
    auth.authorize(&mut req, body).await.unwrap();
    req
}

pub(crate) async fn json(resp: reqwest::Response) -> (u16, serde_json::Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// Whether the real gateways can run; `None` means skip (and says so).
pub(crate) fn gateway_binary(name: &str) -> Option<std::path::PathBuf> {
    let found = ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"]
        .iter()
        .map(|d| std::path::Path::new(d).join(name))
        .find(|p| p.exists());
    match found {
        Some(p) => Some(p),
        None if std::env::var("PA_SKIP_GATEWAYS").as_deref() == Ok("1") => {
            eprintln!("SKIPPED: {name} is not installed and PA_SKIP_GATEWAYS=1");
            None
        }
        None => panic!(
            "{name} is not installed: run `apt-get install nginx caddy` (or set \
             PA_SKIP_GATEWAYS=1 to skip the real-gateway tests)"
        ),
    }
}

/// A port free right now on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on `port`.
pub(crate) async fn wait_listening(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("nothing listens on 127.0.0.1:{port}");
}
