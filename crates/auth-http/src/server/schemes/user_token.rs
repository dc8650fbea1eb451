//! Restricted user tokens (Altalix `user:rate`) that this provider issued, accepted only on
//! routes that opt in with [`UserTokenConfig`]. The principal is the token (purpose
//! [`Purpose::UserToken`], scheme user token), never the partner that asked for it.

use super::{Ctx, Verified, bearer, problem};
use crate::server::rejection::{ErrorStyle, Rejection};
use crate::server::user_tokens::UserTokenConfig;
use auth_core::credential::{CredentialRef, PartnerId, Principal, Purpose, Scheme, Scopes};
use auth_core::replay::ReplayObligation;
use auth_core::request::Headers;

const CHALLENGE: &str = "Bearer error=\"invalid_token\"";

fn presented<'a>(headers: &Headers<'a>) -> Option<&'a str> {
    bearer::token(headers).filter(|t| bearer::is_user_token(t))
}

pub(crate) fn detect(headers: &Headers<'_>) -> bool {
    presented(headers).is_some()
}

pub(crate) fn verify(ctx: &Ctx<'_>, cfg: &UserTokenConfig) -> Result<Verified, Rejection> {
    let reject = |e| problem(e).with_challenge(CHALLENGE);
    let token = presented(&ctx.headers).ok_or_else(Rejection::missing)?;
    let verified = cfg
        .verifier
        .verify(
            token,
            &cfg.required_scope,
            cfg.revocations.as_ref(),
            ctx.now,
        )
        .map_err(reject)?;
    let principal = Principal {
        partner: PartnerId::new(verified.subject()).map_err(reject)?,
        credential: CredentialRef::parse(Purpose::UserToken, verified.jti()).map_err(reject)?,
        scheme: Scheme::UserToken,
        scopes: Scopes::new(verified.scopes()),
        environment: cfg.environment,
        expires_at: Some(verified.expires_at()),
    };
    Ok(Verified {
        content_digest: None,
        principal,
        replay: ReplayObligation::None,
        style: ErrorStyle::Problem,
    })
}
