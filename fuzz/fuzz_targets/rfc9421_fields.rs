//! Fuzzes `Signature-Input` / `Signature` parsing (RFC 9421 phase one) and checks our
//! structured-field parser against `sfv`: same acceptance, same labels, and the
//! `@signature-params` text equals sfv's strict serialisation of the member.
#![no_main]
use auth_core::request::{Message, Request};
use auth_core::scheme::rfc9421::{self, LabelSelection, NonceRequirement, VerifyPolicy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (input, sig) = text.split_once('\n').unwrap_or((text, ""));
    let headers = [("Signature-Input", input), ("Signature", sig), ("Date", "x")];
    let Ok(req) = Request::from_uri("GET", "https://example.com/a?b=c", &headers, b"") else { return };
    let msg = Message::Request(&req);

    let ours = rfc9421::labels(&msg);
    let theirs = sfv::Parser::new(input)
        .with_version(sfv::Version::Rfc8941)
        .parse::<sfv::Dictionary>();
    let bounded = input.len() <= rfc9421::MAX_FIELD_LEN;
    match (&ours, &theirs) {
        (Ok(labels), Ok(dict)) => {
            let keys: Vec<&str> = dict.keys().map(|k| k.as_str()).collect();
            assert_eq!(labels, &keys, "labels differ for {input:?}");
        }
        // Our bounds count members as sent (repeated keys too, which sfv folds into one), so
        // a `too_large` refusal is a bound, not a disagreement.
        (Err(e), Ok(dict)) => assert!(
            !bounded
                || dict.len() > rfc9421::MAX_LABELS
                || e.code() == auth_core::ErrorCode::TooLarge,
            "we reject what sfv accepts: {input:?}: {e}"
        ),
        (Ok(_), Err(_)) if !input.trim_matches(' ').is_empty() => {
            panic!("we accept what sfv rejects: {input:?}")
        }
        _ => {}
    }

    let policy = VerifyPolicy::default()
        .danger_require_only(vec![])
        .with_nonce(NonceRequirement::Optional);
    if let Ok(parsed) = rfc9421::parse(&msg, &policy) {
        if let Ok(dict) = &theirs {
            if let Some(entry) = dict.get(parsed.label()) {
                let mut s = String::new();
                let mut ser = sfv::ListSerializer::with_buffer(&mut s);
                ser.members(std::iter::once(entry));
                let _ = ser.finish();
                assert_eq!(parsed.signature_params_text(), s, "serialisation differs for {input:?}");
            }
        }
        let _ = parsed.signature_base(&msg);
        let named = policy.clone().with_label(LabelSelection::Named(parsed.label().to_owned()));
        let _ = rfc9421::parse(&msg, &named);
    }
});
