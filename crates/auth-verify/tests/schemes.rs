//! Every scheme a partner can be registered for, end to end through the real binary: the
//! admin API registers the credential, auth-http's partner-side signer signs a request, and
//! `/v1/verify` and forward-auth accept it; the same request altered, or signed with the wrong
//! key, is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod service;

use auth_core::keys::HmacSecret;
use auth_core::keys::{PrivateKey, SignatureAlgorithm, SigningKey, generate_ed25519};
use auth_core::rand::SystemRandom;
use auth_core::scheme::jwt::{Algorithm, JwtSigner};
use auth_http::client::{
    ClientAuth, HttpSignatureAuth, JwtAuth, QredoAuth, QredoFreshness, SmileAuth, SmilePlacement,
};
use serde_json::{Value, json};
use service::{Admin, Service, partner_with_key, verify};

/// Signs `method url body` with `auth` and answers the header fields it would send.
async fn signed(
    auth: &dyn ClientAuth,
    method: &str,
    url: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    let mut req = reqwest::Request::new(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        url.parse().unwrap(),
    );
    if !body.is_empty() {
        *req.body_mut() = Some(body.to_vec().into());
        req.headers_mut()
            .insert("content-type", "application/json".parse().unwrap());
    }
    auth.authorize(&mut req, body).await.unwrap();
    let mut headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    if let Some(host) = req.url().host_str() {
        let host = match req.url().port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        headers.push(("host".into(), host));
    }
    headers
}

async fn ask(
    svc: &Service,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Value {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    verify(svc, method, url, &pairs, body).await
}

/// Asks forward-auth (Traefik style, from loopback: a trusted proxy) about the request the
/// headers were signed for; the body stays with the gateway. Answers status and headers.
async fn forward(
    svc: &Service,
    method: &str,
    url: &str,
    headers: &[(String, String)],
) -> (u16, reqwest::header::HeaderMap) {
    let parsed: reqwest::Url = url.parse().unwrap();
    let uri = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_owned(),
    };
    let mut rb = reqwest::Client::new()
        .get(svc.url("/forward-auth/traefik"))
        .header("x-forwarded-method", method)
        .header("x-forwarded-proto", parsed.scheme())
        .header("x-forwarded-host", parsed.host_str().unwrap())
        .header("x-forwarded-uri", uri);
    for (k, v) in headers {
        if k != "host" {
            rb = rb.header(k.as_str(), v.as_str());
        }
    }
    let resp = rb.send().await.unwrap();
    (resp.status().as_u16(), resp.headers().clone())
}

fn pem_public(private: &PrivateKey) -> String {
    private.public_key().to_spki_pem()
}

async fn upload(
    svc: &Service,
    admin: &Admin,
    purpose: &str,
    algorithm: &str,
    public_pem: &str,
    extra: Value,
) -> Value {
    let mut body = json!({"name": format!("{purpose}-{}", service::free_port()), "environment": "live",
        "purpose": purpose, "algorithm": algorithm, "public_key": public_pem, "scopes": ["orders:read"]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (s, issued) = admin
        .call(
            "POST",
            &svc.url("/admin/partners/acme/public-keys"),
            Some(body),
        )
        .await;
    assert_eq!(s, 201, "{issued}");
    issued
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_registered_scheme_is_accepted_and_its_forgery_refused() {
    let svc = Service::start();
    let admin = Admin::new();
    let rng = SystemRandom::new();
    let (api_key, _) = partner_with_key(&svc, &admin, "acme", "live").await;
    let url = "https://api.example.com/orders?page=1";
    let body = br#"{"item":"widget","qty":3}"#;

    // API key.
    let answer = ask(
        &svc,
        "GET",
        url,
        &[("authorization".into(), format!("Bearer {api_key}"))],
        b"",
    )
    .await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["principal"]["scheme"], "api_key");
    let wrong = ask(
        &svc,
        "GET",
        url,
        &[("authorization".into(), format!("Bearer {api_key}x"))],
        b"",
    )
    .await;
    assert_eq!(wrong["ok"], false, "{wrong}");

    // RFC 9421, Ed25519, with Content-Digest over the body.
    let ed = generate_ed25519(&rng).unwrap();
    let issued = upload(
        &svc,
        &admin,
        "http_signature",
        "ed25519",
        &pem_public(&ed),
        json!({}),
    )
    .await;
    let key_id = issued["credential"]["key_id"].as_str().unwrap();
    let auth = HttpSignatureAuth::new(
        key_id,
        SigningKey::new(&ed, SignatureAlgorithm::Ed25519, &rng).unwrap(),
    );
    let headers = signed(&auth, "POST", url, body).await;
    let answer = ask(&svc, "POST", url, &headers, body).await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["principal"]["scheme"], "http_signature");
    assert_eq!(answer["principal"]["key_id"], key_id);
    let headers = signed(&auth, "POST", url, body).await;
    let altered = ask(
        &svc,
        "POST",
        url,
        &headers,
        br#"{"item":"widget","qty":300}"#,
    )
    .await;
    assert_eq!(altered["ok"], false, "{altered}");

    // JWT with an HS256 client secret, found by its clientId.
    let (s, secret) = admin
        .call(
            "POST",
            &svc.url("/admin/partners/acme/secrets"),
            Some(json!({"name": "jwt", "environment": "live", "kind": "jwt_hs256", "client_id": "acme-client", "scopes": ["orders:read"]})),
        )
        .await;
    assert_eq!(s, 201, "{secret}");
    let shared = secret["secret"].as_str().unwrap();
    let signer = JwtSigner::hmac(
        &HmacSecret::from_bytes(shared.as_bytes()).unwrap(),
        Algorithm::HS256,
    )
    .unwrap();
    let jwt = JwtAuth::new(signer, "acme-client");
    let headers = signed(&jwt, "GET", url, b"").await;
    let answer = ask(&svc, "GET", url, &headers, b"").await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["principal"]["scheme"], "jwt");
    let (s, h) = forward(&svc, "GET", url, &headers).await;
    assert_eq!((s, h["x-auth-partner"].to_str().unwrap()), (200, "acme"));
    let forged = JwtAuth::new(
        JwtSigner::hmac(
            &HmacSecret::from_bytes(&[7u8; 32]).unwrap(),
            Algorithm::HS256,
        )
        .unwrap(),
        "acme-client",
    );
    let headers = signed(&forged, "GET", url, b"").await;
    assert_eq!(ask(&svc, "GET", url, &headers, b"").await["ok"], false);

    // Qredo: an RSA public key registered, an x-api-key issued with it; x-sign over the body.
    let rsa = auth_core::keys::generate_rsa(2048, &rng).unwrap();
    let issued = upload(&svc, &admin, "qredo", "RS256", &pem_public(&rsa), json!({})).await;
    let qredo_key = issued["secret"].as_str().unwrap();
    let qredo = QredoAuth::new(
        qredo_key,
        SigningKey::new(&rsa, SignatureAlgorithm::RsaPkcs1Sha256, &rng).unwrap(),
        QredoFreshness::Timestamp,
    );
    let headers = signed(&qredo, "POST", url, body).await;
    let answer = ask(&svc, "POST", url, &headers, body).await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["principal"]["scheme"], "qredo");
    // The Qredo key is not a bearer API key.
    let cross = ask(
        &svc,
        "GET",
        url,
        &[("authorization".into(), format!("Bearer {qredo_key}"))],
        b"",
    )
    .await;
    assert_eq!(cross["ok"], false, "{cross}");
    let headers = signed(&qredo, "POST", url, body).await;
    assert_eq!(ask(&svc, "POST", url, &headers, b"{}").await["ok"], false);
    // Qredo signs the raw body, which forward-auth never sees: refused, naming the inline mode.
    let headers = signed(&qredo, "POST", url, body).await;
    let (s, _) = forward(&svc, "POST", url, &headers).await;
    assert_eq!(s, 400);

    // Smile: an HMAC key; the key ID is the partner_id the signature names.
    let (s, smile) = admin
        .call(
            "POST",
            &svc.url("/admin/partners/acme/secrets"),
            Some(json!({"name": "smile", "environment": "live", "kind": "smile"})),
        )
        .await;
    assert_eq!(s, 201, "{smile}");
    let smile_id = smile["credential"]["key_id"].as_str().unwrap();
    let smile_auth = SmileAuth::new(
        smile_id,
        smile["secret"].as_str().unwrap(),
        SmilePlacement::Headers,
    )
    .unwrap();
    let headers = signed(&smile_auth, "POST", url, body).await;
    let answer = ask(&svc, "POST", url, &headers, body).await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["principal"]["scheme"], "smile");
    let headers = signed(&smile_auth, "POST", url, body).await;
    let (s, h) = forward(&svc, "POST", url, &headers).await;
    assert_eq!((s, h["x-auth-scheme"].to_str().unwrap()), (200, "smile"));
    let wrong_smile = SmileAuth::new(
        smile_id,
        "not-the-key-not-the-key-not-the-key",
        SmilePlacement::Headers,
    )
    .unwrap();
    let headers = signed(&wrong_smile, "POST", url, body).await;
    assert_eq!(ask(&svc, "POST", url, &headers, body).await["ok"], false);
}
