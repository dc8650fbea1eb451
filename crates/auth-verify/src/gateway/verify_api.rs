//! `POST /v1/verify`: a request described in JSON (method, URL, headers, Base64 body) is
//! verified exactly as the layer would verify it on the wire; the answer is the principal or
//! the error, and on request an explanation of what the server computed, for an admin or a
//! `test` credential only.

use super::Gateway;
use super::headers::{json_error, key_id};
use auth_core::credential::Environment;
use auth_http::server::{Authenticated, BodySource, Explanation, Refusal};
use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::{HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::{Value, json};

/// Most header fields a described request may carry.
const MAX_DESCRIBED_HEADERS: usize = 128;

/// The described request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Described {
    method: String,
    url: String,
    #[serde(default)]
    headers: Option<HeaderList>,
    #[serde(default)]
    body_b64: Option<String>,
    #[serde(default)]
    explain: bool,
}

/// `[[name, value], ...]` (keeps order and repeats) or `{name: value}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum HeaderList {
    Pairs(Vec<(String, String)>),
    Map(std::collections::BTreeMap<String, String>),
}

impl HeaderList {
    fn into_pairs(self) -> Vec<(String, String)> {
        match self {
            Self::Pairs(p) => p,
            Self::Map(m) => m.into_iter().collect(),
        }
    }
}

fn bad(message: &str) -> Response {
    json_error(StatusCode::BAD_REQUEST, "invalid_request", message)
}

/// The handler.
pub(crate) async fn verify(State(gw): State<Gateway>, req: Request) -> Response {
    let (call, body) = req.into_parts();
    let limit = gw.config.verify_request_limit;
    let raw = match http_body_util::Limited::new(body, limit).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                &format!("the request exceeds {limit} bytes"),
            );
        }
        Err(_) => return bad("the request body could not be read"),
    };
    let described: Described = match serde_json::from_slice(&raw) {
        Ok(d) => d,
        // The position and kind only: serde's text can quote values, and values can be keys.
        Err(e) => {
            return bad(&format!(
                "expected {{\"method\": string, \"url\": string, \"headers\": [[name, value], \
                 ...] or {{name: value}}, \"body_b64\"?: string, \"explain\"?: bool}}; {} at \
                 line {} column {}",
                match e.classify() {
                    serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                        "malformed JSON"
                    }
                    _ => "wrong field or type",
                },
                e.line(),
                e.column()
            ));
        }
    };
    let explain = described.explain;
    let (parts, body) = match rebuild(described) {
        Ok(r) => r,
        Err(message) => return bad(&message),
    };
    let outcome = gw
        .layer
        .authenticate_with(&parts, BodySource::Bytes(&body))
        .await;
    let explanation = if explain {
        let e = gw
            .layer
            .explain(&parts, BodySource::Bytes(&body), &outcome)
            .await;
        let allowed = e.environment == Some(Environment::Test)
            || gw.config.explain.is_admin(&call, &raw).await;
        Some(allowed.then_some(e))
    } else {
        None
    };
    let mut answer = answer(&outcome, matches!(explanation, Some(Some(_))));
    match explanation {
        Some(Some(e)) => answer["explain"] = explained(&e),
        Some(None) => {
            answer["explain_refused"] = Value::String(
                "explanations are given to admin-signed callers and for test credentials only"
                    .into(),
            );
        }
        None => {}
    }
    Json(answer).into_response()
}

/// The described request as `Parts` and its body.
fn rebuild(d: Described) -> Result<(http::request::Parts, Vec<u8>), String> {
    let method = Method::from_bytes(d.method.as_bytes())
        .map_err(|_| "method is not an HTTP method".to_owned())?;
    let uri: Uri = d.url.parse().map_err(|_| {
        "url is not a valid URL (send the absolute URL the client called)".to_owned()
    })?;
    let body = match d.body_b64 {
        None => Vec::new(),
        Some(b) => base64::engine::general_purpose::STANDARD
            .decode(b.as_bytes())
            .map_err(|_| "body_b64 is not standard Base64".to_owned())?,
    };
    let pairs = d.headers.map(HeaderList::into_pairs).unwrap_or_default();
    if pairs.len() > MAX_DESCRIBED_HEADERS {
        return Err(format!("more than {MAX_DESCRIBED_HEADERS} header fields"));
    }
    let mut builder = http::Request::builder().method(method).uri(uri.clone());
    let headers = builder
        .headers_mut()
        .ok_or_else(|| "the request could not be built".to_owned())?;
    for (name, value) in pairs {
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| "a header name is not a valid field name".to_owned())?;
        let header_value = HeaderValue::from_str(&value).map_err(|_| {
            format!(
                "the value of {} is not a valid field value",
                header_name.as_str()
            )
        })?;
        headers.append(header_name, header_value);
    }
    if !headers.contains_key(header::HOST)
        && let Some(authority) = uri.authority()
        && let Ok(host) = HeaderValue::from_str(authority.as_str())
    {
        headers.insert(header::HOST, host);
    }
    let (parts, ()) = builder
        .body(())
        .map_err(|_| "the request could not be built".to_owned())?
        .into_parts();
    Ok((parts, body))
}

/// `{ok, principal}` or `{ok:false, status, error}`; detailed errors only when explained.
fn answer(outcome: &Result<Option<Authenticated>, Refusal>, detailed: bool) -> Value {
    match outcome {
        Ok(Some(a)) => {
            let p = &a.principal;
            json!({
                "ok": true,
                "principal": {
                    "partner": p.partner.as_str(),
                    "key_id": key_id(p),
                    "scheme": p.scheme.as_str(),
                    "scopes": p.scopes.iter().collect::<Vec<_>>(),
                    "environment": p.environment.as_str(),
                    "expires_at": p.expires_at.map(|t| t.to_rfc3339()),
                },
            })
        }
        Ok(None) => json!({ "ok": true, "principal": null, "public": true }),
        Err(refusal) => {
            let r = if detailed {
                refusal.detailed().clone()
            } else {
                refusal.rejection()
            };
            json!({
                "ok": false,
                "status": r.status.as_u16(),
                "error": { "code": r.error.code().as_str(), "message": r.error.message() },
            })
        }
    }
}

fn explained(e: &Explanation) -> Value {
    json!({
        "scheme": e.scheme.map(|s| s.as_str()),
        "code": e.code.map(|c| c.as_str()),
        "message": e.message,
        "environment": e.environment.map(|env| env.as_str()),
        "server_time": e.server_time.as_secs(),
        "signature": e.signature.as_ref().map(|s| json!({
            "label": s.label,
            "keyid": s.keyid,
            "covered_components": s.covered_components,
            "signature_base": s.signature_base.as_ref().ok(),
            "signature_base_error": s.signature_base.as_ref().err(),
            "created": s.created.map(|t| t.as_secs()),
            "expires": s.expires.map(|t| t.as_secs()),
            "clock_skew_seconds": s.clock_skew_seconds,
        })),
    })
}
