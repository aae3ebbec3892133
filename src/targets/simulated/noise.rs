//! The model's noise: the seed's model-noise stream, drawn in event order exactly as `Draw`
//! draws it, with the Box–Muller pairs the model needs computed ahead on another thread.
//!
//! Most of the model's draws are normals (service times, the scorer's noise), made in pairs
//! from two consecutive words of the stream. Which words a pair uses depends only on where in
//! the stream the model stands, not on what the model does with them, so a producer can
//! compute the pairs ahead along the stream and the run loop takes the one that starts where
//! it stands. When it stands elsewhere (after an odd number of one-word draws, such as a
//! latency fault's jitter) it computes the pair itself and asks the producer to go on from
//! there. Every value is the one `Draw` gives at that position, whichever thread computed it,
//! so a run's bytes never depend on thread timing; only its speed does.

use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex};

use crate::rng::{self, Draw, Purpose};

/// Pairs per batch (64 KiB): few hand-overs between the threads (smaller batches measured
/// slower on peak-load), and a batch stays in the cache.
const BATCH: usize = 4096;
/// Batches the producer may hold ready ahead of the loop.
const DEPTH: usize = 4;
/// Changes of step after which the producer is given up on if they came more often than one
/// per `STEADY` pairs taken from it: each change wastes what it made ahead (a run with
/// jittered latency faults on every call), so there it only costs.
const CHANGES: u64 = 256;
const STEADY: u64 = 64;

/// The model-noise stream, as the model draws from it.
pub struct Noise {
    draw: Draw,
    /// The position of the next word to use (in ChaCha's 32-bit words, as `Draw::word_pos`
    /// counts). `draw` lags behind it after pairs taken from `ahead`.
    pos: u128,
    /// The second value of the last pair, not yet used (as `Draw::normal` keeps it).
    spare: Option<f64>,
    ahead: Option<Ahead>,
}

impl Noise {
    /// The seed's model-noise stream, every value computed where it is drawn.
    pub fn local(seed: u64) -> Noise {
        let draw = rng::stream(seed, Purpose::ModelNoise, 0);
        Noise {
            pos: draw.word_pos(),
            draw,
            spare: None,
            ahead: None,
        }
    }

    /// The same stream, with normal pairs computed ahead on a thread of their own (for a run's
    /// loop; the thread ends when the `Noise` is dropped).
    pub fn with_pairs_ahead(seed: u64) -> Noise {
        let mut noise = Noise::local(seed);
        noise.ahead = Some(Ahead::start(noise.draw.clone(), false));
        noise
    }

    /// `draw` moved up to `pos`, for a value computed here.
    fn here(&mut self) -> &mut Draw {
        if self.draw.word_pos() != self.pos {
            self.draw.seek(self.pos);
        }
        &mut self.draw
    }

    /// `Draw::uniform`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let v = self.here().uniform(lo, hi);
        self.pos = self.draw.word_pos();
        v
    }

    /// `Draw::normal`.
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let pos = self.pos;
        // The common case: the pair after the last one taken, in the batch at hand.
        if let Some(pair) = self.ahead.as_mut().and_then(|a| a.next_in_step(pos)) {
            self.pos += 4;
            self.spare = Some(pair.1);
            return pair.0;
        }
        let (cos, sin) = match self.ahead.as_mut().and_then(|a| a.pair_at(pos)) {
            Some(pair) => {
                // Two words of two 32-bit words each.
                self.pos += 4;
                pair
            }
            None => {
                if self.ahead.as_ref().is_some_and(|a| !a.worth_it()) {
                    // Dropping its end of the channel ends the producer.
                    self.ahead = None;
                }
                let draw = self.here();
                let w1 = draw.word();
                let pair = rng::box_muller(w1, draw.word());
                self.pos = self.draw.word_pos();
                pair
            }
        };
        self.spare = Some(sin);
        cos
    }

    /// `Draw::lognormal_sigma` (the model goes through `through_lognormal`; the tests
    /// compare whole draws).
    #[cfg(test)]
    pub fn lognormal_sigma(&mut self, median: f64, sigma: f64) -> f64 {
        rng::lognormal_of(median, sigma, self.normal())
    }

    /// `whole(self.lognormal_sigma(median, sigma))` for a `whole` that never decreases, at
    /// the speed of `rng::quick_exp` (`rng::through_lognormal`): the same draw, the same
    /// answer.
    #[inline]
    pub fn through_lognormal<T: PartialEq>(
        &mut self,
        median: f64,
        sigma: f64,
        whole: impl Fn(f64) -> T,
    ) -> T {
        rng::through_lognormal(median, sigma, self.normal(), whole)
    }
}

/// Pairs made in a row from `start`, for the request numbered `epoch`.
struct Pairs {
    epoch: u64,
    start: u128,
    pairs: Vec<(f64, f64)>,
}

/// The consuming end of the producer of pairs.
struct Ahead {
    current: Pairs,
    rx: Receiver<Pairs>,
    /// Used batches go back to be filled again.
    recycle: SyncSender<Vec<(f64, f64)>>,
    /// The producer's instructions: the epoch and where its pairs start. The producer reads
    /// them before each batch.
    ask: Arc<Mutex<(u64, u128)>>,
    /// What was asked last.
    wanted: (u64, u128),
    /// A batch of the epoch wanted has come: the producer is on it, so the loop may wait for
    /// the next one.
    on_it: bool,
    patient: bool,
    /// Changes of step asked for.
    changes: u64,
    /// Pairs taken from the producer (for tests and benchmarks).
    taken: u64,
    /// The next pair of `current` and the position it starts at, once a pair of the epoch
    /// wanted was taken from it (`u128::MAX` when there is none: after a change of step, or
    /// before the first pair).
    cursor: usize,
    cursor_pos: u128,
}

impl Ahead {
    /// `patient`: wait for the producer even before it is on the epoch asked for (tests).
    fn start(mut draw: Draw, patient: bool) -> Ahead {
        let (tx, rx) = sync_channel::<Pairs>(DEPTH);
        let (recycle, recycled) = sync_channel::<Vec<(f64, f64)>>(DEPTH + 2);
        let wanted = (0, draw.word_pos());
        let ask = Arc::new(Mutex::new(wanted));
        let asked = ask.clone();
        // Like every thread the engines start, it fails only when the OS has none left. It
        // ends when the loop's end of the channel is dropped.
        std::thread::spawn(move || {
            let mut epoch = wanted.0;
            loop {
                let Ok((e, at)) = asked.lock().map(|a| *a) else {
                    return;
                };
                if e != epoch {
                    epoch = e;
                    draw.seek(at);
                }
                let mut pairs = recycled
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                pairs.clear();
                let start = draw.word_pos();
                for _ in 0..BATCH {
                    let w1 = draw.word();
                    pairs.push(rng::box_muller(w1, draw.word()));
                }
                if tx
                    .send(Pairs {
                        epoch,
                        start,
                        pairs,
                    })
                    .is_err()
                {
                    return;
                }
            }
        });
        Ahead {
            current: Pairs {
                epoch: u64::MAX,
                start: 0,
                pairs: Vec::new(),
            },
            rx,
            recycle,
            ask,
            wanted,
            on_it: patient,
            patient,
            changes: 0,
            taken: 0,
            cursor: 0,
            cursor_pos: u128::MAX,
        }
    }

    /// The pair that starts at `pos` if it is the one after the last pair taken, in the batch
    /// at hand: what `pair_at` would give, without its checks.
    #[inline]
    fn next_in_step(&mut self, pos: u128) -> Option<(f64, f64)> {
        if pos != self.cursor_pos {
            return None;
        }
        let pair = *self.current.pairs.get(self.cursor)?;
        self.cursor += 1;
        self.cursor_pos += 4;
        self.taken += 1;
        Some(pair)
    }

    /// Whether the producer saves more than it costs (see `CHANGES`).
    fn worth_it(&self) -> bool {
        self.changes < CHANGES || self.taken >= self.changes * STEADY
    }

    /// The pair that starts at `pos`, if the producer has it or is about to: `None` tells
    /// the caller to compute it.
    fn pair_at(&mut self, pos: u128) -> Option<(f64, f64)> {
        let (epoch, start) = self.wanted;
        if pos < start || !(pos - start).is_multiple_of(4) {
            // Out of step with the producer: it goes on from the pair after this one.
            self.wanted = (epoch + 1, pos + 4);
            self.cursor_pos = u128::MAX;
            self.changes += 1;
            self.on_it = self.patient;
            if let Ok(mut ask) = self.ask.lock() {
                *ask = self.wanted;
            }
            return None;
        }
        loop {
            let c = &self.current;
            if c.epoch == epoch {
                // The epoch's batches follow each other from `start`, which is not after
                // `pos`; the check only keeps a mistake from waiting for ever.
                let i = usize::try_from((pos.checked_sub(c.start)?) / 4).ok()?;
                if let Some(pair) = c.pairs.get(i) {
                    self.taken += 1;
                    self.cursor = i + 1;
                    self.cursor_pos = pos + 4;
                    return Some(*pair);
                }
            }
            let next = if self.on_it {
                self.rx.recv().ok()?
            } else {
                match self.rx.try_recv() {
                    Ok(next) => next,
                    // The producer has not started on this epoch yet: compute it here.
                    Err(TryRecvError::Empty) => return None,
                    Err(TryRecvError::Disconnected) => return None,
                }
            };
            if next.epoch == epoch {
                self.on_it = true;
            }
            self.cursor_pos = u128::MAX;
            let used = std::mem::replace(&mut self.current, next);
            let _ = self.recycle.try_send(used.pairs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws in the order given by `one_word` (true: a one-word draw, else a lognormal), from
    /// `noise` and from a plain `Draw`: they must agree bit for bit.
    fn agree(noise: &mut Noise, draws: u32, one_word: impl Fn(u32) -> bool) {
        let mut expected = rng::stream(9, Purpose::ModelNoise, 0);
        for i in 0..draws {
            let (e, got) = if one_word(i) {
                (expected.uniform(-1.0, 1.0), noise.uniform(-1.0, 1.0))
            } else {
                (
                    expected.lognormal_sigma(3.0, 0.4),
                    noise.lognormal_sigma(3.0, 0.4),
                )
            };
            assert_eq!(e.to_bits(), got.to_bits(), "draw {i}");
        }
    }

    /// Long runs of normals with one-word draws between them, one or two at a time, so the
    /// loop falls out of step with the producer and back.
    fn pattern(i: u32) -> bool {
        i % 5_000 == 4_999 || i % 15_000 == 7_001 || i % 15_000 == 7_002
    }

    #[test]
    fn pairs_made_ahead_are_the_streams_values_in_any_order_of_draws() {
        agree(&mut Noise::local(9), 100_000, pattern);
        agree(&mut Noise::with_pairs_ahead(9), 100_000, pattern);
        // One-word draws so often that the producer never catches up: computed here, and the
        // producer given up on.
        let mut noise = Noise::with_pairs_ahead(9);
        agree(&mut noise, 50_000, |i| i % 7 == 3);
        assert!(noise.ahead.is_none());

        // A loop that waits for the producer takes every pair in step from it.
        let mut noise = Noise::local(9);
        noise.ahead = Some(Ahead::start(noise.draw.clone(), true));
        agree(&mut noise, 100_000, pattern);
        let normals = (0..100_000).filter(|i| !pattern(*i)).count() as u64;
        let taken = noise.ahead.as_ref().map_or(0, |a| a.taken);
        // Each change of step costs the pair computed here; the others come from ahead.
        assert!(
            taken * 2 >= normals - 40,
            "{taken} of {normals} normals' pairs"
        );
    }
}
