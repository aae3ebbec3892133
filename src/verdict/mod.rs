//! Stage 5: judging. Each criterion's metric is computed over its scope (the run, a phase, a
//! failure's windows) from the recorded aggregates and timeline, and compared with its
//! threshold. A criterion ends `pass`, `fail` or `not-reached` (its scope had not started when
//! the run stopped); one whose scope was cut short is judged on what ran and marked partial.
//! The same code judges live (for `abort`, inside the run loop) and at the end.

mod capacity;
pub mod cascade;
mod recovery;

pub use capacity::capacity;
use hdrhistogram::Histogram;
pub use recovery::{Recovery, recovery};

use crate::metrics::{Aggregate, Recorder, Second, ms};
use crate::plan::{Plan, PlannedCriterion, Scope};
use crate::scenario::check::{ComponentStat, Metric, Op, ProbeStat, Stat};
use crate::scenario::model::Business;

const SECOND: u64 = 1_000_000_000;
/// A second is available when its failure rate (errors and timeouts over due) is under this.
pub const AVAILABLE_BELOW: f64 = 0.01;

/// Recovery of every failure occurrence of the plan, from a final (or partial) timeline.
pub fn recoveries(plan: &Plan, timeline: &[Second]) -> Vec<Recovery> {
    plan.failures
        .iter()
        .map(|f| recovery(f.start_ns, f.end_ns, timeline))
        .collect()
}

/// How a criterion ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    /// Its scope had not started when the run stopped.
    NotReached,
}

impl Status {
    /// The name results.json uses.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NotReached => "not-reached",
        }
    }
}

/// A criterion's judgement.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    pub status: Status,
    /// The metric's value in its base unit (ms for times, a fraction for shares); None when it
    /// could not be computed.
    pub observed: Option<f64>,
    /// Why there is no value, or what made it fail beyond the number.
    pub note: Option<String>,
    /// The run stopped before the scope's end: judged on what ran.
    pub partial: bool,
}

/// A metric's value over a scope, or why there is none.
enum Value {
    Observed(f64),
    /// No value: the criterion fails, with this note.
    Missing(String),
    /// Nothing in scope had started: the criterion is not reached.
    NotReached(String),
}

/// What the criteria are judged on.
pub struct Measured<'a> {
    pub plan: &'a Plan,
    pub run: &'a Aggregate,
    pub phases: &'a crate::metrics::Scopes,
    pub failures: &'a crate::metrics::Scopes,
    /// One per request of the target's mix.
    pub requests: &'a [Aggregate],
    pub timeline: &'a [Second],
    /// Latency over the rolling windows criteria ask for.
    pub rolling: &'a [crate::metrics::Rolling],
    /// What each probe's scrapes found.
    pub probes: &'a [crate::probe::ProbeLog],
    /// The simulated model's components, per second.
    pub components: &'a [[crate::targets::ComponentSecond; 5]],
    pub recoveries: &'a [Recovery],
    /// Where the run stands: its end, where it stopped, or now for live checks.
    pub now_ns: u64,
    /// The run stopped (or was checkpointed) before its plan ended.
    pub stopped: bool,
    /// Judged while the run goes on: seconds still open have no planned count yet.
    pub live: bool,
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

/// Months for `investment` to pay back when the system handles `monthly` transactions a
/// month and saves what it saved per transaction handled in `m` (None when it saved nothing).
pub fn payback_months(m: &Money, handled: u64, investment: f64, monthly: u64) -> Option<f64> {
    if handled == 0 || m.money_saved_usd <= 0.0 {
        return None;
    }
    let per_month = m.money_saved_usd / handled as f64 * monthly as f64;
    Some(investment / per_month)
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

/// A latency statistic of a histogram recorded in µs, as ms.
fn stat_of(
    h: &Histogram<u64>,
    (sum_ns, min_ns, max_ns): (u128, u64, u64),
    n: u64,
    s: Stat,
) -> Value {
    if n == 0 || h.is_empty() {
        return Value::Missing("no answered transactions in scope".to_string());
    }
    Value::Observed(match (s, s.quantile()) {
        (_, Some(q)) => ms(h.value_at_quantile(q)),
        (Stat::Min, None) => min_ns as f64 / 1e6,
        (Stat::Max, None) => max_ns as f64 / 1e6,
        (_, None) => sum_ns as f64 / n as f64 / 1e6,
    })
}

fn share(num: u64, den: u64, what: &str) -> Value {
    if den == 0 {
        Value::Missing(format!("no {what} in scope"))
    } else {
        Value::Observed(num as f64 / den as f64)
    }
}

impl<'a> Measured<'a> {
    /// What the recorder holds at `now_ns`, judged at the end (`live` false) or while the run
    /// goes on.
    pub fn of(
        plan: &'a Plan,
        rec: &'a Recorder,
        recoveries: &'a [Recovery],
        now_ns: u64,
        stopped: bool,
        live: bool,
    ) -> Measured<'a> {
        Measured {
            plan,
            run: &rec.run,
            phases: &rec.phases,
            failures: &rec.failures,
            requests: &rec.requests,
            timeline: &rec.timeline,
            rolling: &rec.rolling,
            probes: &rec.probes,
            components: &rec.components,
            recoveries,
            now_ns,
            stopped,
            live,
        }
    }
}

impl Measured<'_> {
    /// The aggregate of a scope (several phases or failure occurrences add up); borrowed
    /// where one aggregate is the scope, so judging live costs no copy of its histograms.
    pub fn aggregate(&self, scope: &Scope) -> std::borrow::Cow<'_, Aggregate> {
        use std::borrow::Cow;
        match scope {
            Scope::Run => Cow::Borrowed(self.run),
            Scope::Phase { index, .. } => self
                .phases
                .get(*index)
                .unwrap_or_else(|| Cow::Owned(Aggregate::new(3))),
            Scope::Request { index, .. } => Cow::Borrowed(&self.requests[*index]),
            // Judged from per-second figures (see `per_second_value`); the run's aggregate
            // stands for the rest.
            Scope::OutsideFailures => Cow::Borrowed(self.run),
            Scope::Phases { indexes, .. } => {
                let mut agg = Aggregate::new(3);
                for &i in indexes {
                    if let Some(a) = self.phases.get(i) {
                        agg.merge(&a);
                    }
                }
                Cow::Owned(agg)
            }
            Scope::Failure { occurrences, .. } => {
                let mut agg = Aggregate::new(2);
                for &j in occurrences {
                    if let Some(a) = self.failures.get(j) {
                        agg.merge(&a);
                    }
                }
                Cow::Owned(agg)
            }
        }
    }

    fn seconds<'s>(&'s self, windows: &'s [(u64, u64)]) -> impl Iterator<Item = &'s Second> + 's {
        self.ran()
            .filter(move |s| windows.iter().any(|&(start, end)| s.overlaps(start, end)))
    }

    /// The timeline's seconds that ran: a stopped run's timeline goes on to the plan's end
    /// with the seconds it cancelled, in which nothing was due and nothing happened, so a
    /// window or an `outside` scope reaching into them would judge what never ran.
    fn ran(&self) -> impl Iterator<Item = &Second> + '_ {
        let to = if self.stopped { self.now_ns } else { u64::MAX };
        self.timeline.iter().filter(move |s| s.start_ns() < to)
    }

    /// Failure occurrences a criterion's recovery_time looks at.
    fn failures_in(&self, c: &PlannedCriterion) -> Vec<usize> {
        let all = &self.plan.failures;
        match &c.scope {
            Scope::Run => (0..all.len()).collect(),
            Scope::Phase { index, .. } => {
                let p = &self.plan.phases[*index];
                (0..all.len())
                    .filter(|&j| all[j].start_ns < p.end_ns && all[j].end_ns > p.start_ns)
                    .collect()
            }
            Scope::Failure { occurrences, .. } => occurrences.clone(),
            Scope::Phases { .. } => (0..all.len())
                .filter(|&j| {
                    c.windows
                        .iter()
                        .any(|&(a, b)| all[j].start_ns < b && all[j].end_ns > a)
                })
                .collect(),
            Scope::OutsideFailures | Scope::Request { .. } => Vec::new(),
        }
    }

    /// The value of `c`'s metric over its scope, or why there is none.
    fn value(&self, c: &PlannedCriterion) -> Value {
        if let Metric::Probe(stat) = c.check.metric {
            return self.probe_value(c, stat);
        }
        if c.check.metric.needs_components() {
            return self.component_value(c);
        }
        if c.window_s.is_some() || c.scope == Scope::OutsideFailures {
            return self.per_second_value(c);
        }
        let agg = self.aggregate(&c.scope);
        let n = agg.answered();
        let counts = agg.counts;
        let due = counts.due();
        let fr = &agg.fraud;
        let latency = (agg.latency_sum_ns, agg.latency_min_ns, agg.latency_max_ns);
        let service = (agg.service_sum_ns, agg.service_min_ns, agg.service_max_ns);
        let count = |x: u64| Value::Observed(x as f64);
        let money = || money(&agg, &self.plan.business);
        match c.check.metric {
            Metric::Latency(s) => stat_of(&agg.latency, latency, n, s),
            Metric::ServiceTime(s) => stat_of(agg.service(), service, n, s),
            Metric::Throughput => self.throughput(c, agg.counts.ok),
            Metric::ThroughputRatio => share(counts.ok, due, "transactions due"),
            Metric::Requests => count(n),
            Metric::Errors => count(counts.errors),
            Metric::Timeouts => count(counts.timeouts),
            Metric::Dropped => count(counts.dropped),
            Metric::Lost => count(self.lost(c, &agg)),
            Metric::ErrorRate => share(counts.errors, due, "transactions due"),
            Metric::TimeoutRate => share(counts.timeouts, due, "transactions due"),
            Metric::DropRate => share(counts.dropped, due, "transactions due"),
            Metric::RecoveryTime => self.recovery_value(c),
            Metric::DegradationMax => self
                .seconds(&c.windows)
                .map(Second::degraded_share)
                .reduce(f64::max)
                .map_or_else(
                    || Value::Missing("no seconds in scope yet".to_string()),
                    Value::Observed,
                ),
            Metric::FraudRecall => share(
                fr.fraud_flagged,
                fr.fraud,
                "fraudulent transactions answered",
            ),
            Metric::FraudPrecision => share(
                fr.fraud_flagged,
                fr.reviews + fr.blocks,
                "flagged transactions",
            ),
            Metric::FraudFalsePositiveRate => share(
                fr.legit_flagged,
                fr.legit,
                "legitimate transactions answered",
            ),
            Metric::FraudPreventedAmount => Value::Observed(money().prevented_usd),
            Metric::FraudMissedAmount => Value::Observed(money().missed_usd),
            Metric::BusinessMoneySaved => Value::Observed(money().money_saved_usd),
            Metric::BusinessRoi => money().roi.map_or_else(
                || Value::Missing("nothing was spent in scope".to_string()),
                Value::Observed,
            ),
            Metric::BusinessCostPerTransaction => money().cost_per_transaction_usd.map_or_else(
                || Value::Missing("no transactions handled in scope".to_string()),
                Value::Observed,
            ),
            Metric::Availability => self.availability(c),
            Metric::CapacityRate => self.capacity_rate(c),
            Metric::GeneratorLagP99 => Value::Observed(match agg.lag() {
                lag if lag.is_empty() => 0.0,
                lag => ms(lag.value_at_quantile(0.99)),
            }),
            Metric::BusinessPaybackMonths => self.payback(&agg),
            Metric::Probe(_)
            | Metric::Component(_)
            | Metric::ComponentsUnhealthy
            | Metric::CascadeMax => unreachable!("judged above"),
        }
    }

    /// Months for the scenario's investment to pay back at the rate of saving in scope.
    fn payback(&self, agg: &Aggregate) -> Value {
        let b = &self.plan.business;
        let (Some(investment), Some(monthly)) = (b.investment, b.monthly_transactions) else {
            return Value::Missing(
                "[business] needs investment and monthly_transactions".to_string(),
            );
        };
        match payback_months(&money(agg, b), agg.answered(), investment, monthly) {
            Some(m) => Value::Observed(m),
            None => Value::Missing(
                "no money saved in scope, so the investment never pays back".to_string(),
            ),
        }
    }

    /// The per-component figures of the seconds in scope: health, utilisation and rates of
    /// one component, how many components turned unhealthy, how far failures spread.
    fn component_value(&self, c: &PlannedCriterion) -> Value {
        if c.check.metric == Metric::CascadeMax {
            let started: Vec<usize> = self
                .failures_in(c)
                .into_iter()
                .filter(|&j| self.plan.failures[j].start_ns < self.now_ns)
                .collect();
            if started.is_empty() {
                let any_started = c.windows.iter().any(|&(a, _)| a < self.now_ns);
                return if any_started || !self.live && c.scope == Scope::Run {
                    Value::Observed(0.0)
                } else {
                    Value::NotReached("no failure in scope had started".to_string())
                };
            }
            let most = started
                .iter()
                .map(|&j| self.cascade_of(j).len())
                .max()
                .unwrap_or(0);
            return Value::Observed(most as f64);
        }
        let seconds: Vec<&[crate::targets::ComponentSecond; 5]> = self
            .scope_seconds(c)
            .iter()
            .filter_map(|s| self.components.get(crate::metrics::slot(s.t).index))
            .collect();
        if seconds.is_empty() {
            let started = c.windows.iter().any(|&(a, _)| a <= self.now_ns);
            return if started && !self.live {
                Value::Missing("no second of the model's components in scope".to_string())
            } else {
                Value::NotReached("no second in scope has closed yet".to_string())
            };
        }
        let names = crate::scenario::model::COMPONENTS;
        let index = c
            .check
            .component
            .as_deref()
            .and_then(|n| names.iter().position(|&k| k == n));
        match (c.check.metric, index) {
            (Metric::ComponentsUnhealthy, _) => Value::Observed(
                (0..names.len())
                    .filter(|&i| {
                        seconds
                            .iter()
                            .any(|s| s[i].health() < crate::targets::HEALTHY_FROM)
                    })
                    .count() as f64,
            ),
            (Metric::Component(ComponentStat::HealthMin), Some(i)) => Value::Observed(
                seconds
                    .iter()
                    .map(|s| s[i].health())
                    .fold(f64::INFINITY, f64::min),
            ),
            (Metric::Component(ComponentStat::UtilisationMax), Some(i)) => {
                let concurrency =
                    crate::targets::simulated::defaults::specs(self.plan)[i].concurrency;
                Value::Observed(
                    seconds
                        .iter()
                        .map(|s| s[i].utilisation(concurrency))
                        .fold(0.0, f64::max),
                )
            }
            (Metric::Component(ComponentStat::ErrorRate), Some(i)) => {
                let (calls, failed) = seconds.iter().fold((0u64, 0u64), |(n, f), s| {
                    (
                        n + u64::from(s[i].calls),
                        f + u64::from(s[i].errors + s[i].timeouts),
                    )
                });
                share(failed, calls, "calls to the component")
            }
            _ => Value::Missing(format!("{}: no such component", c.check.metric_name())),
        }
    }

    /// The components failure occurrence `j` spread to, from the seconds closed so far.
    pub fn cascade_of(&self, j: usize) -> Vec<cascade::Spread> {
        let f = &self.plan.failures[j];
        let names = crate::scenario::model::COMPONENTS;
        match names.iter().position(|&n| n == f.component) {
            Some(hit) if !self.components.is_empty() => {
                let others: Vec<cascade::Direct> = (self.plan.failures.iter().enumerate())
                    .filter(|&(k, _)| k != j)
                    .filter_map(|(_, o)| {
                        let c = names.iter().position(|&n| n == o.component)?;
                        Some((c, o.start_ns, o.end_ns))
                    })
                    .collect();
                cascade::cascade(hit, f.start_ns, f.end_ns, &others, self.components)
            }
            _ => Vec::new(),
        }
    }

    /// A probe series' statistic over the scrapes taken in the criterion's windows.
    fn probe_value(&self, c: &PlannedCriterion, stat: ProbeStat) -> Value {
        let name = c.check.metric_name();
        let found = c.check.series.as_ref().and_then(|r| {
            let (i, p) = self
                .plan
                .probes
                .iter()
                .enumerate()
                .find(|(_, p)| p.name == r.probe)?;
            let k = p.series.iter().position(|s| s.name == r.series)?;
            Some((self.probes.get(i)?, k))
        });
        let Some((log, k)) = found else {
            return Value::Missing(format!("{name}: no such probe series in this run"));
        };
        let outside: Vec<(u64, u64)>;
        let windows = if c.scope == Scope::OutsideFailures {
            outside = self
                .scope_seconds(c)
                .iter()
                .map(|s| (s.t * SECOND, (s.t + 1) * SECOND))
                .collect();
            &outside
        } else {
            &c.windows
        };
        if let Some(s) = log.stats(k, windows) {
            return Value::Observed(match stat {
                ProbeStat::Min => s.min,
                ProbeStat::Max => s.max,
                ProbeStat::Mean => s.mean,
                ProbeStat::Last => s.last,
            });
        }
        let started = c.windows.iter().any(|&(a, _)| a <= self.now_ns);
        if !started {
            return Value::NotReached("the scope had not started".to_string());
        }
        Value::Missing(format!(
            "no scrape in scope gave a value ({} scrapes in the run, {} failed, {} matched nothing)",
            log.scrapes, log.failed, log.missing[k]
        ))
    }

    /// The seconds in a criterion's scope, in time order: those overlapping its windows, or
    /// for `outside = "failures"` those clear of every failure window and the recovery after
    /// it (to the run's end when it never recovered).
    fn scope_seconds<'s>(&'s self, c: &'s PlannedCriterion) -> Vec<&'s Second> {
        if c.scope != Scope::OutsideFailures {
            return self.seconds(&c.windows).collect();
        }
        let excluded: Vec<(u64, u64)> = self
            .plan
            .failures
            .iter()
            .enumerate()
            .map(|(j, f)| {
                let recovered = self.recoveries.get(j).and_then(|r| r.recovery_ms);
                let until = recovered.map_or(u64::MAX, |ms| f.end_ns + ms * 1_000_000);
                (f.start_ns, until)
            })
            .collect();
        self.ran()
            .filter(|s| !excluded.iter().any(|&(start, end)| s.overlaps(start, end)))
            .collect()
    }

    /// A per-second metric over the seconds of its scope, or over every `window` of
    /// consecutive seconds in it, reporting the worst (the largest for `<` and `<=`, the
    /// smallest for `>` and `>=`, the first failing one otherwise). Live, only whole windows
    /// are judged.
    fn per_second_value(&self, c: &PlannedCriterion) -> Value {
        let seconds = self.scope_seconds(c);
        let Some(w) = c.window_s.map(|w| w as usize) else {
            return over_seconds(c.check.metric, &seconds);
        };
        if let Metric::Latency(stat) = c.check.metric {
            return self.rolling_latency(c, stat, w as u64, &seconds);
        }
        let mut worst: Option<f64> = None;
        let mut runs: Vec<&[&Second]> = Vec::new();
        let mut start = 0;
        for i in 1..=seconds.len() {
            if i == seconds.len() || seconds[i].t != seconds[i - 1].t + seconds[i - 1].span {
                runs.push(&seconds[start..i]);
                start = i;
            }
        }
        let whole: Vec<&[&Second]> = runs.iter().flat_map(|r| windows_of(r, w as u64)).collect();
        if whole.is_empty() {
            if self.live || seconds.is_empty() {
                return Value::Missing("no whole window in scope yet".to_string());
            }
            // The scope is shorter than the window: judged over all of it.
            return over_seconds(c.check.metric, &seconds);
        }
        for window in whole {
            let Value::Observed(v) = over_seconds(c.check.metric, window) else {
                continue;
            };
            let fails = !c.check.op.holds(v, c.check.threshold);
            worst = Some(match (worst, c.check.op) {
                (None, _) => v,
                (Some(x), Op::Lt | Op::Le) => x.max(v),
                (Some(x), Op::Gt | Op::Ge) => x.min(v),
                (Some(x), _) if !c.check.op.holds(x, c.check.threshold) => x,
                (Some(_), _) if fails => v,
                (Some(x), _) => x,
            });
        }
        worst.map_or_else(
            || Value::Missing("no window in scope had anything to judge".to_string()),
            Value::Observed,
        )
    }

    /// A latency statistic over every window of `w` seconds wholly inside the scope, from the
    /// recorder's rolling series; the worst is reported. A scope shorter than the window is
    /// judged over all of it (at the end of the run).
    fn rolling_latency(
        &self,
        c: &PlannedCriterion,
        stat: Stat,
        w: u64,
        seconds: &[&Second],
    ) -> Value {
        // The scope's seconds as runs of consecutive ones, [from, to).
        let mut covered: Vec<(u64, u64)> = Vec::new();
        for s in seconds {
            match covered.last_mut() {
                Some(last) if last.1 == s.t => last.1 = s.t + s.span,
                _ => covered.push((s.t, s.t + s.span)),
            }
        }
        let inside = |from: u64, to: u64| {
            let i = covered.partition_point(|&(_, end)| end <= from);
            covered.get(i).is_some_and(|&(a, b)| a <= from && to <= b)
        };
        let series = self.rolling.iter().find(|r| r.seconds == w);
        let low = matches!(c.check.op, Op::Gt | Op::Ge);
        let values = series
            .into_iter()
            .flat_map(|r| r.windows.iter())
            .filter(|x| inside((x.first + 1).saturating_sub(w), x.last + 1))
            .map(|x| {
                if low {
                    x.low[stat as usize]
                } else {
                    x.high[stat as usize]
                }
            });
        let worst = if low {
            values.reduce(f64::min)
        } else {
            values.reduce(f64::max)
        };
        match worst {
            Some(v) => Value::Observed(v),
            None if self.live => Value::Missing("no whole window in scope yet".to_string()),
            None => {
                let agg = self.aggregate(&c.scope);
                let latency = (agg.latency_sum_ns, agg.latency_min_ns, agg.latency_max_ns);
                stat_of(&agg.latency, latency, agg.answered(), stat)
            }
        }
    }

    fn throughput(&self, c: &PlannedCriterion, ok: u64) -> Value {
        let ns: u64 = c
            .windows
            .iter()
            .map(|&(a, b)| b.min(self.now_ns.max(a)) - a)
            .sum();
        if ns == 0 {
            Value::NotReached("the scope had not started".to_string())
        } else {
            Value::Observed(ok as f64 / (ns as f64 / 1e9))
        }
    }

    /// Planned minus every outcome. Live, only closed seconds have their planned count, so
    /// the loss is read from those seconds of the timeline.
    fn lost(&self, c: &PlannedCriterion, agg: &Aggregate) -> u64 {
        if self.live {
            self.seconds(&c.windows).map(|s| s.counts.lost()).sum()
        } else {
            agg.counts.lost()
        }
    }

    /// The capacity over the scope; a system that never broke held the highest rate it was
    /// given (live, nothing is known until a second breaks).
    fn capacity_rate(&self, c: &PlannedCriterion) -> Value {
        let cap = capacity(self.plan, self.timeline, &c.windows);
        match cap.rate {
            Some(rate) => Value::Observed(rate),
            None if self.live => Value::Missing("no second has broken yet".to_string()),
            None => Value::Observed(cap.highest_held),
        }
    }

    fn availability(&self, c: &PlannedCriterion) -> Value {
        let seconds: Vec<&Second> = self
            .seconds(&c.windows)
            .filter(|s| s.had_traffic())
            .collect();
        if seconds.is_empty() {
            return Value::Missing("no seconds with traffic in scope".to_string());
        }
        Value::Observed(up_share(&seconds))
    }

    /// The longest recovery of the failures in scope that started. A failure that ended and
    /// never recovered fails the criterion (live: it counts as the time since its end, so the
    /// check fails once that passes the threshold); so does one still under way when the run
    /// stopped. With failures in scope of which none started, the criterion is not reached.
    fn recovery_value(&self, c: &PlannedCriterion) -> Value {
        let mut worst: f64 = 0.0;
        let mut never = Vec::new();
        let mut under_way = Vec::new();
        let mut started = 0;
        let in_scope = self.failures_in(c);
        for &j in &in_scope {
            let f = &self.plan.failures[j];
            if f.start_ns >= self.now_ns {
                continue;
            }
            started += 1;
            if f.end_ns > self.now_ns {
                under_way.push(f.name.clone());
                continue;
            }
            match self.recoveries.get(j).and_then(|r| r.recovery_ms) {
                Some(ms) => worst = worst.max(ms as f64),
                None => {
                    worst = worst.max((self.now_ns - f.end_ns) as f64 / 1e6);
                    never.push(f.name.clone());
                }
            }
        }
        if self.live {
            return Value::Observed(worst);
        }
        if started == 0 && !in_scope.is_empty() {
            return Value::NotReached("no failure in scope had started".to_string());
        }
        let when = if self.stopped {
            "when the run stopped"
        } else {
            "before the run ended"
        };
        let mut why = Vec::new();
        if !never.is_empty() {
            why.push(format!("{} had not recovered {when}", never.join(", ")));
        }
        if !under_way.is_empty() {
            why.push(format!(
                "{} was still under way {when}",
                under_way.join(", ")
            ));
        }
        if why.is_empty() {
            Value::Observed(worst)
        } else {
            Value::Missing(why.join("; "))
        }
    }

    /// Judges one criterion.
    pub fn judge(&self, c: &PlannedCriterion) -> Judgement {
        let start = c.windows.iter().map(|w| w.0).min().unwrap_or(0);
        let end = c.windows.iter().map(|w| w.1).max().unwrap_or(0);
        let reached = !self.stopped || start < self.now_ns;
        let partial = self.stopped && reached && end > self.now_ns;
        let value = if reached {
            self.value(c)
        } else {
            Value::NotReached("its scope had not started when the run stopped".to_string())
        };
        let (status, observed, note) = match value {
            Value::Observed(v) if c.check.op.holds(v, c.check.threshold) => {
                (Status::Pass, Some(v), None)
            }
            Value::Observed(v) => (Status::Fail, Some(v), None),
            Value::Missing(note) => (Status::Fail, None, Some(note)),
            Value::NotReached(note) => (Status::NotReached, None, Some(note)),
        };
        Judgement {
            status,
            observed,
            note,
            partial,
        }
    }
}

/// A per-second metric over a set of seconds.
/// The share of the seconds (each entry by its span) with traffic whose failure rate stayed
/// below [`AVAILABLE_BELOW`]; `seconds` all had traffic.
pub fn up_share(seconds: &[&Second]) -> f64 {
    let all: u64 = seconds.iter().map(|s| s.span).sum();
    let up: u64 = seconds
        .iter()
        .filter(|s| s.failure_rate() < AVAILABLE_BELOW)
        .map(|s| s.span)
        .sum();
    up as f64 / all.max(1) as f64
}

/// Every run of consecutive entries of `run` that spans `w` seconds or more and would not
/// without its last entry: for one-second entries, every window of `w` of them.
fn windows_of<'a, 's>(run: &'a [&'s Second], w: u64) -> Vec<&'a [&'s Second]> {
    let mut out = Vec::new();
    let mut end = 0;
    let mut span = 0;
    for start in 0..run.len() {
        while end < run.len() && span < w {
            span += run[end].span;
            end += 1;
        }
        if span < w {
            break;
        }
        out.push(&run[start..end]);
        span -= run[start].span;
    }
    out
}

fn over_seconds(metric: Metric, seconds: &[&Second]) -> Value {
    let mut sum = crate::metrics::Counts::default();
    for s in seconds {
        sum.add(&s.counts);
    }
    let due = sum.due();
    let with_traffic: Vec<&&Second> = seconds.iter().filter(|s| s.had_traffic()).collect();
    let count = |x: u64| Value::Observed(x as f64);
    match metric {
        Metric::Requests => count(sum.answered()),
        Metric::Errors => count(sum.errors),
        Metric::Timeouts => count(sum.timeouts),
        Metric::Dropped => count(sum.dropped),
        Metric::Lost => count(seconds.iter().map(|s| s.counts.lost()).sum()),
        Metric::ErrorRate => share(sum.errors, due, "transactions due"),
        Metric::TimeoutRate => share(sum.timeouts, due, "transactions due"),
        Metric::DropRate => share(sum.dropped, due, "transactions due"),
        Metric::ThroughputRatio => share(sum.ok, due, "transactions due"),
        Metric::Throughput if seconds.is_empty() => {
            Value::Missing("no seconds in scope".to_string())
        }
        Metric::Throughput => {
            Value::Observed(sum.ok as f64 / seconds.iter().map(|s| s.span).sum::<u64>() as f64)
        }
        Metric::Availability if with_traffic.is_empty() => {
            Value::Missing("no seconds with traffic in scope".to_string())
        }
        Metric::Availability => {
            let with_traffic: Vec<&Second> = with_traffic.into_iter().copied().collect();
            Value::Observed(up_share(&with_traffic))
        }
        Metric::DegradationMax => seconds
            .iter()
            .map(|s| s.degraded_share())
            .reduce(f64::max)
            .map_or_else(
                || Value::Missing("no seconds in scope".to_string()),
                Value::Observed,
            ),
        other => Value::Missing(format!("\"{other}\" is not judged from per-second figures")),
    }
}

/// A criterion as it stands while the run goes on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LiveStatus {
    /// Its scope has not started yet.
    Pending,
    /// It holds on what ran so far.
    Pass,
    /// It does not hold on what ran so far.
    Fail,
    /// Its scope started but there is nothing to judge yet.
    NoData,
}

impl LiveStatus {
    pub fn name(self) -> &'static str {
        match self {
            LiveStatus::Pending => "pending",
            LiveStatus::Pass => "pass",
            LiveStatus::Fail => "fail",
            LiveStatus::NoData => "no-data",
        }
    }
}

/// Every criterion of `plan` judged on what the recorder holds at `now`, with its value: what
/// a live view shows. The same judging as the end of the run, on the seconds closed so far.
pub fn live_statuses(plan: &Plan, now: u64, rec: &Recorder) -> Vec<(LiveStatus, Option<f64>)> {
    let needs_recovery = plan
        .criteria
        .iter()
        .any(|c| c.check.metric == Metric::RecoveryTime);
    let recoveries = if needs_recovery {
        recoveries(plan, &rec.timeline)
    } else {
        Vec::new()
    };
    let measured = Measured::of(plan, rec, &recoveries, now, false, true);
    plan.criteria
        .iter()
        .map(|c| {
            if c.windows.first().is_none_or(|&(start, _)| now < start) {
                return (LiveStatus::Pending, None);
            }
            // Recovery is known only once a failure is over.
            if c.check.metric == Metric::RecoveryTime
                && !plan.failures.iter().any(|f| f.end_ns <= now)
            {
                return (LiveStatus::Pending, None);
            }
            match measured.value(c) {
                Value::Observed(v) if c.check.op.holds(v, c.check.threshold) => {
                    (LiveStatus::Pass, Some(v))
                }
                Value::Observed(v) => (LiveStatus::Fail, Some(v)),
                Value::Missing(_) | Value::NotReached(_) => (LiveStatus::NoData, None),
            }
        })
        .collect()
}

/// The first `abort = true` criterion that fails live at `now`, among those whose scope is
/// under way and past its grace. A metric without data yet never aborts a run.
pub fn failing_abort(plan: &Plan, now: u64, rec: &Recorder) -> Option<usize> {
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
        .any(|&i| plan.criteria[i].check.metric == Metric::RecoveryTime);
    let recoveries = if needs_recovery {
        recoveries(plan, &rec.timeline)
    } else {
        Vec::new()
    };
    let measured = Measured::of(plan, rec, &recoveries, now, false, true);
    live.into_iter().find(|&i| {
        let c = &plan.criteria[i];
        matches!(measured.value(c), Value::Observed(v) if !c.check.op.holds(v, c.check.threshold))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(t: u64, span: u64) -> Second {
        Second {
            t,
            span,
            ..Second::default()
        }
    }

    #[test]
    fn windows_run_over_seconds_whatever_each_entry_covers() {
        let ones: Vec<Second> = (0..5).map(|t| entry(t, 1)).collect();
        let refs: Vec<&Second> = ones.iter().collect();
        let starts = |w: Vec<&[&Second]>| -> Vec<(u64, usize)> {
            w.iter().map(|x| (x[0].t, x.len())).collect()
        };
        // One-second entries: every window of w of them, as slice::windows gives.
        assert_eq!(starts(windows_of(&refs, 3)), vec![(0, 3), (1, 3), (2, 3)]);
        assert!(windows_of(&refs, 6).is_empty());
        // Coarse entries: as many as it takes to cover w seconds.
        let mixed = [
            entry(0, 1),
            entry(1, 1),
            entry(2, 2),
            entry(4, 4),
            entry(8, 4),
        ];
        let refs: Vec<&Second> = mixed.iter().collect();
        assert_eq!(
            starts(windows_of(&refs, 3)),
            vec![(0, 3), (1, 2), (2, 2), (4, 1), (8, 1)]
        );
        // Availability weighs an entry by its seconds.
        let mut down = entry(1, 4);
        down.counts.planned = 10;
        down.counts.errors = 10;
        let mut up = entry(0, 1);
        up.counts.planned = 10;
        up.counts.ok = 10;
        assert_eq!(up_share(&[&up, &down]), 0.2);
    }
}
