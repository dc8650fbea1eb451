//! The clock adapters pass into auth-core: the system clock, or a fixed/shifted one in tests.

use auth_core::UnixTime;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// Where "now" comes from.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> UnixTime;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        let ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        UnixTime::from_millis(ms)
    }
}

/// A clock that reads the system clock plus an adjustable offset (tests move it forwards and
/// backwards to cross expiry and freshness windows without sleeping).
#[derive(Debug, Clone, Default)]
pub struct OffsetClock {
    offset_ms: Arc<AtomicU64>,
    behind: Arc<AtomicU64>,
}

impl OffsetClock {
    /// A clock at the system time.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock `ms` milliseconds ahead of the system clock.
    pub fn set_ahead_ms(&self, ms: u64) {
        self.behind.store(0, Ordering::SeqCst);
        self.offset_ms.store(ms, Ordering::SeqCst);
    }

    /// Moves the clock `ms` milliseconds behind the system clock.
    pub fn set_behind_ms(&self, ms: u64) {
        self.offset_ms.store(0, Ordering::SeqCst);
        self.behind.store(ms, Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> UnixTime {
        let base = SystemClock.now().as_millis();
        let t = base
            .saturating_add(self.offset_ms.load(Ordering::SeqCst))
            .saturating_sub(self.behind.load(Ordering::SeqCst));
        UnixTime::from_millis(t)
    }
}
