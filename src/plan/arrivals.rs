//! Arrivals, produced lazily in time order, and counted without being produced.
//!
//! Uniform: a phase whose rate integrates to Λ holds N = round(Λ) arrivals; arrival k
//! (0-based) is planned at the instant where the phase's cumulative expected count reaches
//! (k + ½)·Λ/N: each arrival sits in the middle of its share of the load, so none lands on a
//! phase boundary or where the rate is 0, and a constant rate gives evenly spaced arrivals.
//!
//! Poisson, one second at a time: second j of a phase (counted from its start, the last one
//! possibly shorter) expects μⱼ = Λ(tⱼ₊₁) − Λ(tⱼ) arrivals. Its own stream (the seed's
//! arrivals stream `phase << 32 | j`) first gives the count nⱼ ~ Poisson(μⱼ), then nⱼ sorted
//! uniform positions uₖ in [0, 1) (sequentially, uₖ = 1 − (1 − uₖ₋₁)·v^(1/(nⱼ−k)) with
//! v = `unit_open()`), each mapped through Λ⁻¹ at Λ(tⱼ) + uₖ·μⱼ and kept inside the second.
//! Given the counts, the points of a Poisson process are independent with density ∝ rate, so
//! this is the same process as one long chain of exponential gaps; it lets a plan be counted
//! in O(seconds) and any second be produced without the ones before it.

use std::borrow::Borrow;

use crate::rng::{self, Draw, Purpose};
use crate::scenario::model::ArrivalKind;

use super::{Plan, PlannedPhase};

const SECOND: u64 = 1_000_000_000;

/// One planned transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// The transaction number, counted from 0 across the whole run.
    pub index: u64,
    /// When it is planned, in ns from the run's start.
    pub at_ns: u64,
    /// The phase it belongs to.
    pub phase: usize,
    /// The request of the target's mix it sends (0 without a mix).
    pub request: u16,
}

/// The instants of one second of a Poisson phase, produced in order.
struct PoissonSecond {
    draw: Draw,
    /// Instants left to produce.
    left: u64,
    /// The last sorted uniform position.
    u: f64,
    /// Λ at the second's start and over the second.
    x0: f64,
    mu: f64,
    /// The second's window, [lo, hi) in ns from the run's start.
    lo: u64,
    hi: u64,
}

impl PoissonSecond {
    fn new(seed: u64, phase_index: usize, ph: &PlannedPhase, j: u64) -> PoissonSecond {
        let lo = ph.start_ns + j * SECOND;
        let hi = (lo + SECOND).min(ph.end_ns);
        let x0 = ph.curve.integral((lo - ph.start_ns) as f64 / 1e9);
        let mu = (ph.curve.integral((hi - ph.start_ns) as f64 / 1e9) - x0).max(0.0);
        let mut draw = rng::stream(seed, Purpose::Arrivals, (phase_index as u64) << 32 | j);
        let left = draw.poisson(mu);
        PoissonSecond {
            draw,
            left,
            u: 0.0,
            x0,
            mu,
            lo,
            hi,
        }
    }

    fn next(&mut self, ph: &PlannedPhase) -> Option<u64> {
        if self.left == 0 {
            return None;
        }
        let v = self.draw.unit_open();
        self.u = 1.0 - (1.0 - self.u) * libm::pow(v, 1.0 / self.left as f64);
        self.left -= 1;
        let at = offset_at(ph, self.x0 + self.u * self.mu);
        Some(at.clamp(self.lo, self.hi - 1))
    }
}

/// Seconds a phase spans, the last one possibly shorter.
fn seconds_of(ph: &PlannedPhase) -> u64 {
    (ph.end_ns - ph.start_ns).div_ceil(SECOND)
}

/// The lazy iterator over a plan's arrivals. `P` is how the plan is held: borrowed for a
/// one-off walk (`plan.arrivals()`), or shared (`Arc<Plan>`) by an engine that may switch to
/// another plan when the scenario is reloaded.
pub struct Arrivals<P: Borrow<Plan>> {
    plan: P,
    phase: usize,
    /// Uniform: the next k of the phase. Poisson: arrivals of the phase produced so far.
    k: u64,
    /// Poisson: the second under way and its number in the phase.
    poisson: Option<(PoissonSecond, u64)>,
    /// The number the next arrival gets.
    next_index: u64,
}

impl<P: Borrow<Plan>> Arrivals<P> {
    pub(super) fn new(plan: P) -> Self {
        Self::starting_at(plan, 0, 0)
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
            plan,
        };
        let p = it.plan.borrow();
        let Some(ph) = p.phases.get(phase) else {
            return it;
        };
        match p.arrivals {
            ArrivalKind::Uniform => it.k = uniform_first_at(ph, from_ns),
            ArrivalKind::Poisson => {
                let j = from_ns.saturating_sub(ph.start_ns) / SECOND;
                // Arrivals of the phase before second j, for the size hint.
                it.k = (0..j)
                    .map(|j| PoissonSecond::new(p.seed, phase, ph, j).left)
                    .sum();
                let mut second = PoissonSecond::new(p.seed, phase, ph, j);
                // Skip the second's instants before from_ns: a copy walks them, then the
                // second resumes where the first kept one starts.
                let mut probe = PoissonSecond::new(p.seed, phase, ph, j);
                while let Some(at) = probe.next(ph) {
                    if at >= from_ns {
                        break;
                    }
                    second.next(ph);
                    it.k += 1;
                }
                it.poisson = Some((second, j));
            }
        }
        it
    }

    /// The number the next arrival gets (after the last one, how many were numbered).
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    fn next_poisson(&mut self) -> Option<u64> {
        let plan = self.plan.borrow();
        let ph = &plan.phases[self.phase];
        loop {
            let (second, j) = match &mut self.poisson {
                Some(s) => s,
                None => {
                    self.poisson = Some((PoissonSecond::new(plan.seed, self.phase, ph, 0), 0));
                    self.poisson.as_mut()?
                }
            };
            if let Some(at) = second.next(ph) {
                return Some(at);
            }
            let next = *j + 1;
            if next >= seconds_of(ph) {
                return None;
            }
            *second = PoissonSecond::new(plan.seed, self.phase, ph, next);
            *j = next;
        }
    }
}

/// Arrival k of a uniform phase: where the cumulative expected count reaches (k + ½)·Λ/N.
fn uniform_at(ph: &PlannedPhase, k: u64) -> u64 {
    offset_at(ph, (k as f64 + 0.5) * ph.expected / ph.planned as f64)
}

/// The first k of a uniform phase planned at or after `t_ns` (`planned` when none is). Planned
/// times never decrease with k, so the answer is checked against the formula the iterator
/// uses: from the curve's integral's guess, a few steps either way (a wave's inverse costs
/// a Newton search, and a long run asks this twice a second), or by bisection when the guess
/// was far off.
fn uniform_first_at(ph: &PlannedPhase, t_ns: u64) -> u64 {
    const STEPS: u32 = 8;
    let n = ph.planned;
    let t = t_ns.saturating_sub(ph.start_ns) as f64 / 1e9;
    let guess = ph.curve.integral(t) * n as f64 / ph.expected - 0.5;
    let mut k = if guess.is_finite() {
        guess.ceil().clamp(0.0, n as f64) as u64
    } else {
        0
    };
    for _ in 0..STEPS {
        if k > 0 && uniform_at(ph, k - 1) >= t_ns {
            k -= 1;
        } else if k < n && uniform_at(ph, k) < t_ns {
            k += 1;
        } else {
            return k;
        }
    }
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if uniform_at(ph, mid) < t_ns {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The planned time where the phase's cumulative expected count reaches `x`, kept inside the
/// phase.
fn offset_at(ph: &PlannedPhase, x: f64) -> u64 {
    let t = ph.curve.inverse(x);
    let len = ph.end_ns - ph.start_ns;
    ph.start_ns + (libm::round(t * 1e9).max(0.0) as u64).min(len.saturating_sub(1))
}

/// How many arrivals a Poisson phase holds: the sum of its seconds' counts.
pub(super) fn poisson_count(seed: u64, phase_index: usize, ph: &PlannedPhase) -> u64 {
    (0..seconds_of(ph))
        .map(|j| PoissonSecond::new(seed, phase_index, ph, j).left)
        .sum()
}

/// Arrivals of phase `phase_index` planned in [a, b), without producing the others: by
/// bisection (uniform) or from each second's count, walking only the seconds cut by a or b
/// (Poisson).
pub(super) fn count_in_phase(plan: &Plan, phase_index: usize, a: u64, b: u64) -> u64 {
    let ph = &plan.phases[phase_index];
    let (a, b) = (a.max(ph.start_ns), b.min(ph.end_ns));
    if a >= b {
        return 0;
    }
    match plan.arrivals {
        ArrivalKind::Uniform => uniform_first_at(ph, b) - uniform_first_at(ph, a),
        ArrivalKind::Poisson => {
            let first = (a - ph.start_ns) / SECOND;
            let last = (b - ph.start_ns).div_ceil(SECOND);
            (first..last)
                .map(|j| {
                    let mut s = PoissonSecond::new(plan.seed, phase_index, ph, j);
                    if s.lo >= a && s.hi <= b {
                        return s.left;
                    }
                    let mut n = 0;
                    while let Some(at) = s.next(ph) {
                        n += (a..b).contains(&at) as u64;
                    }
                    n
                })
                .sum()
        }
    }
}

impl<P: Borrow<Plan>> Iterator for Arrivals<P> {
    type Item = Arrival;

    fn next(&mut self) -> Option<Arrival> {
        loop {
            let plan = self.plan.borrow();
            let phase = plan.phases.get(self.phase)?;
            let at_ns = match plan.arrivals {
                ArrivalKind::Uniform if self.k < phase.planned => Some(uniform_at(phase, self.k)),
                ArrivalKind::Uniform => None,
                ArrivalKind::Poisson => self.next_poisson(),
            };
            if let Some(at_ns) = at_ns {
                let arrival = Arrival {
                    index: self.next_index,
                    at_ns,
                    phase: self.phase,
                    request: self.plan.borrow().request_of(self.next_index),
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
            .saturating_sub(self.k);
        let n = usize::try_from(remaining).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}
