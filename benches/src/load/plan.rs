//! A load run's plan: the loopback target, the pre-built requests and the pace, all validated
//! and bounded before a single byte is sent.

use base64::Engine as _;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use serde::Deserialize;
use std::io::BufRead;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Longest run [`Plan::new`] accepts: a load run is a bounded measurement, not a soak test.
pub const MAX_DURATION: Duration = Duration::from_secs(60);
/// Most connections a run may open.
pub const MAX_CONNECTIONS: usize = 256;
/// Highest rate (requests per second) a run may offer.
pub const MAX_RATE: u32 = 1_000_000;
/// Most distinct pre-built requests a run may cycle through.
pub const MAX_REQUESTS: usize = 1_000_000;
/// Largest body of one pre-built request.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Longest a single request may take before it counts as timed out.
pub const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest line [`requests_from_jsonl`] reads (a request plus a body in Base64).
const MAX_JSONL_LINE: usize = MAX_BODY_BYTES / 3 * 4 + 64 * 1024;

/// One pre-built request as the caller wrote it (one line of the `--requests` JSONL file).
///
/// Signing happens before the run, so the generator only replays bytes: `headers` carry the
/// credential (`Authorization`, `Signature`, ...), in order, duplicates allowed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// HTTP method; `GET` when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// Origin-form target (`/path?query`); the URL's path when absent.
    #[serde(default)]
    pub path: Option<String>,
    /// Header fields as `[name, value]` pairs. `Host` defaults to the target's address.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Body as UTF-8 text.
    #[serde(default)]
    pub body: Option<String>,
    /// Body as standard Base64 (for binary bodies); exclusive with `body`.
    #[serde(default)]
    pub body_base64: Option<String>,
}

/// Why a plan was refused. Each names the bound or the field to fix.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanError {
    /// The URL does not parse as `http://127.0.0.1:PORT/path`.
    #[error("the target URL must look like http://127.0.0.1:PORT/path")]
    InvalidUrl,
    /// Only plain HTTP is generated (TLS would measure the TLS stack, not the service).
    #[error("only http:// targets are supported")]
    UnsupportedScheme,
    /// The target is not 127.0.0.1: this tool never sends load off the machine.
    #[error("the target host must be 127.0.0.1; load is never sent off this machine")]
    NotLoopback,
    /// Rate outside `1..=MAX_RATE`.
    #[error("rate must be between 1 and {MAX_RATE} requests per second")]
    RateOutOfRange,
    /// Duration zero or over [`MAX_DURATION`].
    #[error("duration must be more than 0 and at most {} s", MAX_DURATION.as_secs())]
    DurationOutOfRange,
    /// Connections outside `1..=MAX_CONNECTIONS`.
    #[error("connections must be between 1 and {MAX_CONNECTIONS}")]
    ConnectionsOutOfRange,
    /// Request timeout zero or over [`MAX_REQUEST_TIMEOUT`].
    #[error("request timeout must be more than 0 and at most {} s", MAX_REQUEST_TIMEOUT.as_secs())]
    TimeoutOutOfRange,
    /// The expected status is not a valid HTTP status code.
    #[error("expected status must be a valid HTTP status code")]
    InvalidExpectedStatus,
    /// No requests, or more than [`MAX_REQUESTS`].
    #[error("between 1 and {MAX_REQUESTS} pre-built requests are required")]
    RequestCount,
    /// One pre-built request is unusable; `index` counts from 0 (the JSONL line is `index + 1`).
    #[error("request {index}: {reason}")]
    InvalidRequest {
        /// Position of the request in the list.
        index: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A saturation search setting is out of range; the text names it.
    #[error("saturation search: {0}")]
    InvalidSearch(&'static str),
    /// The requests file could not be read.
    #[error("cannot read the requests: {0}")]
    Read(String),
}

/// How to pace a run. Every field is checked by [`Plan::new`].
#[derive(Clone, Debug)]
pub struct Settings {
    /// Offered rate in requests per second, independent of how fast the server answers.
    pub rate: u32,
    /// How long requests are scheduled for.
    pub duration: Duration,
    /// Keep-alive connections the scheduled requests share.
    pub connections: usize,
    /// The status that counts as success; any other is counted as unexpected.
    pub expected_status: u16,
    /// A request not answered within this time counts as timed out and its connection is dropped.
    pub request_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            rate: 1_000,
            duration: Duration::from_secs(5),
            connections: 32,
            expected_status: 200,
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// A pre-built request ready to be replayed: parsed once, cloned per send.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// A validated, bounded load run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub(crate) addr: SocketAddr,
    pub(crate) requests: Arc<[Prepared]>,
    pub(crate) rate: u32,
    pub(crate) duration: Duration,
    pub(crate) connections: usize,
    pub(crate) expected_status: StatusCode,
    pub(crate) request_timeout: Duration,
}

impl Plan {
    /// Checks the target (`http://127.0.0.1:PORT[/path]` only), the bounds and every request.
    pub fn new(
        url: &str,
        requests: &[RequestSpec],
        settings: &Settings,
    ) -> Result<Self, PlanError> {
        let (addr, default_path) = parse_target(url)?;
        if requests.is_empty() || requests.len() > MAX_REQUESTS {
            return Err(PlanError::RequestCount);
        }
        let host = HeaderValue::from_str(&addr.to_string()).map_err(|_| PlanError::InvalidUrl)?;
        let prepared = requests
            .iter()
            .enumerate()
            .map(|(index, spec)| {
                prepare(spec, &default_path, &host)
                    .map_err(|reason| PlanError::InvalidRequest { index, reason })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let expected_status = StatusCode::from_u16(settings.expected_status)
            .map_err(|_| PlanError::InvalidExpectedStatus)?;
        let plan = Self {
            addr,
            requests: prepared.into(),
            rate: 1,
            duration: Duration::from_secs(1),
            connections: 1,
            expected_status,
            request_timeout: Duration::from_secs(1),
        };
        plan.with_pace(
            settings.rate,
            settings.duration,
            settings.connections,
            settings.request_timeout,
        )
    }

    /// The same target and requests at another pace (used by the saturation search).
    pub fn with_pace(
        &self,
        rate: u32,
        duration: Duration,
        connections: usize,
        request_timeout: Duration,
    ) -> Result<Self, PlanError> {
        if rate == 0 || rate > MAX_RATE {
            return Err(PlanError::RateOutOfRange);
        }
        if duration.is_zero() || duration > MAX_DURATION {
            return Err(PlanError::DurationOutOfRange);
        }
        if connections == 0 || connections > MAX_CONNECTIONS {
            return Err(PlanError::ConnectionsOutOfRange);
        }
        if request_timeout.is_zero() || request_timeout > MAX_REQUEST_TIMEOUT {
            return Err(PlanError::TimeoutOutOfRange);
        }
        Ok(Self {
            rate,
            duration,
            connections,
            request_timeout,
            ..self.clone()
        })
    }

    /// The same plan at another rate.
    pub fn with_rate(&self, rate: u32) -> Result<Self, PlanError> {
        self.with_pace(rate, self.duration, self.connections, self.request_timeout)
    }

    /// The loopback address requests go to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Offered rate in requests per second.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Scheduling duration.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// Number of keep-alive connections.
    pub fn connections(&self) -> usize {
        self.connections
    }

    /// How many requests the run schedules: `rate x duration`, at least one.
    pub fn scheduled(&self) -> u64 {
        let nanos = u128::from(self.rate) * self.duration.as_nanos() / 1_000_000_000;
        u64::try_from(nanos).unwrap_or(u64::MAX).max(1)
    }

    /// When request `index` is meant to be sent, as an offset from the run's start.
    pub(crate) fn intended_offset(&self, index: u64) -> Duration {
        let nanos = u128::from(index) * 1_000_000_000 / u128::from(self.rate);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

/// Accepts `http://127.0.0.1:PORT[/path]` only; returns the address and the default path.
fn parse_target(url: &str) -> Result<(SocketAddr, String), PlanError> {
    let uri: Uri = url.parse().map_err(|_| PlanError::InvalidUrl)?;
    match uri.scheme_str() {
        Some("http") => {}
        Some(_) => return Err(PlanError::UnsupportedScheme),
        None => return Err(PlanError::InvalidUrl),
    }
    let authority = uri.authority().ok_or(PlanError::InvalidUrl)?;
    // Userinfo would be silently dropped; refuse it rather than guess.
    if authority.as_str().contains('@') {
        return Err(PlanError::InvalidUrl);
    }
    // Compared as a literal address: a name like `localhost` could resolve anywhere.
    let host: Ipv4Addr = authority
        .host()
        .parse()
        .map_err(|_| PlanError::NotLoopback)?;
    if host != Ipv4Addr::LOCALHOST {
        return Err(PlanError::NotLoopback);
    }
    let port = authority.port_u16().ok_or(PlanError::InvalidUrl)?;
    if port == 0 {
        return Err(PlanError::InvalidUrl);
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    Ok((SocketAddr::from((host, port)), path))
}

fn prepare(
    spec: &RequestSpec,
    default_path: &str,
    host: &HeaderValue,
) -> Result<Prepared, &'static str> {
    let method = match &spec.method {
        Some(m) => Method::from_bytes(m.as_bytes()).map_err(|_| "invalid method")?,
        None => Method::GET,
    };
    let path = spec.path.as_deref().unwrap_or(default_path);
    if !path.starts_with('/') {
        return Err("path must start with '/'");
    }
    let uri: Uri = path.parse().map_err(|_| "invalid path")?;
    if uri.scheme().is_some() || uri.authority().is_some() {
        return Err("path must be origin-form, without scheme or host");
    }
    let body = match (&spec.body, &spec.body_base64) {
        (Some(_), Some(_)) => return Err("give body or body_base64, not both"),
        (Some(text), None) => Bytes::copy_from_slice(text.as_bytes()),
        (None, Some(b64)) => {
            if b64.len() > MAX_BODY_BYTES / 3 * 4 + 4 {
                return Err("body too large");
            }
            Bytes::from(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| "body_base64 is not valid Base64")?,
            )
        }
        (None, None) => Bytes::new(),
    };
    if body.len() > MAX_BODY_BYTES {
        return Err("body too large");
    }
    let mut headers = HeaderMap::with_capacity(spec.headers.len() + 1);
    for (name, value) in &spec.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| "invalid header name")?;
        let value = HeaderValue::from_str(value).map_err(|_| "invalid header value")?;
        headers.append(name, value);
    }
    // The generator frames bodies itself (Content-Length from the bytes); a different framing
    // in the file would desynchronise the keep-alive connection.
    if headers.contains_key(TRANSFER_ENCODING) {
        return Err("Transfer-Encoding is not supported; bodies are sent with Content-Length");
    }
    if let Some(declared) = headers.get(CONTENT_LENGTH)
        && (headers.get_all(CONTENT_LENGTH).iter().count() != 1
            || declared.to_str().ok().and_then(|v| v.parse::<usize>().ok()) != Some(body.len()))
    {
        return Err("Content-Length does not match the body");
    }
    if !headers.contains_key(HOST) {
        headers.insert(HOST, host.clone());
    }
    Ok(Prepared {
        method,
        uri,
        headers,
        body,
    })
}

/// Reads pre-built requests, one JSON object per line (blank lines skipped). An error names the
/// line; a line longer than the largest allowed body in Base64 is refused before parsing.
pub fn requests_from_jsonl(reader: impl BufRead) -> Result<Vec<RequestSpec>, PlanError> {
    let mut requests = Vec::new();
    let mut reader = reader;
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        number += 1;
        let read = read_bounded_line(&mut reader, &mut line)
            .map_err(|e| PlanError::Read(e.to_string()))?;
        if read == 0 {
            return Ok(requests);
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if requests.len() == MAX_REQUESTS {
            return Err(PlanError::RequestCount);
        }
        let spec = serde_json::from_slice(&line)
            .map_err(|e| PlanError::Read(format!("line {number}: {e}")))?;
        requests.push(spec);
    }
}

/// `read_until(b'\n')` that stops with an error past [`MAX_JSONL_LINE`] bytes.
fn read_bounded_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(total);
        }
        let (take, done) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        if line.len() + take > MAX_JSONL_LINE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "line too long",
            ));
        }
        line.extend_from_slice(&available[..take]);
        reader.consume(take);
        total += take;
        if done {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_literal_127_0_0_1_over_http() {
        assert!(parse_target("http://127.0.0.1:8080/auth").is_ok());
        assert_eq!(
            parse_target("http://localhost:8080/"),
            Err(PlanError::NotLoopback)
        );
        assert_eq!(
            parse_target("http://10.0.0.1:8080/"),
            Err(PlanError::NotLoopback)
        );
        assert_eq!(
            parse_target("http://127.0.0.2:8080/"),
            Err(PlanError::NotLoopback)
        );
        assert_eq!(
            parse_target("http://[::1]:8080/"),
            Err(PlanError::NotLoopback)
        );
        assert_eq!(
            parse_target("https://127.0.0.1:8443/"),
            Err(PlanError::UnsupportedScheme)
        );
        assert_eq!(
            parse_target("http://x@127.0.0.1:80/"),
            Err(PlanError::InvalidUrl)
        );
        assert_eq!(
            parse_target("http://127.0.0.1/"),
            Err(PlanError::InvalidUrl)
        );
    }

    #[test]
    fn schedule_is_evenly_spaced() {
        let spec = [RequestSpec::default()];
        let settings = Settings {
            rate: 4,
            duration: Duration::from_secs(2),
            ..Settings::default()
        };
        let plan = Plan::new("http://127.0.0.1:1/", &spec, &settings).unwrap();
        assert_eq!(plan.scheduled(), 8);
        assert_eq!(plan.intended_offset(3), Duration::from_millis(750));
    }

    #[test]
    fn framing_headers_must_match_the_body() {
        let host = HeaderValue::from_static("127.0.0.1:1");
        let spec = RequestSpec {
            headers: vec![("content-length".into(), "3".into())],
            body: Some("four".into()),
            ..RequestSpec::default()
        };
        assert!(prepare(&spec, "/", &host).is_err());
        let spec = RequestSpec {
            headers: vec![("transfer-encoding".into(), "chunked".into())],
            ..RequestSpec::default()
        };
        assert!(prepare(&spec, "/", &host).is_err());
    }

    #[test]
    fn jsonl_errors_name_the_line() {
        let text = "{\"path\":\"/a\"}\n\n{\"pathh\":\"/b\"}\n";
        match requests_from_jsonl(text.as_bytes()) {
            Err(PlanError::Read(message)) => assert!(message.starts_with("line 3"), "{message}"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
