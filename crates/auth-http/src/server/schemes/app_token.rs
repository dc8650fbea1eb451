//! Actyx-style app tokens (`Authorization: Bearer axt1...` or `?access_token=axt1...`) that
//! this node issued, accepted only on routes that opt in with [`AppTokenConfig`]; trial apps
//! (unsigned `com.example.*` manifests) only where the route allows them.

use super::{Ctx, Verified, bearer};
use crate::server::app_tokens::{AppTokenConfig, TrialApps, actyx_rejection};
use crate::server::rejection::{ErrorStyle, Rejection};
use auth_core::credential::{CredentialRef, PartnerId, Principal, Purpose, Scheme};
use auth_core::replay::ReplayObligation;
use auth_core::request::Headers;
use auth_core::scheme::apptrust::{ActyxCode, AppMode, AppTrustError};

fn presented<'a>(parts: &'a http::request::Parts, headers: &Headers<'a>) -> Option<&'a str> {
    bearer::token(headers)
        .filter(|t| bearer::is_app_token(t))
        .or_else(|| {
            parts
                .uri
                .query()?
                .split('&')
                .find_map(|kv| kv.strip_prefix("access_token="))
                .filter(|t| bearer::is_app_token(t))
        })
}

pub(crate) fn detect(parts: &http::request::Parts, headers: &Headers<'_>) -> bool {
    presented(parts, headers).is_some()
}

fn refuse(code: ActyxCode, message: &'static str) -> Rejection {
    actyx_rejection(AppTrustError::new(
        code,
        auth_core::Error::new(auth_core::ErrorCode::Unauthorized, message),
    ))
}

pub(crate) fn verify(ctx: &Ctx<'_>, cfg: &AppTokenConfig) -> Result<Verified, Rejection> {
    let token = presented(ctx.parts, &ctx.headers).ok_or_else(Rejection::missing)?;
    let verified = cfg
        .verifier
        .verify(token, ctx.now)
        .map_err(actyx_rejection)?;
    if verified.mode == AppMode::Trial && cfg.trial_apps == TrialApps::Refuse {
        return Err(refuse(
            ActyxCode::AppUnauthorized,
            "trial apps (unsigned com.example.* manifests) are not accepted here; sign the manifest",
        ));
    }
    let app = PartnerId::new(verified.app_id.as_str())
        .map_err(|e| actyx_rejection(AppTrustError::new(ActyxCode::TokenInvalid, e)))?;
    let credential = CredentialRef::new(
        Purpose::AppToken,
        auth_core::credential::CredentialId::new(verified.app_id.as_str())
            .map_err(|e| actyx_rejection(AppTrustError::new(ActyxCode::TokenInvalid, e)))?,
    );
    let principal = Principal {
        partner: app,
        credential,
        scheme: Scheme::AppToken,
        scopes: cfg.scopes.clone(),
        environment: cfg.environment,
        expires_at: Some(verified.expires_at()),
    };
    let style = ErrorStyle::Actyx(ActyxCode::TokenUnauthorized, String::new());
    Ok(Verified {
        content_digest: None,
        principal,
        replay: ReplayObligation::None,
        style,
    })
}
