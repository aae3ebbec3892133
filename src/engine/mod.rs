//! Stage 3: driving the plan against the target. For the simulated target, one loop in
//! virtual time merges the plan's lazy arrivals with the model's events, in time order (events
//! first at equal times, so work due is done before new work arrives). Once per virtual second
//! it closes finished seconds and asks the caller whether to go on (live `abort` criteria,
//! progress, checkpoints). When the run stops early, whatever is in flight and every arrival
//! not yet sent end as `cancelled`, so nothing is lost.

pub mod http;

use std::sync::atomic::{AtomicBool, Ordering};

use crate::metrics::Recorder;
use crate::plan::Plan;
use crate::target::simulated::{Simulation, defaults};
use crate::target::{Finished, Outcome};

const SECOND: u64 = 1_000_000_000;

/// What the caller says at each virtual second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Continue,
    /// Stop: the criterion with this index failed live.
    Abort(usize),
}

/// Why a run ended before its plan did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Aborted { criterion: usize, at_ns: u64 },
    Interrupted { at_ns: u64 },
}

/// A finished simulated run: its measurements and the model's own figures.
pub struct Simulated {
    pub recorder: Recorder,
    pub simulation: Simulation,
    pub stop: Option<Stop>,
    /// Where virtual time stood when the run ended.
    pub end_ns: u64,
}

/// Runs `plan` against the built-in model. `on_second(t, recorder)` is called at every whole
/// virtual second `t` (in ns); `interrupt` is polled and ends the run cleanly when set.
pub fn simulate(
    plan: &Plan,
    interrupt: &AtomicBool,
    on_second: &mut dyn FnMut(u64, &Recorder) -> Control,
) -> Simulated {
    let mut sim = Simulation::new(plan);
    let horizon = defaults::max_residence_ns(&defaults::specs(plan)) + SECOND;
    let mut rec = Recorder::new(plan, horizon);
    let mut arrivals = plan.arrivals().peekable();
    let mut next_tick = SECOND;
    let mut stop = None;
    let mut now = 0;
    let mut steps: u64 = 0;

    'run: loop {
        let next_arrival = arrivals.peek().map(|a| a.at_ns);
        let next_event = sim.next_time();
        let t = match (next_arrival, next_event) {
            (None, None) => break,
            (Some(a), Some(e)) => a.min(e),
            (Some(a), None) => a,
            (None, Some(e)) => e,
        };
        while t >= next_tick {
            rec.advance(next_tick);
            if let Control::Abort(criterion) = on_second(next_tick, &rec) {
                now = next_tick;
                stop = Some(Stop::Aborted {
                    criterion,
                    at_ns: next_tick,
                });
                break 'run;
            }
            next_tick += SECOND;
        }
        now = t;
        if next_event.is_some_and(|e| next_arrival.is_none_or(|a| e <= a)) {
            sim.step(&mut |f| rec.record(&f));
        } else if let Some(a) = arrivals.next() {
            sim.arrive(a, plan.transaction(a.index));
        }
        steps += 1;
        if steps.is_multiple_of(4096) && interrupt.load(Ordering::Relaxed) {
            stop = Some(Stop::Interrupted { at_ns: now });
            break;
        }
    }

    if stop.is_some() {
        sim.cancel_in_flight(now, &mut |f| rec.record(&f));
        for a in arrivals {
            rec.record(&Finished::unsent(&a, Outcome::Cancelled, a.at_ns));
        }
    }
    let end_ns = now.max(plan.duration_ns);
    // The last seconds of the plan close with whatever they hold.
    if stop.is_none() {
        while next_tick <= plan.duration_ns {
            rec.advance(next_tick);
            next_tick += SECOND;
        }
    }
    rec.finish(plan.duration_ns.max(if stop.is_some() { now } else { 0 }));
    sim.settle();
    Simulated {
        recorder: rec,
        simulation: sim,
        stop,
        end_ns,
    }
}
