//! Fuzzes API-key classification and the checks of a registered API-key credential.
#![no_main]
use auth_core::apikey::{self, ApiKeyDigest, Environment, KeyPrefix};
use auth_core::credential::{Credential, Purpose};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(prefix) = KeyPrefix::new("pa") else {
        return;
    };
    if let Ok(presented) = apikey::parse(text, &prefix) {
        let Ok(credential) = Credential::api_key(
            "acme",
            ApiKeyDigest::of("pa_live_not-this-one"),
            Environment::Live,
        ) else {
            return;
        };
        assert!(
            credential
                .check_presented_key(&presented, &presented.digest())
                .and_then(|()| credential.check_usable(Purpose::ApiKey, auth_core::UnixTime::EPOCH))
                .is_err()
        );
    }
});
