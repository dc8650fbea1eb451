//! Shared by the examples: where the demo server writes the credentials it registered, and how
//! the example clients read them back.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::path::PathBuf;

/// `PA_DEMO_DIR`, or `target/demo-credentials` under the current directory.
pub fn demo_dir() -> PathBuf {
    std::env::var_os("PA_DEMO_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/demo-credentials"))
}

/// Reads one credential file written by the server example.
pub fn read(name: &str) -> String {
    let path = demo_dir().join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| {
            panic!(
                "cannot read {}: {e}. Start the server first: cargo run -p auth-http --example protected_server",
                path.display()
            )
        })
        .trim()
        .to_owned()
}

/// The server's base URL (`PA_DEMO_URL`, default `http://127.0.0.1:8080`).
pub fn base_url() -> String {
    std::env::var("PA_DEMO_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into())
}

/// Prints a response's status and body.
#[cfg(feature = "client")]
pub async fn show(resp: reqwest::Response) {
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    println!("{status} {body}");
}
