//! Project automation: `cargo xtask ci` (everything CI checks, each step timed), `bench`
//! (criterion figures), `fuzz` (longer fuzzing runs) and `vectors` (lists the external vectors).
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// PyPI packages the interop tests drive (independent implementations).
const PIP_PACKAGES: &[&str] = &[
    "pyjwt",
    "cryptography",
    "http-message-signatures",
    "requests",
    "cbor2",
    "prometheus-client",
];
/// npm packages the interop tests drive.
const NPM_PACKAGES: &[&str] = &["jsonwebtoken", "jose"];
/// Seconds each fuzz target runs in `ci`.
const CI_FUZZ_SECONDS: u32 = 5;

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => bench(&args[1..]),
        Some("fuzz") => fuzz(&args[1..]),
        Some("vectors") => vectors(),
        Some("supply-chain") => supply_chain(),
        Some("load") => load(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n  ci       fmt, clippy, tests (with interop), docs, bench smoke, fuzz smoke, supply chain\n  bench    run the criterion benchmarks: cargo xtask bench [--bench NAME]... [criterion args]\n  fuzz     fuzz every target longer: cargo xtask fuzz [seconds-per-target]\n  vectors  list the external test vectors and where they come from\n  supply-chain  cargo-deny licenses, bans, sources and advisories (offline snapshot when present)\n  load     issue #10's load scenario on 127.0.0.1 (release builds; report in target/load): cargo xtask load [load_scenario args]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    // xtask/ lives directly under the workspace root. `cargo run` sets CARGO_MANIFEST_DIR for
    // the running binary; the compile-time value is only a fallback, because a build directory
    // shared between clones (CI's) would otherwise point at whichever clone built it first.
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

fn cargo() -> Command {
    let mut c = Command::new(env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")));
    c.current_dir(root());
    c
}

fn run(what: &str, cmd: &mut Command) -> Result {
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: cannot start {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status}); command: {cmd:?}"))
    }
}

fn have(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the named steps in order, timing each; stops at the first failure.
struct Steps {
    timings: Vec<(String, Duration, bool)>,
    started: Instant,
}

impl Steps {
    fn new() -> Self {
        Self {
            timings: Vec::new(),
            started: Instant::now(),
        }
    }

    fn step(&mut self, name: &str, f: impl FnOnce() -> Result) -> Result {
        println!("\n==> [{name}] starting");
        let t = Instant::now();
        let r = f();
        let took = t.elapsed();
        println!(
            "==> [{name}] {} in {:.1}s",
            if r.is_ok() { "ok" } else { "FAILED" },
            took.as_secs_f64()
        );
        self.timings.push((name.to_owned(), took, r.is_ok()));
        r
    }

    fn summary(&self) {
        println!("\n==> step timings");
        for (name, took, ok) in &self.timings {
            println!(
                "    {:<14} {:>7.1}s  {}",
                name,
                took.as_secs_f64(),
                if *ok { "ok" } else { "FAILED" }
            );
        }
        println!(
            "    {:<14} {:>7.1}s",
            "total",
            self.started.elapsed().as_secs_f64()
        );
    }
}

fn ci() -> Result {
    let mut steps = Steps::new();
    let r = ci_steps(&mut steps);
    steps.summary();
    r
}

fn ci_steps(s: &mut Steps) -> Result {
    s.step("fmt", || {
        run(
            "rustfmt check",
            cargo().args(["fmt", "--all", "--", "--check"]),
        )
    })?;
    s.step("core-purity", core_purity)?;
    s.step("clippy", || {
        run(
            "clippy",
            cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ]),
        )
    })?;
    s.step("interop-setup", interop_setup)?;
    let (python, node_path) = interop_paths();
    s.step("test", || {
        run(
            "tests",
            cargo()
                // --show-output: conformance tests print their vector counts.
                .args(["test", "--workspace", "--locked", "--", "--show-output"])
                .env("PA_INTEROP_PYTHON", &python)
                .env("PA_INTEROP_NODE_PATH", &node_path)
                // authctl's end-to-end tests start the service binary this same build made
                // (auth-verify's integration tests need it), instead of building their own.
                .env(
                    "AUTH_VERIFY_BIN",
                    target_dir().join("debug").join("auth-verify"),
                ),
        )
    })?;
    s.step("doc", || {
        run(
            "rustdoc",
            cargo()
                .args(["doc", "--workspace", "--no-deps", "--locked"])
                .env("RUSTDOCFLAGS", "-D warnings"),
        )
    })?;
    s.step("bench-smoke", || {
        // Criterion's test mode: every benchmark compiles and runs once.
        run(
            "bench smoke",
            cargo().args([
                "test",
                "--locked",
                "--package",
                "partner-auth-benches",
                "--benches",
            ]),
        )
    })?;
    s.step("fuzz-smoke", || fuzz_all(CI_FUZZ_SECONDS))?;
    s.step("supply-chain", supply_chain)?;
    Ok(())
}

/// auth-core's invariant: nothing that does IO in its dependency tree, and no clock, OS RNG or
/// IO module in its source.
fn core_purity() -> Result {
    const FORBIDDEN_CRATES: &[&str] = &["tokio", "hyper", "reqwest", "mio", "socket2"];
    const FORBIDDEN_SOURCE: &[&str] = &[
        "std::fs",
        "std::net",
        "std::env",
        "std::process",
        "SystemTime::now",
        "Instant::now",
        "OsRng",
        "thread_rng",
        "SystemRandom::new",
    ];
    let out = cargo()
        .args([
            "tree",
            "--locked",
            "-p",
            "auth-core",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let tree = String::from_utf8_lossy(&out.stdout);
    let bad: Vec<&str> = tree
        .lines()
        .filter(|l| {
            FORBIDDEN_CRATES
                .iter()
                .any(|c| l.split(' ').next() == Some(*c))
        })
        .collect();
    if !bad.is_empty() {
        return Err(format!("auth-core depends on IO crates: {bad:?}"));
    }
    let mut hits = Vec::new();
    scan_sources(
        &root().join("crates/auth-core/src"),
        FORBIDDEN_SOURCE,
        &mut hits,
    )?;
    if !hits.is_empty() {
        return Err(format!(
            "auth-core source uses IO, clocks or OS randomness:\n{}",
            hits.join("\n")
        ));
    }
    println!(
        "auth-core: {} crates in its normal tree, none of {FORBIDDEN_CRATES:?}; source clean",
        tree.lines().count()
    );
    Ok(())
}

fn scan_sources(dir: &Path, needles: &[&str], hits: &mut Vec<String>) -> Result {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            scan_sources(&path, needles, hits)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                if let Some(needle) = needles.iter().find(|needle| code.contains(*needle)) {
                    hits.push(format!("{}:{}: {needle}", path.display(), n + 1));
                }
            }
        }
    }
    Ok(())
}

fn interop_dir() -> PathBuf {
    target_dir().join("interop")
}

fn interop_paths() -> (PathBuf, PathBuf) {
    let dir = interop_dir();
    (dir.join("venv/bin/python"), dir.join("node/node_modules"))
}

/// The advisory check against the online RustSec database. Where that database cannot be
/// fetched (no network), the check is skipped and says so; advisories found still fail.
fn online_advisories() -> Result {
    let out = cargo()
        .args(["deny", "--locked", "check", "advisories"])
        .output()
        .map_err(|e| format!("cannot run cargo deny: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        println!("advisories: ok (online database)");
        return Ok(());
    }
    let unreachable = [
        "failed to fetch",
        "unable to fetch",
        "failed to open advisory database",
        "network",
        "resolve",
        "Could not resolve",
        "connect",
    ]
    .iter()
    .any(|needle| stderr.contains(needle))
        && !stderr.contains("error[vulnerability]")
        && !stderr.contains("error[unmaintained]")
        && !stderr.contains("error[yanked]");
    if unreachable {
        println!(
            "advisories: SKIPPED: no RustSec advisory database could be reached (no snapshot at \
             ../shared/advisory-db and the online database did not answer); licenses, bans and \
             sources were checked"
        );
        return Ok(());
    }
    eprintln!("{stderr}");
    Err("cargo deny advisories failed".into())
}

/// Installs the independent implementations the interop tests drive, from PyPI and npm, into
/// the target directory (reused across runs when present).
fn interop_setup() -> Result {
    let dir = interop_dir();
    let (python, node_path) = interop_paths();
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    if !python.exists() {
        run(
            "python venv",
            Command::new("python3")
                .args(["-m", "venv"])
                .arg(dir.join("venv")),
        )?;
    }
    run(
        "pip install",
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(PIP_PACKAGES),
    )?;
    let node_dir = dir.join("node");
    std::fs::create_dir_all(&node_dir)
        .map_err(|e| format!("cannot create {}: {e}", node_dir.display()))?;
    let missing: Vec<&&str> = NPM_PACKAGES
        .iter()
        .filter(|p| !node_path.join(p).join("package.json").exists())
        .collect();
    if !missing.is_empty() {
        run(
            "npm install",
            Command::new("npm")
                .current_dir(&node_dir)
                .args([
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--silent",
                    "--prefix",
                    ".",
                ])
                .args(NPM_PACKAGES),
        )?;
    }
    // Ruby's OpenSSL is the seed's own sec_key implementation; nginx and Caddy are the real
    // gateways the forward-auth tests put in front of auth-verify (all Debian packages).
    let wanted: Vec<&str> = [
        ("ruby", "ruby", "--version"),
        ("nginx", "nginx", "-v"),
        ("caddy", "caddy", "version"),
    ]
    .iter()
    .filter(|(_, bin, arg)| !have(bin, arg))
    .map(|(pkg, _, _)| *pkg)
    .collect();
    if !wanted.is_empty() {
        println!(
            "installing {} (Debian packages) for the interop and gateway tests",
            wanted.join(", ")
        );
        let apt = |args: &[&str]| -> Result {
            let mut c = Command::new("apt-get");
            c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
            // Not root: try sudo without a password prompt.
            if !is_root() {
                c = Command::new("sudo");
                c.arg("-n")
                    .arg("apt-get")
                    .args(args)
                    .env("DEBIAN_FRONTEND", "noninteractive");
            }
            run("apt-get", &mut c)
        };
        apt(&["update", "-qq"])?;
        let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
        install.extend(wanted.iter().copied());
        apt(&install)?;
    }
    if !have("openssl", "version") {
        return Err(
            "the openssl CLI is required for interop tests (apt-get install openssl)".into(),
        );
    }
    println!(
        "interop: python {} , node modules {}",
        python.display(),
        node_path.display()
    );
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn ensure_cargo_tool(binary: &str, krate: &str) -> Result {
    if cargo()
        .arg(binary.trim_start_matches("cargo-"))
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(());
    }
    println!("installing {krate} (once per machine)");
    run(
        &format!("cargo install {krate}"),
        cargo().args(["install", "--locked", krate]),
    )
}

fn fuzz_targets() -> Result<Vec<String>> {
    let manifest = std::fs::read_to_string(root().join("fuzz/Cargo.toml"))
        .map_err(|e| format!("cannot read fuzz/Cargo.toml: {e}"))?;
    Ok(manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n != "partner-auth-fuzz")
        .map(str::to_owned)
        .collect())
}

fn fuzz_command() -> Command {
    let mut c = cargo();
    c.current_dir(root().join("fuzz"))
        // Its own target dir: fuzz builds use different flags and would evict the main cache.
        .env("CARGO_TARGET_DIR", target_dir().join("fuzz"));
    c
}

fn fuzz_all(seconds: u32) -> Result {
    ensure_cargo_tool("cargo-fuzz", "cargo-fuzz")?;
    let targets = fuzz_targets()?;
    run(
        "fuzz build",
        fuzz_command().args(["fuzz", "build", "-s", "none"]),
    )?;
    for t in &targets {
        let t0 = Instant::now();
        let corpus = target_dir().join("fuzz-corpus").join(t);
        std::fs::create_dir_all(&corpus).map_err(|e| format!("cannot create corpus dir: {e}"))?;
        // New inputs go to the first directory; the committed seeds are read, never written.
        let seeds = root().join("fuzz/corpus").join(t);
        let mut cmd = fuzz_command();
        cmd.args(["fuzz", "run", "-s", "none", t]).arg(&corpus);
        if seeds.is_dir() {
            cmd.arg(&seeds);
        }
        run(
            &format!("fuzz {t}"),
            cmd.args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-print_final_stats=0",
                "-close_fd_mask=3",
            ]),
        )?;
        println!(
            "fuzz {t}: {seconds}s, no crash ({:.1}s with start-up)",
            t0.elapsed().as_secs_f64()
        );
    }
    println!("fuzz: {} targets ran without a crash", targets.len());
    Ok(())
}

fn fuzz(args: &[String]) -> Result {
    let seconds = match args.first() {
        Some(s) => s
            .parse()
            .map_err(|_| format!("seconds must be a number, got {s:?}"))?,
        None => 60,
    };
    fuzz_all(seconds)
}

/// `cargo xtask bench [--bench NAME]... [--] [criterion args]`: `--bench NAME` (repeatable)
/// picks bench files (`keys`, `tokens`, ...) and goes to cargo; everything else goes to
/// criterion. Without `--bench`, every bench file runs.
fn bench(args: &[String]) -> Result {
    let (targets, criterion_args) = split_bench_args(args)?;
    let mut cmd = cargo();
    cmd.args(["bench", "--package", "partner-auth-benches"]);
    for t in &targets {
        cmd.args(["--bench", t]);
    }
    run("cargo bench", cmd.arg("--").args(criterion_args))
}

/// Splits `cargo xtask bench` arguments into bench targets and criterion's arguments.
fn split_bench_args(args: &[String]) -> Result<(Vec<String>, Vec<String>)> {
    let mut targets = Vec::new();
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            rest.extend(it.cloned());
            break;
        } else if a == "--bench" {
            let name = it.next().ok_or(
                "--bench needs a bench name (apptrust, http_layer, keys, signed_requests, tokens)",
            )?;
            targets.push(name.clone());
        } else if let Some(name) = a.strip_prefix("--bench=") {
            targets.push(name.to_owned());
        } else {
            rest.push(a.clone());
        }
    }
    Ok((targets, rest))
}

/// Issue #10's load acceptance: builds the release service and the scenario, then runs it
/// (seed, start the service on a free 127.0.0.1 port, measure, stop). Extra arguments go to
/// `load_scenario` (`--help` lists them). Writes `target/load/report.{json,md}`.
fn load(args: &[String]) -> Result {
    // One invocation: built separately, the two packages resolve different features for
    // their shared dependencies and each build undoes the other's.
    run(
        "cargo build --release (auth-verify, load_scenario)",
        cargo().args([
            "build",
            "--release",
            "-p",
            "auth-verify",
            "--bin",
            "auth-verify",
            "-p",
            "partner-auth-benches",
            "--bin",
            "load_scenario",
        ]),
    )?;
    let release = target_dir().join("release");
    run(
        "load_scenario",
        Command::new(release.join("load_scenario"))
            .current_dir(root())
            .arg("--server-bin")
            .arg(release.join("auth-verify"))
            .arg("--out")
            .arg(root().join("target/load"))
            .args(args),
    )
}

fn vectors() -> Result {
    let readme = root().join("testvectors/README.md");
    let text = std::fs::read_to_string(&readme)
        .map_err(|e| format!("cannot read {}: {e}", readme.display()))?;
    println!("{text}");
    Ok(())
}

/// cargo-deny: licenses, bans, sources, and advisories against the RustSec snapshot in
/// `../shared/advisory-db` when it exists (these machines cannot reach the online database),
/// else the normal online database.
fn supply_chain() -> Result {
    ensure_cargo_tool("cargo-deny", "cargo-deny")?;
    run(
        "cargo deny (licenses, bans, sources)",
        cargo().args(["deny", "--locked", "check", "licenses", "bans", "sources"]),
    )?;
    let snapshot = root().join("../shared/advisory-db");
    if !snapshot.join("crates").is_dir() {
        println!(
            "advisories: no local snapshot at {}, using the online database",
            snapshot.display()
        );
        return online_advisories();
    }
    // cargo-deny wants a git repository named after the default URL; build one from the snapshot.
    let db_root = target_dir().join("advisory-dbs");
    let repo = db_root.join("advisory-db-3157b0e258782691");
    let _ = std::fs::remove_dir_all(&db_root);
    std::fs::create_dir_all(&repo).map_err(|e| format!("cannot create {}: {e}", repo.display()))?;
    run(
        "copy advisory snapshot",
        Command::new("cp")
            .arg("-r")
            .arg(snapshot.join("."))
            .arg(&repo),
    )?;
    let git = |args: &[&str]| -> Result {
        run(
            "git (advisory snapshot)",
            Command::new("git")
                .current_dir(&repo)
                .args([
                    "-c",
                    "user.name=xtask",
                    "-c",
                    "user.email=xtask@localhost",
                    "-c",
                    "commit.gpgsign=false",
                ])
                .args(args),
        )
    };
    git(&["init", "--quiet"])?;
    git(&["add", "-A"])?;
    git(&["commit", "--quiet", "-m", "snapshot"])?;
    let config = root().join("deny.toml");
    let text =
        std::fs::read_to_string(&config).map_err(|e| format!("cannot read deny.toml: {e}"))?;
    let offline_config = target_dir().join("deny-offline.toml");
    let text = text.replace(
        "[advisories]",
        &format!(
            "[advisories]\ndb-path = {:?}",
            db_root.display().to_string()
        ),
    );
    std::fs::write(&offline_config, text)
        .map_err(|e| format!("cannot write offline deny config: {e}"))?;
    let snapshot_note = std::fs::read_to_string(snapshot.join("SNAPSHOT.txt")).unwrap_or_default();
    println!(
        "advisories: checking against the local snapshot: {}",
        snapshot_note.trim()
    );
    run("cargo fetch", cargo().args(["fetch", "--locked"]))?;
    run(
        "cargo deny advisories (offline snapshot)",
        cargo()
            .args(["deny", "--offline", "--locked", "--config"])
            .arg(&offline_config)
            .args(["check", "advisories"]),
    )
}
