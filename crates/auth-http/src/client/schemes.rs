//! Client-side schemes: API keys (bearer or `x-api-key`), Qredo signatures, and RFC 9421
//! signatures with Content-Digest. Each reads the real clock and OS random generator here.
//! Their Debug output names the configuration and shows every key and secret as `[redacted]`.

use super::{ClientAuth, ClientError};
use crate::BoxFuture;
use crate::clock::{Clock, SystemClock};
use auth_core::content_digest::{self, DigestAlgorithm};
use auth_core::keys::SigningKey;
use auth_core::rand::SystemRandom;
use auth_core::request::{Body, Headers, Message, Request, TargetUri};
use auth_core::scheme::{qredo, rfc9421};
use auth_core::secret::SecretBytes;
use http::{HeaderName, HeaderValue};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

fn header_value(v: &str) -> Result<HeaderValue, ClientError> {
    HeaderValue::from_str(v).map_err(|_| {
        ClientError::Auth(auth_core::Error::malformed(
            "a credential is not a valid header value",
        ))
    })
}

/// Where an API key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyPlacement {
    /// `Authorization: Bearer <key>` (Altalix, our own keys).
    Bearer,
    /// `x-api-key: <key>`.
    XApiKey,
}

/// Sends an API key on every request.
pub struct ApiKeyAuth {
    key: SecretBytes,
    placement: ApiKeyPlacement,
}

impl fmt::Debug for ApiKeyAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyAuth")
            .field("key", &"[redacted]")
            .field("placement", &self.placement)
            .finish()
    }
}

impl ApiKeyAuth {
    /// An API key and where to send it.
    pub fn new(key: &str, placement: ApiKeyPlacement) -> Self {
        Self {
            key: SecretBytes::from_slice(key.as_bytes()),
            placement,
        }
    }
}

impl ClientAuth for ApiKeyAuth {
    fn authorize<'a>(
        &'a self,
        req: &'a mut reqwest::Request,
        _body: &'a [u8],
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async move {
            let key = std::str::from_utf8(self.key.expose()).unwrap_or_default();
            let (name, value) = match self.placement {
                ApiKeyPlacement::Bearer => (http::header::AUTHORIZATION, format!("Bearer {key}")),
                ApiKeyPlacement::XApiKey => (HeaderName::from_static("x-api-key"), key.to_owned()),
            };
            let mut value = header_value(&value)?;
            value.set_sensitive(true);
            req.headers_mut().insert(name, value);
            Ok(())
        })
    }
}

/// Qredo's freshness: a timestamp (default) or a strictly increasing nonce.
#[derive(Debug)]
pub enum QredoFreshness {
    /// `x-timestamp` from the clock.
    Timestamp,
    /// `x-nonce`, starting above the given value (persist it across restarts).
    Nonce(AtomicU64),
}

/// Qredo `x-api-key` / `x-timestamp` (or `x-nonce`) / `x-sign` on every request.
pub struct QredoAuth {
    api_key: SecretBytes,
    key: SigningKey,
    freshness: QredoFreshness,
    clock: Arc<dyn Clock>,
    rng: SystemRandom,
}

impl fmt::Debug for QredoAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QredoAuth")
            .field("api_key", &"[redacted]")
            .field("key", &self.key)
            .field("freshness", &self.freshness)
            .finish_non_exhaustive()
    }
}

impl QredoAuth {
    /// The issued API key and the partner's RSA key (bound to `RsaPkcs1Sha256`).
    pub fn new(api_key: &str, key: SigningKey, freshness: QredoFreshness) -> Self {
        Self::with_clock(api_key, key, freshness, Arc::new(SystemClock))
    }

    /// As [`QredoAuth::new`] with an explicit clock.
    pub fn with_clock(
        api_key: &str,
        key: SigningKey,
        freshness: QredoFreshness,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            api_key: SecretBytes::from_slice(api_key.as_bytes()),
            key,
            freshness,
            clock,
            rng: SystemRandom::new(),
        }
    }
}

impl ClientAuth for QredoAuth {
    fn authorize<'a>(
        &'a self,
        req: &'a mut reqwest::Request,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async move {
            let url = req.url().as_str().to_owned();
            let target = TargetUri::parse(&url)?;
            let freshness = match &self.freshness {
                QredoFreshness::Timestamp => {
                    qredo::Freshness::Timestamp(self.clock.now().as_secs())
                }
                QredoFreshness::Nonce(n) => {
                    qredo::Freshness::Nonce(n.fetch_add(1, Ordering::SeqCst) + 1)
                }
            };
            let signed = qredo::sign(&target, body, freshness, &self.key, &self.rng)?;
            let api_key = std::str::from_utf8(self.api_key.expose()).unwrap_or_default();
            for (name, value) in signed.with_api_key(api_key) {
                let mut v = header_value(value)?;
                v.set_sensitive(name == qredo::HEADER_API_KEY);
                req.headers_mut().insert(HeaderName::from_static(name), v);
            }
            Ok(())
        })
    }
}

/// RFC 9421 signatures: `@method`, `@authority`, `@path`, `@query` (and `content-digest` when
/// there is a body), `created`, `keyid` and a random `nonce`.
pub struct HttpSignatureAuth {
    key_id: String,
    key: SigningKey,
    label: String,
    digest: DigestAlgorithm,
    clock: Arc<dyn Clock>,
    rng: SystemRandom,
}

impl fmt::Debug for HttpSignatureAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSignatureAuth")
            .field("key_id", &self.key_id)
            .field("key", &self.key)
            .field("label", &self.label)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

impl HttpSignatureAuth {
    /// Signs with `key`, registered at the provider under `key_id`.
    pub fn new(key_id: &str, key: SigningKey) -> Self {
        Self::with_clock(key_id, key, Arc::new(SystemClock))
    }

    /// As [`HttpSignatureAuth::new`] with an explicit clock.
    pub fn with_clock(key_id: &str, key: SigningKey, clock: Arc<dyn Clock>) -> Self {
        Self {
            key_id: key_id.to_owned(),
            key,
            label: "sig1".into(),
            digest: DigestAlgorithm::Sha256,
            clock,
            rng: SystemRandom::new(),
        }
    }
}

impl ClientAuth for HttpSignatureAuth {
    fn authorize<'a>(
        &'a self,
        req: &'a mut reqwest::Request,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async move {
            let mut components = vec![
                rfc9421::Component::method(),
                rfc9421::Component::authority(),
                rfc9421::Component::path(),
                rfc9421::Component::query(),
            ];
            if !body.is_empty() {
                let digest = content_digest::create(body, self.digest);
                req.headers_mut().insert(
                    HeaderName::from_static("content-digest"),
                    header_value(&digest)?,
                );
                components.push(rfc9421::Component::field("content-digest")?);
            }
            let nonce =
                auth_core::encoding::b64url_encode(&auth_core::rand::bytes::<16>(&self.rng)?);
            let spec = rfc9421::SignatureSpec::new(&self.label, components, self.clock.now())?
                .keyid(&self.key_id)?
                .nonce(&nonce)?;
            let url = req.url().as_str().to_owned();
            let method = req.method().as_str().to_owned();
            let fields: Vec<(String, String)> = req
                .headers()
                .iter()
                .filter_map(|(k, v)| {
                    v.to_str()
                        .ok()
                        .map(|v| (k.as_str().to_owned(), v.to_owned()))
                })
                .collect();
            let borrowed: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let view = Request::new(
                &method,
                TargetUri::parse(&url)?,
                Headers::new(&borrowed),
                Body::from_bytes(body),
            )?;
            let signed = rfc9421::sign(&Message::Request(&view), &spec, &self.key, &self.rng)?;
            req.headers_mut().insert(
                HeaderName::from_static("signature-input"),
                header_value(&signed.signature_input)?,
            );
            req.headers_mut().insert(
                HeaderName::from_static("signature"),
                header_value(&signed.signature)?,
            );
            Ok(())
        })
    }
}

/// Where the Smile signature goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmilePlacement {
    /// `smileid-partner-id`, `smileid-request-signature`, `smileid-timestamp` headers.
    Headers,
    /// `partner_id`, `timestamp`, `signature` merged into the JSON object body.
    BodyFields,
}

/// Smile "Signature": HMAC-SHA256 of `timestamp || partner_id || "sid_request"` with the API key.
pub struct SmileAuth {
    partner_id: String,
    key: auth_core::scheme::smile::SmileKey,
    placement: SmilePlacement,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for SmileAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmileAuth")
            .field("partner_id", &self.partner_id)
            .field("key", &self.key)
            .field("placement", &self.placement)
            .finish_non_exhaustive()
    }
}

impl SmileAuth {
    /// Signs as `partner_id` with its API key.
    pub fn new(
        partner_id: &str,
        api_key: &str,
        placement: SmilePlacement,
    ) -> Result<Self, ClientError> {
        Ok(Self {
            partner_id: partner_id.to_owned(),
            key: auth_core::scheme::smile::SmileKey::new(api_key.as_bytes())?,
            placement,
            clock: Arc::new(SystemClock),
        })
    }

    /// Uses `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl ClientAuth for SmileAuth {
    fn authorize<'a>(
        &'a self,
        req: &'a mut reqwest::Request,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async move {
            let signed = self.key.sign_at(&self.partner_id, self.clock.now());
            match self.placement {
                SmilePlacement::Headers => {
                    for (name, value) in signed.headers() {
                        req.headers_mut()
                            .insert(HeaderName::from_static(name), header_value(value)?);
                    }
                }
                SmilePlacement::BodyFields => {
                    let mut object: serde_json::Map<String, serde_json::Value> = if body.is_empty()
                    {
                        serde_json::Map::new()
                    } else {
                        serde_json::from_slice(body).map_err(|_| {
                            ClientError::Body("Smile body fields need a JSON object body".into())
                        })?
                    };
                    for (name, value) in signed.body_fields() {
                        object.insert(name.to_owned(), serde_json::Value::from(value));
                    }
                    let text = serde_json::Value::Object(object).to_string();
                    req.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                    *req.body_mut() = Some(reqwest::Body::from(text));
                }
            }
            Ok(())
        })
    }
}
