//! What the dashboard shows, as plain data built from a run's snapshot on the engine's thread:
//! the live figures (`/api/live` and every server-sent `live` event), the run's shape
//! (`/api/run`), one point per closed second for the charts, and the OpenMetrics text.

use std::fmt::Write as _;

use serde::Serialize;

use crate::engine::Snapshot;
use crate::engine::control::ControlRecord;
use crate::metrics::Counts;
use crate::plan::Plan;
use crate::results::display;
use crate::targets::ComponentState;
use crate::verdict;

const SECOND: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

/// `running`, `paused` or `finished`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Running,
    Paused,
    Finished,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LiveCriterion {
    pub check: String,
    pub scope: String,
    /// `pending` (its scope has not started), `pass`, `fail` or `no-data`, on what ran so
    /// far.
    pub status: &'static str,
    pub observed: Option<f64>,
    pub observed_text: String,
    pub abort: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct LiveFraud {
    /// Fraud flagged over fraud answered, so far; null before any.
    pub recall: Option<f64>,
    pub caught: u64,
    pub seen: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct LiveBusiness {
    pub money_saved_usd: f64,
    pub fraud_prevented_usd: f64,
    /// The scenario has no `[business]` prices: costs are the defaults.
    pub default_prices: bool,
}

/// A failure window under way.
#[derive(Clone, Debug, Serialize)]
pub struct ActiveFailure {
    pub name: String,
    pub component: String,
    pub kind: String,
    pub ends_ms: u64,
}

/// The recovery timer after the last failure window that closed.
#[derive(Clone, Debug, Serialize)]
pub struct Recovering {
    pub failure: String,
    pub ended_ms: u64,
    /// Whether the service is back (the last closed second was healthy).
    pub recovered: bool,
}

/// `/api/live`: the run as it stands.
#[derive(Clone, Debug, Serialize)]
pub struct Live {
    pub scenario: String,
    pub target: &'static str,
    pub state: State,
    /// Plan time: ms from the start, pauses excluded.
    pub elapsed_ms: u64,
    pub duration_ms: u64,
    /// The phase under way (null past the last one).
    pub phase: Option<String>,
    /// Ok answers per second in the last whole second that closed (0 while paused).
    pub throughput: u64,
    /// Which second that is (ms from the start); null before the first closes.
    pub second_ms: Option<u64>,
    /// The plan's rate now (0 while paused).
    pub planned_rate: f64,
    /// Latency of the last closed second, ms.
    pub latency_ms: Latency,
    /// Errors over transactions due in the last closed second.
    pub error_rate: f64,
    pub timeout_rate: f64,
    /// Degraded decisions over ok answers in the last closed second.
    pub degraded_share: f64,
    pub active_failures: Vec<String>,
    pub failures: Vec<ActiveFailure>,
    pub recovering: Option<Recovering>,
    /// The run's outcomes so far; `planned` counts the arrivals planned up to now.
    pub totals: Counts,
    /// Seconds with traffic where under 1% failed, over seconds with traffic, so far.
    pub availability: Option<f64>,
    pub criteria: Vec<LiveCriterion>,
    pub fraud: LiveFraud,
    pub business: LiveBusiness,
    /// The simulated model's components (empty for an http target).
    pub components: Vec<ComponentState>,
    pub controls: Vec<ControlRecord>,
    pub reloads: usize,
    /// The run's verdict once finished: `passed`, `failed` or `interrupted`.
    pub verdict: Option<String>,
}

/// One closed second on the charts.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Point {
    pub t: u64,
    pub planned: u64,
    pub ok: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub degraded: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Window {
    pub name: String,
    pub component: String,
    pub kind: String,
    pub start_ms: u64,
    pub end_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct PhaseWindow {
    pub name: String,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// `/api/run`: the run's shape, which changes only with a reload.
#[derive(Clone, Debug, Serialize)]
pub struct Shape {
    pub scenario: String,
    pub description: Option<String>,
    pub seed: u64,
    pub digest: String,
    pub target: &'static str,
    pub duration_ms: u64,
    pub phases: Vec<PhaseWindow>,
    pub failures: Vec<Window>,
}

pub fn target_name(plan: &Plan) -> &'static str {
    match plan.target {
        crate::scenario::model::Target::Simulated { .. } => "simulated",
        crate::scenario::model::Target::Http { .. } => "http",
    }
}

pub fn shape(plan: &Plan) -> Shape {
    Shape {
        scenario: plan.name.clone(),
        description: plan.description.clone(),
        seed: plan.seed,
        digest: plan.digest.clone(),
        target: target_name(plan),
        duration_ms: plan.duration_ns / MS,
        phases: plan
            .phases
            .iter()
            .map(|p| PhaseWindow {
                name: p.name.clone(),
                start_ms: p.start_ns / MS,
                end_ms: p.end_ns / MS,
            })
            .collect(),
        failures: plan
            .failures
            .iter()
            .map(|f| Window {
                name: f.name.clone(),
                component: f.component.clone(),
                kind: f.effect.kind().to_string(),
                start_ms: f.start_ns / MS,
                end_ms: f.end_ns / MS,
            })
            .collect(),
    }
}

/// An entry of the timeline as a point of the charts: its counts per second.
pub fn point(s: &crate::metrics::Second) -> Point {
    let per = |n: u64| n / s.span.max(1);
    Point {
        t: s.t,
        planned: per(s.counts.planned),
        ok: per(s.counts.ok),
        errors: per(s.counts.errors),
        timeouts: per(s.counts.timeouts),
        p50: s.p50_ms,
        p95: s.p95_ms,
        p99: s.p99_ms,
        degraded: s.degraded_share(),
    }
}

fn share(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// The live figures of `run` at plan time `now`.
pub fn live(run: &Snapshot<'_>, now: u64, state: State) -> Live {
    let plan = run.plan;
    let rec = run.recorder;
    let last = rec.timeline.last();
    let paused = state == State::Paused;
    let phase = plan
        .phases
        .iter()
        .find(|p| p.start_ns <= now && now < p.end_ns)
        .map(|p| p.name.clone());
    let under_way: Vec<&crate::plan::PlannedFailure> = plan
        .failures
        .iter()
        .filter(|f| f.start_ns <= now && now < f.end_ns)
        .collect();
    let recovering = plan
        .failures
        .iter()
        .filter(|f| f.end_ns <= now)
        .max_by_key(|f| f.end_ns)
        .filter(|_| under_way.is_empty())
        .map(|f| Recovering {
            failure: f.name.clone(),
            ended_ms: f.end_ns / MS,
            recovered: last.is_some_and(|s| {
                s.t * SECOND >= f.end_ns
                    && s.failure_rate() < verdict::AVAILABLE_BELOW
                    && s.degraded_share() < verdict::AVAILABLE_BELOW
            }),
        });
    let judged = verdict::live_statuses(plan, now, rec);
    let criteria = plan
        .criteria
        .iter()
        .zip(judged)
        .map(|(c, (status, observed))| LiveCriterion {
            check: c.check.text.clone(),
            scope: c.scope_text(),
            status: status.name(),
            observed,
            observed_text: display(c.check.metric.kind(), observed),
            abort: c.abort,
        })
        .collect();
    let counts: &Counts = &rec.run.counts;
    let fraud = &rec.run.fraud;
    let money = verdict::money(&rec.run, &plan.business);
    let with_traffic = rec.timeline.iter().filter(|s| s.had_traffic());
    let (seconds, up) = with_traffic.fold((0u64, 0u64), |(n, up), s| {
        (
            n + s.span,
            up + (s.failure_rate() < verdict::AVAILABLE_BELOW) as u64 * s.span,
        )
    });
    Live {
        scenario: plan.name.clone(),
        target: target_name(plan),
        state,
        elapsed_ms: now / MS,
        duration_ms: plan.duration_ns / MS,
        phase,
        throughput: if paused {
            0
        } else {
            last.map_or(0, |s| s.counts.ok / s.span.max(1))
        },
        second_ms: last.map(|s| s.t * 1000),
        planned_rate: if paused || state == State::Finished {
            0.0
        } else {
            plan.rate_at(now)
        },
        latency_ms: last.map_or_else(Latency::default, |s| Latency {
            p50: s.p50_ms,
            p95: s.p95_ms,
            p99: s.p99_ms,
        }),
        error_rate: last.map_or(0.0, |s| share(s.counts.errors, s.counts.due())),
        timeout_rate: last.map_or(0.0, |s| share(s.counts.timeouts, s.counts.due())),
        degraded_share: last.map_or(0.0, |s| s.degraded_share()),
        active_failures: under_way.iter().map(|f| f.name.clone()).collect(),
        failures: under_way
            .iter()
            .map(|f| ActiveFailure {
                name: f.name.clone(),
                component: f.component.clone(),
                kind: f.effect.kind().to_string(),
                ends_ms: f.end_ns / MS,
            })
            .collect(),
        recovering,
        totals: Counts {
            planned: rec.planned_until(now),
            ..*counts
        },
        availability: (seconds > 0).then(|| up as f64 / seconds as f64),
        criteria,
        fraud: LiveFraud {
            recall: (fraud.fraud > 0).then(|| fraud.fraud_flagged as f64 / fraud.fraud as f64),
            caught: fraud.fraud_flagged,
            seen: fraud.fraud,
        },
        business: LiveBusiness {
            money_saved_usd: (money.money_saved_usd * 100.0).round() / 100.0,
            fraud_prevented_usd: money.prevented_usd,
            default_prices: !plan.priced,
        },
        components: run.components.map(<[_]>::to_vec).unwrap_or_default(),
        controls: run.controls.to_vec(),
        reloads: run.reloads.len(),
        verdict: None,
    }
}

/// Latency bucket bounds of `/metrics`, in seconds.
const BUCKETS_S: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// What `/metrics` reports, taken with the live figures so the two agree.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    pub counts: Counts,
    pub planned_so_far: u64,
    /// Cumulative counts at each bound of `BUCKETS_S`, then the total.
    pub latency_buckets: Vec<u64>,
    pub latency_count: u64,
    pub latency_sum_s: f64,
    pub lag_buckets: Vec<u64>,
    pub lag_count: u64,
    pub lag_sum_s: f64,
    pub planned_rate: f64,
    pub elapsed_s: f64,
    pub degraded_share: f64,
    pub fraud_caught: u64,
    pub fraud_seen: u64,
    pub money_saved_usd: f64,
    /// (name, component, kind, under way).
    pub failures: Vec<(String, String, String, bool)>,
    /// (check, scope, status).
    pub criteria: Vec<(String, String, &'static str)>,
    pub state: Option<State>,
}

/// Cumulative bucket counts of an HDR histogram recorded in µs.
fn buckets(h: &hdrhistogram::Histogram<u64>) -> Vec<u64> {
    let mut out = vec![0u64; BUCKETS_S.len()];
    for v in h.iter_recorded() {
        let s = h.highest_equivalent(v.value_iterated_to()) as f64 / 1e6;
        let n = v.count_at_value();
        if let Some(i) = BUCKETS_S.iter().position(|&b| s <= b) {
            out[i] += n;
        }
    }
    let mut sum = 0;
    for b in &mut out {
        sum += *b;
        *b = sum;
    }
    out
}

pub fn metrics(run: &Snapshot<'_>, live: &Live) -> Metrics {
    let rec = run.recorder;
    let agg = &rec.run;
    // Failure windows: the distinct names, each under way or not.
    let mut failures: Vec<(String, String, String, bool)> = Vec::new();
    for f in &run.plan.failures {
        let on = live.active_failures.contains(&f.name);
        match failures.iter_mut().find(|x| x.0 == f.base) {
            Some(x) => x.3 |= on,
            None => failures.push((
                f.base.clone(),
                f.component.clone(),
                f.effect.kind().to_string(),
                on,
            )),
        }
    }
    let lag = agg.lag();
    Metrics {
        counts: agg.counts,
        planned_so_far: live.totals.planned,
        latency_buckets: buckets(&agg.latency),
        latency_count: agg.latency.len(),
        latency_sum_s: agg.latency_sum_ns as f64 / 1e9,
        lag_buckets: buckets(&lag),
        lag_count: lag.len(),
        lag_sum_s: lag.mean() * lag.len() as f64 / 1e6,
        planned_rate: live.planned_rate,
        elapsed_s: live.elapsed_ms as f64 / 1000.0,
        degraded_share: live.degraded_share,
        fraud_caught: live.fraud.caught,
        fraud_seen: live.fraud.seen,
        money_saved_usd: live.business.money_saved_usd,
        failures,
        criteria: live
            .criteria
            .iter()
            .map(|c| (c.check.clone(), c.scope.clone(), c.status))
            .collect(),
        state: Some(live.state),
    }
}

/// A label value, escaped as OpenMetrics asks (backslash, double quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A float as OpenMetrics writes it.
fn float(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{x:?}")
    }
}

/// The OpenMetrics text exposition of `m`, ending `# EOF`.
pub fn openmetrics(m: &Metrics) -> String {
    let mut o = String::with_capacity(4096);
    let family = |o: &mut String, name: &str, kind: &str, unit: Option<&str>, help: &str| {
        let _ = writeln!(o, "# TYPE {name} {kind}");
        if let Some(u) = unit {
            let _ = writeln!(o, "# UNIT {name} {u}");
        }
        let _ = writeln!(o, "# HELP {name} {help}");
    };
    family(
        &mut o,
        "gauntlet_transactions",
        "counter",
        None,
        "Transactions that ended, by outcome.",
    );
    let c = &m.counts;
    for (outcome, n) in [
        ("ok", c.ok),
        ("error", c.errors),
        ("timeout", c.timeouts),
        ("dropped", c.dropped),
        ("cancelled", c.cancelled),
    ] {
        let _ = writeln!(
            o,
            "gauntlet_transactions_total{{outcome=\"{outcome}\"}} {n}"
        );
    }
    family(
        &mut o,
        "gauntlet_planned_transactions",
        "counter",
        None,
        "Arrivals the plan holds up to now.",
    );
    let _ = writeln!(
        o,
        "gauntlet_planned_transactions_total {}",
        m.planned_so_far
    );
    for (name, help, b, count, sum) in [
        (
            "gauntlet_latency_seconds",
            "Latency from the planned start to the answer (coordinated omission corrected).",
            &m.latency_buckets,
            m.latency_count,
            m.latency_sum_s,
        ),
        (
            "gauntlet_generator_lag_seconds",
            "How late the generator sent each request after its planned time.",
            &m.lag_buckets,
            m.lag_count,
            m.lag_sum_s,
        ),
    ] {
        family(&mut o, name, "histogram", Some("seconds"), help);
        for (bound, n) in BUCKETS_S.iter().zip(b) {
            let _ = writeln!(o, "{name}_bucket{{le=\"{}\"}} {n}", float(*bound));
        }
        let _ = writeln!(o, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(o, "{name}_count {count}");
        let _ = writeln!(o, "{name}_sum {}", float(sum.max(0.0)));
    }
    let gauges = [
        (
            "gauntlet_planned_rate",
            "The plan's rate now, transactions per second.",
            m.planned_rate,
        ),
        (
            "gauntlet_elapsed_seconds",
            "Plan time since the start (pauses excluded).",
            m.elapsed_s,
        ),
        (
            "gauntlet_degraded_share",
            "Degraded decisions over ok answers in the last closed second.",
            m.degraded_share,
        ),
        (
            "gauntlet_money_saved_usd",
            "Fraud prevented less the system's costs so far, USD.",
            m.money_saved_usd,
        ),
    ];
    for (name, help, v) in gauges {
        family(&mut o, name, "gauge", None, help);
        let _ = writeln!(o, "{name} {}", float(v));
    }
    family(
        &mut o,
        "gauntlet_active_failures",
        "gauge",
        None,
        "Failure windows under way now.",
    );
    let active = m.failures.iter().filter(|f| f.3).count();
    let _ = writeln!(o, "gauntlet_active_failures {active}");
    family(
        &mut o,
        "gauntlet_failure_active",
        "gauge",
        None,
        "1 while the named failure is injected, 0 otherwise.",
    );
    for (name, component, kind, on) in &m.failures {
        let _ = writeln!(
            o,
            "gauntlet_failure_active{{failure=\"{}\",component=\"{}\",kind=\"{}\"}} {}",
            label(name),
            label(component),
            label(kind),
            *on as u8
        );
    }
    family(
        &mut o,
        "gauntlet_fraud_caught",
        "counter",
        None,
        "Fraudulent transactions blocked or sent to review.",
    );
    let _ = writeln!(o, "gauntlet_fraud_caught_total {}", m.fraud_caught);
    family(
        &mut o,
        "gauntlet_fraud_answered",
        "counter",
        None,
        "Fraudulent transactions answered with a decision.",
    );
    let _ = writeln!(o, "gauntlet_fraud_answered_total {}", m.fraud_seen);
    family(
        &mut o,
        "gauntlet_criterion",
        "stateset",
        None,
        "Each criterion's live state on what ran so far.",
    );
    for (check, scope, status) in &m.criteria {
        for s in ["pending", "pass", "fail", "no-data"] {
            let _ = writeln!(
                o,
                "gauntlet_criterion{{check=\"{}\",scope=\"{}\",gauntlet_criterion=\"{s}\"}} {}",
                label(check),
                label(scope),
                (*status == s) as u8
            );
        }
    }
    family(
        &mut o,
        "gauntlet_run_state",
        "stateset",
        None,
        "Whether the run is running, paused or finished.",
    );
    for (s, name) in [
        (State::Running, "running"),
        (State::Paused, "paused"),
        (State::Finished, "finished"),
    ] {
        let _ = writeln!(
            o,
            "gauntlet_run_state{{gauntlet_run_state=\"{name}\"}} {}",
            (m.state == Some(s)) as u8
        );
    }
    o.push_str("# EOF\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_buckets_are_cumulative_and_bounded_by_the_count() {
        let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        // µs: 0.5 ms, 3 ms (twice), 40 ms, 7 s.
        for v in [500, 3_000, 3_000, 40_000, 7_000_000] {
            h.record(v).unwrap();
        }
        let b = buckets(&h);
        let at = |bound: f64| b[BUCKETS_S.iter().position(|&x| x == bound).unwrap()];
        assert_eq!(at(0.001), 1);
        assert_eq!(at(0.0025), 1);
        assert_eq!(at(0.005), 3);
        assert_eq!(at(0.05), 4);
        assert_eq!(at(5.0), 4);
        assert_eq!(at(10.0), 5);
        assert!(b.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*b.last().unwrap(), h.len());
    }

    #[test]
    fn openmetrics_text_is_well_formed() {
        let m = Metrics {
            counts: Counts {
                planned: 10,
                ok: 7,
                errors: 2,
                timeouts: 1,
                ..Counts::default()
            },
            planned_so_far: 10,
            latency_buckets: vec![1; BUCKETS_S.len()],
            latency_count: 10,
            latency_sum_s: 0.5,
            lag_buckets: vec![0; BUCKETS_S.len()],
            failures: vec![("a\"b".into(), "ml-scorer".into(), "crash".into(), true)],
            criteria: vec![("error_rate < 1%".into(), "phase:\\x".into(), "fail")],
            state: Some(State::Paused),
            ..Metrics::default()
        };
        let text = openmetrics(&m);
        assert!(text.ends_with("\n# EOF\n"));
        assert_eq!(text.matches("# EOF").count(), 1);
        assert!(text.contains("gauntlet_transactions_total{outcome=\"ok\"} 7\n"));
        assert!(text.contains("gauntlet_transactions_total{outcome=\"timeout\"} 1\n"));
        assert!(text.contains("gauntlet_latency_seconds_bucket{le=\"+Inf\"} 10\n"));
        assert!(text.contains("gauntlet_latency_seconds_bucket{le=\"1.0\"} 1\n"));
        assert!(text.contains("gauntlet_active_failures 1\n"));
        // Label values escaped: a quote and a backslash.
        assert!(text.contains("failure=\"a\\\"b\""));
        assert!(text.contains("scope=\"phase:\\\\x\""));
        assert!(text.contains(
            "gauntlet_criterion{check=\"error_rate < 1%\",scope=\"phase:\\\\x\",gauntlet_criterion=\"fail\"} 1\n"
        ));
        assert!(text.contains("gauntlet_run_state{gauntlet_run_state=\"paused\"} 1\n"));
        // Every sample's family is declared before it, once.
        let mut declared: Vec<&str> = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap();
                assert!(!declared.contains(&name), "{name} declared twice");
                declared.push(name);
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert!(
                    declared.iter().any(|d| name.starts_with(d)),
                    "{name} has no family"
                );
            }
        }
    }
}
