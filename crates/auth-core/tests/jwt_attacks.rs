//! The JWT attack suite: every case is a token an attacker (or a broken client) could send,
//! each named, each rejected with the error code the seed's reasons call for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::keys::{HmacSecret, PrivateKey, PublicKey, SigningKey};
use auth_core::rand::SystemRandom;
use auth_core::scheme::jwt::{Algorithm, JwtKey, JwtPolicy, JwtSigner, JwtVerifier, TypeRule};
use auth_core::{ErrorCode, UnixTime};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use std::sync::OnceLock;

const NOW: u64 = 1_700_000_000;
const SECRET: &[u8] = b"partner-secret-0123456789abcdef!";
const OTHER_SECRET: &[u8] = b"another-secret-0123456789abcdef!";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn hmac(secret: &[u8], input: &str) -> Vec<u8> {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    ring::hmac::sign(&k, input.as_bytes()).as_ref().to_vec()
}

/// A token with this exact header and payload text, HS256-signed with `secret`.
fn forge_with(secret: &[u8], header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = hmac(secret, &input);
    format!("{input}.{}", b64(&sig))
}

fn forge(header: &str, payload: &str) -> String {
    forge_with(SECRET, header, payload)
}

fn good_claims() -> String {
    format!(r#"{{"clientId":"p1","iat":{NOW},"exp":{}}}"#, NOW + 900)
}

const HS: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

fn now() -> UnixTime {
    UnixTime::from_secs(NOW)
}

fn hs_verifier() -> JwtVerifier {
    let secret = HmacSecret::from_bytes(SECRET).unwrap();
    JwtVerifier::new(
        vec![
            JwtKey::hmac(&secret, Algorithm::HS256)
                .unwrap()
                .for_client("p1"),
        ],
        JwtPolicy::default(),
    )
    .unwrap()
}

struct Rsa {
    private: PrivateKey,
    verifier: JwtVerifier,
}

fn rsa() -> &'static Rsa {
    static RSA: OnceLock<Rsa> = OnceLock::new();
    RSA.get_or_init(|| {
        let private = auth_core::keys::generate_rsa(2048, &SystemRandom::new()).unwrap();
        let key = JwtKey::public(&private.public_key(), Algorithm::RS256).unwrap();
        let verifier = JwtVerifier::new(vec![key], JwtPolicy::default()).unwrap();
        Rsa { private, verifier }
    })
}

fn two_key_verifier() -> JwtVerifier {
    let a = HmacSecret::from_bytes(SECRET).unwrap();
    let b = HmacSecret::from_bytes(OTHER_SECRET).unwrap();
    JwtVerifier::new(
        vec![
            JwtKey::hmac(&a, Algorithm::HS256).unwrap().with_kid("a"),
            JwtKey::hmac(&b, Algorithm::HS256).unwrap().with_kid("b"),
        ],
        JwtPolicy::default(),
    )
    .unwrap()
}

fn swap_sig(token: &str, sig: &str) -> String {
    let i = token.rfind('.').unwrap();
    format!("{}.{sig}", &token[..i])
}

fn sig_of(token: &str) -> &str {
    &token[token.rfind('.').unwrap() + 1..]
}

/// A good token whose signature uses `-` or `_`, re-encoded with `+` / `/`.
fn std_alphabet_token() -> String {
    for n in 0.. {
        let t = forge(
            HS,
            &format!(
                r#"{{"clientId":"p1","iat":{NOW},"exp":{},"n":{n}}}"#,
                NOW + 900
            ),
        );
        let sig = sig_of(&t);
        if sig.contains(['-', '_']) {
            assert!(hs_verifier().verify(&t, now()).is_ok());
            let raw = URL_SAFE_NO_PAD.decode(sig).unwrap();
            let std = STANDARD.encode(raw).replace('=', "");
            assert_ne!(std, sig);
            return swap_sig(&t, &std);
        }
    }
    unreachable!()
}

struct Case {
    name: &'static str,
    token: String,
    verifier: fn() -> JwtVerifier,
    code: ErrorCode,
}

fn cases() -> Vec<Case> {
    use ErrorCode::{InvalidToken as Invalid, TokenExpired as Expired, Unauthorized as Unauth};
    let good = forge(HS, &good_claims());
    let claims_b64 = b64(good_claims().as_bytes());
    let rsa_pem = rsa().private.public_key().to_spki_pem();
    let rsa_verifier = || -> JwtVerifier {
        let r = rsa();
        JwtVerifier::new(
            vec![JwtKey::public(&r.private.public_key(), Algorithm::RS256).unwrap()],
            JwtPolicy::default(),
        )
        .unwrap()
    };
    let _ = &rsa().verifier;
    let rng = SystemRandom::new();
    let pss = JwtSigner::new(&rsa().private, Algorithm::PS256, &rng)
        .unwrap()
        .sign(
            &serde_json::from_str::<serde_json::Value>(&good_claims()).unwrap(),
            &rng,
        )
        .unwrap();
    let attacker = auth_core::keys::generate_ed25519(&rng).unwrap();
    let PublicKey::Ed25519(attacker_x) = attacker.public_key() else {
        unreachable!()
    };
    let jwk_header = format!(
        r#"{{"alg":"EdDSA","jwk":{{"kty":"OKP","crv":"Ed25519","x":"{}"}}}}"#,
        b64(&attacker_x)
    );
    let attacker_key =
        SigningKey::new(&attacker, Algorithm::EdDSA.signature_algorithm(), &rng).unwrap();
    let embedded_jwk = auth_core::scheme::jwt::jws::sign_compact(
        jwk_header.as_bytes(),
        good_claims().as_bytes(),
        &attacker_key,
        &rng,
    )
    .unwrap();
    let p256 = auth_core::keys::generate_p256(&rng).unwrap();
    let es_verifier = || -> JwtVerifier {
        static KEY: OnceLock<PrivateKey> = OnceLock::new();
        let k = KEY.get_or_init(|| auth_core::keys::generate_p256(&SystemRandom::new()).unwrap());
        JwtVerifier::new(
            vec![JwtKey::public(&k.public_key(), Algorithm::ES256).unwrap()],
            JwtPolicy::default(),
        )
        .unwrap()
    };
    let _ = p256;
    let good_sig = sig_of(&good).to_owned();
    let raw_sig = URL_SAFE_NO_PAD.decode(&good_sig).unwrap();
    // DER-encode a fake 64-byte r||s ECDSA signature (what OpenSSL emits natively).
    let mut der = vec![0x30, 0x44, 0x02, 0x20];
    der.extend_from_slice(&raw_sig);
    der.splice(36..36, [0x02, 0x20]);
    der.extend_from_slice(&raw_sig);
    der.truncate(70);

    let mut v = vec![
        Case {
            name: "alg none",
            token: format!("{}.{claims_b64}.", b64(br#"{"alg":"none"}"#)),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "alg None",
            token: format!("{}.{claims_b64}.", b64(br#"{"alg":"None"}"#)),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "alg NONE",
            token: format!("{}.{claims_b64}.", b64(br#"{"alg":"NONE"}"#)),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "alg none with a signature part",
            token: forge(r#"{"alg":"none"}"#, &good_claims()),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "alg lowercase hs256",
            token: forge(r#"{"alg":"hs256"}"#, &good_claims()),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "alg missing",
            token: forge(r#"{"typ":"JWT"}"#, &good_claims()),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "alg not a string",
            token: forge(r#"{"alg":256}"#, &good_claims()),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "HS256 signed with the RSA public key (PEM) as secret",
            token: forge_with(rsa_pem.as_bytes(), HS, &good_claims()),
            verifier: rsa_verifier,
            code: Invalid,
        },
        Case {
            name: "HS256 signed with the RSA public key (PKCS#1 DER) as secret",
            token: forge_with(
                match rsa().private.public_key() {
                    PublicKey::Rsa(k) => k.pkcs1_der().to_vec(),
                    _ => unreachable!(),
                }
                .as_slice(),
                HS,
                &good_claims(),
            ),
            verifier: rsa_verifier,
            code: Invalid,
        },
        Case {
            name: "alg swapped RS256 key -> PS256 token",
            token: pss,
            verifier: rsa_verifier,
            code: Invalid,
        },
        Case {
            name: "alg swapped HS256 key -> ES256 header",
            token: forge(r#"{"alg":"ES256"}"#, &good_claims()),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "alg swapped HS256 key -> HS512 header",
            token: forge(r#"{"alg":"HS512"}"#, &good_claims()),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "embedded jwk header is never trusted",
            token: embedded_jwk,
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "kid pointing at another key",
            token: forge(r#"{"alg":"HS256","kid":"b"}"#, &good_claims()),
            verifier: two_key_verifier,
            code: Invalid,
        },
        Case {
            name: "kid unknown",
            token: forge(
                r#"{"alg":"HS256","kid":"../../etc/passwd"}"#,
                &good_claims(),
            ),
            verifier: two_key_verifier,
            code: Invalid,
        },
        Case {
            name: "kid missing with several keys",
            token: good.clone(),
            verifier: two_key_verifier,
            code: Invalid,
        },
        Case {
            name: "exp missing",
            token: forge(HS, &format!(r#"{{"clientId":"p1","iat":{NOW}}}"#)),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "exp null",
            token: forge(
                HS,
                &format!(r#"{{"clientId":"p1","iat":{NOW},"exp":null}}"#),
            ),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "exp expired",
            token: forge(
                HS,
                &format!(
                    r#"{{"clientId":"p1","iat":{},"exp":{}}}"#,
                    NOW - 1000,
                    NOW - 100
                ),
            ),
            verifier: hs_verifier,
            code: Expired,
        },
        Case {
            name: "exp string-typed",
            token: forge(
                HS,
                &format!(r#"{{"clientId":"p1","iat":{NOW},"exp":"{}"}}"#, NOW + 900),
            ),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "exp fractional",
            token: forge(
                HS,
                &format!(r#"{{"clientId":"p1","iat":{NOW},"exp":{}.5}}"#, NOW + 900),
            ),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "exp negative",
            token: forge(HS, &format!(r#"{{"clientId":"p1","iat":{NOW},"exp":-1}}"#)),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "exp beyond u64",
            token: forge(
                HS,
                &format!(r#"{{"clientId":"p1","iat":{NOW},"exp":99999999999999999999999}}"#),
            ),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "nbf in the future",
            token: forge(
                HS,
                &format!(
                    r#"{{"clientId":"p1","iat":{NOW},"nbf":{},"exp":{}}}"#,
                    NOW + 120,
                    NOW + 900
                ),
            ),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "iat in the future",
            token: forge(
                HS,
                &format!(
                    r#"{{"clientId":"p1","iat":{},"exp":{}}}"#,
                    NOW + 120,
                    NOW + 900
                ),
            ),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "iat missing (seed profile requires it)",
            token: forge(HS, &format!(r#"{{"clientId":"p1","exp":{}}}"#, NOW + 900)),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "lifetime over the maximum",
            token: forge(
                HS,
                &format!(r#"{{"clientId":"p1","iat":{NOW},"exp":{}}}"#, NOW + 3600),
            ),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "exp before iat",
            token: forge(
                HS,
                &format!(r#"{{"clientId":"p1","iat":{NOW},"exp":{}}}"#, NOW - 10),
            ),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "unknown crit",
            token: forge(r#"{"alg":"HS256","crit":["exp"],"exp":1}"#, &good_claims()),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "empty crit",
            token: forge(r#"{"alg":"HS256","crit":[]}"#, &good_claims()),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "b64 false with crit (RFC 7797)",
            token: forge(
                r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#,
                &good_claims(),
            ),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "b64 false without crit",
            token: forge(r#"{"alg":"HS256","b64":false}"#, &good_claims()),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "empty signature",
            token: swap_sig(&good, ""),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "stripped signature (two parts)",
            token: good[..good.rfind('.').unwrap()].to_owned(),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "truncated signature",
            token: swap_sig(&good, &good_sig[..22]),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "signature with Base64 padding",
            token: swap_sig(&good, &URL_SAFE.encode(&raw_sig)),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "signature in standard Base64 alphabet",
            token: std_alphabet_token(),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "non-canonical Base64 trailing bits",
            token: swap_sig(&good, &{
                let mut s = good_sig.clone();
                let last = s.pop().unwrap();
                let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                let i = alphabet.find(last).unwrap();
                s.push(alphabet.as_bytes()[i ^ 1] as char);
                s
            }),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "padded header",
            token: format!(
                "{}=.{claims_b64}.{good_sig}",
                &good[..good.find('.').unwrap()]
            ),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "trailing data after the signature",
            token: format!("{good}.AAAA"),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "trailing newline",
            token: format!("{good}\n"),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "leading whitespace",
            token: format!(" {good}"),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "oversized token",
            token: forge(
                HS,
                &format!(
                    r#"{{"clientId":"p1","iat":{NOW},"exp":{},"pad":"{}"}}"#,
                    NOW + 900,
                    "x".repeat(9000)
                ),
            ),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "oversized header",
            token: forge(
                &format!(r#"{{"alg":"HS256","x":"{}"}}"#, "y".repeat(1100)),
                &good_claims(),
            ),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "deeply nested JSON in claims",
            token: forge(
                HS,
                &format!(
                    r#"{{"clientId":"p1","iat":{NOW},"exp":{},"n":{}1{}}}"#,
                    NOW + 900,
                    "[".repeat(40),
                    "]".repeat(40)
                ),
            ),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "deeply nested JSON in header",
            token: forge(
                &format!(
                    r#"{{"alg":"HS256","n":{}1{}}}"#,
                    "[".repeat(40),
                    "]".repeat(40)
                ),
                &good_claims(),
            ),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "duplicate exp claim",
            token: forge(
                HS,
                &format!(
                    r#"{{"clientId":"p1","iat":{NOW},"exp":{},"exp":{}}}"#,
                    NOW + 900,
                    NOW + 90000
                ),
            ),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "duplicate clientId claim",
            token: forge(
                HS,
                &format!(
                    r#"{{"clientId":"p2","iat":{NOW},"exp":{},"clientId":"p1"}}"#,
                    NOW + 900
                ),
            ),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "duplicate alg header",
            token: forge(r#"{"alg":"none","alg":"HS256"}"#, &good_claims()),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "JWS JSON serialization form",
            token: format!(
                r#"{{"payload":"{claims_b64}","protected":"{}","signature":"{good_sig}"}}"#,
                b64(HS.as_bytes())
            ),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "JWE (five parts)",
            token: format!(
                "{}.AAAA.AAAA.AAAA.AAAA",
                b64(br#"{"alg":"RSA1_5","enc":"A128CBC-HS256"}"#)
            ),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "claims not an object",
            token: forge(HS, "[1,2,3]"),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "claims not JSON",
            token: forge(HS, "exp=9999999999"),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "claims not UTF-8",
            token: {
                let input = format!("{}.{}", b64(HS.as_bytes()), b64(b"{\"a\":\"\xff\"}"));
                format!("{input}.{}", b64(&hmac(SECRET, &input)))
            },
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "typ of another token kind",
            token: forge(r#"{"alg":"HS256","typ":"user-rate+jwt"}"#, &good_claims()),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "signed with another partner's secret",
            token: forge_with(OTHER_SECRET, HS, &good_claims()),
            verifier: hs_verifier,
            code: Invalid,
        },
        Case {
            name: "valid token for another client",
            token: forge(
                HS,
                &format!(r#"{{"clientId":"p2","iat":{NOW},"exp":{}}}"#, NOW + 900),
            ),
            verifier: hs_verifier,
            code: Unauth,
        },
        Case {
            name: "valid token without clientId for a client-bound key",
            token: forge(HS, &format!(r#"{{"iat":{NOW},"exp":{}}}"#, NOW + 900)),
            verifier: hs_verifier,
            code: Unauth,
        },
        Case {
            name: "audience given but none configured",
            token: forge(
                HS,
                &format!(
                    r#"{{"clientId":"p1","aud":"other-api","iat":{NOW},"exp":{}}}"#,
                    NOW + 900
                ),
            ),
            verifier: hs_verifier,
            code: Unauth,
        },
        Case {
            name: "wrong audience",
            token: forge(
                HS,
                &format!(
                    r#"{{"clientId":"p1","aud":["other-api"],"iat":{NOW},"exp":{}}}"#,
                    NOW + 900
                ),
            ),
            verifier: || {
                let s = HmacSecret::from_bytes(SECRET).unwrap();
                JwtVerifier::new(
                    vec![JwtKey::hmac(&s, Algorithm::HS256).unwrap()],
                    JwtPolicy::default().with_audience(["our-api"]),
                )
                .unwrap()
            },
            code: Unauth,
        },
        Case {
            name: "wrong issuer",
            token: forge(
                HS,
                &format!(
                    r#"{{"clientId":"p1","iss":"mallory","iat":{NOW},"exp":{}}}"#,
                    NOW + 900
                ),
            ),
            verifier: || {
                let s = HmacSecret::from_bytes(SECRET).unwrap();
                JwtVerifier::new(
                    vec![JwtKey::hmac(&s, Algorithm::HS256).unwrap()],
                    JwtPolicy::default().with_issuer("partner-portal"),
                )
                .unwrap()
            },
            code: Unauth,
        },
        Case {
            name: "ES256 signature in DER form",
            token: forge(r#"{"alg":"ES256"}"#, &good_claims())
                .rsplit_once('.')
                .map(|(a, _)| format!("{a}.{}", b64(&der)))
                .unwrap(),
            verifier: es_verifier,
            code: Invalid,
        },
        Case {
            name: "ES256 signature all zero",
            token: format!(
                "{}.{claims_b64}.{}",
                b64(br#"{"alg":"ES256"}"#),
                b64(&[0u8; 64])
            ),
            verifier: es_verifier,
            code: Invalid,
        },
        Case {
            name: "non-ASCII in the token",
            token: format!("{good}\u{00e9}"),
            verifier: hs_verifier,
            code: Invalid,
        },
    ];
    // Issue #9 finding 14: RFC 7515 section 5.2 and RFC 7519 section 7.2 require JSON
    // objects; serde-derived structs would read these arrays field by field.
    v.push(Case {
        name: "header is a JSON array",
        token: forge(r#"["HS256"]"#, &good_claims()),
        verifier: hs_verifier,
        code: Invalid,
    });
    v.push(Case {
        name: "header is a JSON array with whitespace before it",
        token: forge(" \n[\"HS256\",null,\"JWT\"]", &good_claims()),
        verifier: hs_verifier,
        code: Invalid,
    });
    v.push(Case {
        name: "claims set is a JSON array",
        token: forge(
            HS,
            &format!(
                r#"[null,null,null,{},null,{NOW},null,"p1",null]"#,
                NOW + 900
            ),
        ),
        verifier: hs_verifier,
        code: Invalid,
    });
    // The typ rule for user tokens refuses plain JWTs.
    v.push(Case {
        name: "plain JWT where a typed token is required",
        token: good,
        verifier: || {
            let s = HmacSecret::from_bytes(SECRET).unwrap();
            JwtVerifier::new(
                vec![JwtKey::hmac(&s, Algorithm::HS256).unwrap()],
                JwtPolicy::default().with_type(TypeRule::Exactly("user-rate+jwt".into())),
            )
            .unwrap()
        },
        code: Invalid,
    });
    v
}

#[test]
fn the_baseline_token_is_accepted() {
    // Without this the suite could pass by rejecting everything.
    let good = forge(HS, &good_claims());
    let ok = hs_verifier().verify(&good, now()).unwrap();
    assert_eq!(ok.client_id(), Some("p1"));
    let kid_a = forge(r#"{"alg":"HS256","kid":"a"}"#, &good_claims());
    assert!(two_key_verifier().verify(&kid_a, now()).is_ok());
}

#[test]
fn attack_suite_rejects_every_case_with_the_right_code() {
    let cases = cases();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    let mut names = std::collections::HashSet::new();
    let mut failures = Vec::new();
    for case in &cases {
        assert!(names.insert(case.name), "duplicate case name {}", case.name);
        match (case.verifier)().verify(&case.token, now()) {
            Ok(_) => failures.push(format!("{}: ACCEPTED", case.name)),
            Err(e) if e.code() != case.code => {
                failures.push(format!("{}: got {e}, want {}", case.name, case.code))
            }
            Err(e) => {
                assert!(!e.message().is_empty());
                // Messages never echo the secret.
                assert!(!e.message().contains("partner-secret"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("{} attack cases rejected", cases.len());
}

/// Issue #9 finding 16: RS256 tokens from 4096-bit keys carry a 512-byte signature (683
/// Base64url characters) and must not be refused by a size bound.
#[test]
fn rs256_tokens_from_4096_bit_keys_verify() {
    let rng = SystemRandom::new();
    let private = auth_core::keys::generate_rsa(4096, &rng).unwrap();
    for alg in [Algorithm::RS256, Algorithm::PS256] {
        let token = JwtSigner::new(&private, alg, &rng)
            .unwrap()
            .sign(
                &serde_json::json!({"clientId":"p1","iat":NOW,"exp":NOW + 900}),
                &rng,
            )
            .unwrap();
        assert_eq!(sig_of(&token).len(), 683, "{alg}");
        let v = JwtVerifier::new(
            vec![JwtKey::public(&private.public_key(), alg).unwrap()],
            JwtPolicy::default(),
        )
        .unwrap();
        let ok = v
            .verify(&token, now())
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(ok.client_id(), Some("p1"));
        // One more signature character is still refused.
        let longer = format!("{token}A");
        assert_eq!(
            v.verify(&longer, now()).unwrap_err().code(),
            ErrorCode::InvalidToken
        );
    }
}
