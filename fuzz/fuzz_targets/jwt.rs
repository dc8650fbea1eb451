//! Fuzzes JWT parsing and verification: arbitrary text as a token against HMAC and Ed25519
//! verifiers (no panic, typed errors), and the JWS layer alone.
#![no_main]
use auth_core::UnixTime;
use auth_core::keys::{HmacSecret, PrivateKey, SignatureAlgorithm, VerifyingKey};
use auth_core::scheme::jwt::{self, Algorithm, IatRule, JwtKey, JwtPolicy, JwtVerifier};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

struct Fixture {
    hs: JwtVerifier,
    ed: JwtVerifier,
    lax: JwtPolicy,
    hs_key: JwtKey,
    vk: VerifyingKey,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let secret = HmacSecret::from_bytes(b"fuzz-secret-0123456789abcdef").unwrap();
        let ed = PrivateKey::ed25519_from_seed(&[7u8; 32]).unwrap();
        Fixture {
            hs: JwtVerifier::new(
                vec![JwtKey::hmac(&secret, Algorithm::HS256).unwrap()],
                JwtPolicy::default().with_audience(["api"]),
            )
            .unwrap(),
            ed: JwtVerifier::new(
                vec![
                    JwtKey::public(&ed.public_key(), Algorithm::EdDSA).unwrap().with_kid("a"),
                    JwtKey::hmac(&secret, Algorithm::HS512).unwrap().with_kid("b"),
                ],
                JwtPolicy::new(IatRule::Optional),
            )
            .unwrap(),
            lax: JwtPolicy::new(IatRule::Optional).with_max_token_len(64 * 1024),
            hs_key: JwtKey::hmac(&secret, Algorithm::HS256).unwrap(),
            vk: VerifyingKey::hmac(&secret, SignatureAlgorithm::HmacSha256).unwrap(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let f = fixture();
    let now = UnixTime::from_secs(1_700_000_000);
    let _ = f.hs.verify(token, now);
    let _ = f.ed.verify(token, now);
    if let Ok(parsed) = jwt::parse(token, &f.lax) {
        let _ = (parsed.kid(), parsed.client_id(), parsed.issuer(), parsed.algorithm());
        if let Ok(v) = jwt::verify(parsed, &f.hs_key, &f.lax, now) {
            let _ = v.claims::<serde_json::Value>();
            let _ = v.audiences().count();
        }
    }
    let _ = jwt::jws::verify_compact(token, &f.vk);
});
