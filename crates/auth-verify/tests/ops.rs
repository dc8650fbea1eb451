//! The ops surface: metric families appear after decisions and parse as Prometheus text
//! (checked by the Python reference parser where installed, and by a line grammar always);
//! `/healthz`, `/readyz` (flips to 503 on a failing or hanging store ping and when draining)
//! and `/metrics` through the real axum router.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::credential::{CredentialRef, PartnerId, Purpose, Scheme};
use auth_http::BoxFuture;
use auth_http::server::{CachingResolver, Decision, KeyResolver, Lookup, Observer, Outcome};
use auth_verify::ops::{self, Health, Metrics, MetricsObserver, ObserverFanout, OpsState};
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tower::ServiceExt;

struct NotRegistered;

impl KeyResolver for NotRegistered {
    fn resolve<'a>(&'a self, _: &'a CredentialRef) -> BoxFuture<'a, Lookup> {
        Box::pin(async { Ok(None) })
    }
}

struct Counting(AtomicUsize);

impl Observer for Counting {
    fn observe(&self, _: &Decision<'_>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn decision<'a>(
    outcome: Outcome,
    code: Option<auth_core::ErrorCode>,
    partner: &'a PartnerId,
    credential: &'a CredentialRef,
) -> Decision<'a> {
    Decision {
        outcome,
        path: "/v1/orders",
        scheme: Some(Scheme::HttpSignature),
        partner: Some(partner),
        credential: Some(credential),
        code,
        latency: Duration::from_micros(300),
    }
}

/// Metrics after two accepted decisions, one signature mismatch, one store failure, a cache
/// hit and a miss, and one request in flight.
async fn exercised() -> (Arc<Metrics>, ops::InFlight, Arc<Counting>) {
    let metrics = Arc::new(Metrics::new());
    let cache = Arc::new(CachingResolver::new(NotRegistered, Duration::from_secs(60)));
    let reference = CredentialRef::parse(Purpose::HttpSignatureKey, "key-1").unwrap();
    cache.resolve(&reference).await.unwrap();
    cache.resolve(&reference).await.unwrap();
    let tracked = cache.clone();
    metrics.track_cache(move || tracked.stats());

    let counting = Arc::new(Counting(AtomicUsize::new(0)));
    let fanout = ObserverFanout::new()
        .with(Arc::new(MetricsObserver(metrics.clone())))
        .with(counting.clone());
    let partner = PartnerId::new("acme").unwrap();
    use auth_core::ErrorCode::{SignatureMismatch, Unavailable};
    for (outcome, code) in [
        (Outcome::Accepted, None),
        (Outcome::Accepted, None),
        (Outcome::Rejected, Some(SignatureMismatch)),
        (Outcome::Rejected, Some(Unavailable)),
    ] {
        fanout.observe(&decision(outcome, code, &partner, &reference));
    }
    let guard = metrics.in_flight();
    (metrics, guard, counting)
}

#[tokio::test]
async fn metric_families_appear_after_decisions() {
    let (metrics, guard, counting) = exercised().await;
    assert_eq!(
        counting.0.load(Ordering::Relaxed),
        4,
        "the fanout reaches every observer"
    );
    let text = metrics.encode();
    for expected in [
        r#"auth_decisions_total{outcome="accepted",scheme="http_signature",code="ok"} 2"#,
        r#"auth_decisions_total{outcome="rejected",scheme="http_signature",code="signature_mismatch"} 1"#,
        r#"auth_decisions_total{outcome="rejected",scheme="http_signature",code="unavailable"} 1"#,
        "auth_decision_latency_seconds_count 4",
        r#"auth_decision_latency_seconds_bucket{le="+Inf"} 4"#,
        "auth_cache_hits_total 1",
        "auth_cache_misses_total 1",
        "auth_store_errors_total 1",
        "auth_requests_in_flight 1",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    drop(guard);
    assert!(metrics.encode().contains("auth_requests_in_flight 0"));
    check_grammar(&text);
    check_with_python(&text);
}

/// Every line is a `# HELP`/`# TYPE` comment or `name{labels} value` (text format 0.0.4).
fn check_grammar(text: &str) {
    for line in text.lines() {
        if line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        assert!(value == "+Inf" || value.parse::<f64>().is_ok(), "{line}");
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
        }
    }
}

/// The Prometheus project's own Python parser, where `prometheus_client` is installed.
fn check_with_python(text: &str) {
    let script = "import sys\n\
        from prometheus_client.parser import text_string_to_metric_families as parse\n\
        fams = {f.name: f.type for f in parse(sys.stdin.read())}\n\
        want = {'auth_decisions': 'counter', 'auth_decision_latency_seconds': 'histogram',\n\
                'auth_cache_hits': 'counter', 'auth_cache_misses': 'counter',\n\
                'auth_store_errors': 'counter', 'auth_requests_in_flight': 'gauge'}\n\
        missing = {k: v for k, v in want.items() if fams.get(k) != v}\n\
        assert not missing, (missing, fams)\n";
    // `cargo xtask ci` installs prometheus-client into the interop Python.
    let python = std::env::var_os("PA_INTEROP_PYTHON").unwrap_or_else(|| "python3".into());
    let probe = Command::new(&python)
        .args(["-c", "import prometheus_client"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs a Python with prometheus_client (cargo xtask ci installs it into PA_INTEROP_PYTHON)"
        );
        eprintln!(
            "SKIPPED: python with prometheus_client not installed (pip install prometheus-client, or run cargo xtask ci)"
        );
        return;
    }
    let mut child = Command::new(&python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const UP: u8 = 0;
const FAILING: u8 = 1;
const HANGING: u8 = 2;

fn state(mode: Arc<AtomicU8>) -> OpsState {
    let ping = move || {
        let mode = mode.clone();
        async move {
            match mode.load(Ordering::SeqCst) {
                UP => Ok(()),
                FAILING => Err("database is locked"),
                _ => std::future::pending().await,
            }
        }
    };
    OpsState {
        health: Arc::new(Health::new(ping, Duration::from_millis(150))),
        metrics: Arc::new(Metrics::new()),
    }
}

async fn get(state: &OpsState, path: &str) -> (StatusCode, Option<String>, String) {
    let response = ops::router(state.clone())
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn readyz_follows_the_store_ping_and_draining() {
    let mode = Arc::new(AtomicU8::new(UP));
    let state = state(mode.clone());
    assert_eq!(get(&state, "/healthz").await.0, StatusCode::OK);
    let (status, _, body) = get(&state, "/readyz").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, r#"{"status":"ready"}"#)
    );

    mode.store(FAILING, Ordering::SeqCst);
    let (status, content_type, body) = get(&state, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(
        body,
        r#"{"reason":"store_unavailable","status":"not_ready"}"#
    );
    assert!(
        !body.contains("locked"),
        "the store's own error stays in the logs"
    );

    mode.store(HANGING, Ordering::SeqCst);
    let started = Instant::now();
    let (status, _, body) = get(&state, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("store_timeout"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(2));

    mode.store(UP, Ordering::SeqCst);
    assert_eq!(get(&state, "/readyz").await.0, StatusCode::OK);
    state.health.start_draining();
    let (status, _, body) = get(&state, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("draining"), "{body}");
    // Liveness is not readiness: a draining process is still up.
    assert_eq!(get(&state, "/healthz").await.0, StatusCode::OK);
}

#[tokio::test]
async fn metrics_endpoint_serves_prometheus_text() {
    let state = state(Arc::new(AtomicU8::new(UP)));
    let partner = PartnerId::new("acme").unwrap();
    let reference = CredentialRef::parse(Purpose::HttpSignatureKey, "key-1").unwrap();
    state
        .metrics
        .record_decision(&decision(Outcome::Accepted, None, &partner, &reference));
    let (status, content_type, body) = get(&state, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        content_type.as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(body.contains("auth_decisions_total"), "{body}");
    check_grammar(&body);
}

#[tokio::test]
async fn count_in_flight_holds_the_gauge_during_a_request() {
    let metrics = Arc::new(Metrics::new());
    let seen = Arc::new(std::sync::Mutex::new(String::new()));
    let (m, s) = (metrics.clone(), seen.clone());
    let app = axum::Router::new()
        .route(
            "/work",
            axum::routing::get(move || async move {
                *s.lock().unwrap() = m.encode();
                "done"
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            metrics.clone(),
            ops::count_in_flight,
        ));
    let response = app
        .oneshot(Request::get("/work").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(seen.lock().unwrap().contains("auth_requests_in_flight 1"));
    assert!(metrics.encode().contains("auth_requests_in_flight 0"));
}
