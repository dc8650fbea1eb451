//! `serve_with` over real TCP on 127.0.0.1: a head sent byte by byte is cut off by
//! `header_read_timeout`, a stalled body by `body_read_timeout`, an idle kept-alive connection by
//! the header timer, connections past `max_connections` wait until one ends, and ordinary
//! requests still get 200 with the defaults. Every await is bounded, so no test can hang.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_http::server::{ServeConfig, serve, serve_with};
use bytes::Bytes;
use http_body::Body;
use http_body_util::{BodyExt, Full};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, sleep, timeout};
use tower_service::Service;

/// Bound on any await that is expected to finish promptly.
const GUARD: Duration = Duration::from_secs(10);

/// Reads the whole body, then answers 200 "ok"; 408 when the body could not be read.
#[derive(Clone)]
struct Ok200;

impl<B> Service<http::Request<B>> for Ok200
where
    B: Body + Send + 'static,
    B::Data: Send,
{
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        Box::pin(async move {
            let (status, text) = match req.into_body().collect().await {
                Ok(_) => (http::StatusCode::OK, "ok"),
                Err(_) => (http::StatusCode::REQUEST_TIMEOUT, "body not read"),
            };
            let mut resp = http::Response::new(Full::new(Bytes::from_static(text.as_bytes())));
            *resp.status_mut() = status;
            Ok(resp)
        })
    }
}

async fn start(config: ServeConfig) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_with(listener, Ok200, config));
    addr
}

async fn connect(addr: SocketAddr) -> TcpStream {
    let s = timeout(GUARD, TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .unwrap();
    s.set_nodelay(true).unwrap();
    s
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// Reads until the peer closes (or resets) the connection; returns what arrived before.
async fn read_to_close<R: AsyncRead + Unpin>(r: &mut R) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one response with a `content-length` body; returns (status line, body).
async fn read_response<R: AsyncRead + Unpin>(r: &mut R) -> (String, String) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .expect("a content-length");
            if data.len() >= end + 4 + len {
                let body = String::from_utf8_lossy(&data[end + 4..end + 4 + len]).to_string();
                let status = head.lines().next().unwrap_or_default().to_string();
                return (status, body);
            }
        }
        let n = r.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed mid-response: {data:?}");
        data.extend_from_slice(&buf[..n]);
    }
}

/// (a) A head sent one byte every 200 ms loses its connection once `header_read_timeout`
/// (1 s) has passed, long before the head is complete.
#[tokio::test]
async fn a_head_sent_byte_by_byte_is_cut_off_by_the_header_read_timeout() {
    let addr = start(ServeConfig {
        header_read_timeout: Duration::from_secs(1),
        ..ServeConfig::default()
    })
    .await;
    let head: &[u8] =
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\nAccept: */*\r\n\r\n";
    let per_byte = Duration::from_millis(200);
    let (mut rd, mut wr) = connect(addr).await.into_split();
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        for b in head {
            if wr.write_all(&[*b]).await.is_err() {
                return;
            }
            sleep(per_byte).await;
        }
        // Keep the write half open: a completed head must not end the test by itself.
        sleep(GUARD).await;
    });
    let got = timeout(Duration::from_secs(3), read_to_close(&mut rd))
        .await
        .expect("the server still held a connection whose head was trickling in after 3 s");
    let elapsed = started.elapsed();
    writer.abort();
    assert!(
        elapsed < per_byte * head.len() as u32 / 2,
        "closed only after {elapsed:?}, the head takes {:?}",
        per_byte * head.len() as u32
    );
    assert!(
        got.is_empty() || got.starts_with(b"HTTP/1.1 408"),
        "expected a close or 408, got {:?}",
        String::from_utf8_lossy(&got)
    );
}

/// (b) A body that stalls after 64 KiB of a declared 1 MiB fails once `body_read_timeout`
/// (1 s) has passed: the service sees an error (it answers 408) and the connection is closed.
#[tokio::test]
async fn a_stalled_body_is_cut_off_by_the_body_read_timeout() {
    let addr = start(ServeConfig {
        body_read_timeout: Duration::from_secs(1),
        ..ServeConfig::default()
    })
    .await;
    let mut s = connect(addr).await;
    let mut request =
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1048576\r\n\r\n".to_vec();
    request.extend(std::iter::repeat_n(b'x', 64 * 1024));
    timeout(GUARD, s.write_all(&request))
        .await
        .expect("write timed out")
        .unwrap();
    // The rest of the body never comes; the write half stays open.
    let got = timeout(Duration::from_secs(3), read_to_close(&mut s))
        .await
        .expect("a stalled body still held its connection after 3 s");
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("HTTP/1.1 408"),
        "the service should have seen the body time out: {text:?}"
    );
}

/// A body that arrives slowly but within `body_read_timeout` is passed on whole.
#[tokio::test]
async fn a_slow_body_within_the_deadline_is_served() {
    let addr = start(ServeConfig {
        body_read_timeout: Duration::from_secs(2),
        ..ServeConfig::default()
    })
    .await;
    let mut s = connect(addr).await;
    s.write_all(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nhello")
        .await
        .unwrap();
    sleep(Duration::from_millis(500)).await;
    s.write_all(b"world").await.unwrap();
    let (status, body) = timeout(GUARD, read_response(&mut s))
        .await
        .expect("no response");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, "ok");
}

/// A kept-alive connection left idle after a response is closed once `header_read_timeout`
/// passes without a new head (hyper runs the header timer while it waits for the next head).
#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_header_read_timeout() {
    let addr = start(ServeConfig {
        header_read_timeout: Duration::from_secs(1),
        ..ServeConfig::default()
    })
    .await;
    let mut s = connect(addr).await;
    s.write_all(GET).await.unwrap();
    let (status, _) = timeout(GUARD, read_response(&mut s))
        .await
        .expect("no response");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let rest = timeout(Duration::from_secs(3), read_to_close(&mut s))
        .await
        .expect("an idle kept-alive connection was still open after 3 s");
    assert!(rest.is_empty(), "unexpected bytes: {rest:?}");
}

/// (c) With `max_connections` 4 and four connections held open, a fifth is not served until
/// one of the four is closed; then it is.
#[tokio::test]
async fn a_connection_past_the_cap_waits_until_one_ends() {
    let addr = start(ServeConfig {
        max_connections: 4,
        // Long enough that the held connections are not closed as idle during the test.
        header_read_timeout: Duration::from_secs(30),
        ..ServeConfig::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = connect(addr).await;
        s.write_all(GET).await.unwrap();
        // A response proves the server accepted this connection (and holds a permit for it).
        let (status, _) = timeout(GUARD, read_response(&mut s))
            .await
            .expect("one of the first four connections was not served");
        assert_eq!(status, "HTTP/1.1 200 OK");
        held.push(s);
    }
    let mut fifth = connect(addr).await;
    fifth.write_all(GET).await.unwrap();
    let mut byte = [0u8; 1];
    let early = timeout(Duration::from_secs(1), fifth.read(&mut byte)).await;
    assert!(
        early.is_err(),
        "the fifth connection was answered ({early:?}) while four were held"
    );
    drop(held.pop());
    let (status, body) = timeout(GUARD, read_response(&mut fifth))
        .await
        .expect("the fifth connection was not served after one of the four closed");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, "ok");
}

/// (d) With the defaults (`serve`), ordinary requests get 200, several on one connection.
#[tokio::test]
async fn ordinary_requests_are_served_with_the_defaults() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, Ok200));
    let mut s = connect(addr).await;
    s.write_all(GET).await.unwrap();
    let (status, body) = timeout(GUARD, read_response(&mut s))
        .await
        .expect("no response to GET");
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 200 OK", "ok"));
    s.write_all(b"POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello")
        .await
        .unwrap();
    let (status, body) = timeout(GUARD, read_response(&mut s))
        .await
        .expect("no response to POST on the kept-alive connection");
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 200 OK", "ok"));
}

/// An invalid configuration is refused before anything is accepted.
#[tokio::test]
async fn an_invalid_config_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let r = timeout(
        GUARD,
        serve_with(
            listener,
            Ok200,
            ServeConfig {
                max_connections: 0,
                ..ServeConfig::default()
            },
        ),
    )
    .await
    .expect("serve_with did not return");
    assert_eq!(
        r.map_err(|e| e.kind()),
        Err(std::io::ErrorKind::InvalidInput)
    );
}

/// A request head larger than `max_header_size` (64 KiB by default) gets 431 and never reaches
/// the service (before, a 100 KiB head was served).
#[tokio::test]
async fn a_head_larger_than_max_header_size_gets_431() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, Ok200));
    let mut s = connect(addr).await;
    let mut head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 100 * 1024));
    head.extend_from_slice(b"\r\n\r\n");
    // The server may stop reading (and close) before the whole head is written.
    let _ = timeout(GUARD, s.write_all(&head)).await;
    let got = timeout(GUARD, read_to_close(&mut s))
        .await
        .expect("no answer to an oversized head");
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("HTTP/1.1 431"),
        "expected 431, got {text:?}"
    );
}
