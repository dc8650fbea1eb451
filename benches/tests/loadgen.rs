//! The load generator against tiny in-process servers: a periodic stall shows in the reported
//! latency (no coordinated omission), a low rate is paced as scheduled, statuses and refused
//! connections are counted, the saturation search brackets a known capacity, and the bounds
//! (loopback only, duration, connections, rate) are enforced.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use partner_auth_benches::load::{
    self, MAX_CONNECTIONS, MAX_RATE, Plan, PlanError, RequestSpec, SaturationSettings, Settings,
};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;

/// Timing tests run one at a time: on a small machine, two runs at once would measure each other.
static TIMING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What the test server does per request.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Every `every`-th request (counted across connections) waits `pause` before answering.
    StallEvery { every: u64, pause: Duration },
    /// Every request waits `pause` (a server of known, limited capacity per connection).
    Always { pause: Duration },
}

/// Serves `/missing` with 404 and every other path with 200, per `behaviour`.
async fn spawn_server(behaviour: Behaviour) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counter = Arc::new(AtomicU64::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let counter = Arc::clone(&counter);
                    async move {
                        let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
                        match behaviour {
                            Behaviour::StallEvery { every, pause } if n.is_multiple_of(every) => {
                                tokio::time::sleep(pause).await;
                            }
                            Behaviour::Always { pause } => tokio::time::sleep(pause).await,
                            Behaviour::StallEvery { .. } => {}
                        }
                        let status = if request.uri().path() == "/missing" {
                            404
                        } else {
                            200
                        };
                        let response = http::Response::builder()
                            .status(status)
                            .body(Full::new(Bytes::from_static(b"ok")))
                            .unwrap();
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

fn get(path: &str) -> RequestSpec {
    RequestSpec {
        path: Some(path.into()),
        ..RequestSpec::default()
    }
}

fn settings(rate: u32, duration: Duration, connections: usize) -> Settings {
    Settings {
        rate,
        duration,
        connections,
        expected_status: 200,
        request_timeout: Duration::from_secs(2),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_periodic_stall_shows_in_p99_and_max() {
    let _one_at_a_time = TIMING.lock().await;
    let pause = Duration::from_millis(50);
    let addr = spawn_server(Behaviour::StallEvery { every: 100, pause }).await;
    // One connection at 1000 req/s: each 50 ms stall holds back the ~50 requests scheduled
    // behind it. A closed-loop tool would wait, send them late and report them as fast.
    let plan = Plan::new(
        &format!("http://{addr}/"),
        &[get("/")],
        &settings(1000, Duration::from_secs(2), 1),
    )
    .unwrap();
    let report = load::run(&plan).await.unwrap();

    assert!(report.all_expected(), "{report:#?}");
    assert_eq!(report.completed, 2000);
    // The stalled request itself.
    assert!(report.latency.max_us >= 50_000, "{report:#?}");
    // The requests queued behind it: well over 1% of all, so p99 (and even p90) sits inside the
    // stall rather than at the fast path.
    assert!(report.latency.p99_us >= 40_000, "{report:#?}");
    assert!(report.latency.p90_us >= 15_000, "{report:#?}");
    // Measured from the actual send, as a closed loop would, the picture is the fast path: only
    // the stalled requests (1%) are slow, so p90 is nowhere near the stall.
    assert!(report.service_time.p90_us < 10_000, "{report:#?}");
    assert!(report.service_time.max_us >= 50_000, "{report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_rate_is_paced_as_scheduled_and_statuses_are_counted() {
    let _one_at_a_time = TIMING.lock().await;
    let addr = spawn_server(Behaviour::StallEvery {
        every: u64::MAX,
        pause: Duration::ZERO,
    })
    .await;
    // Alternating requests: the list is cycled in order.
    let plan = Plan::new(
        &format!("http://{addr}/"),
        &[get("/ok"), get("/missing")],
        &settings(200, Duration::from_secs(1), 4),
    )
    .unwrap();
    let report = load::run(&plan).await.unwrap();

    assert_eq!(report.scheduled, 200);
    assert_eq!(report.completed, 200, "{report:#?}");
    assert_eq!(report.errors.total(), 0, "{report:#?}");
    assert_eq!(report.statuses.get(&200), Some(&100));
    assert_eq!(report.statuses.get(&404), Some(&100));
    assert_eq!(report.unexpected_status, 100);
    assert!(!report.all_expected());
    // Open loop: the fast server does not make the run finish early; the schedule sets the pace.
    assert!((0.99..1.5).contains(&report.elapsed_s), "{report:#?}");
    assert!(
        (180.0..=201.0).contains(&report.achieved_rate),
        "{report:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_errors_not_latencies() {
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let plan = Plan::new(
        &format!("http://{addr}/"),
        &[get("/")],
        &settings(50, Duration::from_millis(200), 2),
    )
    .unwrap();
    let report = load::run(&plan).await.unwrap();
    assert_eq!(report.completed, 0);
    assert_eq!(report.errors.connect, report.scheduled);
    assert_eq!(report.latency.count, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_saturation_search_brackets_a_known_capacity() {
    let _one_at_a_time = TIMING.lock().await;
    // One connection to a server that takes at least 2 ms per request: at most 500 req/s.
    let addr = spawn_server(Behaviour::Always {
        pause: Duration::from_millis(2),
    })
    .await;
    let plan = Plan::new(
        &format!("http://{addr}/"),
        &[get("/")],
        &settings(100, Duration::from_millis(300), 1),
    )
    .unwrap();
    let search = SaturationSettings {
        start_rate: 100,
        max_rate: 10_000,
        growth: 2.0,
        step_duration: Duration::from_millis(300),
        precision: 0.2,
        settle: Duration::from_millis(20),
        time_budget: Duration::from_secs(4),
        ..SaturationSettings::default()
    };
    let report = load::saturate(&plan, &search).await.unwrap();

    let best = report
        .saturating_rate
        .expect("100 req/s is within capacity");
    assert!((100..=500).contains(&best), "{report:#?}");
    assert!(!report.reached_max_rate);
    assert!(
        report.steps.iter().any(|step| !step.sustained),
        "{report:#?}"
    );
    // Every sustained step is below every failing one... except for noise, which the search
    // tolerates; at least the best is below the lowest failure.
    let lowest_failure = report
        .steps
        .iter()
        .filter(|s| !s.sustained)
        .map(|s| s.rate)
        .min()
        .unwrap();
    assert!(best < lowest_failure, "{report:#?}");
    let half = report.at_half_rate.as_ref().unwrap();
    assert_eq!(half.offered_rate, best / 2);
    assert!(half.all_expected(), "{half:#?}");
}

#[test]
fn only_127_0_0_1_is_a_target() {
    let spec = [get("/")];
    let ok = Settings::default();
    for url in [
        "http://localhost:8080/",
        "http://192.168.1.1:8080/",
        "http://0.0.0.0:8080/",
        "http://127.0.0.2:8080/",
        "http://[::1]:8080/",
        "http://example.com:80/",
    ] {
        assert_eq!(
            Plan::new(url, &spec, &ok).unwrap_err(),
            PlanError::NotLoopback,
            "{url}"
        );
    }
    assert_eq!(
        Plan::new("https://127.0.0.1:8443/", &spec, &ok).unwrap_err(),
        PlanError::UnsupportedScheme
    );
    assert_eq!(
        Plan::new("127.0.0.1:8080", &spec, &ok).unwrap_err(),
        PlanError::InvalidUrl
    );
    assert!(Plan::new("http://127.0.0.1:8080/auth", &spec, &ok).is_ok());
}

#[test]
fn bounds_are_enforced() {
    let spec = [get("/")];
    let url = "http://127.0.0.1:8080/";
    let with = |change: fn(&mut Settings)| {
        let mut settings = Settings::default();
        change(&mut settings);
        Plan::new(url, &spec, &settings).map(|_| ())
    };
    assert_eq!(
        with(|s| s.duration = Duration::from_secs(61)),
        Err(PlanError::DurationOutOfRange)
    );
    assert_eq!(
        with(|s| s.duration = Duration::ZERO),
        Err(PlanError::DurationOutOfRange)
    );
    assert_eq!(with(|s| s.duration = Duration::from_secs(60)), Ok(()));
    assert_eq!(
        with(|s| s.connections = 0),
        Err(PlanError::ConnectionsOutOfRange)
    );
    assert_eq!(
        with(|s| s.connections = MAX_CONNECTIONS + 1),
        Err(PlanError::ConnectionsOutOfRange)
    );
    assert_eq!(with(|s| s.connections = MAX_CONNECTIONS), Ok(()));
    assert_eq!(with(|s| s.rate = 0), Err(PlanError::RateOutOfRange));
    assert_eq!(
        with(|s| s.rate = MAX_RATE + 1),
        Err(PlanError::RateOutOfRange)
    );
    assert_eq!(
        with(|s| s.request_timeout = Duration::from_secs(31)),
        Err(PlanError::TimeoutOutOfRange)
    );
    assert_eq!(
        with(|s| s.expected_status = 42),
        Err(PlanError::InvalidExpectedStatus)
    );
    assert_eq!(
        Plan::new(url, &[], &Settings::default()).unwrap_err(),
        PlanError::RequestCount
    );
    let bad_header = RequestSpec {
        headers: vec![("bad header".into(), "x".into())],
        ..get("/")
    };
    assert!(matches!(
        Plan::new(url, &[get("/"), bad_header], &Settings::default()),
        Err(PlanError::InvalidRequest { index: 1, .. })
    ));
}

#[tokio::test]
async fn saturation_settings_are_bounded() {
    let plan = Plan::new("http://127.0.0.1:9/", &[get("/")], &Settings::default()).unwrap();
    let too_long = SaturationSettings {
        time_budget: Duration::from_secs(601),
        ..SaturationSettings::default()
    };
    assert!(matches!(
        load::saturate(&plan, &too_long).await,
        Err(load::RunError::Plan(PlanError::InvalidSearch(_)))
    ));
    let no_growth = SaturationSettings {
        growth: 1.0,
        ..SaturationSettings::default()
    };
    assert!(load::saturate(&plan, &no_growth).await.is_err());
    let long_steps = SaturationSettings {
        step_duration: Duration::from_secs(61),
        ..SaturationSettings::default()
    };
    assert!(matches!(
        load::saturate(&plan, &long_steps).await,
        Err(load::RunError::Plan(PlanError::DurationOutOfRange))
    ));
}
