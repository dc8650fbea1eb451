//! Fuzzes license key decoding (CBOR and Base64 text) and verification.
#![no_main]
use auth_core::scheme::apptrust::{AuthorityKey, License};
use auth_core::UnixTime;
use libfuzzer_sys::fuzz_target;

const AUTHORITY: &str = "075i62XGQJuXjv6nnLQyJzECZhF29acYvYeEOJ3kc5M8=";

fuzz_target!(|data: &[u8]| {
    if let Ok(l) = License::from_cbor(data) {
        let again = License::from_cbor(&l.to_cbor()).expect("re-decode");
        assert_eq!(again, l);
        if let Ok(authority) = AuthorityKey::from_text(AUTHORITY) {
            let _ = l.verify(&authority, l.app_id(), UnixTime::from_secs(1_750_000_000));
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = License::from_key_text(text);
    }
});
