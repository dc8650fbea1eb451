//! Fuzzes Qredo header handling: arbitrary x-api-key / x-timestamp / x-nonce / x-sign values
//! and URL, parsed and verified against a fixed key.
#![no_main]
use auth_core::keys::{PublicKey, SignatureAlgorithm, VerifyingKey};
use auth_core::request::Request;
use auth_core::scheme::qredo::{self, FreshnessMode, QredoPolicy};
use auth_core::time::UnixTime;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn key() -> &'static VerifyingKey {
    static K: OnceLock<VerifyingKey> = OnceLock::new();
    K.get_or_init(|| {
        let pem = include_str!("../../testvectors/qredo/partner-key.pub.pem");
        VerifyingKey::new(&PublicKey::from_pem(pem).unwrap(), SignatureAlgorithm::RsaPkcs1Sha256).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.splitn(6, '\n');
    let (url, api_key, ts, nonce, sign) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let body = parts.next().unwrap_or("").as_bytes();
    let mut headers = vec![("x-api-key", api_key), ("x-sign", sign)];
    if !ts.is_empty() {
        headers.push(("x-timestamp", ts));
    }
    if !nonce.is_empty() {
        headers.push(("X-Nonce", nonce));
    }
    let url = if url.contains("://") { url } else { "https://api.qredo.network/api/v1/p/x" };
    let Ok(req) = Request::from_uri("POST", url, &headers, body) else { return };
    if let Ok(parsed) = qredo::parse(&req) {
        let policy = QredoPolicy::default().with_freshness(FreshnessMode::TimestampOrNonce);
        let r = qredo::verify(&req, &parsed, key(), &policy, UnixTime::from_secs(1_605_779_886));
        let _ = r.map_err(|e| e.reason.error_body());
    }
});
