//! Fuzzes the Smile "Signature" parsers and verifier (body fields and headers).
#![no_main]
use auth_core::UnixTime;
use auth_core::scheme::smile::{self, SmileKey, SmilePolicy};
use libfuzzer_sys::fuzz_target;

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
    let key = SmileKey::new(b"test-api-key").unwrap();
    let now = UnixTime::from_secs(1_649_021_507);
    if let Ok(parsed) = smile::parse(p, t, s) {
        let _ = smile::verify(&parsed, &key, &SmilePolicy::default(), now);
    }
    let get = |name: &str| match name {
        smile::HEADER_PARTNER_ID => Some(p),
        smile::HEADER_TIMESTAMP => Some(t),
        smile::HEADER_SIGNATURE => Some(s),
        _ => None,
    };
    let _ = smile::parse_headers(get);
    let _ = smile::parse_timestamp(text);
});
