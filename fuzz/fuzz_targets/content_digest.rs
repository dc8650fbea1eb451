//! Fuzzes `Content-Digest` parsing and checking (whole and streamed must agree).
#![no_main]
use auth_core::content_digest::{AcceptedDigests, DigestVerifier, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (field, body) = text.split_once('\n').unwrap_or((text, ""));
    let whole = verify(field, body.as_bytes(), AcceptedDigests::default());
    let streamed = DigestVerifier::new(field, AcceptedDigests::default()).and_then(|mut v| {
        for piece in body.as_bytes().chunks(3) {
            v.update(piece);
        }
        v.finish()
    });
    assert_eq!(whole.map_err(|e| e.code()), streamed.map_err(|e| e.code()));
});
