//! Assembly: opens the store, checks the master key, builds the resolver (registry under a
//! cache), the layers (admin, protected API, sessions), the audit log and metrics, and the one
//! router that serves admin, token, verification, forward-auth and operations endpoints.
//! `serve` runs it until a shutdown signal, finishing in-flight requests.

use auth_core::apikey::KeyPrefix;
use auth_core::time::UnixTime;
use auth_http::clock::{Clock, SystemClock};
use auth_http::server::{
    AuthConfig, AuthLayer, CachingResolver, MemoryReplayStore, Observer, ServeConfig,
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
    pub audit: Arc<crate::audit::AuditLog>,
    /// Metrics.
    pub metrics: Arc<crate::ops::Metrics>,
    /// Readiness (store ping, draining).
    pub health: Arc<crate::ops::Health>,
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
        self.record_admin(&admin.key, action, Some(subject), None);
    }

    /// Records a refused admin request.
    pub fn audit_admin_refused(&self, key: &str) {
        self.record_admin(key, "admin.refused", None, Some("unauthorized"));
    }

    fn record_admin(&self, actor: &str, action: &str, target: Option<&str>, code: Option<&str>) {
        use crate::audit::{AdminOutcome, AdminRecord, AuditEvent};
        let record = AdminRecord {
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.filter(|t| !t.is_empty()).map(str::to_owned),
            outcome: if code.is_none() {
                AdminOutcome::Succeeded
            } else {
                AdminOutcome::Failed
            },
            code: code.map(str::to_owned),
        };
        if let Err(e) = self.audit.record(AuditEvent::Admin(record)) {
            tracing::error!(error = %e, action, "could not record an admin change in the audit log");
        }
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
        // The store creates the data directory (mode 0700) if it is missing.
        let store: Arc<dyn Store> = Arc::new(
            crate::store::sqlite::SqliteStore::open(&config.data_dir, deadline)
                .map_err(|e| StartError::Setup(e.to_string()))?,
        );
        let master = Arc::new(open_master_key(&config, &*store).await?);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let registry = Registry::new(store.clone(), master.clone());
        let resolver = Arc::new(CachingResolver::with_capacity(
            registry,
            Duration::from_secs(60),
            config.cache_entries,
        ));
        let replay = Arc::new(MemoryReplayStore::new(1_000_000, 100_000));
        let usage = Arc::new(UsageRecorder::new(store.clone(), clock.clone(), 100_000));
        let metrics = Arc::new(crate::ops::Metrics::new());
        {
            let resolver = resolver.clone();
            metrics.track_cache(move || resolver.stats());
        }
        let audit_config = crate::audit::AuditConfig {
            checkpoint_every: config.audit.checkpoint_every.max(1),
            checkpoint_interval: Duration::from_millis(
                config.audit.checkpoint_interval_ms.max(100),
            ),
            ..crate::audit::AuditConfig::default()
        };
        let (audit, report) = crate::audit::AuditLog::open(&config.data_dir, audit_config)
            .map_err(|e| StartError::Setup(e.to_string()))?;
        if report.created_key {
            tracing::info!(fingerprint = %report.key_fingerprint, path = %config.data_dir.join("service.pub").display(),
                "generated the service key that signs audit checkpoints");
        }
        if let Some((offset, len)) = report.torn_tail {
            tracing::warn!(
                offset,
                len,
                "the audit log ended in a torn entry (a crash); it is kept and a recovery entry names it"
            );
        }
        let audit = Arc::new(audit);
        let observer: Arc<dyn Observer> = Arc::new(
            crate::ops::ObserverFanout::new()
                .with(usage.clone())
                .with(Arc::new(crate::ops::MetricsObserver(metrics.clone())))
                .with(Arc::new(crate::audit::AuditObserver::new(audit.clone()))),
        );
        let health = {
            let store = store.clone();
            Arc::new(crate::ops::Health::new(
                move || {
                    let store = store.clone();
                    async move { store.ping().await }
                },
                crate::ops::DEFAULT_PING_DEADLINE,
            ))
        };
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
            health,
            tokens,
            session_layer,
        });
        gateway_config(&state)?;
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
        let draining = self.state.health.clone();
        let result = auth_http::server::serve_until(
            listener,
            service,
            serve_config,
            async move {
                shutdown.await;
                draining.start_draining();
            },
            grace,
        )
        .await;
        flusher.abort();
        if let Err(e) = self.usage.flush().await {
            tracing::warn!(error = %e, "could not write the last usage counts");
        }
        if let Err(e) = self.state.audit.shutdown().await {
            tracing::error!(error = %e, "could not close the audit log cleanly");
        }
        result
    }
}

/// Turns auth-http's [`auth_http::server::PeerAddr`] into axum's `ConnectInfo`, which the
/// forward-auth handlers read.
fn peer_info(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(
        |mut req: axum::extract::Request, next: axum::middleware::Next| async move {
            if let Some(peer) = req
                .extensions()
                .get::<auth_http::server::PeerAddr>()
                .copied()
            {
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
        .merge(ops_routes(&state))
        .merge(crate::openapi::router())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
}

/// The gateway settings from the configuration; admins (signed `/v1/verify` calls) may ask
/// for explanations of any credential.
fn gateway_config(state: &Arc<AppState>) -> Result<crate::gateway::GatewayConfig, StartError> {
    let trusted_proxies = state
        .config
        .gateway
        .trusted_proxies
        .iter()
        .map(|text| {
            text.parse::<crate::gateway::Network>()
                .map_err(|e| StartError::Config(format!("gateway.trusted_proxies: {text:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(crate::gateway::GatewayConfig {
        trusted_proxies,
        public_origin: state.config.auth.public_origin.clone(),
        explain: Arc::new(crate::admin::auth::AdminExplain::new(
            state.store.clone(),
            state.admin_layer.clone(),
        )),
        ..crate::gateway::GatewayConfig::default()
    })
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
        let upstream = crate::gateway::ProxyConfig::new(upstream)
            .map_err(|e| StartError::Config(format!("--upstream: {e}")))?;
        self.router = crate::gateway::proxy_router(self.state.api_layer.clone(), upstream, config)
            .merge(ops_routes(&self.state));
        Ok(self)
    }
}

/// `/healthz`, `/readyz`, `/metrics`.
fn ops_routes(state: &AppState) -> Router {
    crate::ops::router(crate::ops::OpsState {
        health: state.health.clone(),
        metrics: state.metrics.clone(),
    })
}

/// The master key from the configured file, the environment or the data directory (generated
/// there on a first start), checked against the store: a wrong key stops the start before
/// anything is written.
async fn open_master_key(config: &Config, store: &dyn Store) -> Result<MasterKey, StartError> {
    let (key, origin) =
        MasterKey::load_from_environment(config.master_key_file.as_deref(), &config.data_dir)
            .map_err(|e| StartError::WrongMasterKey(e.to_string()))?;
    if let crate::sealed::KeyOrigin::Generated(path) = &origin {
        tracing::warn!(path = %path.display(), key_id = key.id(),
            "generated a master key (mode 0600); back it up: without it the stored secrets cannot be opened");
    }
    key.check_against(store)
        .await
        .map_err(|e| StartError::WrongMasterKey(e.to_string()))?;
    Ok(key)
}

/// `auth-verify rekey`: re-seals every stored secret under the key in `new_file` (created
/// first, mode 0600, when `generate`). The service must be stopped. Answers a summary.
pub async fn rekey_data_dir(
    config: &Config,
    new_file: &std::path::Path,
    generate: bool,
) -> Result<String, StartError> {
    let store = crate::store::sqlite::SqliteStore::open(&config.data_dir, config.store_deadline())
        .map_err(|e| StartError::Setup(e.to_string()))?;
    let old = open_master_key(config, &store).await?;
    let new = if generate {
        let key = MasterKey::generate().map_err(|e| StartError::Setup(e.to_string()))?;
        write_key_file(new_file, &key.to_base64())?;
        key
    } else {
        let text = std::fs::read_to_string(new_file)
            .map_err(|e| StartError::Setup(format!("cannot read {}: {e}", new_file.display())))?;
        MasterKey::from_base64(text.trim()).map_err(|e| StartError::Setup(e.to_string()))?
    };
    let count = crate::sealed::rekey(&store, &old, &new)
        .await
        .map_err(|e| StartError::Setup(format!("rekey failed, nothing was changed: {e}")))?;
    Ok(format!(
        "re-sealed {count} values from key {} to key {}; start the service with \
         --master-key-file {} from now on (the old key no longer opens anything)",
        old.id(),
        new.id(),
        new_file.display()
    ))
}

/// Writes a new key file: created, never overwritten or followed, mode 0600.
fn write_key_file(path: &std::path::Path, text: &str) -> Result<(), StartError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| StartError::Setup(format!("cannot create {}: {e}", path.display())))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| StartError::Setup(format!("cannot write {}: {e}", path.display())))
}
