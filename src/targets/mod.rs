//! The systems a plan is driven against. `simulated` is the built-in fraud-pipeline model, run
//! in virtual time. Both kinds of target report each transaction's end as a `Finished` record;
//! the engine hands those to metrics and never looks inside a target.

pub mod http;
mod plan_clock;
pub mod simulated;

pub use plan_clock::PlanClock;

/// How one planned transaction ended. Every arrival ends in exactly one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Answered with a decision.
    Ok,
    /// Answered with an error (refused, shed, throttled, failed).
    Error,
    /// Not answered within the client's timeout.
    Timeout,
    /// Never sent: the in-flight limit was hit.
    Dropped,
    /// Never finished: the run stopped first.
    Cancelled,
}

/// The fraud decision on a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approve,
    Review,
    Block,
    /// An http answer in which the scenario's `decision` pointer found no decision (not JSON,
    /// or nothing there): counted, and left out of the fraud figures.
    Unread,
}

/// The end of one transaction, as the target saw it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Finished {
    pub index: u64,
    pub phase: usize,
    /// The request of the target's mix it sent (0 without a mix).
    pub request: u16,
    /// When it was planned to start (ns from the run's start).
    pub planned_ns: u64,
    /// When it was actually sent.
    pub sent_ns: u64,
    /// When its outcome was known.
    pub done_ns: u64,
    pub outcome: Outcome,
    /// The decision was made without the ML score (or without features).
    pub degraded: bool,
    pub decision: Option<Decision>,
    pub fraud: bool,
    pub amount_usd_cents: u64,
}

impl Finished {
    /// The end of a transaction that was never sent (dropped or cancelled) at `at_ns`.
    pub fn unsent(arrival: &crate::plan::Arrival, outcome: Outcome, at_ns: u64) -> Finished {
        Finished {
            index: arrival.index,
            phase: arrival.phase,
            request: arrival.request,
            planned_ns: arrival.at_ns,
            sent_ns: arrival.at_ns,
            done_ns: at_ns.max(arrival.at_ns),
            outcome,
            degraded: false,
            decision: None,
            fraud: false,
            amount_usd_cents: 0,
        }
    }
}

/// Why a transaction against a real service failed, by kind (results.json `errors_by_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The connection was refused.
    Refused,
    /// The connection broke: reset or closed before a full answer.
    Reset,
    /// The answer was not valid HTTP.
    BadResponse,
    /// The answer was bigger than the largest body read.
    TooLarge,
    /// The service answered 3xx (redirects are not followed).
    Status3xx,
    /// The service answered 4xx.
    Status4xx,
    /// The service answered 5xx.
    Status5xx,
    /// The service answered a status outside 200-599.
    StatusOther,
    /// The request body template failed for this transaction.
    Template,
    /// The TLS handshake failed (protocol, version, ALPN, a refused client certificate).
    TlsHandshake,
    /// The service's certificate was not trusted (unknown issuer, wrong name, expired).
    TlsCertificate,
    /// The answer failed the scenario's `expect` (the reason is in `check_failures`).
    Check,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 12] = [
        ErrorKind::Refused,
        ErrorKind::Reset,
        ErrorKind::BadResponse,
        ErrorKind::TooLarge,
        ErrorKind::Status3xx,
        ErrorKind::Status4xx,
        ErrorKind::Status5xx,
        ErrorKind::StatusOther,
        ErrorKind::Template,
        ErrorKind::TlsHandshake,
        ErrorKind::TlsCertificate,
        ErrorKind::Check,
    ];

    /// The name results.json uses.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Refused => "refused",
            ErrorKind::Reset => "reset",
            ErrorKind::BadResponse => "bad-response",
            ErrorKind::TooLarge => "too-large",
            ErrorKind::Status3xx => "status-3xx",
            ErrorKind::Status4xx => "status-4xx",
            ErrorKind::Status5xx => "status-5xx",
            ErrorKind::StatusOther => "status-other",
            ErrorKind::Template => "template",
            ErrorKind::TlsHandshake => "tls-handshake",
            ErrorKind::TlsCertificate => "tls-certificate",
            ErrorKind::Check => "check",
        }
    }

    /// The kind of that name.
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Answers that failed their `expect`, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckCounts([u64; http::CheckFailure::ALL.len()]);

impl CheckCounts {
    pub fn add(&mut self, why: http::CheckFailure) {
        self.0[why as usize] += 1;
    }

    /// Adds `n` failures of the reason named `name`; false when no reason has that name.
    pub fn add_named(&mut self, name: &str, n: u64) -> bool {
        match http::CheckFailure::ALL.iter().find(|k| k.name() == name) {
            Some(&k) => {
                self.0[k as usize] += n;
                true
            }
            None => false,
        }
    }

    /// The reasons seen at least once, with their counts.
    pub fn seen(&self) -> impl Iterator<Item = (http::CheckFailure, u64)> + '_ {
        http::CheckFailure::ALL
            .iter()
            .map(|&k| (k, self.0[k as usize]))
            .filter(|&(_, n)| n > 0)
    }
}

/// Errors counted by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErrorCounts([u64; ErrorKind::ALL.len()]);

impl ErrorCounts {
    pub fn add(&mut self, kind: ErrorKind) {
        self.0[kind as usize] += 1;
    }

    /// Adds `n` errors of the kind named `name`; false when no kind has that name.
    pub fn add_named(&mut self, name: &str, n: u64) -> bool {
        match ErrorKind::from_name(name) {
            Some(k) => {
                self.0[k as usize] += n;
                true
            }
            None => false,
        }
    }

    /// The kinds seen at least once, with their counts.
    pub fn seen(&self) -> impl Iterator<Item = (ErrorKind, u64)> + '_ {
        ErrorKind::ALL
            .iter()
            .map(|&k| (k, self.0[k as usize]))
            .filter(|&(_, n)| n > 0)
    }
}

/// What one component of the simulated model did over the run, as plain figures.
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentFigures {
    pub name: &'static str,
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub timeouts: u64,
    /// Shed (queue full) or throttled.
    pub rejected: u64,
    /// What its callers waited, queue included: p50, p95, p99 in ms (None when never called).
    pub latency_ms: [Option<f64>; 3],
    pub peak_queue: u64,
    pub peak_concurrency: u64,
    pub concurrency: u32,
    /// Server time used over server time available.
    pub utilisation: f64,
    pub breaker_trips: u32,
    /// Share of the seconds it was called in where under 1% of its calls failed.
    pub health: f64,
}

/// Health below this is unhealthy: what `components.unhealthy` counts and what a cascade
/// looks for.
pub const HEALTHY_FROM: f64 = 0.9;

/// What one component of the simulated model did in one second of the run (by the time each
/// call was made, unlike the transactions' timeline, which goes by planned start).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ComponentSecond {
    /// Calls that reached it.
    pub calls: u32,
    pub ok: u32,
    /// Errors: refused, failed, reset.
    pub errors: u32,
    pub timeouts: u32,
    /// Shed (queue full) or throttled.
    pub rejected: u32,
    /// Calls its circuit breaker refused on its behalf (it was open).
    pub denied: u32,
    /// Successful calls that waited in its queue longer than its p99 service time first.
    pub slow: u32,
    /// The most calls waiting in its queue at any call of the second.
    pub queue: u32,
    /// The most calls being served at any call of the second.
    pub in_flight: u32,
    /// Servers busy as each call arrived, summed: over `calls` and `concurrency`, the
    /// second's utilisation (arrivals see time averages).
    pub busy_seen: u64,
    /// Its breaker at the end of the second (0 closed, 1 half-open, 2 open), or 2 when it
    /// opened during the second.
    pub breaker: u8,
}

impl ComponentSecond {
    /// The share of what was asked of it that it served well: calls answered ok and not held
    /// up in its queue, over the calls made and those its breaker refused. 1 when nothing was
    /// asked of it.
    pub fn health(&self) -> f64 {
        let asked = self.calls + self.denied;
        if asked == 0 {
            return 1.0;
        }
        f64::from(self.ok.saturating_sub(self.slow)) / f64::from(asked)
    }

    /// Errors and timeouts over the calls made.
    pub fn error_rate(&self) -> f64 {
        if self.calls == 0 {
            return 0.0;
        }
        f64::from(self.errors + self.timeouts) / f64::from(self.calls)
    }

    /// Mean share of its servers busy over the second, as its calls found them.
    pub fn utilisation(&self, concurrency: u32) -> f64 {
        if self.calls == 0 || concurrency == 0 {
            return 0.0;
        }
        (self.busy_seen as f64 / f64::from(self.calls) / f64::from(concurrency)).min(1.0)
    }

    /// The breaker's name: `closed`, `half-open` or `open`.
    pub fn breaker_name(&self) -> &'static str {
        ["closed", "half-open", "open"][usize::from(self.breaker.min(2))]
    }

    /// Adds another second's calls (folding the tail of a run into its last second, or the
    /// seconds of a coarse timeline entry together; the counts saturate rather than wrap).
    pub fn add(&mut self, o: &ComponentSecond) {
        self.calls = self.calls.saturating_add(o.calls);
        self.ok = self.ok.saturating_add(o.ok);
        self.errors = self.errors.saturating_add(o.errors);
        self.timeouts = self.timeouts.saturating_add(o.timeouts);
        self.rejected = self.rejected.saturating_add(o.rejected);
        self.denied = self.denied.saturating_add(o.denied);
        self.slow = self.slow.saturating_add(o.slow);
        self.queue = self.queue.max(o.queue);
        self.in_flight = self.in_flight.max(o.in_flight);
        self.busy_seen = self.busy_seen.saturating_add(o.busy_seen);
        self.breaker = self.breaker.max(o.breaker);
    }
}

/// One component of the simulated model as it stands during a run: what a live view shows.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ComponentState {
    pub name: &'static str,
    /// Share of its calls that succeeded in the last whole second it was called in (1 when
    /// never called).
    pub health: f64,
    /// Calls waiting for a free server now.
    pub queue: u64,
    /// Calls being served now, out of `concurrency`.
    pub busy: u64,
    pub concurrency: u32,
    /// The circuit breaker in front of it: `closed`, `open` or `half-open`.
    pub breaker: &'static str,
}

/// What a target reports about itself once the run is over, beside the transactions.
#[derive(Clone, Debug, PartialEq)]
pub enum TargetReport {
    /// The built-in model: each component's figures.
    Simulated { components: Vec<ComponentFigures> },
    /// A real service: its errors by kind, and why answers failed their `expect`.
    Http {
        errors: ErrorCounts,
        checks: CheckCounts,
    },
}
