//! Fault spread: which components other than the one a failure hit were affected by it.
//!
//! A component is *affected* in a second when its health fell below 0.9 and more than 10
//! points below its baseline health, or when its error rate or its timeout rate rose more
//! than 1 point over its baseline: its health and rates over the 30 s before the failure
//! started (as for recovery). So a component that was already unhealthy before the failure
//! (a scorer saturated from the start) is not counted as spread to for staying so. The failure's reach is its window and the
//! 30 s after it. The cascade lists the affected components by the second each was first
//! affected in (pipeline order within a second). A component that another failure hits
//! directly is not looked at from that failure's start to 30 s after its end: what it does
//! then is that failure's doing, not a spread.

use crate::targets::{ComponentSecond, HEALTHY_FROM};

/// Seconds before a failure that make its baseline, and seconds after its end it may still
/// spread in.
pub const AROUND_S: u64 = 30;
/// A rise of a component's error or timeout rate over its baseline beyond this affects it.
pub const RISE: f64 = 0.01;
/// A fall of a component's health below its baseline beyond this (and below 0.9) affects it.
pub const HEALTH_FALL: f64 = 0.1;

const SECOND: u64 = 1_000_000_000;

/// One component a failure spread to.
#[derive(Clone, Debug, PartialEq)]
pub struct Spread {
    /// Its index in pipeline order.
    pub component: usize,
    /// The first second it was affected in.
    pub first_s: u64,
    /// Why, that second: `health`, `errors` or `timeouts`.
    pub reason: &'static str,
    /// Its lowest health in the failure's reach.
    pub health_min: f64,
}

/// What one component did over the seconds before a failure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Baseline {
    pub error_rate: f64,
    pub timeout_rate: f64,
    /// Its health over all those seconds together (1 when nothing was asked of it).
    pub health: f64,
}

impl Baseline {
    fn of<'s>(seconds: impl Iterator<Item = &'s ComponentSecond>) -> Baseline {
        let (mut calls, mut errors, mut timeouts) = (0u64, 0u64, 0u64);
        let (mut asked, mut served) = (0u64, 0u64);
        for s in seconds {
            calls += u64::from(s.calls);
            errors += u64::from(s.errors);
            timeouts += u64::from(s.timeouts);
            asked += u64::from(s.calls + s.denied);
            served += u64::from(s.ok.saturating_sub(s.slow));
        }
        let share = |n: u64, of: u64| if of == 0 { 0.0 } else { n as f64 / of as f64 };
        Baseline {
            error_rate: share(errors, calls),
            timeout_rate: share(timeouts, calls),
            health: if asked == 0 {
                1.0
            } else {
                share(served, asked)
            },
        }
    }
}

/// Why a component is affected in second `s` against its baseline, if it is.
pub fn affected(s: &ComponentSecond, baseline: Baseline) -> Option<&'static str> {
    let health = s.health();
    if health < HEALTHY_FROM && health < baseline.health - HEALTH_FALL {
        return Some("health");
    }
    if s.calls == 0 {
        return None;
    }
    let calls = f64::from(s.calls);
    if f64::from(s.errors) / calls - baseline.error_rate > RISE {
        return Some("errors");
    }
    if f64::from(s.timeouts) / calls - baseline.timeout_rate > RISE {
        return Some("timeouts");
    }
    None
}

/// A failure that hits a component directly: (its index in pipeline order, start, end).
pub type Direct = (usize, u64, u64);

/// The components other than `hit` (an index in pipeline order) that a failure from
/// `start_ns` to `end_ns` spread to, from the per-second component figures so far. `others`
/// are the run's other failures: a component is not looked at while one of them hits it or
/// in the 30 s after.
pub fn cascade(
    hit: usize,
    start_ns: u64,
    end_ns: u64,
    others: &[Direct],
    seconds: &[[ComponentSecond; 5]],
) -> Vec<Spread> {
    // `seconds` is laid out as the timeline (see `metrics::slot`): one entry per second for
    // the first hour, coarser beyond.
    let n = seconds.len();
    let entry = |t: u64| crate::metrics::slot(t).index;
    let first = entry(start_ns / SECOND).min(n);
    let before = entry((start_ns / SECOND).saturating_sub(AROUND_S)).min(first)..first;
    let reach = first..entry(end_ns.div_ceil(SECOND) + AROUND_S).clamp(first, n);
    let mut spread: Vec<Spread> = Vec::new();
    for i in (0..5).filter(|&i| i != hit) {
        let baseline = Baseline::of(seconds[before.clone()].iter().map(|s| &s[i]));
        let mut found: Option<Spread> = None;
        let hit_directly = |t: usize| {
            let at = crate::metrics::slot_at(t).start;
            others
                .iter()
                .any(|&(c, a, b)| c == i && a / SECOND <= at && at < b.div_ceil(SECOND) + AROUND_S)
        };
        for t in reach.clone().filter(|&t| !hit_directly(t)) {
            let s = &seconds[t][i];
            match &mut found {
                Some(f) => f.health_min = f.health_min.min(s.health()),
                None => {
                    if let Some(reason) = affected(s, baseline) {
                        found = Some(Spread {
                            component: i,
                            first_s: crate::metrics::slot_at(t).start,
                            reason,
                            health_min: s.health(),
                        });
                    }
                }
            }
        }
        spread.extend(found);
    }
    spread.sort_by_key(|s| (s.first_s, s.component));
    spread
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(calls: u32, ok: u32, timeouts: u32) -> ComponentSecond {
        ComponentSecond {
            calls,
            ok,
            timeouts,
            ..ComponentSecond::default()
        }
    }

    #[test]
    fn spread_is_listed_by_when_each_component_was_first_affected() {
        // 40 healthy seconds; a failure on component 1 from 35 s to 40 s.
        let mut seconds = vec![[second(100, 100, 0); 5]; 80];
        // Component 4's timeouts rise 5 points at 37 s; component 0 turns unhealthy at 36 s.
        seconds[37][4] = second(100, 95, 5);
        seconds[36][0] = second(100, 50, 0);
        // The hit component itself never counts; component 2 is affected too late (71 s).
        seconds[36][1] = second(100, 0, 100);
        seconds[71][2] = second(100, 0, 0);
        let c = cascade(1, 35 * SECOND, 40 * SECOND, &[], &seconds);
        let got: Vec<(usize, u64, &str)> = c
            .iter()
            .map(|s| (s.component, s.first_s, s.reason))
            .collect();
        assert_eq!(got, vec![(0, 36, "health"), (4, 37, "timeouts")]);
        assert_eq!(c[0].health_min, 0.5);
    }

    #[test]
    fn a_rate_already_high_before_the_failure_is_its_baseline() {
        // Component 3 times out 5% of calls all along: not spread.
        let mut seconds = vec![[second(100, 100, 0); 5]; 60];
        for s in &mut seconds {
            s[3] = second(100, 95, 5);
        }
        assert!(cascade(0, 31 * SECOND, 35 * SECOND, &[], &seconds).is_empty());
        // A failure past the seconds so far (a run stopped early) spread nowhere yet.
        assert!(cascade(0, 90 * SECOND, 95 * SECOND, &[], &seconds).is_empty());
        // Without its 30 s of baseline (a failure at 0 s), the same rate is a rise.
        let c = cascade(0, 0, 5 * SECOND, &[], &seconds);
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].component, c[0].reason), (3, "timeouts"));
    }

    #[test]
    fn a_component_unhealthy_before_the_failure_is_not_a_spread_for_staying_so() {
        // Component 2 serves 30% of its calls well all along (saturated from the start).
        let mut seconds = vec![[second(100, 100, 0); 5]; 60];
        for s in &mut seconds {
            s[2] = second(100, 30, 0);
        }
        assert!(cascade(0, 31 * SECOND, 35 * SECOND, &[], &seconds).is_empty());
        // Falling well below its baseline is a spread, though it was not healthy before.
        seconds[33][2] = second(100, 10, 0);
        let c = cascade(0, 31 * SECOND, 35 * SECOND, &[], &seconds);
        assert_eq!(
            c.iter()
                .map(|s| (s.component, s.first_s))
                .collect::<Vec<_>>(),
            [(2, 33)]
        );
        // Without its 30 s of baseline (a failure at 0 s), health below 0.9 is a spread.
        seconds[33][2] = second(100, 30, 0);
        let c = cascade(0, 0, 5 * SECOND, &[], &seconds);
        assert_eq!(c.iter().map(|s| s.reason).collect::<Vec<_>>(), ["health"]);
    }

    #[test]
    fn a_component_another_failure_hits_is_not_a_spread() {
        // A failure on component 1 from 35 s to 40 s; another hits component 3 from 45 s to
        // 50 s, and component 3 turns unhealthy then: that failure's doing.
        let mut seconds = vec![[second(100, 100, 0); 5]; 120];
        seconds[46][3] = second(100, 0, 0);
        // Component 2 turns unhealthy at 42 s, before the other failure hits it at 50 s.
        seconds[42][2] = second(100, 40, 0);
        let others = [(3, 45 * SECOND, 50 * SECOND), (2, 50 * SECOND, 51 * SECOND)];
        let c = cascade(1, 35 * SECOND, 40 * SECOND, &others, &seconds);
        let got: Vec<(usize, u64)> = c.iter().map(|s| (s.component, s.first_s)).collect();
        assert_eq!(got, vec![(2, 42)]);
        // Without the other failures, component 3 counts as well.
        assert_eq!(cascade(1, 35 * SECOND, 40 * SECOND, &[], &seconds).len(), 2);
        // Past the other failure's end and its 30 s, component 3 is looked at again.
        seconds[46][3] = second(100, 100, 0);
        seconds[61][3] = second(100, 0, 0);
        let late = cascade(1, 35 * SECOND, 40 * SECOND, &others, &seconds);
        assert_eq!(late.len(), 1, "61 s is still the other failure's: {late:?}");
        let others = [(3, 25 * SECOND, 30 * SECOND)];
        let c = cascade(1, 35 * SECOND, 40 * SECOND, &others, &seconds);
        assert!(
            c.iter().all(|s| s.component != 3 || s.first_s == 61),
            "{c:?}"
        );
        assert!(c.iter().any(|s| s.component == 3), "{c:?}");
    }
}
