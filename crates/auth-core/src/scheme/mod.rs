//! One module per partner-authentication scheme, each shaped the same way: types, `sign`,
//! `parse` (pull out the key ID and claimed time), `verify`.

pub mod altalix;
pub mod apptrust;
pub mod jwt;
pub mod qredo;
pub mod rfc9421;
pub mod smile;
pub mod user_token;

/// Whether `json` is a JSON object, judged by its first non-whitespace byte. JOSE (RFC 7515
/// section 5.2, RFC 7519 section 7.2) and every JSON document here is an object, but a
/// serde-derived struct also reads an array, field by field: check this before deserialising.
pub(crate) fn is_json_object(json: &[u8]) -> bool {
    json.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|b| *b == b'{')
}
