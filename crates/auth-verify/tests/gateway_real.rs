//! Real gateways in front of a dummy upstream, on 127.0.0.1: a private nginx with
//! `auth_request` and a private Caddy with `forward_auth`, both asking the forward-auth
//! endpoints in digest-bound mode; the upstream checks bodies with `ContentDigestCheck`.
//! Missing binaries fail the test (install `nginx caddy`) unless `PA_SKIP_GATEWAYS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_http::client::{ApiKeyAuth, ApiKeyPlacement, ClientAuth};
use common::*;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

/// Kills the gateway when the test ends, however it ends, then removes its directory.
struct Running(Child, #[allow(dead_code)] tempfile::TempDir);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_nginx(
    binary: &std::path::Path,
    port: u16,
    gateway: SocketAddr,
    upstream: SocketAddr,
) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let config = format!(
        r#"
daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    client_max_body_size 0;
    server {{
        listen 127.0.0.1:{port};
        location = /_auth {{
            internal;
            proxy_pass http://{gateway}/forward-auth/nginx;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
        location / {{
            auth_request /_auth;
            auth_request_set $auth_partner $upstream_http_x_auth_partner;
            auth_request_set $auth_key_id $upstream_http_x_auth_key_id;
            auth_request_set $auth_scheme $upstream_http_x_auth_scheme;
            auth_request_set $auth_scopes $upstream_http_x_auth_scopes;
            auth_request_set $auth_environment $upstream_http_x_auth_environment;
            auth_request_set $auth_digest $upstream_http_x_auth_content_digest;
            # Set on every request (empty removes it): a client can never supply its own.
            proxy_set_header X-Auth-Partner $auth_partner;
            proxy_set_header X-Auth-Key-Id $auth_key_id;
            proxy_set_header X-Auth-Scheme $auth_scheme;
            proxy_set_header X-Auth-Scopes $auth_scopes;
            proxy_set_header X-Auth-Environment $auth_environment;
            proxy_set_header X-Auth-Content-Digest $auth_digest;
            proxy_pass http://{upstream};
        }}
    }}
}}
"#
    );
    let path = dir.path().join("nginx.conf");
    std::fs::write(&path, config).unwrap();
    let child = Command::new(binary)
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&path)
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Running(child, dir)
}

fn start_caddy(
    binary: &std::path::Path,
    port: u16,
    gateway: SocketAddr,
    upstream: SocketAddr,
) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"{{
    admin off
    auto_https off
}}
http://127.0.0.1:{port} {{
    forward_auth {gateway} {{
        uri /forward-auth/caddy
        copy_headers X-Auth-Partner X-Auth-Key-Id X-Auth-Scheme X-Auth-Scopes X-Auth-Environment X-Auth-Content-Digest
    }}
    reverse_proxy {upstream}
}}
"#
    );
    let path = dir.path().join("Caddyfile");
    std::fs::write(&path, config).unwrap();
    let child = Command::new(binary)
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&path)
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Running(child, dir)
}

/// The same checks through any gateway at `front`.
async fn exercise(f: &Fixture, front: u16) {
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{front}/orders/42?verbose=1");

    // A correct GET (RFC 9421, Ed25519): the upstream gets the verified headers.
    let req = signed(&f.ed_auth(), http.get(&url).build().unwrap(), b"").await;
    let (status, answer) = json(http.execute(req).await.unwrap()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["path"], "/orders/42?verbose=1");
    assert_eq!(answer["auth"]["x-auth-partner"], "sig-partner");
    assert_eq!(answer["auth"]["x-auth-key-id"], ED_KEY);
    assert_eq!(answer["auth"]["x-auth-scheme"], "http_signature");
    assert_eq!(answer["auth"]["x-auth-environment"], "live");

    // API key, with forged X-Auth-* headers that the gateway replaces.
    let req = http
        .get(&url)
        .header("x-auth-partner", "forged")
        .header("x-auth-scopes", "admin")
        .build()
        .unwrap();
    let req = signed(
        &ApiKeyAuth::new(&f.api_key, ApiKeyPlacement::XApiKey),
        req,
        b"",
    )
    .await;
    let (status, answer) = json(http.execute(req).await.unwrap()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["auth"]["x-auth-partner"], "acme");
    assert_eq!(answer["auth"]["x-auth-scopes"], "orders:read orders:write");

    // A POST with a body over 1 MiB, digest-bound.
    let body: Vec<u8> = (0..1_500_000u32).map(|i| (i % 251) as u8).collect();
    let req = signed(
        &f.ed_auth(),
        http.post(&url).body(body.clone()).build().unwrap(),
        &body,
    )
    .await;
    let (status, answer) = json(http.execute(req).await.unwrap()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["body_len"], body.len());
    assert!(
        answer["auth"]["x-auth-content-digest"]
            .as_str()
            .unwrap()
            .starts_with("sha-256=:")
    );

    // A wrong key: stopped at the gateway.
    let wrong = ApiKeyAuth::new(&f.unknown_api_key, ApiKeyPlacement::Bearer);
    let req = signed(&wrong, http.get(&url).build().unwrap(), b"").await;
    let resp = http.execute(req).await.unwrap();
    assert_eq!(resp.status(), 401);
    let req = signed(
        &common_wrong_signer(f),
        http.get(&url).build().unwrap(),
        b"",
    )
    .await;
    assert_eq!(http.execute(req).await.unwrap().status(), 401);

    // A body swapped after signing passes the gateway (it never sees bodies) and is stopped
    // by the upstream's check against the signed digest.
    let req = http.post(&url).body(body.clone()).build().unwrap();
    let mut req = signed(&f.ed_auth(), req, &body).await;
    let mut tampered = body.clone();
    tampered[700_000] ^= 1;
    *req.body_mut() = Some(reqwest::Body::from(tampered));
    let (status, answer) = json(http.execute(req).await.unwrap()).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["code"], "digest_mismatch", "{answer}");
}

/// Signs as `ED_KEY` with the test key's private half: a wrong signature.
fn common_wrong_signer(f: &Fixture) -> impl ClientAuth {
    use auth_core::keys::{SignatureAlgorithm, SigningKey};
    auth_http::client::HttpSignatureAuth::new(
        ED_KEY,
        SigningKey::new(
            &f.ed_test,
            SignatureAlgorithm::Ed25519,
            &auth_core::rand::SystemRandom::new(),
        )
        .unwrap(),
    )
}

#[tokio::test]
async fn nginx_auth_request_in_front_of_an_upstream() {
    let Some(nginx) = gateway_binary("nginx") else {
        return;
    };
    let f = Fixture::new();
    let gateway = start_gateway(&f).await;
    let upstream = start_upstream(true).await;
    let port = free_port();
    let _nginx = start_nginx(&nginx, port, gateway, upstream);
    wait_listening(port).await;
    exercise(&f, port).await;
}

#[tokio::test]
async fn caddy_forward_auth_in_front_of_an_upstream() {
    let Some(caddy) = gateway_binary("caddy") else {
        return;
    };
    let f = Fixture::new();
    let gateway = start_gateway(&f).await;
    let upstream = start_upstream(true).await;
    let port = free_port();
    let _caddy = start_caddy(&caddy, port, gateway, upstream);
    wait_listening(port).await;
    exercise(&f, port).await;
}
