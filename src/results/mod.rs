//! `results.json`: the canonical record of a run. This module holds its types (their JSON
//! Schema is generated into `schemas/results.schema.json`); `derive` builds them from a run's
//! snapshot and judges the criteria; `write` writes them atomically. It holds no wall-clock
//! facts (those go to `run.json`), so a simulated run's file is the same, byte for byte, on
//! every run and machine.

mod derive;
mod write;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::engine::control::ControlRecord;
pub use crate::engine::live::Reload;
use crate::metrics::Counts;
pub use derive::{build, display, summary};
pub use write::{to_json, write_atomic, write_results};

/// Generator lag p99 above which the report warns that the generator, not the target, may
/// have limited the measurement.
pub const LAG_LIMIT_MS: f64 = 5.0;

/// The format of results.json; bumped when a field changes meaning. 2: criteria have a
/// `status` (`passed` null when not reached), `planned` is counted from the plan, rates are
/// shares of the transactions due, recovery includes the degraded share.
pub const FORMAT: u32 = 2;

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
    /// Transactions the whole plan holds (as edited by reloads). A checkpoint measures only
    /// part of them (`summary.totals.planned`).
    #[serde(default)]
    pub planned: u64,
    /// Where the run ended (the plan's end, or where it was stopped).
    pub ended_ms: u64,
    pub verdict: Verdict,
    pub criteria: Vec<CriterionResult>,
    pub summary: Summary,
    pub phases: Vec<PhaseResult>,
    /// One per request of an http target's mix (one, `default`, without
    /// `[[target.request]]`); empty for the simulated target.
    #[serde(default)]
    pub requests: Vec<RequestResult>,
    pub failures: Vec<FailureResult>,
    /// One entry per second of the run, by planned start, for its first
    /// `timeline_full_resolution_s` seconds; beyond, each entry covers `span_s` seconds (4 from
    /// the first hour on, 8 from the second, 16 from the fourth, doubling each time the run's
    /// length doubles), so the timeline stays under 16,000 entries whatever the run's length.
    pub timeline: Vec<TimelineSecond>,
    /// Present when the timeline holds entries longer than a second: the seconds kept one
    /// by one (3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline_full_resolution_s: Option<u64>,
    pub generator: GeneratorResult,
    pub components: Vec<ComponentResult>,
    pub resilience: Resilience,
    /// Where the system broke: the planned rate of the last second before the first broken
    /// one (see `[capacity]`).
    #[serde(default)]
    pub capacity: CapacityResult,
    pub business: BusinessResult,
    /// Errors by kind (http targets): refused, reset, bad-response, too-large, status-4xx,
    /// status-5xx, template.
    pub errors_by_kind: std::collections::BTreeMap<String, u64>,
    /// Why answers failed the scenario's `expect` (errors of kind `check`), by reason:
    /// wrong-status, not-json, missing-pointer, value-not-allowed, body-too-large. Absent
    /// when none did.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub check_failures: std::collections::BTreeMap<String, u64>,
    /// How an http target was reached: the HTTP version, TLS, and whether verification was
    /// skipped (`insecure`). Absent for the simulated target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<TransportResult>,
    /// The report formats the scenario asked for.
    pub report_formats: Vec<String>,
    /// The scenario's `[compare] max_regression`: what `gauntlet compare` judges this run by
    /// when given no `--max-regression`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_regression: Option<String>,
    /// Every reload of the scenario during `run --watch`, accepted or refused, in order.
    /// (Absent from results written before reloads existed: read as none.)
    #[serde(default)]
    pub reloads: Vec<Reload>,
    /// Every pause, resume and stop carried out during the run (dashboard, signals), in
    /// order: `at_ms` in plan time (which stands still while paused), `wall_ms` in wall time.
    #[serde(default)]
    pub controls: Vec<ControlRecord>,
    /// The `[[probe]]`s scraped during the run, each kept series per second. Absent when the
    /// scenario has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<ProbeResult>,
    /// A merged run's shards (`gauntlet merge`), in shard order; absent from a run that was
    /// not sharded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<crate::shard::ShardRow>,
}

/// A probe: how its scrapes went, and its series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeResult {
    pub name: String,
    /// As written in the scenario (`${NAME}` unexpanded).
    pub url: String,
    pub every_ms: u64,
    pub scrapes: u64,
    /// Scrapes that failed (counted by kind in `errors`); a failed scrape never stops the run.
    pub failed: u64,
    pub errors: std::collections::BTreeMap<String, u64>,
    /// The first failure, when one happened.
    pub first_error: Option<ProbeError>,
    pub series: Vec<SeriesResult>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeError {
    /// Plan time of the scrape.
    pub at_ms: u64,
    pub message: String,
}

/// A kept series: its statistics over the run and its value per second.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SeriesResult {
    pub name: String,
    /// The selector, as written.
    pub select: String,
    /// The per-second rate of increase is kept, not the value.
    pub rate: bool,
    /// Successful scrapes in which the selector matched no sample.
    pub missing: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    pub last: Option<f64>,
    /// One per second of the timeline: the highest value scraped in that second, null for a
    /// second without one.
    pub values: Vec<Option<f64>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TransportResult {
    /// "1.1" or "2".
    pub http: String,
    pub tls: bool,
    /// The service's certificate was not verified (`[target.tls] insecure = true`).
    pub insecure: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Aborted {
    pub check: String,
    pub scope: String,
    pub at_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    /// The run finished its plan and every criterion passed. Never true for a checkpoint, an
    /// interrupted run or a run with a criterion failed or not reached.
    pub passed: bool,
    /// "passed", "failed", "interrupted" or "incomplete" (a checkpoint of a run still going, or
    /// one that died before it ended).
    #[serde(default)]
    pub status: String,
    /// The verdict in the words the terminal and every report use.
    #[serde(default)]
    pub headline: String,
    pub criteria_passed: u32,
    pub criteria_failed: u32,
    /// Criteria whose scope had not started when the run stopped.
    #[serde(default)]
    pub criteria_not_reached: u32,
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
    /// "pass", "fail" or "not-reached" (its scope had not started when the run stopped).
    #[serde(default)]
    pub status: String,
    /// True for pass, false for fail, null when not reached.
    pub passed: Option<bool>,
    /// The run stopped before the scope's end: judged on what ran.
    #[serde(default)]
    pub partial: bool,
    /// The metric's value over the scope, in the same unit; null when it could not be computed.
    pub observed: Option<f64>,
    /// The observed value as a person reads it ("45.2ms", "0.02%").
    pub observed_text: String,
    pub note: Option<String>,
    pub abort: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct Totals {
    /// `planned` is counted from the plan, the outcomes from what the target did.
    #[serde(flatten)]
    pub counts: Counts,
    /// planned minus every accounted outcome: 0 unless a transaction went missing.
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
    /// http: ok answers in which the `decision` pointer found nothing (not JSON, or no value
    /// there); left out of every fraud figure. Absent when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unread: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
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
pub struct RequestResult {
    pub name: String,
    pub weight: f64,
    /// Its transactions over the run; `planned` counts the arrivals drawn for it.
    pub summary: Summary,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct PhaseResult {
    pub name: String,
    pub pattern: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub summary: Summary,
    /// The latency percentile spectrum (HdrHistogram's percentile plot): `[percentile, ms]`
    /// pairs from the median to 99.999% and the max; empty when nothing was answered.
    #[serde(default)]
    pub latency_spectrum: Vec<[f64; 2]>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Baseline {
    /// Median per-second p95 over the 30 s before the failure.
    pub p95_ms: Option<f64>,
    /// Errors and timeouts over the transactions due in those seconds.
    pub failure_rate: f64,
    /// Degraded decisions over ok ones in those seconds.
    #[serde(default)]
    pub degraded_share: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct FailureResult {
    pub name: String,
    pub kind: String,
    pub component: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub probability: f64,
    /// From the failure's end to the first of 5 consecutive recovered seconds (p95, error rate
    /// and degraded share back near the baseline); null if it never recovered before the run
    /// ended.
    pub recovery_time_ms: Option<u64>,
    /// Which of "latency", "errors" and "degradation" came back last (or never), holding
    /// recovery back; null when they came back together.
    #[serde(default)]
    pub recovery_held_back_by: Option<String>,
    /// The failure started before the run ended (a stopped run may never reach it).
    #[serde(default)]
    pub injected: bool,
    pub baseline: Baseline,
    /// Transactions planned during the failure's window.
    pub summary: Summary,
    /// Each of the model's components over the failure's window (the seconds it overlaps).
    /// Absent for an http target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<WindowComponent>,
    /// The components other than the one it hit that it spread to, in the order they were
    /// first affected (during the window or the 30 s after). Absent for an http target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cascade: Option<Vec<CascadeEntry>>,
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
    /// Seconds the entry covers, when more than one (beyond `timeline_full_resolution_s`);
    /// its counts are over all of them, its percentiles over all their transactions.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub span_s: u64,
    /// `planned` counted from the plan; the outcomes of the transactions planned in it.
    #[serde(flatten)]
    pub counts: Counts,
    /// Decisions made in a degraded mode.
    pub degraded: u64,
    pub latency_ms: Percentiles,
    /// The simulated model's components in this second, in pipeline order (by when calls
    /// were made). Absent for an http target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<[ComponentSecondResult; 5]>,
}

fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

impl TimelineSecond {
    /// Its counts per second of what it covers.
    pub fn per_second(&self, n: u64) -> f64 {
        n as f64 / self.span_s.max(1) as f64
    }
}

/// One component in one second of the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComponentSecondResult {
    pub name: std::borrow::Cow<'static, str>,
    /// Calls served well (ok, and not held up in its queue beyond its p99 service time) over
    /// calls made and calls its open breaker refused; 1 when nothing was asked of it.
    pub health: f64,
    pub calls: u64,
    pub errors: u64,
    pub timeouts: u64,
    /// Shed (queue full) or throttled.
    pub rejected: u64,
    /// Calls its open circuit breaker refused on its behalf.
    pub denied: u64,
    /// The most calls waiting in its queue.
    pub queue: u64,
    /// The most calls being served at once.
    pub in_flight: u64,
    /// Mean share of its servers busy (as its calls found them).
    pub utilisation: f64,
    /// `closed`, `half-open`, or `open` (also when it opened during the second).
    pub breaker: std::borrow::Cow<'static, str>,
}

/// One component over a failure's window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WindowComponent {
    pub name: String,
    /// Its lowest health in any second of the window.
    pub health_min: f64,
    pub calls: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub rejected: u64,
    pub queue_max: u64,
    pub utilisation_max: f64,
    /// The worst state of its breaker in the window.
    pub breaker: String,
}

/// A component a failure spread to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CascadeEntry {
    pub component: String,
    /// The start of the first second it was affected in.
    pub at_ms: u64,
    /// That, counted from the failure's start (0 within its first second).
    pub after_ms: u64,
    /// What affected it first: `health` (below 0.9), `errors` or `timeouts` (the rate rose
    /// more than 1 point over its baseline).
    pub reason: String,
    /// Its lowest health from then to the end of the failure's reach.
    pub health_min: f64,
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
    /// Share of seconds with traffic whose errors and timeouts stayed under 1% of those due.
    pub availability: Option<f64>,
    /// Seconds with traffic that were not available.
    pub downtime_s: u64,
    /// Failures that started before the run ended.
    pub failures_injected: u32,
    pub failures_recovered: u32,
    /// Of the failure that took longest to recover (or never did), what held it back:
    /// "latency", "errors" or "degradation"; null when none did.
    #[serde(default)]
    pub recovery_held_back_by: Option<String>,
    /// Per failure occurrence, in plan order; null where it never recovered.
    pub recovery_times_ms: Vec<Option<u64>>,
    /// Runs of consecutive seconds with any degraded decision.
    pub degradation_events: u32,
    /// The largest share of degraded decisions in any second.
    pub peak_degraded_share: f64,
    pub breaker_trips: u32,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct CapacityResult {
    /// The planned rate (TPS) of the last second before the first broken one; null when no
    /// second broke.
    pub rate: Option<f64>,
    /// When the first broken second started, in ms; null when none broke.
    pub at_ms: Option<u64>,
    /// What broke first: "error_rate", "degraded_share" or a criterion's check.
    pub broken_by: Option<String>,
    /// The highest planned rate of a second that held, before any broke.
    pub highest_held: f64,
    /// The planned rate when an `abort` criterion stopped the run; null when none did.
    pub abort_rate: Option<f64>,
    /// The thresholds in force (`[capacity]`): a second's error-and-timeout share and degraded
    /// share above which it is broken.
    pub error_rate: f64,
    pub degraded_share: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct BusinessResult {
    /// The figures use gauntlet's default prices: the scenario has no `[business]` table.
    #[serde(default)]
    pub default_prices: bool,
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
    /// `[business] investment`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub investment_usd: Option<f64>,
    /// investment / (money saved per transaction handled × monthly_transactions); absent when
    /// investment is not given or nothing was saved (it never pays back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payback_months: Option<f64>,
}

impl Results {
    /// Fills what results of an older format leave out, so their reports render in today's
    /// words: criteria statuses from `passed`, the verdict's status and headline, failures
    /// injected when the run reached them.
    pub fn upgrade(&mut self) {
        if self.format >= FORMAT {
            return;
        }
        for c in &mut self.criteria {
            if c.status.is_empty() {
                c.status = match c.passed {
                    Some(true) => "pass",
                    Some(false) => "fail",
                    None => "not-reached",
                }
                .to_string();
            }
        }
        for f in &mut self.failures {
            f.injected = f.start_ms < self.ended_ms;
        }
        let v = &mut self.verdict;
        if v.status.is_empty() {
            v.status = if !self.complete {
                "incomplete"
            } else if self.interrupted {
                "interrupted"
            } else if v.passed {
                "passed"
            } else {
                "failed"
            }
            .to_string();
            // A file of the first format could say passed for a run that never finished.
            v.passed &= v.status == "passed";
            v.headline = format!(
                "{} ({} of {} criteria passed)",
                v.status.to_uppercase(),
                v.criteria_passed,
                v.criteria_passed + v.criteria_failed
            );
        }
    }
}

/// A scope's totals read as its counts (`totals.planned`, `totals.ok`, ...).
impl std::ops::Deref for Totals {
    type Target = Counts;
    fn deref(&self) -> &Counts {
        &self.counts
    }
}

/// A second reads as its counts (`second.planned`, `second.ok`, ...).
impl std::ops::Deref for TimelineSecond {
    type Target = Counts;
    fn deref(&self) -> &Counts {
        &self.counts
    }
}
