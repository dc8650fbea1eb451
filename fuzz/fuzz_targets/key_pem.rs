//! Fuzzes PEM key loading (private and public, and the Smile Base64-of-PEM form).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = auth_core::keys::PrivateKey::from_pem(text);
        let _ = auth_core::keys::PublicKey::from_pem(text);
        let _ = auth_core::keys::PublicKey::from_smile_base64(text);
    }
});
