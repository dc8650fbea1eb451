//! Bearer API keys: `Authorization: Bearer <key>` or `x-api-key: <key>` without a signature.
//! Only credentials registered for [`Purpose::ApiKey`] answer; a Qredo key never does.

use super::{Ctx, Verified, bearer, problem, resolve};
use crate::server::rejection::{ErrorStyle, Rejection};
use auth_core::apikey;
use auth_core::credential::{CredentialRef, Principal, Purpose, Scheme};
use auth_core::replay::ReplayObligation;
use auth_core::request::Headers;

const CHALLENGE: &str = "Bearer error=\"invalid_token\"";

fn presented<'a>(headers: &Headers<'a>) -> Option<&'a str> {
    bearer::token(headers)
        .filter(|t| !bearer::looks_like_jwt(t) && !bearer::is_app_token(t))
        .or_else(|| {
            // `x-api-key` next to `x-sign` is a Qredo key: never a bearer key.
            if headers.contains(auth_core::scheme::qredo::HEADER_SIGN) {
                None
            } else {
                headers.get_one("x-api-key").ok().flatten()
            }
        })
}

pub(crate) fn detect(headers: &Headers<'_>) -> bool {
    presented(headers).is_some()
}

pub(crate) async fn verify(ctx: &Ctx<'_>) -> Result<Verified, Rejection> {
    let text = presented(&ctx.headers).ok_or_else(Rejection::missing)?;
    let reject = |e| problem(e).with_challenge(CHALLENGE);
    let key = apikey::parse(text, &ctx.shared.config.api_key_prefix).map_err(reject)?;
    let digest = key.digest();
    let reference = CredentialRef::by_digest(Purpose::ApiKey, &digest);
    let style = ErrorStyle::Problem;
    let credential = resolve(ctx, &reference, &style)
        .await
        .map_err(|r| r.with_challenge(CHALLENGE))?;
    let principal = Principal::of(&credential, Scheme::ApiKey);
    credential
        .check_presented_key(&key, &digest)
        .and_then(|()| credential.check_usable(Purpose::ApiKey, ctx.now))
        .map_err(|e| reject(e).about(&principal))?;
    Ok(Verified {
        content_digest: None,
        principal,
        replay: ReplayObligation::None,
        style,
    })
}
