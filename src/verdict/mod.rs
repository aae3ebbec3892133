//! Stage 5: judging. Each criterion's metric is computed over its scope (the run, a phase, a
//! failure's windows) from the recorded aggregates and timeline, and compared with its
//! threshold. Recovery of each failure is found here, from the per-second timeline, as
//! architecture.md defines it. The same code judges live (for `abort`) and at the end.

use crate::metrics::{Aggregate, Second, ms};
use crate::plan::{Plan, PlannedCriterion, Scope};
use crate::scenario::model::Business;

const SECOND: u64 = 1_000_000_000;
/// Seconds before a failure that make its baseline.
pub const BASELINE_SECONDS: u64 = 30;
/// Consecutive healthy seconds that mark recovery.
pub const RECOVERY_STREAK: usize = 5;
/// A recovered second's p95 is within this factor of the baseline's.
pub const RECOVERY_P95_FACTOR: f64 = 1.2;
/// ... and its failure rate within this many points (as a fraction) of the baseline's.
pub const RECOVERY_RATE_SLACK: f64 = 0.001;
/// A second is available when its failure rate (errors and timeouts over planned) is under this.
pub const AVAILABLE_BELOW: f64 = 0.01;

/// How one failure occurrence recovered.
#[derive(Clone, Debug, PartialEq)]
pub struct Recovery {
    /// The median of the per-second p95 latencies in the 30 s before the failure.
    pub baseline_p95_ms: Option<f64>,
    /// Errors and timeouts over planned in those seconds.
    pub baseline_failure_rate: f64,
    /// From the failure's end to the first of 5 consecutive healthy seconds; None if never.
    pub recovery_ms: Option<u64>,
}

/// Recovery of every failure occurrence of the plan, from a final (or partial) timeline.
pub fn recoveries(plan: &Plan, timeline: &[Second]) -> Vec<Recovery> {
    plan.failures
        .iter()
        .map(|f| recovery(f.start_ns, f.end_ns, timeline))
        .collect()
}

fn recovery(start: u64, end: u64, timeline: &[Second]) -> Recovery {
    let first = (start / SECOND).saturating_sub(BASELINE_SECONDS);
    let before: Vec<&Second> = timeline
        .iter()
        .filter(|s| s.t >= first && (s.t + 1) * SECOND <= start && s.planned > 0)
        .collect();
    let mut p95s: Vec<f64> = before.iter().filter_map(|s| s.p95_ms).collect();
    p95s.sort_by(f64::total_cmp);
    let baseline_p95_ms = (!p95s.is_empty()).then(|| p95s[p95s.len() / 2]);
    let planned: u64 = before.iter().map(|s| s.planned).sum();
    let failed: u64 = before.iter().map(|s| s.errors + s.timeouts).sum();
    let baseline_failure_rate = if planned == 0 {
        0.0
    } else {
        failed as f64 / planned as f64
    };

    let from = end.div_ceil(SECOND);
    let mut streak: Option<u64> = None;
    let mut count = 0;
    let mut recovery_ms = None;
    for s in timeline.iter().filter(|s| s.t >= from) {
        if s.planned == 0 || s.planned == s.cancelled {
            continue; // nothing was sent: it says nothing either way
        }
        let p95_ok = match (baseline_p95_ms, s.p95_ms) {
            (Some(b), Some(p)) => p <= b * RECOVERY_P95_FACTOR,
            (None, _) => true,
            (Some(_), None) => false,
        };
        let rate_ok = s.failure_rate() <= baseline_failure_rate + RECOVERY_RATE_SLACK;
        if p95_ok && rate_ok {
            if streak.is_none() {
                streak = Some(s.t);
            }
            count += 1;
            if count >= RECOVERY_STREAK {
                let at = streak.unwrap_or(s.t) * SECOND;
                recovery_ms = Some(at.saturating_sub(end) / 1_000_000);
                break;
            }
        } else {
            streak = None;
            count = 0;
        }
    }
    Recovery {
        baseline_p95_ms,
        baseline_failure_rate,
        recovery_ms,
    }
}

/// What the criteria are judged on.
pub struct Measured<'a> {
    pub plan: &'a Plan,
    pub run: &'a Aggregate,
    pub phases: &'a [Aggregate],
    pub failures: &'a [Aggregate],
    pub timeline: &'a [Second],
    pub recoveries: &'a [Recovery],
    /// Virtual time of the judgement: the run's end, or now for live checks.
    pub now_ns: u64,
}

/// A criterion's judgement.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    pub passed: bool,
    /// The metric's value in its base unit (ms for times, a fraction for shares); None when it
    /// could not be computed.
    pub observed: Option<f64>,
    /// Why there is no value, or what made it fail beyond the number.
    pub note: Option<String>,
}

/// The business figures of a scope, from its decisions and the scenario's prices.
#[derive(Clone, Debug, PartialEq)]
pub struct Money {
    pub prevented_usd: f64,
    pub missed_usd: f64,
    pub total_cost_usd: f64,
    pub cost_per_transaction_usd: Option<f64>,
    pub money_saved_usd: f64,
    pub roi: Option<f64>,
    pub legit_blocked: u64,
    pub customer_impact_usd: f64,
}

pub fn money(agg: &Aggregate, b: &Business) -> Money {
    let handled = agg.answered();
    let fr = &agg.fraud;
    let total_cost_usd = b.cost_per_million * handled as f64 / 1e6
        + b.review_cost * fr.reviews as f64
        + b.false_positive_cost * fr.legit_blocked as f64;
    let prevented_usd = fr.prevented_cents as f64 / 100.0;
    let money_saved_usd = prevented_usd - total_cost_usd;
    Money {
        prevented_usd,
        missed_usd: fr.missed_cents as f64 / 100.0,
        total_cost_usd,
        cost_per_transaction_usd: (handled > 0).then(|| total_cost_usd / handled as f64),
        money_saved_usd,
        roi: (total_cost_usd > 0.0).then(|| money_saved_usd / total_cost_usd),
        legit_blocked: fr.legit_blocked,
        customer_impact_usd: b.false_positive_cost * fr.legit_blocked as f64,
    }
}

impl Measured<'_> {
    /// The aggregate of a scope (several failure occurrences add up).
    pub fn aggregate(&self, scope: &Scope) -> Aggregate {
        match scope {
            Scope::Run => self.run.clone(),
            Scope::Phase { index, .. } => self.phases[*index].clone(),
            Scope::Failure { occurrences, .. } => {
                let mut agg = Aggregate::new(2);
                for &j in occurrences {
                    agg.merge(&self.failures[j]);
                }
                agg
            }
        }
    }

    fn seconds<'s>(&'s self, windows: &'s [(u64, u64)]) -> impl Iterator<Item = &'s Second> + 's {
        self.timeline.iter().filter(move |s| {
            let (a, b) = (s.t * SECOND, (s.t + 1) * SECOND);
            windows.iter().any(|&(start, end)| a < end && b > start)
        })
    }

    /// Failure occurrences a criterion's recovery_time looks at.
    fn failures_in(&self, c: &PlannedCriterion) -> Vec<usize> {
        match &c.scope {
            Scope::Run => (0..self.plan.failures.len()).collect(),
            Scope::Phase { index, .. } => {
                let p = &self.plan.phases[*index];
                (0..self.plan.failures.len())
                    .filter(|&j| {
                        self.plan.failures[j].start_ns < p.end_ns
                            && self.plan.failures[j].end_ns > p.start_ns
                    })
                    .collect()
            }
            Scope::Failure { occurrences, .. } => occurrences.clone(),
        }
    }

    /// The value of `c`'s metric over its scope, or why there is none.
    pub fn value(&self, c: &PlannedCriterion) -> Result<f64, String> {
        let metric = c.check.metric;
        if metric == "recovery_time" {
            return self.recovery_value(c);
        }
        let agg = self.aggregate(&c.scope);
        let share = |num: u64, den: u64, what: &str| -> Result<f64, String> {
            if den == 0 {
                Err(format!("no {what} in scope"))
            } else {
                Ok(num as f64 / den as f64)
            }
        };
        let stat = |h: &hdrhistogram::Histogram<u64>,
                    sum: u128,
                    min: u64,
                    max: u64,
                    n: u64,
                    stat: &str|
         -> Result<f64, String> {
            if n == 0 || h.is_empty() {
                return Err("no answered transactions in scope".to_string());
            }
            Ok(match stat {
                "min" => min as f64 / 1e6,
                "max" => max as f64 / 1e6,
                "mean" => sum as f64 / n as f64 / 1e6,
                "p50" => ms(h.value_at_quantile(0.50)),
                "p90" => ms(h.value_at_quantile(0.90)),
                "p95" => ms(h.value_at_quantile(0.95)),
                "p99" => ms(h.value_at_quantile(0.99)),
                "p99.9" => ms(h.value_at_quantile(0.999)),
                other => return Err(format!("unknown statistic {other}")),
            })
        };
        let answered = agg.answered();
        if let Some(s) = metric.strip_prefix("latency.") {
            return stat(
                &agg.latency,
                agg.latency_sum_ns,
                agg.latency_min_ns,
                agg.latency_max_ns,
                answered,
                s,
            );
        }
        if let Some(s) = metric.strip_prefix("service_time.") {
            return stat(
                &agg.service,
                agg.service_sum_ns,
                agg.service_min_ns,
                agg.service_max_ns,
                answered,
                s,
            );
        }
        let fr = &agg.fraud;
        let m = money(&agg, &self.plan.business);
        match metric {
            "throughput" => {
                let secs: f64 = c
                    .windows
                    .iter()
                    .map(|&(a, b)| b.min(self.now_ns.max(a)) - a)
                    .sum::<u64>() as f64
                    / 1e9;
                if secs <= 0.0 {
                    Err("the scope has not started".to_string())
                } else {
                    Ok(agg.ok as f64 / secs)
                }
            }
            "throughput_ratio" => share(agg.ok, agg.planned, "planned transactions"),
            "requests" => Ok(answered as f64),
            "errors" => Ok(agg.errors as f64),
            "timeouts" => Ok(agg.timeouts as f64),
            "dropped" => Ok(agg.dropped as f64),
            "lost" => Ok(agg.lost() as f64),
            "error_rate" => share(agg.errors, agg.planned, "planned transactions"),
            "timeout_rate" => share(agg.timeouts, agg.planned, "planned transactions"),
            "drop_rate" => share(agg.dropped, agg.planned, "planned transactions"),
            "degradation.max" => {
                let max = self
                    .seconds(&c.windows)
                    .map(Second::degraded_share)
                    .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
                max.ok_or_else(|| "no seconds in scope yet".to_string())
            }
            "fraud.recall" => share(
                fr.fraud_flagged,
                fr.fraud,
                "fraudulent transactions answered",
            ),
            "fraud.precision" => share(
                fr.fraud_flagged,
                fr.reviews + fr.blocks,
                "flagged transactions",
            ),
            "fraud.false_positive_rate" => share(
                fr.legit_flagged,
                fr.legit,
                "legitimate transactions answered",
            ),
            "fraud.prevented_amount" => Ok(m.prevented_usd),
            "fraud.missed_amount" => Ok(m.missed_usd),
            "business.money_saved" => Ok(m.money_saved_usd),
            "business.roi" => m
                .roi
                .ok_or_else(|| "nothing was spent in scope".to_string()),
            "business.cost_per_transaction" => m
                .cost_per_transaction_usd
                .ok_or_else(|| "no transactions handled in scope".to_string()),
            "availability" => {
                let seconds: Vec<&Second> = self
                    .seconds(&c.windows)
                    .filter(|s| s.planned > s.cancelled)
                    .collect();
                if seconds.is_empty() {
                    return Err("no seconds with traffic in scope".to_string());
                }
                let up = seconds
                    .iter()
                    .filter(|s| s.failure_rate() < AVAILABLE_BELOW)
                    .count();
                Ok(up as f64 / seconds.len() as f64)
            }
            "generator.lag.p99" => {
                if agg.lag.is_empty() {
                    Ok(0.0)
                } else {
                    Ok(ms(agg.lag.value_at_quantile(0.99)))
                }
            }
            other => Err(format!("unknown metric {other}")),
        }
    }

    fn recovery_value(&self, c: &PlannedCriterion) -> Result<f64, String> {
        let mut worst: f64 = 0.0;
        let mut never = Vec::new();
        for j in self.failures_in(c) {
            let f = &self.plan.failures[j];
            if f.end_ns > self.now_ns {
                continue; // not over yet
            }
            match self.recoveries.get(j).and_then(|r| r.recovery_ms) {
                Some(ms) => worst = worst.max(ms as f64),
                None => {
                    // Still recovering: as long as it has been since the end, so a live check
                    // fails once that passes the threshold.
                    worst = worst.max((self.now_ns - f.end_ns) as f64 / 1e6);
                    never.push(f.name.clone());
                }
            }
        }
        if !never.is_empty() && self.now_ns >= self.plan.duration_ns {
            return Err(format!(
                "{} never recovered before the run ended",
                never.join(", ")
            ));
        }
        Ok(worst)
    }

    /// Judges one criterion.
    pub fn judge(&self, c: &PlannedCriterion) -> Judgement {
        match self.value(c) {
            Ok(v) => Judgement {
                passed: c.check.op.holds(v, c.check.threshold),
                observed: Some(v),
                note: None,
            },
            Err(note) => Judgement {
                passed: false,
                observed: None,
                note: Some(note),
            },
        }
    }
}

/// The first `abort = true` criterion that fails live at `now`, among those whose scope is
/// under way and past its grace. A metric without data yet never aborts a run.
pub fn failing_abort(plan: &Plan, now: u64, rec: &crate::metrics::Recorder) -> Option<usize> {
    let live: Vec<usize> = (0..plan.criteria.len())
        .filter(|&i| {
            let c = &plan.criteria[i];
            c.abort
                && c.windows
                    .first()
                    .is_some_and(|&(start, _)| now >= start + c.abort_grace_ns)
        })
        .collect();
    if live.is_empty() {
        return None;
    }
    // Recovery scans the whole timeline; only do it when a live criterion asks for it.
    let needs_recovery = live
        .iter()
        .any(|&i| plan.criteria[i].check.metric == "recovery_time");
    let recoveries = if needs_recovery {
        recoveries(plan, &rec.timeline)
    } else {
        Vec::new()
    };
    let measured = Measured {
        plan,
        run: &rec.run,
        phases: &rec.phases,
        failures: &rec.failures,
        timeline: &rec.timeline,
        recoveries: &recoveries,
        now_ns: now,
    };
    live.into_iter().find(|&i| {
        let c = &plan.criteria[i];
        measured
            .value(c)
            .is_ok_and(|v| !c.check.op.holds(v, c.check.threshold))
    })
}
