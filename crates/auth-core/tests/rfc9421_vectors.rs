//! RFC 9421 Appendix B conformance: the B.1 keys verify B.2.1 to B.2.6, our signature bases
//! equal the printed ones, B.2.5 (HMAC) and B.2.6 (Ed25519) are reproduced byte for byte,
//! and every case fails once a byte of the message, the base or the signature changes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::ErrorCode;
use auth_core::keys::{
    HmacSecret, PrivateKey, PublicKey, SignatureAlgorithm, SigningKey, VerifyingKey,
};
use auth_core::rand::SystemRandom;
use auth_core::request::{Body, Headers, Message, Request, Response, TargetUri};
use auth_core::scheme::rfc9421::{
    self, AlgParameter, BodyCheck, Component, LabelSelection, NonceRequirement, SignatureSpec,
    VerifyPolicy, algorithm_from_name,
};
use auth_core::time::UnixTime;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testvectors/rfc9421")
}

fn vectors() -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("appendix-b2.json")).unwrap()).unwrap()
}

fn read_key(name: &str) -> String {
    std::fs::read_to_string(dir().join("keys").join(name)).unwrap()
}

fn verifying_key(case: &Value) -> VerifyingKey {
    let alg = algorithm_from_name(case["algorithm"].as_str().unwrap()).unwrap();
    let name = case["key"].as_str().unwrap();
    if alg == SignatureAlgorithm::HmacSha256 {
        let secret = HmacSecret::from_base64(&read_key(&format!("{name}.txt"))).unwrap();
        return VerifyingKey::hmac(&secret, alg).unwrap();
    }
    let public = PublicKey::from_pem(&read_key(&format!("{name}.pub.pem"))).unwrap();
    VerifyingKey::new(&public, alg).unwrap()
}

fn signing_key(case: &Value) -> SigningKey {
    let alg = algorithm_from_name(case["algorithm"].as_str().unwrap()).unwrap();
    let name = case["key"].as_str().unwrap();
    if alg == SignatureAlgorithm::HmacSha256 {
        let secret = HmacSecret::from_base64(&read_key(&format!("{name}.txt"))).unwrap();
        return SigningKey::hmac(&secret, alg).unwrap();
    }
    let private = PrivateKey::from_pem(&read_key(&format!("{name}.pem"))).unwrap();
    SigningKey::new(&private, alg, &SystemRandom::new()).unwrap()
}

/// Owned header lines of a vector message plus optional signature fields.
fn header_lines(msg: &Value, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = msg["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h[0].as_str().unwrap().to_owned(),
                h[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.extend(
        extra
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned())),
    );
    v
}

fn borrow(lines: &[(String, String)]) -> Vec<(&str, &str)> {
    lines
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect()
}

/// Runs `f` with the case's message (request or response) carrying `fields`.
fn with_message<R>(
    v: &Value,
    case: &Value,
    lines: &[(String, String)],
    f: impl FnOnce(&Message<'_>) -> R,
) -> R {
    let fields = borrow(lines);
    if case["message"] == "request" {
        let req = &v["request"];
        let r = Request::new(
            req["method"].as_str().unwrap(),
            TargetUri::parse(req["target_uri"].as_str().unwrap()).unwrap(),
            Headers::new(&fields),
            Body::from_bytes(req["body"].as_str().unwrap().as_bytes()),
        )
        .unwrap();
        f(&Message::Request(&r))
    } else {
        let res = &v["response"];
        let r = Response::new(
            res["status"].as_u64().unwrap() as u16,
            Headers::new(&fields),
            Body::from_bytes(res["body"].as_str().unwrap().as_bytes()),
        )
        .unwrap();
        f(&Message::Response {
            response: &r,
            request: None,
        })
    }
}

fn policy(case: &Value) -> VerifyPolicy {
    VerifyPolicy::new(Duration::from_secs(300))
        .danger_require_only(Vec::new())
        .with_nonce(NonceRequirement::Optional)
        .with_label(LabelSelection::Named(
            case["label"].as_str().unwrap().to_owned(),
        ))
}

fn now(case: &Value) -> UnixTime {
    UnixTime::from_secs(case["now"].as_u64().unwrap())
}

fn source_lines(v: &Value, case: &Value) -> Vec<(String, String)> {
    header_lines(
        &v[case["message"].as_str().unwrap()],
        &[
            ("Signature-Input", case["signature_input"].as_str().unwrap()),
            ("Signature", case["signature"].as_str().unwrap()),
        ],
    )
}

fn verify_case(
    v: &Value,
    case: &Value,
    lines: &[(String, String)],
    at: UnixTime,
) -> Result<String, auth_core::Error> {
    let key = verifying_key(case);
    with_message(v, case, lines, |m| {
        let parsed = rfc9421::parse(m, &policy(case))?;
        let base = parsed.signature_base(m)?;
        rfc9421::verify(m, &parsed, &key, &policy(case), at).map(|_| base)
    })
}

#[test]
fn appendix_b2_signatures_verify_and_bases_match() {
    let v = vectors();
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let base = verify_case(&v, case, &source_lines(&v, case), now(case))
            .unwrap_or_else(|e| panic!("{id} does not verify: {e}"));
        assert_eq!(
            base,
            case["signature_base"].as_str().unwrap(),
            "{id}: signature base"
        );
    }
}

#[test]
fn body_digest_is_checked_when_covered() {
    let v = vectors();
    for case in v["cases"].as_array().unwrap() {
        let key = verifying_key(case);
        let lines = source_lines(&v, case);
        let covers_digest = case["signature_input"]
            .as_str()
            .unwrap()
            .contains("content-digest");
        with_message(&v, case, &lines, |m| {
            let parsed = rfc9421::parse(m, &policy(case)).unwrap();
            let ok = rfc9421::verify(m, &parsed, &key, &policy(case), now(case)).unwrap();
            let want = if covers_digest {
                BodyCheck::DigestVerified
            } else {
                BodyCheck::NotCovered
            };
            assert_eq!(ok.body, want, "{}", case["id"]);
        });
    }
}

#[test]
fn deterministic_cases_are_reproduced_byte_for_byte() {
    let v = vectors();
    let rng = SystemRandom::new();
    let mut reproduced = 0;
    for case in v["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        // Rebuild the spec from the vector's own parameters.
        let lines = source_lines(&v, case);
        let (label, components, keyid, created) = with_message(&v, case, &lines, |m| {
            let parsed = rfc9421::parse(m, &policy(case)).unwrap();
            let p = parsed.params().clone();
            (
                parsed.label().to_owned(),
                p.components().to_vec(),
                p.keyid().unwrap().to_owned(),
                p.created().unwrap(),
            )
        });
        let mut spec = SignatureSpec::new(&label, components, created)
            .unwrap()
            .keyid(&keyid)
            .unwrap();
        let sig_input = case["signature_input"].as_str().unwrap();
        if let Some(n) = sig_input.split("nonce=\"").nth(1) {
            spec = spec.nonce(n.split('"').next().unwrap()).unwrap();
        }
        if let Some(t) = sig_input.split("tag=\"").nth(1) {
            spec = spec.tag(t.split('"').next().unwrap()).unwrap();
        }
        let key = signing_key(case);
        let unsigned = header_lines(&v[case["message"].as_str().unwrap()], &[]);
        let signed = with_message(&v, case, &unsigned, |m| {
            assert_eq!(
                rfc9421::signature_base_for_spec(m, &spec, key.algorithm()).unwrap(),
                case["signature_base"].as_str().unwrap(),
                "{id}: signer's base"
            );
            rfc9421::sign(m, &spec, &key, &rng).unwrap()
        });
        assert_eq!(signed.signature_input, sig_input, "{id}: Signature-Input");
        if case["deterministic"].as_bool().unwrap() {
            assert_eq!(
                signed.signature,
                case["signature"].as_str().unwrap(),
                "{id}: Signature"
            );
            reproduced += 1;
        }
        // Whatever the algorithm, our own signature verifies.
        let ours = header_lines(
            &v[case["message"].as_str().unwrap()],
            &[
                ("Signature-Input", &signed.signature_input),
                ("Signature", &signed.signature),
            ],
        );
        verify_case(&v, case, &ours, now(case))
            .unwrap_or_else(|e| panic!("{id}: own signature: {e}"));
    }
    assert_eq!(reproduced, 2, "B.2.5 and B.2.6");
}

fn flip(s: &str, at: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[at] ^= 0x01;
    String::from_utf8(b).unwrap()
}

#[test]
fn every_case_fails_after_a_one_byte_change() {
    let v = vectors();
    for case in v["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let good = source_lines(&v, case);
        let n = good.len();

        // The signature: change one byte of the decoded signature.
        let sig = case["signature"].as_str().unwrap();
        let label = case["label"].as_str().unwrap();
        let b64 = &sig[label.len() + 2..sig.len() - 1];
        let mut raw = auth_core::encoding::b64_decode(b64, "sig").unwrap();
        for i in [0, raw.len() / 2, raw.len() - 1] {
            raw[i] ^= 0x80;
            let mut lines = good.clone();
            lines[n - 1].1 = format!("{label}=:{}:", auth_core::encoding::b64_encode(&raw));
            let e = verify_case(&v, case, &lines, now(case)).unwrap_err();
            assert_eq!(
                e.code(),
                ErrorCode::SignatureMismatch,
                "{id}: signature byte {i}"
            );
            raw[i] ^= 0x80;
        }

        // The base: change the signature parameters (keyid text) -> the base changes.
        let input = case["signature_input"].as_str().unwrap();
        let at = input.find("keyid=\"").unwrap() + 8;
        let mut lines = good.clone();
        lines[n - 2].1 = flip(input, at);
        let e = verify_case(&v, case, &lines, now(case)).unwrap_err();
        assert_eq!(e.code(), ErrorCode::SignatureMismatch, "{id}: base (keyid)");
        // ...and the created time shifted by one second.
        let mut lines = good.clone();
        lines[n - 2].1 = input.replace("created=1618884473", "created=1618884474");
        let e = verify_case(
            &v,
            case,
            &lines,
            now(case).saturating_add(Duration::from_secs(1)),
        )
        .unwrap_err();
        assert_eq!(
            e.code(),
            ErrorCode::SignatureMismatch,
            "{id}: base (created)"
        );

        // The message: one byte of every covered header value.
        let mut changed_header = false;
        for i in 0..n - 2 {
            let name = good[i].0.to_ascii_lowercase();
            if !input.contains(&format!("\"{name}\"")) {
                // Uncovered headers do not matter.
                let mut lines = good.clone();
                lines[i].1.push('x');
                verify_case(&v, case, &lines, now(case))
                    .unwrap_or_else(|e| panic!("{id}: uncovered {name}: {e}"));
                continue;
            }
            let mut lines = good.clone();
            lines[i].1 = flip(&lines[i].1, lines[i].1.len() - 2);
            let e = verify_case(&v, case, &lines, now(case)).unwrap_err();
            assert!(
                matches!(
                    e.code(),
                    ErrorCode::SignatureMismatch | ErrorCode::Malformed
                ),
                "{id}: header {name}: {e}"
            );
            changed_header = true;
        }
        let covers_a_header = good[..n - 2]
            .iter()
            .any(|(h, _)| input.contains(&format!("\"{}\"", h.to_ascii_lowercase())));
        assert_eq!(changed_header, covers_a_header, "{id}");

        // Time: past the maximum age, and before created beyond the skew.
        let e = verify_case(
            &v,
            case,
            &good,
            now(case).saturating_add(Duration::from_secs(301)),
        )
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::StaleTimestamp, "{id}: too old");
        let e = verify_case(
            &v,
            case,
            &good,
            now(case).saturating_sub(Duration::from_secs(6)),
        )
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::StaleTimestamp, "{id}: future");
    }
}

#[test]
fn request_derived_components_change_the_signature() {
    // B.2.3 covers @method, @path, @query and @authority: change each in the request itself.
    let v = vectors();
    let case = &v["cases"][2];
    assert_eq!(case["id"], "B.2.3");
    let key = verifying_key(case);
    let lines = source_lines(&v, case);
    let fields = borrow(&lines);
    let body = v["request"]["body"].as_str().unwrap().as_bytes();
    for (method, uri) in [
        ("PUT", "https://example.com/foo?param=Value&Pet=dog"),
        ("POST", "https://example.org/foo?param=Value&Pet=dog"),
        ("POST", "https://example.com/fop?param=Value&Pet=dog"),
        ("POST", "https://example.com/foo?param=Value&Pet=cat"),
    ] {
        let r = Request::from_uri(method, uri, &fields, body).unwrap();
        let m = Message::Request(&r);
        let parsed = rfc9421::parse(&m, &policy(case)).unwrap();
        let e = rfc9421::verify(&m, &parsed, &key, &policy(case), now(case)).unwrap_err();
        assert_eq!(e.code(), ErrorCode::SignatureMismatch, "{method} {uri}");
    }
    // The scheme is not covered by B.2.3: http instead of https still verifies.
    let r = Request::from_uri(
        "POST",
        "http://example.com/foo?param=Value&Pet=dog",
        &fields,
        body,
    )
    .unwrap();
    let m = Message::Request(&r);
    let parsed = rfc9421::parse(&m, &policy(case)).unwrap();
    rfc9421::verify(&m, &parsed, &key, &policy(case), now(case)).unwrap();
    // A body that no longer matches the covered Content-Digest is rejected.
    let r = Request::from_uri(
        "POST",
        "https://example.com/foo?param=Value&Pet=dog",
        &fields,
        b"{\"hello\": \"World\"}",
    )
    .unwrap();
    let m = Message::Request(&r);
    let parsed = rfc9421::parse(&m, &policy(case)).unwrap();
    let e = rfc9421::verify(&m, &parsed, &key, &policy(case), now(case)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::DigestMismatch);
}

#[test]
fn alg_parameter_only_confirms_the_key() {
    let v = vectors();
    let case = &v["cases"][5];
    assert_eq!(case["id"], "B.2.6");
    let key = signing_key(case);
    let unsigned = header_lines(&v["request"], &[]);
    let spec = SignatureSpec::new(
        "sig1",
        vec![Component::method(), Component::authority()],
        now(case),
    )
    .unwrap()
    .alg_parameter(AlgParameter::Include);
    let signed = with_message(&v, case, &unsigned, |m| {
        rfc9421::sign(m, &spec, &key, &SystemRandom::new()).unwrap()
    });
    assert!(
        signed.signature_input.ends_with(";alg=\"ed25519\""),
        "{}",
        signed.signature_input
    );
    let lines = header_lines(
        &v["request"],
        &[
            ("Signature-Input", &signed.signature_input),
            ("Signature", &signed.signature),
        ],
    );
    let pol = VerifyPolicy::default()
        .danger_require_only(vec![])
        .with_nonce(NonceRequirement::Optional);
    let fields = borrow(&lines);
    let r = Request::from_uri("POST", "https://example.com/foo", &fields, b"").unwrap();
    let m = Message::Request(&r);
    let parsed = rfc9421::parse(&m, &pol).unwrap();
    rfc9421::verify(&m, &parsed, &verifying_key(case), &pol, now(case)).unwrap();
    // The same signature presented to an HMAC key: the claimed alg contradicts the key.
    let hmac = verifying_key(&v["cases"][4]);
    let e = rfc9421::verify(&m, &parsed, &hmac, &pol, now(case)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnsupportedAlgorithm);
}

#[test]
fn reformatted_signature_input_still_verifies() {
    // RFC 9421 section 3.2 step 7: the verifier uses the strict serialisation of the received
    // parameters, so optional whitespace and `=?1` flags added in transit do not matter.
    let v = vectors();
    let case = &v["cases"][5];
    assert_eq!(case["id"], "B.2.6");
    let input = case["signature_input"].as_str().unwrap();
    let reformatted = input
        .replace("=(\"date\" \"@method\"", "=(  \"date\"   \"@method\"")
        .replace("\"content-length\")", "\"content-length\" )")
        .replace(";keyid=", ";  keyid=");
    assert_ne!(reformatted, input);
    let mut lines = source_lines(&v, case);
    let n = lines.len();
    lines[n - 2].1 = format!("  {reformatted}  ");
    let base = verify_case(&v, case, &lines, now(case)).unwrap();
    assert_eq!(base, case["signature_base"].as_str().unwrap());
}
