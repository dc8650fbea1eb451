//! The one place `Authorization: Bearer <token>` is read, and the shape tests that route a
//! bearer value to its scheme (API key, JWT, user token, app token).

use auth_core::request::Headers;
use auth_core::scheme::{apptrust, jwt, user_token};

/// The token of `Authorization: Bearer <token>`; `None` without that header or with another
/// scheme (the layer then finds no bearer credential).
pub(crate) fn token<'a>(headers: &Headers<'a>) -> Option<&'a str> {
    let value = headers.get_one("authorization").ok().flatten()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A compact JWS has exactly two dots; API keys (ours and the foreign ones) have none.
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2
}

/// An app token (`axt1...`).
pub(crate) fn is_app_token(token: &str) -> bool {
    token.starts_with(apptrust::TOKEN_PREFIX)
}

/// Whether a JWS-shaped token declares the user-token type in its (unverified) header; the
/// verifier then checks it properly. Used only to route, never to trust.
pub(crate) fn is_user_token(token: &str) -> bool {
    looks_like_jwt(token)
        && token
            .split('.')
            .next()
            .and_then(|h| jwt::jws::parse_header(h).ok())
            .and_then(|h| h.typ)
            .is_some_and(|t| t == user_token::TOKEN_TYPE)
}
