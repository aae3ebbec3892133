//! One component of the model: `concurrency` servers behind a FIFO queue of at most `queue`
//! waiting calls, a lognormal service time and the caller's timeout, plus the failures
//! scheduled on it.
//!
//! Calls reach a component in virtual-time order (the simulation pops events by time), so a
//! FIFO multi-server queue needs no events of its own: a call starts at the later of its
//! arrival and the earliest time a server frees up, and its completion is known at once. The
//! busy servers are a min-heap of the times they free up; the waiting calls are the admitted
//! calls whose start is still in the future (a deque, since FIFO starts never decrease).

use std::cmp::Reverse;
use std::collections::VecDeque;

use dary_heap::QuaternaryHeap as BinaryHeap;

use crate::metrics::tally::Tally;

use super::noise::Noise;
use crate::plan::PlannedFailure;
use crate::scenario::model::Effect;
use crate::targets::{ComponentSecond, HEALTHY_FROM};

const SECOND: u64 = 1_000_000_000;

/// A component's sizing.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    pub concurrency: u32,
    pub queue: u32,
    pub median_ns: u64,
    pub p99_ns: u64,
    /// How long its caller waits for an answer.
    pub timeout_ns: u64,
    /// Calls per second it accepts before throttling (429); none for most components.
    pub capacity_per_s: Option<u64>,
    /// After a crash: service time multiplied by this at restart, falling linearly to 1.
    pub cold_factor: f64,
    /// How long the cold start lasts.
    pub cold_ns: u64,
}

/// How a call ended, as its caller sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    Ok,
    /// The component is down (crash): connection refused.
    Refused,
    /// The queue was full: load shed (503).
    Shed,
    /// Over the rate limit (429).
    Throttled,
    /// An error answer, or a reset when a crash interrupts the call.
    Failed,
    /// No answer within the caller's timeout.
    Timeout,
}

impl CallOutcome {
    pub fn is_ok(self) -> bool {
        self == CallOutcome::Ok
    }
}

/// When the caller learns the outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    pub at: u64,
    pub outcome: CallOutcome,
}

/// What one component did over the run.
#[derive(Clone, Debug)]
pub struct Stats {
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub timeouts: u64,
    /// Shed or throttled.
    pub rejected: u64,
    /// From call to answer, in µs (what the caller waited); read once, at the end.
    pub latency_us: Tally,
    pub peak_queue: u64,
    pub peak_concurrency: u64,
    /// Server time used, summed.
    pub busy_ns: u128,
    pub breaker_trips: u32,
    /// The second under way (see `take_second`).
    pub second: ComponentSecond,
    /// Seconds it was asked something in, and those of them it was healthy in.
    pub seconds_asked: u64,
    pub seconds_healthy: u64,
}

/// How the failures under way change one call.
struct Effects {
    slowdown: f64,
    delay: u64,
    limit: Option<u64>,
    hang_until: Option<u64>,
}

/// A failure occurrence that applies to this component.
#[derive(Clone, Debug)]
struct Fault {
    start: u64,
    end: u64,
    failure: PlannedFailure,
}

#[derive(Clone, Debug)]
pub struct Component {
    pub name: &'static str,
    pub spec: Spec,
    busy: BinaryHeap<Reverse<u64>>,
    /// The top of `busy` is a server that has freed and is counted in `idle` already: left
    /// there by `admit` for `serve` to replace with the server's next job (one sift where a
    /// pop and a push take two), or for the next `admit` to remove. Never counted as busy.
    freed_top: bool,
    idle: u32,
    waiting: VecDeque<u64>,
    faults: Vec<Fault>,
    /// Ends of crashes, for cold starts.
    restarts: Vec<u64>,
    second: u64,
    calls_this_second: u64,
    /// The service time's lognormal sigma, computed once.
    sigma: f64,
    /// As the front (see `enter`): servers held, and calls waiting for one.
    held: u32,
    queued: u32,
    pub stats: Stats,
}

/// What a call to the front finds (see `Component::enter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// It holds a server; its own work is done at `done`. A `hung` call holds it until a
    /// hang ends and never answers (its caller times out; see `Simulation::started`).
    Started { done: u64, hung: bool },
    /// Every server is held: it waits in the queue.
    Queued,
    /// Ended at once (refused, failed, throttled, shed): the caller learns it then.
    Ended(Call),
}

impl Component {
    pub fn new(name: &'static str, spec: Spec, failures: &[PlannedFailure]) -> Self {
        let mut c = Component {
            name,
            idle: spec.concurrency,
            busy: BinaryHeap::with_capacity(spec.concurrency.min(65_536) as usize),
            freed_top: false,
            waiting: VecDeque::new(),
            faults: Vec::new(),
            restarts: Vec::new(),
            second: 0,
            calls_this_second: 0,
            sigma: crate::rng::lognormal_sigma(spec.median_ns as f64, spec.p99_ns as f64),
            held: 0,
            queued: 0,
            stats: Stats {
                requests: 0,
                ok: 0,
                errors: 0,
                timeouts: 0,
                rejected: 0,
                latency_us: Tally::new(3_600_000_000),
                peak_queue: 0,
                peak_concurrency: 0,
                busy_ns: 0,
                breaker_trips: 0,
                second: ComponentSecond::default(),
                seconds_asked: 0,
                seconds_healthy: 0,
            },
            spec,
        };
        c.set_failures(failures);
        c
    }

    /// The failures scheduled on this component, from the plan's list (all components'). A
    /// reload calls it again: calls already decided keep their outcome, later calls follow the
    /// new list.
    pub fn set_failures(&mut self, failures: &[PlannedFailure]) {
        self.faults = failures
            .iter()
            .filter(|f| f.component == self.name)
            .map(|f| Fault {
                start: f.start_ns,
                end: f.end_ns,
                failure: f.clone(),
            })
            .collect();
        self.restarts = self
            .faults
            .iter()
            .filter(|f| matches!(f.failure.effect, Effect::Crash))
            .map(|f| f.end)
            .collect();
    }

    /// (calls waiting, calls being served) at `now`. Servers and the queue are freed lazily,
    /// so entries already over are left out.
    pub fn load(&self, now: u64) -> (u64, u64) {
        let queue = self.waiting.iter().filter(|&&s| s > now).count();
        let busy = self.busy.iter().filter(|Reverse(free)| *free > now).count();
        (queue as u64, busy as u64)
    }

    /// A call at `now` for transaction `index`. `now` never decreases between calls.
    pub fn call(&mut self, now: u64, index: u64, seed: u64, noise: &mut Noise) -> Call {
        let (call, wait) = self.decide(now, index, seed, noise);
        self.account(now, call, wait);
        call
    }

    /// The call's outcome, and how long it waited in the queue for a server.
    fn decide(&mut self, now: u64, index: u64, seed: u64, noise: &mut Noise) -> (Call, u64) {
        let effects = match self.faults_at(now, index, seed, noise) {
            Ok(e) => e,
            Err(call) => return (call, 0),
        };
        if let Some(refused) = self.gate(now, &effects) {
            return (refused, 0);
        }
        let (start, done) = self.serve(now, &effects, noise);
        if effects.hang_until.is_some() {
            // Hung: it holds its server until the hang ends and never answers.
            let timeout = Call {
                at: now + self.spec.timeout_ns,
                outcome: CallOutcome::Timeout,
            };
            return (timeout, start - now);
        }
        (self.answer(now, done + effects.delay), start - now)
    }

    /// Throttles or sheds a call the failures under way did not end: the refusal, if any.
    #[inline]
    fn gate(&mut self, now: u64, effects: &Effects) -> Option<Call> {
        if let Some(limit) = effects.limit
            && self.over_limit(now, limit)
        {
            return Some(Call {
                at: now,
                outcome: CallOutcome::Throttled,
            });
        }
        if !self.admit(now) {
            return Some(Call {
                at: now,
                outcome: CallOutcome::Shed,
            });
        }
        None
    }

    /// What the failures under way do to this call: some end it at once (the `Err`), the
    /// others change how it is served.
    #[inline]
    fn faults_at(
        &self,
        now: u64,
        index: u64,
        seed: u64,
        noise: &mut Noise,
    ) -> Result<Effects, Call> {
        let timeout = self.spec.timeout_ns;
        let mut e = Effects {
            slowdown: 1.0,
            delay: 0,
            limit: self.spec.capacity_per_s,
            hang_until: None,
        };
        for f in &self.faults {
            if now < f.start || now >= f.end {
                continue;
            }
            let hits = f.failure.hits(seed, index);
            let at_once = |at, outcome| Err(Call { at, outcome });
            match f.failure.effect {
                Effect::Crash if hits => return at_once(now, CallOutcome::Refused),
                Effect::Errors { .. } if hits => return at_once(now, CallOutcome::Failed),
                Effect::PacketLoss if hits => return at_once(now + timeout, CallOutcome::Timeout),
                Effect::Hang if hits => {
                    e.hang_until = Some(e.hang_until.map_or(f.end, |h| h.max(f.end)))
                }
                Effect::Throttle { limit: l } if hits => {
                    e.limit = Some(e.limit.map_or(l, |c| c.min(l)))
                }
                Effect::Slowdown { factor } if hits => e.slowdown *= factor,
                Effect::Latency { delay: d, jitter } if hits => {
                    let spread = jitter.as_nanos() as f64;
                    let extra = d.as_nanos() as f64 + noise.uniform(-spread, spread);
                    e.delay += extra.max(0.0) as u64;
                }
                _ => {}
            }
        }
        Ok(e)
    }

    /// A call to the component as the *front* of the service: unlike `call`, a server taken
    /// is held until the whole answer goes back (`leave`), as a gateway's worker or
    /// connection is, so a slow dependency downstream keeps the front's servers busy. A call
    /// that finds them all held waits in the queue (`start_waiting` takes it in, `expire`
    /// when its client gives up first); when the queue is full it is shed.
    pub fn enter(&mut self, now: u64, index: u64, seed: u64, noise: &mut Noise) -> Entry {
        let effects = match self.faults_at(now, index, seed, noise) {
            Ok(e) => e,
            Err(call) => {
                self.account_front(now, call, 0);
                return Entry::Ended(call);
            }
        };
        if let Some(limit) = effects.limit
            && self.over_limit(now, limit)
        {
            let call = Call {
                at: now,
                outcome: CallOutcome::Throttled,
            };
            self.account_front(now, call, 0);
            return Entry::Ended(call);
        }
        if self.held < self.spec.concurrency {
            let done = self.work(now, &effects, noise);
            let call = Call {
                at: done,
                outcome: CallOutcome::Ok,
            };
            self.account_front(now, call, 0);
            self.held += 1;
            self.peaks();
            let hung = effects.hang_until.is_some();
            return Entry::Started { done, hung };
        }
        if self.queued < self.spec.queue {
            self.queued += 1;
            self.peaks();
            return Entry::Queued;
        }
        let call = Call {
            at: now,
            outcome: CallOutcome::Shed,
        };
        self.account_front(now, call, 0);
        Entry::Ended(call)
    }

    /// A server came free at `now` and takes in a call that has waited since `since`; the
    /// failures under way at `now` apply to it.
    pub fn start_waiting(
        &mut self,
        now: u64,
        since: u64,
        index: u64,
        seed: u64,
        noise: &mut Noise,
    ) -> Entry {
        self.queued -= 1;
        let effects = match self.faults_at(now, index, seed, noise) {
            Ok(e) => e,
            Err(call) => {
                self.account_front(now, call, 0);
                return Entry::Ended(call);
            }
        };
        let done = self.work(now, &effects, noise);
        let call = Call {
            at: done,
            outcome: CallOutcome::Ok,
        };
        self.account_front(since, call, now - since);
        self.held += 1;
        self.peaks();
        let hung = effects.hang_until.is_some();
        Entry::Started { done, hung }
    }

    /// A call waiting since `since` is given up by its client at `now`.
    pub fn expire(&mut self, now: u64, since: u64) {
        self.queued -= 1;
        let call = Call {
            at: now,
            outcome: CallOutcome::Timeout,
        };
        self.account_front(since, call, now - since);
    }

    /// The front's server held since `since` is free again: the answer went back at `now`.
    pub fn leave(&mut self, now: u64, since: u64) {
        self.held -= 1;
        self.stats.busy_ns += u128::from(now.saturating_sub(since));
    }

    /// (calls waiting, servers held) of the front.
    pub fn front_load(&self) -> (u64, u64) {
        (u64::from(self.queued), u64::from(self.held))
    }

    /// The front's own work on a call it took in at `now`: when it is done.
    fn work(&mut self, now: u64, e: &Effects, noise: &mut Noise) -> u64 {
        let service = self.service_time(now, e, noise);
        let start = e.hang_until.map_or(now, |h| h.max(now));
        start + service + e.delay
    }

    fn peaks(&mut self) {
        let s = &mut self.stats;
        s.peak_queue = s.peak_queue.max(u64::from(self.queued));
        s.peak_concurrency = s.peak_concurrency.max(u64::from(self.held));
        s.second.queue = s.second.queue.max(self.queued);
        s.second.in_flight = s.second.in_flight.max(self.held);
    }

    /// Accounts a front call that arrived at `since` (its busy servers are the held ones).
    fn account_front(&mut self, since: u64, call: Call, wait: u64) {
        self.idle = self.spec.concurrency - self.held;
        self.account(since, call, wait);
    }

    /// Counts the call against the per-second `limit`; whether it is over.
    #[inline]
    fn over_limit(&mut self, now: u64, limit: u64) -> bool {
        let second = now / SECOND;
        if second != self.second {
            self.second = second;
            self.calls_this_second = 0;
        }
        self.calls_this_second += 1;
        self.calls_this_second > limit
    }

    /// Frees the servers and the queue up to `now`; whether the call finds a server or a
    /// place in the queue.
    #[inline]
    fn admit(&mut self, now: u64) -> bool {
        while let Some(&Reverse(free)) = self.busy.peek() {
            if free > now {
                break;
            }
            if !std::mem::take(&mut self.freed_top) {
                self.idle += 1;
                // The next to free is the earliest of the top's children (slots 1 to 4 of
                // a 4-ary heap). If it is still busy, this one stays at the top for `serve`.
                let next = self.busy.as_slice().get(1..).map(|c| &c[..c.len().min(4)]);
                if next
                    .and_then(|c| c.iter().max())
                    .is_none_or(|&Reverse(f)| f > now)
                {
                    self.freed_top = true;
                    break;
                }
            }
            // Counted: removed, to look at the next.
            self.busy.pop();
        }
        while self.waiting.front().is_some_and(|&s| s <= now) {
            self.waiting.pop_front();
        }
        self.idle > 0 || (self.waiting.len() as u64) < self.spec.queue as u64
    }

    /// Takes a server (now, or when the first one frees) and does the work; when it starts
    /// and when it is done.
    #[inline]
    fn serve(&mut self, now: u64, e: &Effects, noise: &mut Noise) -> (u64, u64) {
        let service = self.service_time(now, e, noise);
        // The server this job takes: an idle one, in the place of the freed server `admit`
        // left at the top if it did; or else the busy one that frees first, in its place.
        let freed = std::mem::take(&mut self.freed_top);
        let (start, replace) = if self.idle > 0 {
            self.idle -= 1;
            (now, freed)
        } else {
            if freed {
                // Not reached: a freed server is counted idle. Kept consistent all the same.
                self.busy.pop();
            }
            let first = self.busy.peek().map(|&Reverse(free)| free.max(now));
            (first.unwrap_or(now), first.is_some())
        };
        // A hung call holds its server until the hang ends, then does its work.
        let start_work = e.hang_until.map_or(start, |h| h.max(start));
        let done = start_work + service;
        if let Some(mut top) = self.busy.peek_mut().filter(|_| replace) {
            *top = Reverse(done);
        } else {
            self.busy.push(Reverse(done));
        }
        if start > now {
            self.waiting.push_back(start);
        }
        self.stats.busy_ns += (done - start) as u128;
        let queue = self.waiting.len() as u64;
        self.stats.peak_queue = self.stats.peak_queue.max(queue);
        let concurrency = self.spec.concurrency as u64 - self.idle as u64;
        self.stats.peak_concurrency = self.stats.peak_concurrency.max(concurrency);
        let sec = &mut self.stats.second;
        sec.queue = sec.queue.max(queue as u32);
        sec.in_flight = sec.in_flight.max(concurrency as u32);
        (start, done)
    }

    /// The caller learns the outcome of a call made at `now` and answered at `answer`: reset
    /// by a crash that starts meanwhile, timed out, or answered.
    #[inline]
    fn answer(&self, now: u64, answer: u64) -> Call {
        let timeout = self.spec.timeout_ns;
        if let Some(crash) = self
            .faults
            .iter()
            .filter(|f| {
                matches!(f.failure.effect, Effect::Crash) && f.start > now && f.start <= answer
            })
            .map(|f| f.start)
            .min()
            && crash - now <= timeout
        {
            return Call {
                at: crash,
                outcome: CallOutcome::Failed,
            };
        }
        if answer - now > timeout {
            Call {
                at: now + timeout,
                outcome: CallOutcome::Timeout,
            }
        } else {
            Call {
                at: answer,
                outcome: CallOutcome::Ok,
            }
        }
    }

    /// A call's service time in whole nanoseconds: its lognormal draw, times the slowdown
    /// and the cold start's factor, at least 1.
    #[inline]
    fn service_time(&self, now: u64, e: &Effects, noise: &mut Noise) -> u64 {
        let (slowdown, cold) = (e.slowdown, self.cold_factor(now));
        noise.through_lognormal(self.spec.median_ns as f64, self.sigma, |base| {
            (base * slowdown * cold).max(1.0) as u64
        })
    }

    /// Service-time multiplier for a cold start after the most recent crash before `now`.
    fn cold_factor(&self, now: u64) -> f64 {
        let Some(&restart) = self.restarts.iter().filter(|&&r| r <= now).max() else {
            return 1.0;
        };
        let since = now - restart;
        if since >= self.spec.cold_ns || self.spec.cold_ns == 0 {
            return 1.0;
        }
        let remaining = 1.0 - since as f64 / self.spec.cold_ns as f64;
        1.0 + (self.spec.cold_factor - 1.0) * remaining
    }

    fn account(&mut self, now: u64, call: Call, wait: u64) {
        let busy = u64::from(self.spec.concurrency - self.idle);
        let slow_after = self.spec.p99_ns;
        let s = &mut self.stats;
        s.requests += 1;
        s.latency_us.record(((call.at - now) / 1_000).max(1));
        let sec = &mut s.second;
        sec.calls += 1;
        sec.busy_seen += busy;
        match call.outcome {
            CallOutcome::Ok => {
                s.ok += 1;
                sec.ok += 1;
                sec.slow += u32::from(wait > slow_after);
            }
            CallOutcome::Refused | CallOutcome::Failed => {
                s.errors += 1;
                sec.errors += 1;
            }
            CallOutcome::Shed | CallOutcome::Throttled => {
                s.rejected += 1;
                sec.rejected += 1;
            }
            CallOutcome::Timeout => {
                s.timeouts += 1;
                sec.timeouts += 1;
            }
        }
    }

    /// Ends the second under way: what the component did in it. `breaker` is the state of
    /// the breaker in front of it (see `ComponentSecond::breaker`).
    pub fn take_second(&mut self, breaker: u8) -> ComponentSecond {
        let mut sec = std::mem::take(&mut self.stats.second);
        sec.breaker = breaker;
        if sec.calls + sec.denied > 0 {
            self.stats.seconds_asked += 1;
            self.stats.seconds_healthy += u64::from(sec.health() >= HEALTHY_FROM);
        }
        sec
    }

    /// A call its breaker refused on its behalf.
    pub fn denied(&mut self) {
        self.stats.second.denied += 1;
    }

    /// Server time used over server time available during `duration_ns`.
    pub fn utilisation(&self, duration_ns: u64) -> f64 {
        if duration_ns == 0 {
            return 0.0;
        }
        self.stats.busy_ns as f64 / (self.spec.concurrency as f64 * duration_ns as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{self, Purpose};

    fn spec(concurrency: u32, queue: u32) -> Spec {
        Spec {
            concurrency,
            queue,
            median_ns: 10_000_000,
            p99_ns: 10_000_000,
            timeout_ns: 1_000_000_000,
            capacity_per_s: None,
            cold_factor: 1.0,
            cold_ns: 0,
        }
    }

    #[test]
    fn fifo_servers_queue_then_shed() {
        let mut c = Component::new("gateway", spec(2, 1), &[]);
        let mut noise = Noise::local(1);
        // Two start at once, the third waits for the first free server, the fourth is shed.
        let calls: Vec<Call> = (0..4).map(|i| c.call(0, i, 1, &mut noise)).collect();
        assert_eq!(
            calls[0],
            Call {
                at: 10_000_000,
                outcome: CallOutcome::Ok
            }
        );
        assert_eq!(
            calls[1],
            Call {
                at: 10_000_000,
                outcome: CallOutcome::Ok
            }
        );
        assert_eq!(
            calls[2],
            Call {
                at: 20_000_000,
                outcome: CallOutcome::Ok
            }
        );
        assert_eq!(calls[3].outcome, CallOutcome::Shed);
        assert_eq!(c.stats.peak_queue, 1);
        assert_eq!(c.stats.rejected, 1);
        // Once the servers free up, calls start at once again.
        assert_eq!(
            c.call(30_000_000, 9, 1, &mut noise),
            Call {
                at: 40_000_000,
                outcome: CallOutcome::Ok
            }
        );
    }

    #[test]
    fn a_slow_answer_is_a_timeout_at_the_callers_deadline() {
        let mut s = spec(1, 10);
        s.timeout_ns = 15_000_000;
        let mut c = Component::new("gateway", s, &[]);
        let mut noise = Noise::local(1);
        assert_eq!(c.call(0, 0, 1, &mut noise).outcome, CallOutcome::Ok);
        // Waits 10 ms for the server, then 10 ms of work: 20 ms > 15 ms.
        assert_eq!(
            c.call(0, 1, 1, &mut noise),
            Call {
                at: 15_000_000,
                outcome: CallOutcome::Timeout
            }
        );
    }

    /// Little's law, L = λW, checks the queue's bookkeeping: the time-average number of calls
    /// in the component (sampled) equals the arrival rate times the mean time in it.
    #[test]
    fn littles_law_holds_under_load() {
        let mut s = spec(8, 10_000);
        s.median_ns = 20_000_000;
        s.p99_ns = 60_000_000;
        s.timeout_ns = 60 * SECOND;
        let mut c = Component::new("ml-scorer", s, &[]);
        let mut noise = Noise::local(3);
        let mut gaps = rng::stream(3, Purpose::Arrivals, 0);
        let rate = 300.0; // 8 servers at ~23 ms mean: about 85% busy
        let mut t = 0u64;
        let mut intervals = Vec::new();
        for i in 0..30_000 {
            t += (gaps.exponential() / rate * 1e9) as u64;
            let call = c.call(t, i, 3, &mut noise);
            assert_eq!(call.outcome, CallOutcome::Ok);
            intervals.push((t, call.at));
        }
        let end = t;
        let w = intervals.iter().map(|(a, d)| (d - a) as f64).sum::<f64>()
            / intervals.len() as f64
            / 1e9;
        let lambda = intervals.len() as f64 / (end as f64 / 1e9);
        // Sample L every 10 ms over the middle of the run.
        let samples: Vec<f64> = (10..(end / 10_000_000) - 10)
            .map(|k| {
                let at = k * 10_000_000;
                intervals
                    .iter()
                    .filter(|(a, d)| *a <= at && at < *d)
                    .count() as f64
            })
            .collect();
        let l = samples.iter().sum::<f64>() / samples.len() as f64;
        assert!(
            ((l - lambda * w) / (lambda * w)).abs() < 0.05,
            "L {l} vs λW {}",
            lambda * w
        );
        assert!(c.stats.peak_queue > 0, "the load was high enough to queue");
    }

    #[test]
    fn capacity_throttles_past_the_limit_each_second() {
        let mut s = spec(100, 100);
        s.capacity_per_s = Some(3);
        let mut c = Component::new("feature-store", s, &[]);
        let mut noise = Noise::local(1);
        let outcomes: Vec<CallOutcome> = (0..5)
            .map(|i| c.call(i, i, 1, &mut noise).outcome)
            .collect();
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| **o == CallOutcome::Throttled)
                .count(),
            2
        );
        assert_eq!(c.call(SECOND, 9, 1, &mut noise).outcome, CallOutcome::Ok);
    }
}
