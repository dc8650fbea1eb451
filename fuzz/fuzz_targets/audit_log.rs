//! Fuzzes auth-core's audit log verifier (line decoding, hash chain, torn-write recovery and
//! checkpoint checks) with arbitrary log bytes, whole and fed in arbitrary line pieces.
#![no_main]
use auth_core::audit::{ChainVerifier, verify_log};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let whole = verify_log("fuzz", [7; 32], data);
    let mut verifier = ChainVerifier::new("fuzz", [7; 32]);
    for piece in data.split_inclusive(|b| *b == b'\n') {
        if !verifier.push_line(piece) {
            break;
        }
    }
    assert_eq!(verifier.finish(), whole);
    let _ = whole.to_string();
});
