//! The gateway endpoints over real sockets on 127.0.0.1, driven by auth-http's real signing
//! clients: `/v1/verify` (API key, RFC 9421 Ed25519 with content-digest, Qredo; bad input;
//! explain), an Envoy-shaped ext_authz check, forwarded headers from trusted and untrusted
//! peers, digest-bound refusals that name the inline mode, and the inline proxy with Qredo
//! signatures over bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_http::BoxFuture;
use auth_http::client::{ApiKeyAuth, ApiKeyPlacement, ClientAuth};
use auth_verify::gateway::{ExplainPolicy, GatewayConfig, ProxyConfig};
use base64::Engine as _;
use common::*;
use serde_json::{Value, json};
use std::sync::Arc;

/// The JSON description of a signed request.
fn describe(req: &reqwest::Request, body: &[u8]) -> Value {
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    json!({
        "method": req.method().as_str(),
        "url": req.url().as_str(),
        "headers": headers,
        "body_b64": base64::engine::general_purpose::STANDARD.encode(body),
    })
}

async fn post_verify(base: &str, description: &Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/verify"))
        .header("content-type", "application/json")
        .body(description.to_string())
        .send()
        .await
        .unwrap();
    json(resp).await
}

async fn described(auth: &dyn ClientAuth, method: &str, url: &str, body: &[u8]) -> Value {
    let req = reqwest::Client::new()
        .request(method.parse().unwrap(), url)
        .body(body.to_vec())
        .build()
        .unwrap();
    describe(&signed(auth, req, body).await, body)
}

#[tokio::test]
async fn v1_verify_accepts_three_schemes_and_refuses_wrong_ones() {
    let f = Fixture::new();
    let base = format!("http://{}", start_gateway(&f).await);
    let api = "https://api.example.com/orders?limit=5";

    // API key.
    let d = described(
        &ApiKeyAuth::new(&f.api_key, ApiKeyPlacement::Bearer),
        "GET",
        api,
        b"",
    )
    .await;
    let (status, answer) = post_verify(&base, &d).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["principal"]["partner"], "acme");
    assert_eq!(answer["principal"]["scheme"], "api_key");
    assert_eq!(answer["principal"]["environment"], "live");
    assert_eq!(
        answer["principal"]["scopes"],
        json!(["orders:read", "orders:write"])
    );
    let wrong = ApiKeyAuth::new(&f.unknown_api_key, ApiKeyPlacement::Bearer);
    let (_, answer) = post_verify(&base, &described(&wrong, "GET", api, b"").await).await;
    assert_eq!(answer["ok"], false, "{answer}");
    assert_eq!(answer["status"], 401);
    assert_eq!(answer["error"]["code"], "unauthorized");

    // RFC 9421 Ed25519 over a body bound by content-digest, headers as an object.
    let body = br#"{"amount":12}"#;
    let mut d = described(&f.ed_auth(), "POST", api, body).await;
    let pairs = d["headers"].as_array().unwrap().clone();
    d["headers"] = Value::Object(
        pairs
            .iter()
            .map(|p| (p[0].as_str().unwrap().to_owned(), p[1].clone()))
            .collect(),
    );
    let (status, answer) = post_verify(&base, &d).await;
    assert_eq!((status, &answer["ok"]), (200, &json!(true)), "{answer}");
    assert_eq!(answer["principal"]["key_id"], ED_KEY);
    assert_eq!(answer["principal"]["scheme"], "http_signature");
    // The same signature over another body.
    let mut d = described(&f.ed_auth(), "POST", api, body).await;
    d["body_b64"] = json!(base64::engine::general_purpose::STANDARD.encode(b"{\"amount\":99}"));
    let (_, answer) = post_verify(&base, &d).await;
    assert_eq!(answer["ok"], false, "{answer}");

    // Qredo over a body; then the body altered.
    let d = described(&f.qredo_auth(), "POST", api, body).await;
    let (_, answer) = post_verify(&base, &d).await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["principal"]["partner"], "qredo-partner");
    let mut d = described(&f.qredo_auth(), "POST", api, body).await;
    d["body_b64"] = json!(base64::engine::general_purpose::STANDARD.encode(b"{\"amount\":13}"));
    let (_, answer) = post_verify(&base, &d).await;
    assert_eq!(
        (&answer["ok"], &answer["status"]),
        (&json!(false), &json!(401))
    );
}

#[tokio::test]
async fn v1_verify_bad_input_gets_400_json_errors() {
    let f = Fixture::new();
    let base = format!("http://{}", start_gateway(&f).await);
    let http = reqwest::Client::new();
    let url = format!("{base}/v1/verify");
    for (body, why) in [
        ("{\"method\":", "truncated JSON"),
        ("[]", "not an object"),
        (
            "{\"method\":1,\"url\":\"https://a/\"}",
            "method not a string",
        ),
        ("{\"method\":\"GET\"}", "no url"),
        (
            "{\"method\":\"GET\",\"url\":\"https://a/\",\"headers\":[[1,2]]}",
            "header pair types",
        ),
        (
            "{\"method\":\"GET\",\"url\":\"https://a/\",\"body_b64\":\"***\"}",
            "bad Base64",
        ),
        ("{\"method\":\"G T\",\"url\":\"https://a/\"}", "bad method"),
        (
            "{\"method\":\"GET\",\"url\":\"https://a/\",\"headers\":{\"a b\":\"x\"}}",
            "bad name",
        ),
        (
            "{\"method\":\"GET\",\"url\":\"https://a/\",\"extra\":1}",
            "unknown field",
        ),
    ] {
        let resp = http.post(&url).body(body).send().await.unwrap();
        let (status, answer) = json(resp).await;
        assert_eq!(status, 400, "{why}: {answer}");
        assert_eq!(
            answer["error"]["code"], "invalid_request",
            "{why}: {answer}"
        );
        assert!(answer["error"]["message"].as_str().unwrap().len() > 10);
    }
    // A secret in a wrongly typed place is not echoed back.
    let resp = http
        .post(&url)
        .body(format!(
            "{{\"method\":\"GET\",\"url\":\"https://a/\",\"explain\":\"{}\"}}",
            f.api_key
        ))
        .send()
        .await
        .unwrap();
    let (status, answer) = json(resp).await;
    assert_eq!(status, 400);
    assert!(!answer.to_string().contains(&f.api_key));
    // Oversized.
    let big = format!(
        "{{\"method\":\"POST\",\"url\":\"https://a/\",\"body_b64\":\"{}\"}}",
        "A".repeat(3 * 1024 * 1024)
    );
    let (status, answer) = json(http.post(&url).body(big).send().await.unwrap()).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["error"]["code"], "too_large");
}

struct EveryoneIsAdmin;

impl ExplainPolicy for EveryoneIsAdmin {
    fn is_admin<'a>(
        &'a self,
        _parts: &'a http::request::Parts,
        _body: &'a [u8],
    ) -> BoxFuture<'a, bool> {
        Box::pin(async { true })
    }
}

#[tokio::test]
async fn explain_only_for_test_credentials_or_admins() {
    let f = Fixture::new();
    let base = format!("http://{}", start_gateway(&f).await);
    let api = "https://api.example.com/orders";

    // A test credential, with a body altered after signing: the explanation shows the base,
    // the components and the skew, and the detailed code.
    let mut d = described(&f.ed_test_auth(), "POST", api, b"{\"a\":1}").await;
    d["body_b64"] = json!(base64::engine::general_purpose::STANDARD.encode(b"{\"a\":2}"));
    d["explain"] = json!(true);
    let (_, answer) = post_verify(&base, &d).await;
    assert_eq!(answer["ok"], false, "{answer}");
    assert_eq!(answer["error"]["code"], "digest_mismatch", "{answer}");
    let e = &answer["explain"];
    assert_eq!(e["code"], "digest_mismatch", "{answer}");
    assert_eq!(e["environment"], "test");
    let sig = &e["signature"];
    assert_eq!(sig["keyid"], ED_TEST_KEY);
    let covered: Vec<&str> = sig["covered_components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        covered,
        [
            "\"@method\"",
            "\"@authority\"",
            "\"@path\"",
            "\"@query\"",
            "\"content-digest\""
        ]
    );
    let base_text = sig["signature_base"].as_str().unwrap();
    assert!(base_text.starts_with("\"@method\": POST\n\"@authority\": api.example.com\n"));
    assert!(base_text.contains("\"@signature-params\": ("));
    assert!(sig["clock_skew_seconds"].as_i64().unwrap().abs() <= 5);

    // A live credential: no explanation, and the opaque error.
    let mut d = described(&f.ed_auth(), "POST", api, b"{\"a\":1}").await;
    d["body_b64"] = json!(base64::engine::general_purpose::STANDARD.encode(b"{\"a\":2}"));
    d["explain"] = json!(true);
    let (_, answer) = post_verify(&base, &d).await;
    assert!(answer.get("explain").is_none(), "{answer}");
    assert!(answer["explain_refused"].is_string());
    assert_eq!(answer["error"]["code"], "unauthorized");

    // The same for an admin.
    let config = GatewayConfig {
        explain: Arc::new(EveryoneIsAdmin),
        ..GatewayConfig::default()
    };
    let admin_base = format!(
        "http://{}",
        serve(auth_verify::gateway::router(f.layer(), config)).await
    );
    let (_, answer) = post_verify(&admin_base, &d).await;
    assert_eq!(answer["explain"]["code"], "digest_mismatch", "{answer}");
    assert_eq!(answer["explain"]["environment"], "live");
}

/// A client whose connections come from `from` (127.0.0.1 is trusted, 127.0.0.2 is not).
fn client_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(from.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn envoy_ext_authz_and_forwarded_headers_only_from_trusted_peers() {
    let f = Fixture::new();
    let addr = start_gateway(&f).await;
    let base = format!("http://{addr}");

    // Envoy: the original path after the prefix, the original method and headers.
    let original = format!("http://{addr}/orders/7?x=1");
    let req = reqwest::Client::new().get(&original).build().unwrap();
    let req = signed(&f.ed_auth(), req, b"").await;
    let check = client_from("127.0.0.2")
        .get(format!("{base}/forward-auth/envoy/orders/7?x=1"))
        .headers(req.headers().clone())
        .header("x-forwarded-host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        check.status(),
        200,
        "a spoofed X-Forwarded-Host from an untrusted peer changes nothing"
    );
    assert_eq!(check.headers()["x-auth-partner"], "sig-partner");
    assert_eq!(check.headers()["x-auth-key-id"], ED_KEY);
    assert_eq!(check.headers()["x-auth-scheme"], "http_signature");
    assert_eq!(check.headers()["x-auth-environment"], "live");
    // Another method than the signed one.
    let req = signed(
        &f.ed_auth(),
        reqwest::Client::new().get(&original).build().unwrap(),
        b"",
    )
    .await;
    let check = reqwest::Client::new()
        .delete(format!("{base}/forward-auth/envoy/orders/7?x=1"))
        .headers(req.headers().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(check.status(), 401);
    assert!(check.headers().get("x-auth-partner").is_none());

    // Signed for another host: honoured from the trusted peer only.
    let for_other_host = || async {
        let req = reqwest::Client::new()
            .get("https://api.example.com/orders")
            .build()
            .unwrap();
        signed(&f.ed_auth(), req, b"").await
    };
    for (from, expected) in [("127.0.0.1", 200), ("127.0.0.2", 401)] {
        let req = for_other_host().await;
        let check = client_from(from)
            .get(format!("{base}/forward-auth/caddy"))
            .headers(req.headers().clone())
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "api.example.com")
            .header("x-forwarded-uri", "/orders")
            .send()
            .await
            .unwrap();
        assert_eq!(check.status(), expected, "from {from}");
    }
    // A trusted gateway that does not say which request it holds is told how to configure.
    let (status, answer) = json(
        reqwest::Client::new()
            .get(format!("{base}/forward-auth/nginx"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("X-Original-URI")
    );
}

#[tokio::test]
async fn digest_bound_mode_refuses_body_signing_schemes_naming_the_inline_mode() {
    let f = Fixture::new();
    let base = format!("http://{}", start_gateway(&f).await);
    // Qredo signs the raw body.
    let body = b"{\"amount\":1}";
    let req = reqwest::Client::new()
        .post("https://api.example.com/orders")
        .body(body.to_vec())
        .build()
        .unwrap();
    let req = signed(&f.qredo_auth(), req, body).await;
    let (status, answer) = json(
        reqwest::Client::new()
            .get(format!("{base}/forward-auth/traefik"))
            .headers(req.headers().clone())
            .header("x-forwarded-method", "POST")
            .header("x-forwarded-host", "api.example.com")
            .header("x-forwarded-uri", "/orders")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    let detail = answer["detail"].as_str().unwrap();
    assert!(detail.contains("auth-verify proxy --upstream"), "{detail}");

    // RFC 9421 with a body announced but content-digest not covered.
    let req = reqwest::Client::new()
        .post("https://api.example.com/orders")
        .build()
        .unwrap();
    let req = signed(&f.ed_auth(), req, b"").await;
    let (status, answer) = json(
        reqwest::Client::new()
            .get(format!("{base}/forward-auth/traefik"))
            .headers(req.headers().clone())
            .header("x-forwarded-method", "POST")
            .header("x-forwarded-host", "api.example.com")
            .header("x-forwarded-uri", "/orders")
            .header("content-digest", "sha-256=:AAAA:")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .unwrap()
            .contains("content-digest")
    );
}

#[tokio::test]
async fn inline_proxy_verifies_qredo_bodies_and_replaces_x_auth_headers() {
    let f = Fixture::new();
    let upstream = start_upstream(false).await;
    let proxy = serve(auth_verify::gateway::proxy_router(
        f.layer(),
        ProxyConfig::new(&format!("http://{upstream}")).unwrap(),
        GatewayConfig::default(),
    ))
    .await;
    let url = format!("http://{proxy}/transfers?id=9");
    let http = reqwest::Client::new();
    let body = b"{\"amount\":100}".to_vec();

    let req = http
        .post(&url)
        .body(body.clone())
        .header("x-auth-partner", "forged")
        .header("x-auth-scopes", "admin")
        .build()
        .unwrap();
    let req = signed(&f.qredo_auth(), req, &body).await;
    let (status, answer) = json(http.execute(req).await.unwrap()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["path"], "/transfers?id=9");
    assert_eq!(answer["body_len"], body.len());
    assert_eq!(answer["auth"]["x-auth-partner"], "qredo-partner");
    assert_eq!(answer["auth"]["x-auth-scheme"], "qredo");
    assert_eq!(answer["auth"]["x-auth-scopes"], "");

    // The body altered after signing never reaches the upstream.
    let req = http.post(&url).body(body.clone()).build().unwrap();
    let mut req = signed(&f.qredo_auth(), req, &body).await;
    *req.body_mut() = Some(reqwest::Body::from(b"{\"amount\":999}".to_vec()));
    let (status, answer) = json(http.execute(req).await.unwrap()).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["msg"], "errPartnerAuth");

    // Unsigned: refused, with the forged headers going nowhere.
    let resp = http
        .post(&url)
        .header("x-auth-partner", "forged")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}
