//! Fuzzes restricted user-token verification with arbitrary tokens and scopes, and the
//! session-request parser.
#![no_main]
use auth_core::UnixTime;
use auth_core::keys::HmacSecret;
use auth_core::scheme::jwt::{Algorithm, JwtKey};
use auth_core::scheme::user_token::{RevokedIds, SessionRequest, UserTokenVerifier};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn verifier() -> &'static UserTokenVerifier {
    static V: OnceLock<UserTokenVerifier> = OnceLock::new();
    V.get_or_init(|| {
        let s = HmacSecret::from_bytes(b"fuzz-provider-secret-0123456789").unwrap();
        UserTokenVerifier::new(JwtKey::hmac(&s, Algorithm::HS256).unwrap(), "p").unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (scope, token) = text.split_once('\n').unwrap_or(("user:rate", text));
    let mut revoked = RevokedIds::new();
    revoked.revoke("x", UnixTime::from_secs(1_700_000_600));
    let _ = verifier().verify(token, scope, &revoked, UnixTime::from_secs(1_700_000_000));
    if let Ok(req) = SessionRequest::from_json(text) {
        let _ = req.expiry();
    }
});
