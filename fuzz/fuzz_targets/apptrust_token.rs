//! Fuzzes app token verification and the Bearer header parser. Half the runs sign the input
//! as a token payload with the issuer key, so the payload decoder (which only runs after the
//! signature verified) is reached too.
#![no_main]
use auth_core::encoding::b64url_encode;
use auth_core::rand::SystemRandom;
use auth_core::scheme::apptrust::{
    AxPublicKey, Epoch, TOKEN_PREFIX, TokenVerifier, bearer_token_from_header,
    signing_key_from_text,
};
use auth_core::UnixTime;
use libfuzzer_sys::fuzz_target;

const ISSUER_PRIVATE: &str = "0WBFFicIHbivRZXAlO7tPs7rCX6s7u2OIMJ2mx9nwg0w=";
const ISSUER: &str = "075i62XGQJuXjv6nnLQyJzECZhF29acYvYeEOJ3kc5M8=";

fuzz_target!(|data: &[u8]| {
    let now = UnixTime::from_secs(1_750_000_000);
    let Ok(issuer) = AxPublicKey::from_text(ISSUER) else { return };
    let Ok(verifier) = TokenVerifier::new(&issuer, Epoch(1)) else { return };
    if let Some((&first, payload)) = data.split_first() {
        if first & 1 == 1 {
            let rng = SystemRandom::new();
            let key = signing_key_from_text(ISSUER_PRIVATE, &rng).expect("key");
            let msg = [b"apptrust-token-v1\n".as_slice(), payload].concat();
            let sig = key.sign(&msg, &rng).expect("sign");
            let token = format!("{TOKEN_PREFIX}{}.{}", b64url_encode(payload), b64url_encode(&sig));
            let _ = verifier.verify(&token, now);
            return;
        }
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = bearer_token_from_header(Some(text));
    let _ = verifier.verify(text, now);
});
