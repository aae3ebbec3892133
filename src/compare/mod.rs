//! Regression verdicts between two runs (`gauntlet compare BASELINE RUN`): for every scope the
//! runs share (the run, each phase, each failure window), the change of each figure with a 95%
//! confidence interval, and the limits it may not pass (`--max-regression`).
//!
//! Intervals come from a seeded bootstrap over the scope's seconds (2,000 resamples; the same
//! inputs give the same report). When both runs have the same plan digest they sent the same
//! transactions at the same planned instants, so second `t` of one run is paired with second
//! `t` of the other and the seconds are resampled together (paired); otherwise each run's
//! seconds are resampled on their own. A figure read over seconds as a sum (error, timeout and
//! drop rates, throughput, degraded share) is exactly its scope's figure; for latency
//! percentiles the change is that of the scope's percentile and the interval's width is that
//! of the mean per-second percentile. Fraud figures use the normal interval of a difference
//! of two proportions; recovery times are single values, judged on their change alone.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde::Serialize;

use crate::results::{Results, Summary, TimelineSecond};

/// Bootstrap resamples per figure.
pub const RESAMPLES: usize = 2_000;
/// The bootstrap's seed: fixed, so a comparison is reproducible.
pub const SEED: u64 = 0x6761_756e_746c_6574;
/// What `format` says in compare.json.
pub const FORMAT: u32 = 1;

/// How a change is measured and limited.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Relative change, as a fraction (0.1 = +10%).
    Relative,
    /// Change of a share, in points as a fraction (0.001 = +0.1 pt).
    Points,
    /// Change of a time, ms.
    Ms,
}

/// A figure `compare` knows.
#[derive(Clone, Copy, Debug)]
struct Figure {
    name: &'static str,
    /// A higher value is worse (latency, errors); otherwise a lower one is (recall).
    higher_is_worse: bool,
    /// How its change is shown unless a limit says otherwise.
    unit: Unit,
}

const FIGURES: &[Figure] = &[
    Figure {
        name: "latency.p50",
        higher_is_worse: true,
        unit: Unit::Relative,
    },
    Figure {
        name: "latency.p95",
        higher_is_worse: true,
        unit: Unit::Relative,
    },
    Figure {
        name: "latency.p99",
        higher_is_worse: true,
        unit: Unit::Relative,
    },
    Figure {
        name: "service_time.p95",
        higher_is_worse: true,
        unit: Unit::Relative,
    },
    Figure {
        name: "error_rate",
        higher_is_worse: true,
        unit: Unit::Points,
    },
    Figure {
        name: "timeout_rate",
        higher_is_worse: true,
        unit: Unit::Points,
    },
    Figure {
        name: "drop_rate",
        higher_is_worse: true,
        unit: Unit::Points,
    },
    Figure {
        name: "throughput",
        higher_is_worse: false,
        unit: Unit::Relative,
    },
    Figure {
        name: "degraded_share",
        higher_is_worse: true,
        unit: Unit::Points,
    },
    Figure {
        name: "recovery_time",
        higher_is_worse: true,
        unit: Unit::Ms,
    },
    Figure {
        name: "fraud.recall",
        higher_is_worse: false,
        unit: Unit::Points,
    },
    Figure {
        name: "fraud.precision",
        higher_is_worse: false,
        unit: Unit::Points,
    },
    Figure {
        name: "fraud.false_positive_rate",
        higher_is_worse: true,
        unit: Unit::Points,
    },
];

fn figure(name: &str) -> Option<&'static Figure> {
    FIGURES.iter().find(|f| f.name == name)
}

/// One limit of `--max-regression`: the figure may not get worse by more than `value`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Limit {
    pub metric: String,
    pub unit: Unit,
    /// The largest change allowed in the worse direction, ≥ 0 (a fraction, or ms).
    pub value: f64,
    /// As written.
    pub text: String,
}

/// Parses `latency.p95=10%,error_rate=0.1pt,recovery_time=5s,fraud.recall=-2pt`. The sign is
/// optional: a limit always bounds the change in the figure's worse direction.
pub fn parse_limits(spec: &str) -> Result<Vec<Limit>, String> {
    let mut limits: Vec<Limit> = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').ok_or_else(|| {
            format!("\"{part}\" is not METRIC=LIMIT (e.g. latency.p95=10%, error_rate=0.1pt, recovery_time=5s)")
        })?;
        let (name, value) = (name.trim(), value.trim());
        let fig = figure(name).ok_or_else(|| {
            let names: Vec<&str> = FIGURES.iter().map(|f| f.name).collect();
            let near = names
                .iter()
                .min_by_key(|n| strsim::levenshtein(n, name))
                .filter(|n| strsim::levenshtein(n, name) <= 3)
                .map(|n| format!("; did you mean \"{n}\"?"))
                .unwrap_or_default();
            format!(
                "\"{name}\" is not a figure compare judges{near} (one of {})",
                names.join(", ")
            )
        })?;
        let number = |s: &str| -> Result<f64, String> {
            let x: f64 =
                s.trim().trim_start_matches('+').parse().map_err(|_| {
                    format!("\"{value}\" in \"{part}\" is not a number with a unit")
                })?;
            if !x.is_finite() {
                return Err(format!("\"{value}\" in \"{part}\" is not a finite number"));
            }
            Ok(x.abs())
        };
        let (unit, v) = if let Some(x) = value.strip_suffix("pt") {
            (Unit::Points, number(x)? / 100.0)
        } else if let Some(x) = value.strip_suffix('%') {
            (Unit::Relative, number(x)? / 100.0)
        } else if let Some(x) = value.strip_suffix("us") {
            (Unit::Ms, number(x)? / 1000.0)
        } else if let Some(x) = value.strip_suffix("ms") {
            (Unit::Ms, number(x)?)
        } else if let Some(x) = value.strip_suffix('s') {
            (Unit::Ms, number(x)? * 1000.0)
        } else if let Some(x) = value.strip_suffix('m') {
            (Unit::Ms, number(x)? * 60_000.0)
        } else if let Some(x) = value.strip_suffix('h') {
            (Unit::Ms, number(x)? * 3_600_000.0)
        } else {
            return Err(format!(
                "\"{value}\" in \"{part}\" needs a unit: % (relative), pt (points of a share), or us, ms, s, m, h (times)"
            ));
        };
        let fits = match fig.unit {
            Unit::Points => matches!(unit, Unit::Points | Unit::Relative),
            Unit::Ms => matches!(unit, Unit::Ms | Unit::Relative),
            Unit::Relative => {
                matches!(unit, Unit::Relative)
                    || (name.contains("latency") || name.contains("service_time"))
                        && unit == Unit::Ms
            }
        };
        if !fits {
            return Err(format!(
                "\"{part}\": {name} cannot be limited in {}",
                match unit {
                    Unit::Points => "points (it is not a share)",
                    Unit::Ms => "a time (it is not a time)",
                    Unit::Relative => "%",
                }
            ));
        }
        if limits.iter().any(|l| l.metric == name) {
            return Err(format!("{name} is limited twice in \"{spec}\""));
        }
        limits.push(Limit {
            metric: name.to_string(),
            unit,
            value: v,
            text: value.to_string(),
        });
    }
    Ok(limits)
}

/// One figure of one scope, compared.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub metric: String,
    pub baseline: Option<f64>,
    pub run: Option<f64>,
    /// How `change`, `low` and `high` are measured.
    pub unit: Unit,
    /// Run against baseline, signed: + is up, whatever that means for the figure.
    pub change: Option<f64>,
    /// The 95% interval of the change (equal to it for single values).
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub higher_is_worse: bool,
    /// The limit on it, as written.
    pub limit: Option<String>,
    pub regression: bool,
    /// `low` and `high` are the change itself: a single value, with no interval.
    pub single: bool,
    /// How the interval was found, or why there is none.
    pub method: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScopeComparison {
    /// `run`, `phase:NAME` or `failure:NAME`.
    pub scope: String,
    pub seconds: usize,
    pub rows: Vec<Row>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Side {
    pub dir: String,
    pub scenario: String,
    pub digest: String,
    pub seed: u64,
    pub verdict: String,
    pub planned: u64,
}

/// Both runs over time on one axis (per second), for the reports' charts.
#[derive(Clone, Debug, Serialize)]
pub struct Series {
    pub p95_ms: [Vec<Option<f64>>; 2],
    pub error_rate: [Vec<Option<f64>>; 2],
    pub throughput: [Vec<Option<f64>>; 2],
}

#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub format: u32,
    pub baseline: Side,
    pub run: Side,
    /// Both ran the same plan: seconds were paired.
    pub paired: bool,
    pub resamples: usize,
    pub limits: Vec<Limit>,
    /// Where the limits came from: `--max-regression`, the run's `[compare]`, or none.
    pub limits_from: String,
    pub scopes: Vec<ScopeComparison>,
    pub regressions: usize,
    /// `no regression` or `regression`.
    pub verdict: String,
    pub series: Series,
}

/// A per-second sample of a figure: (numerator, denominator) summed over seconds.
type Sample = fn(&TimelineSecond) -> Option<(f64, f64)>;

fn sample_of(name: &str) -> Option<Sample> {
    Some(match name {
        "latency.p50" => |s| s.latency_ms.p50.map(|v| (v, 1.0)),
        "latency.p95" => |s| s.latency_ms.p95.map(|v| (v, 1.0)),
        "latency.p99" => |s| s.latency_ms.p99.map(|v| (v, 1.0)),
        "error_rate" => |s| Some((s.counts.errors as f64, s.counts.due() as f64)),
        "timeout_rate" => |s| Some((s.counts.timeouts as f64, s.counts.due() as f64)),
        "drop_rate" => |s| Some((s.counts.dropped as f64, s.counts.due() as f64)),
        "throughput" => |s| Some((s.counts.ok as f64, s.span_s as f64)),
        "degraded_share" => |s| Some((s.degraded as f64, s.counts.ok as f64)),
        _ => return None,
    })
}

fn ratio(num: f64, den: f64) -> Option<f64> {
    (den > 0.0).then(|| num / den)
}

/// Σ numerators over Σ denominators.
fn total(samples: impl Iterator<Item = (f64, f64)>) -> Option<f64> {
    let (n, d) = samples.fold((0.0, 0.0), |(n, d), (x, y)| (n + x, d + y));
    ratio(n, d)
}

fn sum(seconds: &[&TimelineSecond], f: Sample) -> Option<f64> {
    total(seconds.iter().filter_map(|s| f(s)))
}

/// The change from `a` to `b` in `unit`.
fn change(a: f64, b: f64, unit: Unit) -> Option<f64> {
    match unit {
        Unit::Relative => (a != 0.0).then(|| b / a - 1.0),
        Unit::Points | Unit::Ms => Some(b - a),
    }
}

/// The 2.5th and 97.5th percentiles of the change of `f` over resampled seconds.
fn bootstrap(
    a: &[&TimelineSecond],
    b: &[&TimelineSecond],
    f: Sample,
    unit: Unit,
    paired: bool,
    rng: &mut ChaCha8Rng,
) -> Option<(f64, f64, f64)> {
    let sa: Vec<(f64, f64)> = a.iter().map(|s| f(s).unwrap_or((0.0, 0.0))).collect();
    let sb: Vec<(f64, f64)> = b.iter().map(|s| f(s).unwrap_or((0.0, 0.0))).collect();
    if sa.is_empty() || sb.is_empty() {
        return None;
    }
    let point = change(total(sa.iter().copied())?, total(sb.iter().copied())?, unit)?;
    let pick = |rng: &mut ChaCha8Rng, n: usize| (rng.next_u64() % n as u64) as usize;
    let mut changes = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        let (mut na, mut da, mut nb, mut db) = (0.0, 0.0, 0.0, 0.0);
        if paired && sa.len() == sb.len() {
            for _ in 0..sa.len() {
                let i = pick(rng, sa.len());
                na += sa[i].0;
                da += sa[i].1;
                nb += sb[i].0;
                db += sb[i].1;
            }
        } else {
            for _ in 0..sa.len() {
                let i = pick(rng, sa.len());
                na += sa[i].0;
                da += sa[i].1;
            }
            for _ in 0..sb.len() {
                let i = pick(rng, sb.len());
                nb += sb[i].0;
                db += sb[i].1;
            }
        }
        if let (Some(x), Some(y)) = (ratio(na, da), ratio(nb, db))
            && let Some(c) = change(x, y, unit)
        {
            changes.push(c);
        }
    }
    if changes.len() < RESAMPLES / 2 {
        return None;
    }
    changes.sort_by(f64::total_cmp);
    let q = |p: f64| changes[((changes.len() - 1) as f64 * p).round() as usize];
    Some((point, q(0.025), q(0.975)))
}

/// The bootstrap's interval (`lo`, `hi`, around its own change `bp` of per-second samples)
/// moved to the scope's own change `p`: scaled for a relative change, so that it keeps its
/// shape and stays above -100% (a scope's p95 may move little while the mean of its seconds'
/// p95 moves much); shifted for points and times.
fn centred(p: f64, bp: f64, lo: f64, hi: f64, unit: Unit) -> (f64, f64) {
    match unit {
        Unit::Relative if bp > -1.0 => {
            let scale = (1.0 + p) / (1.0 + bp);
            ((1.0 + lo) * scale - 1.0, (1.0 + hi) * scale - 1.0)
        }
        _ => (p + lo - bp, p + hi - bp),
    }
}

/// An interval of the change of a figure from its baseline value `a`, kept within what the
/// figure can reach: none of them is negative (a relative change is at least -100%), and a
/// share stays within [0, 1] (a change in points within [-a, 1 - a]).
fn feasible(a: f64, lo: f64, hi: f64, unit: Unit) -> (f64, f64) {
    let (least, most) = match unit {
        Unit::Relative => (-1.0, f64::INFINITY),
        Unit::Points => (-a, 1.0 - a),
        Unit::Ms => (-a, f64::INFINITY),
    };
    (lo.clamp(least, most), hi.clamp(least, most))
}

/// A share's counts: (successes, trials).
fn proportion(s: &Summary, name: &str) -> Option<(f64, f64)> {
    let f = &s.fraud;
    let (fraud, legit) = (f.fraud as f64, f.legit as f64);
    match name {
        "fraud.recall" => f.recall.map(|r| (r * fraud, fraud)),
        "fraud.false_positive_rate" => f.false_positive_rate.map(|r| (r * legit, legit)),
        "fraud.precision" => {
            let flagged =
                f.recall.unwrap_or(0.0) * fraud + f.false_positive_rate.unwrap_or(0.0) * legit;
            f.precision.map(|p| (p * flagged, flagged))
        }
        _ => None,
    }
}

/// The scope's headline value of `name` from its summary.
fn headline(s: &Summary, seconds: &[&TimelineSecond], name: &str) -> Option<f64> {
    match name {
        "latency.p50" => s.latency_ms.p50,
        "latency.p95" => s.latency_ms.p95,
        "latency.p99" => s.latency_ms.p99,
        "service_time.p95" => s.service_time_ms.p95,
        "throughput" => Some(s.throughput),
        "fraud.recall" => s.fraud.recall,
        "fraud.precision" => s.fraud.precision,
        "fraud.false_positive_rate" => s.fraud.false_positive_rate,
        other => sample_of(other).and_then(|f| sum(seconds, f)),
    }
}

struct ScopeInput<'r> {
    scope: String,
    summary: [&'r Summary; 2],
    seconds: [Vec<&'r TimelineSecond>; 2],
    recovery_ms: Option<[Option<u64>; 2]>,
}

fn window(r: &Results, start_ms: u64, end_ms: u64) -> Vec<&TimelineSecond> {
    r.timeline
        .iter()
        .filter(|s| s.t * 1000 >= start_ms && s.t * 1000 < end_ms)
        .collect()
}

fn scopes<'r>(a: &'r Results, b: &'r Results) -> Vec<ScopeInput<'r>> {
    let mut out = vec![ScopeInput {
        scope: "run".to_string(),
        summary: [&a.summary, &b.summary],
        seconds: [a.timeline.iter().collect(), b.timeline.iter().collect()],
        recovery_ms: None,
    }];
    for pa in &a.phases {
        if let Some(pb) = b.phases.iter().find(|p| p.name == pa.name) {
            out.push(ScopeInput {
                scope: format!("phase:{}", pa.name),
                summary: [&pa.summary, &pb.summary],
                seconds: [
                    window(a, pa.start_ms, pa.end_ms),
                    window(b, pb.start_ms, pb.end_ms),
                ],
                recovery_ms: None,
            });
        }
    }
    for fa in a.failures.iter().filter(|f| f.injected) {
        if let Some(fb) = b.failures.iter().find(|f| f.name == fa.name && f.injected) {
            out.push(ScopeInput {
                scope: format!("failure:{}", fa.name),
                summary: [&fa.summary, &fb.summary],
                seconds: [
                    window(a, fa.start_ms, fa.end_ms),
                    window(b, fb.start_ms, fb.end_ms),
                ],
                recovery_ms: Some([fa.recovery_time_ms, fb.recovery_time_ms]),
            });
        }
    }
    out
}

/// Whether a change with interval [low, high] breaks `limit` for a figure.
fn breaks(fig: &Figure, low: f64, high: f64, point: f64, limit: f64) -> bool {
    if fig.higher_is_worse {
        point > limit && low > limit
    } else {
        point < -limit && high < -limit
    }
}

fn compare_row(
    fig: &Figure,
    input: &ScopeInput<'_>,
    limits: &[Limit],
    paired: bool,
    rng: &mut ChaCha8Rng,
) -> Option<Row> {
    let limit = limits.iter().find(|l| l.metric == fig.name);
    let unit = limit.map_or(fig.unit, |l| l.unit);
    let [sa, sb] = &input.seconds;
    let (baseline, run, point, low, high, method) = if fig.name == "recovery_time" {
        let [a, b] = input.recovery_ms?;
        let (a, b) = (a.map(|v| v as f64), b.map(|v| v as f64));
        let c = a.zip(b).and_then(|(a, b)| change(a, b, unit));
        (a, b, c, c, c, "a single value: judged on its change")
    } else if fig.name.starts_with("fraud.") {
        let (pa, pb) = (
            proportion(input.summary[0], fig.name),
            proportion(input.summary[1], fig.name),
        );
        let (a, b) = (
            headline(input.summary[0], sa, fig.name),
            headline(input.summary[1], sb, fig.name),
        );
        match (pa, pb, a, b) {
            (Some((xa, na)), Some((xb, nb)), Some(a), Some(b)) if na > 0.0 && nb > 0.0 => {
                let (p1, p2) = (xa / na, xb / nb);
                let se = (p1 * (1.0 - p1) / na + p2 * (1.0 - p2) / nb).sqrt();
                let c = change(a, b, unit)?;
                let half = match unit {
                    Unit::Relative => 1.96 * se / a.max(f64::MIN_POSITIVE),
                    _ => 1.96 * se,
                };
                let (lo, hi) = feasible(a, c - half, c + half, unit);
                (
                    Some(a),
                    Some(b),
                    Some(c),
                    Some(lo),
                    Some(hi),
                    "normal interval of a difference of two proportions",
                )
            }
            _ => (a, b, None, None, None, "not measured in both runs"),
        }
    } else if let Some(f) = sample_of(fig.name) {
        let (a, b) = (
            headline(input.summary[0], sa, fig.name),
            headline(input.summary[1], sb, fig.name),
        );
        let point = a.zip(b).and_then(|(a, b)| change(a, b, unit));
        match (point, bootstrap(sa, sb, f, unit, paired, rng)) {
            (Some(p), Some((bp, lo, hi))) => {
                let (lo, hi) = centred(p, bp, lo, hi, unit);
                let (lo, hi) = feasible(a.unwrap_or(0.0), lo, hi, unit);
                (
                    a,
                    b,
                    Some(p),
                    Some(lo),
                    Some(hi),
                    if paired {
                        "bootstrap over paired seconds"
                    } else {
                        "bootstrap over each run's seconds"
                    },
                )
            }
            (p, _) => (a, b, p, p, p, "too few seconds for an interval"),
        }
    } else {
        let (a, b) = (
            headline(input.summary[0], sa, fig.name),
            headline(input.summary[1], sb, fig.name),
        );
        let c = a.zip(b).and_then(|(a, b)| change(a, b, unit));
        (a, b, c, c, c, "no per-second samples: judged on its change")
    };
    if baseline.is_none() && run.is_none() {
        return None;
    }
    let regression = match (limit, point, low, high) {
        (Some(l), Some(p), Some(lo), Some(hi)) => breaks(fig, lo, hi, p, l.value),
        _ => false,
    };
    Some(Row {
        metric: fig.name.to_string(),
        baseline,
        run,
        unit,
        change: point,
        low,
        high,
        higher_is_worse: fig.higher_is_worse,
        limit: limit.map(|l| l.text.clone()),
        regression,
        single: method.starts_with("a single")
            || method.starts_with("no per-second")
            || method.starts_with("too few")
            || method.starts_with("not measured"),
        method,
    })
}

fn side(dir: &str, r: &Results) -> Side {
    Side {
        dir: dir.to_string(),
        scenario: r.scenario.clone(),
        digest: r.digest.clone(),
        seed: r.seed,
        verdict: r.verdict.status.clone(),
        planned: r.summary.totals.counts.planned,
    }
}

fn series(r: &Results) -> [Vec<Option<f64>>; 3] {
    let p95 = r.timeline.iter().map(|s| s.latency_ms.p95).collect();
    let err = r
        .timeline
        .iter()
        .map(|s| ratio(s.counts.errors as f64, s.counts.due() as f64))
        .collect();
    let tput = r
        .timeline
        .iter()
        .map(|s| Some(s.per_second(s.counts.ok)))
        .collect();
    [p95, err, tput]
}

/// Why two runs cannot be compared.
pub fn incomparable(a: &Results, b: &Results) -> Option<String> {
    if a.scenario != b.scenario {
        return Some(format!(
            "the runs are of different scenarios (\"{}\" and \"{}\"): compare runs of one scenario",
            a.scenario, b.scenario
        ));
    }
    if a.target != b.target {
        return Some(format!(
            "the runs are against different targets ({} and {})",
            a.target, b.target
        ));
    }
    None
}

/// Compares `run` against `baseline`.
pub fn compare(
    (base_dir, a): (&str, &Results),
    (run_dir, b): (&str, &Results),
    limits: Vec<Limit>,
    limits_from: String,
) -> Comparison {
    let paired = a.digest == b.digest;
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut out = Vec::new();
    for input in scopes(a, b) {
        let rows: Vec<Row> = FIGURES
            .iter()
            .filter_map(|fig| compare_row(fig, &input, &limits, paired, &mut rng))
            .collect();
        out.push(ScopeComparison {
            scope: input.scope.clone(),
            seconds: input.seconds[1].len(),
            rows,
        });
    }
    let regressions = out
        .iter()
        .flat_map(|s| &s.rows)
        .filter(|r| r.regression)
        .count();
    let [pa, ea, ta] = series(a);
    let [pb, eb, tb] = series(b);
    Comparison {
        format: FORMAT,
        baseline: side(base_dir, a),
        run: side(run_dir, b),
        paired,
        resamples: RESAMPLES,
        limits,
        limits_from,
        scopes: out,
        regressions,
        verdict: if regressions == 0 {
            "no regression".to_string()
        } else {
            "regression".to_string()
        },
        series: Series {
            p95_ms: [pa, pb],
            error_rate: [ea, eb],
            throughput: [ta, tb],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_stay_within_what_a_figure_can_reach() {
        // The scope's p95 moved -0.6% while the mean of its seconds' p95 moved +180%, its
        // resamples spreading from +40% to +600%: shifted, the interval would start at
        // -141%, a latency below zero.
        let (lo, hi) = centred(-0.006, 1.8, 0.4, 6.0, Unit::Relative);
        assert!(lo > -1.0 && lo < -0.006 && hi > -0.006, "[{lo}, {hi}]");
        // Scaled, it keeps the bootstrap's shape: the same ratios to the change.
        assert!(((1.0 + hi) / (1.0 - 0.006) - 7.0 / 2.8).abs() < 1e-12);
        // Points and times are shifted.
        assert_eq!(centred(0.25, 0.5, 0.0, 1.0, Unit::Points), (-0.25, 0.75));
        // A share of 3% cannot fall more than 3 points nor rise more than 97.
        assert_eq!(feasible(0.03, -0.05, 0.99, Unit::Points), (-0.03, 0.97));
        assert_eq!(feasible(0.5, -1.3, 2.0, Unit::Relative), (-1.0, 2.0));
        assert_eq!(feasible(0.5, -0.2, 0.1, Unit::Points), (-0.2, 0.1));
    }

    #[test]
    fn limits_parse_with_units_and_refuse_nonsense() {
        let l =
            parse_limits("latency.p95=10%, error_rate=0.1pt,recovery_time=5s,fraud.recall=-2pt")
                .unwrap();
        assert_eq!(l.len(), 4);
        assert_eq!((l[0].unit, l[0].value), (Unit::Relative, 0.1));
        assert_eq!(l[1].unit, Unit::Points);
        assert!((l[1].value - 0.001).abs() < 1e-12);
        assert_eq!((l[2].unit, l[2].value), (Unit::Ms, 5000.0));
        assert!((l[3].value - 0.02).abs() < 1e-12);
        let l = parse_limits("latency.p99=250us,recovery_time=1h").unwrap();
        assert_eq!((l[0].unit, l[0].value), (Unit::Ms, 0.25));
        assert_eq!((l[1].unit, l[1].value), (Unit::Ms, 3_600_000.0));
        for bad in [
            "latency.p96=10%",
            "latency.p95",
            "latency.p95=10",
            "error_rate=5s",
            "throughput=2pt",
            "latency.p95=10%,latency.p95=5%",
            "latency.p95=abc%",
        ] {
            assert!(parse_limits(bad).is_err(), "{bad}");
        }
        assert!(
            parse_limits("latency.p96=10%")
                .unwrap_err()
                .contains("did you mean \"latency.p95\"")
        );
    }

    #[test]
    fn a_limit_needs_the_whole_interval_beyond_it() {
        let f = figure("latency.p95").unwrap();
        assert!(breaks(f, 0.15, 0.3, 0.2, 0.1));
        assert!(
            !breaks(f, 0.05, 0.3, 0.2, 0.1),
            "interval reaches below the limit"
        );
        let recall = figure("fraud.recall").unwrap();
        assert!(breaks(recall, -0.05, -0.03, -0.04, 0.02));
        assert!(!breaks(recall, -0.05, 0.01, -0.04, 0.02));
    }
}
