//! The project's own HTTP load generator: open loop at a constant rate, requests signed in
//! advance, latency measured from each request's intended send time (no coordinated omission).
//!
//! A [`Plan`] is a validated, bounded description of one run (loopback target, pre-built
//! requests, rate, duration, connections); [`run`] executes it and returns a [`LoadReport`];
//! [`saturate`] searches for the highest rate the server sustains; [`measure`] holds the helpers
//! the acceptance figures are compared against (peak RSS, bare RSA-2048 verify rate).
//! The method is described in `benches/LOAD.md`.

mod engine;
pub mod measure;
mod plan;
mod report;
mod saturate;
pub mod scenario;

pub use engine::{RunError, run};
pub use plan::{
    MAX_BODY_BYTES, MAX_CONNECTIONS, MAX_DURATION, MAX_RATE, MAX_REQUEST_TIMEOUT, MAX_REQUESTS,
    Plan, PlanError, RequestSpec, Settings, requests_from_jsonl,
};
pub use report::{ErrorCounts, LoadReport, Percentiles};
pub use saturate::{SaturationReport, SaturationSettings, Step, saturate};
