//! Smile "Signature": `smileid-partner-id` / `smileid-timestamp` / `smileid-request-signature`
//! headers, or the JSON body fields `partner_id` / `timestamp` / `signature` when the request
//! carries no other credential. The key is found by partner ID among [`Purpose::SmileKey`]
//! credentials; each (partner, timestamp) pair is accepted once (the MAC covers only those).

use super::{Ctx, Verified, problem, resolve};
use crate::server::rejection::{ErrorStyle, Rejection};
use auth_core::credential::{CredentialRef, Material, Principal, Purpose, Scheme};
use auth_core::replay::{ReplayKey, ReplayObligation};
use auth_core::request::Headers;
use auth_core::scheme::smile::{self, ParsedSignature, SmilePolicy};

/// Largest JSON body searched for the three fields.
const MAX_FIELDS_BODY: usize = 64 * 1024;

pub(crate) fn detect_headers(headers: &Headers<'_>) -> bool {
    headers.contains(smile::HEADER_SIGNATURE)
}

pub(crate) async fn verify_headers(
    ctx: &Ctx<'_>,
    policy: &SmilePolicy,
) -> Result<Verified, Rejection> {
    let headers = ctx.headers;
    let parsed =
        smile::parse_headers(|name| headers.get_one(name).ok().flatten()).map_err(problem)?;
    verify_parsed(ctx, policy, &parsed).await
}

/// The three fields of a JSON object body, if it has them all.
pub(crate) struct BodyFields {
    partner_id: String,
    timestamp: String,
    signature: String,
}

/// Reads the fields from `body` (a JSON object of bounded size), or `None`.
pub(crate) fn body_fields(body: &[u8]) -> Option<BodyFields> {
    #[derive(serde::Deserialize)]
    struct Fields {
        partner_id: String,
        timestamp: String,
        signature: String,
    }
    if body.len() > MAX_FIELDS_BODY || body.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    let f: Fields = serde_json::from_slice(body).ok()?;
    Some(BodyFields {
        partner_id: f.partner_id,
        timestamp: f.timestamp,
        signature: f.signature,
    })
}

pub(crate) async fn verify_body(
    ctx: &Ctx<'_>,
    policy: &SmilePolicy,
    fields: &BodyFields,
) -> Result<Verified, Rejection> {
    let parsed =
        smile::parse(&fields.partner_id, &fields.timestamp, &fields.signature).map_err(problem)?;
    verify_parsed(ctx, policy, &parsed).await
}

async fn verify_parsed(
    ctx: &Ctx<'_>,
    policy: &SmilePolicy,
    parsed: &ParsedSignature<'_>,
) -> Result<Verified, Rejection> {
    let style = ErrorStyle::Problem;
    let reference =
        CredentialRef::parse(Purpose::SmileKey, parsed.partner_id()).map_err(problem)?;
    let credential = resolve(ctx, &reference, &style).await?;
    let principal = Principal::of(&credential, Scheme::Smile);
    let Material::Smile(key) = &credential.material else {
        return Err(problem(auth_core::credential::unknown_credential()));
    };
    smile::verify(parsed, key, policy, ctx.now).map_err(|e| problem(e).about(&principal))?;
    credential
        .check_usable(Purpose::SmileKey, ctx.now)
        .map_err(|e| problem(e).about(&principal))?;
    Ok(Verified {
        content_digest: None,
        principal,
        replay: ReplayObligation::SingleUse {
            key: ReplayKey::content(&reference, &parsed.content_digest_for_replay()),
            ttl: policy.retention(),
        },
        style,
    })
}
