//! The partner side: [`AuthClient`] wraps a `reqwest::Client` and attaches one scheme's
//! credentials to every request. Bodies are buffered (up to a limit) so they can be signed;
//! a request answered with 401 is re-authorized and retried at most once when the scheme says
//! a fresh credential may help (token refresh), and every retry is signed anew.
//!
//! Redirects are the client's own business, not reqwest's: the inner client never follows
//! one, because reqwest would resend every header but `Authorization` (an `x-api-key`, a
//! Qredo `x-sign`, Smile's headers, an RFC 9421 `Signature`) to wherever `Location` points,
//! and the signatures cover the old URL anyway. [`AuthClient::execute`] follows a redirect
//! only within the origin (scheme, host and port), authorizes the new request from scratch
//! for its new URL, and hands a redirect to any other origin back to the caller unchanged.

mod app_token;
mod jwt;
mod schemes;
mod token;
mod user_token;

pub use app_token::AppTokenAuth;
pub use jwt::JwtAuth;
pub use schemes::{
    ApiKeyAuth, ApiKeyPlacement, HttpSignatureAuth, QredoAuth, QredoFreshness, SmileAuth,
    SmilePlacement,
};
pub use user_token::{UserToken, UserTokenAuth, fetch_user_token};

use crate::BoxFuture;
use std::fmt;
use std::sync::Arc;

/// Default largest body the client buffers to sign: 8 MiB.
pub const DEFAULT_CLIENT_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Why a request could not be sent.
#[derive(Debug)]
pub enum ClientError {
    /// Signing or token minting failed.
    Auth(auth_core::Error),
    /// The body is a stream or larger than the limit.
    Body(String),
    /// The HTTP exchange failed.
    Http(reqwest::Error),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auth(e) => write!(f, "could not authorize the request: {e}"),
            Self::Body(m) => write!(f, "request body: {m}"),
            Self::Http(e) => write!(f, "HTTP request failed: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<auth_core::Error> for ClientError {
    fn from(e: auth_core::Error) -> Self {
        Self::Auth(e)
    }
}

impl From<reqwest::Error> for ClientError {
    fn from(e: reqwest::Error) -> Self {
        Self::Http(e)
    }
}

/// Sets `Authorization: Bearer <token>`, marked sensitive so it is never logged.
pub(crate) fn set_bearer(req: &mut reqwest::Request, token: &str) -> Result<(), ClientError> {
    let mut value = http::HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        ClientError::Auth(auth_core::Error::malformed(
            "the credential is not a valid header value",
        ))
    })?;
    value.set_sensitive(true);
    req.headers_mut().insert(http::header::AUTHORIZATION, value);
    Ok(())
}

/// What to do after a 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterUnauthorized {
    /// Return the 401 to the caller.
    GiveUp,
    /// A fresh credential may help: authorize again and retry once.
    RetryOnce,
}

/// One scheme's way of putting credentials on a request.
pub trait ClientAuth: Send + Sync + 'static {
    /// Adds credentials to `req`, whose body bytes are `body`. Called again for a retry.
    fn authorize<'a>(
        &'a self,
        req: &'a mut reqwest::Request,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<(), ClientError>>;

    /// Told that the server answered 401 to a request sent with the header fields `sent`
    /// (so a token cache can tell whether the rejected token is still the one it holds); by
    /// default the 401 goes to the caller.
    fn on_unauthorized<'a>(
        &'a self,
        _sent: &'a http::HeaderMap,
        _response: &'a reqwest::Response,
    ) -> BoxFuture<'a, AfterUnauthorized> {
        Box::pin(async { AfterUnauthorized::GiveUp })
    }
}

/// How many redirects within one origin [`AuthClient::execute`] follows for one request; the
/// next 3xx goes to the caller.
pub const MAX_REDIRECTS: usize = 10;

/// A reqwest client that authorizes every request with one scheme.
///
/// It builds its own `reqwest::Client` with `redirect::Policy::none()` and follows redirects
/// itself: only to the same origin, at most [`MAX_REDIRECTS`] times, each hop authorized anew
/// for its URL. A redirect to another origin is returned to the caller as it came, so no
/// credential (header or signed body) ever leaves for an origin the caller did not name.
#[derive(Clone)]
pub struct AuthClient {
    http: reqwest::Client,
    auth: Arc<dyn ClientAuth>,
    body_limit: usize,
}

impl fmt::Debug for AuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthClient")
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

impl AuthClient {
    /// `auth` over a reqwest client with default settings.
    pub fn new(auth: Arc<dyn ClientAuth>) -> Result<Self, ClientError> {
        Self::with_http_builder(reqwest::Client::builder(), auth)
    }

    /// `auth` over a reqwest client built from `builder` (timeouts, proxies, TLS roots, ...).
    /// Whatever redirect policy `builder` carries is replaced by `redirect::Policy::none()`:
    /// this client follows redirects itself, within the origin only (see [`AuthClient`]).
    pub fn with_http_builder(
        builder: reqwest::ClientBuilder,
        auth: Arc<dyn ClientAuth>,
    ) -> Result<Self, ClientError> {
        Ok(Self {
            http: builder
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            auth,
            body_limit: DEFAULT_CLIENT_BODY_LIMIT,
        })
    }

    /// Changes the largest body buffered for signing.
    pub fn with_body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// The underlying reqwest client (to build requests with). It follows no redirects: a
    /// request sent with it directly gets any 3xx back as it came.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Authorizes and sends a request built with [`AuthClient::http`]. On a 401 that the
    /// scheme can cure, authorizes again and retries exactly once (once per call, redirects
    /// included). A redirect within the origin is followed (at most [`MAX_REDIRECTS`] times)
    /// and authorized anew for its URL: 303 turns any method but GET and HEAD into a GET
    /// without body, 301 and 302 do so for a POST (as browsers do, RFC 9110 section 15.4),
    /// 307 and 308 keep method and body. A redirect to another origin, or one past the limit,
    /// is returned to the caller unchanged.
    pub async fn execute(&self, req: reqwest::Request) -> Result<reqwest::Response, ClientError> {
        let mut body: Vec<u8> = match req.body() {
            None => Vec::new(),
            Some(b) => b
                .as_bytes()
                .ok_or_else(|| {
                    ClientError::Body("streamed bodies cannot be signed; send bytes".into())
                })?
                .to_vec(),
        };
        if body.len() > self.body_limit {
            return Err(ClientError::Body(format!(
                "the body is {} bytes, over the {}-byte signing limit",
                body.len(),
                self.body_limit
            )));
        }
        // `unsigned` is the request as the caller built it; every hop and every retry is
        // authorized on a fresh copy, so no credential is ever carried over.
        let mut unsigned = req;
        let mut retried = false;
        let mut redirects = 0;
        loop {
            let resp = self.exchange(&unsigned, &body, &mut retried).await?;
            if redirects == MAX_REDIRECTS {
                return Ok(resp);
            }
            let Some(next) = redirect(&unsigned, resp.status(), resp.headers())? else {
                return Ok(resp);
            };
            if next.body().is_none() {
                body.clear();
            }
            unsigned = next;
            redirects += 1;
        }
    }

    /// One authorized exchange, with the single retry after a curable 401.
    async fn exchange(
        &self,
        unsigned: &reqwest::Request,
        body: &[u8],
        retried: &mut bool,
    ) -> Result<reqwest::Response, ClientError> {
        let (sent, resp) = self.send_authorized(unsigned, body).await?;
        if resp.status() != reqwest::StatusCode::UNAUTHORIZED || *retried {
            return Ok(resp);
        }
        match self.auth.on_unauthorized(&sent, &resp).await {
            AfterUnauthorized::RetryOnce => {
                *retried = true;
                Ok(self.send_authorized(unsigned, body).await?.1)
            }
            AfterUnauthorized::GiveUp => Ok(resp),
        }
    }

    /// Authorizes a copy of `unsigned` and sends it; returns the header fields it was sent
    /// with, and the response.
    async fn send_authorized(
        &self,
        unsigned: &reqwest::Request,
        body: &[u8],
    ) -> Result<(http::HeaderMap, reqwest::Response), ClientError> {
        let mut req = copy(unsigned)?;
        self.auth.authorize(&mut req, body).await?;
        let sent = req.headers().clone();
        Ok((sent, self.http.execute(req).await?))
    }

    /// Shorthand: builds `builder` and executes it.
    pub async fn send(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ClientError> {
        self.execute(builder.build()?).await
    }
}

fn copy(req: &reqwest::Request) -> Result<reqwest::Request, ClientError> {
    req.try_clone()
        .ok_or_else(|| ClientError::Body("streamed bodies cannot be signed; send bytes".into()))
}

/// The header fields that describe a body; a redirect that drops the body drops them too.
const BODY_HEADERS: [http::HeaderName; 7] = [
    http::header::CONTENT_TYPE,
    http::header::CONTENT_LENGTH,
    http::header::CONTENT_ENCODING,
    http::header::CONTENT_LANGUAGE,
    http::header::CONTENT_LOCATION,
    http::header::TRANSFER_ENCODING,
    http::HeaderName::from_static("content-digest"),
];

/// The unsigned request to send after `status` with `headers` answered `from`, or `None` when
/// the answer is not a redirect this client follows: not 301/302/303/307/308, no usable
/// `Location`, another origin, user info in the target, or a scheme other than http(s).
fn redirect(
    from: &reqwest::Request,
    status: reqwest::StatusCode,
    headers: &http::HeaderMap,
) -> Result<Option<reqwest::Request>, ClientError> {
    let code = status.as_u16();
    if !matches!(code, 301 | 302 | 303 | 307 | 308) {
        return Ok(None);
    }
    let Some(target) = headers
        .get(http::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| from.url().join(l).ok())
    else {
        return Ok(None);
    };
    if !same_origin(from.url(), &target) {
        return Ok(None);
    }
    let method = from.method();
    let to_get = match code {
        303 => method != reqwest::Method::GET && method != reqwest::Method::HEAD,
        301 | 302 => method == reqwest::Method::POST,
        _ => false,
    };
    let mut next = copy(from)?;
    *next.url_mut() = target;
    if to_get {
        *next.method_mut() = reqwest::Method::GET;
        *next.body_mut() = None;
        for name in &BODY_HEADERS {
            next.headers_mut().remove(name);
        }
    }
    Ok(Some(next))
}

/// Whether `to` is an http(s) URL of the same origin (scheme, host, port; default ports
/// count as given) as `from`, without user info of its own.
fn same_origin(from: &reqwest::Url, to: &reqwest::Url) -> bool {
    matches!(to.scheme(), "http" | "https")
        && to.origin() == from.origin()
        && to.username().is_empty()
        && to.password().is_none()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn url(s: &str) -> reqwest::Url {
        reqwest::Url::parse(s).unwrap()
    }

    #[test]
    fn origins_are_scheme_host_and_port() {
        let from = url("https://api.example.com/v1/x");
        for same in [
            "https://api.example.com/other?q=1",
            "https://API.example.com:443/v1/y",
        ] {
            assert!(same_origin(&from, &url(same)), "{same}");
        }
        for other in [
            "http://api.example.com/v1/x",
            "https://api.example.com:8443/v1/x",
            "https://evil.example.com/v1/x",
            "https://example.com/v1/x",
            "https://user:pw@api.example.com/v1/x",
            "https://user@api.example.com/v1/x",
            "ftp://api.example.com/v1/x",
        ] {
            assert!(!same_origin(&from, &url(other)), "{other}");
        }
        assert!(same_origin(
            &url("http://127.0.0.1:80/a"),
            &url("http://127.0.0.1/b")
        ));
    }

    fn answer(status: u16, location: &str) -> (reqwest::StatusCode, http::HeaderMap) {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::LOCATION,
            http::HeaderValue::from_str(location).unwrap(),
        );
        (reqwest::StatusCode::from_u16(status).unwrap(), h)
    }

    fn post(u: &str) -> reqwest::Request {
        let mut r = reqwest::Request::new(reqwest::Method::POST, url(u));
        *r.body_mut() = Some(reqwest::Body::from("{}"));
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        r
    }

    #[test]
    fn only_same_origin_redirects_are_followed() {
        let from = post("https://a.example/x?y=1");
        for (status, location, followed) in [
            (307, "/z", Some("https://a.example/z")),
            (308, "z", Some("https://a.example/z")),
            (302, "//a.example/w", Some("https://a.example/w")),
            (301, "https://a.example:443/v", Some("https://a.example/v")),
            (307, "https://b.example/z", None),
            (307, "http://a.example/z", None),
            (307, "//a.example:444/z", None),
            (300, "/z", None),
            (304, "/z", None),
            (305, "/z", None),
        ] {
            let (s, h) = answer(status, location);
            let next = redirect(&from, s, &h).unwrap();
            assert_eq!(
                next.as_ref().map(|r| r.url().as_str()),
                followed,
                "{status} {location}"
            );
        }
        // No Location at all.
        let none = redirect(&from, reqwest::StatusCode::FOUND, &http::HeaderMap::new());
        assert!(none.unwrap().is_none());
    }

    #[test]
    fn method_and_body_follow_rfc_9110_as_browsers_do() {
        let cases = [
            (reqwest::Method::POST, 301, "GET"),
            (reqwest::Method::POST, 302, "GET"),
            (reqwest::Method::POST, 303, "GET"),
            (reqwest::Method::POST, 307, "POST"),
            (reqwest::Method::POST, 308, "POST"),
            (reqwest::Method::PUT, 301, "PUT"),
            (reqwest::Method::PUT, 302, "PUT"),
            (reqwest::Method::PUT, 303, "GET"),
            (reqwest::Method::DELETE, 303, "GET"),
            (reqwest::Method::HEAD, 303, "HEAD"),
        ];
        for (method, status, expected) in cases {
            let mut from = post("https://a.example/x");
            *from.method_mut() = method.clone();
            let (s, h) = answer(status, "/y");
            let next = redirect(&from, s, &h).unwrap().unwrap();
            assert_eq!(next.method().as_str(), expected, "{method} {status}");
            let kept = next.method() == method;
            assert_eq!(next.body().is_some(), kept, "{method} {status}");
            assert_eq!(
                next.headers().contains_key(http::header::CONTENT_TYPE),
                kept,
                "{method} {status}"
            );
        }
    }
}
