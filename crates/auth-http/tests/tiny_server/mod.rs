//! A tiny HTTP/1.1 server on 127.0.0.1 for the client tests: it records every request exactly
//! as it arrived (method, target, headers, body) and answers what the test's handler says. It
//! needs nothing but tokio, so the client tests run without the `server` feature, and it
//! checks what actually crossed the wire rather than what a verifying layer made of it.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target (origin form: path and query).
    pub target: String,
    /// Header fields in order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The server's own `host:port`.
    pub authority: String,
}

impl Recorded {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The absolute URL the request was sent to.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.authority, self.target)
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

/// What the handler answers.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Extra header fields.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

impl Reply {
    /// 200 with `body`.
    pub fn ok(body: impl Into<String>) -> Self {
        Self {
            status: 200,
            headers: vec![],
            body: body.into(),
        }
    }

    /// `status` with `Location: location`.
    pub fn redirect(status: u16, location: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("location".into(), location.into())],
            body: String::new(),
        }
    }

    /// `status` with an empty body.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: vec![],
            body: String::new(),
        }
    }
}

type Handler = Arc<dyn Fn(Recorded) -> Pin<Box<dyn Future<Output = Reply> + Send>> + Send + Sync>;

/// A running server.
#[derive(Clone)]
pub struct TinyServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// `127.0.0.1:<port>`.
    pub authority: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl TinyServer {
    /// Starts a server whose answers come from `handler` (called after the request is recorded).
    pub async fn start<F, Fut>(handler: F) -> Self
    where
        F: Fn(Recorded) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Reply> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |r| Box::pin(handler(r)));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let server = Self {
            base: format!("http://{authority}"),
            authority: authority.clone(),
            requests: requests.clone(),
        };
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let handler = handler.clone();
                let requests = requests.clone();
                let authority = authority.clone();
                tokio::spawn(async move {
                    let _ = serve_one(socket, handler, requests, authority).await;
                });
            }
        });
        server
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

/// Reads requests off one connection until it closes (keep-alive is honoured, so a pooled
/// client connection sees the same server across requests).
async fn serve_one(
    socket: tokio::net::TcpStream,
    handler: Handler,
    requests: Arc<Mutex<Vec<Recorded>>>,
    authority: String,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let target = parts.next().unwrap_or("").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            read.read_line(&mut h).await?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        read.read_exact(&mut body).await?;
        let recorded = Recorded {
            method,
            target,
            headers,
            body,
            authority: authority.clone(),
        };
        requests.lock().unwrap().push(recorded.clone());
        let reply = handler(recorded).await;
        let mut out = format!(
            "HTTP/1.1 {} X\r\ncontent-length: {}\r\n",
            reply.status,
            reply.body.len()
        );
        for (k, v) in &reply.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(&reply.body);
        write.write_all(out.as_bytes()).await?;
    }
}
