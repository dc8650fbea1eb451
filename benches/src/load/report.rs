//! What a load run measured, in a shape that serialises to JSON for the README's table.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;

/// Latency summary in microseconds, read from an HDR histogram (3 significant digits).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Percentiles {
    /// Samples recorded.
    pub count: u64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest sample.
    pub max_us: u64,
    /// Arithmetic mean.
    pub mean_us: f64,
}

impl Percentiles {
    pub(crate) fn from_histogram(histogram: &Histogram<u64>) -> Self {
        if histogram.is_empty() {
            return Self::default();
        }
        Self {
            count: histogram.len(),
            p50_us: histogram.value_at_quantile(0.50),
            p90_us: histogram.value_at_quantile(0.90),
            p99_us: histogram.value_at_quantile(0.99),
            p999_us: histogram.value_at_quantile(0.999),
            max_us: histogram.max(),
            mean_us: histogram.mean(),
        }
    }
}

/// Requests that got no HTTP answer, by cause.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ErrorCounts {
    /// The TCP connection (or the HTTP/1.1 handshake) failed.
    pub connect: u64,
    /// The connection broke while sending or receiving.
    pub io: u64,
    /// No complete answer within the request timeout.
    pub timeout: u64,
    /// Scheduled but never sent: the run's drain deadline passed with them still queued.
    pub not_sent: u64,
}

impl ErrorCounts {
    /// All requests without an answer.
    pub fn total(&self) -> u64 {
        self.connect + self.io + self.timeout + self.not_sent
    }

    pub(crate) fn add(&mut self, other: &Self) {
        self.connect += other.connect;
        self.io += other.io;
        self.timeout += other.timeout;
        self.not_sent += other.not_sent;
    }
}

/// The result of one [`run`](super::run).
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    /// `127.0.0.1:PORT`.
    pub target: String,
    /// Requests per second the schedule offered.
    pub offered_rate: u32,
    /// Seconds requests were scheduled for.
    pub duration_s: f64,
    /// Keep-alive connections used.
    pub connections: usize,
    /// Requests scheduled (`offered_rate x duration_s`).
    pub scheduled: u64,
    /// Requests that got a complete HTTP answer, whatever its status.
    pub completed: u64,
    /// Seconds from the start of the schedule to the last answer (at least `duration_s`).
    pub elapsed_s: f64,
    /// `completed / elapsed_s`: falls below `offered_rate` once the server cannot keep up.
    pub achieved_rate: f64,
    /// The status counted as success.
    pub expected_status: u16,
    /// Answers with another status.
    pub unexpected_status: u64,
    /// Answers by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests without an answer.
    pub errors: ErrorCounts,
    /// From each request's intended send time to its complete answer: what a client arriving
    /// on schedule experiences, queueing in the generator included (no coordinated omission).
    pub latency: Percentiles,
    /// From the moment the request was actually written to its complete answer: what a
    /// closed-loop tool reports. Shown beside `latency` only to make the difference visible.
    pub service_time: Percentiles,
}

impl LoadReport {
    /// True when every scheduled request got the expected status.
    pub fn all_expected(&self) -> bool {
        self.errors.total() == 0 && self.unexpected_status == 0 && self.completed == self.scheduled
    }
}
