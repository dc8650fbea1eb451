//! Independent clients against our server: Python `requests` with PyJWT (exactly the seed's
//! `jwt.encode(payload, secret, algorithm="HS256")`) and with `http-message-signatures`, and
//! node with `jsonwebtoken` (`jwt.sign(payload, secretKey)`, the seed's default HS256). Each is
//! accepted with the right key and rejected with a wrong one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../auth-core/tests/common/mod.rs"]
mod common;

use auth_core::apikey::{Environment, KeyPrefix};
use auth_core::credential::{Credential, Material};
use auth_core::keys::{self, HmacSecret, SignatureAlgorithm, VerifyingKey};
use auth_core::rand::SystemRandom;
use auth_core::scheme::jwt::{Algorithm, JwtKey};
use auth_http::server::{
    Accept, AuthConfig, AuthLayer, Disclosure, HandlerFn, MemoryReplayStore, MemoryResolver,
    Principal, RequestBody, Route, Routes,
};
use bytes::Bytes;
use http_body_util::Full;
use std::sync::Arc;
use tower_layer::Layer;

const SECRET: &str = "seed-partner-secret-key-0123456789";

async fn handler(req: http::Request<RequestBody>) -> http::Response<Full<Bytes>> {
    let p = req.extensions().get::<Principal>().cloned().unwrap();
    http::Response::new(Full::new(Bytes::from(format!(
        "{}:{}",
        p.partner,
        p.scheme.as_str()
    ))))
}

/// Starts the server; returns its base URL and the Ed25519 private key PEM registered as
/// `py-ed25519`.
async fn start() -> (String, String) {
    let resolver = Arc::new(MemoryResolver::new());
    let key = JwtKey::hmac(
        &HmacSecret::from_bytes(SECRET.as_bytes()).unwrap(),
        Algorithm::HS256,
    )
    .unwrap()
    .for_client("seed-client");
    resolver.insert(
        Credential::new(
            "seed",
            "seed-client",
            Environment::Live,
            Material::Jwt(Arc::new(key)),
        )
        .unwrap(),
    );
    let ed = keys::generate_ed25519(&SystemRandom::new()).unwrap();
    resolver.insert(
        Credential::new(
            "py",
            "py-ed25519",
            Environment::Live,
            Material::HttpSignature(Arc::new(
                VerifyingKey::new(&ed.public_key(), SignatureAlgorithm::Ed25519).unwrap(),
            )),
        )
        .unwrap(),
    );
    let route = Route::new()
        .accept(Accept::jwt())
        .accept(Accept::http_signature());
    let mut config = AuthConfig::new(
        KeyPrefix::new("pa").unwrap(),
        Routes::new().prefix("/", route),
    );
    config.disclosure = Disclosure::Detailed;
    let layer = AuthLayer::new(config, resolver, Arc::new(MemoryReplayStore::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(auth_http::server::serve(
        listener,
        layer.layer(HandlerFn(handler)),
    ));
    let pem = String::from_utf8(ed.to_pkcs8_pem().expose().to_vec()).unwrap();
    (base, pem)
}

/// Runs a blocking interop script off the runtime thread (the server runs on it).
async fn blocking<F: FnOnce() -> Vec<u8> + Send + 'static>(f: F) -> String {
    let out = tokio::task::spawn_blocking(f).await.unwrap();
    String::from_utf8(out).unwrap().trim().to_owned()
}

const PYJWT_CLIENT: &str = r#"
import sys, time, jwt, requests
url, secret = sys.argv[1], sys.argv[2]
payload = {"clientId": "seed-client", "iat": int(time.time()), "exp": int(time.time()) + 900}
token = jwt.encode(payload, secret, algorithm="HS256")
r = requests.get(url, headers={"Authorization": "Bearer " + token})
print(r.status_code, r.text)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_pyjwt_client() {
    let Some(python) = common::python() else {
        return;
    };
    let (base, _) = start().await;
    let url = format!("{base}/orders");
    let (p, u) = (python.clone(), url.clone());
    let ok = blocking(move || common::run_python(&p, PYJWT_CLIENT, &[&u, SECRET], b"")).await;
    assert_eq!(ok, "200 seed:jwt");
    let bad = blocking(move || {
        common::run_python(
            &python,
            PYJWT_CLIENT,
            &[&url, "a-different-secret-0123456789abcd"],
            b"",
        )
    })
    .await;
    assert!(
        bad.starts_with("401 ") && bad.contains("invalid_token"),
        "{bad}"
    );
}

const HTTPSIG_CLIENT: &str = r#"
import sys, datetime, secrets, requests
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms
url, key_path = sys.argv[1], sys.argv[2]
key = load_pem_private_key(open(key_path, "rb").read(), password=None)
class Resolver(HTTPSignatureKeyResolver):
    def resolve_private_key(self, key_id):
        return key
body = b'{"symbol":"ETHEUR","sell_volume":25}'
req = requests.Request("POST", url, data=body, headers={"Content-Type": "application/json"}).prepare()
signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=Resolver())
signer.sign(req, key_id="py-ed25519", label="sig1", nonce=secrets.token_urlsafe(16),
            created=datetime.datetime.now(datetime.timezone.utc),
            covered_component_ids=("@method", "@authority", "@path", "@query"), body=body)
r = requests.Session().send(req)
print(r.status_code, r.text)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_http_message_signatures_client() {
    let Some(python) = common::python() else {
        return;
    };
    let (base, pem) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.pem");
    std::fs::write(&good, pem).unwrap();
    let wrong = dir.path().join("wrong.pem");
    let other = keys::generate_ed25519(&SystemRandom::new()).unwrap();
    std::fs::write(&wrong, other.to_pkcs8_pem().expose()).unwrap();
    let url = format!("{base}/orders?page=2");
    let (p, u, g) = (
        python.clone(),
        url.clone(),
        good.to_str().unwrap().to_owned(),
    );
    let ok = blocking(move || common::run_python(&p, HTTPSIG_CLIENT, &[&u, &g], b"")).await;
    assert_eq!(ok, "200 py:http_signature");
    let w = wrong.to_str().unwrap().to_owned();
    let bad = blocking(move || common::run_python(&python, HTTPSIG_CLIENT, &[&url, &w], b"")).await;
    assert!(
        bad.starts_with("401 ") && bad.contains("signature_mismatch"),
        "{bad}"
    );
}

const NODE_CLIENT: &str = r#"
const jwt = require('jsonwebtoken');
const [url, secretKey] = process.argv.slice(-2);
const now = Math.floor(Date.now() / 1000);
const token = jwt.sign({ clientId: 'seed-client', iat: now, exp: now + 900 }, secretKey);
fetch(url, { headers: { Authorization: 'Bearer ' + token } })
  .then(async (r) => console.log(r.status, await r.text()))
  .catch((e) => { console.error(e); process.exit(1); });
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_jsonwebtoken_client() {
    let Some(node_path) = common::node_path() else {
        return;
    };
    let (base, _) = start().await;
    let url = format!("{base}/orders");
    let (n, u) = (node_path.clone(), url.clone());
    let ok = blocking(move || common::run_node(&n, NODE_CLIENT, &[&u, SECRET], b"")).await;
    assert_eq!(ok, "200 seed:jwt");
    let bad = blocking(move || {
        common::run_node(
            &node_path,
            NODE_CLIENT,
            &[&url, "a-different-secret-0123456789abcd"],
            b"",
        )
    })
    .await;
    assert!(
        bad.starts_with("401 ") && bad.contains("invalid_token"),
        "{bad}"
    );
}
