//! `results.json`: the canonical record of a run, built from the plan, the measurements and
//! the verdict. Its JSON Schema is generated into `schemas/results.schema.json`. It holds no
//! wall-clock facts (those go to `run.json`), so a simulated run's file is the same, byte for
//! byte, on every run and machine. Writes are atomic: a temporary file, then a rename.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::Stop;
use crate::metrics::{Aggregate, Second, ms};
use crate::plan::Plan;
use crate::scenario::check::MetricKind;
use crate::scenario::model::Target;
use crate::target::simulated::Simulation;
use crate::verdict::{self, Judgement, Measured, Recovery};

/// Generator lag p99 above which the report warns that the generator, not the target, may
/// have limited the measurement.
pub const LAG_LIMIT_MS: f64 = 5.0;

/// The format of results.json; bumped when a field changes meaning.
pub const FORMAT: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "gauntlet results")]
pub struct Results {
    pub format: u32,
    pub gauntlet: String,
    pub scenario: String,
    pub description: Option<String>,
    pub seed: u64,
    pub digest: String,
    /// "simulated" or "http".
    pub target: String,
    /// False in a checkpoint written while the run goes on.
    pub complete: bool,
    /// The run was stopped by Ctrl-C or SIGTERM.
    pub interrupted: bool,
    /// The criterion that stopped the run, if one did.
    pub aborted: Option<Aborted>,
    /// The plan's length.
    pub duration_ms: u64,
    /// Where the run ended (the plan's end, or where it was stopped).
    pub ended_ms: u64,
    pub verdict: Verdict,
    pub criteria: Vec<CriterionResult>,
    pub summary: Summary,
    pub phases: Vec<PhaseResult>,
    pub failures: Vec<FailureResult>,
    /// One entry per second of the run, by planned start.
    pub timeline: Vec<TimelineSecond>,
    pub generator: GeneratorResult,
    pub components: Vec<ComponentResult>,
    pub resilience: Resilience,
    pub business: BusinessResult,
    /// Errors by kind (http targets): refused, reset, bad-response, too-large, status-4xx,
    /// status-5xx, template.
    pub errors_by_kind: std::collections::BTreeMap<String, u64>,
    /// The report formats the scenario asked for.
    pub report_formats: Vec<String>,
    /// Every reload of the scenario during `run --watch`, accepted or refused, in order.
    /// (Absent from results written before reloads existed: read as none.)
    #[serde(default)]
    pub reloads: Vec<Reload>,
}

/// One reload of the scenario while it ran (`run --watch`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Reload {
    /// When it took effect, or was turned down, in ms from the run's start.
    pub at_ms: u64,
    pub accepted: bool,
    /// The digest of the version saved; null when it did not compile.
    pub digest: Option<String>,
    /// What changed against the version running before, one line each (accepted reloads).
    pub changes: Vec<String>,
    /// Why it was refused: its diagnostics (`FILE:LINE:COL: message`) or the rule it breaks.
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Aborted {
    pub check: String,
    pub scope: String,
    pub at_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    /// Every criterion passed (and the run was not interrupted).
    pub passed: bool,
    pub criteria_passed: u32,
    pub criteria_failed: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct CriterionResult {
    pub check: String,
    pub metric: String,
    /// "run", "phase:NAME" or "during:NAME".
    pub scope: String,
    pub op: String,
    /// In the metric's base unit (ms, a fraction, a count, TPS or USD).
    pub threshold: f64,
    /// "ms", "share", "ratio", "count", "tps" or "usd".
    pub unit: String,
    pub passed: bool,
    /// The metric's value over the scope, in the same unit; null when it could not be computed.
    pub observed: Option<f64>,
    /// The observed value as a person reads it ("45.2ms", "0.02%").
    pub observed_text: String,
    pub note: Option<String>,
    pub abort: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct Totals {
    pub planned: u64,
    pub ok: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub dropped: u64,
    pub cancelled: u64,
    /// planned minus every accounted outcome; 0 in every run.
    pub lost: u64,
}

/// Latency statistics in ms; null when nothing was answered.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct Stats {
    pub min: Option<f64>,
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub p999: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct FraudSummary {
    /// Fraud blocked or sent to review, over fraud answered.
    pub recall: Option<f64>,
    /// Fraud among the transactions blocked or sent to review.
    pub precision: Option<f64>,
    /// Legitimate transactions blocked or sent to review, over legitimate answered.
    pub false_positive_rate: Option<f64>,
    /// USD of fraud blocked or sent to review.
    pub prevented_amount: f64,
    /// USD of fraud approved.
    pub missed_amount: f64,
    pub fraud: u64,
    pub legit: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct Decisions {
    pub approve: u64,
    pub review: u64,
    pub block: u64,
    /// Made without the ML score (rules only).
    pub degraded: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub totals: Totals,
    /// From each transaction's planned start (coordinated-omission corrected).
    pub latency_ms: Stats,
    /// From the moment it was actually sent.
    pub service_time_ms: Stats,
    /// ok transactions per second over the scope.
    pub throughput: f64,
    pub fraud: FraudSummary,
    pub decisions: Decisions,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct PhaseResult {
    pub name: String,
    pub pattern: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub summary: Summary,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Baseline {
    /// Median per-second p95 over the 30 s before the failure.
    pub p95_ms: Option<f64>,
    /// Errors and timeouts over planned in those seconds.
    pub failure_rate: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct FailureResult {
    pub name: String,
    pub kind: String,
    pub component: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub probability: f64,
    /// From the failure's end to the first of 5 consecutive healthy seconds; null if it never
    /// recovered before the run ended.
    pub recovery_time_ms: Option<u64>,
    pub baseline: Baseline,
    /// Transactions planned during the failure's window.
    pub summary: Summary,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct Percentiles {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct TimelineSecond {
    /// Seconds from the run's start.
    pub t: u64,
    pub planned: u64,
    pub ok: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub dropped: u64,
    pub cancelled: u64,
    /// Decisions made in a degraded mode.
    pub degraded: u64,
    pub latency_ms: Percentiles,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct Lag {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct GeneratorResult {
    /// How late the generator sent, in ms (0 in simulation: virtual time is never late).
    pub lag_ms: Lag,
    /// The lag may have limited the measurement (p99 above 5 ms).
    pub limited: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ComponentResult {
    pub name: String,
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub timeouts: u64,
    /// Shed (queue full) or throttled.
    pub rejected: u64,
    /// What its callers waited, queue included.
    pub latency_ms: Percentiles,
    pub peak_queue: u64,
    pub peak_concurrency: u64,
    pub concurrency: u32,
    /// Server time used over server time available.
    pub utilisation: f64,
    pub breaker_trips: u32,
    /// Share of the seconds it was called in where under 1% of its calls failed.
    pub health: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Resilience {
    /// Share of seconds with traffic whose errors and timeouts stayed under 1% of planned.
    pub availability: Option<f64>,
    /// Seconds with traffic that were not available.
    pub downtime_s: u64,
    pub failures_injected: u32,
    pub failures_recovered: u32,
    /// Per failure occurrence, in plan order; null where it never recovered.
    pub recovery_times_ms: Vec<Option<u64>>,
    /// Runs of consecutive seconds with any degraded decision.
    pub degradation_events: u32,
    /// The largest share of degraded decisions in any second.
    pub peak_degraded_share: f64,
    pub breaker_trips: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct BusinessResult {
    pub fraud_prevented_usd: f64,
    pub fraud_missed_usd: f64,
    pub total_cost_usd: f64,
    pub cost_per_transaction_usd: Option<f64>,
    pub money_saved_usd: f64,
    pub roi: Option<f64>,
    /// Legitimate transactions blocked.
    pub legit_blocked: u64,
    /// Their cost in customer friction, USD.
    pub customer_impact_usd: f64,
}

/// Rounds to `d` decimals, so files stay readable (the value is still computed exactly).
fn round(x: f64, d: i32) -> f64 {
    let f = 10f64.powi(d);
    (x * f).round() / f
}

fn stats(
    h: &hdrhistogram::Histogram<u64>,
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
    n: u64,
) -> Stats {
    if n == 0 || h.is_empty() {
        return Stats::default();
    }
    let q = |x: f64| Some(round(ms(h.value_at_quantile(x)), 3));
    Stats {
        min: Some(round(min_ns as f64 / 1e6, 3)),
        mean: Some(round(sum_ns as f64 / n as f64 / 1e6, 3)),
        p50: q(0.50),
        p90: q(0.90),
        p95: q(0.95),
        p99: q(0.99),
        p999: q(0.999),
        max: Some(round(max_ns as f64 / 1e6, 3)),
    }
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| round(num as f64 / den as f64, 6))
}

/// The summary of one scope whose windows last `seconds`.
pub fn summary(agg: &Aggregate, seconds: f64) -> Summary {
    let n = agg.answered();
    let fr = &agg.fraud;
    Summary {
        totals: Totals {
            planned: agg.planned,
            ok: agg.ok,
            errors: agg.errors,
            timeouts: agg.timeouts,
            dropped: agg.dropped,
            cancelled: agg.cancelled,
            lost: agg.lost(),
        },
        latency_ms: stats(
            &agg.latency,
            agg.latency_sum_ns,
            agg.latency_min_ns,
            agg.latency_max_ns,
            n,
        ),
        service_time_ms: stats(
            &agg.service,
            agg.service_sum_ns,
            agg.service_min_ns,
            agg.service_max_ns,
            n,
        ),
        throughput: if seconds > 0.0 {
            round(agg.ok as f64 / seconds, 3)
        } else {
            0.0
        },
        fraud: FraudSummary {
            recall: ratio(fr.fraud_flagged, fr.fraud),
            precision: ratio(fr.fraud_flagged, fr.reviews + fr.blocks),
            false_positive_rate: ratio(fr.legit_flagged, fr.legit),
            prevented_amount: round(fr.prevented_cents as f64 / 100.0, 2),
            missed_amount: round(fr.missed_cents as f64 / 100.0, 2),
            fraud: fr.fraud,
            legit: fr.legit,
        },
        decisions: Decisions {
            approve: fr.approves,
            review: fr.reviews,
            block: fr.blocks,
            degraded: agg.degraded,
        },
    }
}

/// A metric's value as a person reads it.
pub fn display(kind: MetricKind, value: Option<f64>) -> String {
    let Some(v) = value else {
        return "n/a".to_string();
    };
    match kind {
        MetricKind::Time => {
            if v >= 1000.0 {
                format!("{}s", trim(v / 1000.0, 3))
            } else {
                format!("{}ms", trim(v, 3))
            }
        }
        MetricKind::Share | MetricKind::Ratio => format!("{}%", trim(v * 100.0, 3)),
        MetricKind::Money => format!("${}", trim(v, 2)),
        MetricKind::Rate => format!("{} TPS", trim(v, 1)),
        MetricKind::Count => trim(v, 0),
    }
}

fn trim(x: f64, d: usize) -> String {
    let s = format!("{x:.d$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn unit(kind: MetricKind) -> &'static str {
    match kind {
        MetricKind::Time => "ms",
        MetricKind::Share => "share",
        MetricKind::Ratio => "ratio",
        MetricKind::Count => "count",
        MetricKind::Rate => "tps",
        MetricKind::Money => "usd",
    }
}

fn percentiles(h: &hdrhistogram::Histogram<u64>) -> Percentiles {
    if h.is_empty() {
        return Percentiles::default();
    }
    let q = |x: f64| Some(round(ms(h.value_at_quantile(x)), 3));
    Percentiles {
        p50: q(0.5),
        p95: q(0.95),
        p99: q(0.99),
    }
}

/// Everything results.json needs from one run.
pub struct RunRecord<'a> {
    pub plan: &'a Plan,
    pub run: &'a Aggregate,
    pub phases: &'a [Aggregate],
    pub failures: &'a [Aggregate],
    pub timeline: &'a [Second],
    pub simulation: Option<&'a Simulation>,
    pub stop: Option<Stop>,
    pub end_ns: u64,
    pub complete: bool,
    pub errors_by_kind: std::collections::BTreeMap<String, u64>,
    pub reloads: &'a [Reload],
}

/// Judges the criteria and assembles the results.
pub fn build(r: &RunRecord<'_>) -> Results {
    let plan = r.plan;
    let recoveries: Vec<Recovery> = verdict::recoveries(plan, r.timeline);
    let measured = Measured {
        plan,
        run: r.run,
        phases: r.phases,
        failures: r.failures,
        timeline: r.timeline,
        recoveries: &recoveries,
        now_ns: r.end_ns,
    };
    let mut judgements: Vec<Judgement> = plan.criteria.iter().map(|c| measured.judge(c)).collect();
    // The criterion that stopped the run failed, whatever its value over the whole (cut
    // short) run says now.
    if let Some(Stop::Aborted { criterion, at_ns }) = r.stop
        && let Some(j) = judgements.get_mut(criterion)
    {
        j.passed = false;
        j.note = Some(format!(
            "failed live and stopped the run at {}",
            crate::units::ns(at_ns)
        ));
    }
    let criteria: Vec<CriterionResult> = plan
        .criteria
        .iter()
        .zip(&judgements)
        .map(|(c, j)| CriterionResult {
            check: c.check.text.clone(),
            metric: c.check.metric.to_string(),
            scope: c.scope.label(),
            op: c.check.op.symbol().to_string(),
            threshold: c.check.threshold,
            unit: unit(c.check.kind).to_string(),
            passed: j.passed,
            observed: j.observed.map(|v| round(v, 6)),
            observed_text: display(c.check.kind, j.observed),
            note: j.note.clone(),
            abort: c.abort,
        })
        .collect();
    let failed = criteria.iter().filter(|c| !c.passed).count() as u32;
    let interrupted = matches!(r.stop, Some(Stop::Interrupted { .. }));
    let aborted = match r.stop {
        Some(Stop::Aborted { criterion, at_ns }) => plan.criteria.get(criterion).map(|c| Aborted {
            check: c.check.text.clone(),
            scope: c.scope.label(),
            at_ms: at_ns / 1_000_000,
        }),
        _ => None,
    };

    let secs = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / 1e9;
    let phases = plan
        .phases
        .iter()
        .zip(r.phases)
        .map(|(p, agg)| PhaseResult {
            name: p.name.clone(),
            pattern: p.load.pattern().to_string(),
            start_ms: p.start_ns / 1_000_000,
            end_ms: p.end_ns / 1_000_000,
            summary: summary(agg, secs(p.start_ns, p.end_ns)),
        })
        .collect();
    let failures = plan
        .failures
        .iter()
        .zip(r.failures)
        .zip(&recoveries)
        .map(|((f, agg), rec)| FailureResult {
            name: f.name.clone(),
            kind: f.effect.kind().to_string(),
            component: f.component.clone(),
            start_ms: f.start_ns / 1_000_000,
            end_ms: f.end_ns / 1_000_000,
            probability: f.probability,
            recovery_time_ms: rec.recovery_ms,
            baseline: Baseline {
                p95_ms: rec.baseline_p95_ms.map(|v| round(v, 3)),
                failure_rate: round(rec.baseline_failure_rate, 6),
            },
            summary: summary(agg, secs(f.start_ns, f.end_ns)),
        })
        .collect();
    let timeline = r
        .timeline
        .iter()
        .map(|s| TimelineSecond {
            t: s.t,
            planned: s.planned,
            ok: s.ok,
            errors: s.errors,
            timeouts: s.timeouts,
            dropped: s.dropped,
            cancelled: s.cancelled,
            degraded: s.degraded,
            latency_ms: Percentiles {
                p50: s.p50_ms,
                p95: s.p95_ms,
                p99: s.p99_ms,
            },
        })
        .collect();

    let components: Vec<ComponentResult> = r
        .simulation
        .map(|sim| {
            sim.components
                .iter()
                .map(|c| {
                    let s = &c.stats;
                    let called: Vec<&(u32, u32)> = s
                        .per_second
                        .iter()
                        .filter(|(calls, _)| *calls > 0)
                        .collect();
                    let healthy = called
                        .iter()
                        .filter(|(calls, failed)| (*failed as f64) < 0.01 * *calls as f64)
                        .count();
                    ComponentResult {
                        name: c.name.to_string(),
                        requests: s.requests,
                        ok: s.ok,
                        errors: s.errors,
                        timeouts: s.timeouts,
                        rejected: s.rejected,
                        latency_ms: percentiles(&s.latency_us),
                        peak_queue: s.peak_queue,
                        peak_concurrency: s.peak_concurrency,
                        concurrency: c.spec.concurrency,
                        utilisation: round(c.utilisation(r.end_ns.max(1)), 4),
                        breaker_trips: s.breaker_trips,
                        health: if called.is_empty() {
                            1.0
                        } else {
                            round(healthy as f64 / called.len() as f64, 4)
                        },
                    }
                })
                .collect()
        })
        .unwrap_or_default();

    let with_traffic: Vec<&Second> = r
        .timeline
        .iter()
        .filter(|s| s.planned > s.cancelled)
        .collect();
    let up = with_traffic
        .iter()
        .filter(|s| s.failure_rate() < verdict::AVAILABLE_BELOW)
        .count();
    let mut events = 0;
    let mut previous = false;
    let mut peak_degraded: f64 = 0.0;
    for s in r.timeline {
        let degraded = s.degraded > 0;
        if degraded && !previous {
            events += 1;
        }
        previous = degraded;
        peak_degraded = peak_degraded.max(s.degraded_share());
    }
    let resilience = Resilience {
        availability: (!with_traffic.is_empty())
            .then(|| round(up as f64 / with_traffic.len() as f64, 6)),
        downtime_s: (with_traffic.len() - up) as u64,
        failures_injected: plan.failures.len() as u32,
        failures_recovered: recoveries
            .iter()
            .filter(|x| x.recovery_ms.is_some())
            .count() as u32,
        recovery_times_ms: recoveries.iter().map(|x| x.recovery_ms).collect(),
        degradation_events: events,
        peak_degraded_share: round(peak_degraded, 6),
        breaker_trips: components.iter().map(|c| c.breaker_trips).sum(),
    };
    let m = verdict::money(r.run, &plan.business);
    let business = BusinessResult {
        fraud_prevented_usd: round(m.prevented_usd, 2),
        fraud_missed_usd: round(m.missed_usd, 2),
        total_cost_usd: round(m.total_cost_usd, 2),
        cost_per_transaction_usd: m.cost_per_transaction_usd.map(|v| round(v, 6)),
        money_saved_usd: round(m.money_saved_usd, 2),
        roi: m.roi.map(|v| round(v, 4)),
        legit_blocked: m.legit_blocked,
        customer_impact_usd: round(m.customer_impact_usd, 2),
    };
    let lag = &r.run.lag;
    let lag_ms = if lag.is_empty() {
        Lag::default()
    } else {
        // Lag is recorded with a 1 µs floor; anything at the floor is no lag at all.
        let q = |x: f64| {
            if lag.value_at_quantile(x) <= 1 {
                0.0
            } else {
                round(ms(lag.value_at_quantile(x)), 3)
            }
        };
        Lag {
            p50: q(0.5),
            p99: q(0.99),
            max: if lag.max() <= 1 {
                0.0
            } else {
                round(ms(lag.max()), 3)
            },
        }
    };

    Results {
        format: FORMAT,
        gauntlet: env!("CARGO_PKG_VERSION").to_string(),
        scenario: plan.name.clone(),
        description: plan.description.clone(),
        seed: plan.seed,
        digest: plan.digest.clone(),
        target: match plan.target {
            Target::Simulated { .. } => "simulated".to_string(),
            Target::Http { .. } => "http".to_string(),
        },
        complete: r.complete,
        interrupted,
        aborted,
        duration_ms: plan.duration_ns / 1_000_000,
        ended_ms: r.end_ns / 1_000_000,
        verdict: Verdict {
            passed: failed == 0 && !interrupted,
            criteria_passed: criteria.len() as u32 - failed,
            criteria_failed: failed,
        },
        criteria,
        summary: summary(r.run, secs(0, r.end_ns.min(plan.duration_ns).max(1))),
        phases,
        failures,
        timeline,
        generator: GeneratorResult {
            limited: lag_ms.p99 > LAG_LIMIT_MS,
            lag_ms,
        },
        components,
        resilience,
        business,
        errors_by_kind: r.errors_by_kind.clone(),
        report_formats: plan.report.formats.iter().map(|f| f.0.clone()).collect(),
        reloads: r.reloads.to_vec(),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// results.json as written: pretty JSON with a final newline.
pub fn to_json(results: &Results) -> String {
    serde_json::to_string_pretty(results).expect("results serialize") + "\n"
}
