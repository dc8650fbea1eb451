//! Who a verified request came from; the layer puts it into the request's extensions.

use std::sync::Arc;

/// Which scheme authenticated the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemeKind {
    /// `Authorization: Bearer <api key>` or `x-api-key` alone.
    ApiKey,
    /// Qredo `x-api-key` + `x-timestamp`/`x-nonce` + `x-sign`.
    Qredo,
    /// RFC 9421 HTTP Message Signatures.
    HttpSignature,
    /// A JWT partner token (`Authorization: Bearer <jwt>`).
    Jwt,
    /// Smile "Signature" (`smileid-*` headers or JSON body fields).
    Smile,
    /// A restricted user token (Altalix `user:rate`), minted by a partner's backend.
    UserToken,
    /// An Actyx-style app token issued by the node's auth endpoint.
    AppToken,
}

impl SchemeKind {
    /// A stable name for logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::Qredo => "qredo",
            Self::HttpSignature => "http_signature",
            Self::Jwt => "jwt",
            Self::Smile => "smile",
            Self::UserToken => "user_token",
            Self::AppToken => "app_token",
        }
    }
}

/// The verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The partner.
    pub partner: String,
    /// The key ID that verified (None for bare API keys).
    pub key_id: Option<String>,
    /// The scheme.
    pub scheme: SchemeKind,
    /// What the credential may do.
    pub scopes: Arc<[String]>,
}

impl Principal {
    /// Whether the credential carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}
