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

use crate::rng::{self, Draw, Purpose};

use super::Plan;

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

/// The lazy iterator over a plan's arrivals.
pub struct Arrivals<'p> {
    plan: &'p Plan,
    phase: usize,
    k: u64,
    poisson: Option<(Draw, f64)>,
}

impl<'p> Arrivals<'p> {
    pub(super) fn new(plan: &'p Plan) -> Self {
        Arrivals {
            plan,
            phase: 0,
            k: 0,
            poisson: None,
        }
    }
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

impl Iterator for Arrivals<'_> {
    type Item = Arrival;

    fn next(&mut self) -> Option<Arrival> {
        loop {
            let phase = self.plan.phases.get(self.phase)?;
            if self.k < phase.planned {
                let x = match self.plan.arrivals {
                    crate::scenario::model::ArrivalKind::Uniform => {
                        (self.k as f64 + 0.5) * phase.expected / phase.planned as f64
                    }
                    crate::scenario::model::ArrivalKind::Poisson => {
                        let (draw, x) = self.poisson.get_or_insert_with(|| {
                            (
                                rng::stream(self.plan.seed, Purpose::Arrivals, self.phase as u64),
                                0.0,
                            )
                        });
                        *x += draw.exponential();
                        *x
                    }
                };
                let t = phase.curve.inverse(x);
                let len = phase.end_ns - phase.start_ns;
                let offset = (libm::round(t * 1e9).max(0.0) as u64).min(len.saturating_sub(1));
                let arrival = Arrival {
                    index: phase.first_index + self.k,
                    at_ns: phase.start_ns + offset,
                    phase: self.phase,
                };
                self.k += 1;
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
            .phases
            .iter()
            .skip(self.phase)
            .map(|p| p.planned)
            .sum::<u64>()
            - self.k;
        let n = usize::try_from(remaining).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}
