//! Fuzzes JWK parsing and conversion to a public key.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(jwk) = auth_core::keys::jwk::Jwk::from_json(text) {
            if let Ok(key) = auth_core::keys::PublicKey::from_jwk(&jwk) {
                let _ = key.jwk_thumbprint();
            }
        }
    }
});
