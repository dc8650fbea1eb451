//! Turning a rejection into the response each provider's clients understand: Qredo's
//! `errPartnerAuth` body, RFC 9457 `application/problem+json` otherwise, `WWW-Authenticate`
//! where the scheme defines one, 401 for a bad credential and 403 for a good one without the
//! scope, 413 for oversized bodies and 503 when a store cannot answer.

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
}

impl Rejection {
    /// A rejection whose status follows from the error code.
    pub fn new(error: Error, style: ErrorStyle) -> Self {
        Self {
            status: status_for(error.code()),
            error,
            style,
            challenge: None,
        }
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
                ErrorCode::Internal,
                "credentials cannot be checked right now; retry later",
            ),
            ErrorStyle::Problem,
        )
    }

    /// No credential the layer accepts was presented.
    pub fn missing() -> Self {
        Self::new(
            Error::new(
                ErrorCode::Unauthorized,
                "no credential: send an API key, a signed request or a bearer token",
            ),
            ErrorStyle::Problem,
        )
        .with_challenge("Bearer")
    }

    /// Renders the response.
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let (content_type, body) = match &self.style {
            ErrorStyle::Qredo(reason) => ("application/json", reason.error_body()),
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

/// 401 for a credential that failed, 403 for a valid one lacking rights, 413 for size, 400 for
/// requests we cannot read, 503 for backends.
pub fn status_for(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::Internal => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNAUTHORIZED,
    }
}
