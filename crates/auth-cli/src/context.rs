//! What every command gets besides its own flags: the output, the key-file permission policy,
//! the clock and the random generator (auth-core takes time and randomness as arguments; the
//! CLI, an adapter, owns the real ones).

use crate::error::{CliError, CliResult};
use crate::input::KeyPermissions;
use crate::output::Output;
use auth_core::UnixTime;
use auth_core::rand::SystemRandom;
use std::time::{SystemTime, UNIX_EPOCH};

/// The run's shared state, built once from the global flags.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// Where and how results, notes and errors are printed.
    pub(crate) out: Output,
    /// Whether group- or other-readable private key files are accepted.
    pub(crate) key_permissions: KeyPermissions,
    now_override: Option<UnixTime>,
    rng: SystemRandom,
}

impl Ctx {
    /// From the global flags. `now` is `--now` / `AUTHCTL_NOW` (RFC 3339 or Unix seconds).
    pub(crate) fn new(
        out: Output,
        insecure_permissions: bool,
        now: Option<&str>,
    ) -> CliResult<Self> {
        let now_override = now.map(parse_time).transpose()?;
        Ok(Self {
            out,
            key_permissions: if insecure_permissions {
                KeyPermissions::Insecure
            } else {
                KeyPermissions::Strict
            },
            now_override,
            rng: SystemRandom::new(),
        })
    }

    /// The current time, or the `--now` the user asked to pretend.
    pub(crate) fn now(&self) -> UnixTime {
        self.now_override.unwrap_or_else(|| {
            let millis = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            UnixTime::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
        })
    }

    /// The operating system's random generator.
    pub(crate) fn rng(&self) -> &SystemRandom {
        &self.rng
    }
}

/// Parses a time given on the command line: Unix seconds or RFC 3339.
pub(crate) fn parse_time(text: &str) -> CliResult<UnixTime> {
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(UnixTime::from_secs(secs));
    }
    UnixTime::parse_rfc3339(text).map_err(|_| {
        CliError::usage(
            format!("'{text}' is not a time"),
            "pass Unix seconds (1700000000) or RFC 3339 (2026-11-29T12:00:00Z)",
        )
    })
}
