//! Runs the real `auth-verify` binary on 127.0.0.1 for the end-to-end tests: a private data
//! directory, a free port, readiness by `/healthz`, and an admin client that signs requests
//! with an Ed25519 admin key (RFC 9421) through auth-http's client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::keys::{PrivateKey, SignatureAlgorithm, SigningKey, generate_ed25519};
use auth_core::rand::SystemRandom;
use auth_core::scheme::apptrust::AxPublicKey;
use auth_http::client::{AuthClient, HttpSignatureAuth};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A running service.
pub(crate) struct Service {
    child: Option<Child>,
    pub(crate) base: String,
    pub(crate) port: u16,
    pub(crate) data_dir: PathBuf,
    pub(crate) stderr_path: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

pub(crate) fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_auth-verify")
}

pub(crate) fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl Service {
    /// Starts on a fresh data directory.
    pub(crate) fn start() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let mut s = Self::start_in(&dir, &[]).expect("the service starts");
        s._tmp = Some(tmp);
        s
    }

    /// Starts on `data_dir` with extra arguments after `serve`; `Err(stderr)` if it exits.
    pub(crate) fn start_in(data_dir: &Path, extra: &[&str]) -> Result<Self, String> {
        Self::start_with(data_dir, extra, &[])
    }

    /// As `start_in`, with extra environment variables.
    pub(crate) fn start_with(
        data_dir: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Self, String> {
        let port = free_port();
        let log_dir = data_dir.parent().unwrap_or(data_dir).to_path_buf();
        std::fs::create_dir_all(&log_dir).unwrap();
        let stderr_path = log_dir.join(format!("stderr-{port}.log"));
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut cmd = Command::new(binary());
        cmd.arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .env_remove("AUTH_VERIFY_MASTER_KEY")
            .stdout(Stdio::null())
            .stderr(stderr);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let log = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                return Err(format!("exited with {status}: {log}"));
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the service did not start in 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self {
            child: Some(child),
            base,
            port,
            data_dir: data_dir.to_path_buf(),
            stderr_path,
            _tmp: None,
        })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Stops with SIGTERM (graceful) and waits.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while child.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.wait();
        }
    }

    /// Takes the temporary directory out so a restart can reuse it.
    pub(crate) fn keep_dir(&mut self) -> Option<tempfile::TempDir> {
        self._tmp.take()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// An admin: an Ed25519 key and a client that signs every request with it.
pub(crate) struct Admin {
    pub(crate) auth: Arc<HttpSignatureAuth>,
    pub(crate) key_text: String,
    pub(crate) private: PrivateKey,
    pub(crate) client: AuthClient,
}

impl Admin {
    pub(crate) fn new() -> Self {
        let rng = SystemRandom::new();
        let private = generate_ed25519(&rng).unwrap();
        Self::from_private(private)
    }

    pub(crate) fn from_private(private: PrivateKey) -> Self {
        let rng = SystemRandom::new();
        let public = AxPublicKey::from_public_key(&private.public_key()).unwrap();
        let key_text = public.to_text();
        let signer = SigningKey::new(&private, SignatureAlgorithm::Ed25519, &rng).unwrap();
        let auth = Arc::new(HttpSignatureAuth::new(&key_text, signer));
        let client = AuthClient::new(auth.clone()).unwrap();
        Self {
            auth,
            key_text,
            private,
            client,
        }
    }

    /// Sends a signed request; answers status and JSON body (Null when empty).
    pub(crate) async fn call(&self, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self.client.http().request(method, url);
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&b).unwrap());
        }
        let resp = self.client.send(rb).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, value)
    }

    /// Sends raw bytes as the body (malformed JSON tests).
    pub(crate) async fn call_raw(&self, method: &str, url: &str, body: Vec<u8>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let rb = self
            .client
            .http()
            .request(method, url)
            .header("content-type", "application/json")
            .body(body);
        let resp = self.client.send(rb).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

/// Creates a partner and issues one API key; answers (key text, reference).
pub(crate) async fn partner_with_key(
    svc: &Service,
    admin: &Admin,
    partner: &str,
    env: &str,
) -> (String, String) {
    let (s, body) = admin
        .call(
            "POST",
            &svc.url("/admin/partners"),
            Some(serde_json::json!({"id": partner, "name": format!("{partner} Ltd")})),
        )
        .await;
    assert!(s == 201 || s == 409, "{s} {body}");
    let (s, issued) = admin
        .call(
            "POST",
            &svc.url(&format!("/admin/partners/{partner}/api-keys")),
            Some(serde_json::json!({"name": format!("key-{}", free_port()), "environment": env, "scopes": ["orders:read"]})),
        )
        .await;
    assert_eq!(s, 201, "{issued}");
    (
        issued["secret"].as_str().unwrap().to_owned(),
        issued["credential"]["reference"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

/// Asks `/v1/verify` about a GET of `url` with `headers`; answers the JSON answer.
pub(crate) async fn verify(
    svc: &Service,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Value {
    use base64::Engine;
    let desc = serde_json::json!({
        "method": method,
        "url": url,
        "headers": headers.iter().map(|(k, v)| [k.to_string(), v.to_string()]).collect::<Vec<_>>(),
        "body_b64": base64::engine::general_purpose::STANDARD.encode(body),
    });
    let resp = reqwest::Client::new()
        .post(svc.url("/v1/verify"))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&desc).unwrap())
        .send()
        .await
        .unwrap();
    serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap()
}

/// Ask forward-auth (nginx style) about `uri` with `headers`; answers status and headers.
pub(crate) async fn forward_auth(
    svc: &Service,
    uri: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap) {
    let mut rb = reqwest::Client::new()
        .get(svc.url("/forward-auth/nginx"))
        .header("x-original-uri", uri)
        .header("x-original-method", "GET");
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let resp = rb.send().await.unwrap();
    (resp.status().as_u16(), resp.headers().clone())
}
