//! The simulated target's run loop: one loop in virtual time merges the plan's lazy arrivals
//! with the model's events, in time order (events first at equal times, so work due is done
//! before new work arrives). Once per virtual second it closes finished seconds, judges the
//! live `abort` criteria and tells the observer. When the run stops early, whatever is in
//! flight and every arrival not yet sent end as `cancelled`, so nothing is lost.

use std::sync::Arc;
use std::time::Duration;

use super::control::Control;
use super::live::{Edits, Live};
use super::{Observer, Outcome, Pace, SECOND, Stop, close_second, steer};
use crate::plan::Plan;
use crate::targets::simulated::{Simulation, defaults};
use crate::targets::{PlanClock, TargetReport};

/// The longest a realtime run sleeps before it looks for edits and interrupts again.
const LOOK_NS: u64 = 20_000_000;

/// The earlier of two instants, either of which may be missing.
fn earliest(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// What a paced wait ended with.
enum Waited {
    Reached,
    /// An edit came in: its instant may come before what was awaited.
    Edit,
    /// The run was stopped (at this virtual instant).
    Stopped(Stop),
}

/// Virtual time for a paced run: the plan clock (wall time less pauses) times the factor.
fn virtual_now(clock: &PlanClock, factor: f64) -> u64 {
    (clock.now() as f64 * factor) as u64
}

/// Sleeps until `target_ns` of virtual time is due on the (scaled) wall clock, looking for
/// edits and control every few milliseconds. A pause stops the clock, so the wait goes on.
fn wait_until(
    clock: &PlanClock,
    factor: f64,
    target_ns: u64,
    control: &Control,
    edits: &mut dyn Edits,
    live: &mut Live,
    observer: &mut dyn Observer,
) -> Waited {
    loop {
        let elapsed = virtual_now(clock, factor).min(target_ns);
        if control.pending()
            && let Some(stop) = steer(control, clock, live, elapsed, observer)
        {
            return Waited::Stopped(stop);
        }
        if !clock.paused() {
            if let Some(e) = edits.poll() {
                live.offer(elapsed, e);
                return Waited::Edit;
            }
            if elapsed >= target_ns {
                return Waited::Reached;
            }
        }
        let wall_left = ((target_ns - elapsed) as f64 / factor) as u64;
        std::thread::sleep(Duration::from_nanos(wall_left.clamp(1, LOOK_NS)));
    }
}

/// A run at `--pace fast` holds while paused: virtual time does not move until a resume or a
/// stop.
fn hold(
    clock: &PlanClock,
    now: u64,
    control: &Control,
    live: &mut Live,
    observer: &mut dyn Observer,
) -> Option<Stop> {
    if let Some(stop) = steer(control, clock, live, now, observer) {
        return Some(stop);
    }
    while clock.paused() {
        std::thread::sleep(Duration::from_nanos(LOOK_NS));
        if control.pending()
            && let Some(stop) = steer(control, clock, live, now, observer)
        {
            return Some(stop);
        }
    }
    None
}

/// Runs `plan` against the built-in model (see `super::run`).
pub(super) fn simulate(
    plan: &Plan,
    pace: Pace,
    edits: &mut dyn Edits,
    control: &Control,
    observer: &mut dyn Observer,
) -> Outcome {
    let mut sim = Simulation::new(plan);
    let horizon = defaults::max_residence_ns(&defaults::specs(plan)) + SECOND;
    let mut live = Live::new(Arc::new(plan.clone()), horizon);
    live.produce_ahead();
    let mut states = Vec::new();
    sim.states(0, &mut states);
    live.components = Some(states);
    observer.started(&live.snapshot(0));
    let clock = PlanClock::starting_now();
    let factor = match pace {
        Pace::Fast => None,
        Pace::Scaled(f) => Some(f),
    };
    let mut next_tick = SECOND;
    let mut stop = None;
    let mut now = 0;
    let mut steps: u64 = 0;

    // The next instant something other than the model or an arrival is due: a reload, a
    // scripted edit, or (realtime) the next second of the plan. Recomputed only when one of
    // them changes, to keep the hot loop lean.
    let due = |live: &Live, edits: &dyn Edits, next_tick: u64| {
        let tail = (factor.is_some() && next_tick <= live.record.duration_ns).then_some(next_tick);
        earliest(earliest(live.due_at(), edits.due()), tail)
    };
    let mut ctl = due(&live, edits, next_tick);

    loop {
        let next_arrival = live.peek().map(|a| a.at_ns);
        let next_event = sim.next_time();
        let Some(t) = earliest(earliest(next_arrival, next_event), ctl) else {
            break;
        };
        if let Some(factor) = factor {
            let waited = wait_until(
                &clock,
                factor,
                t.min(next_tick),
                control,
                edits,
                &mut live,
                observer,
            );
            match waited {
                Waited::Reached => {}
                Waited::Edit => {
                    ctl = due(&live, edits, next_tick);
                    continue;
                }
                Waited::Stopped(s) => {
                    now = now.max(s.at_ns());
                    stop = Some(Stop::Interrupted { at_ns: now });
                    break;
                }
            }
        }
        if t >= next_tick {
            live.recorder.components_second(sim.take_second());
            if let Some(states) = live.components.as_mut() {
                sim.states(next_tick, states);
            }
            if let Some(s) = close_second(&mut live, next_tick, observer) {
                now = next_tick;
                stop = Some(s);
                break;
            }
            next_tick += SECOND;
            ctl = due(&live, edits, next_tick);
            continue;
        }
        now = t;
        if ctl == Some(t) {
            let handled = edit_at(t, edits, &mut live, &mut sim, observer);
            ctl = due(&live, edits, next_tick);
            if handled {
                continue;
            }
        }
        if next_event == Some(t) {
            sim.step(&mut |f| live.recorder.record(&f));
            // Running flat out, the events due before anything else are taken in a row: those
            // at or before the next arrival (events first at equal instants), before the next
            // control instant and the next second, up to the next look at the controls. What
            // the loop would do one by one, without asking each time.
            let before = ctl.map_or(next_tick, |c| c.min(next_tick));
            if factor.is_none() && before > 0 {
                let last = next_arrival.map_or(before - 1, |a| a.min(before - 1));
                while !(steps + 1).is_multiple_of(4096)
                    && let Some(at) = sim.step_through(last, &mut |f| live.recorder.record(&f))
                {
                    now = at;
                    steps += 1;
                }
            }
        } else if let Some((a, tx)) = live.take() {
            sim.arrive(a, tx);
        }
        steps += 1;
        if steps.is_multiple_of(4096) {
            if control.pending()
                && let Some(s) = hold(&clock, now, control, &mut live, observer)
            {
                stop = Some(s);
                break;
            }
            if factor.is_none()
                && let Some(e) = edits.poll()
            {
                live.offer(now, e);
                ctl = due(&live, edits, next_tick);
            }
        }
    }

    wrap_up(sim, live, stop, now, next_tick)
}

/// At one instant: edits come in, then take effect, then the model's events, then arrivals
/// (which are the new version's from the reload's instant on). Whether an edit was handled.
fn edit_at(
    t: u64,
    edits: &mut dyn Edits,
    live: &mut Live,
    sim: &mut Simulation,
    observer: &mut dyn Observer,
) -> bool {
    if edits.due() == Some(t) {
        if let Some(e) = edits.take_due() {
            live.offer(t, e);
        }
        return true;
    }
    if live.due_at() != Some(t) {
        return false;
    }
    if let Some((r, faults_changed)) = live.apply() {
        let r = r.clone();
        if faults_changed {
            sim.set_failures(&live.record.failures);
        }
        observer.reloaded(&r, &live.snapshot(t));
    }
    true
}

/// Ends the run at `now`: a stopped run cancels what is in flight and every arrival not yet
/// sent; the last seconds close; the model reports its figures.
fn wrap_up(
    mut sim: Simulation,
    mut live: Live,
    stop: Option<Stop>,
    now: u64,
    mut next_tick: u64,
) -> Outcome {
    if stop.is_some() {
        sim.cancel_in_flight(now, &mut |f| live.recorder.record(&f));
        live.cancel_unsent(|a| a.at_ns);
    }
    // The calls made after the last whole second.
    live.recorder.components_second(sim.take_second());
    let duration = live.record.duration_ns;
    let end_ns = now.max(duration);
    // The last seconds of the plan close with whatever they hold.
    if stop.is_none() {
        while next_tick <= duration {
            live.recorder.advance(next_tick);
            next_tick += SECOND;
        }
    }
    live.recorder
        .finish(duration.max(if stop.is_some() { now } else { 0 }));
    sim.settle();
    let components = sim.figures(stop.map_or(end_ns, Stop::at_ns));
    Outcome {
        live,
        stop,
        end_ns,
        target: TargetReport::Simulated { components },
    }
}
