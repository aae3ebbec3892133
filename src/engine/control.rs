//! Steering a run from outside the loop: pause, resume and stop, asked for by the dashboard
//! (`POST /api/control`), by a signal (SIGUSR1 pauses, SIGUSR2 resumes, SIGINT and SIGTERM
//! stop) or by a test. The loop takes what was asked at its next look (every few ms of wall
//! time, or every few thousand steps of a fast simulation) and records each action it carried
//! out in results.json `controls[]`.
//!
//! A pause stops the plan's clock: nothing is sent while paused, work in flight finishes and
//! counts, and on resume the rest of the plan follows, shifted by the pause. Plan time (what
//! results.json reports) does not move during a pause, so the planned count is unchanged.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What can be asked of a running test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Pause,
    Resume,
    Stop,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Stop => "stop",
        }
    }

    /// `pause`, `resume` or `stop`.
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "pause" => Some(Action::Pause),
            "resume" => Some(Action::Resume),
            "stop" => Some(Action::Stop),
            _ => None,
        }
    }
}

/// One action the run carried out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ControlRecord {
    /// `pause`, `resume` or `stop`.
    pub action: Action,
    /// Plan time when it took effect, ms from the run's start (pauses excluded).
    pub at_ms: u64,
    /// Wall time when it took effect, ms from the run's start (pauses included).
    pub wall_ms: u64,
}

/// Where pause, resume and stop are asked for; shared between the loop and whoever steers it.
#[derive(Debug, Default)]
pub struct Control {
    /// Set by SIGINT and SIGTERM: the run ends (not recorded as a control action).
    interrupt: Arc<AtomicBool>,
    /// Something was asked and not yet taken: a cheap look for the hot loop.
    pending: AtomicBool,
    asked: Mutex<Vec<Action>>,
}

impl Control {
    pub fn new() -> Control {
        Control::default()
    }

    /// The flag a signal handler sets to end the run.
    pub fn interrupt_flag(&self) -> Arc<AtomicBool> {
        self.interrupt.clone()
    }

    /// Ends the run as Ctrl-C does.
    pub fn interrupt(&self) {
        self.interrupt.store(true, Ordering::Relaxed);
    }

    pub fn interrupted(&self) -> bool {
        self.interrupt.load(Ordering::Relaxed)
    }

    /// Asks the run for `action`; it is carried out at the loop's next look.
    pub fn ask(&self, action: Action) {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push(action);
            self.pending.store(true, Ordering::Release);
        }
    }

    /// Whether anything was asked since the last `take` (or the run was interrupted).
    pub fn pending(&self) -> bool {
        self.pending.load(Ordering::Acquire) || self.interrupted()
    }

    /// What was asked, in order, since the last call.
    pub(super) fn take(&self) -> Vec<Action> {
        if !self.pending.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        self.asked
            .lock()
            .map(|mut a| std::mem::take(&mut *a))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_taken_once_in_order() {
        let c = Control::new();
        assert!(!c.pending());
        c.ask(Action::Pause);
        c.ask(Action::Resume);
        assert!(c.pending());
        assert_eq!(c.take(), vec![Action::Pause, Action::Resume]);
        assert!(c.take().is_empty());
        assert!(!c.pending());
        c.interrupt();
        assert!(c.pending() && c.interrupted());
    }
}
