//! The outcome counters every scope shares: the run, a phase, a failure window, a second.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::targets::Outcome;

/// Planned transactions and how they ended. `planned` is counted from the plan, never from
/// the outcomes, so `lost` (planned minus every outcome) can show a transaction that went
/// missing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    /// Arrivals the plan holds in the scope.
    pub planned: u64,
    pub ok: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub dropped: u64,
    pub cancelled: u64,
}

impl Counts {
    /// Counts one outcome (`planned` is the plan's business).
    pub fn record(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Error => self.errors += 1,
            Outcome::Timeout => self.timeouts += 1,
            Outcome::Dropped => self.dropped += 1,
            Outcome::Cancelled => self.cancelled += 1,
        }
    }

    /// Every accounted outcome.
    pub fn outcomes(&self) -> u64 {
        self.ok + self.errors + self.timeouts + self.dropped + self.cancelled
    }

    /// Sent and answered one way or another: ok, error or timeout.
    pub fn answered(&self) -> u64 {
        self.ok + self.errors + self.timeouts
    }

    /// Planned minus every accounted outcome: 0 unless something was lost.
    pub fn lost(&self) -> u64 {
        self.planned.saturating_sub(self.outcomes())
    }

    /// The transactions that were due: planned minus cancelled. While a run goes on, seconds
    /// still open have outcomes but no planned count yet, so it is never below the outcomes
    /// that were due.
    pub fn due(&self) -> u64 {
        self.planned
            .max(self.outcomes())
            .saturating_sub(self.cancelled)
    }

    /// Errors and timeouts over the transactions due: what availability and recovery read.
    pub fn failure_rate(&self) -> f64 {
        match self.due() {
            0 => 0.0,
            due => (self.errors + self.timeouts) as f64 / due as f64,
        }
    }

    pub fn add(&mut self, o: &Counts) {
        self.planned += o.planned;
        self.ok += o.ok;
        self.errors += o.errors;
        self.timeouts += o.timeouts;
        self.dropped += o.dropped;
        self.cancelled += o.cancelled;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_is_planned_minus_outcomes_and_due_leaves_out_the_cancelled() {
        let mut c = Counts {
            planned: 10,
            ..Counts::default()
        };
        for o in [Outcome::Ok, Outcome::Ok, Outcome::Error, Outcome::Cancelled] {
            c.record(o);
        }
        assert_eq!((c.outcomes(), c.lost(), c.due()), (4, 6, 9));
        assert!((c.failure_rate() - 1.0 / 9.0).abs() < 1e-12);
    }
}
