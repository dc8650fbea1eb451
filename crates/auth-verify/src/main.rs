//! The `auth-verify` binary: parses the command line (flags over environment over the TOML
//! file), sets up logging, and runs one command: `serve`, `proxy`, `rekey`, `audit verify` or
//! `openapi`.

use auth_verify::app::App;
use auth_verify::config::{Config, LogFormat, Overrides};
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "auth-verify",
    version,
    about = "The partner-auth verification service"
)]
struct Cli {
    /// A TOML configuration file.
    #[arg(long, global = true, env = "AUTH_VERIFY_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Common {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "AUTH_VERIFY_LISTEN")]
    listen: Option<SocketAddr>,
    /// Data directory (default ./data).
    #[arg(long, env = "AUTH_VERIFY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// File holding the master key (default <data-dir>/master.key, created on first start).
    #[arg(long, env = "AUTH_VERIFY_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "AUTH_VERIFY_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
}

impl Common {
    fn overrides(&self) -> Overrides {
        Overrides {
            listen: self.listen,
            data_dir: self.data_dir.clone(),
            master_key_file: self.master_key_file.clone(),
            log_format: self.log_format,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: admin API, token endpoints, /v1/verify, forward-auth, metrics.
    Serve(Common),
    /// Verify every request inline (body included) and forward accepted ones to an upstream.
    Proxy {
        #[command(flatten)]
        common: Common,
        /// Where accepted requests go (http://127.0.0.1:9000).
        #[arg(long)]
        upstream: String,
    },
    /// Re-encrypt every stored secret under a new master key (the service must be stopped).
    Rekey {
        #[command(flatten)]
        common: Common,
        /// File holding the new master key (base64 of 32 bytes); use `--generate` to create it.
        #[arg(long)]
        new_master_key_file: PathBuf,
        /// Create the new key file (mode 0600) instead of reading it.
        #[arg(long)]
        generate: bool,
    },
    /// Audit log tools.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print the OpenAPI 3.1 document.
    Openapi,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check an audit log's hash chain and signed checkpoints offline; names the first broken
    /// entry.
    Verify {
        /// The log (default <data-dir>/audit.jsonl).
        path: PathBuf,
        /// The service's public key file (default service.pub next to the log).
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn load(cli_config: &Option<PathBuf>, common: &Common) -> Result<Config, String> {
    let config =
        Config::load(cli_config.as_deref(), &common.overrides()).map_err(|e| e.to_string())?;
    init_logging(config.log_format);
    Ok(config)
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    match &cli.command {
        Command::Serve(common) => {
            let config = load(&cli.config, common)?;
            serve(config).await
        }
        Command::Proxy { common, upstream } => {
            let config = load(&cli.config, common)?;
            proxy(config, upstream).await
        }
        Command::Rekey {
            common,
            new_master_key_file,
            generate,
        } => {
            let config = load(&cli.config, common)?;
            let report = auth_verify::app::rekey_data_dir(&config, new_master_key_file, *generate)
                .await
                .map_err(|e| e.to_string())?;
            println!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(AuditCommand::Verify { path, public_key }) => {
            let key = match public_key {
                Some(p) => Some(std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?),
                None => None,
            };
            let report = auth_verify::audit::verify_file(path, key.as_deref());
            println!("{report}");
            Ok(if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Openapi => {
            println!("{}", auth_verify::openapi::document());
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(config: Config) -> Result<ExitCode, String> {
    let listen = config.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let app = App::build(config).await.map_err(|e| e.to_string())?;
    announce(&app, local).await;
    app.serve(listener, shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

async fn proxy(config: Config, upstream: &str) -> Result<ExitCode, String> {
    let listen = config.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let app = App::build(config)
        .await
        .map_err(|e| e.to_string())?
        .into_proxy(upstream)
        .map_err(|e| e.to_string())?;
    tracing::info!(%local, upstream, "auth-verify proxy listening");
    app.serve(listener, shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

/// Tells the operator where the service is and how to enrol the first admin.
async fn announce(app: &App, local: SocketAddr) {
    tracing::info!(%local, data_dir = %app.state.config.data_dir.display(), "auth-verify listening");
    let admins = app
        .state
        .store
        .admins()
        .await
        .map(|a| a.keys.len())
        .unwrap_or(1);
    if admins == 0 {
        tracing::warn!(
            "no admin is enrolled yet: the first request to /admin signed (RFC 9421, ed25519, \
             keyid = the key in Actyx text form) with an admin key enrols that key (trust on \
             first use). Do it now, before anyone else can reach http://{local}/admin; \
             README section \"Walkthrough\" shows how with openssl and curl \
             (scripts/admin-request.sh)."
        );
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("AUTH_VERIFY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
