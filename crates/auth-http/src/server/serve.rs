//! The HTTP/1 server loop: hyper on a tokio listener, with the read deadlines and the connection
//! cap that keep slow or stalled clients from holding memory and connections without end.
//!
//! # Defaults and why
//!
//! [`ServeConfig::default`] is meant to be safe on the open internet:
//!
//! - **`header_read_timeout` 10 s.** The whole request head (request line and headers) must
//!   arrive within it, so a client that sends its head one byte at a time (slowloris) loses the
//!   connection after 10 s instead of keeping it for as long as it likes. Hyper starts this timer
//!   whenever it waits for a head, including between requests on a kept-alive connection, so the
//!   same 10 s is also the **keep-alive idle timeout**: hyper has no separate one, and a separate
//!   setting would only be able to shorten it, not lengthen it.
//! - **`body_read_timeout` 30 s.** The whole body must arrive within it, counted from the moment
//!   the head was parsed. Every request's body is a [`DeadlineBody`] that fails with
//!   [`BodyReadError::TimedOut`] once the deadline passes, so a service that buffers bodies (the
//!   `AuthLayer` does) lets go of a stalled one; the connection is then closed, because its body
//!   was never read to the end. 30 s covers a 1 MiB body on a 300 kbit/s link.
//! - **`max_connections` 1024.** The server takes a connection from the listener only once it
//!   holds a permit, so connections past the cap wait in the kernel's listen backlog (bounded by
//!   the backlog length, no memory of ours, no CPU) and are served in order as earlier ones end.
//!   Accepting and closing at once would bound memory too, but would spend an accept and a close
//!   on every attempt of a flood and turn away legitimate clients that a short wait would have
//!   served. With the two timeouts above, a connection cannot keep its permit by sending slowly;
//!   it keeps it only while it is being served or is inside a timeout.
//! - **`max_header_size` 64 KiB, `max_headers` 100, `max_buf_size` 64 KiB.** A request head
//!   (request line and headers) larger than `max_header_size`, or with more than `max_headers`
//!   fields, gets 431 and never reaches the service. `max_buf_size` caps hyper's read and write
//!   buffers; it alone would not bound the head exactly (hyper checks it only before a further
//!   read, and one read can take up to `max_buf_size` more), which is why the head has its own
//!   limit, checked on the parsed head.
//!
//! Worst-case memory is about `max_connections × (max_buf_size + what the service buffers per
//! request)`; behind an `AuthLayer` with its 1 MiB default body limit that is ≈ 1.1 GiB at the
//! cap, held for at most `header_read_timeout + body_read_timeout` by clients that stall.
//! Not bounded here: the time a service takes to answer (put a timeout layer in front of slow
//! handlers) and the time a client takes to read the response (hyper has no write timeout).
//!
//! Errors from `accept` (`EMFILE`, `ENFILE`, `ECONNABORTED`, ...) do not end the loop: the
//! server waits [`ACCEPT_ERROR_BACKOFF`] and accepts again, without printing anything.

use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::{Bytes, Incoming};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long the accept loop waits after an error from `accept` before it tries again.
pub const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// The longest timeout [`ServeConfig::validate`] accepts: one day.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// The smallest `max_buf_size` hyper accepts (it panics below it).
pub const MIN_BUF_SIZE: usize = 8192;

/// Hyper's own header-count limit: left unset at this value, so its parser keeps the inline array.
const HYPER_DEFAULT_MAX_HEADERS: usize = 100;

/// Limits of the server loop. Every field has a safe default ([`ServeConfig::default`]); the
/// module documentation says why each default is what it is.
///
/// In configuration files the durations are whole milliseconds in fields named with an `_ms`
/// suffix, and unknown fields are refused:
///
/// ```toml
/// header_read_timeout_ms = 10000
/// body_read_timeout_ms = 30000
/// max_connections = 1024
/// max_header_size = 65536
/// max_headers = 100
/// max_buf_size = 65536
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// The whole request head must arrive within this time after the server starts waiting for
    /// it; otherwise the connection is closed without a response. The same timer bounds the idle
    /// time between requests on a kept-alive connection. Serialized as `header_read_timeout_ms`.
    /// Default 10 s.
    #[serde(rename = "header_read_timeout_ms", with = "millis")]
    pub header_read_timeout: Duration,
    /// The whole request body must arrive within this time after its head was parsed; otherwise
    /// reading the [`DeadlineBody`] fails with [`BodyReadError::TimedOut`] and the connection is
    /// closed after the response. Serialized as `body_read_timeout_ms`. Default 30 s.
    #[serde(rename = "body_read_timeout_ms", with = "millis")]
    pub body_read_timeout: Duration,
    /// The most connections served at once; further ones wait in the listen backlog until a
    /// served one ends. Default 1024.
    pub max_connections: usize,
    /// The largest request head (request line and headers) in bytes; a larger one gets 431.
    /// At least 1, at most `max_buf_size`. Default 64 KiB.
    pub max_header_size: usize,
    /// The most header fields in a request head; more gets 431. Default 100 (hyper's own, which
    /// keeps its parser's header array on the stack).
    pub max_headers: usize,
    /// The limit of hyper's read and write buffers per connection, in bytes. At least
    /// [`MIN_BUF_SIZE`]. Default 64 KiB.
    pub max_buf_size: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_header_size: 64 * 1024,
            max_headers: HYPER_DEFAULT_MAX_HEADERS,
            max_buf_size: 64 * 1024,
        }
    }
}

impl ServeConfig {
    /// Checks every field is in range: timeouts in `1 ms ..= 1 day`, `max_connections` at least
    /// 1 (and at most tokio's semaphore limit), `max_buf_size` at least [`MIN_BUF_SIZE`],
    /// `max_header_size` in `1 ..= max_buf_size`, `max_headers` at least 1. [`serve_with`] calls
    /// it before it accepts anything.
    pub fn validate(&self) -> Result<(), InvalidServeConfig> {
        for (field, value) in [
            ("header_read_timeout", self.header_read_timeout),
            ("body_read_timeout", self.body_read_timeout),
        ] {
            if value < Duration::from_millis(1) {
                return Err(InvalidServeConfig::new(field, "must be at least 1 ms"));
            }
            if value > MAX_TIMEOUT {
                return Err(InvalidServeConfig::new(field, "must be at most one day"));
            }
        }
        if self.max_connections == 0 {
            return Err(InvalidServeConfig::new(
                "max_connections",
                "must be at least 1",
            ));
        }
        if self.max_connections > Semaphore::MAX_PERMITS {
            return Err(InvalidServeConfig::new(
                "max_connections",
                "is larger than tokio's semaphore allows",
            ));
        }
        if self.max_buf_size < MIN_BUF_SIZE {
            return Err(InvalidServeConfig::new(
                "max_buf_size",
                "must be at least 8192 (hyper's minimum)",
            ));
        }
        if self.max_header_size == 0 {
            return Err(InvalidServeConfig::new(
                "max_header_size",
                "must be at least 1",
            ));
        }
        if self.max_header_size > self.max_buf_size {
            return Err(InvalidServeConfig::new(
                "max_header_size",
                "must not be larger than max_buf_size",
            ));
        }
        if self.max_headers == 0 {
            return Err(InvalidServeConfig::new("max_headers", "must be at least 1"));
        }
        Ok(())
    }
}

/// A [`ServeConfig`] field out of range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidServeConfig {
    field: &'static str,
    reason: &'static str,
}

impl InvalidServeConfig {
    fn new(field: &'static str, reason: &'static str) -> Self {
        Self { field, reason }
    }

    /// The field's name, as in the Rust struct.
    pub fn field(&self) -> &'static str {
        self.field
    }
}

impl fmt::Display for InvalidServeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServeConfig.{} {}", self.field, self.reason)
    }
}

impl std::error::Error for InvalidServeConfig {}

/// Durations as whole milliseconds (sub-millisecond parts are dropped when serializing).
mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// Serves `service` (usually `AuthLayer` around a handler) with hyper's HTTP/1 server on
/// `listener`, with [`ServeConfig::default`], until the task is dropped. See [`serve_with`].
pub async fn serve<S, ResBody>(listener: tokio::net::TcpListener, service: S) -> std::io::Result<()>
where
    S: tower_service::Service<Request<DeadlineBody>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    ResBody: Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    serve_with(listener, service, ServeConfig::default()).await
}

/// Serves `service` with hyper's HTTP/1 server on `listener` within the limits of `config`,
/// until the task is dropped.
///
/// Returns at once with [`std::io::ErrorKind::InvalidInput`] (its source an
/// [`InvalidServeConfig`]) when `config` does not validate; otherwise it never returns: errors
/// from `accept` are retried after [`ACCEPT_ERROR_BACKOFF`], and a connection's errors (a client
/// that hangs up, a timeout) end only that connection.
pub async fn serve_with<S, ResBody>(
    listener: tokio::net::TcpListener,
    service: S,
    config: ServeConfig,
) -> std::io::Result<()>
where
    S: tower_service::Service<Request<DeadlineBody>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    ResBody: Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    serve_until(
        listener,
        service,
        config,
        std::future::pending(),
        Duration::ZERO,
    )
    .await
}

/// The peer's address, a request extension on every request [`serve_until`] hands the
/// service (forward-auth believes forwarded headers only from trusted peers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// [`serve_with`] that stops when `shutdown` completes: it stops accepting, lets every
/// connection finish its in-flight request (hyper's graceful shutdown closes idle keep-alive
/// connections at once), and returns once all connections ended or `grace` passed, whichever
/// is first. Each request carries its [`PeerAddr`].
pub async fn serve_until<S, ResBody, F>(
    listener: tokio::net::TcpListener,
    service: S,
    config: ServeConfig,
    shutdown: F,
    grace: Duration,
) -> std::io::Result<()>
where
    S: tower_service::Service<Request<DeadlineBody>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    ResBody: Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
    F: Future<Output = ()> + Send,
{
    config
        .validate()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(config.max_buf_size)
        .max_header_size(config.max_header_size);
    if config.max_headers != HYPER_DEFAULT_MAX_HEADERS {
        builder.max_headers(config.max_headers);
    }
    let permits = Arc::new(Semaphore::new(config.max_connections));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // The permit comes first: while none is free, connections queue in the kernel's listen
        // backlog instead of in this process.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p
                .map_err(|_| std::io::Error::other("the connection semaphore was closed"))?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(pair) => break pair,
                    // Out of file descriptors, a connection reset before it was accepted, ...:
                    // none of them is a reason to stop serving the connections still to come.
                    Err(_) => tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await,
                },
                () = &mut shutdown => {
                    drop(permit);
                    return drain(&permits, config.max_connections, &stop_tx, grace).await;
                }
            }
        };
        let service = WithDeadline {
            inner: service.clone(),
            timeout: config.body_read_timeout,
            peer: PeerAddr(peer),
        };
        let svc = hyper_util::service::TowerToHyperService::new(service);
        let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            // A client that hangs up or times out is not our error to report.
            let stopped = tokio::select! {
                _ = conn.as_mut() => false,
                r = stop.wait_for(|stop| *stop) => r.is_ok(),
            };
            if stopped {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
            }
            drop(permit);
        });
    }
    drain(&permits, config.max_connections, &stop_tx, grace).await
}

/// Tells every connection to finish and waits (at most `grace`) until all permits are back.
async fn drain(
    permits: &Arc<Semaphore>,
    max_connections: usize,
    stop: &tokio::sync::watch::Sender<bool>,
    grace: Duration,
) -> std::io::Result<()> {
    let _ = stop.send(true);
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(grace, permits.acquire_many(all)).await;
    Ok(())
}

/// Hands `inner` each request with its body wrapped in a [`DeadlineBody`].
#[derive(Clone)]
struct WithDeadline<S> {
    inner: S,
    timeout: Duration,
    peer: PeerAddr,
}

impl<S> tower_service::Service<Request<Incoming>> for WithDeadline<S>
where
    S: tower_service::Service<Request<DeadlineBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Incoming>) -> Self::Future {
        let timeout = self.timeout;
        let mut req = req.map(|body| DeadlineBody::new(body, timeout));
        req.extensions_mut().insert(self.peer);
        self.inner.call(req)
    }
}

/// A request body that must arrive in full before a deadline: the body [`serve`] and
/// [`serve_with`] hand the service.
///
/// Frames that have arrived are passed on as they are; once the body would have to wait past
/// its deadline, reading fails with [`BodyReadError::TimedOut`] (and keeps failing, so a
/// truncated body is never mistaken for a complete one). The deadline is
/// `body_read_timeout` after the head was parsed; the timer is only set up when a read has to
/// wait, so a body that is already buffered costs no timer.
#[derive(Debug)]
pub struct DeadlineBody {
    inner: Incoming,
    deadline: Instant,
    timeout: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    timed_out: bool,
}

impl DeadlineBody {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        Self {
            inner,
            deadline: Instant::now() + timeout,
            timeout,
            sleep: None,
            timed_out: false,
        }
    }

    /// The time by which the whole body must have arrived.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl Body for DeadlineBody {
    type Data = Bytes;
    type Error = BodyReadError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyReadError>>> {
        let this = self.get_mut();
        if this.timed_out {
            return Poll::Ready(Some(Err(BodyReadError::TimedOut(this.timeout))));
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|r| r.map_err(BodyReadError::Transport)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        ready!(sleep.as_mut().poll(cx));
        this.timed_out = true;
        Poll::Ready(Some(Err(BodyReadError::TimedOut(this.timeout))))
    }

    fn is_end_stream(&self) -> bool {
        !self.timed_out && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Why reading a [`DeadlineBody`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BodyReadError {
    /// The body had not arrived in full within `body_read_timeout` (the value carried).
    TimedOut(Duration),
    /// The connection failed (the client hung up, sent a malformed chunk, ...).
    Transport(hyper::Error),
}

impl BodyReadError {
    /// Whether the body missed its deadline (a service may answer 408 for it).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::TimedOut(_))
    }
}

impl fmt::Display for BodyReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TimedOut(t) => write!(
                f,
                "the request body did not arrive within {} ms",
                t.as_millis()
            ),
            Self::Transport(e) => write!(f, "reading the request body failed: {e}"),
        }
    }
}

impl std::error::Error for BodyReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::TimedOut(_) => None,
            Self::Transport(e) => Some(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_body_bounds<B>()
    where
        B: Body + Send + Sync + Unpin + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
    }

    #[test]
    fn deadline_body_meets_the_auth_layer_bounds() {
        assert_body_bounds::<DeadlineBody>();
    }

    #[test]
    fn defaults_validate_and_round_trip_through_serde() {
        let d = ServeConfig::default();
        assert_eq!(d.validate(), Ok(()));
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "header_read_timeout_ms": 10_000,
                "body_read_timeout_ms": 30_000,
                "max_connections": 1024,
                "max_header_size": 65536,
                "max_headers": 100,
                "max_buf_size": 65536,
            })
        );
        let back: ServeConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn missing_fields_take_defaults_and_unknown_fields_are_refused() {
        let c: ServeConfig = serde_json::from_str(r#"{"header_read_timeout_ms": 1000}"#).unwrap();
        assert_eq!(
            c,
            ServeConfig {
                header_read_timeout: Duration::from_secs(1),
                ..ServeConfig::default()
            }
        );
        let c: Result<ServeConfig, _> = serde_json::from_str(r#"{"header_read_timeout": 1000}"#);
        assert!(c.is_err(), "the unit-less name is not a field");
    }

    #[test]
    fn out_of_range_fields_are_named() {
        let cases = [
            (
                ServeConfig {
                    header_read_timeout: Duration::ZERO,
                    ..ServeConfig::default()
                },
                "header_read_timeout",
            ),
            (
                ServeConfig {
                    body_read_timeout: Duration::MAX,
                    ..ServeConfig::default()
                },
                "body_read_timeout",
            ),
            (
                ServeConfig {
                    max_connections: 0,
                    ..ServeConfig::default()
                },
                "max_connections",
            ),
            (
                ServeConfig {
                    max_buf_size: MIN_BUF_SIZE - 1,
                    ..ServeConfig::default()
                },
                "max_buf_size",
            ),
            (
                ServeConfig {
                    max_header_size: 0,
                    ..ServeConfig::default()
                },
                "max_header_size",
            ),
            (
                ServeConfig {
                    max_header_size: 64 * 1024 + 1,
                    ..ServeConfig::default()
                },
                "max_header_size",
            ),
            (
                ServeConfig {
                    max_headers: 0,
                    ..ServeConfig::default()
                },
                "max_headers",
            ),
        ];
        for (config, field) in cases {
            assert_eq!(config.validate().map_err(|e| e.field()), Err(field));
        }
    }
}
