//! Stage 3: driving the plan against the target. [`run`] is the one entry point for both
//! kinds of target: it takes a compiled plan, a prepared target, the run's options and an
//! observer, and returns one [`Outcome`]. Each whole second of the run (virtual or wall time)
//! closes the seconds no transaction can still change, judges the live `abort` criteria and
//! tells the observer (progress, checkpoints, a dashboard); the loop hands plain data up and
//! knows nothing of files, templates or the command line.

mod ahead;
pub mod control;
mod growth;
pub mod http;
pub mod live;
mod simulated;

use std::sync::Arc;

use control::{Action, Control, ControlRecord};
use live::{Edits, Live, Reload};

use crate::metrics::Recorder;
use crate::plan::Plan;
use crate::scenario::model::Target;
use crate::targets::http::TargetError;
use crate::targets::{PlanClock, TargetReport};
use crate::verdict;

const SECOND: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

/// Why a run ended before its plan did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The criterion with this index failed live.
    Aborted { criterion: usize, at_ns: u64 },
    /// Ctrl-C, SIGTERM, or a stop asked for through the run's [`Control`].
    Interrupted { at_ns: u64 },
}

impl Stop {
    pub fn at_ns(self) -> u64 {
        match self {
            Stop::Aborted { at_ns, .. } | Stop::Interrupted { at_ns } => at_ns,
        }
    }
}

/// How virtual time runs in a simulated run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Pace {
    /// As fast as the machine goes.
    #[default]
    Fast,
    /// Virtual time follows the wall clock, this many times faster (1: real time), so a run
    /// can be watched and edited as it goes.
    Scaled(f64),
}

impl Pace {
    pub const REALTIME: Pace = Pace::Scaled(1.0);
}

/// The run as it stands, as plain data: what results are derived from, whole or in part.
pub struct Snapshot<'a> {
    /// The plan the run is measured and judged against (reloads included).
    pub plan: &'a Plan,
    pub recorder: &'a Recorder,
    pub reloads: &'a [Reload],
    /// Pauses, resumes and stops carried out so far.
    pub controls: &'a [ControlRecord],
    /// The run is paused now.
    pub paused: bool,
    /// The simulated model's components as they stand (live views only).
    pub components: Option<&'a [crate::targets::ComponentState]>,
    pub stop: Option<Stop>,
    /// Where the run stands: its end, where it stopped, or now.
    pub end_ns: u64,
    /// False while the run goes on (a checkpoint).
    pub complete: bool,
    /// What the target reported about itself, once the run is over.
    pub target: Option<&'a TargetReport>,
}

/// A finished run: its measurements, how it stopped, and what the target reported.
pub struct Outcome {
    /// The recorder, the record of the run and its reloads.
    pub live: Live,
    pub stop: Option<Stop>,
    /// Where time stood when the run ended.
    pub end_ns: u64,
    pub target: TargetReport,
}

impl Outcome {
    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot {
            complete: true,
            stop: self.stop,
            end_ns: self.stop.map_or(self.end_ns, Stop::at_ns),
            target: Some(&self.target),
            ..self.live.snapshot(0)
        }
    }
}

/// What hears of a run as it goes. Each defaults to doing nothing.
pub trait Observer {
    /// Once, as the run starts.
    fn started(&mut self, _run: &Snapshot<'_>) {}
    /// At every whole second `t_ns` of the run, once its live criteria are judged.
    fn second(&mut self, _t_ns: u64, _run: &Snapshot<'_>) {}
    /// After every reload, accepted or refused.
    fn reloaded(&mut self, _reload: &Reload, _run: &Snapshot<'_>) {}
    /// After every pause, resume or stop the run carried out.
    fn controlled(&mut self, _control: &ControlRecord, _run: &Snapshot<'_>) {}
}

/// A closure hears of every second.
impl<F: FnMut(u64, &Snapshot<'_>)> Observer for F {
    fn second(&mut self, t_ns: u64, run: &Snapshot<'_>) {
        self(t_ns, run)
    }
}

/// An observer that hears nothing.
pub struct Quiet;

impl Observer for Quiet {}

/// A target ready to be driven: everything that can fail before the run has.
pub enum Prepared {
    Simulated,
    Http(Box<http::Prepared>, tokio::runtime::Runtime),
}

/// One shard of a run spread over several generators: it sends the arrivals numbered
/// `i mod n == k`, at their planned times counted from `start`, the instant all shards share.
#[derive(Clone, Copy, Debug)]
pub struct ShardRun {
    pub k: u64,
    pub n: u64,
    pub start: std::time::Instant,
}

/// How a run goes.
pub struct Options<'a> {
    pub pace: Pace,
    /// Set for one shard of a sharded run (http targets only).
    pub shard: Option<ShardRun>,
    /// Looked at as the run goes: pause, resume and stop; an interrupt ends the run cleanly
    /// (everything left is `cancelled`).
    pub control: &'a Control,
}

/// Checks everything about the plan's target that can fail before the run starts: for an
/// http target, the URL, environment variables (`${NAME}` from `vars`), TLS files, the body
/// template and the host's address.
pub fn prepare(plan: &Plan, vars: &crate::targets::http::Vars) -> Result<Prepared, TargetError> {
    match &plan.target {
        Target::Simulated { .. } => {
            tracing::info!(
                model = "fraud-pipeline",
                "target prepared: simulated, virtual time"
            );
            Ok(Prepared::Simulated)
        }
        Target::Http { .. } => {
            let prepared = http::prepare(plan, vars)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                // As many workers as cores this process may use (taskset narrows it).
                .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
                .enable_all()
                .build()
                .map_err(|e| TargetError::Runtime(e.to_string()))?;
            runtime.block_on(prepared.endpoint.resolve())?;
            tracing::info!(url = %prepared.endpoint.authority, "target prepared");
            Ok(Prepared::Http(Box::new(prepared), runtime))
        }
    }
}

/// Runs `plan` against its prepared target. Edits (`run --watch`) are taken as they come; the
/// observer hears of every second and every reload. `Err` only when the run could not be
/// carried out at all (the fault proxy could not start).
pub fn run(
    plan: &Plan,
    target: Prepared,
    edits: &mut dyn Edits,
    options: &Options<'_>,
    observer: &mut dyn Observer,
) -> Result<Outcome, TargetError> {
    tracing::info!(scenario = %plan.name, planned = plan.planned, "run starting");
    let outcome = match target {
        Prepared::Simulated => Ok(simulated::simulate(
            plan,
            options.pace,
            edits,
            options.control,
            observer,
        )),
        Prepared::Http(prepared, runtime) => http::drive(
            &runtime,
            Arc::new(plan.clone()),
            *prepared,
            edits,
            options.control,
            options.shard,
            observer,
        ),
    }?;
    match outcome.stop {
        Some(Stop::Aborted { criterion, at_ns }) => tracing::info!(
            criterion = %outcome.live.record.criteria[criterion].check.text,
            at_ms = at_ns / 1_000_000,
            "run aborted by a live criterion"
        ),
        Some(Stop::Interrupted { at_ns }) => {
            tracing::info!(at_ms = at_ns / 1_000_000, "run interrupted")
        }
        None => tracing::info!(end_ms = outcome.end_ns / 1_000_000, "run finished"),
    }
    Ok(outcome)
}

/// The whole second `t` of the run has come: close what can be closed, note failure windows
/// that opened or closed in the second before, judge the live `abort` criteria and tell the
/// observer. Returns the stop when a live criterion failed.
fn close_second(live: &mut Live, t: u64, observer: &mut dyn Observer) -> Option<Stop> {
    live.recorder.advance(t);
    for f in &live.record.failures {
        if (t - SECOND..t).contains(&f.start_ns) {
            tracing::info!(failure = %f.name, component = %f.component, at_ms = f.start_ns / 1_000_000, "failure window opened");
        }
        if (t - SECOND..t).contains(&f.end_ns) {
            tracing::info!(failure = %f.name, at_ms = f.end_ns / 1_000_000, "failure window closed");
        }
    }
    let failed = verdict::failing_abort(&live.record, t, &live.recorder);
    observer.second(t, &live.snapshot(t));
    failed.map(|criterion| Stop::Aborted {
        criterion,
        at_ns: t,
    })
}

/// Carries out what was asked of the run, at plan time `at_ns`: a pause stops `clock`, a
/// resume starts it again, a stop (or an interrupt) ends the run. Each action carried out is
/// recorded and told to the observer; asking for a pause while paused, or a resume while
/// running, changes nothing and is not recorded.
fn steer(
    control: &Control,
    clock: &PlanClock,
    live: &mut Live,
    at_ns: u64,
    observer: &mut dyn Observer,
) -> Option<Stop> {
    for action in control.take() {
        let done = match action {
            Action::Pause => clock.pause(),
            Action::Resume => clock.resume(),
            Action::Stop => true,
        };
        if !done {
            continue;
        }
        live.paused = clock.paused();
        let record = ControlRecord {
            action,
            at_ms: at_ns / MS,
            wall_ms: clock.wall_ns() / MS,
        };
        tracing::info!(
            action = action.name(),
            at_ms = record.at_ms,
            wall_ms = record.wall_ms,
            "control"
        );
        live.controls.push(record.clone());
        observer.controlled(&record, &live.snapshot(at_ns));
        if action == Action::Stop {
            return Some(Stop::Interrupted { at_ns });
        }
    }
    control.interrupted().then_some(Stop::Interrupted { at_ns })
}
