//! Turning a rejection (always an auth-core [`Error`]) into the response each provider's
//! clients understand: Qredo's `errPartnerAuth` body, Actyx's `{"code","message"}`, RFC 9457
//! `application/problem+json` otherwise; `WWW-Authenticate` where the scheme defines one. 400
//! for a request we cannot read, 401 for a bad credential, 403 for a good one without the
//! scope, 413 for size, 429 for a used-up share, 503 when a store cannot answer. With
//! [`Disclosure::Opaque`] (the default) every credential failure reads the same, so no answer
//! tells a caller whether a key ID exists.

use auth_core::credential::{CredentialRef, PartnerId, Principal, Scheme};
use auth_core::scheme::qredo::Reason as QredoReason;
use auth_core::{Error, ErrorCode};
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;

/// How to render an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorStyle {
    /// RFC 9457 problem details.
    Problem,
    /// Qredo's `{"code":401,"msg":"errPartnerAuth","detail":{"reason":...}}`.
    Qredo(QredoReason),
    /// Actyx's `{"code":"ERR_...","message":...}` (code and message given).
    Actyx(auth_core::scheme::apptrust::ActyxCode, String),
}

/// How much a rejection tells the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Disclosure {
    /// Every credential failure (unknown key, bad signature, stale time, revoked, expired,
    /// replayed) is one `unauthorized` answer. For production.
    #[default]
    Opaque,
    /// The precise code and message. For development and partner onboarding.
    Detailed,
}

/// A refused request.
#[derive(Debug, Clone)]
pub struct Rejection {
    /// The status to send.
    pub status: StatusCode,
    /// Why.
    pub error: Error,
    /// The body format.
    pub style: ErrorStyle,
    /// The `WWW-Authenticate` challenge, if the scheme has one.
    pub challenge: Option<&'static str>,
    /// The scheme tried, once known (for the observer).
    pub scheme: Option<Scheme>,
    /// Whose credential was refused, once it was resolved (for the observer).
    pub subject: Option<Box<(PartnerId, CredentialRef)>>,
}

impl Rejection {
    /// A rejection whose status follows from the error code.
    pub fn new(error: Error, style: ErrorStyle) -> Self {
        Self {
            status: status_for(error.code()),
            error,
            style,
            challenge: None,
            scheme: None,
            subject: None,
        }
    }

    /// Notes whose credential was refused (for the observer, never shown to the caller).
    pub fn about(mut self, principal: &Principal) -> Self {
        self.scheme = Some(principal.scheme);
        self.subject = Some(Box::new((
            principal.partner.clone(),
            principal.credential.clone(),
        )));
        self
    }

    /// Adds a `WWW-Authenticate` challenge.
    pub fn with_challenge(mut self, challenge: &'static str) -> Self {
        self.challenge = Some(challenge);
        self
    }

    /// The body is larger than the layer buffers.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            Error::new(
                ErrorCode::TooLarge,
                format!("the request body exceeds {limit} bytes"),
            ),
            ErrorStyle::Problem,
        )
    }

    /// A store could not answer: fail closed.
    pub fn unavailable() -> Self {
        Self::new(
            Error::new(
                ErrorCode::Unavailable,
                "credentials cannot be checked right now; retry later",
            ),
            ErrorStyle::Problem,
        )
    }

    /// Applies `disclosure`: in opaque mode a credential failure loses its detail.
    pub fn disclose(mut self, disclosure: Disclosure) -> Self {
        if disclosure == Disclosure::Opaque && self.status == StatusCode::UNAUTHORIZED {
            self.error = Error::new(
                ErrorCode::Unauthorized,
                "the credential could not be verified",
            );
            if let ErrorStyle::Qredo(reason) = &mut self.style {
                // Keep Qredo's contract of a reason, but never say that a key exists.
                if *reason == QredoReason::ApiKey {
                    *reason = QredoReason::Signature;
                }
            }
        }
        self
    }

    /// No credential the layer accepts was presented.
    pub fn missing() -> Self {
        Self::new(
            Error::new(
                ErrorCode::Unauthorized,
                "no credential this route accepts was sent; see its documentation for the schemes",
            ),
            ErrorStyle::Problem,
        )
        .with_challenge("Bearer")
    }

    /// Renders the response.
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let (content_type, body) = match &self.style {
            ErrorStyle::Qredo(reason) => (
                "application/json",
                serde_json::json!({
                    "code": self.status.as_u16(),
                    "msg": "errPartnerAuth",
                    "detail": { "reason": reason.as_str() },
                })
                .to_string(),
            ),
            ErrorStyle::Actyx(code, message) => (
                "application/json",
                serde_json::json!({ "code": code.as_str(), "message": message }).to_string(),
            ),
            ErrorStyle::Problem => (
                "application/problem+json",
                serde_json::json!({
                    "type": format!("https://partner-auth.dev/errors/{}", self.error.code()),
                    "title": title(self.status),
                    "status": self.status.as_u16(),
                    "code": self.error.code().as_str(),
                    "detail": self.error.message(),
                })
                .to_string(),
            ),
        };
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        *resp.status_mut() = self.status;
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Some(challenge) = self.challenge
            && matches!(
                self.status,
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            )
        {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        resp
    }
}

fn title(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

/// 400 for requests we cannot read, 401 for a credential that failed, 403 for a valid one
/// lacking rights, 413 for size, 429 for a used-up share, 503 for backends.
pub fn status_for(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Malformed => StatusCode::BAD_REQUEST,
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNAUTHORIZED,
    }
}
