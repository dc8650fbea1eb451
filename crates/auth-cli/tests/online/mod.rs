//! Harness of the online end-to-end tests: runs the real `auth-verify` binary on 127.0.0.1
//! (private data directory, free port, ready when it accepts connections), and runs the built
//! `authctl` with a private `HOME`/`XDG_CONFIG_HOME`, so the per-user admin key and profiles
//! of each test live in its own temporary directory.
//!
//! Where `auth-verify` comes from: `CARGO_BIN_EXE_*` exists only for the package's own
//! binaries, and auth-cli must not depend on auth-verify. So the harness runs
//! `cargo build -p auth-verify --bin auth-verify` once per test binary, into the same target
//! directory and profile the test binary was built in (cargo has released its build lock
//! while tests run), and starts `<target>/<profile>/auth-verify`. `AUTH_VERIFY_BIN` overrides
//! this with a prebuilt binary.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The `authctl` binary under test.
pub fn authctl_bin() -> &'static str {
    env!("CARGO_BIN_EXE_authctl")
}

/// The `auth-verify` binary, built on first use.
pub fn auth_verify_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("AUTH_VERIFY_BIN") {
            return PathBuf::from(p);
        }
        // <target>/<profile>/deps/<this test binary>
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let target_dir = profile_dir.parent().unwrap();
        let profile = profile_dir.file_name().unwrap().to_str().unwrap();
        let mut cmd = Command::new(env!("CARGO"));
        // The variables cargo set for this test (CARGO_PKG_*, CARGO_MANIFEST_DIR, ...) would
        // make build scripts that watch them rebuild, here and again in the next cargo test.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("CARGO_") && name != "CARGO_HOME" {
                cmd.env_remove(&*name);
            }
        }
        cmd.args([
            "build",
            "--quiet",
            "-p",
            "auth-verify",
            "--bin",
            "auth-verify",
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile == "release" {
            cmd.arg("--release");
        }
        let out = cmd.output().expect("cargo runs");
        assert!(
            out.status.success(),
            "cargo build -p auth-verify failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bin = profile_dir.join("auth-verify");
        assert!(bin.exists(), "{} was not built", bin.display());
        bin
    })
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A running auth-verify.
pub struct Service {
    child: Option<Child>,
    pub base: String,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Service {
    /// Starts `auth-verify serve` on a fresh data directory.
    pub fn start() -> Self {
        Self::start_with_config(None)
    }

    /// As [`Service::start`], with a TOML configuration file of this text.
    pub fn start_with_config(config: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("auth-verify.toml");
        if let Some(text) = config {
            std::fs::write(&config_path, text).unwrap();
        }
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("service.log")).unwrap();
        let mut cmd = Command::new(auth_verify_bin());
        if config.is_some() {
            cmd.arg("--config").arg(&config_path);
        }
        let mut child = cmd
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env_remove("AUTH_VERIFY_MASTER_KEY")
            .env_remove("AUTH_VERIFY_CONFIG")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "auth-verify exited with {status}: {}",
                    std::fs::read_to_string(dir.path().join("service.log")).unwrap_or_default()
                );
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "auth-verify did not start in 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            port,
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("service.log")).unwrap_or_default()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One user of `authctl`: a private home (admin key, profiles) and a work directory.
pub struct User {
    pub home: tempfile::TempDir,
}

/// What a run of `authctl` gave.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with both streams unless the exit code is `code`.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn ok(self) -> Self {
        self.expect_code(0)
    }

    /// stdout as JSON (one object, `--json`).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    /// stderr has exactly one line (the error line) and no panic or backtrace.
    pub fn one_line_error(&self) -> &str {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("RUST_BACKTRACE"),
            "{}",
            self.stderr
        );
        assert!(
            lines.last().is_some_and(|l| l.starts_with("error: ")),
            "{}",
            self.stderr
        );
        lines.last().copied().unwrap_or_default()
    }
}

impl User {
    pub fn new() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    /// The default admin key location of this user.
    pub fn admin_key_path(&self) -> PathBuf {
        self.home.path().join("config/authctl/admin.key")
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(authctl_bin());
        cmd.env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("NO_COLOR", "1")
            .env_remove("AUTHCTL_SERVER")
            .env_remove("AUTHCTL_PROFILE")
            .env_remove("AUTHCTL_ADMIN_KEY")
            .env_remove("AUTHCTL_CONFIG")
            .env_remove("AUTHCTL_API_KEY")
            .env_remove("AUTHCTL_SECRET")
            .env_remove("AUTHCTL_NOW")
            .current_dir(self.home.path());
        cmd
    }

    /// Runs `authctl args...`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, |_| {})
    }

    /// Runs `authctl args...` after `setup` adjusts the command (environment, stdin).
    pub fn run_with(&self, args: &[&str], setup: impl FnOnce(&mut Command)) -> Run {
        let mut cmd = self.command();
        cmd.args(args);
        setup(&mut cmd);
        let out: Output = cmd.stdin(Stdio::null()).output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `authctl admin --server BASE args...`, expected to succeed; its JSON answer.
    pub fn admin(&self, svc: &Service, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json", "admin", "--server", &svc.base];
        all.extend_from_slice(args);
        self.run(&all).ok().json()
    }
}

/// Writes `text` to `path` with mode 0600.
pub fn write_private(path: &Path, text: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// An Ed25519 key pair made by openssl (an independent generator), private PEM at `path`.
pub fn openssl_ed25519(path: &Path) {
    let ok = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl genpkey failed");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// An RSA key by openssl (PKCS#1 "traditional" when `traditional`).
pub fn openssl_rsa(path: &Path, traditional: bool) {
    let mut cmd = Command::new("openssl");
    if traditional {
        cmd.args(["genrsa", "-traditional", "-out"])
            .arg(path)
            .arg("2048");
    } else {
        cmd.args([
            "genpkey",
            "-algorithm",
            "rsa",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(path);
    }
    let ok = cmd.stderr(Stdio::null()).status().unwrap().success();
    assert!(ok, "openssl rsa key generation failed");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
