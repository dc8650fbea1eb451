//! Fuzzes DER key loading: PKCS#1, PKCS#8, SEC1 private keys and SPKI / PKCS#1 public keys.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = auth_core::keys::PrivateKey::from_der(data);
    if let Ok(key) = auth_core::keys::PublicKey::from_der(data) {
        // Whatever parses must re-encode and parse back to the same key.
        let again = auth_core::keys::PublicKey::from_spki_der(&key.to_spki_der());
        assert_eq!(again.ok(), Some(key));
    }
});
