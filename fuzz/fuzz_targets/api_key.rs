//! Fuzzes API-key classification and checking against a record.
#![no_main]
use auth_core::apikey::{self, ApiKeyDigest, ApiKeyRecord, Environment, KeyPrefix};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(prefix) = KeyPrefix::new("pa") else { return };
    if let Ok(presented) = apikey::parse(text, &prefix) {
        let record = ApiKeyRecord {
            digest: ApiKeyDigest::of("pa_live_not-this-one"),
            environment: Some(Environment::Live),
            expires_at: None,
            revoked_at: None,
        };
        assert!(record.check(&presented, auth_core::UnixTime::EPOCH, Environment::Live).is_err());
    }
});
