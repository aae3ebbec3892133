//! HTTP/1.1: when the generator opens another connection (starts another connection's
//! worker, see `http`).
//!
//! The first starts with the first request. After it, connections are added while requests
//! wait for one (the oldest longer than `GROW_AFTER_NS`, every worker busy), an eighth more
//! at a time (at least one), at most once per `GROW_AFTER_NS`: they double in about 6 ms
//! while the load needs them. But never beyond what the load can use, by Little's law: twice
//! the planned rate times the service time, plus a millisecond's arrivals and a few spare.
//! The service time is the lowest of the mean service times of the last `WINDOWS` windows of
//! `WINDOW_NS`, so a stall of the client itself (the machine not running it for a few
//! milliseconds: answers wait unread and every request looks slow), which more connections
//! would not cure, does not open hundreds that then stay open; a server that slows down
//! for longer does get them. Until the first answer, only the wait counts.

/// A request that has waited this long for a free connection, while no worker is idle, adds
/// connections.
pub(super) const GROW_AFTER_NS: u64 = 1_000_000;
/// The service time is measured over windows this long...
const WINDOW_NS: u64 = 100_000_000;
/// ... and the lowest of the last few taken.
const WINDOWS: usize = 3;

/// The workers as the scheduler sees them.
pub(super) struct Workers {
    /// Started so far.
    pub running: usize,
    /// The most that may run (`connections`).
    pub most: usize,
    /// Waiting for a request, or woken for one and not running yet.
    pub idle: usize,
    /// Requests outstanding: queued or being sent.
    pub in_flight: u64,
}

pub(super) struct Growth {
    /// When workers were last started.
    last: u64,
    /// The window under way: its start, and its answers' service times (sum, count).
    window: (u64, u64, u64),
    /// Mean service times of the last windows closed (none yet: `u64::MAX`).
    means: [u64; WINDOWS],
    /// When the last answer came back (or the first window started).
    last_answer: u64,
}

impl Growth {
    pub(super) fn new() -> Growth {
        Growth {
            last: 0,
            window: (0, 0, 0),
            means: [u64::MAX; WINDOWS],
            last_answer: 0,
        }
    }

    /// An answer (or a timeout) came back at `now` after `service_ns`.
    pub(super) fn answered(&mut self, now: u64, service_ns: u64) {
        self.window.1 += service_ns;
        self.window.2 += 1;
        self.last_answer = now;
    }

    /// The connections the load can use at `now`, planned `rate` per second.
    fn useful(&mut self, now: u64, rate: f64) -> f64 {
        let (start, sum, n) = self.window;
        // The first window closes at the first answers, so the bound holds from then on.
        let first = self.means[0] == u64::MAX && n > 0;
        if first || now >= start + WINDOW_NS {
            // A window without answers: the service takes at least as long as the server has
            // been silent.
            let mean = sum
                .checked_div(n)
                .unwrap_or(now - self.last_answer.min(start));
            self.means.rotate_right(1);
            self.means[0] = mean;
            self.window = (now, 0, 0);
        }
        let service = self.means.iter().copied().min().unwrap_or(u64::MAX);
        if service == u64::MAX {
            return f64::INFINITY;
        }
        2.0 * rate * service as f64 / 1e9 + rate / 1e3 + 8.0
    }

    /// How many workers to start at `now`, planned `rate` per second; `waiting_since(t, k)`
    /// counts the requests queued at or before `t`, up to `k`.
    pub(super) fn step(
        &mut self,
        w: Workers,
        now: u64,
        rate: f64,
        waiting_since: impl FnOnce(u64, usize) -> usize,
    ) -> usize {
        let useful = self.useful(now, rate);
        let room = w.most.saturating_sub(w.running);
        if room == 0 || w.in_flight == 0 {
            return 0;
        }
        if w.running == 0 {
            self.last = now;
            return 1;
        }
        if now < self.last + GROW_AFTER_NS || w.idle > 0 || w.running as f64 >= useful {
            return 0;
        }
        let Some(before) = now.checked_sub(GROW_AFTER_NS) else {
            return 0;
        };
        let most = (w.running / 8)
            .max(1)
            .min(room)
            .min((useful - w.running as f64).ceil() as usize);
        let n = waiting_since(before, most);
        if n > 0 {
            self.last = now;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn busy(running: usize, in_flight: u64) -> Workers {
        Workers {
            running,
            most: 1000,
            idle: 0,
            in_flight,
        }
    }

    /// Answers every `every` ns from `from` to `to`, each after `service` ns.
    fn answers(g: &mut Growth, from: u64, to: u64, every: u64, service: u64, rate: f64) {
        let mut t = from;
        while t < to {
            g.answered(t, service);
            // The scheduler looks at least this often.
            g.step(busy(1, 0), t, rate, |_, _| 0);
            t += every;
        }
    }

    #[test]
    fn the_first_worker_starts_with_the_first_request() {
        let mut g = Growth::new();
        assert_eq!(g.step(busy(0, 0), 0, 100.0, |_, k| k), 0);
        assert_eq!(g.step(busy(0, 3), 0, 100.0, |_, k| k), 1);
    }

    #[test]
    fn waiting_requests_add_an_eighth_at_most_once_a_millisecond() {
        let mut g = Growth::new();
        let mut asked = None;
        let n = g.step(busy(64, 500), 10 * MS, 1e4, |before, k| {
            asked = Some(before);
            k
        });
        assert_eq!(n, 8);
        assert_eq!(
            asked,
            Some(10 * MS - GROW_AFTER_NS),
            "only requests older than 1 ms"
        );
        assert_eq!(g.step(busy(72, 500), 10 * MS + MS / 2, 1e4, |_, k| k), 0);
        assert_eq!(g.step(busy(72, 500), 11 * MS, 1e4, |_, k| k), 9);
        // Fewer requests waiting than that: one worker each.
        assert_eq!(g.step(busy(81, 500), 12 * MS, 1e4, |_, k| k.min(2)), 2);
        // None waiting long enough: none.
        assert_eq!(g.step(busy(83, 500), 13 * MS, 1e4, |_, _| 0), 0);
    }

    #[test]
    fn an_idle_worker_takes_the_wait_instead() {
        let mut g = Growth::new();
        let w = Workers {
            idle: 1,
            ..busy(10, 50)
        };
        assert_eq!(g.step(w, 10 * MS, 1e4, |_, k| k), 0);
    }

    #[test]
    fn a_stall_of_the_client_opens_no_more_than_the_load_can_use() {
        // 20,000 a second answered in 100 µs: 2 * 20000 * 0.0001 + 20 + 8 = 32 useful.
        let mut g = Growth::new();
        let rate = 2e4;
        answers(&mut g, 0, 400 * MS, MS / 20, 100_000, rate);
        // The client stalls for 30 ms: the answers it reads late look 20 ms slow, and
        // hundreds of requests wait.
        let mut running = 30;
        let mut t = 400 * MS;
        while t < 430 * MS {
            g.answered(t, 20 * MS);
            running += g.step(busy(running, 600), t, rate, |_, k| k);
            t += MS / 2;
        }
        assert!(running <= 32, "{running} connections");
        assert!(running > 30, "it grows to the useful number");
    }

    #[test]
    fn a_silent_server_gets_more_connections_the_longer_it_is_silent() {
        // 1,000 a second answered in 1 ms: 2 + 1 + 8 = 11 useful.
        let mut g = Growth::new();
        let rate = 1e3;
        answers(&mut g, 0, 400 * MS, MS, MS, rate);
        assert_eq!(g.step(busy(11, 60), 450 * MS, rate, |_, k| k), 0);
        // Silent for three windows and more: at least 0.3 s of service.
        let mut started = 0;
        for t in (450..800).map(|ms| ms * MS) {
            started += g.step(busy(11 + started, 400), t, rate, |_, k| k);
        }
        assert!(started > 100, "{started} more connections");
    }
}
