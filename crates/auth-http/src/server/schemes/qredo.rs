//! Qredo: `x-api-key` + `x-timestamp` or `x-nonce` + `x-sign`. The `x-api-key` names a
//! [`Purpose::QredoKey`] credential (never a bearer key) bound to one RSA public key and one
//! freshness mode; every signed request is single-use, keyed on the signed bytes.

use super::{Ctx, Verified, resolve, target, view};
use crate::server::rejection::{ErrorStyle, Rejection};
use auth_core::Error;
use auth_core::apikey::PresentedKey;
use auth_core::credential::{CredentialRef, Material, Principal, Purpose, QredoMode, Scheme};
use auth_core::replay::{ReplayKey, ReplayObligation};
use auth_core::request::Headers;
use auth_core::scheme::qredo::{self, Freshness, QredoPolicy, Reason};

pub(crate) fn detect(headers: &Headers<'_>) -> bool {
    headers.contains(qredo::HEADER_SIGN)
}

fn style(reason: Reason) -> ErrorStyle {
    ErrorStyle::Qredo(reason)
}

pub(crate) async fn verify(ctx: &Ctx<'_>, policy: &QredoPolicy) -> Result<Verified, Rejection> {
    let signature_style = style(Reason::Signature);
    let target = target(ctx, &signature_style)?;
    let req = view(ctx, target, &signature_style)?;
    let reject = |e: qredo::QredoError| Rejection::new(e.error, style(e.reason));
    let parsed = qredo::parse(&req).map_err(reject)?;
    let presented = PresentedKey::Foreign(parsed.api_key());
    let digest = presented.digest();
    let reference = CredentialRef::by_digest(Purpose::QredoKey, &digest);
    let credential = resolve(ctx, &reference, &style(Reason::ApiKey)).await?;
    let principal = Principal::of(&credential, Scheme::Qredo);
    let about = |r: Rejection| r.about(&principal);
    let Material::Qredo {
        public_key, mode, ..
    } = &credential.material
    else {
        return Err(about(Rejection::new(
            auth_core::credential::unknown_credential(),
            style(Reason::ApiKey),
        )));
    };
    credential
        .check_presented_key(&presented, &digest)
        .map_err(|e| about(Rejection::new(e, style(Reason::ApiKey))))?;
    let mut signed = Vec::with_capacity(512 + ctx.body.len());
    let verified =
        qredo::verify_with_buffer(&req, &parsed, public_key, policy, ctx.now, &mut signed)
            .map_err(|e| about(reject(e)))?;
    // The mode after the signature too: only the key's holder learns which mode it uses.
    let (mode_reason, presented_mode) = match parsed.freshness() {
        Freshness::Timestamp(_) => (Reason::Timestamp, QredoMode::Timestamp),
        Freshness::Nonce(_) => (Reason::Nonce, QredoMode::Nonce),
    };
    if presented_mode != *mode {
        return Err(about(Rejection::new(
            Error::malformed(match mode {
                QredoMode::Timestamp => "this key signs with x-timestamp, not x-nonce",
                QredoMode::Nonce => "this key signs with x-nonce, not x-timestamp",
            }),
            style(mode_reason),
        )));
    }
    // Status after the signature: only the key's holder learns it is revoked or expired.
    credential
        .check_usable(Purpose::QredoKey, ctx.now)
        .map_err(|e| about(Rejection::new(e, style(Reason::ApiKey))))?;
    let replay = match verified.freshness() {
        // The same signed bytes are accepted once while their timestamp is fresh.
        Freshness::Timestamp(_) => ReplayObligation::SingleUse {
            key: ReplayKey::content(&reference, &verified.content_digest_for_replay()),
            ttl: policy.window().retention(),
        },
        Freshness::Nonce(n) => ReplayObligation::Monotonic {
            key: ReplayKey::counter(&reference),
            value: n,
        },
    };
    Ok(Verified {
        content_digest: None,
        principal,
        replay,
        style: style(mode_reason),
    })
}
