//! Fuzzes the legacy sec_key: parsing, the provider's constant-time decrypt-and-compare, and
//! the partner's confirmation of a response signature, all with arbitrary input.
#![no_main]
use auth_core::UnixTime;
use auth_core::keys::{PrivateKey, PublicKey, RsaPkcs1Decryptor};
use auth_core::scheme::smile::{SmilePolicy, sec_key};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn keys() -> &'static (RsaPkcs1Decryptor, PublicKey) {
    static K: OnceLock<(RsaPkcs1Decryptor, PublicKey)> = OnceLock::new();
    K.get_or_init(|| {
        let rng = auth_core::rand::SystemRandom::new();
        let private: PrivateKey = auth_core::keys::generate_rsa(2048, &rng).unwrap();
        (RsaPkcs1Decryptor::new(&private).unwrap(), private.public_key())
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(3, '\n');
    let (p, t, s) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let (dec, public) = keys();
    let now = UnixTime::from_secs(1_649_021_507);
    if let Ok(parsed) = sec_key::parse(p, t, s) {
        let _ = sec_key::verify(&parsed, dec, &SmilePolicy::default(), now);
    }
    let _ = sec_key::verify_response(public, p, t, s);
    let _ = sec_key::hash(p, t);
    let _ = dec.decrypt_matches(data, b"x");
});
