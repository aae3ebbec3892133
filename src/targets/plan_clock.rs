//! The plan's clock of a run in real time, shared by the scheduler, the request tasks and the
//! fault proxy: wall time since the start less the time spent paused.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The plan's clock for a run in real time: wall time since the start, less the time spent
/// paused. Only the run loop pauses and resumes it; any thread may read it.
#[derive(Debug)]
pub struct PlanClock {
    start: Instant,
    /// While running, plan time is wall time less this (the pauses so far, in ns).
    offset: AtomicU64,
    /// While paused, the plan time it stands at; `RUNNING` otherwise.
    frozen: AtomicU64,
}

const RUNNING: u64 = u64::MAX;

impl PlanClock {
    pub fn starting_now() -> PlanClock {
        PlanClock::starting_at(Instant::now())
    }

    /// A clock whose plan time 0 is `start` (a shared start instant, possibly past).
    pub fn starting_at(start: Instant) -> PlanClock {
        PlanClock {
            start,
            offset: AtomicU64::new(0),
            frozen: AtomicU64::new(RUNNING),
        }
    }

    /// Wall ns since the start, pauses included.
    pub fn wall_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Plan ns: wall time less the pauses; it stands still while paused.
    pub fn now(&self) -> u64 {
        match self.frozen.load(Ordering::Acquire) {
            RUNNING => self
                .wall_ns()
                .saturating_sub(self.offset.load(Ordering::Acquire)),
            frozen => frozen,
        }
    }

    pub fn paused(&self) -> bool {
        self.frozen.load(Ordering::Acquire) != RUNNING
    }

    /// Stops the plan's clock. Whether it was running.
    pub fn pause(&self) -> bool {
        if self.paused() {
            return false;
        }
        self.frozen.store(self.now(), Ordering::Release);
        true
    }

    /// Starts it again where it stopped. Whether it was paused.
    pub fn resume(&self) -> bool {
        let frozen = self.frozen.load(Ordering::Acquire);
        if frozen == RUNNING {
            return false;
        }
        // The offset is in place before the clock runs again: a reader that sees it running
        // sees the new offset, so plan time never jumps.
        self.offset
            .store(self.wall_ns().saturating_sub(frozen), Ordering::Release);
        self.frozen.store(RUNNING, Ordering::Release);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paused_clock_stands_still_and_resumes_where_it_stopped() {
        const PAUSE: u64 = 5_000_000;
        let c = PlanClock::starting_now();
        assert!(c.pause());
        assert!(!c.pause(), "pausing twice is one pause");
        let frozen = c.now();
        // Let wall time pass without sleeping: spin until the wall clock moved.
        let wall = c.wall_ns();
        while c.wall_ns() < wall + PAUSE {
            std::hint::spin_loop();
        }
        assert_eq!(c.now(), frozen, "plan time does not move while paused");
        assert!(c.resume());
        assert!(!c.resume());
        let after = c.now();
        assert!(after >= frozen, "plan time never goes back");
        assert!(
            after + PAUSE <= c.wall_ns(),
            "plan time lags wall time by the pause: {after} vs {}",
            c.wall_ns()
        );
    }
}
