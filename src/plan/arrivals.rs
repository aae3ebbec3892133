//! Arrivals, produced lazily in time order.
//!
//! Uniform: a phase whose rate integrates to Λ holds N = round(Λ) arrivals; arrival k
//! (0-based) is planned at the instant where the phase's cumulative expected count reaches
//! (k + ½)·Λ/N: each arrival sits in the middle of its share of the load, so none lands on a
//! phase boundary or where the rate is 0, and a constant rate gives evenly spaced arrivals.
//!
//! Poisson: the time-rescaling of a unit-rate Poisson process. Points x₁ < x₂ < … with
//! independent Exp(1) gaps (from the seed's arrivals stream for the phase) are mapped through
//! Λ⁻¹; the phase holds every point with x < Λ.

use std::borrow::Borrow;

use crate::rng::{self, Draw, Purpose};
use crate::scenario::model::ArrivalKind;

use super::{Plan, PlannedPhase};

/// One planned transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// The transaction number, counted from 0 across the whole run.
    pub index: u64,
    /// When it is planned, in ns from the run's start.
    pub at_ns: u64,
    /// The phase it belongs to.
    pub phase: usize,
}

/// The lazy iterator over a plan's arrivals. `P` is how the plan is held: borrowed for a
/// one-off walk (`plan.arrivals()`), or shared (`Arc<Plan>`) by an engine that may switch to
/// another plan when the scenario is reloaded.
pub struct Arrivals<P: Borrow<Plan>> {
    plan: P,
    phase: usize,
    k: u64,
    poisson: Option<(Draw, f64)>,
    /// The number the next arrival gets.
    next_index: u64,
    /// An arrival already drawn, handed out next.
    ahead: Option<Arrival>,
}

impl<P: Borrow<Plan>> Arrivals<P> {
    pub(super) fn new(plan: P) -> Self {
        Arrivals {
            plan,
            phase: 0,
            k: 0,
            poisson: None,
            next_index: 0,
            ahead: None,
        }
    }

    /// The plan's arrivals planned at or after `from_ns`, numbered from `next_index` on: what a
    /// run that switches to this plan at `from_ns` sends from then on. The times are the plan's
    /// own (phases stay measured from the run's start); only the numbering continues the run's.
    pub fn starting_at(plan: P, from_ns: u64, next_index: u64) -> Self {
        let p = plan.borrow();
        let phase = p.phases.partition_point(|ph| ph.end_ns <= from_ns);
        let mut it = Arrivals {
            phase,
            k: 0,
            poisson: None,
            next_index,
            ahead: None,
            plan,
        };
        let Some(ph) = it.plan.borrow().phases.get(phase) else {
            return it;
        };
        match it.plan.borrow().arrivals {
            ArrivalKind::Uniform => {
                // Planned times never decrease with k: the first k at or after from_ns, by
                // bisection over the same formula the iterator uses.
                let (mut lo, mut hi) = (0, ph.planned);
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if uniform_at(ph, mid) < from_ns {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                it.k = lo;
            }
            ArrivalKind::Poisson => {
                // Each point depends on the ones before it: walk the points and keep the
                // first one at or after from_ns.
                while let Some(a) = it.next() {
                    if a.at_ns >= from_ns {
                        it.ahead = Some(Arrival {
                            index: next_index,
                            ..a
                        });
                        break;
                    }
                }
                it.next_index = next_index + it.ahead.is_some() as u64;
            }
        }
        it
    }

    /// The number the next arrival gets (after the last one, how many were numbered).
    pub fn next_index(&self) -> u64 {
        self.next_index
    }
}

/// Arrival k of a uniform phase: where the cumulative expected count reaches (k + ½)·Λ/N.
fn uniform_at(ph: &PlannedPhase, k: u64) -> u64 {
    offset_at(ph, (k as f64 + 0.5) * ph.expected / ph.planned as f64)
}

/// The planned time where the phase's cumulative expected count reaches `x`, kept inside the
/// phase.
fn offset_at(ph: &PlannedPhase, x: f64) -> u64 {
    let t = ph.curve.inverse(x);
    let len = ph.end_ns - ph.start_ns;
    ph.start_ns + (libm::round(t * 1e9).max(0.0) as u64).min(len.saturating_sub(1))
}

/// How many points of the phase's Poisson process fall within its expected count.
pub(super) fn poisson_count(seed: u64, phase: usize, expected: f64) -> u64 {
    let mut d = rng::stream(seed, Purpose::Arrivals, phase as u64);
    let mut x = 0.0;
    let mut n = 0;
    loop {
        x += d.exponential();
        if x >= expected {
            return n;
        }
        n += 1;
    }
}

impl<P: Borrow<Plan>> Iterator for Arrivals<P> {
    type Item = Arrival;

    fn next(&mut self) -> Option<Arrival> {
        if let Some(a) = self.ahead.take() {
            return Some(a);
        }
        loop {
            let plan = self.plan.borrow();
            let phase = plan.phases.get(self.phase)?;
            if self.k < phase.planned {
                let at_ns = match plan.arrivals {
                    ArrivalKind::Uniform => uniform_at(phase, self.k),
                    ArrivalKind::Poisson => {
                        let (draw, x) = self.poisson.get_or_insert_with(|| {
                            (
                                rng::stream(plan.seed, Purpose::Arrivals, self.phase as u64),
                                0.0,
                            )
                        });
                        *x += draw.exponential();
                        offset_at(phase, *x)
                    }
                };
                let arrival = Arrival {
                    index: self.next_index,
                    at_ns,
                    phase: self.phase,
                };
                self.k += 1;
                self.next_index += 1;
                return Some(arrival);
            }
            self.phase += 1;
            self.k = 0;
            self.poisson = None;
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining: u64 = self
            .plan
            .borrow()
            .phases
            .iter()
            .skip(self.phase)
            .map(|p| p.planned)
            .sum::<u64>()
            .saturating_sub(self.k)
            + self.ahead.is_some() as u64;
        let n = usize::try_from(remaining).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}
