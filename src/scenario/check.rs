//! Criterion expressions: `check = "METRIC OP VALUE"`, e.g. `latency.p95 < 2s`,
//! `error_rate < 0.1%`, `fraud.recall > 90%`. Parsing turns the text into a metric from the
//! registry below, an operator and a threshold in the metric's base unit (milliseconds for
//! times, fractions for shares), or says exactly which part of the text is wrong.

use serde::Serialize;

use super::suggest::did_you_mean;

/// What a metric measures decides which units fit it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// A time; `us`, `ms`, `s`, `m` or `h` (a bare number is milliseconds). Base unit: ms.
    Time,
    /// A share of something, `%` or a fraction in [0, 1]. Base unit: fraction.
    Share,
    /// A ratio that may pass 100% (ROI); `%` or a plain number. Base unit: fraction.
    Ratio,
    /// A count; a plain number.
    Count,
    /// Transactions per second; a plain number.
    Rate,
    /// US dollars; a plain number.
    Money,
    /// Whatever a scraped series measures; a plain number, any sign.
    Value,
    /// A number of months; a plain number.
    Months,
}

/// A latency statistic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    Min,
    Mean,
    P50,
    P90,
    P95,
    P99,
    P999,
    Max,
}

impl Stat {
    pub const ALL: [Stat; 8] = [
        Stat::Min,
        Stat::Mean,
        Stat::P50,
        Stat::P90,
        Stat::P95,
        Stat::P99,
        Stat::P999,
        Stat::Max,
    ];

    /// The quantile a percentile stands for; None for min, mean and max.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Stat::P50 => Some(0.50),
            Stat::P90 => Some(0.90),
            Stat::P95 => Some(0.95),
            Stat::P99 => Some(0.99),
            Stat::P999 => Some(0.999),
            Stat::Min | Stat::Mean | Stat::Max => None,
        }
    }
}

/// A statistic of a probe's series over a scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeStat {
    Min,
    Max,
    Mean,
    /// The last value scraped in scope.
    Last,
}

impl ProbeStat {
    pub const ALL: [ProbeStat; 4] = [
        ProbeStat::Min,
        ProbeStat::Max,
        ProbeStat::Mean,
        ProbeStat::Last,
    ];

    pub fn name(self) -> &'static str {
        ["min", "max", "mean", "last"][self as usize]
    }
}

/// What a `component.NAME.…` criterion reads of one component's seconds in scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentStat {
    /// `health.min`: its lowest health in any second.
    HealthMin,
    /// `utilisation.max`: its highest utilisation in any second.
    UtilisationMax,
    /// `error_rate`: its errors and timeouts over its calls.
    ErrorRate,
}

impl ComponentStat {
    pub const ALL: [ComponentStat; 3] = [
        ComponentStat::HealthMin,
        ComponentStat::UtilisationMax,
        ComponentStat::ErrorRate,
    ];

    pub fn name(self) -> &'static str {
        ["health.min", "utilisation.max", "error_rate"][self as usize]
    }
}

/// Which probe and series a `probe.NAME.SERIES.STAT` criterion reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SeriesRef {
    pub probe: String,
    pub series: String,
}

/// Every metric a criterion may judge; parsed once, matched exhaustively after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Latency(Stat),
    ServiceTime(Stat),
    Throughput,
    ThroughputRatio,
    Requests,
    Errors,
    Timeouts,
    Dropped,
    Lost,
    ErrorRate,
    TimeoutRate,
    DropRate,
    RecoveryTime,
    DegradationMax,
    FraudRecall,
    FraudPrecision,
    FraudFalsePositiveRate,
    FraudPreventedAmount,
    FraudMissedAmount,
    BusinessMoneySaved,
    BusinessRoi,
    BusinessCostPerTransaction,
    Availability,
    GeneratorLagP99,
    CapacityRate,
    /// `probe.NAME.SERIES.STAT`; the check's `series` says which.
    Probe(ProbeStat),
    /// `component.NAME.STAT`; the check's `component` says which.
    Component(ComponentStat),
    ComponentsUnhealthy,
    CascadeMax,
    BusinessPaybackMonths,
}

const OTHERS: [Metric; 26] = [
    Metric::Throughput,
    Metric::ThroughputRatio,
    Metric::Requests,
    Metric::Errors,
    Metric::Timeouts,
    Metric::Dropped,
    Metric::Lost,
    Metric::ErrorRate,
    Metric::TimeoutRate,
    Metric::DropRate,
    Metric::RecoveryTime,
    Metric::DegradationMax,
    Metric::FraudRecall,
    Metric::FraudPrecision,
    Metric::FraudFalsePositiveRate,
    Metric::FraudPreventedAmount,
    Metric::FraudMissedAmount,
    Metric::BusinessMoneySaved,
    Metric::BusinessRoi,
    Metric::BusinessCostPerTransaction,
    Metric::BusinessPaybackMonths,
    Metric::Availability,
    Metric::GeneratorLagP99,
    Metric::CapacityRate,
    Metric::ComponentsUnhealthy,
    Metric::CascadeMax,
];

impl Metric {
    /// Every metric, in the order the docs list them.
    pub fn all() -> impl Iterator<Item = Metric> {
        Stat::ALL
            .into_iter()
            .map(Metric::Latency)
            .chain(Stat::ALL.into_iter().map(Metric::ServiceTime))
            .chain(OTHERS)
    }

    pub fn parse(name: &str) -> Option<Metric> {
        Metric::all().find(|m| m.name() == name)
    }

    /// The name a check uses.
    pub fn name(self) -> &'static str {
        use Metric::*;
        match self {
            Latency(s) => [
                "latency.min",
                "latency.mean",
                "latency.p50",
                "latency.p90",
                "latency.p95",
                "latency.p99",
                "latency.p99.9",
                "latency.max",
            ][s as usize],
            ServiceTime(s) => [
                "service_time.min",
                "service_time.mean",
                "service_time.p50",
                "service_time.p90",
                "service_time.p95",
                "service_time.p99",
                "service_time.p99.9",
                "service_time.max",
            ][s as usize],
            Throughput => "throughput",
            ThroughputRatio => "throughput_ratio",
            Requests => "requests",
            Errors => "errors",
            Timeouts => "timeouts",
            Dropped => "dropped",
            Lost => "lost",
            ErrorRate => "error_rate",
            TimeoutRate => "timeout_rate",
            DropRate => "drop_rate",
            RecoveryTime => "recovery_time",
            DegradationMax => "degradation.max",
            FraudRecall => "fraud.recall",
            FraudPrecision => "fraud.precision",
            FraudFalsePositiveRate => "fraud.false_positive_rate",
            FraudPreventedAmount => "fraud.prevented_amount",
            FraudMissedAmount => "fraud.missed_amount",
            BusinessMoneySaved => "business.money_saved",
            BusinessRoi => "business.roi",
            BusinessCostPerTransaction => "business.cost_per_transaction",
            Availability => "availability",
            GeneratorLagP99 => "generator.lag.p99",
            CapacityRate => "capacity.rate",
            Probe(s) => [
                "probe.NAME.SERIES.min",
                "probe.NAME.SERIES.max",
                "probe.NAME.SERIES.mean",
                "probe.NAME.SERIES.last",
            ][s as usize],
            Component(s) => [
                "component.NAME.health.min",
                "component.NAME.utilisation.max",
                "component.NAME.error_rate",
            ][s as usize],
            ComponentsUnhealthy => "components.unhealthy",
            CascadeMax => "cascade.max",
            BusinessPaybackMonths => "business.payback_months",
        }
    }

    pub fn kind(self) -> MetricKind {
        use Metric::*;
        match self {
            Latency(_) | ServiceTime(_) | RecoveryTime | GeneratorLagP99 => MetricKind::Time,
            ThroughputRatio
            | ErrorRate
            | TimeoutRate
            | DropRate
            | DegradationMax
            | FraudRecall
            | FraudPrecision
            | FraudFalsePositiveRate
            | Availability
            | Component(_) => MetricKind::Share,
            BusinessRoi => MetricKind::Ratio,
            Requests | Errors | Timeouts | Dropped | Lost | ComponentsUnhealthy | CascadeMax => {
                MetricKind::Count
            }
            BusinessPaybackMonths => MetricKind::Months,
            Throughput | CapacityRate => MetricKind::Rate,
            FraudPreventedAmount
            | FraudMissedAmount
            | BusinessMoneySaved
            | BusinessCostPerTransaction => MetricKind::Money,
            Probe(_) => MetricKind::Value,
        }
    }

    /// What it measures, in a few words.
    pub fn meaning(self) -> &'static str {
        use Metric::*;
        match self {
            Latency(_) => "from each transaction's planned start",
            ServiceTime(_) => "from the moment it was actually sent",
            Throughput => "successful transactions per second",
            ThroughputRatio => "ok / planned",
            Requests => "transactions answered",
            Errors => "transactions that failed",
            Timeouts => "transactions that timed out",
            Dropped => "arrivals over the in-flight limit",
            Lost => "planned minus every accounted outcome",
            ErrorRate => "errors / (planned - cancelled)",
            TimeoutRate => "timeouts / (planned - cancelled)",
            DropRate => "dropped / (planned - cancelled)",
            RecoveryTime => "longest recovery of any failure in scope",
            DegradationMax => "largest per-second share of degraded decisions",
            FraudRecall => "fraud caught / fraud sent",
            FraudPrecision => "true blocks / all blocks",
            FraudFalsePositiveRate => "legitimate blocked / legitimate",
            FraudPreventedAmount => "USD of fraud blocked",
            FraudMissedAmount => "USD of fraud let through",
            BusinessMoneySaved => "prevented minus costs, USD",
            BusinessRoi => "money saved / total cost",
            BusinessCostPerTransaction => "total cost / transactions, USD",
            Availability => "share of seconds with error rate under 1%",
            GeneratorLagP99 => "how late the generator itself sent",
            CapacityRate => "the planned rate of the last second before the first broken one",
            Probe(_) => "a series scraped from the service's metrics endpoint",
            Component(ComponentStat::HealthMin) => "a component's lowest health in any second",
            Component(ComponentStat::UtilisationMax) => {
                "a component's highest utilisation in any second"
            }
            Component(ComponentStat::ErrorRate) => "a component's errors and timeouts / its calls",
            ComponentsUnhealthy => "components whose health fell below 0.9 in any second",
            CascadeMax => "the most components any failure in scope spread to",
            BusinessPaybackMonths => "investment / money saved per month at this run's rate",
        }
    }

    /// Needs the target's fraud decisions.
    pub fn needs_decisions(self) -> bool {
        use Metric::*;
        matches!(
            self,
            FraudRecall
                | FraudPrecision
                | FraudFalsePositiveRate
                | FraudPreventedAmount
                | FraudMissedAmount
                | BusinessMoneySaved
                | BusinessRoi
                | BusinessCostPerTransaction
                | BusinessPaybackMonths
        )
    }

    /// Read from the simulated model's own components (the per-component timeline).
    pub fn needs_components(self) -> bool {
        matches!(
            self,
            Metric::Component(_) | Metric::ComponentsUnhealthy | Metric::CascadeMax
        )
    }

    /// Whether it can be judged from per-second figures alone (the timeline's counts and
    /// degraded share): what `window` and `outside` need.
    pub fn per_second(self) -> bool {
        use Metric::*;
        matches!(
            self,
            Requests
                | Errors
                | Timeouts
                | Dropped
                | Lost
                | ErrorRate
                | TimeoutRate
                | DropRate
                | Throughput
                | ThroughputRatio
                | Availability
                | DegradationMax
        )
    }

    /// Whether its value can be below 0 (money saved and ROI go negative when costs win).
    fn can_be_negative(self) -> bool {
        matches!(
            self,
            Metric::BusinessMoneySaved | Metric::BusinessRoi | Metric::Probe(_)
        )
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }

    /// Whether `observed OP threshold` holds.
    pub fn holds(self, observed: f64, threshold: f64) -> bool {
        match self {
            Op::Lt => observed < threshold,
            Op::Le => observed <= threshold,
            Op::Gt => observed > threshold,
            Op::Ge => observed >= threshold,
            Op::Eq => observed == threshold,
            Op::Ne => observed != threshold,
        }
    }
}

impl Serialize for Op {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.symbol())
    }
}

/// A parsed criterion expression.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    #[serde(serialize_with = "metric_name")]
    pub metric: Metric,
    pub op: Op,
    /// In the metric's base unit: milliseconds for times, fractions for shares and ratios.
    pub threshold: f64,
    /// The expression in canonical spacing, e.g. `latency.p95 < 2s`.
    pub text: String,
    /// For `probe.NAME.SERIES.STAT`: the probe and series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<SeriesRef>,
    /// For `component.NAME.STAT`: the component.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
}

impl Check {
    /// The metric as written: `latency.p95`, or `probe.api.queue.max` with its names.
    pub fn metric_name(&self) -> String {
        written(self.metric, self.series.as_ref(), self.component.as_deref())
    }
}

fn written(metric: Metric, series: Option<&SeriesRef>, component: Option<&str>) -> String {
    match (series, component, metric) {
        (Some(r), _, Metric::Probe(s)) => format!("probe.{}.{}.{}", r.probe, r.series, s.name()),
        (_, Some(c), Metric::Component(s)) => format!("component.{c}.{}", s.name()),
        _ => metric.name().to_string(),
    }
}

fn metric_name<S: serde::Serializer>(m: &Metric, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.name())
}

/// Why an expression was rejected, and which bytes of it are at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckError {
    pub start: usize,
    pub end: usize,
    pub message: String,
}

const OPS: [(&str, Op); 6] = [
    ("<=", Op::Le),
    (">=", Op::Ge),
    ("==", Op::Eq),
    ("!=", Op::Ne),
    ("<", Op::Lt),
    (">", Op::Gt),
];

fn err(start: usize, end: usize, message: String) -> CheckError {
    CheckError {
        start,
        end,
        message,
    }
}

pub fn parse(text: &str) -> Result<Check, CheckError> {
    let Some((op_at, op_text, op)) = text.char_indices().find_map(|(i, _)| {
        OPS.iter()
            .find(|(s, _)| text[i..].starts_with(s))
            .map(|(s, op)| (i, *s, *op))
    }) else {
        return Err(err(
            0,
            text.len(),
            format!(
                "\"{text}\" has no comparison; write METRIC OP VALUE with OP one of < <= > >= == !=, e.g. \"latency.p95 < 2s\""
            ),
        ));
    };
    let (metric, series, component) = metric_at(text, op_at)?;
    let value_at = op_at + op_text.len();
    let value_raw = &text[value_at..];
    let value_text = value_raw.trim();
    let value_start = value_at + (value_raw.len() - value_raw.trim_start().len());
    let full_name = written(metric, series.as_ref(), component.as_deref());
    let metric_name = full_name.as_str();
    if value_text.is_empty() {
        return Err(err(
            op_at,
            value_at,
            format!("nothing to compare \"{metric_name}\" with after \"{op_text}\""),
        ));
    }
    if value_text.starts_with(['<', '>', '=', '!']) {
        return Err(err(
            op_at,
            value_start + 1,
            format!(
                "\"{}\" is not an operator; use one of < <= > >= == !=",
                &text[op_at..value_start + 1]
            ),
        ));
    }
    let (threshold, shown) = threshold(metric, metric_name, value_text, value_start)?;
    if let Some(why) = out_of_range(metric, op, threshold) {
        return Err(err(
            value_start,
            value_start + value_text.len(),
            format!("{value_text} is out of range for \"{metric_name}\": {why}"),
        ));
    }
    Ok(Check {
        metric,
        op,
        threshold,
        text: format!("{metric_name} {} {shown}", op.symbol()),
        series,
        component,
    })
}

/// `component.NAME.STAT`, with NAME one of the model's components.
fn component_metric(name: &str, start: usize) -> Result<(Metric, String), CheckError> {
    let rest = &name["component.".len()..];
    let stats = ComponentStat::ALL.map(ComponentStat::name);
    let shape = || {
        err(
            start,
            start + name.len(),
            format!(
                "\"{name}\" is not a component metric; write component.NAME.STAT with STAT one of {}, e.g. \"component.ml-scorer.health.min > 0.9\"",
                super::all_of(&stats)
            ),
        )
    };
    let Some((component, stat)) = ComponentStat::ALL
        .into_iter()
        .find_map(|s| Some((rest.strip_suffix(s.name())?.strip_suffix('.')?, s)))
    else {
        return Err(shape());
    };
    if component.is_empty() {
        return Err(shape());
    }
    let known = super::model::COMPONENTS;
    if !known.contains(&component) {
        let at = start + "component.".len();
        let mut message = format!("no component is named \"{component}\"");
        if let Some(s) = did_you_mean(component, known) {
            message.push_str(&format!("; did you mean \"{s}\"?"));
        } else {
            message.push_str(&format!("; the components are {}", super::all_of(&known)));
        }
        return Err(err(at, at + component.len(), message));
    }
    Ok((Metric::Component(stat), component.to_string()))
}

/// `probe.NAME.SERIES.STAT`, checked for its shape; which probes and series exist is the
/// plan's to check.
fn probe_metric(name: &str, start: usize) -> Result<(Metric, SeriesRef), CheckError> {
    let parts: Vec<&str> = name.split('.').collect();
    let shape = || {
        err(
            start,
            start + name.len(),
            format!(
                "\"{name}\" is not a probe metric; write probe.NAME.SERIES.STAT with STAT one of min, max, mean, last, e.g. \"probe.api.queue.max < 100\""
            ),
        )
    };
    let [_, probe, series, stat] = parts[..] else {
        return Err(shape());
    };
    let probe_ok = probe
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && probe
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let series_ok = series
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && series
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_:-".contains(&b));
    let Some(stat) = ProbeStat::ALL.into_iter().find(|s| s.name() == stat) else {
        return Err(shape());
    };
    if !probe_ok || !series_ok {
        return Err(shape());
    }
    Ok((
        Metric::Probe(stat),
        SeriesRef {
            probe: probe.to_string(),
            series: series.to_string(),
        },
    ))
}

/// The metric named before the operator at `op_at`, with its probe series or component.
type Named = (Metric, Option<SeriesRef>, Option<String>);

/// The metric named before the operator at `op_at`.
fn metric_at(text: &str, op_at: usize) -> Result<Named, CheckError> {
    let metric_raw = &text[..op_at];
    let metric_name = metric_raw.trim();
    let metric_start = metric_raw.len() - metric_raw.trim_start().len();
    if metric_name.is_empty() {
        return Err(err(
            0,
            op_at.max(1),
            "the check names no metric before its operator".to_string(),
        ));
    }
    if metric_name.starts_with("probe.") {
        return probe_metric(metric_name, metric_start).map(|(m, r)| (m, Some(r), None));
    }
    if metric_name.starts_with("component.") {
        return component_metric(metric_name, metric_start).map(|(m, c)| (m, None, Some(c)));
    }
    Metric::parse(metric_name)
        .map(|m| (m, None, None))
        .ok_or_else(|| {
            let mut message = format!("unknown metric \"{metric_name}\"");
            if let Some((ours, tool)) = foreign(metric_name) {
                message.push_str(&format!("; {tool}'s \"{metric_name}\" is \"{ours}\" here"));
            } else if let Some(s) = did_you_mean(metric_name, Metric::all().map(Metric::name)) {
                message.push_str(&format!("; did you mean \"{s}\"?"));
            } else {
                message.push_str("; see the metric list in docs/scenario-language.md");
            }
            err(metric_start, metric_start + metric_name.len(), message)
        })
}

/// The threshold in the metric's base unit, and the value as written (number and unit),
/// from `value_text`, which starts at byte `value_start` of the check.
fn threshold(
    metric: Metric,
    metric_name: &str,
    value_text: &str,
    value_start: usize,
) -> Result<(f64, String), CheckError> {
    let num_len = number_prefix(value_text);
    let number_text = &value_text[..num_len];
    let unit = value_text[num_len..].trim();
    let unit_start = value_start + value_text.len() - value_text[num_len..].trim_start().len();
    let Ok(number) = number_text.replace('_', "").parse::<f64>() else {
        return Err(err(
            value_start,
            value_start + value_text.len(),
            format!("\"{value_text}\" is not a number with an optional unit (us, ms, s, m, h, %)"),
        ));
    };
    let unit_err = |message: String| err(unit_start, unit_start + unit.len().max(1), message);
    let threshold = match (metric.kind(), unit) {
        (MetricKind::Time, "" | "ms") => number,
        (MetricKind::Time, "s") => number * 1_000.0,
        (MetricKind::Time, "m") => number * 60_000.0,
        (MetricKind::Time, "h") => number * 3_600_000.0,
        (MetricKind::Time, "us") => number / 1_000.0,
        (MetricKind::Time, u) => {
            return Err(unit_err(format!(
                "\"{u}\" is not a unit of time for \"{metric_name}\"; use us, ms, s, m or h"
            )));
        }
        (MetricKind::Share | MetricKind::Ratio, "%") => number / 100.0,
        (MetricKind::Share, "") if !(0.0..=1.0).contains(&number) => {
            return Err(err(
                value_start,
                value_start + value_text.len(),
                format!(
                    "\"{metric_name}\" is a share from 0 to 1; did you mean {}%?",
                    value_text
                ),
            ));
        }
        (MetricKind::Share | MetricKind::Ratio, "") => number,
        (MetricKind::Share | MetricKind::Ratio, u) => {
            return Err(unit_err(format!(
                "\"{metric_name}\" is a share; write it as a percentage like 0.1% or a fraction like 0.001, not with \"{u}\""
            )));
        }
        (
            MetricKind::Count
            | MetricKind::Rate
            | MetricKind::Money
            | MetricKind::Value
            | MetricKind::Months,
            "",
        ) => number,
        (kind, u) => {
            let what = match kind {
                MetricKind::Count => "a count",
                MetricKind::Rate => "transactions per second",
                MetricKind::Value => "a scraped value",
                MetricKind::Months => "a number of months",
                _ => "an amount in USD",
            };
            return Err(unit_err(format!(
                "\"{metric_name}\" is {what}; write a plain number, without \"{u}\""
            )));
        }
    };
    Ok((threshold, format!("{number_text}{unit}")))
}

/// What a metric name of k6, Artillery or Gatling is called here, and whose name it is.
fn foreign(name: &str) -> Option<(String, &'static str)> {
    let stat = |s: &str| -> Option<&'static str> {
        Some(match s {
            "min" => "min",
            "avg" | "mean" => "mean",
            "med" | "median" | "p50" | "p(50)" | "percentile1" => "p50",
            "p90" | "p(90)" => "p90",
            "p95" | "p(95)" | "percentile3" => "p95",
            "p99" | "p(99)" | "percentile4" => "p99",
            "p999" | "p99.9" | "p(99.9)" => "p99.9",
            "max" => "max",
            _ => return None,
        })
    };
    // `base.stat` with the base one of the tool's latency names.
    let latency = |base: &str, tool: &'static str| {
        name.strip_prefix(base)
            .and_then(|rest| rest.strip_prefix('.'))
            .and_then(stat)
            .map(|s| (format!("latency.{s}"), tool))
    };
    let whole = |ours: &str, tool: &'static str| Some((ours.to_string(), tool));
    match name {
        "http_req_failed" => whole("error_rate", "k6"),
        "http_reqs" => whole("throughput", "k6"),
        "http_req_duration" | "iteration_duration" => whole("latency.p95", "k6"),
        "errors" | "vusers.failed" => whole("errors", "Artillery"),
        "http.request_rate" => whole("throughput", "Artillery"),
        "failedRequests.percent" | "global.failedRequests.percent" => {
            whole("error_rate", "Gatling")
        }
        "requestsPerSec" | "global.requestsPerSec" => whole("throughput", "Gatling"),
        _ => latency("http_req_duration", "k6")
            .or_else(|| latency("iteration_duration", "k6"))
            .or_else(|| latency("http_req_waiting", "k6"))
            .or_else(|| latency("http.response_time", "Artillery"))
            .or_else(|| latency("responseTime", "Gatling"))
            .or_else(|| latency("global.responseTime", "Gatling")),
    }
}

/// Why a threshold (in the metric's base unit) can never be met or means nothing: a check
/// against it could not tell a good run from a bad one.
fn out_of_range(metric: Metric, op: Op, threshold: f64) -> Option<&'static str> {
    let floor = !metric.can_be_negative();
    if floor && threshold <= 0.0 && op == Op::Lt {
        return Some("it is never below 0, so this check could never pass");
    }
    if metric.kind() == MetricKind::Share && threshold >= 1.0 && op == Op::Gt {
        return Some("a share is never above 100%, so this check could never pass");
    }
    if threshold < 0.0 && floor {
        return Some(match metric.kind() {
            MetricKind::Time => "a time is never negative",
            MetricKind::Share => "a share is from 0% to 100%",
            MetricKind::Count => "a count is never negative",
            MetricKind::Rate => "a rate is never negative",
            MetricKind::Money | MetricKind::Ratio | MetricKind::Value | MetricKind::Months => {
                "this amount is never negative"
            }
        });
    }
    match metric.kind() {
        MetricKind::Share if threshold > 1.0 => Some("a share is from 0% to 100%"),
        MetricKind::Count if threshold.fract() != 0.0 => Some("a count is a whole number"),
        _ => None,
    }
}

/// Length of the leading `-?[0-9_]+(\.[0-9]+)?` of `s`.
fn number_prefix(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_examples() {
        let c = parse("latency.p95 < 2s").unwrap();
        assert_eq!(
            (c.metric, c.op, c.threshold),
            (Metric::Latency(Stat::P95), Op::Lt, 2000.0)
        );
        let c = parse("error_rate < 0.1%").unwrap();
        assert!((c.threshold - 0.001).abs() < 1e-12);
        let c = parse("fraud.recall > 90%").unwrap();
        assert!((c.threshold - 0.9).abs() < 1e-12);
        let c = parse("lost == 0").unwrap();
        assert_eq!((c.op, c.threshold), (Op::Eq, 0.0));
        let c = parse("latency.p99.9<=1m").unwrap();
        assert_eq!(
            (c.metric.name(), c.threshold, c.text.as_str()),
            ("latency.p99.9", 60_000.0, "latency.p99.9 <= 1m")
        );
        assert_eq!(parse("recovery_time < 60s").unwrap().threshold, 60_000.0);
        assert_eq!(parse("latency.p50 < 250").unwrap().threshold, 250.0);
        // The units of durations all work for times.
        assert_eq!(parse("generator.lag.p99 < 500us").unwrap().threshold, 0.5);
        assert_eq!(parse("recovery_time < 1h").unwrap().threshold, 3_600_000.0);
        assert!(parse("latency.p95 < 2d").is_err());
    }

    #[test]
    fn rejects_with_the_part_at_fault() {
        let e = parse("latency.p96 < 2s").unwrap_err();
        assert_eq!((e.start, e.end), (0, 11));
        assert!(
            e.message.contains("did you mean \"latency.p95\""),
            "{}",
            e.message
        );
        let e = parse("error_rate < 2s").unwrap_err();
        assert_eq!((e.start, e.end), (14, 15));
        let e = parse("error_rate < 5").unwrap_err();
        assert!(e.message.contains("5%"), "{}", e.message);
        assert!(parse("latency.p95 2s").is_err());
        assert!(parse("requests > 10ms").is_err());
        assert!(parse("latency.p95 < fast").is_err());
        assert!(parse("latency.p95 =< 2s").is_err());
    }

    #[test]
    fn thresholds_no_run_could_meet_or_miss_are_refused() {
        for bad in [
            "error_rate < -1%",
            "availability > 200%",
            "latency.p95 < -2s",
            "recovery_time < 0s",
            "lost == 0.5",
            "throughput > -5",
            "fraud.prevented_amount > -1",
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.message.contains("out of range"), "{bad}: {}", e.message);
            assert_eq!(&bad[e.start..e.end], bad.split(' ').next_back().unwrap());
        }
        // Zero is a fine bound, and money saved or ROI may be negative.
        for good in [
            "recovery_time <= 0s",
            "business.money_saved > -100",
            "business.roi > -50%",
            "error_rate <= 100%",
        ] {
            assert!(parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn metric_names_of_other_load_testers_are_translated() {
        for (theirs, ours) in [
            ("http_req_duration.p95", "latency.p95"),
            ("http_req_duration.p(99)", "latency.p99"),
            ("http_req_failed", "error_rate"),
            ("http.response_time.p99", "latency.p99"),
            ("global.responseTime.percentile3", "latency.p95"),
            ("failedRequests.percent", "error_rate"),
        ] {
            let e = parse(&format!("{theirs} < 1")).unwrap_err();
            assert!(
                e.message.contains(&format!("is \"{ours}\" here")),
                "{theirs}: {}",
                e.message
            );
        }
    }

    #[test]
    fn every_metric_name_parses_back_to_itself() {
        for m in Metric::all() {
            assert_eq!(Metric::parse(m.name()), Some(m));
        }
        assert_eq!(Metric::all().count(), 42);
    }

    #[test]
    fn component_metrics_name_a_component_of_the_model() {
        let c = parse("component.ml-scorer.health.min > 90%").unwrap();
        assert_eq!(c.metric, Metric::Component(ComponentStat::HealthMin));
        assert_eq!(c.component.as_deref(), Some("ml-scorer"));
        assert_eq!(c.threshold, 0.9);
        assert_eq!(c.text, "component.ml-scorer.health.min > 90%");
        let c = parse("component.rules-engine.error_rate < 1%").unwrap();
        assert_eq!(c.metric, Metric::Component(ComponentStat::ErrorRate));
        // An unknown component is pointed at inside the check, with the likely one.
        let e = parse("component.ml-scorr.utilisation.max < 80%").unwrap_err();
        assert_eq!((e.start, e.end), (10, 18));
        assert!(
            e.message.contains("did you mean \"ml-scorer\""),
            "{}",
            e.message
        );
        let e = parse("component.gateway.health < 1").unwrap_err();
        assert!(
            e.message
                .contains("health.min, utilisation.max and error_rate"),
            "{}",
            e.message
        );
        assert_eq!(
            parse("cascade.max == 0").unwrap().metric,
            Metric::CascadeMax
        );
        let e = parse("components.unhealthy < 0.5").unwrap_err();
        assert!(e.message.contains("whole number"), "{}", e.message);
    }
}
