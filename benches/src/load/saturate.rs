//! Saturation search: the highest offered rate the server sustains (throughput within a
//! tolerance of the offer, every request answered as expected), then a run at half that rate
//! for the latency figures.

use super::engine::{RunError, run};
use super::plan::{MAX_RATE, Plan, PlanError};
use super::report::LoadReport;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Longest a search may take, half-rate run excluded.
const MAX_TIME_BUDGET: Duration = Duration::from_secs(600);

/// How to search. Checked by [`saturate`].
#[derive(Clone, Debug)]
pub struct SaturationSettings {
    /// First rate tried.
    pub start_rate: u32,
    /// Highest rate tried; reaching it sustained ends the search there.
    pub max_rate: u32,
    /// Factor between rates while looking for the first failing one (above 1, at most 16).
    pub growth: f64,
    /// Length of each probing run.
    pub step_duration: Duration,
    /// A step is sustained when `achieved_rate >= (1 - tolerance) x offered` (0 to 0.5).
    pub tolerance: f64,
    /// Bisection stops once the failing rate is within this fraction above the sustained one.
    pub precision: f64,
    /// Optional latency ceiling: a step whose p99 exceeds it is not sustained either.
    pub max_p99: Option<Duration>,
    /// Pause between steps, so a backlog or TIME_WAIT churn from one step does not bleed into
    /// the next.
    pub settle: Duration,
    /// Bound on the search's total time (at most 600 s); the best rate so far is reported.
    pub time_budget: Duration,
}

impl Default for SaturationSettings {
    fn default() -> Self {
        Self {
            start_rate: 1_000,
            max_rate: 200_000,
            growth: 2.0,
            step_duration: Duration::from_secs(3),
            tolerance: 0.05,
            precision: 0.05,
            max_p99: None,
            settle: Duration::from_millis(250),
            time_budget: Duration::from_secs(120),
        }
    }
}

/// One probing run of the search.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// Offered rate.
    pub rate: u32,
    /// Achieved rate.
    pub achieved_rate: f64,
    /// Requests without an answer.
    pub errors: u64,
    /// Answers with a status other than the expected one.
    pub unexpected_status: u64,
    /// Intended-time latency p99 in microseconds.
    pub p99_us: u64,
    /// Whether this rate counted as sustained.
    pub sustained: bool,
}

/// The search's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct SaturationReport {
    /// Highest sustained rate found; `None` when not even 1 request per second was sustained
    /// within the budget.
    pub saturating_rate: Option<u32>,
    /// Whether `max_rate` itself was sustained (the true saturation point is higher).
    pub reached_max_rate: bool,
    /// Whether the time budget cut the search short.
    pub budget_exhausted: bool,
    /// Every probing run, in order.
    pub steps: Vec<Step>,
    /// A run of the plan's own duration at half the saturating rate, for the p99 goal.
    pub at_half_rate: Option<LoadReport>,
}

/// Finds the highest rate `plan`'s target sustains: geometric steps from `start_rate` (up while
/// sustained, down while not) until a sustained and a failing rate bracket it, then bisection
/// to `precision`; all within `time_budget`. Finally runs `plan` at half that rate.
pub async fn saturate(
    plan: &Plan,
    settings: &SaturationSettings,
) -> Result<SaturationReport, RunError> {
    validate(settings)?;
    // Fail before the first step if the step shape is out of bounds.
    plan.with_pace(
        settings.start_rate,
        settings.step_duration,
        plan.connections,
        plan.request_timeout,
    )?;
    let deadline = Instant::now() + settings.time_budget;
    let mut report = SaturationReport {
        saturating_rate: None,
        reached_max_rate: false,
        budget_exhausted: false,
        steps: Vec::new(),
        at_half_rate: None,
    };
    let mut sustained: Option<u32> = None;
    let mut failing: Option<u32> = None;
    let mut rate = settings.start_rate;

    // Bracket: climb while sustained, descend while not.
    loop {
        if !within_budget(deadline, settings) {
            report.budget_exhausted = true;
            break;
        }
        if probe(plan, settings, rate, &mut report).await? {
            sustained = Some(rate);
            if failing.is_some() || rate >= settings.max_rate {
                report.reached_max_rate = failing.is_none();
                break;
            }
            rate = scale(rate, settings.growth).min(settings.max_rate);
        } else {
            failing = Some(rate);
            if sustained.is_some() || rate == 1 {
                break;
            }
            rate = scale(rate, 1.0 / settings.growth);
        }
    }
    // Bisect between the sustained and the failing rate.
    while let (Some(low), Some(high)) = (sustained, failing) {
        if f64::from(high) <= f64::from(low) * (1.0 + settings.precision) || high - low <= 1 {
            break;
        }
        if !within_budget(deadline, settings) {
            report.budget_exhausted = true;
            break;
        }
        let middle = low + (high - low) / 2;
        if probe(plan, settings, middle, &mut report).await? {
            sustained = Some(middle);
        } else {
            failing = Some(middle);
        }
    }
    report.saturating_rate = sustained;
    if let Some(best) = sustained {
        tokio::time::sleep(settings.settle).await;
        report.at_half_rate = Some(run(&plan.with_rate((best / 2).max(1))?).await?);
    }
    Ok(report)
}

fn validate(settings: &SaturationSettings) -> Result<(), PlanError> {
    let invalid = PlanError::InvalidSearch;
    if settings.start_rate == 0 || settings.start_rate > MAX_RATE {
        return Err(invalid("start_rate must be between 1 and the maximum rate"));
    }
    if settings.max_rate < settings.start_rate || settings.max_rate > MAX_RATE {
        return Err(invalid(
            "max_rate must be at least start_rate and at most the maximum rate",
        ));
    }
    if !(settings.growth > 1.0 && settings.growth <= 16.0) {
        return Err(invalid("growth must be above 1 and at most 16"));
    }
    if !(0.0..=0.5).contains(&settings.tolerance) {
        return Err(invalid("tolerance must be between 0 and 0.5"));
    }
    if !(settings.precision > 0.0 && settings.precision <= 1.0) {
        return Err(invalid("precision must be above 0 and at most 1"));
    }
    if settings.time_budget.is_zero() || settings.time_budget > MAX_TIME_BUDGET {
        return Err(invalid("time_budget must be above 0 and at most 600 s"));
    }
    if settings.settle > Duration::from_secs(10) {
        return Err(invalid("settle must be at most 10 s"));
    }
    Ok(())
}

/// Whether one more step (and its pause) still fits before `deadline`.
fn within_budget(deadline: Instant, settings: &SaturationSettings) -> bool {
    Instant::now() + settings.settle + settings.step_duration <= deadline
}

/// Runs one step at `rate`, records it, and says whether it was sustained.
async fn probe(
    plan: &Plan,
    settings: &SaturationSettings,
    rate: u32,
    report: &mut SaturationReport,
) -> Result<bool, RunError> {
    if !report.steps.is_empty() {
        tokio::time::sleep(settings.settle).await;
    }
    let step_plan = plan.with_pace(
        rate,
        settings.step_duration,
        plan.connections,
        plan.request_timeout,
    )?;
    let result = run(&step_plan).await?;
    let p99 = Duration::from_micros(result.latency.p99_us);
    let sustained = result.all_expected()
        && result.achieved_rate >= f64::from(rate) * (1.0 - settings.tolerance)
        && settings.max_p99.is_none_or(|ceiling| p99 <= ceiling);
    report.steps.push(Step {
        rate,
        achieved_rate: result.achieved_rate,
        errors: result.errors.total(),
        unexpected_status: result.unexpected_status,
        p99_us: result.latency.p99_us,
        sustained,
    });
    Ok(sustained)
}

/// `rate x factor`, rounded, kept within `1..=MAX_RATE` and always moving by at least one.
fn scale(rate: u32, factor: f64) -> u32 {
    let scaled = (f64::from(rate) * factor)
        .round()
        .clamp(1.0, f64::from(MAX_RATE)) as u32;
    match scaled.cmp(&rate) {
        std::cmp::Ordering::Equal if factor > 1.0 => rate.saturating_add(1).min(MAX_RATE),
        std::cmp::Ordering::Equal => rate.saturating_sub(1).max(1),
        _ => scaled,
    }
}
