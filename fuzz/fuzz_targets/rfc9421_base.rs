//! Fuzzes signature-base construction: arbitrary header lines, target URI and covered
//! components (as a Signature-Input member), for requests and responses with `;req`.
#![no_main]
use auth_core::request::{Body, Headers, Message, Request, Response, TargetUri};
use auth_core::scheme::rfc9421::{self, LabelSelection, NonceRequirement, VerifyPolicy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let uri = lines.next().unwrap_or("");
    let components = lines.next().unwrap_or("");
    let mut headers: Vec<(&str, &str)> = lines
        .take(16)
        .map(|l| l.split_once(':').unwrap_or((l, "")))
        .collect();
    let input = format!("sig1=({components});created=1");
    headers.push(("Signature-Input", &input));
    headers.push(("Signature", "sig1=:AAAA:"));
    let target = TargetUri::parse(uri).or_else(|_| TargetUri::parse("https://example.com/p?q=1"));
    let Ok(target) = target else { return };
    let Ok(req) = Request::new("POST", target, Headers::new(&headers), Body::from_bytes(b"{}")) else { return };
    let policy = VerifyPolicy::default()
        .danger_require_only(vec![])
        .with_nonce(NonceRequirement::Optional)
        .with_label(LabelSelection::Named("sig1".into()));
    let req_msg = Message::Request(&req);
    if let Ok(p) = rfc9421::parse(&req_msg, &policy) {
        let _ = p.signature_base(&req_msg);
    }
    if let Ok(resp) = Response::new(200, Headers::new(&headers), Body::Empty) {
        let msg = Message::Response { response: &resp, request: Some(&req) };
        if let Ok(p) = rfc9421::parse(&msg, &policy) {
            let _ = p.signature_base(&msg);
        }
    }
});
