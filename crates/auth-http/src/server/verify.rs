//! Per-scheme verification of a buffered request: builds auth-core's borrowed view from the
//! http parts, picks the scheme from the headers present, and runs parse -> resolve -> verify
//! -> replay check.

use super::rejection::{ErrorStyle, Rejection};
use super::replay::ReplayVerdict;
use super::{Principal, SchemeKind, Shared};
use auth_core::apikey::{self, ApiKeyDigest};
use auth_core::request::{Body, Headers, Message, Request, TargetUri};
use auth_core::scheme::{jwt, qredo, rfc9421, smile};
use auth_core::{Error, ErrorCode};
use std::sync::Arc;
use std::time::Duration;

/// Most header fields looked at.
const MAX_FIELDS: usize = 128;

pub(crate) async fn authenticate(
    shared: &Shared,
    parts: &http::request::Parts,
    body: &[u8],
) -> Result<Principal, Rejection> {
    let fields = header_fields(&parts.headers)?;
    let headers = Headers::new(&fields);
    let schemes = shared.config.schemes;
    let has = |name: &str| headers.contains(name);

    if schemes.qredo && has(qredo::HEADER_SIGN) {
        let target = target(shared, parts, ErrorStyle::Qredo(qredo::Reason::Signature))?;
        let req = view(
            parts,
            target,
            headers,
            body,
            ErrorStyle::Qredo(qredo::Reason::Signature),
        )?;
        return verify_qredo(shared, &req).await;
    }
    if schemes.http_signature && has("signature-input") {
        let target = target(shared, parts, ErrorStyle::Problem)?;
        let req = view(parts, target, headers, body, ErrorStyle::Problem)?;
        return verify_http_signature(shared, &req).await;
    }
    if schemes.smile && has(smile::HEADER_SIGNATURE) {
        let parsed =
            smile::parse_headers(|name| headers.get_one(name).ok().flatten()).map_err(problem)?;
        return verify_smile(shared, &parsed).await;
    }
    if schemes.smile
        && let Some(fields) = smile_body_fields(body)
    {
        let parsed = smile::parse(&fields.partner_id, &fields.timestamp, &fields.signature)
            .map_err(problem)?;
        return verify_smile(shared, &parsed).await;
    }
    if let Some(cfg) = &shared.config.app_tokens
        && let Some(token) = app_token(parts, &headers)
    {
        return verify_app_token(shared, cfg, token);
    }
    let bearer = bearer(&headers)?;
    if let Some(cfg) = &shared.config.user_tokens
        && let Some(token) = bearer.filter(|t| is_user_token(t))
    {
        return verify_user_token(shared, cfg, token);
    }
    if schemes.jwt
        && let Some(token) = bearer.filter(|t| looks_like_jwt(t))
    {
        return verify_jwt(shared, token).await;
    }
    if schemes.api_key
        && let Some(key) = bearer.or(headers.get_one("x-api-key").map_err(problem)?)
    {
        return verify_api_key(shared, key).await;
    }
    Err(Rejection::missing())
}

fn problem(e: Error) -> Rejection {
    Rejection::new(e, ErrorStyle::Problem)
}

fn header_fields(map: &http::HeaderMap) -> Result<Vec<(&str, &str)>, Rejection> {
    if map.len() > MAX_FIELDS {
        return Err(problem(Error::new(
            ErrorCode::TooLarge,
            format!("more than {MAX_FIELDS} header fields"),
        )));
    }
    // Values that are not visible ASCII are left out: a signature covering one then fails as
    // a missing component, which is the safe direction.
    Ok(map
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
        .collect())
}

fn target<'a>(
    shared: &'a Shared,
    parts: &'a http::request::Parts,
    style: ErrorStyle,
) -> Result<TargetUri<'a>, Rejection> {
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let (scheme, authority) = match &shared.config.public_origin {
        Some(origin) => origin
            .split_once("://")
            .unwrap_or(("https", origin.as_str())),
        None => {
            let host = parts
                .uri
                .authority()
                .map(|a| a.as_str())
                .or_else(|| {
                    parts
                        .headers
                        .get(http::header::HOST)
                        .and_then(|h| h.to_str().ok())
                })
                .ok_or_else(|| {
                    Rejection::new(
                        Error::malformed("the request has no Host header"),
                        style.clone(),
                    )
                })?;
            (parts.uri.scheme_str().unwrap_or("http"), host)
        }
    };
    TargetUri::from_parts(scheme, authority, path_and_query).map_err(|e| Rejection::new(e, style))
}

fn view<'a>(
    parts: &'a http::request::Parts,
    target: TargetUri<'a>,
    headers: Headers<'a>,
    body: &'a [u8],
    style: ErrorStyle,
) -> Result<Request<'a>, Rejection> {
    Request::new(
        parts.method.as_str(),
        target,
        headers,
        Body::from_bytes(body),
    )
    .map_err(|e| Rejection::new(e, style))
}

fn bearer<'a>(headers: &Headers<'a>) -> Result<Option<&'a str>, Rejection> {
    let Some(value) = headers.get_one("authorization").map_err(problem)? else {
        return Ok(None);
    };
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(problem(Error::new(
            ErrorCode::Unauthorized,
            "unsupported Authorization scheme; send `Authorization: Bearer <key>`",
        ))
        .with_challenge("Bearer"));
    }
    Ok(Some(token.trim()))
}

/// A compact JWS has exactly two dots; API keys (ours and the foreign ones) have none.
fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2
}

/// An app token from `Authorization: Bearer axt1...` or the `access_token` query parameter.
fn app_token<'a>(parts: &'a http::request::Parts, headers: &Headers<'a>) -> Option<&'a str> {
    let prefix = auth_core::scheme::apptrust::TOKEN_PREFIX;
    let from_header = headers
        .get_one("authorization")
        .ok()
        .flatten()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| t.starts_with(prefix));
    from_header.or_else(|| {
        parts
            .uri
            .query()?
            .split('&')
            .find_map(|kv| kv.strip_prefix("access_token="))
            .filter(|t| t.starts_with(prefix))
    })
}

fn verify_app_token(
    shared: &Shared,
    cfg: &super::AppTokenConfig,
    token: &str,
) -> Result<Principal, Rejection> {
    let verified = cfg
        .verifier
        .verify(token, shared.clock.now())
        .map_err(super::app_tokens::actyx_rejection)?;
    Ok(Principal {
        partner: verified.app_id.to_string(),
        key_id: None,
        scheme: SchemeKind::AppToken,
        scopes: Arc::from(Vec::<String>::new()),
    })
}

/// Whether a JWS-shaped token declares the user-token type in its (unverified) header; the
/// verifier then checks it properly.
fn is_user_token(token: &str) -> bool {
    looks_like_jwt(token)
        && token
            .split('.')
            .next()
            .and_then(|h| jwt::jws::parse_header(h).ok())
            .and_then(|h| h.typ)
            .is_some_and(|t| t == auth_core::scheme::user_token::TOKEN_TYPE)
}

fn verify_user_token(
    shared: &Shared,
    cfg: &super::UserTokenConfig,
    token: &str,
) -> Result<Principal, Rejection> {
    let verified = cfg
        .verifier
        .verify(
            token,
            &cfg.required_scope,
            cfg.revocations.as_ref(),
            shared.clock.now(),
        )
        .map_err(|e| problem(e).with_challenge("Bearer error=\"invalid_token\""))?;
    Ok(Principal {
        partner: verified.subject().to_owned(),
        key_id: Some(verified.jti().to_owned()),
        scheme: SchemeKind::UserToken,
        scopes: verified
            .scopes()
            .map(str::to_owned)
            .collect::<Vec<_>>()
            .into(),
    })
}

async fn verify_jwt(shared: &Shared, token: &str) -> Result<Principal, Rejection> {
    let reject = |e: Error| problem(e).with_challenge("Bearer error=\"invalid_token\"");
    let policy = &shared.config.jwt_policy;
    let parsed = jwt::parse(token, policy).map_err(reject)?;
    let entry = shared
        .resolver
        .jwt_key(parsed.kid(), parsed.client_id())
        .await
        .map_err(unavailable)?
        .ok_or_else(|| {
            reject(Error::new(
                ErrorCode::InvalidToken,
                "Invalid Token: no key is registered for this token's kid or clientId",
            ))
        })?;
    let client = parsed.client_id().map(str::to_owned);
    jwt::verify(parsed, &entry.key, policy, shared.clock.now()).map_err(reject)?;
    Ok(Principal {
        partner: entry.partner,
        key_id: client,
        scheme: SchemeKind::Jwt,
        scopes: entry.scopes,
    })
}

/// The Smile fields of a JSON request body, if it carries all three.
struct SmileBodyFields {
    partner_id: String,
    timestamp: String,
    signature: String,
}

fn smile_body_fields(body: &[u8]) -> Option<SmileBodyFields> {
    #[derive(serde::Deserialize)]
    struct Fields {
        partner_id: String,
        timestamp: String,
        signature: String,
    }
    if !body.starts_with(b"{") {
        return None;
    }
    let f: Fields = serde_json::from_slice(body).ok()?;
    Some(SmileBodyFields {
        partner_id: f.partner_id,
        timestamp: f.timestamp,
        signature: f.signature,
    })
}

async fn verify_smile(
    shared: &Shared,
    parsed: &smile::ParsedSignature<'_>,
) -> Result<Principal, Rejection> {
    let entry = shared
        .resolver
        .smile_key(parsed.partner_id())
        .await
        .map_err(unavailable)?
        .ok_or_else(|| {
            problem(Error::new(
                ErrorCode::UnknownKey,
                "partner_id is not registered",
            ))
        })?;
    let now = shared.clock.now();
    smile::verify(parsed, &entry.key, &shared.config.smile_policy, now).map_err(problem)?;
    // The signature covers only partner ID and timestamp: the same pair twice is a replay.
    let key = format!("smile:{}:{}", parsed.partner_id(), parsed.timestamp());
    let ttl = shared.config.smile_policy.retention();
    let verdict = shared
        .replay
        .check_and_insert(&key, ttl, now)
        .await
        .map_err(unavailable)?;
    if verdict == ReplayVerdict::Replayed {
        return Err(problem(Error::new(
            ErrorCode::Replayed,
            "this timestamp was already used; sign again with the current time",
        )));
    }
    Ok(Principal {
        partner: entry.partner,
        key_id: None,
        scheme: SchemeKind::Smile,
        scopes: entry.scopes,
    })
}

fn unavailable(_: super::StoreUnavailable) -> Rejection {
    Rejection::unavailable()
}

async fn verify_api_key(shared: &Shared, text: &str) -> Result<Principal, Rejection> {
    let challenge = |e: Error| problem(e).with_challenge("Bearer error=\"invalid_token\"");
    let presented = apikey::parse(text, &shared.config.api_key_prefix).map_err(challenge)?;
    let entry = shared
        .resolver
        .api_key(&presented.digest())
        .await
        .map_err(unavailable)?
        .ok_or_else(|| {
            challenge(Error::new(
                ErrorCode::UnknownKey,
                "API key is not recognised",
            ))
        })?;
    let now = shared.clock.now();
    entry
        .record
        .check(&presented, now, shared.config.environment)
        .map_err(challenge)?;
    Ok(Principal {
        partner: entry.partner,
        key_id: None,
        scheme: SchemeKind::ApiKey,
        scopes: entry.scopes,
    })
}

async fn verify_qredo(shared: &Shared, req: &Request<'_>) -> Result<Principal, Rejection> {
    let reject =
        |e: qredo::QredoError| Rejection::new(e.error.clone(), ErrorStyle::Qredo(e.reason));
    let api_key_error = |e: Error| Rejection::new(e, ErrorStyle::Qredo(qredo::Reason::ApiKey));
    let parsed = qredo::parse(req).map_err(reject)?;
    let digest = ApiKeyDigest::of(parsed.api_key());
    // The API key's own record (revocation, expiry), then the partner's uploaded public key.
    let entry = shared
        .resolver
        .api_key(&digest)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| {
            api_key_error(Error::new(
                ErrorCode::UnknownKey,
                "x-api-key is not recognised",
            ))
        })?;
    let presented = apikey::PresentedKey::Foreign(parsed.api_key());
    entry
        .record
        .check(&presented, shared.clock.now(), shared.config.environment)
        .map_err(api_key_error)?;
    let key = shared
        .resolver
        .qredo_key(&digest)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| {
            api_key_error(Error::new(
                ErrorCode::UnknownKey,
                "no public key is registered for this x-api-key; upload one first",
            ))
        })?;
    let now = shared.clock.now();
    let policy = &shared.config.qredo_policy;
    let freshness = qredo::verify(req, &parsed, &key.key, policy, now)
        .map_err(reject)?
        .freshness();
    let verdict = match freshness {
        qredo::Freshness::Nonce(n) => shared
            .replay
            .advance(&format!("qredo:nonce:{}", key.key_id), n)
            .await
            .map_err(unavailable)?,
        qredo::Freshness::Timestamp(_) => {
            // The same signed request within the window is a replay: remember the signature.
            let sig = req
                .headers
                .get_one(qredo::HEADER_SIGN)
                .ok()
                .flatten()
                .unwrap_or("");
            let ttl = policy.window().saturating_mul(2);
            shared
                .replay
                .check_and_insert(&format!("qredo:sig:{}:{sig}", key.key_id), ttl, now)
                .await
                .map_err(unavailable)?
        }
    };
    if verdict == ReplayVerdict::Replayed {
        let reason = match freshness {
            qredo::Freshness::Nonce(_) => qredo::Reason::Nonce,
            qredo::Freshness::Timestamp(_) => qredo::Reason::Timestamp,
        };
        return Err(Rejection::new(
            Error::new(
                ErrorCode::Replayed,
                "this request was already received; sign a new one",
            ),
            ErrorStyle::Qredo(reason),
        ));
    }
    Ok(Principal {
        partner: entry.partner,
        key_id: Some(key.key_id),
        scheme: SchemeKind::Qredo,
        scopes: key.scopes,
    })
}

async fn verify_http_signature(shared: &Shared, req: &Request<'_>) -> Result<Principal, Rejection> {
    let policy = &shared.config.http_signature_policy;
    let msg = Message::Request(req);
    let parsed = rfc9421::parse(&msg, policy).map_err(problem)?;
    let key_id = parsed.keyid().ok_or_else(|| {
        problem(Error::new(
            ErrorCode::UnknownKey,
            "the signature has no keyid parameter; add keyid=\"<your key ID>\"",
        ))
    })?;
    let entry = shared
        .resolver
        .verifying_key(key_id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| {
            problem(Error::new(
                ErrorCode::UnknownKey,
                "no key is registered under this keyid",
            ))
        })?;
    let now = shared.clock.now();
    let verified = rfc9421::verify(&msg, &parsed, &entry.key, policy, now).map_err(problem)?;
    // A nonce is single-use; without one, the signature itself is (a legitimate retry signs
    // again with a new `created`).
    let replay_key = match verified.nonce {
        Some(nonce) => {
            auth_core::replay::nonce_cache_key("rfc9421", key_id, nonce).map_err(problem)?
        }
        None => format!(
            "rfc9421:sig:{key_id}:{}",
            auth_core::encoding::b64url_encode(parsed.signature())
        ),
    };
    let ttl = policy.replay_window().max(Duration::from_secs(1));
    let verdict = shared
        .replay
        .check_and_insert(&replay_key, ttl, now)
        .await
        .map_err(unavailable)?;
    if verdict == ReplayVerdict::Replayed {
        return Err(problem(Error::new(
            ErrorCode::Replayed,
            "this signature was already used; sign the request again with a fresh nonce",
        )));
    }
    Ok(Principal {
        partner: entry.partner,
        key_id: Some(entry.key_id),
        scheme: SchemeKind::HttpSignature,
        scopes: entry.scopes,
    })
}
