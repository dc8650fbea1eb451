//! `load_scenario`: issue #10's load acceptance end to end. Seeds a fresh registry (100,000 API
//! keys, 10,000 public keys), starts the release `auth-verify serve` on a free 127.0.0.1 port,
//! measures every case against `/healthz` of the same server, and writes `report.json` and
//! `report.md`. Run it through `cargo xtask load`; the method is in `benches/LOAD.md`.
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

use clap::Parser;
use partner_auth_benches::load::measure;
use partner_auth_benches::load::scenario::{
    self, Case, CaseResult, ScenarioReport, SearchSettings, SeedCounts,
};
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// Issue #10's load scenario against the real service binary (127.0.0.1 only).
#[derive(Parser, Debug)]
#[command(name = "load_scenario")]
struct Args {
    /// The release `auth-verify` binary to start.
    #[arg(long)]
    server_bin: PathBuf,
    /// Where `report.json`, `report.md`, the server log and its metrics go.
    #[arg(long, default_value = "target/load")]
    out: PathBuf,
    /// Runtime worker threads of the generator (it shares the cores with the server).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Keep-alive connections per run.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds per search step.
    #[arg(long, default_value_t = 2.0)]
    step_duration: f64,
    /// Seconds of the run at half the saturating rate.
    #[arg(long, default_value_t = 5.0)]
    half_rate_duration: f64,
    /// Bound on each case's search, seconds.
    #[arg(long, default_value_t = 40.0)]
    budget_per_case: f64,
    /// API keys registered.
    #[arg(long, default_value_t = 100_000)]
    api_keys: usize,
    /// Public keys registered (RSA-2048 ones included).
    #[arg(long, default_value_t = 10_000)]
    public_keys: usize,
    /// Measure only these cases (the baseline is always measured first and last); for
    /// profiling one path. The goals are judged on what was measured.
    #[arg(long, value_delimiter = ',')]
    only: Vec<scenario::Case>,
    /// How many of the public keys are RSA-2048.
    #[arg(long, default_value_t = 5)]
    rsa_keys: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match execute(&args) {
        Ok(report) => {
            println!("{}", report.to_markdown());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("load_scenario: {message}");
            ExitCode::FAILURE
        }
    }
}

fn seconds(value: f64, flag: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{flag} must be a positive number of seconds"))
}

fn execute(args: &Args) -> Result<ScenarioReport, String> {
    if args.threads == 0 || args.threads > 64 {
        return Err("--threads must be between 1 and 64".into());
    }
    let search = SearchSettings {
        connections: args.connections,
        step_duration: seconds(args.step_duration, "--step-duration")?,
        half_rate_duration: seconds(args.half_rate_duration, "--half-rate-duration")?,
        budget_per_case: seconds(args.budget_per_case, "--budget-per-case")?,
        ..SearchSettings::default()
    };
    let counts = SeedCounts {
        api_keys: args.api_keys,
        public_keys: args.public_keys,
        rsa_keys: args.rsa_keys.min(args.public_keys),
        ..SeedCounts::default()
    };
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let started_at = rfc3339_now();
    let load_average_before = load_average();

    eprintln!("measuring the bare RSA-2048 verify rate (1 s)");
    let rsa_verify = measure::rsa_verify_rate(Duration::from_secs(1)).map_err(|e| e.to_string())?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    // On the same disk as the report, so the service's writes (usage, audit) cost what they
    // would in a real data directory.
    let data = tempfile::Builder::new()
        .prefix("data-")
        .tempdir_in(&args.out)
        .map_err(|e| format!("cannot create the data directory: {e}"))?;
    eprintln!(
        "seeding {} API keys and {} public keys into {}",
        counts.api_keys,
        counts.public_keys,
        data.path().display()
    );
    // The store commits each insert with an fsync (synchronous = FULL), about 3 ms on this
    // disk: 110,000 of them would take minutes. Seeding on tmpfs and copying the finished
    // files gives the same records in seconds.
    let staging = Path::new("/dev/shm");
    let staging = if staging.is_dir() {
        Some(
            tempfile::Builder::new()
                .prefix("partner-auth-load-")
                .tempdir_in(staging)
                .map_err(|e| format!("cannot create a staging directory: {e}"))?,
        )
    } else {
        None
    };
    let seed_dir = staging.as_ref().map_or(data.path(), |s| s.path());
    let seeded = runtime
        .block_on(scenario::seed(seed_dir, &counts))
        .map_err(|e| e.to_string())?;
    if let Some(staging) = &staging {
        copy_files(staging.path(), data.path())?;
    }
    drop(staging);
    eprintln!("seeded in {:.1} s", seeded.timings.total_s);

    let mut server = Server::start(&args.server_bin, data.path(), &args.out)?;
    let base = format!("http://{}", server.addr);
    let mut cases: Vec<CaseResult> = Vec::new();
    let outcome = runtime.block_on(async {
        let mut baseline_start = 2_000;
        let baselines = [Case::Unauthenticated, Case::PublicForwardAuth];
        let selected = Case::ALL
            .into_iter()
            .filter(|c| args.only.is_empty() || baselines.contains(c) || args.only.contains(c));
        for case in selected.chain(baselines) {
            let first = cases.first().and_then(|c| c.saturating_rate);
            let start = match (case, first) {
                (Case::Unauthenticated | Case::PublicForwardAuth, _) => baseline_start,
                (Case::Rfc9421Rsa2048, _) => (rsa_verify.machine_per_s / 4.0) as u32,
                (Case::Rfc9421Ed25519, Some(b)) => b / 4,
                (_, Some(b)) => b / 2,
                (_, None) => 1_000,
            };
            eprintln!("{}: searching from {start} req/s", case.label());
            let t = Instant::now();
            let mut result = scenario::measure_case(
                &base,
                &seeded,
                case,
                start.max(1),
                &search,
                Some(server.pid()),
            )
            .await
            .map_err(|e| e.to_string())?;
            result.peak_rss_after_bytes = measure::peak_rss_bytes(server.pid()).ok();
            eprintln!(
                "{}: saturating {:?} req/s, p99 at half {:?} us ({:.0} s)",
                case.label(),
                result.saturating_rate,
                result.half_rate.as_ref().map(|h| h.latency.p99_us),
                t.elapsed().as_secs_f64()
            );
            if let (Case::Unauthenticated, Some(b)) = (case, result.saturating_rate) {
                baseline_start = b / 2;
            }
            cases.push(result);
        }
        Ok::<(), String>(())
    });
    let peak_rss_bytes = measure::peak_rss_bytes(server.pid()).ok();
    if let Ok(metrics) = fetch(server.addr, "/metrics") {
        let _ = std::fs::write(args.out.join("metrics.txt"), metrics);
    }
    server.stop();
    outcome?;

    let best_of = |case: Case| {
        cases
            .iter()
            .filter(|c| c.case == case)
            .filter_map(|c| c.saturating_rate)
            .max()
    };
    let baseline_rate = best_of(Case::Unauthenticated);
    let forward_baseline_rate = best_of(Case::PublicForwardAuth);
    let mut report = ScenarioReport {
        started_at,
        seed: counts,
        seed_timings: seeded.timings.clone(),
        search,
        generator_threads: args.threads,
        cores: rsa_verify.cores,
        load_average_before,
        rsa_verify,
        cases,
        baseline_rate,
        forward_baseline_rate,
        peak_rss_bytes,
        goals: Vec::new(),
    };
    report.judge();
    let json = serde_json::to_string_pretty(&report)
        .map_err(|e| format!("cannot encode the report: {e}"))?;
    write(&args.out.join("report.json"), &json)?;
    write(&args.out.join("report.md"), &report.to_markdown())?;
    Ok(report)
}

/// Copies the regular files of `from` into `to` (permissions included: the master key stays
/// 0600).
fn copy_files(from: &Path, to: &Path) -> Result<(), String> {
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", from.display()))?;
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::copy(entry.path(), to.join(entry.file_name()))
                .map_err(|e| format!("cannot copy {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The running service; stopped (SIGTERM, then killed) when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts `auth-verify serve` on a free loopback port with `data_dir` and waits until
    /// `/healthz` answers.
    fn start(bin: &Path, data_dir: &Path, out: &Path) -> Result<Self, String> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("cannot find a free port: {e}"))?
            .port();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let config = out.join("server.toml");
        std::fs::write(&config, scenario::SERVER_CONFIG)
            .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
        let log = std::fs::File::create(out.join("server.log"))
            .map_err(|e| format!("cannot create the server log: {e}"))?;
        let child = Command::new(bin)
            .arg("serve")
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--config")
            .arg(&config)
            // Only what the flags say: no configuration or key from the caller's environment.
            .env_remove("AUTH_VERIFY_CONFIG")
            .env_remove("AUTH_VERIFY_MASTER_KEY")
            .env_remove("AUTH_VERIFY_MASTER_KEY_FILE")
            .env("AUTH_VERIFY_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut server = Self { child, addr };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if fetch(addr, "/healthz").is_ok_and(|r| r.starts_with("HTTP/1.1 200")) {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "the service exited at start ({status}); see {}",
                    out.join("server.log").display()
                ));
            }
            if Instant::now() > deadline {
                return Err("the service did not answer /healthz within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks for a graceful shutdown, and kills it if that takes over 10 s.
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One plain HTTP/1.1 GET, the whole answer as text (status line first).
fn fetch(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

/// The 1-minute load average (how busy the machine was with other work).
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    auth_core::time::UnixTime::from_secs(secs).to_rfc3339()
}
