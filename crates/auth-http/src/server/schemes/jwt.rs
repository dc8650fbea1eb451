//! JWT partner tokens (`Authorization: Bearer <jws>`): the key found by `kid`, else by
//! `clientId`, among [`Purpose::JwtClientKey`] credentials. The principal names the
//! registered credential, never the token's claim.

use super::{Ctx, Verified, bearer, problem, resolve};
use crate::server::rejection::{ErrorStyle, Rejection};
use auth_core::credential::{CredentialRef, Material, Principal, Purpose, Scheme};
use auth_core::replay::ReplayObligation;
use auth_core::request::Headers;
use auth_core::scheme::jwt::{self, JwtPolicy};
use auth_core::{Error, ErrorCode};

const CHALLENGE: &str = "Bearer error=\"invalid_token\"";

fn presented<'a>(headers: &Headers<'a>) -> Option<&'a str> {
    bearer::token(headers).filter(|t| bearer::looks_like_jwt(t) && !bearer::is_app_token(t))
}

/// A bearer JWS. Where the route also takes user tokens, one that declares the user-token
/// type is left to that scheme (the header is decoded only then; the JWT verifier refuses
/// that type anyway).
pub(crate) fn detect(headers: &Headers<'_>, route_takes_user_tokens: bool) -> bool {
    presented(headers).is_some_and(|t| !(route_takes_user_tokens && bearer::is_user_token(t)))
}

pub(crate) async fn verify(ctx: &Ctx<'_>, policy: &JwtPolicy) -> Result<Verified, Rejection> {
    let reject = |e: Error| problem(e).with_challenge(CHALLENGE);
    let token = presented(&ctx.headers).ok_or_else(Rejection::missing)?;
    let parsed = jwt::parse(token, policy).map_err(reject)?;
    let id = parsed.kid().or(parsed.client_id()).ok_or_else(|| {
        reject(Error::new(
            ErrorCode::InvalidToken,
            "Invalid Token: the token has neither a kid header nor a clientId claim",
        ))
    })?;
    let reference = CredentialRef::parse(Purpose::JwtClientKey, id).map_err(reject)?;
    let style = ErrorStyle::Problem;
    let credential = resolve(ctx, &reference, &style).await.map_err(|r| {
        // The partner-token contract names three reasons; an unknown key is "Invalid Token".
        if r.error.code() == ErrorCode::UnknownKey {
            reject(Error::new(
                ErrorCode::InvalidToken,
                "Invalid Token: no key is registered for this token's kid or clientId",
            ))
        } else {
            r.with_challenge(CHALLENGE)
        }
    })?;
    let principal = Principal::of(&credential, Scheme::Jwt);
    let Material::Jwt(key) = &credential.material else {
        return Err(reject(auth_core::credential::unknown_credential()));
    };
    jwt::verify(parsed, key, policy, ctx.now).map_err(|e| reject(e).about(&principal))?;
    credential
        .check_usable(Purpose::JwtClientKey, ctx.now)
        .map_err(|e| reject(e).about(&principal))?;
    Ok(Verified {
        content_digest: None,
        principal,
        replay: ReplayObligation::None,
        style,
    })
}
