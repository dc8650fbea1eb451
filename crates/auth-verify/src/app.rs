//! Assembly: opens the store, checks the master key, builds the resolver (registry under a
//! cache), the layers (admin, protected API, sessions), the audit log and metrics, and the one
//! router that serves admin, token, verification, forward-auth and operations endpoints.
//! `serve` runs it until a shutdown signal, finishing in-flight requests.

use auth_core::apikey::KeyPrefix;
use auth_core::time::UnixTime;
use auth_http::clock::{Clock, SystemClock};
use auth_http::server::{
    AuthConfig, AuthLayer, CachingResolver, MemoryReplayStore, Observer,
    ServeConfig,
};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::admin::auth::AdminIdentity;
use crate::config::Config;
use crate::registry::{Registry, UsageRecorder};
use crate::sealed::MasterKey;
use crate::store::{CredentialRecord, Store};

/// Everything a handler needs.
pub struct AppState {
    /// The configuration it started with.
    pub config: Config,
    /// The registry.
    pub store: Arc<dyn Store>,
    /// Seals and opens secrets at rest.
    pub master: Arc<MasterKey>,
    /// Registry lookups, cached; invalidated by every admin change.
    pub resolver: Arc<CachingResolver<Registry>>,
    /// Checks admin signatures.
    pub admin_layer: AuthLayer,
    /// Verifies requests to the protected API (forward-auth, `/v1/verify`, proxy).
    pub api_layer: AuthLayer,
    /// Issues API keys with this prefix.
    pub key_prefix: KeyPrefix,
    /// The operating system's generator.
    pub rng: ring::rand::SystemRandom,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The audit log.
    pub audit: crate::audit::AuditLog,
    /// Metrics.
    pub metrics: Arc<crate::ops::Metrics>,
    /// Token issuers and verifiers.
    pub tokens: crate::tokens::Tokens,
    /// Authenticates partners at the session endpoint.
    pub session_layer: AuthLayer,
}

impl AppState {
    /// Now.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Drops a changed credential (and its aliases) from the cache.
    pub fn invalidate(&self, record: &CredentialRecord) {
        self.resolver.invalidate(&record.reference);
        for alias in &record.aliases {
            self.resolver.invalidate(alias);
        }
    }

    /// Drops every cached lookup (a partner's status changed).
    pub fn invalidate_all(&self) {
        self.resolver.invalidate_all();
    }

    /// Records an admin change in the audit log (never a secret: `subject` is a reference).
    pub fn audit_admin(&self, admin: &AdminIdentity, action: &str, subject: &str) {
        self.audit.record_admin(&admin.key, action, subject, true);
    }

    /// Records a refused admin request.
    pub fn audit_admin_refused(&self, key: &str) {
        self.audit.record_admin(key, "admin.refused", "", false);
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory, store or a key file could not be opened.
    #[error("{0}")]
    Setup(String),
    /// The master key does not open this data directory's secrets.
    #[error("{0}")]
    WrongMasterKey(String),
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// A built service, ready to serve.
pub struct App {
    /// Shared state.
    pub state: Arc<AppState>,
    router: Router,
    usage: Arc<UsageRecorder>,
}

impl App {
    /// Opens everything under `config.data_dir` and builds the router. Logs what it created.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let deadline = config.store_deadline();
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            StartError::Setup(format!(
                "cannot create the data directory {}: {e}",
                config.data_dir.display()
            ))
        })?;
        let store: Arc<dyn Store> = Arc::new(
            crate::store::sqlite::SqliteStore::open(&config.data_dir, deadline)
                .await
                .map_err(|e| StartError::Setup(e.to_string()))?,
        );
        let master = crate::sealed::load_master_key(&config, &*store)
            .await
            .map_err(|e| StartError::WrongMasterKey(e.to_string()))?;
        let master = Arc::new(master);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let registry = Registry::new(store.clone(), master.clone());
        let resolver = Arc::new(CachingResolver::with_capacity(
            registry,
            Duration::from_secs(60),
            config.cache_entries,
        ));
        let replay = Arc::new(MemoryReplayStore::new(1_000_000, 100_000));
        let usage = Arc::new(UsageRecorder::new(store.clone()));
        let metrics = Arc::new(crate::ops::Metrics::new());
        let audit = crate::audit::AuditLog::open(&config.data_dir, &config.audit)
            .await
            .map_err(|e| StartError::Setup(e.to_string()))?;
        let observer: Arc<dyn Observer> = Arc::new(crate::ops::ObserverFanout::new(vec![
            usage.clone() as Arc<dyn Observer>,
            metrics.observer(),
            audit.observer(),
        ]));
        let rng = ring::rand::SystemRandom::new();
        let tokens = crate::tokens::Tokens::build(&*store, &master, &config.tokens, &rng)
            .await
            .map_err(|e| StartError::Setup(e.to_string()))?;
        let auth_config: AuthConfig = config
            .auth
            .build(&tokens)
            .map_err(|e| StartError::Config(e.to_string()))?;
        let key_prefix = auth_config.api_key_prefix.clone();
        let session_layer = crate::tokens::session_layer(
            key_prefix.clone(),
            resolver.clone(),
            replay.clone(),
            clock.clone(),
        )
        .with_observer(observer.clone());
        let api_layer = AuthLayer::with_clock(auth_config, resolver.clone(), replay, clock.clone())
            .with_observer(observer);
        let admin_layer =
            crate::admin::auth::admin_layer().map_err(|e| StartError::Config(e.to_string()))?;
        let state = Arc::new(AppState {
            config,
            store,
            master,
            resolver,
            admin_layer,
            api_layer,
            key_prefix,
            rng,
            clock,
            audit,
            metrics,
            tokens,
            session_layer,
        });
        let router = router(state.clone());
        Ok(Self {
            state,
            router,
            usage,
        })
    }

    /// The router (tests serve it themselves).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Serves on `listener` until `shutdown` completes, then finishes in-flight requests,
    /// flushes usage counts and the audit log.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let limits = &self.state.config.limits;
        let serve_config = ServeConfig {
            max_connections: limits.max_connections,
            ..ServeConfig::default()
        };
        let grace = Duration::from_millis(limits.shutdown_grace_ms);
        let flusher = self.usage.clone().spawn_flusher(Duration::from_secs(2));
        let service = peer_info(self.router.clone());
        let draining = self.state.metrics.clone();
        let result = auth_http::server::serve_until(
            listener,
            service,
            serve_config,
            async move {
                shutdown.await;
                draining.set_draining();
            },
            grace,
        )
        .await;
        flusher.abort();
        self.usage.flush().await;
        self.state.audit.shutdown().await;
        result
    }
}

/// Turns auth-http's [`auth_http::server::PeerAddr`] into axum's `ConnectInfo`, which the
/// forward-auth handlers read.
fn peer_info(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(
        |mut req: axum::extract::Request, next: axum::middleware::Next| async move {
            if let Some(peer) = req.extensions().get::<auth_http::server::PeerAddr>().copied() {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo::<SocketAddr>(peer.0));
            }
            next.run(req).await
        },
    ))
}

/// The whole service's routes.
pub fn router(state: Arc<AppState>) -> Router {
    let timeout = state.config.limits.request_timeout();
    Router::new()
        .merge(crate::admin::router(state.clone()))
        .merge(crate::tokens::router(state.clone()))
        .merge(gateway_routes(&state))
        .merge(crate::ops::router(state.clone()))
        .merge(crate::openapi::router())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
}

/// The gateway settings from the configuration.
fn gateway_config(state: &AppState) -> Result<crate::gateway::GatewayConfig, StartError> {
    crate::gateway::GatewayConfig::from_settings(
        &state.config.gateway,
        state.config.auth.public_origin.clone(),
    )
    .map_err(|e| StartError::Config(e.to_string()))
}

/// `/v1/verify` and forward-auth over the protected API's layer.
fn gateway_routes(state: &Arc<AppState>) -> Router {
    match gateway_config(state) {
        Ok(config) => crate::gateway::router(state.api_layer.clone(), config),
        // Validated in `App::build`; an empty router here would only hide the endpoints.
        Err(_) => Router::new(),
    }
}

impl App {
    /// The same service as an inline proxy: every request is verified (body included) and
    /// forwarded to `upstream` with the `X-Auth-*` headers; operations endpoints stay.
    pub fn into_proxy(mut self, upstream: &str) -> Result<Self, StartError> {
        let config = gateway_config(&self.state)?;
        self.router = crate::gateway::proxy_router(self.state.api_layer.clone(), upstream, config)
            .map_err(|e| StartError::Config(e.to_string()))?
            .merge(crate::ops::router(self.state.clone()));
        Ok(self)
    }
}
