//! Capacity: the planned rate of the last second before the first broken one. A second (with
//! traffic) is broken when its errors and timeouts pass `[capacity] error_rate` of the
//! transactions due (default 1%), when its degraded share passes `[capacity] degraded_share`
//! (default 5%), or when a run-scoped criterion judged on that second alone fails. For a fraud
//! service the degraded share is the early signal: when the scorer saturates, breakers open and
//! rules-only answers come back fast, so latency can even fall as the system breaks.

use crate::metrics::Second;
use crate::plan::{Plan, PlannedCriterion, Scope};
use crate::scenario::check::{Metric, Stat};

const SECOND: u64 = 1_000_000_000;

/// Where the system broke, if it did.
#[derive(Clone, Debug, PartialEq)]
pub struct Capacity {
    /// The planned rate (TPS, at the middle of the second) of the last second before the first
    /// broken one; None when no second broke.
    pub rate: Option<f64>,
    /// The start of the first broken second.
    pub at_ns: Option<u64>,
    /// What broke first: "error_rate", "degraded_share", or a criterion's check.
    pub broken_by: Option<String>,
    /// The highest planned rate of a second that was not broken, before any broke.
    pub highest_held: f64,
}

/// The planned rate at the middle of second `t`.
fn rate_of_second(plan: &Plan, t: u64) -> f64 {
    plan.rate_at(t * SECOND + SECOND / 2)
}

/// A criterion's metric over one second alone, for the metrics a second's figures can give.
fn second_value(metric: Metric, s: &Second) -> Option<f64> {
    let c = &s.counts;
    let share = |n: u64, d: u64| (d > 0).then(|| n as f64 / d as f64);
    match metric {
        Metric::ErrorRate => share(c.errors, c.due()),
        Metric::TimeoutRate => share(c.timeouts, c.due()),
        Metric::DropRate => share(c.dropped, c.due()),
        Metric::Latency(Stat::P50) => s.p50_ms,
        Metric::Latency(Stat::P95) => s.p95_ms,
        Metric::Latency(Stat::P99) => s.p99_ms,
        Metric::DegradationMax => Some(s.degraded_share()),
        Metric::Throughput => Some(c.ok as f64),
        Metric::ThroughputRatio => share(c.ok, c.due()),
        _ => None,
    }
}

/// Why second `s` is broken, if it is.
fn broken(plan: &Plan, s: &Second) -> Option<String> {
    if s.failure_rate() > plan.capacity.error_rate.0 {
        return Some("error_rate".to_string());
    }
    if s.degraded_share() > plan.capacity.degraded_share.0 {
        return Some("degraded_share".to_string());
    }
    plan.criteria
        .iter()
        .filter(|c: &&PlannedCriterion| c.scope == Scope::Run)
        .find(|c| {
            second_value(c.check.metric, s).is_some_and(|v| !c.check.op.holds(v, c.check.threshold))
        })
        .map(|c| c.check.text.clone())
}

/// The capacity shown by the seconds of `timeline` that overlap `windows`.
pub fn capacity(plan: &Plan, timeline: &[Second], windows: &[(u64, u64)]) -> Capacity {
    let mut highest_held: f64 = 0.0;
    let in_scope = |s: &&Second| windows.iter().any(|&(start, end)| s.overlaps(start, end));
    for s in timeline.iter().filter(in_scope).filter(|s| s.had_traffic()) {
        if let Some(why) = broken(plan, s) {
            let before = s.t.checked_sub(1).map_or(0.0, |t| rate_of_second(plan, t));
            return Capacity {
                rate: Some(before),
                at_ns: Some(s.t * SECOND),
                broken_by: Some(why),
                highest_held,
            };
        }
        highest_held = highest_held.max(rate_of_second(plan, s.t));
    }
    Capacity {
        rate: None,
        at_ns: None,
        broken_by: None,
        highest_held,
    }
}
