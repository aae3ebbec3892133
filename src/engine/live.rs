//! A run that follows its scenario file (`run --watch`). Both engines hold a [`Live`]: the
//! version of the scenario arrivals come from (the *schedule*), the *record* of the run that
//! measurements, failures and criteria follow (see `plan::splice`), the recorder, and every
//! reload so far.
//!
//! An edit noticed at `now` takes effect at the next whole millisecond, `at`: arrivals planned
//! before `at` come from the old version, those at or after it from the new one, numbered on
//! from the first number not yet used. The millisecond is what `results.json` records, so a
//! run given the same edits at the same instants (virtual time for the simulated target) gives
//! the same results.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Snapshot;
use super::ahead::Ahead;
use crate::metrics::Recorder;
use crate::plan::splice::{self, splice};
use crate::plan::{Arrival, Arrivals, Plan, diff};
use crate::targets::simulated::scorer::Facts;
use crate::targets::{Finished, Outcome};

const MS: u64 = 1_000_000;

/// One reload of the scenario while it ran (`run --watch`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Reload {
    /// When it took effect, or was turned down, in ms from the run's start.
    pub at_ms: u64,
    pub accepted: bool,
    /// The digest of the version saved; null when it did not compile.
    pub digest: Option<String>,
    /// What changed against the version running before, one line each (accepted reloads).
    pub changes: Vec<String>,
    /// Why it was refused: its diagnostics (`FILE:LINE:COL: message`) or the rule it breaks.
    pub errors: Vec<String>,
}

/// A new version of the scenario, as the watcher found it.
#[derive(Clone, Debug)]
pub enum Edit {
    /// A valid version with the run's seed and target.
    Valid(Arc<Plan>),
    /// A version the run cannot take, and why.
    Refused {
        digest: Option<String>,
        errors: Vec<String>,
    },
}

/// Where edits come from: as they happen (a file watcher), or at instants known in advance
/// (a script), which the engine applies exactly there.
pub trait Edits {
    /// Whether any edit can come at all (an unwatched run has none).
    fn may_come(&self) -> bool {
        true
    }
    /// An edit that has just come in, if any.
    fn poll(&mut self) -> Option<Edit> {
        None
    }
    /// When the next scripted edit is due.
    fn due(&self) -> Option<u64> {
        None
    }
    /// The scripted edit that is due now.
    fn take_due(&mut self) -> Option<Edit> {
        None
    }
}

/// A run that is not watched.
pub struct NoEdits;

impl Edits for NoEdits {
    fn may_come(&self) -> bool {
        false
    }
}

/// Edits sent by a file watcher on another thread.
impl Edits for mpsc::Receiver<Edit> {
    fn poll(&mut self) -> Option<Edit> {
        self.try_recv().ok()
    }
}

/// Edits at given instants (ns from the run's start), for replaying a run's reloads.
pub struct Scripted(pub VecDeque<(u64, Edit)>);

impl Edits for Scripted {
    fn due(&self) -> Option<u64> {
        self.0.front().map(|&(at, _)| at)
    }

    fn take_due(&mut self) -> Option<Edit> {
        self.0.pop_front().map(|(_, e)| e)
    }
}

/// Where a run's arrivals come from.
enum Source {
    /// Produced on this thread as they are taken.
    Here(Box<Arrivals<Arc<Plan>>>),
    /// Produced ahead, with their transactions, on another thread.
    Ahead(Ahead),
    /// Handed back: a stopped run has taken them all.
    Gone,
}

/// The state of a run that may be reloaded.
pub struct Live {
    schedule: Arc<Plan>,
    arrivals: Source,
    next: Option<Arrival>,
    /// The facts of `next`'s transaction, when they were produced ahead with it.
    next_tx: Option<Facts>,
    /// The number after the last arrival pulled: where numbering goes on once the schedule's
    /// arrivals are all taken.
    after_last: u64,
    /// What the run is measured and judged against.
    pub record: Plan,
    pub recorder: Recorder,
    pub reloads: Vec<Reload>,
    /// Pauses, resumes and stops carried out so far.
    pub controls: Vec<super::control::ControlRecord>,
    /// The run is paused now.
    pub paused: bool,
    /// The simulated model's components as they stood at the last second.
    pub components: Option<Vec<crate::targets::ComponentState>>,
    pending: VecDeque<(u64, Edit)>,
    /// A shard sends only the arrivals numbered `i mod n == k`: (k, n).
    shard: Option<(u64, u64)>,
}

impl Live {
    pub fn new(plan: Arc<Plan>, horizon_ns: u64) -> Live {
        let mut live = Live {
            record: (*plan).clone(),
            recorder: Recorder::new(plan.clone(), horizon_ns),
            arrivals: Source::Here(Box::new(Arrivals::starting_at(plan.clone(), 0, 0))),
            schedule: plan,
            next: None,
            next_tx: None,
            after_last: 0,
            reloads: Vec::new(),
            controls: Vec::new(),
            paused: false,
            components: None,
            pending: VecDeque::new(),
            shard: None,
        };
        live.next = live.pull();
        live
    }

    /// Produces arrivals and their transactions ahead, on another thread (the simulated run
    /// loop, which spends a quarter of its time generating them otherwise). The same arrivals
    /// come in the same order; a sharded run keeps producing them here.
    pub fn produce_ahead(&mut self) {
        if self.shard.is_some() {
            return;
        }
        let Source::Here(arrivals) = std::mem::replace(&mut self.arrivals, Source::Gone) else {
            return;
        };
        self.arrivals = Source::Ahead(Ahead::start(self.schedule.clone(), *arrivals));
    }

    /// The state of shard `k` of `n` of a run: it sends, and counts as planned, only the
    /// arrivals numbered `i mod n == k`, at the times the whole plan gives them.
    pub fn sharded(plan: Arc<Plan>, horizon_ns: u64, k: u64, n: u64) -> Live {
        let mut live = Live::new(plan, horizon_ns);
        live.shard = Some((k, n));
        live.recorder.shard(k, n);
        if live.next.is_some_and(|a| !live.owns(&a)) {
            live.next = live.pull();
        }
        live
    }

    fn owns(&self, a: &Arrival) -> bool {
        self.shard.is_none_or(|(k, n)| a.index % n == k)
    }

    /// The next arrival of the schedule this run sends.
    fn pull(&mut self) -> Option<Arrival> {
        self.next_tx = None;
        let a = match (&mut self.arrivals, self.shard) {
            (Source::Here(it), None) => it.next(),
            (Source::Here(it), Some((k, n))) => it.by_ref().find(|a| a.index % n == k),
            (Source::Ahead(ahead), _) => ahead.next().map(|(a, tx)| {
                self.next_tx = Some(tx);
                a
            }),
            (Source::Gone, _) => None,
        };
        if let Some(a) = a {
            self.after_last = a.index + 1;
        }
        a
    }

    /// The run so far at `now_ns`, not finished (a checkpoint, a live view).
    pub fn snapshot(&self, now_ns: u64) -> Snapshot<'_> {
        Snapshot {
            plan: &self.record,
            recorder: &self.recorder,
            reloads: &self.reloads,
            controls: &self.controls,
            paused: self.paused,
            components: self.components.as_deref(),
            stop: None,
            end_ns: now_ns,
            complete: false,
            target: None,
        }
    }

    /// The version of the scenario arrivals come from now.
    pub fn schedule(&self) -> &Arc<Plan> {
        &self.schedule
    }

    /// The next arrival, not taken.
    pub fn peek(&self) -> Option<&Arrival> {
        self.next.as_ref()
    }

    /// Takes the next arrival when it is planned before `limit_ns` and no reload is due
    /// before it.
    pub fn next_before(&mut self, limit_ns: u64) -> Option<Arrival> {
        let a = self.next?;
        if a.at_ns >= limit_ns || self.due_at().is_some_and(|r| r <= a.at_ns) {
            return None;
        }
        self.next = self.pull();
        self.recorder.drawn(a.request);
        Some(a)
    }

    /// Takes the next arrival and what the simulated model needs of its transaction. The caller makes sure no reload is due
    /// before it (the engines apply reloads first at equal instants).
    pub fn take(&mut self) -> Option<(Arrival, Facts)> {
        let a = self.next?;
        let tx = match self.next_tx {
            Some(tx) => tx,
            None => Facts::of(&self.schedule.transaction(a.index)),
        };
        self.next = self.pull();
        self.recorder.drawn(a.request);
        Some((a, tx))
    }

    /// Records every arrival left as cancelled (the run stopped early), finished at
    /// `done_ns(arrival)`.
    pub fn cancel_unsent(&mut self, done_ns: impl Fn(&Arrival) -> u64) {
        let shard = self.shard;
        let owned = move |a: &Arrival| shard.is_none_or(|(k, n)| a.index % n == k);
        let (produced, rest) = match std::mem::replace(&mut self.arrivals, Source::Gone) {
            Source::Here(it) => (Vec::new(), Some(*it)),
            Source::Ahead(ahead) => ahead.stop(),
            Source::Gone => (Vec::new(), None),
        };
        for a in self
            .next
            .take()
            .into_iter()
            .chain(produced)
            .chain(rest.into_iter().flatten())
            .filter(owned)
        {
            self.recorder.drawn(a.request);
            self.recorder
                .record(&Finished::unsent(&a, Outcome::Cancelled, done_ns(&a)));
        }
    }

    /// Takes an edit noticed at `now_ns`: it takes effect at the next whole millisecond.
    pub fn offer(&mut self, now_ns: u64, edit: Edit) {
        let at = now_ns.div_ceil(MS) * MS;
        let at = self.pending.back().map_or(at, |&(last, _)| at.max(last));
        self.pending.push_back((at, edit));
    }

    /// When the next offered edit takes effect.
    pub fn due_at(&self) -> Option<u64> {
        self.pending.front().map(|&(at, _)| at)
    }

    /// Applies the next offered edit at its instant; every arrival planned before that
    /// instant must have been taken. Returns the reload recorded, and whether the failures the
    /// target must inject changed.
    pub fn apply(&mut self) -> Option<(&Reload, bool)> {
        let (at, edit) = self.pending.pop_front()?;
        debug_assert!(self.next.is_none_or(|a| a.at_ns >= at));
        let reload = match edit {
            Edit::Refused { digest, errors } => Reload {
                at_ms: at / MS,
                accepted: false,
                digest,
                changes: Vec::new(),
                errors,
            },
            Edit::Valid(new) => {
                let next_index = match (&self.next, &self.arrivals) {
                    (Some(a), _) => a.index,
                    (None, Source::Here(it)) => it.next_index(),
                    (None, _) => self.after_last,
                };
                let arrivals = Arrivals::starting_at(new.clone(), at, next_index);
                let planned = next_index + arrivals.size_hint().0 as u64;
                match splice(&self.record, &new, at, planned) {
                    Err(errors) => Reload {
                        at_ms: at / MS,
                        accepted: false,
                        digest: Some(new.digest.clone()),
                        changes: Vec::new(),
                        errors,
                    },
                    Ok(mut s) => {
                        splice::recount(&mut s, &self.record, &self.schedule, &new, at);
                        let faults_changed = s.plan.failures != self.record.failures;
                        self.recorder
                            .retime(&s.plan, &s.phase_from, &s.failure_from);
                        self.recorder.follow(new.clone(), at);
                        let changes = diff::reload(&self.schedule, &new, at, &self.record, &s.plan);
                        self.record = s.plan;
                        self.after_last = next_index;
                        self.arrivals = if matches!(self.arrivals, Source::Ahead(_)) {
                            // What was produced ahead from the old version is dropped.
                            Source::Ahead(Ahead::start(new.clone(), arrivals))
                        } else {
                            Source::Here(Box::new(arrivals))
                        };
                        self.next = self.pull();
                        self.schedule = new;
                        tracing::info!(at_ms = at / MS, changes = ?changes, "reload accepted");
                        self.reloads.push(Reload {
                            at_ms: at / MS,
                            accepted: true,
                            digest: Some(self.schedule.digest.clone()),
                            changes,
                            errors: Vec::new(),
                        });
                        return self.reloads.last().map(|r| (r, faults_changed));
                    }
                }
            }
        };
        tracing::info!(at_ms = reload.at_ms, errors = ?reload.errors, "reload refused");
        self.reloads.push(reload);
        self.reloads.last().map(|r| (r, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(rate: u32) -> Arc<Plan> {
        Arc::new(crate::plan::compile_text(&format!(
            "[scenario]\nname = \"l\"\nseed = 1\n[[phase]]\nname = \"m\"\nduration = \"4s\"\nload = {{ pattern = \"constant\", rate = {rate} }}\n"
        )))
    }

    #[test]
    fn numbers_continue_from_the_first_unused_one_across_reloads() {
        let mut live = Live::new(plan(10), 0);
        let mut seen = Vec::new();
        // Take the arrivals before 1.05 s, then reload (noticed at 1.0493 s: effective 1.050 s).
        while let Some(a) = live.next_before(1_050_000_000) {
            seen.push(a);
        }
        live.offer(1_049_300_000, Edit::Valid(plan(100)));
        assert_eq!(live.due_at(), Some(1_050_000_000));
        assert!(
            live.next_before(u64::MAX).is_none(),
            "nothing is taken past a due reload"
        );
        let (r, faults) = live.apply().map(|(r, f)| (r.clone(), f)).unwrap();
        assert!(r.accepted && !faults);
        assert_eq!(r.at_ms, 1_050);
        while let Some(a) = live.next_before(u64::MAX) {
            seen.push(a);
        }
        let indexes: Vec<u64> = seen.iter().map(|a| a.index).collect();
        assert_eq!(indexes, (0..indexes.len() as u64).collect::<Vec<_>>());
        // 10 TPS up to 1.05 s (arrivals at 0.05, 0.15 … 0.95, 1.05 is the reload's), then
        // 100 TPS from 1.05 s to 4 s: 295 arrivals (at 1.055, 1.065 … 3.995).
        assert_eq!(seen.iter().filter(|a| a.at_ns < 1_050_000_000).count(), 10);
        assert_eq!(seen.len(), 10 + 295);
        assert_eq!(live.record.planned, 305);
        assert!(seen.windows(2).all(|w| w[0].at_ns <= w[1].at_ns));
    }
}
