//! Fuzzes developer certificate JSON parsing and verification (app trust chain).
#![no_main]
use auth_core::scheme::apptrust::{AuthorityKey, DeveloperCertificate};
use libfuzzer_sys::fuzz_target;

const AUTHORITY: &str = "075i62XGQJuXjv6nnLQyJzECZhF29acYvYeEOJ3kc5M8=";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(file) = DeveloperCertificate::from_json(text) {
        if let Ok(authority) = AuthorityKey::from_text(AUTHORITY) {
            let _ = file.certificate.verify(&authority);
        }
        // What parsed must serialise and parse back to the same certificate.
        let json = file.certificate.to_json(None).expect("serialise");
        let back = DeveloperCertificate::from_json(&json).expect("reparse");
        assert_eq!(back.certificate, file.certificate);
    }
});
