//! RFC 9421 HTTP message signatures: `Signature-Input` + `Signature`, the key found by
//! `keyid` among [`Purpose::HttpSignatureKey`] credentials. A signature with a nonce is
//! single-use by its nonce; one without, by its signature base (the signed content), so an
//! ECDSA signature's (r, n-s) twin is the same replay.

use super::{Ctx, Verified, problem, resolve, target, view};
use crate::server::rejection::{ErrorStyle, Rejection};
use auth_core::credential::{CredentialRef, Material, Principal, Purpose, Scheme};
use auth_core::replay::{ReplayKey, ReplayKind, ReplayObligation};
use auth_core::request::{Headers, Message};
use auth_core::scheme::rfc9421::{self, VerifyPolicy};
use auth_core::{Error, ErrorCode};
use std::time::Duration;

pub(crate) fn detect(headers: &Headers<'_>) -> bool {
    headers.contains("signature-input")
}

pub(crate) async fn verify(ctx: &Ctx<'_>, policy: &VerifyPolicy) -> Result<Verified, Rejection> {
    let style = ErrorStyle::Problem;
    let target = target(ctx, &style)?;
    let req = view(ctx, target, &style)?;
    let msg = Message::Request(&req);
    let parsed = rfc9421::parse(&msg, policy).map_err(problem)?;
    let key_id = parsed.keyid().ok_or_else(|| {
        problem(Error::new(
            ErrorCode::Malformed,
            "the signature has no keyid parameter; add keyid=\"<your key ID>\"",
        ))
    })?;
    let reference = CredentialRef::parse(Purpose::HttpSignatureKey, key_id).map_err(problem)?;
    let credential = resolve(ctx, &reference, &style).await?;
    let principal = Principal::of(&credential, Scheme::HttpSignature);
    let Material::HttpSignature(key) = &credential.material else {
        return Err(problem(auth_core::credential::unknown_credential()));
    };
    let mut base = String::with_capacity(512);
    let verified = rfc9421::verify_with_buffer(&msg, &parsed, key, policy, ctx.now, &mut base)
        .map_err(|e| problem(e).about(&principal))?;
    credential
        .check_usable(Purpose::HttpSignatureKey, ctx.now)
        .map_err(|e| problem(e).about(&principal))?;
    let ttl = policy.replay_window().max(Duration::from_secs(1));
    let key = match verified.nonce {
        Some(nonce) => ReplayKey::new(&reference, ReplayKind::Nonce, nonce).map_err(problem)?,
        None => ReplayKey::content(&reference, &verified.content_digest_for_replay()),
    };
    Ok(Verified {
        principal,
        replay: ReplayObligation::SingleUse { key, ttl },
        style,
    })
}
