//! Deriving results.json from a run's snapshot: the criteria judged, each scope summarised,
//! the timeline, the target's own figures, resilience and business figures, and a verdict
//! that never reads as passed for a run that did not finish.

use super::*;
use crate::engine::{Snapshot, Stop};
use crate::metrics::{Aggregate, Second, ms};
use crate::plan::Plan;
use crate::scenario::check::MetricKind;
use crate::scenario::model::COMPONENTS;
use crate::scenario::model::Target;
use crate::targets::ComponentSecond;
use crate::targets::TargetReport;
use crate::units::{ns, thousands};
use crate::verdict::{self, Judgement, Measured, Recovery, Status};

/// Rounds to `d` decimals, so files stay readable (the value is still computed exactly).
const SECOND: u64 = 1_000_000_000;

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
            counts: agg.counts,
            lost: agg.counts.lost(),
        },
        latency_ms: stats(
            &agg.latency,
            agg.latency_sum_ns,
            agg.latency_min_ns,
            agg.latency_max_ns,
            n,
        ),
        service_time_ms: stats(
            agg.service(),
            agg.service_sum_ns,
            agg.service_min_ns,
            agg.service_max_ns,
            n,
        ),
        throughput: if seconds > 0.0 {
            round(agg.counts.ok as f64 / seconds, 3)
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
            unread: fr.unread,
        },
    }
}

/// A metric's value as a person reads it.
pub fn display(kind: MetricKind, value: Option<f64>) -> String {
    let Some(v) = value else {
        return "n/a".to_string();
    };
    match kind {
        MetricKind::Time if v >= 1000.0 => format!("{}s", trim(v / 1000.0, 3)),
        MetricKind::Time => format!("{}ms", trim(v, 3)),
        MetricKind::Share | MetricKind::Ratio => format!("{}%", trim(v * 100.0, 3)),
        MetricKind::Money => format!("${}", trim(v, 2)),
        MetricKind::Rate => format!("{} TPS", trim(v, 1)),
        MetricKind::Count => trim(v, 0),
        MetricKind::Value => trim(v, 3),
        MetricKind::Months => format!("{} months", trim(v, 1)),
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
        MetricKind::Value => "value",
        MetricKind::Months => "months",
    }
}

/// Judges the criteria and assembles the results of a run, finished or not.
pub fn build(r: &Snapshot<'_>) -> Results {
    let plan = r.plan;
    let rec = r.recorder;
    let recoveries: Vec<Recovery> = verdict::recoveries(plan, &rec.timeline);
    let stopped = r.stop.is_some() || !r.complete;
    // A run that went to its end covers its whole plan, even when its last answer came before
    // the plan's end (an http run ends once nothing is left to send or await): its scopes
    // are judged over their planned windows, as its phases are.
    let judged_to = if stopped {
        r.end_ns
    } else {
        r.end_ns.max(plan.duration_ns)
    };
    let measured = Measured::of(plan, rec, &recoveries, judged_to, stopped, !r.complete);
    let criteria = criteria(plan, &measured, r.stop);
    let components = components(r.target);
    let interrupted = matches!(r.stop, Some(Stop::Interrupted { .. }));
    let seconds = judged_to.min(plan.duration_ns).max(1) as f64 / 1e9;
    let summary = summary(&rec.run, seconds);
    let verdict = verdict_of(plan, &criteria, &summary, r, interrupted);
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
        aborted: match r.stop {
            Some(Stop::Aborted { criterion, at_ns }) => {
                plan.criteria.get(criterion).map(|c| Aborted {
                    check: c.check.text.clone(),
                    scope: c.scope_text(),
                    at_ms: at_ns / 1_000_000,
                })
            }
            _ => None,
        },
        duration_ms: plan.duration_ns / 1_000_000,
        planned: plan.planned,
        ended_ms: r.end_ns / 1_000_000,
        verdict,
        criteria,
        summary,
        phases: phases(plan, &rec.phases),
        requests: plan
            .requests
            .iter()
            .zip(&rec.requests)
            .map(|(req, agg)| RequestResult {
                name: req.name.clone(),
                weight: req.weight,
                summary: self::summary(agg, seconds),
            })
            .collect(),
        failures: failures(plan, &measured, &rec.failures, &recoveries, judged_to),
        timeline: timeline(plan, &rec.timeline, &rec.components),
        timeline_full_resolution_s: rec
            .timeline
            .iter()
            .any(|s| s.span > 1)
            .then_some(crate::metrics::FULL_RESOLUTION_S),
        generator: generator(&rec.run),
        resilience: resilience(plan, &rec.timeline, &recoveries, &components, judged_to),
        capacity: capacity(plan, &rec.timeline, r.stop),
        components,
        business: business(&rec.run, plan),
        errors_by_kind: match r.target {
            Some(TargetReport::Http { errors, .. }) => errors
                .seen()
                .map(|(k, n)| (k.name().to_string(), n))
                .collect(),
            _ => Default::default(),
        },
        check_failures: match r.target {
            Some(TargetReport::Http { checks, .. }) => checks
                .seen()
                .map(|(k, n)| (k.name().to_string(), n))
                .collect(),
            _ => Default::default(),
        },
        transport: match &plan.target {
            Target::Http { url, http, tls, .. } => Some(super::TransportResult {
                http: http.name().to_string(),
                tls: url.starts_with("https://"),
                insecure: tls.as_ref().is_some_and(|t| t.insecure),
            }),
            Target::Simulated { .. } => None,
        },
        report_formats: plan.report.formats.iter().map(|f| f.0.clone()).collect(),
        max_regression: plan.max_regression.clone(),
        reloads: r.reloads.to_vec(),
        controls: r.controls.to_vec(),
        probes: probes(plan, &rec.probes, rec.timeline.len()),
        shards: Vec::new(),
    }
}

fn probes(plan: &Plan, logs: &[crate::probe::ProbeLog], seconds: usize) -> Vec<super::ProbeResult> {
    plan.probes
        .iter()
        .zip(logs)
        .map(|(p, log)| super::ProbeResult {
            name: p.name.clone(),
            url: p.url.clone(),
            every_ms: p.every_ns / 1_000_000,
            scrapes: log.scrapes,
            failed: log.failed,
            errors: log
                .errors
                .iter()
                .map(|(k, n)| (k.to_string(), *n))
                .collect(),
            first_error: log.first_error.as_ref().map(|(at, m)| super::ProbeError {
                at_ms: at / 1_000_000,
                message: m.clone(),
            }),
            series: p
                .series
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    let st = log.stats(k, &[(0, u64::MAX)]);
                    super::SeriesResult {
                        name: s.name.clone(),
                        select: s.select.clone(),
                        rate: s.rate,
                        missing: log.missing.get(k).copied().unwrap_or(0),
                        min: st.map(|s| s.min),
                        max: st.map(|s| s.max),
                        mean: st.map(|s| round(s.mean, 6)),
                        last: st.map(|s| s.last),
                        values: log.per_second(k, seconds),
                    }
                })
                .collect(),
        })
        .collect()
}

fn criteria(plan: &Plan, measured: &Measured<'_>, stop: Option<Stop>) -> Vec<CriterionResult> {
    plan.criteria
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut j: Judgement = measured.judge(c);
            // The criterion that stopped the run failed, whatever its value over the whole
            // (cut short) run says now.
            if let Some(Stop::Aborted { criterion, at_ns }) = stop
                && criterion == i
            {
                j.status = Status::Fail;
                j.note = Some(format!("failed live and stopped the run at {}", ns(at_ns)));
            }
            let kind = c.check.metric.kind();
            CriterionResult {
                check: c.check.text.clone(),
                metric: c.check.metric_name(),
                scope: c.scope_text(),
                op: c.check.op.symbol().to_string(),
                threshold: c.check.threshold,
                unit: unit(kind).to_string(),
                status: j.status.name().to_string(),
                passed: match j.status {
                    Status::Pass => Some(true),
                    Status::Fail => Some(false),
                    Status::NotReached => None,
                },
                partial: j.partial,
                observed: j.observed.map(|v| round(v, 6)),
                observed_text: display(kind, j.observed),
                note: j.note,
                abort: c.abort,
            }
        })
        .collect()
}

/// The verdict, in words shared by the terminal and every report.
fn verdict_of(
    plan: &Plan,
    criteria: &[CriterionResult],
    summary: &Summary,
    r: &Snapshot<'_>,
    interrupted: bool,
) -> Verdict {
    let count = |s: &str| criteria.iter().filter(|c| c.status == s).count() as u32;
    let (passed, failed, not_reached) = (count("pass"), count("fail"), count("not-reached"));
    let status = if !r.complete {
        "incomplete"
    } else if interrupted {
        "interrupted"
    } else if failed > 0 || not_reached > 0 {
        "failed"
    } else {
        "passed"
    };
    // No criteria: the run passes (as k6 and Artillery do without thresholds), and says
    // that nothing was judged rather than "0 of 0 criteria passed".
    let mut words = if criteria.is_empty() {
        "no criteria: nothing was judged".to_string()
    } else {
        format!("{passed} of {} criteria passed", criteria.len())
    };
    if failed > 0 {
        words.push_str(&format!(", {failed} failed"));
    }
    if not_reached > 0 {
        words.push_str(&format!(", {not_reached} not reached"));
    }
    // Whole milliseconds: where an interrupt lands within one is noise.
    let ended = ns(r.end_ns / 1_000_000 * 1_000_000);
    let headline = match status {
        "incomplete" => format!(
            "INCOMPLETE: results up to {ended} of {}, {} of {} planned transactions measured; {words} so far",
            ns(plan.duration_ns),
            thousands(summary.totals.counts.planned),
            thousands(plan.planned)
        ),
        "interrupted" => format!(
            "INTERRUPTED at {ended} of {}: {words} on what ran",
            ns(plan.duration_ns)
        ),
        _ => format!("{} ({words})", status.to_uppercase()),
    };
    Verdict {
        passed: status == "passed",
        status: status.to_string(),
        headline,
        criteria_passed: passed,
        criteria_failed: failed,
        criteria_not_reached: not_reached,
    }
}

fn secs(a: u64, b: u64) -> f64 {
    b.saturating_sub(a) as f64 / 1e9
}

fn phases(plan: &Plan, aggs: &crate::metrics::Scopes) -> Vec<PhaseResult> {
    plan.phases
        .iter()
        .zip(aggs.iter())
        .map(|(p, agg)| PhaseResult {
            name: p.name.clone(),
            pattern: p.load.pattern().to_string(),
            start_ms: p.start_ns / 1_000_000,
            end_ms: p.end_ns / 1_000_000,
            summary: summary(&agg, secs(p.start_ns, p.end_ns)),
            latency_spectrum: spectrum(&agg.latency),
        })
        .collect()
}

/// Percentiles of the spectrum, as HdrHistogram plots them (each a step further into the tail).
const SPECTRUM: [f64; 11] = [
    50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.999, 100.0,
];

fn spectrum(h: &hdrhistogram::Histogram<u64>) -> Vec<[f64; 2]> {
    if h.is_empty() {
        return Vec::new();
    }
    SPECTRUM
        .iter()
        .map(|&p| [p, round(ms(h.value_at_quantile(p / 100.0)), 3)])
        .collect()
}

fn failures(
    plan: &Plan,
    measured: &Measured<'_>,
    aggs: &crate::metrics::Scopes,
    recoveries: &[Recovery],
    end_ns: u64,
) -> Vec<FailureResult> {
    plan.failures
        .iter()
        .zip(aggs.iter())
        .zip(recoveries)
        .enumerate()
        .map(|(j, ((f, agg), rec))| FailureResult {
            name: f.name.clone(),
            kind: f.effect.kind().to_string(),
            component: f.component.clone(),
            start_ms: f.start_ns / 1_000_000,
            end_ms: f.end_ns / 1_000_000,
            probability: f.probability,
            recovery_time_ms: rec.recovery_ms,
            recovery_held_back_by: rec.held_back_by.map(|c| c.name().to_string()),
            injected: f.start_ns < end_ns,
            baseline: Baseline {
                p95_ms: rec.baseline_p95_ms.map(|v| round(v, 3)),
                failure_rate: round(rec.baseline_failure_rate, 6),
                degraded_share: round(rec.baseline_degraded_share, 6),
            },
            summary: summary(&agg, secs(f.start_ns, f.end_ns)),
            components: window_components(plan, f, measured.components),
            cascade: (!measured.components.is_empty()).then(|| {
                measured
                    .cascade_of(j)
                    .into_iter()
                    .map(|s| super::CascadeEntry {
                        component: COMPONENTS[s.component].to_string(),
                        at_ms: s.first_s * 1_000,
                        after_ms: (s.first_s * 1_000).saturating_sub(f.start_ns / 1_000_000),
                        reason: s.reason.to_string(),
                        health_min: round(s.health_min, 4),
                    })
                    .collect()
            }),
        })
        .collect()
}

/// Each component over the seconds a failure's window overlaps.
fn window_components(
    plan: &Plan,
    f: &crate::plan::PlannedFailure,
    seconds: &[[ComponentSecond; 5]],
) -> Vec<super::WindowComponent> {
    let from = crate::metrics::slot(f.start_ns / SECOND).index;
    let to = f.end_ns.div_ceil(SECOND).checked_sub(1).map_or(0, |last| {
        (crate::metrics::slot(last).index + 1).min(seconds.len())
    });
    if seconds.is_empty() || from >= to {
        return Vec::new();
    }
    let specs = crate::targets::simulated::defaults::specs(plan);
    (0..COMPONENTS.len())
        .map(|i| {
            let mut sum = ComponentSecond::default();
            let (mut health, mut util) = (1.0f64, 0.0f64);
            for s in &seconds[from..to] {
                sum.add(&s[i]);
                health = health.min(s[i].health());
                util = util.max(s[i].utilisation(specs[i].concurrency));
            }
            super::WindowComponent {
                name: COMPONENTS[i].to_string(),
                health_min: round(health, 4),
                calls: sum.calls.into(),
                errors: sum.errors.into(),
                timeouts: sum.timeouts.into(),
                rejected: sum.rejected.into(),
                queue_max: sum.queue.into(),
                utilisation_max: round(util, 4),
                breaker: sum.breaker_name().to_string(),
            }
        })
        .collect()
}

/// The timeline, each second with the model's components in it.
fn timeline(
    plan: &Plan,
    seconds: &[Second],
    components: &[[ComponentSecond; 5]],
) -> Vec<TimelineSecond> {
    let concurrency = (!components.is_empty())
        .then(|| crate::targets::simulated::defaults::specs(plan).map(|s| s.concurrency));
    seconds
        .iter()
        .enumerate()
        .map(|(k, s)| TimelineSecond {
            t: s.t,
            span_s: s.span,
            counts: s.counts,
            degraded: s.degraded,
            latency_ms: Percentiles {
                p50: s.p50_ms,
                p95: s.p95_ms,
                p99: s.p99_ms,
            },
            // Held inline (no allocation per entry), so the results of a long run are a
            // few large blocks that go back to the system once written.
            components: match (components.get(k), concurrency) {
                (Some(cs), Some(conc)) => Some(std::array::from_fn(|i| {
                    let (c, n) = (&cs[i], conc[i]);
                    super::ComponentSecondResult {
                        name: COMPONENTS[i].into(),
                        health: round(c.health(), 4),
                        calls: c.calls.into(),
                        errors: c.errors.into(),
                        timeouts: c.timeouts.into(),
                        rejected: c.rejected.into(),
                        denied: c.denied.into(),
                        queue: c.queue.into(),
                        in_flight: c.in_flight.into(),
                        utilisation: round(c.utilisation(n), 4),
                        breaker: c.breaker_name().into(),
                    }
                })),
                _ => None,
            },
        })
        .collect()
}

fn components(target: Option<&TargetReport>) -> Vec<ComponentResult> {
    let Some(TargetReport::Simulated { components }) = target else {
        return Vec::new();
    };
    components
        .iter()
        .map(|c| {
            let q = |v: Option<f64>| v.map(|v| round(v, 3));
            ComponentResult {
                name: c.name.to_string(),
                requests: c.requests,
                ok: c.ok,
                errors: c.errors,
                timeouts: c.timeouts,
                rejected: c.rejected,
                latency_ms: Percentiles {
                    p50: q(c.latency_ms[0]),
                    p95: q(c.latency_ms[1]),
                    p99: q(c.latency_ms[2]),
                },
                peak_queue: c.peak_queue,
                peak_concurrency: c.peak_concurrency,
                concurrency: c.concurrency,
                utilisation: round(c.utilisation, 4),
                breaker_trips: c.breaker_trips,
                health: round(c.health, 4),
            }
        })
        .collect()
}

fn resilience(
    plan: &Plan,
    timeline: &[Second],
    recoveries: &[Recovery],
    components: &[ComponentResult],
    end_ns: u64,
) -> Resilience {
    let with_traffic: Vec<&Second> = timeline.iter().filter(|s| s.had_traffic()).collect();
    let down_s: u64 = with_traffic
        .iter()
        .filter(|s| s.failure_rate() >= verdict::AVAILABLE_BELOW)
        .map(|s| s.span)
        .sum();
    let mut events = 0;
    let mut previous = false;
    let mut peak_degraded: f64 = 0.0;
    for s in timeline {
        let degraded = s.degraded > 0;
        if degraded && !previous {
            events += 1;
        }
        previous = degraded;
        peak_degraded = peak_degraded.max(s.degraded_share());
    }
    let injected: Vec<usize> = (0..plan.failures.len())
        .filter(|&j| plan.failures[j].start_ns < end_ns)
        .collect();
    // The slowest recovery (never counts as slowest), and what held it back.
    let slowest = injected
        .iter()
        .max_by_key(|&&j| recoveries[j].recovery_ms.unwrap_or(u64::MAX));
    Resilience {
        availability: (!with_traffic.is_empty())
            .then(|| round(verdict::up_share(&with_traffic), 6)),
        downtime_s: down_s,
        failures_injected: injected.len() as u32,
        failures_recovered: injected
            .iter()
            .filter(|&&j| recoveries[j].recovery_ms.is_some())
            .count() as u32,
        recovery_held_back_by: slowest
            .and_then(|&j| recoveries[j].held_back_by)
            .map(|c| c.name().to_string()),
        recovery_times_ms: recoveries.iter().map(|x| x.recovery_ms).collect(),
        degradation_events: events,
        peak_degraded_share: round(peak_degraded, 6),
        breaker_trips: components.iter().map(|c| c.breaker_trips).sum(),
    }
}

fn capacity(plan: &Plan, timeline: &[Second], stop: Option<Stop>) -> CapacityResult {
    let c = verdict::capacity(plan, timeline, &[(0, plan.duration_ns)]);
    CapacityResult {
        rate: c.rate.map(|r| round(r, 1)),
        at_ms: c.at_ns.map(|ns| ns / 1_000_000),
        broken_by: c.broken_by,
        highest_held: round(c.highest_held, 1),
        abort_rate: match stop {
            Some(Stop::Aborted { at_ns, .. }) => {
                Some(round(plan.rate_at(at_ns.saturating_sub(1)), 1))
            }
            _ => None,
        },
        error_rate: plan.capacity.error_rate.0,
        degraded_share: plan.capacity.degraded_share.0,
    }
}

fn business(run: &Aggregate, plan: &Plan) -> BusinessResult {
    let m = verdict::money(run, &plan.business);
    let b = &plan.business;
    BusinessResult {
        investment_usd: b.investment,
        payback_months: b.investment.zip(b.monthly_transactions).and_then(|(i, n)| {
            verdict::payback_months(&m, run.answered(), i, n).map(|v| round(v, 2))
        }),
        default_prices: !plan.priced,
        fraud_prevented_usd: round(m.prevented_usd, 2),
        fraud_missed_usd: round(m.missed_usd, 2),
        total_cost_usd: round(m.total_cost_usd, 2),
        cost_per_transaction_usd: m.cost_per_transaction_usd.map(|v| round(v, 6)),
        money_saved_usd: round(m.money_saved_usd, 2),
        roi: m.roi.map(|v| round(v, 4)),
        legit_blocked: m.legit_blocked,
        customer_impact_usd: round(m.customer_impact_usd, 2),
    }
}

fn generator(run: &Aggregate) -> GeneratorResult {
    let lag = run.lag();
    // Lag is recorded with a 1 µs floor; anything at the floor is no lag at all.
    let q = |v: u64| if v <= 1 { 0.0 } else { round(ms(v), 3) };
    let lag_ms = if lag.is_empty() {
        Lag::default()
    } else {
        Lag {
            p50: q(lag.value_at_quantile(0.5)),
            p99: q(lag.value_at_quantile(0.99)),
            max: q(lag.max()),
        }
    };
    GeneratorResult {
        limited: lag_ms.p99 > LAG_LIMIT_MS,
        lag_ms,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::metrics::Recorder;
    use crate::targets::{Finished, Outcome};

    /// Records every arrival of the plan as ok, except those `withhold` picks.
    fn record_all_but(text: &str, withhold: impl Fn(u64) -> bool) -> Results {
        let plan = Arc::new(crate::plan::compile_text(text));
        let mut rec = Recorder::new(plan.clone(), 0);
        for a in plan.arrivals() {
            if withhold(a.index) {
                continue;
            }
            let mut f = Finished::unsent(&a, Outcome::Ok, a.at_ns + 1_000_000);
            f.sent_ns = a.at_ns;
            rec.record(&f);
        }
        rec.finish(plan.duration_ns);
        build(&Snapshot {
            plan: &plan,
            recorder: &rec,
            reloads: &[],
            controls: &[],
            paused: false,
            components: None,
            stop: None,
            end_ns: plan.duration_ns,
            complete: true,
            target: None,
        })
    }

    const TEXT: &str = "[scenario]\nname = \"l\"\nseed = 1\n[[phase]]\nname = \"m\"\nduration = \"3s\"\nload = { pattern = \"constant\", rate = 100 }\n[[criterion]]\ncheck = \"lost == 0\"\n";

    #[test]
    fn an_outcome_withheld_from_the_recorder_is_lost_and_fails_lost_eq_0() {
        let r = record_all_but(TEXT, |i| i == 150);
        assert_eq!(r.summary.totals.planned, 300, "planned comes from the plan");
        assert_eq!(r.summary.totals.lost, 1);
        assert_eq!(r.phases[0].summary.totals.lost, 1);
        assert_eq!(r.timeline[1].lost(), 1, "the second it was planned in");
        assert_eq!(r.criteria[0].status, "fail");
        assert_eq!(r.criteria[0].observed, Some(1.0));
        assert!(!r.verdict.passed);
        // And with every outcome recorded, nothing is lost and the criterion passes.
        let r = record_all_but(TEXT, |_| false);
        assert_eq!(
            (r.summary.totals.lost, r.criteria[0].status.as_str()),
            (0, "pass")
        );
    }
}
