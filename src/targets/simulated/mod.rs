//! The built-in `fraud-pipeline` model, a discrete-event simulation in virtual time.
//!
//! A transaction flows gateway -> feature-store -> (ml-scorer + rules-engine) -> decision.
//! Events are ordered by (time, sequence number) in one queue (`calendar`) on one thread, every
//! random draw comes from the seed's model-noise stream in event order, so a run is the same,
//! bit for bit, on every machine. The decision step calls its dependencies with timeouts and
//! circuit breakers: throttled feature-store calls are retried with backoff; without features,
//! or without the scorer, the decision falls back to the rules alone (a *degraded* decision).

pub mod breaker;
mod calendar;
pub mod component;
pub mod defaults;
pub mod noise;
pub mod scorer;

use breaker::{Breaker, Permit};
use calendar::Calendar;
use component::{CallOutcome, Component, Entry};

use crate::plan::{Arrival, Plan};
use crate::targets::{Decision, Finished, Outcome};
use noise::Noise;
use scorer::Facts;

/// Indexes of the components, in pipeline order.
pub const GATEWAY: usize = 0;
pub const FEATURE_STORE: usize = 1;
pub const ML_SCORER: usize = 2;
pub const RULES_ENGINE: usize = 3;
pub const DECISION: usize = 4;

/// Attempts at a throttled feature-store call (the first and the retries).
pub const FS_ATTEMPTS: u8 = 3;
/// Backoff before retry k (1-based): BASE * 2^(k-1), with ±50% jitter.
pub const FS_BACKOFF_NS: u64 = 10_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// The gateway answered (admission done, or refused).
    Gateway,
    /// The client of a transaction waiting in the gateway's queue gives up.
    GatewayDeadline,
    /// The client of a transaction a hang holds at the gateway gives up.
    HungDeadline,
    /// The hang holding a transaction's gateway server is over and its work done: the server
    /// is free.
    HangEnd,
    /// A feature-store call answered.
    Features,
    /// Time to retry the feature-store call.
    RetryFeatures,
    Scorer,
    Rules,
    Decision,
}

/// Ordered by (time, sequence number) alone: sequence numbers are unique, so the other fields
/// never decide, and comparing one 128-bit key keeps sorting a bucket cheap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Event {
    at: u64,
    seq: u64,
    slot: u32,
    step: Step,
    outcome: Outcome3,
}

impl calendar::Timed for Event {
    #[inline]
    fn at(&self) -> u64 {
        self.at
    }

    /// (time, sequence number) as one number: one comparison, not one per field.
    #[inline]
    fn key(&self) -> u128 {
        (u128::from(self.at) << 64) | u128::from(self.seq)
    }
}

/// A call outcome packed for the event queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome3 {
    Ok,
    Failed,
    Throttled,
    TimedOut,
}

impl From<CallOutcome> for Outcome3 {
    fn from(o: CallOutcome) -> Self {
        match o {
            CallOutcome::Ok => Outcome3::Ok,
            CallOutcome::Throttled => Outcome3::Throttled,
            CallOutcome::Timeout => Outcome3::TimedOut,
            _ => Outcome3::Failed,
        }
    }
}

/// A transaction in flight.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    arrival: Arrival,
    tx: Facts,
    fs_attempts: u8,
    features: bool,
    pending: u8,
    /// What the score alone decided, once it came.
    scorer: Option<Decision>,
    scorer_permit: Permit,
    rules: Option<Decision>,
    rules_permit: Permit,
    fs_permit: Permit,
    /// Since when it holds a gateway server (released when it ends), if it does.
    holds_since: Option<u64>,
    /// Its client has had its outcome: a transaction a hang holds at the gateway times out at
    /// its deadline (`HungDeadline`) while its server stays busy until the hang ends
    /// (`HangEnd`); its slot is free once both happened.
    answered: bool,
    /// While it waits in the gateway's queue: the sequence number of its deadline event.
    waiting: u64,
}

impl InFlight {
    /// Its end as the run records it: `outcome` at `at`.
    fn ended(
        &self,
        at: u64,
        outcome: Outcome,
        decision: Option<Decision>,
        degraded: bool,
    ) -> Finished {
        Finished {
            index: self.arrival.index,
            phase: self.arrival.phase,
            request: self.arrival.request,
            planned_ns: self.arrival.at_ns,
            sent_ns: self.arrival.at_ns,
            done_ns: at,
            outcome,
            degraded,
            decision,
            fraud: self.tx.fraud,
            amount_usd_cents: self.tx.amount_usd_cents,
        }
    }
}

/// The fraud-pipeline simulation.
pub struct Simulation {
    seed: u64,
    client_timeout: u64,
    pub components: [Component; 5],
    pub breakers: [Breaker; 5],
    events: Calendar<Event>,
    seq: u64,
    slots: Vec<InFlight>,
    free: Vec<u32>,
    in_flight: u64,
    noise: Noise,
    /// Transactions waiting for a gateway server, in order: (slot, its deadline event).
    gateway_queue: std::collections::VecDeque<(u32, u64)>,
    /// Each breaker's trips when the last second was taken.
    trips_seen: [u32; 5],
    /// The seconds taken last (what live views show).
    last: [crate::targets::ComponentSecond; 5],
}

impl Simulation {
    pub fn new(plan: &Plan) -> Simulation {
        let specs = defaults::specs(plan);
        let names = crate::scenario::model::COMPONENTS;
        let components =
            std::array::from_fn(|i| Component::new(names[i], specs[i].clone(), &plan.failures));
        Simulation {
            seed: plan.seed,
            client_timeout: plan.target.timeout().as_nanos(),
            components,
            breakers: Default::default(),
            events: Calendar::default(),
            seq: 0,
            slots: Vec::new(),
            free: Vec::new(),
            in_flight: 0,
            noise: Noise::with_pairs_ahead(plan.seed),
            gateway_queue: std::collections::VecDeque::new(),
            trips_seen: [0; 5],
            last: Default::default(),
        }
    }

    /// Ends the second under way: what each component did in it, in pipeline order.
    pub fn take_second(&mut self) -> [crate::targets::ComponentSecond; 5] {
        let seconds = std::array::from_fn(|i| {
            let b = &self.breakers[i];
            let state = match b.state_name() {
                _ if b.trips != self.trips_seen[i] => 2,
                "open" => 2,
                "half-open" => 1,
                _ => 0,
            };
            self.trips_seen[i] = b.trips;
            self.components[i].take_second(state)
        });
        self.last = seconds;
        seconds
    }

    /// Each component's figures over a run that ended at `end_ns`, as plain data.
    pub fn figures(&self, end_ns: u64) -> Vec<crate::targets::ComponentFigures> {
        self.components
            .iter()
            .map(|c| {
                let s = &c.stats;
                let (seconds, healthy) = (s.seconds_asked, s.seconds_healthy);
                // Recorded in µs; reported in ms.
                let latency = (!s.latency_us.is_empty()).then(|| s.latency_us.histogram());
                let q = |x: f64| {
                    latency
                        .as_ref()
                        .map(|h| h.value_at_quantile(x) as f64 / 1_000.0)
                };
                crate::targets::ComponentFigures {
                    name: c.name,
                    requests: s.requests,
                    ok: s.ok,
                    errors: s.errors,
                    timeouts: s.timeouts,
                    rejected: s.rejected,
                    latency_ms: [q(0.5), q(0.95), q(0.99)],
                    peak_queue: s.peak_queue,
                    peak_concurrency: s.peak_concurrency,
                    concurrency: c.spec.concurrency,
                    utilisation: c.utilisation(end_ns.max(1)),
                    breaker_trips: s.breaker_trips,
                    health: if seconds == 0 {
                        1.0
                    } else {
                        healthy as f64 / seconds as f64
                    },
                }
            })
            .collect()
    }

    /// Each component as it stands at virtual time `now`.
    pub fn states(&self, now: u64, out: &mut Vec<crate::targets::ComponentState>) {
        out.clear();
        for (i, (c, b)) in self.components.iter().zip(&self.breakers).enumerate() {
            let (queue, busy) = if i == GATEWAY {
                c.front_load()
            } else {
                c.load(now)
            };
            out.push(crate::targets::ComponentState {
                name: c.name,
                health: self.last[i].health(),
                queue,
                busy,
                concurrency: c.spec.concurrency,
                breaker: b.state_name(),
            });
        }
    }

    /// Transactions admitted and not finished yet.
    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }

    /// The time of the next event, if any.
    pub fn next_time(&mut self) -> Option<u64> {
        self.events.peek().map(|e| e.at)
    }

    fn schedule(&mut self, at: u64, slot: u32, step: Step, outcome: Outcome3) {
        // The calendar orders a bucket's events by sequence numbers below 2^48: about 150
        // years of virtual time at peak-load's 10,000 transactions per second.
        debug_assert!(self.seq < 1 << 48, "sequence numbers past 2^48");
        self.seq += 1;
        self.events.push(Event {
            at,
            seq: self.seq,
            slot,
            step,
            outcome,
        });
    }

    /// A transaction arrives at the gateway at its planned time (the engine calls this in
    /// time order, before any event later than the arrival).
    pub fn arrive(&mut self, arrival: Arrival, tx: Facts) {
        let slot = InFlight {
            arrival,
            tx,
            fs_attempts: 0,
            features: false,
            pending: 0,
            scorer: None,
            scorer_permit: Permit::Denied,
            rules: None,
            rules_permit: Permit::Denied,
            fs_permit: Permit::Denied,
            holds_since: None,
            answered: false,
            waiting: 0,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = slot;
                id
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.in_flight += 1;
        let now = arrival.at_ns;
        match self.components[GATEWAY].enter(now, arrival.index, self.seed, &mut self.noise) {
            Entry::Started { done, hung } => self.started(now, done, hung, id),
            Entry::Ended(call) => self.schedule(call.at, id, Step::Gateway, call.outcome.into()),
            Entry::Queued => {
                // Its client gives up at its timeout if no server has taken it in by then.
                let deadline = now + self.client_timeout;
                self.schedule(deadline, id, Step::GatewayDeadline, Outcome3::TimedOut);
                self.slots[id as usize].waiting = self.seq;
                self.gateway_queue.push_back((id, self.seq));
            }
        }
    }

    /// The gateway took transaction `id` in at `now`; its own work is done at `done`. A hang
    /// holding it there never answers: its client gives up at its deadline, and its server is
    /// free at `done`, the hang's end plus its work, with nothing sent on downstream.
    fn started(&mut self, now: u64, done: u64, hung: bool, id: u32) {
        let s = &mut self.slots[id as usize];
        s.holds_since = Some(now);
        if hung {
            let deadline = s.arrival.at_ns + self.client_timeout;
            self.schedule(deadline, id, Step::HungDeadline, Outcome3::TimedOut);
            self.schedule(done, id, Step::HangEnd, Outcome3::Ok);
        } else {
            self.schedule(done, id, Step::Gateway, Outcome3::Ok);
        }
    }

    /// A gateway server came free at `now`: the first transaction still waiting takes it.
    fn admit_waiting(&mut self, now: u64) {
        while let Some((id, seq)) = self.gateway_queue.pop_front() {
            if self.slots[id as usize].waiting != seq {
                continue; // its client gave up already
            }
            let s = &mut self.slots[id as usize];
            s.waiting = 0;
            let (since, index) = (s.arrival.at_ns, s.arrival.index);
            let entry = self.components[GATEWAY].start_waiting(
                now,
                since,
                index,
                self.seed,
                &mut self.noise,
            );
            match entry {
                Entry::Started { done, hung } => {
                    self.started(now, done, hung, id);
                    return;
                }
                Entry::Ended(call) => {
                    self.schedule(call.at, id, Step::Gateway, call.outcome.into());
                }
                Entry::Queued => unreachable!("a waiting call is taken in or ended"),
            }
        }
    }

    /// Processes the next event; a transaction that ends is passed to `done`.
    pub fn step(&mut self, done: &mut impl FnMut(Finished)) -> bool {
        self.step_through(u64::MAX, done).is_some()
    }

    /// Processes the next event if it is due at or before `last`: its instant, if there was one.
    #[inline]
    pub fn step_through(&mut self, last: u64, done: &mut impl FnMut(Finished)) -> Option<u64> {
        let e = self.events.pop_through(last)?;
        self.handle(e, done);
        Some(e.at)
    }

    fn handle(&mut self, e: Event, done: &mut impl FnMut(Finished)) {
        let now = e.at;
        let id = e.slot;
        match e.step {
            Step::Gateway => match e.outcome {
                Outcome3::Ok => self.call_features(now, id),
                // Lost on its way (packet loss): the client never hears back and gives up at
                // its timeout.
                Outcome3::TimedOut => self.finish(now, id, Outcome::Timeout, None, false, done),
                Outcome3::Failed | Outcome3::Throttled => {
                    self.finish(now, id, Outcome::Error, None, false, done)
                }
            },
            Step::GatewayDeadline => {
                if self.slots[id as usize].waiting == e.seq {
                    self.slots[id as usize].waiting = 0;
                    let since = self.slots[id as usize].arrival.at_ns;
                    self.components[GATEWAY].expire(now, since);
                    self.finish(now, id, Outcome::Timeout, None, false, done);
                }
            }
            Step::HungDeadline => {
                let s = self.slots[id as usize];
                done(s.ended(now, Outcome::Timeout, None, false));
                self.in_flight -= 1;
                self.slots[id as usize].answered = true;
                if s.holds_since.is_none() {
                    self.free.push(id);
                }
            }
            Step::HangEnd => {
                let s = &mut self.slots[id as usize];
                let since = s.holds_since.take();
                let answered = s.answered;
                if let Some(since) = since {
                    self.components[GATEWAY].leave(now, since);
                }
                if answered {
                    self.free.push(id);
                }
                self.admit_waiting(now);
            }
            Step::RetryFeatures => self.call_features(now, id),
            Step::Features => {
                let ok = e.outcome == Outcome3::Ok;
                let s = &mut self.slots[id as usize];
                // Throttled and timed-out calls are retried (as SDKs of managed stores do),
                // which adds load to a store that is already struggling.
                let retry = matches!(e.outcome, Outcome3::Throttled | Outcome3::TimedOut);
                if retry && s.fs_attempts < FS_ATTEMPTS {
                    let backoff = FS_BACKOFF_NS << (s.fs_attempts - 1);
                    let jitter = self.noise.uniform(0.5, 1.5);
                    let at = now + (backoff as f64 * jitter) as u64;
                    self.schedule(at, id, Step::RetryFeatures, Outcome3::Ok);
                } else {
                    // The breaker sees the call's final outcome, after its retries.
                    let permit = s.fs_permit;
                    s.features = ok;
                    self.breakers[FEATURE_STORE].record(now, permit, ok);
                    self.score(now, id);
                }
            }
            Step::Scorer => {
                let permit = self.slots[id as usize].scorer_permit;
                let ok = e.outcome == Outcome3::Ok;
                self.breakers[ML_SCORER].record(now, permit, ok);
                if ok {
                    let d =
                        scorer::scored_at(self.slots[id as usize].tx.logit, self.noise.normal());
                    self.slots[id as usize].scorer = Some(d);
                }
                self.join(now, id, done);
            }
            Step::Rules => {
                let permit = self.slots[id as usize].rules_permit;
                let ok = e.outcome == Outcome3::Ok;
                self.breakers[RULES_ENGINE].record(now, permit, ok);
                if ok {
                    let d = self.slots[id as usize].tx.rules;
                    self.slots[id as usize].rules = Some(d);
                }
                self.join(now, id, done);
            }
            Step::Decision => {
                let s = &self.slots[id as usize];
                if e.outcome == Outcome3::Ok {
                    // Decided without one of its inputs: no features, no score or no rules.
                    let degraded = s.scorer.is_none() || s.rules.is_none();
                    let decision = match (s.scorer, s.rules) {
                        (Some(d), rules) => scorer::overrule(d, rules),
                        (None, Some(d)) => d,
                        (None, None) => unreachable!("a decision call needs a score or a rule"),
                    };
                    self.finish(now, id, Outcome::Ok, Some(decision), degraded, done);
                } else {
                    self.finish(now, id, Outcome::Error, None, false, done);
                }
            }
        }
    }

    fn call_features(&mut self, now: u64, id: u32) {
        let index = self.slots[id as usize].arrival.index;
        // Retries go out under the first attempt's permit.
        let permit = if self.slots[id as usize].fs_attempts == 0 {
            self.breakers[FEATURE_STORE].permit(now)
        } else {
            self.slots[id as usize].fs_permit
        };
        let s = &mut self.slots[id as usize];
        s.fs_attempts += 1;
        s.fs_permit = permit;
        if permit == Permit::Denied {
            s.features = false;
            self.components[FEATURE_STORE].denied();
            self.score(now, id);
            return;
        }
        let call = self.components[FEATURE_STORE].call(now, index, self.seed, &mut self.noise);
        self.schedule(call.at, id, Step::Features, call.outcome.into());
    }

    /// Scorer (with features) and rules in parallel.
    fn score(&mut self, now: u64, id: u32) {
        let index = self.slots[id as usize].arrival.index;
        let mut pending = 0;
        if self.slots[id as usize].features {
            let permit = self.breakers[ML_SCORER].permit(now);
            self.slots[id as usize].scorer_permit = permit;
            if permit == Permit::Denied {
                self.components[ML_SCORER].denied();
            } else {
                let call = self.components[ML_SCORER].call(now, index, self.seed, &mut self.noise);
                self.schedule(call.at, id, Step::Scorer, call.outcome.into());
                pending += 1;
            }
        }
        let permit = self.breakers[RULES_ENGINE].permit(now);
        self.slots[id as usize].rules_permit = permit;
        if permit == Permit::Denied {
            self.components[RULES_ENGINE].denied();
        } else {
            let call = self.components[RULES_ENGINE].call(now, index, self.seed, &mut self.noise);
            self.schedule(call.at, id, Step::Rules, call.outcome.into());
            pending += 1;
        }
        self.slots[id as usize].pending = pending;
        if pending == 0 {
            // Nothing to decide with: the decision service answers with an error at once.
            self.schedule(now, id, Step::Decision, Outcome3::Failed);
        }
    }

    fn join(&mut self, now: u64, id: u32, done: &mut impl FnMut(Finished)) {
        let s = &mut self.slots[id as usize];
        s.pending -= 1;
        if s.pending > 0 {
            return;
        }
        if s.scorer.is_none() && s.rules.is_none() {
            self.finish(now, id, Outcome::Error, None, false, done);
            return;
        }
        let index = s.arrival.index;
        let call = self.components[DECISION].call(now, index, self.seed, &mut self.noise);
        self.schedule(call.at, id, Step::Decision, call.outcome.into());
    }

    fn finish(
        &mut self,
        now: u64,
        id: u32,
        outcome: Outcome,
        decision: Option<Decision>,
        degraded: bool,
        done: &mut impl FnMut(Finished),
    ) {
        let s = &self.slots[id as usize];
        let holds_since = s.holds_since;
        // The client gives up at its timeout, whatever happens behind it.
        let deadline = s.arrival.at_ns + self.client_timeout;
        let (outcome, at, decision, degraded) = if now > deadline {
            (Outcome::Timeout, deadline, None, false)
        } else {
            (outcome, now, decision, degraded)
        };
        done(s.ended(at, outcome, decision, degraded));
        self.free.push(id);
        self.in_flight -= 1;
        // The answer went back: the gateway's server it held is free for the next in line.
        if let Some(since) = holds_since {
            self.components[GATEWAY].leave(now, since);
            self.admit_waiting(now);
        }
    }

    /// Ends every transaction still in flight as cancelled (the run stopped at `now`).
    pub fn cancel_in_flight(&mut self, now: u64, done: &mut impl FnMut(Finished)) {
        let slots = &self.slots;
        let mut ids: Vec<u32> = self
            .events
            .drain()
            .into_iter()
            // A deadline of a transaction no longer waiting stands for nobody.
            .filter(|e| e.step != Step::GatewayDeadline || slots[e.slot as usize].waiting == e.seq)
            // A hung transaction whose client has had its timeout has no outcome to come.
            .filter(|e| e.step != Step::HangEnd || !slots[e.slot as usize].answered)
            .map(|e| e.slot)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            let s = self.slots[id as usize];
            done(s.ended(now.max(s.arrival.at_ns), Outcome::Cancelled, None, false));
            self.in_flight -= 1;
        }
    }

    /// Follows a reload: the failures of the run's new record (see `plan::splice`).
    pub fn set_failures(&mut self, failures: &[crate::plan::PlannedFailure]) {
        for c in &mut self.components {
            c.set_failures(failures);
        }
    }

    /// Copies the breakers' trip counts into the components' stats.
    pub fn settle(&mut self) {
        for (c, b) in self.components.iter_mut().zip(&self.breakers) {
            c.stats.breaker_trips = b.trips;
        }
    }
}
