//! Fuzzes app manifest JSON parsing, the CBOR signature blob and full verification.
#![no_main]
use auth_core::scheme::apptrust::{AppManifest, AuthorityKey, ManifestSignature};
use libfuzzer_sys::fuzz_target;

const AUTHORITY: &str = "075i62XGQJuXjv6nnLQyJzECZhF29acYvYeEOJ3kc5M8=";

fuzz_target!(|data: &[u8]| {
    // Raw bytes as the CBOR signature blob: decoding must be bounded and re-encode stably.
    if let Ok(sig) = ManifestSignature::from_cbor(data) {
        let again = ManifestSignature::from_cbor(&sig.to_cbor()).expect("re-decode");
        assert_eq!(again, sig);
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(m) = AppManifest::from_json(text) {
        if let Ok(authority) = AuthorityKey::from_text(AUTHORITY) {
            let _ = m.verify(&authority);
        }
    }
});
