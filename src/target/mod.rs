//! The systems a plan is driven against. `simulated` is the built-in fraud-pipeline model, run
//! in virtual time. Both kinds of target report each transaction's end as a `Finished` record;
//! the engine hands those to metrics and never looks inside a target.

pub mod http;
pub mod simulated;

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
}

/// The end of one transaction, as the target saw it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Finished {
    pub index: u64,
    pub phase: usize,
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
