//! The open-loop engine: a pacing thread releases one send slot per scheduled instant, and the
//! connection workers take slots in order, so latency is always counted from the slot's
//! intended time, however long the slot waited for a free connection.

use super::plan::{Plan, PlanError, Prepared};
use super::report::{ErrorCounts, LoadReport, Percentiles};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Largest latency the histogram records exactly (one hour, in microseconds); longer samples
/// are clamped to it.
const HIGHEST_TRACKABLE_US: u64 = 3_600_000_000;

/// Why a run could not produce a report (the plan itself was already validated).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The plan was refused.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A worker or the pacer stopped unexpectedly; the report would be incomplete.
    #[error("a load generator task stopped unexpectedly")]
    Worker,
    /// The latency histogram could not be created or merged.
    #[error("latency histogram error")]
    Histogram,
}

/// What the workers share: the plan, the schedule's start, and the next slot to take.
struct Shared {
    plan: Plan,
    start: Instant,
    /// After this instant queued slots are abandoned (counted as `not_sent`), bounding the run.
    drain_deadline: Instant,
    scheduled: u64,
    /// One permit per slot whose intended time has come.
    due: Semaphore,
    next_slot: AtomicU64,
}

/// One worker's tallies, merged after the run.
struct Tally {
    latency: Histogram<u64>,
    service_time: Histogram<u64>,
    statuses: BTreeMap<u16, u64>,
    errors: ErrorCounts,
    last_answer: Option<Instant>,
}

/// Runs `plan` and reports what happened. Takes about the plan's duration, plus at most twice
/// its request timeout to drain; never more.
///
/// Needs a Tokio runtime with the `time` driver; a multi-thread runtime keeps the generator from
/// being the bottleneck. The pacing runs on Tokio's blocking pool, because the runtime's timer
/// has millisecond resolution, which would add up to a millisecond to every latency.
pub async fn run(plan: &Plan) -> Result<LoadReport, RunError> {
    // Connections are opened before the clock starts, so the first slots do not pay for them.
    let mut senders = Vec::with_capacity(plan.connections);
    for _ in 0..plan.connections {
        senders.push(connect(plan.addr, plan.request_timeout).await.ok());
    }
    let start = Instant::now();
    let shared = Arc::new(Shared {
        plan: plan.clone(),
        start,
        drain_deadline: start + plan.duration + plan.request_timeout,
        scheduled: plan.scheduled(),
        due: Semaphore::new(0),
        next_slot: AtomicU64::new(0),
    });
    let pacer = {
        let shared = Arc::clone(&shared);
        tokio::task::spawn_blocking(move || pace(&shared))
    };
    let workers: Vec<_> = senders
        .into_iter()
        .map(|sender| tokio::spawn(work(Arc::clone(&shared), sender)))
        .collect();

    let mut total = new_tally()?;
    for worker in workers {
        let tally = worker.await.map_err(|_| RunError::Worker)??;
        total
            .latency
            .add(&tally.latency)
            .map_err(|_| RunError::Histogram)?;
        total
            .service_time
            .add(&tally.service_time)
            .map_err(|_| RunError::Histogram)?;
        for (status, count) in tally.statuses {
            *total.statuses.entry(status).or_default() += count;
        }
        total.errors.add(&tally.errors);
        total.last_answer = total.last_answer.max(tally.last_answer);
    }
    pacer.await.map_err(|_| RunError::Worker)?;

    let completed: u64 = total.statuses.values().sum();
    let expected = plan.expected_status.as_u16();
    let elapsed = total
        .last_answer
        .map_or(plan.duration, |last| last.saturating_duration_since(start))
        .max(plan.duration);
    Ok(LoadReport {
        target: plan.addr.to_string(),
        offered_rate: plan.rate,
        duration_s: plan.duration.as_secs_f64(),
        connections: plan.connections,
        scheduled: shared.scheduled,
        completed,
        elapsed_s: elapsed.as_secs_f64(),
        achieved_rate: completed as f64 / elapsed.as_secs_f64(),
        expected_status: expected,
        unexpected_status: completed - total.statuses.get(&expected).copied().unwrap_or(0),
        statuses: total.statuses,
        errors: total.errors,
        latency: Percentiles::from_histogram(&total.latency),
        service_time: Percentiles::from_histogram(&total.service_time),
    })
}

/// Releases slot permits at their intended times. OS sleeps are precise to tens of
/// microseconds; when they overshoot, every slot that has come due is released at once and
/// keeps its own intended time.
fn pace(shared: &Shared) {
    let plan = &shared.plan;
    let mut released = 0u64;
    while released < shared.scheduled {
        let elapsed = shared.start.elapsed();
        // Slot i is due at i / rate, so slots 0..=floor(elapsed x rate) are due now.
        let due_now = u128::from(plan.rate) * elapsed.as_nanos() / 1_000_000_000 + 1;
        let due_now = u64::try_from(due_now)
            .unwrap_or(u64::MAX)
            .min(shared.scheduled);
        if due_now > released {
            shared
                .due
                .add_permits(usize::try_from(due_now - released).unwrap_or(usize::MAX));
            released = due_now;
        }
        if released < shared.scheduled {
            let next = shared.start + plan.intended_offset(released);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
    }
    // One more permit per worker, so each wakes, finds no slot left and stops.
    shared.due.add_permits(plan.connections);
}

async fn work(
    shared: Arc<Shared>,
    mut sender: Option<SendRequest<Full<Bytes>>>,
) -> Result<Tally, RunError> {
    let plan = &shared.plan;
    let mut tally = new_tally()?;
    loop {
        match shared.due.acquire().await {
            Ok(permit) => permit.forget(),
            Err(_) => break,
        }
        let slot = shared.next_slot.fetch_add(1, Ordering::Relaxed);
        if slot >= shared.scheduled {
            break;
        }
        if Instant::now() > shared.drain_deadline {
            // Abandon this slot and every one not yet taken; workers holding others count theirs.
            let untaken = shared.next_slot.swap(shared.scheduled, Ordering::Relaxed);
            tally.errors.not_sent += 1 + shared.scheduled.saturating_sub(untaken);
            break;
        }
        let intended = shared.start + plan.intended_offset(slot);
        let request =
            &plan.requests[usize::try_from(slot % plan.requests.len() as u64).unwrap_or(0)];

        if sender.as_ref().is_none_or(SendRequest::is_closed) {
            sender = match connect(plan.addr, plan.request_timeout).await {
                Ok(fresh) => Some(fresh),
                Err(()) => {
                    tally.errors.connect += 1;
                    continue;
                }
            };
        }
        let Some(live) = sender.as_mut() else {
            continue;
        };
        let sent_at = Instant::now();
        let outcome = tokio::time::timeout(plan.request_timeout, exchange(live, request)).await;
        let answered_at = Instant::now();
        match outcome {
            Ok(Ok(status)) => {
                record(
                    &mut tally.latency,
                    answered_at.saturating_duration_since(intended),
                );
                record(
                    &mut tally.service_time,
                    answered_at.saturating_duration_since(sent_at),
                );
                *tally.statuses.entry(status).or_default() += 1;
                tally.last_answer = tally.last_answer.max(Some(answered_at));
            }
            Ok(Err(_)) => {
                tally.errors.io += 1;
                sender = None;
            }
            Err(_) => {
                tally.errors.timeout += 1;
                sender = None;
            }
        }
    }
    Ok(tally)
}

/// Sends one request and reads the whole answer, so the connection is ready for the next.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    prepared: &Prepared,
) -> Result<u16, hyper::Error> {
    sender.ready().await?;
    let mut request = http::Request::new(Full::new(prepared.body.clone()));
    *request.method_mut() = prepared.method.clone();
    *request.uri_mut() = prepared.uri.clone();
    *request.headers_mut() = prepared.headers.clone();
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    response.into_body().collect().await?;
    Ok(status)
}

/// Opens one keep-alive HTTP/1.1 connection within `limit`.
async fn connect(addr: SocketAddr, limit: Duration) -> Result<SendRequest<Full<Bytes>>, ()> {
    let opened = tokio::time::timeout(limit, async {
        let stream = TcpStream::connect(addr).await.map_err(|_| ())?;
        // Small requests must not wait for Nagle's algorithm.
        stream.set_nodelay(true).map_err(|_| ())?;
        http1::handshake(TokioIo::new(stream)).await.map_err(|_| ())
    })
    .await;
    let (sender, connection) = opened.map_err(|_| ())??;
    // The connection task ends when the sender is dropped or the peer closes.
    tokio::spawn(async move {
        let _closed = connection.await;
    });
    Ok(sender)
}

fn new_tally() -> Result<Tally, RunError> {
    let histogram =
        || Histogram::new_with_bounds(1, HIGHEST_TRACKABLE_US, 3).map_err(|_| RunError::Histogram);
    Ok(Tally {
        latency: histogram()?,
        service_time: histogram()?,
        statuses: BTreeMap::new(),
        errors: ErrorCounts::default(),
        last_answer: None,
    })
}

fn record(histogram: &mut Histogram<u64>, elapsed: Duration) {
    let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(micros.clamp(1, HIGHEST_TRACKABLE_US));
}
