//! The service's operational surface: Prometheus [`Metrics`] (decisions by scheme and code,
//! decision latency, resolver cache hits and misses, store errors, requests in flight), the
//! [`Health`] state behind `/healthz` and `/readyz`, the [`router`] that serves those and
//! `/metrics`, and an [`ObserverFanout`] that hands one decision to several observers.

use auth_http::BoxFuture;
use auth_http::server::{CacheStats, Decision, Observer, Outcome};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Default time `/readyz` gives the store ping.
pub const DEFAULT_PING_DEADLINE: Duration = Duration::from_secs(1);

/// Labels of the decision counter. Values are stable code names, never request data, so
/// the number of series stays bounded.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    outcome: &'static str,
    scheme: &'static str,
    code: &'static str,
}

/// Where cache statistics come from (a `CachingResolver`'s `stats`).
type CacheSource = Arc<dyn Fn() -> CacheStats + Send + Sync>;

/// Reports the resolver cache's own counters on each scrape, so the hot path pays nothing
/// beyond the cache's relaxed atomic increments.
#[derive(Default)]
struct CacheCollector {
    source: RwLock<Option<CacheSource>>,
}

impl std::fmt::Debug for CacheCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheCollector")
    }
}

impl Collector for CacheCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self
            .source
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|source| source())
            .unwrap_or_default();
        for (name, help, value) in [
            (
                "auth_cache_hits",
                "Credential lookups answered from the resolver cache",
                stats.hits,
            ),
            (
                "auth_cache_misses",
                "Credential lookups passed to the store",
                stats.misses,
            ),
        ] {
            let counter = ConstCounter::new(value);
            let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        Ok(())
    }
}

/// The service's metrics. Share it with `Arc`; everything is lock-free on the request path.
pub struct Metrics {
    registry: Registry,
    decisions: Family<DecisionLabels, Counter>,
    latency: Histogram,
    store_errors: Counter,
    in_flight: Gauge,
    cache: Arc<CacheCollector>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every family. Cache counters read zero until
    /// [`Metrics::track_cache`] names their source.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "auth_decisions",
            "Verification decisions by outcome, scheme and code",
            decisions.clone(),
        );
        // 25 us to about 0.8 s: API keys decide in microseconds, RSA in a millisecond, slow
        // bodies and stores take longer.
        let latency = Histogram::new(exponential_buckets(0.000_025, 2.0, 16));
        registry.register(
            "auth_decision_latency_seconds",
            "Time spent deciding a request (body read, lookup, cryptography, replay store)",
            latency.clone(),
        );
        let store_errors = Counter::default();
        registry.register(
            "auth_store_errors",
            "Store calls that failed (requests answered 503)",
            store_errors.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "auth_requests_in_flight",
            "Requests being served now",
            in_flight.clone(),
        );
        let cache = Arc::new(CacheCollector::default());
        registry.register_collector(Box::new(cache.clone()));
        Self {
            registry,
            decisions,
            latency,
            store_errors,
            in_flight,
            cache,
        }
    }

    /// Reports `stats()` as the cache hit and miss counters, e.g.
    /// `metrics.track_cache(move || resolver.stats())` for an `Arc<CachingResolver<_>>`.
    pub fn track_cache(&self, stats: impl Fn() -> CacheStats + Send + Sync + 'static) {
        *self
            .cache
            .source
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(stats));
    }

    /// Counts one decision.
    pub fn record_decision(&self, decision: &Decision<'_>) {
        let labels = DecisionLabels {
            outcome: match decision.outcome {
                Outcome::Accepted => "accepted",
                Outcome::Rejected => "rejected",
            },
            scheme: decision.scheme.map_or("none", |s| s.as_str()),
            code: decision.code.map_or("ok", |c| c.as_str()),
        };
        self.decisions.get_or_create(&labels).inc();
        self.latency.observe(decision.latency.as_secs_f64());
        if decision.code == Some(auth_core::ErrorCode::Unavailable) {
            self.store_errors.inc();
        }
    }

    /// Counts a store failure outside the verification path (admin API, token endpoints).
    pub fn record_store_error(&self) {
        self.store_errors.inc();
    }

    /// Counts a request as in flight until the guard drops.
    pub fn in_flight(self: &Arc<Self>) -> InFlight {
        self.in_flight.inc();
        InFlight(self.clone())
    }

    /// Everything in the Prometheus text format (version 0.0.4).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an empty scrape would show a bug plainly.
        if prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Holds one request in the in-flight gauge; see [`Metrics::in_flight`].
#[derive(Debug)]
pub struct InFlight(Arc<Metrics>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.dec();
    }
}

/// Counts requests in flight: `router.layer(axum::middleware::from_fn_with_state(metrics,
/// ops::count_in_flight))`.
pub async fn count_in_flight(
    State(metrics): State<Arc<Metrics>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let _guard = metrics.in_flight();
    next.run(request).await
}

/// Feeds decisions into [`Metrics`].
#[derive(Debug, Clone)]
pub struct MetricsObserver(pub Arc<Metrics>);

impl Observer for MetricsObserver {
    fn observe(&self, decision: &Decision<'_>) {
        self.0.record_decision(decision);
    }
}

/// Hands each decision to several observers in order (audit, metrics, usage), so the layer
/// takes one.
#[derive(Default, Clone)]
pub struct ObserverFanout(Vec<Arc<dyn Observer>>);

impl std::fmt::Debug for ObserverFanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ObserverFanout({} observers)", self.0.len())
    }
}

impl ObserverFanout {
    /// No observers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `observer` after the others.
    pub fn with(mut self, observer: Arc<dyn Observer>) -> Self {
        self.0.push(observer);
        self
    }
}

impl Observer for ObserverFanout {
    fn observe(&self, decision: &Decision<'_>) {
        for observer in &self.0 {
            observer.observe(decision);
        }
    }
}

/// The store check behind `/readyz`: the lead passes `Store::ping`. Implemented for every
/// `Fn() -> impl Future<Output = Result<(), E>>`.
pub trait Ping: Send + Sync + 'static {
    /// Whether the store answers; the error is logged, never shown to the caller.
    fn ping(&self) -> BoxFuture<'_, Result<(), String>>;
}

impl<F, Fut, E> Ping for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display,
{
    fn ping(&self) -> BoxFuture<'_, Result<(), String>> {
        let fut = self();
        Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
    }
}

/// Liveness and readiness: the store ping, its deadline, and the draining flag set at
/// shutdown so load balancers stop sending before in-flight requests finish.
pub struct Health {
    ping: Box<dyn Ping>,
    deadline: Duration,
    draining: AtomicBool,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("deadline", &self.deadline)
            .field("draining", &self.is_draining())
            .finish_non_exhaustive()
    }
}

/// Why the service is not ready, as `/readyz` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    /// Shutting down.
    Draining,
    /// The store answered with an error.
    StoreUnavailable,
    /// The store did not answer within the deadline.
    StoreTimeout,
}

impl NotReady {
    /// The stable reason code in the JSON body.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draining => "draining",
            Self::StoreUnavailable => "store_unavailable",
            Self::StoreTimeout => "store_timeout",
        }
    }
}

impl Health {
    /// Ready when `ping` succeeds within `deadline` and the service is not draining.
    pub fn new(ping: impl Ping, deadline: Duration) -> Self {
        Self {
            ping: Box::new(ping),
            deadline,
            draining: AtomicBool::new(false),
        }
    }

    /// From now on `/readyz` answers 503 `draining`.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether [`Health::start_draining`] was called.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Checks readiness now.
    pub async fn ready(&self) -> Result<(), NotReady> {
        if self.is_draining() {
            return Err(NotReady::Draining);
        }
        match tokio::time::timeout(self.deadline, self.ping.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: store ping failed");
                Err(NotReady::StoreUnavailable)
            }
            Err(_) => {
                tracing::warn!(deadline = ?self.deadline, "readiness: store ping timed out");
                Err(NotReady::StoreTimeout)
            }
        }
    }
}

/// What the ops router serves.
#[derive(Debug, Clone)]
pub struct OpsState {
    /// Readiness.
    pub health: Arc<Health>,
    /// The metrics `/metrics` encodes.
    pub metrics: Arc<Metrics>,
}

/// `/healthz` (200 while the process serves), `/readyz` (200, or 503 with
/// `{"status":"not_ready","reason":...}`), `/metrics` (Prometheus text).
pub fn router(state: OpsState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn healthz() -> Response {
    json(StatusCode::OK, serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<OpsState>) -> Response {
    match state.health.ready().await {
        Ok(()) => json(StatusCode::OK, serde_json::json!({ "status": "ready" })),
        Err(reason) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "status": "not_ready", "reason": reason.as_str() }),
        ),
    }
}

async fn metrics(State(state): State<OpsState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        )],
        state.metrics.encode(),
    )
        .into_response()
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}
