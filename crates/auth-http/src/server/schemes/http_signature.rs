//! RFC 9421 HTTP message signatures: `Signature-Input` + `Signature`, the key found by
//! `keyid` among [`Purpose::HttpSignatureKey`] credentials. A signature with a nonce is
//! single-use by its nonce; one without, by its signature base (the signed content), so an
//! ECDSA signature's (r, n-s) twin is the same replay.

use super::{Ctx, Verified, problem, resolve, target, view};
use crate::server::SignatureExplanation;
use crate::server::rejection::{ErrorStyle, Rejection};
use auth_core::credential::{CredentialRef, Material, Principal, Purpose, Scheme};
use auth_core::replay::{ReplayKey, ReplayKind, ReplayObligation};
use auth_core::request::{Headers, Message};
use auth_core::scheme::rfc9421::{self, BodyCheck, ComponentName, ParsedSignature, VerifyPolicy};
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
    if ctx.digest_bound && msg.body().is_present() && !covers_content_digest(&parsed) {
        return Err(problem(Error::malformed(
            "the request has a body but the signature does not cover content-digest; sign \
             content-digest (digest-bound mode), or run `auth-verify proxy --upstream <your API>` \
             (inline mode)",
        )));
    }
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
    // Deferred: the body stayed with the gateway; the upstream checks it against this value.
    let content_digest = match verified.body {
        BodyCheck::DigestDeferred => ctx
            .headers
            .get_one("content-digest")
            .map_err(problem)?
            .map(str::to_owned),
        _ => None,
    };
    Ok(Verified {
        principal,
        replay: ReplayObligation::SingleUse { key, ttl },
        style,
        content_digest,
    })
}

fn covers_content_digest(parsed: &ParsedSignature) -> bool {
    parsed.params().components().iter().any(|c| {
        !c.is_req() && matches!(c.name(), ComponentName::Field(f) if f == "content-digest")
    })
}

/// What the server computes for a signature, for the explain answer: never a key, only what
/// the request itself carries and the server's clock.
pub(crate) fn explain(ctx: &Ctx<'_>, policy: &VerifyPolicy) -> Option<SignatureExplanation> {
    let style = ErrorStyle::Problem;
    let target = target(ctx, &style).ok()?;
    let req = view(ctx, target, &style).ok()?;
    let msg = Message::Request(&req);
    let parsed = rfc9421::parse(&msg, policy).ok()?;
    let params = parsed.params();
    let created = params.created();
    Some(SignatureExplanation {
        label: parsed.label().to_owned(),
        keyid: parsed.keyid().map(str::to_owned),
        covered_components: params.components().iter().map(|c| c.identifier()).collect(),
        signature_base: parsed
            .signature_base(&msg)
            .map_err(|e| e.message().to_owned()),
        created,
        expires: params.expires(),
        clock_skew_seconds: created.map(|c| {
            i64::try_from(ctx.now.as_secs()).unwrap_or(i64::MAX)
                - i64::try_from(c.as_secs()).unwrap_or(i64::MAX)
        }),
    })
}
