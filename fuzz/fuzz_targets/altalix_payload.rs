//! Fuzzes Altalix signed-URL parsing (query splitting, percent-decoding, lenient Base64, the
//! payload JSON) and verification against a fixed key.
#![no_main]
use auth_core::keys::{PublicKey, SignatureAlgorithm, VerifyingKey};
use auth_core::scheme::altalix::{self, AltalixPolicy};
use auth_core::time::UnixTime;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn key() -> &'static VerifyingKey {
    static K: OnceLock<VerifyingKey> = OnceLock::new();
    K.get_or_init(|| {
        let pem = include_str!("../../testvectors/altalix/partner-key.pub.pem");
        VerifyingKey::new(&PublicKey::from_pem(pem).unwrap(), SignatureAlgorithm::RsaPkcs1Sha256).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Also fuzz the JSON directly: Base64 it into a well-formed URL with a junk signature.
    let as_payload = format!(
        "payload={}&signature=AAAA",
        auth_core::encoding::b64_encode(text.as_bytes())
    );
    for q in [text, as_payload.as_str()] {
        if let Ok(parsed) = altalix::parse_query(q) {
            let _ = parsed.key_id();
            let _ = parsed.content_digest_for_replay();
            let _ = altalix::verify(&parsed, key(), &AltalixPolicy::default(), UnixTime::from_secs(1_795_000_000));
        }
    }
});
