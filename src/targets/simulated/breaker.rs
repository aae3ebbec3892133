//! A circuit breaker: after `THRESHOLD` consecutive failures it opens and calls fail fast; after
//! `OPEN_FOR` it lets one probe through (half-open); the probe's success closes it, its failure
//! opens it again.

/// Consecutive failures that open the breaker.
pub const THRESHOLD: u32 = 5;
/// How long it stays open before probing.
pub const OPEN_FOR_NS: u64 = 5_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Closed { failures: u32 },
    Open { until: u64 },
    HalfOpen { probing: bool },
}

/// Whether a call may go through, and whether it is the half-open probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permit {
    Call,
    Probe,
    Denied,
}

#[derive(Clone, Debug)]
pub struct Breaker {
    pub state: State,
    pub trips: u32,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker {
            state: State::Closed { failures: 0 },
            trips: 0,
        }
    }
}

impl Breaker {
    /// `closed`, `open` or `half-open`.
    pub fn state_name(&self) -> &'static str {
        match self.state {
            State::Closed { .. } => "closed",
            State::Open { .. } => "open",
            State::HalfOpen { .. } => "half-open",
        }
    }

    pub fn permit(&mut self, now: u64) -> Permit {
        match self.state {
            State::Closed { .. } => Permit::Call,
            State::Open { until } if now >= until => {
                self.state = State::HalfOpen { probing: true };
                Permit::Probe
            }
            State::Open { .. } => Permit::Denied,
            State::HalfOpen { probing: true } => Permit::Denied,
            State::HalfOpen { probing: false } => {
                self.state = State::HalfOpen { probing: true };
                Permit::Probe
            }
        }
    }

    /// The result of a call made with `permit`. Late results of calls made before the breaker
    /// opened do not move it; only the probe decides a half-open breaker.
    pub fn record(&mut self, now: u64, permit: Permit, ok: bool) {
        match (self.state, permit) {
            (State::Closed { failures }, Permit::Call) => {
                if ok {
                    self.state = State::Closed { failures: 0 };
                } else if failures + 1 >= THRESHOLD {
                    self.open(now);
                } else {
                    self.state = State::Closed {
                        failures: failures + 1,
                    };
                }
            }
            (State::HalfOpen { .. }, Permit::Probe) => {
                if ok {
                    self.state = State::Closed { failures: 0 };
                } else {
                    self.open(now);
                }
            }
            _ => {}
        }
    }

    fn open(&mut self, now: u64) {
        self.state = State::Open {
            until: now + OPEN_FOR_NS,
        };
        self.trips += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_fails_fast() {
        let mut b = Breaker::default();
        for i in 0..THRESHOLD {
            assert_eq!(b.permit(i as u64), Permit::Call);
            b.record(i as u64, Permit::Call, false);
        }
        assert_eq!(
            b.state,
            State::Open {
                until: 4 + OPEN_FOR_NS
            }
        );
        assert_eq!(b.trips, 1);
        assert_eq!(b.permit(1_000), Permit::Denied);
    }

    #[test]
    fn a_success_resets_the_count() {
        let mut b = Breaker::default();
        for ok in [false, false, false, false, true, false, false, false, false] {
            b.record(0, Permit::Call, ok);
        }
        assert!(matches!(b.state, State::Closed { failures: 4 }));
    }

    #[test]
    fn half_open_lets_one_probe_through_and_follows_its_result() {
        let mut b = Breaker {
            state: State::Open { until: 10 },
            trips: 1,
        };
        assert_eq!(b.permit(10), Permit::Probe);
        assert_eq!(b.permit(11), Permit::Denied, "only one probe at a time");
        // A late result from before the breaker opened does not close it.
        b.record(12, Permit::Call, true);
        assert_eq!(b.state, State::HalfOpen { probing: true });
        b.record(13, Permit::Probe, false);
        assert_eq!(
            b.state,
            State::Open {
                until: 13 + OPEN_FOR_NS
            }
        );
        assert_eq!(b.trips, 2);
        assert_eq!(b.permit(13 + OPEN_FOR_NS), Permit::Probe);
        b.record(14 + OPEN_FOR_NS, Permit::Probe, true);
        assert_eq!(b.state, State::Closed { failures: 0 });
    }
}
