//! Errors of the app trust chain: the Actyx wire code (`ERR_...`, with its HTTP status), the
//! license problem where there is one, and the underlying auth-core [`Error`].

use crate::error::{Error, ErrorCode};
use std::fmt;

/// The error codes of the Actyx auth API, rendered as `{"code": "...", "message": "..."}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ActyxCode {
    /// `ERR_MANIFEST_INVALID` (400): the manifest is malformed, unsigned outside the trial
    /// prefix, or its signature chain does not verify.
    ManifestInvalid,
    /// `ERR_APP_UNAUTHORIZED` (401): the app has no valid license (see [`LicenseProblem`]).
    AppUnauthorized,
    /// `ERR_NODE_UNAUTHORIZED` (401): the node's own license is missing or invalid.
    NodeUnauthorized,
    /// `ERR_MISSING_AUTH_HEADER` (401): no `Authorization` header and no `access_token`.
    MissingAuthHeader,
    /// `ERR_TOKEN_UNAUTHORIZED` (401): the token's signature or epoch is not this issuer's.
    TokenUnauthorized,
    /// `ERR_TOKEN_EXPIRED` (401): the token's validity is over.
    TokenExpired,
    /// `ERR_UNSUPPORTED_AUTH_TYPE` (401): an `Authorization` scheme other than `Bearer`.
    UnsupportedAuthType,
    /// `ERR_TOKEN_INVALID` (400): the token cannot be decoded.
    TokenInvalid,
    /// `ERR_UNAUTHORIZED` (401): an admin key that is not in `authorizedUsers`.
    Unauthorized,
}

impl ActyxCode {
    /// The wire string, e.g. `ERR_MANIFEST_INVALID`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ManifestInvalid => "ERR_MANIFEST_INVALID",
            Self::AppUnauthorized => "ERR_APP_UNAUTHORIZED",
            Self::NodeUnauthorized => "ERR_NODE_UNAUTHORIZED",
            Self::MissingAuthHeader => "ERR_MISSING_AUTH_HEADER",
            Self::TokenUnauthorized => "ERR_TOKEN_UNAUTHORIZED",
            Self::TokenExpired => "ERR_TOKEN_EXPIRED",
            Self::UnsupportedAuthType => "ERR_UNSUPPORTED_AUTH_TYPE",
            Self::TokenInvalid => "ERR_TOKEN_INVALID",
            Self::Unauthorized => "ERR_UNAUTHORIZED",
        }
    }

    /// The HTTP status the Actyx API answers with.
    pub const fn http_status(self) -> u16 {
        match self {
            Self::ManifestInvalid | Self::TokenInvalid => 400,
            _ => 401,
        }
    }
}

impl fmt::Display for ActyxCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a license (an app's or the node's) was not accepted: the reasons of
/// `ERR_APP_UNAUTHORIZED` / `ERR_NODE_UNAUTHORIZED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LicenseProblem {
    /// No license is configured for the app ID (or the node).
    Missing,
    /// The license key is not Base64 of the expected CBOR structure.
    Malformed,
    /// The authority's signature does not verify.
    InvalidSignature,
    /// The license is for another app ID.
    WrongSubject,
    /// The license's `expiresAt` has passed.
    Expired,
}

impl LicenseProblem {
    /// A stable string form for logs and messages.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "no license",
            Self::Malformed => "bad license format",
            Self::InvalidSignature => "bad license signature",
            Self::WrongSubject => "license for another app ID",
            Self::Expired => "license expired",
        }
    }

    /// The auth-core code of this problem.
    pub const fn error_code(self) -> ErrorCode {
        match self {
            Self::Missing => ErrorCode::Unauthorized,
            Self::Malformed => ErrorCode::Malformed,
            Self::InvalidSignature => ErrorCode::SignatureMismatch,
            Self::WrongSubject => ErrorCode::Unauthorized,
            Self::Expired => ErrorCode::TokenExpired,
        }
    }
}

/// A rejection in the app trust chain: the Actyx code for the wire, the license problem (for
/// the two license codes) and the auth-core error with its stable [`ErrorCode`] and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppTrustError {
    code: ActyxCode,
    problem: Option<LicenseProblem>,
    error: Error,
}

impl AppTrustError {
    /// Wraps `error` under the Actyx `code`.
    pub fn new(code: ActyxCode, error: Error) -> Self {
        Self {
            code,
            problem: None,
            error,
        }
    }

    /// A license rejection: `code` is [`ActyxCode::AppUnauthorized`] or
    /// [`ActyxCode::NodeUnauthorized`].
    pub fn license(code: ActyxCode, problem: LicenseProblem, message: impl Into<String>) -> Self {
        Self {
            code,
            problem: Some(problem),
            error: Error::new(problem.error_code(), message.into()),
        }
    }

    /// The same license problem reported under another code (an app license check reused
    /// for the node license).
    pub(crate) fn with_code(mut self, code: ActyxCode) -> Self {
        self.code = code;
        self
    }

    /// The Actyx wire code.
    pub fn code(&self) -> ActyxCode {
        self.code
    }

    /// The license problem, for `ERR_APP_UNAUTHORIZED` and `ERR_NODE_UNAUTHORIZED`.
    pub fn license_problem(&self) -> Option<LicenseProblem> {
        self.problem
    }

    /// The auth-core error (stable [`ErrorCode`] + message).
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The HTTP status of the code.
    pub fn http_status(&self) -> u16 {
        self.code.http_status()
    }

    /// The human message for the `message` field.
    pub fn message(&self) -> String {
        match self.problem {
            Some(p) => format!("{}: {}", p.as_str(), self.error.message()),
            None => self.error.message().to_owned(),
        }
    }

    /// The Actyx error body, `{"code":"ERR_...","message":"..."}`.
    pub fn to_json_body(&self) -> String {
        serde_json::json!({"code": self.code.as_str(), "message": self.message()}).to_string()
    }
}

impl fmt::Display for AppTrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message())
    }
}

impl std::error::Error for AppTrustError {}

impl From<AppTrustError> for Error {
    fn from(e: AppTrustError) -> Self {
        e.error
    }
}
