//! Altalix signed payload URLs: `?payload=<base64 JSON>&signature=<base64>`, the key found by
//! the payload's `key_id` among [`Purpose::AltalixKey`] credentials. The payload's
//! `partner_id` must be the key's partner; each payload is accepted once.

use super::{Ctx, Verified, problem, resolve};
use crate::server::rejection::{ErrorStyle, Rejection};
use auth_core::credential::{CredentialRef, Material, Principal, Purpose, Scheme};
use auth_core::replay::{ReplayKey, ReplayObligation};
use auth_core::scheme::altalix::{self, AltalixPolicy};
use auth_core::{Error, ErrorCode};

fn query(parts: &http::request::Parts) -> Option<&str> {
    parts.uri.query()
}

pub(crate) fn detect(parts: &http::request::Parts) -> bool {
    query(parts).is_some_and(|q| {
        let mut payload = false;
        let mut signature = false;
        for kv in q.split('&') {
            payload |= kv.starts_with("payload=");
            signature |= kv.starts_with("signature=");
        }
        payload && signature
    })
}

pub(crate) async fn verify(ctx: &Ctx<'_>, policy: &AltalixPolicy) -> Result<Verified, Rejection> {
    let style = ErrorStyle::Problem;
    let parsed = altalix::parse_query(query(ctx.parts).unwrap_or("")).map_err(problem)?;
    let reference = CredentialRef::parse(Purpose::AltalixKey, parsed.key_id()).map_err(problem)?;
    let credential = resolve(ctx, &reference, &style).await?;
    let principal = Principal::of(&credential, Scheme::Altalix);
    let Material::Altalix(key) = &credential.material else {
        return Err(problem(auth_core::credential::unknown_credential()));
    };
    let payload =
        altalix::verify(&parsed, key, policy, ctx.now).map_err(|e| problem(e).about(&principal))?;
    if payload.partner_id != credential.partner.as_str() {
        return Err(problem(Error::new(
            ErrorCode::Unauthorized,
            "the payload's partner_id is not the partner of its key_id",
        ))
        .about(&principal));
    }
    credential
        .check_usable(Purpose::AltalixKey, ctx.now)
        .map_err(|e| problem(e).about(&principal))?;
    Ok(Verified {
        content_digest: None,
        principal,
        replay: ReplayObligation::SingleUse {
            key: ReplayKey::content(&reference, &parsed.content_digest_for_replay()),
            ttl: policy.window().retention(),
        },
        style,
    })
}
