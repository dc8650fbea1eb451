//! `loadgen`: the project's open-loop load generator on the command line. Replays pre-signed
//! requests against a 127.0.0.1 target at a constant rate (or searches for the saturating rate)
//! and prints a JSON report on stdout. See `benches/LOAD.md`.
#![forbid(unsafe_code)]

use clap::Parser;
use partner_auth_benches::load::{
    self, Plan, SaturationSettings, Settings, measure, requests_from_jsonl,
};
use serde::Serialize;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Open-loop HTTP load generator for loopback targets (latency from intended send times).
#[derive(Parser, Debug)]
#[command(name = "loadgen")]
struct Args {
    /// Target, `http://127.0.0.1:PORT/path`; the path is used by requests that give none.
    #[arg(long)]
    url: String,
    /// Pre-built requests, one JSON object per line:
    /// `{"method","path","headers":[[name,value],...],"body" | "body_base64"}`.
    #[arg(long)]
    requests: PathBuf,
    /// Offered rate in requests per second (the start rate with --saturate).
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Seconds of scheduled requests (the half-rate run's length with --saturate), at most 60.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Keep-alive connections, at most 256.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Status that counts as success.
    #[arg(long, default_value_t = 200)]
    expected_status: u16,
    /// Seconds before an unanswered request counts as timed out, at most 30.
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
    /// Search for the highest sustained rate, then run at half of it.
    #[arg(long)]
    saturate: bool,
    /// Highest rate the search tries.
    #[arg(long, default_value_t = 200_000)]
    max_rate: u32,
    /// Seconds per search step.
    #[arg(long, default_value_t = 3.0)]
    step_duration: f64,
    /// Bound on the search's time in seconds, at most 600.
    #[arg(long, default_value_t = 120.0)]
    search_budget: f64,
    /// Report this process's peak RSS (VmHWM) after the run, e.g. the server's PID.
    #[arg(long)]
    pid: Option<u32>,
    /// Also measure the bare RSA-2048 verify rate (1 s, before the run) for comparison.
    #[arg(long)]
    rsa_baseline: bool,
    /// Runtime worker threads for the generator (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

/// Everything printed, as one JSON object.
#[derive(Serialize)]
struct Output {
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<load::LoadReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    saturation: Option<load::SaturationReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    peak_rss_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rsa_verify_rate: Option<measure::RsaVerifyRate>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match execute(&args) {
        Ok(output) => match serde_json::to_string_pretty(&output) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&format!("cannot encode the report: {e}")),
        },
        Err(message) => fail(&message),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("loadgen: {message}");
    ExitCode::FAILURE
}

fn execute(args: &Args) -> Result<Output, String> {
    let duration = seconds(args.duration, "--duration")?;
    let settings = Settings {
        rate: args.rate,
        duration,
        connections: args.connections,
        expected_status: args.expected_status,
        request_timeout: seconds(args.timeout, "--timeout")?,
    };
    let file = std::fs::File::open(&args.requests)
        .map_err(|e| format!("cannot open {}: {e}", args.requests.display()))?;
    let specs = requests_from_jsonl(BufReader::new(file)).map_err(|e| e.to_string())?;
    let plan = Plan::new(&args.url, &specs, &settings).map_err(|e| e.to_string())?;
    if let Some(pid) = args.pid {
        // Fail now rather than after a long run.
        measure::peak_rss_bytes(pid).map_err(|e| e.to_string())?;
    }

    let rsa_verify_rate = if args.rsa_baseline {
        Some(measure::rsa_verify_rate(Duration::from_secs(1)).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        if threads == 0 || threads > 64 {
            return Err("--threads must be between 1 and 64".into());
        }
        runtime.worker_threads(threads);
    }
    let runtime = runtime
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let (run, saturation) = if args.saturate {
        let search = SaturationSettings {
            start_rate: args.rate,
            max_rate: args.max_rate,
            step_duration: seconds(args.step_duration, "--step-duration")?,
            time_budget: seconds(args.search_budget, "--search-budget")?,
            ..SaturationSettings::default()
        };
        let report = runtime
            .block_on(load::saturate(&plan, &search))
            .map_err(|e| e.to_string())?;
        (None, Some(report))
    } else {
        (
            Some(
                runtime
                    .block_on(load::run(&plan))
                    .map_err(|e| e.to_string())?,
            ),
            None,
        )
    };
    let peak_rss_bytes = match args.pid {
        Some(pid) => Some(measure::peak_rss_bytes(pid).map_err(|e| e.to_string())?),
        None => None,
    };
    Ok(Output {
        run,
        saturation,
        peak_rss_bytes,
        rsa_verify_rate,
    })
}

/// A positive, finite number of seconds (bounds beyond that are the plan's to check).
fn seconds(value: f64, flag: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{flag} must be a positive number of seconds"))
}
