//! Figures the load results are judged against: a process's peak resident memory and the bare
//! RSA-2048 verify rate of this machine.

use auth_core::keys::{PublicKey, SignatureAlgorithm, SigningKey, generate_rsa};
use auth_core::rand::SystemRandom;
use ring::signature::{self, UnparsedPublicKey};
use serde::Serialize;
use std::time::{Duration, Instant};

/// Longest [`rsa_verify_rate`] may loop.
const MAX_RSA_MEASUREMENT: Duration = Duration::from_secs(10);

/// Why a measurement failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MeasureError {
    /// `/proc/<pid>/status` could not be read (no such process, or not Linux).
    #[error("cannot read /proc/{pid}/status: {reason}")]
    Proc {
        /// The process asked about.
        pid: u32,
        /// The operating system's reason.
        reason: String,
    },
    /// The status file has no readable `VmHWM` line.
    #[error("/proc/{0}/status has no VmHWM line")]
    NoPeakRss(u32),
    /// The measurement duration is zero or above 10 s.
    #[error("measurement duration must be above 0 and at most 10 s")]
    DurationOutOfRange,
    /// The benchmark key could not be made or did not verify its own signature.
    #[error("RSA benchmark key unusable: {0}")]
    Key(&'static str),
}

/// Peak resident set size of process `pid` in bytes (`VmHWM` in `/proc/<pid>/status`). Read it
/// before the process exits: the figure goes with the process.
pub fn peak_rss_bytes(pid: u32) -> Result<u64, MeasureError> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| MeasureError::Proc {
            pid,
            reason: e.to_string(),
        })?;
    parse_vm_hwm(&status).ok_or(MeasureError::NoPeakRss(pid))
}

/// CPU time (user + system, every thread) the process `pid` has used so far, from
/// `/proc/<pid>/stat`, in units of `USER_HZ` (100 per second on Linux). Read before and after a
/// run, it gives CPU per request: a figure the machine's noise does not move much, unlike a
/// saturating rate.
pub fn process_cpu_time(pid: u32) -> Result<std::time::Duration, MeasureError> {
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| MeasureError::Proc {
            pid,
            reason: e.to_string(),
        })?;
    parse_cpu_ticks(&stat)
        .map(|ticks| std::time::Duration::from_millis(ticks.saturating_mul(10)))
        .ok_or(MeasureError::Proc {
            pid,
            reason: "unexpected /proc/<pid>/stat format".to_owned(),
        })
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line; the command name in
/// parentheses may contain spaces, so fields are counted after the last `)`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `VmHWM:   12345 kB` -> bytes.
fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?;
    let mut fields = line.split_whitespace();
    let kib: u64 = fields.next()?.parse().ok()?;
    match fields.next() {
        Some("kB") => kib.checked_mul(1024),
        _ => None,
    }
}

/// This machine's bare RSA-2048 PKCS#1 v1.5 SHA-256 verify rate.
#[derive(Clone, Debug, Serialize)]
pub struct RsaVerifyRate {
    /// Verifies per second on one thread.
    pub single_thread_per_s: f64,
    /// Cores available to this process.
    pub cores: usize,
    /// `single_thread_per_s x cores`: the ceiling the acceptance compares RSA-2048 against.
    pub machine_per_s: f64,
}

/// Verifies one RSA-2048 signature (ring, `RSA_PKCS1_2048_8192_SHA256`, e = 65537, a key
/// generated for the purpose) in a loop on the calling thread for about `duration` and scales by
/// the core count. Blocks for the key generation plus `duration`: call it before or after a
/// load run, not during one.
pub fn rsa_verify_rate(duration: Duration) -> Result<RsaVerifyRate, MeasureError> {
    if duration.is_zero() || duration > MAX_RSA_MEASUREMENT {
        return Err(MeasureError::DurationOutOfRange);
    }
    // A fresh key: ring refuses the RFC 9421 test key (its primes differ in size).
    let private =
        generate_rsa(2048, &SystemRandom::new()).map_err(|_| MeasureError::Key("generation"))?;
    let PublicKey::Rsa(public) = private.public_key() else {
        return Err(MeasureError::Key("not an RSA key"));
    };
    let signer = SigningKey::new(
        &private,
        SignatureAlgorithm::RsaPkcs1Sha256,
        &SystemRandom::new(),
    )
    .map_err(|_| MeasureError::Key("signing key"))?;
    // A request-sized message, as a signature base would be.
    let message = [0x5a_u8; 256];
    let signature_bytes = signer
        .sign(&message, &SystemRandom::new())
        .map_err(|_| MeasureError::Key("signing"))?;
    let public = UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, public.pkcs1_der());

    let start = Instant::now();
    let mut verified = 0u64;
    while start.elapsed() < duration {
        // Checked every time: a failing verify would be cheaper and inflate the rate.
        for _ in 0..16 {
            public
                .verify(&message, &signature_bytes)
                .map_err(|_| MeasureError::Key("verification"))?;
        }
        verified += 16;
    }
    let single_thread_per_s = verified as f64 / start.elapsed().as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    Ok(RsaVerifyRate {
        single_thread_per_s,
        cores,
        machine_per_s: single_thread_per_s * cores as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_read_in_bytes() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(2048 * 1024));
        assert_eq!(parse_vm_hwm("VmHWM:\t 12 MB\n"), None);
        assert_eq!(parse_vm_hwm("VmRSS:\t 12 kB\n"), None);
    }

    #[test]
    fn own_peak_rss_is_plausible() {
        let peak = peak_rss_bytes(std::process::id()).unwrap();
        assert!(peak > 1024 * 1024, "{peak}");
        assert!(matches!(
            peak_rss_bytes(u32::MAX),
            Err(MeasureError::Proc { .. })
        ));
    }

    #[test]
    fn rsa_rate_is_measured() {
        let rate = rsa_verify_rate(Duration::from_millis(100)).unwrap();
        assert!(rate.single_thread_per_s > 100.0, "{rate:?}");
        assert_eq!(
            rate.machine_per_s,
            rate.single_thread_per_s * rate.cores as f64
        );
        assert!(rsa_verify_rate(Duration::from_secs(11)).is_err());
    }

    #[test]
    fn cpu_ticks_count_fields_after_the_command_name() {
        // A command name with spaces and a parenthesis; utime 150, stime 25.
        let stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194304 10 0 0 0 150 25 0 0 20 0 3 0";
        assert_eq!(parse_cpu_ticks(stat), Some(175));
        assert_eq!(parse_cpu_ticks("4242 (x) S 1"), None);
    }
}
