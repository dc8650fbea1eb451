//! RFC 9421 interop with Python's `http-message-signatures` (PyPI), both directions, for all
//! five algorithms: it signs a request we verify under our strict policy, and it verifies
//! a request we sign (and rejects it once the body changes). The peer script is
//! `tests/interop/rfc9421_py.py`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::content_digest::{DigestAlgorithm, create};
use auth_core::keys::{
    HmacSecret, SignatureAlgorithm, SigningKey, VerifyingKey, generate_ed25519, generate_p256,
    generate_rsa,
};
use auth_core::rand::SystemRandom;
use auth_core::request::{Message, Request};
use auth_core::scheme::rfc9421::{
    self, AlgParameter, BodyCheck, Component, SignatureSpec, TagPolicy, VerifyPolicy,
    algorithm_name,
};
use auth_core::time::UnixTime;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Command, Stdio};

const URL: &str = "https://api.example.com/v1/orders?id=42&note=a%20b";
const BODY: &[u8] = br#"{"symbol":"ETHEUR","sell_volume":25}"#;
const TAG: &str = "partner-auth-interop";
const COMPONENTS: [&str; 8] = [
    "@method",
    "@authority",
    "@path",
    "@query",
    "@target-uri",
    "\"@query-param\";name=\"id\"",
    "content-type",
    "content-digest",
];

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/rfc9421_py.py")
}

/// Each algorithm with our keys and the key text the Python side uses to sign and verify.
struct Alg {
    name: &'static str,
    sign: SigningKey,
    verify: VerifyingKey,
    private_text: String,
    public_text: String,
}

fn algs() -> Vec<Alg> {
    let rng = SystemRandom::new();
    let rsa = generate_rsa(2048, &rng).unwrap();
    let p256 = generate_p256(&rng).unwrap();
    let ed = generate_ed25519(&rng).unwrap();
    let mut out = Vec::new();
    for (key, alg) in [
        (&rsa, SignatureAlgorithm::RsaPssSha512),
        (&rsa, SignatureAlgorithm::RsaPkcs1Sha256),
        (&p256, SignatureAlgorithm::EcdsaP256Sha256),
        (&ed, SignatureAlgorithm::Ed25519),
    ] {
        out.push(Alg {
            name: algorithm_name(alg).unwrap(),
            sign: SigningKey::new(key, alg, &rng).unwrap(),
            verify: VerifyingKey::new(&key.public_key(), alg).unwrap(),
            private_text: String::from_utf8(key.to_pkcs8_pem().expose().to_vec()).unwrap(),
            public_text: key.public_key().to_spki_pem(),
        });
    }
    let secret_bytes = auth_core::rand::bytes::<32>(&rng).unwrap();
    let secret = HmacSecret::from_bytes(&secret_bytes).unwrap();
    let b64 = auth_core::encoding::b64_encode(&secret_bytes);
    out.push(Alg {
        name: "hmac-sha256",
        sign: SigningKey::hmac(&secret, SignatureAlgorithm::HmacSha256).unwrap(),
        verify: VerifyingKey::hmac(&secret, SignatureAlgorithm::HmacSha256).unwrap(),
        private_text: b64.clone(),
        public_text: b64,
    });
    out
}

fn now() -> UnixTime {
    UnixTime::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

fn python_call(python: &PathBuf, mode: &str, spec: &Value) -> Result<Value, String> {
    let mut child = Command::new(python)
        .arg(script())
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        spec.to_string().as_bytes(),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn spec(alg: &Alg, key: &str, headers: &[(String, String)], body: &[u8]) -> Value {
    json!({
        "alg": alg.name,
        "key": key,
        "keyid": format!("key-{}", alg.name),
        "method": "POST",
        "url": URL,
        "headers": headers.iter().map(|(a, b)| [a, b]).collect::<Vec<_>>(),
        "body": auth_core::encoding::b64_encode(body),
        "nonce": "n-0123456789",
        "tag": TAG,
        "components": COMPONENTS,
    })
}

#[test]
fn python_signs_we_verify() {
    let Some(python) = common::python() else {
        return;
    };
    for alg in algs() {
        let headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        let signed = python_call(
            &python,
            "sign",
            &spec(&alg, &alg.private_text, &headers, BODY),
        )
        .unwrap_or_else(|e| panic!("{}: python could not sign: {e}", alg.name));
        let lines: Vec<(String, String)> = signed
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_owned(),
                    p[1].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let fields: Vec<(&str, &str)> = lines
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let r = Request::from_uri("POST", URL, &fields, BODY).unwrap();
        let m = Message::Request(&r);
        let policy = VerifyPolicy::default()
            .with_tags(TagPolicy::OneOf(vec![TAG.into()]))
            .require(Component::query_param("id"))
            .require(Component::field("content-type").unwrap());
        let parsed = rfc9421::parse(&m, &policy).unwrap();
        assert_eq!(parsed.keyid(), Some(format!("key-{}", alg.name).as_str()));
        let v = rfc9421::verify(&m, &parsed, &alg.verify, &policy, now()).unwrap_or_else(|e| {
            panic!(
                "{}: {e}\nbase:\n{}",
                alg.name,
                parsed.signature_base(&m).unwrap()
            )
        });
        assert_eq!(
            (v.nonce, v.tag, v.body),
            (Some("n-0123456789"), Some(TAG), BodyCheck::DigestVerified),
            "{}",
            alg.name
        );
        // The same headers over a different body: rejected by the digest.
        let r = Request::from_uri("POST", URL, &fields, b"{}").unwrap();
        let m = Message::Request(&r);
        let e = rfc9421::verify(&m, &parsed, &alg.verify, &policy, now()).unwrap_err();
        assert_eq!(
            e.code(),
            auth_core::ErrorCode::DigestMismatch,
            "{}",
            alg.name
        );
    }
}

#[test]
fn we_sign_python_verifies() {
    let Some(python) = common::python() else {
        return;
    };
    let rng = SystemRandom::new();
    for alg in algs() {
        let digest = create(BODY, DigestAlgorithm::Sha512);
        let mut headers = vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("Content-Digest".to_owned(), digest),
        ];
        let fields: Vec<(&str, &str)> = headers
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let r = Request::from_uri("POST", URL, &fields, BODY).unwrap();
        let comps = vec![
            Component::method(),
            Component::authority(),
            Component::path(),
            Component::query(),
            Component::target_uri(),
            Component::query_param("id"),
            Component::field("content-type").unwrap(),
            Component::field("content-digest").unwrap(),
        ];
        let s = SignatureSpec::new("sig1", comps, now())
            .unwrap()
            .keyid(&format!("key-{}", alg.name))
            .unwrap()
            .nonce("n-0123456789")
            .unwrap()
            .tag(TAG)
            .unwrap()
            .alg_parameter(AlgParameter::Include);
        let signed = rfc9421::sign(&Message::Request(&r), &s, &alg.sign, &rng).unwrap();
        headers.push(("Signature-Input".into(), signed.signature_input));
        headers.push(("Signature".into(), signed.signature));
        let got = python_call(
            &python,
            "verify",
            &spec(&alg, &alg.public_text, &headers, BODY),
        )
        .unwrap_or_else(|e| panic!("{}: python rejected our signature: {e}", alg.name));
        assert_eq!(got["label"], "sig1", "{}", alg.name);
        assert_eq!(got["keyid"], format!("key-{}", alg.name));
        assert_eq!(
            got["covered"].as_array().unwrap().len(),
            COMPONENTS.len() + 1
        );
        // Python rejects it once the body changes.
        let e = python_call(
            &python,
            "verify",
            &spec(&alg, &alg.public_text, &headers, b"{\"symbol\":\"BTCEUR\"}"),
        )
        .unwrap_err();
        assert!(
            e.contains("InvalidSignature") || e.contains("igest"),
            "{}: {e}",
            alg.name
        );
    }
}
