//! Recovery of a failure, from the per-second timeline (architecture.md): from the failure's
//! end to the first of 5 consecutive seconds whose p95 is within 20% of the baseline's, whose
//! error rate is within 0.1 point of it, and whose degraded share is within 1 point of it (a
//! fraud service answering with rules only has not recovered). The baseline is the 30 s before
//! the failure starts. Seconds in which nothing was due say nothing either way.

use crate::metrics::Second;

const SECOND: u64 = 1_000_000_000;
/// Seconds before a failure that make its baseline.
pub const BASELINE_SECONDS: u64 = 30;
/// Consecutive healthy seconds that mark recovery.
pub const RECOVERY_STREAK: u64 = 5;
/// A recovered second's p95 is within this factor of the baseline's.
pub const RECOVERY_P95_FACTOR: f64 = 1.2;
/// ... its failure rate within this many points (as a fraction) of the baseline's.
pub const RECOVERY_RATE_SLACK: f64 = 0.001;
/// ... and its degraded share within this many points (as a fraction) of the baseline's.
pub const RECOVERY_DEGRADED_SLACK: f64 = 0.01;

/// One of the three things a recovered second must show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// p95 within 20% of the baseline.
    Latency,
    /// Error rate within 0.1 point of the baseline.
    Errors,
    /// Degraded share within 1 point of the baseline.
    Degradation,
}

impl Condition {
    const ALL: [Condition; 3] = [
        Condition::Latency,
        Condition::Errors,
        Condition::Degradation,
    ];

    /// The name results.json uses.
    pub fn name(self) -> &'static str {
        match self {
            Condition::Latency => "latency",
            Condition::Errors => "errors",
            Condition::Degradation => "degradation",
        }
    }
}

/// How one failure occurrence recovered.
#[derive(Clone, Debug, PartialEq)]
pub struct Recovery {
    /// The median of the per-second p95 latencies in the 30 s before the failure.
    pub baseline_p95_ms: Option<f64>,
    /// Errors and timeouts over the transactions due in those seconds.
    pub baseline_failure_rate: f64,
    /// Degraded decisions over ok ones in those seconds.
    pub baseline_degraded_share: f64,
    /// From the failure's end to the first of 5 consecutive recovered seconds; None if never.
    pub recovery_ms: Option<u64>,
    /// The condition that was met last (or never), when the three were not met together.
    pub held_back_by: Option<Condition>,
}

struct Baseline {
    p95_ms: Option<f64>,
    failure_rate: f64,
    degraded_share: f64,
}

impl Baseline {
    fn of(start_ns: u64, timeline: &[Second]) -> Baseline {
        let first = (start_ns / SECOND).saturating_sub(BASELINE_SECONDS);
        let before: Vec<&Second> = timeline
            .iter()
            .filter(|s| s.t >= first && s.end_ns() <= start_ns && s.had_traffic())
            .collect();
        let mut p95s: Vec<f64> = before.iter().filter_map(|s| s.p95_ms).collect();
        p95s.sort_by(f64::total_cmp);
        let due: u64 = before.iter().map(|s| s.counts.due()).sum();
        let failed: u64 = before
            .iter()
            .map(|s| s.counts.errors + s.counts.timeouts)
            .sum();
        let ok: u64 = before.iter().map(|s| s.counts.ok).sum();
        let degraded: u64 = before.iter().map(|s| s.degraded).sum();
        Baseline {
            p95_ms: (!p95s.is_empty()).then(|| p95s[p95s.len() / 2]),
            failure_rate: if due == 0 {
                0.0
            } else {
                failed as f64 / due as f64
            },
            degraded_share: if ok == 0 {
                0.0
            } else {
                degraded as f64 / ok as f64
            },
        }
    }

    fn holds(&self, c: Condition, s: &Second) -> bool {
        match c {
            Condition::Latency => match (self.p95_ms, s.p95_ms) {
                (Some(b), Some(p)) => p <= b * RECOVERY_P95_FACTOR,
                (None, _) => true,
                (Some(_), None) => false,
            },
            Condition::Errors => s.failure_rate() <= self.failure_rate + RECOVERY_RATE_SLACK,
            Condition::Degradation => {
                s.degraded_share() <= self.degraded_share + RECOVERY_DEGRADED_SLACK
            }
        }
    }
}

/// The first second (its number) from which `ok` holds for 5 consecutive seconds with
/// traffic, looking from second `from` on (an entry of the timeline counts its seconds).
fn first_streak(timeline: &[Second], from: u64, ok: impl Fn(&Second) -> bool) -> Option<u64> {
    let mut streak = None;
    let mut count = 0;
    for s in timeline.iter().filter(|s| s.t >= from && s.had_traffic()) {
        if ok(s) {
            let start = *streak.get_or_insert(s.t);
            count += s.span;
            if count >= RECOVERY_STREAK {
                return Some(start);
            }
        } else {
            streak = None;
            count = 0;
        }
    }
    None
}

/// Recovery of the failure occurrence [start_ns, end_ns) from a final (or partial) timeline.
pub fn recovery(start_ns: u64, end_ns: u64, timeline: &[Second]) -> Recovery {
    let base = Baseline::of(start_ns, timeline);
    let from = end_ns.div_ceil(SECOND);
    let all = first_streak(timeline, from, |s| {
        Condition::ALL.iter().all(|&c| base.holds(c, s))
    });
    // Each condition on its own: the one met last (never counts as last) held recovery back.
    let alone: Vec<(Condition, Option<u64>)> = Condition::ALL
        .iter()
        .map(|&c| (c, first_streak(timeline, from, |s| base.holds(c, s))))
        .collect();
    let latest = alone
        .iter()
        .map(|&(_, at)| at.unwrap_or(u64::MAX))
        .max()
        .unwrap_or(0);
    let earliest = alone
        .iter()
        .map(|&(_, at)| at.unwrap_or(u64::MAX))
        .min()
        .unwrap_or(0);
    let held_back_by = (latest > earliest)
        .then(|| {
            alone
                .iter()
                .find(|&&(_, at)| at.unwrap_or(u64::MAX) == latest)
        })
        .flatten()
        .map(|&(c, _)| c);
    Recovery {
        baseline_p95_ms: base.p95_ms,
        baseline_failure_rate: base.failure_rate,
        baseline_degraded_share: base.degraded_share,
        recovery_ms: all.map(|t| (t * SECOND).saturating_sub(end_ns) / 1_000_000),
        held_back_by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Counts;

    fn second(t: u64, errors: u64, degraded: u64, p95: f64) -> Second {
        Second {
            t,
            span: 1,
            counts: Counts {
                planned: 100,
                ok: 100 - errors,
                errors,
                ..Counts::default()
            },
            degraded,
            p50_ms: Some(p95 / 2.0),
            p95_ms: Some(p95),
            p99_ms: Some(p95),
        }
    }

    #[test]
    fn degraded_decisions_hold_recovery_back() {
        // Healthy 0..30 s, a failure 30..40 s; after it, latency and errors are back at once
        // but every decision stays degraded until 50 s.
        let timeline: Vec<Second> = (0..70)
            .map(|t| match t {
                30..40 => second(t, 50, 0, 900.0),
                40..50 => second(t, 0, 100, 20.0),
                _ => second(t, 0, 0, 20.0),
            })
            .collect();
        let r = recovery(30 * SECOND, 40 * SECOND, &timeline);
        assert_eq!(r.recovery_ms, Some(10_000));
        assert_eq!(r.held_back_by, Some(Condition::Degradation));
        // Without the degraded stretch it recovers at once, and nothing held it back.
        let healthy: Vec<Second> = (0..70)
            .map(|t| match t {
                30..40 => second(t, 50, 0, 900.0),
                _ => second(t, 0, 0, 20.0),
            })
            .collect();
        let r = recovery(30 * SECOND, 40 * SECOND, &healthy);
        assert_eq!((r.recovery_ms, r.held_back_by), (Some(0), None));
    }
}
