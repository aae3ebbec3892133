//! The model's event queue: a calendar queue (Brown, 1988) for events that are never
//! scheduled before the one last taken, which virtual time guarantees.
//!
//! Time is cut into buckets of `2^WIDTH` ns. The next `SLOTS` buckets from the last event
//! taken (the floor) are a ring of unsorted vectors, so scheduling an event is a push; the
//! bucket being taken from is sorted once, when it is reached, and kept sorted as events are
//! added to it. Events beyond the ring wait in a heap and move into it as the floor advances.
//! Events come out in the order of their keys, (time, sequence number), which are unique: the
//! order is total, so it is the order any priority queue would give, and results cannot
//! depend on which one holds them.
//!
//! Looking at the next event does not move the floor: an arrival due before it may still
//! schedule events earlier than it, and they come out first.

use std::cmp::Reverse;

use dary_heap::QuaternaryHeap;

/// A bucket spans 2^16 ns (65.5 µs): a few events each at 10,000 transactions per second.
const WIDTH: u32 = 16;
/// The ring spans 4,096 buckets (268 ms), past the service times of every component's
/// defaults; later events (timeouts, long backoffs) wait in the heap.
const SLOTS: u64 = 1 << 12;
const MASK: u64 = SLOTS - 1;

/// What the calendar holds: an instant, and a key unique to the item that orders items,
/// starting with the instant.
pub trait Timed: Copy {
    fn at(&self) -> u64;
    /// The instant in the high 64 bits, then a number below 2^48 that makes the key unique.
    fn key(&self) -> u128;

    /// The key's order among items of one bucket, in one word: the instant's bits within the
    /// bucket, then the rest of the key (which fits in the 48 bits left).
    #[inline]
    fn key_in_bucket(&self) -> u64 {
        let key = self.key();
        let within = (key >> 64) as u64 & ((1 << WIDTH) - 1);
        (within << (64 - WIDTH)) | (key as u64 & ((1 << (64 - WIDTH)) - 1))
    }
}

/// Ordered by key, for the heap of far events.
#[derive(Clone, Copy)]
struct ByKey<T>(T);

impl<T: Timed> PartialEq for ByKey<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0.key() == other.0.key()
    }
}

impl<T: Timed> Eq for ByKey<T> {}

impl<T: Timed> PartialOrd for ByKey<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Timed> Ord for ByKey<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.key().cmp(&other.0.key())
    }
}

pub struct Calendar<T> {
    /// Bucket `b` (floor <= b < floor + SLOTS) sits in slot `b & MASK`, unsorted.
    ring: Vec<Vec<T>>,
    /// Events in the ring's slots (not counting `front`).
    in_ring: usize,
    /// The earliest bucket holding events, taken out of its slot and sorted by key, latest
    /// first (the next event is the last).
    front: Vec<T>,
    front_bucket: u64,
    /// The bucket of the last event taken: no event is scheduled before it.
    floor: u64,
    /// No slot between `floor` and `scan` holds an event.
    scan: u64,
    /// Events at or past bucket `floor + SLOTS`.
    far: QuaternaryHeap<Reverse<ByKey<T>>>,
}

impl<T: Timed> Default for Calendar<T> {
    fn default() -> Self {
        Calendar {
            ring: (0..SLOTS).map(|_| Vec::new()).collect(),
            in_ring: 0,
            front: Vec::new(),
            front_bucket: 0,
            floor: 0,
            scan: 0,
            far: QuaternaryHeap::new(),
        }
    }
}

impl<T: Timed> Calendar<T> {
    /// Schedules `e`, which must not be before the last event taken.
    pub fn push(&mut self, e: T) {
        // An event before the floor would break the order; none is ever scheduled (events are
        // scheduled at or after the instant being handled). Clamped rather than misplaced.
        let b = (e.at() >> WIDTH).max(self.floor);
        debug_assert!(e.at() >> WIDTH >= self.floor, "scheduled in the past");
        if b >= self.floor + SLOTS {
            self.far.push(Reverse(ByKey(e)));
            return;
        }
        if !self.front.is_empty() {
            if b == self.front_bucket {
                let key = e.key_in_bucket();
                let at = self.front.partition_point(|x| x.key_in_bucket() > key);
                self.front.insert(at, e);
                return;
            }
            if b < self.front_bucket {
                // Earlier than the bucket taken out: it goes back to its slot, unsorted.
                let slot = (self.front_bucket & MASK) as usize;
                self.in_ring += self.front.len();
                std::mem::swap(&mut self.ring[slot], &mut self.front);
            }
        }
        self.ring[(b & MASK) as usize].push(e);
        self.in_ring += 1;
        self.scan = self.scan.min(b);
    }

    /// The next event, without taking it.
    pub fn peek(&mut self) -> Option<&T> {
        self.load();
        match self.front.last() {
            Some(e) => Some(e),
            None => self.far.peek().map(|Reverse(ByKey(e))| e),
        }
    }

    /// Takes the next event if it is due at or before `last`.
    #[inline]
    pub fn pop_through(&mut self, last: u64) -> Option<T> {
        self.load();
        let next = match self.front.last() {
            Some(e) => e.at(),
            None => self.far.peek()?.0.0.at(),
        };
        if next > last {
            return None;
        }
        let floor = self.floor;
        let e = match self.front.pop() {
            Some(e) => {
                self.floor = self.front_bucket;
                e
            }
            None => {
                // The ring is empty: the next event is the heap's.
                let Reverse(ByKey(e)) = self.far.pop()?;
                self.floor = e.at() >> WIDTH;
                self.scan = self.floor;
                e
            }
        };
        // Events the advanced floor brings within the ring's reach move into it (the heap
        // holds none within reach of the floor it had).
        while self.floor != floor
            && let Some(Reverse(ByKey(f))) = self.far.peek()
            && f.at() >> WIDTH < self.floor + SLOTS
        {
            let f = *f;
            self.far.pop();
            self.push(f);
        }
        Some(e)
    }

    /// Takes every event, in no particular order.
    pub fn drain(&mut self) -> Vec<T> {
        let mut all = std::mem::take(&mut self.front);
        for slot in &mut self.ring {
            all.append(slot);
        }
        all.extend(self.far.drain().map(|Reverse(ByKey(e))| e));
        self.in_ring = 0;
        all
    }

    /// Makes `front` the earliest bucket of the ring, if the ring holds any event.
    fn load(&mut self) {
        if !self.front.is_empty() || self.in_ring == 0 {
            return;
        }
        let mut slot = (self.scan & MASK) as usize;
        while self.ring[slot].is_empty() {
            self.scan += 1;
            slot = (self.scan & MASK) as usize;
        }
        std::mem::swap(&mut self.ring[slot], &mut self.front);
        self.in_ring -= self.front.len();
        self.front_bucket = self.scan;
        self.front
            .sort_unstable_by_key(|e| Reverse(e.key_in_bucket()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct E {
        at: u64,
        seq: u64,
    }

    impl Timed for E {
        fn at(&self) -> u64 {
            self.at
        }
        fn key(&self) -> u128 {
            (u128::from(self.at) << 64) | u128::from(self.seq)
        }
    }

    /// Against a binary heap, with events scheduled as the model schedules them: at or after
    /// the instant being handled, which may be before the next event looked at (an arrival),
    /// at gaps from nothing to past the ring's span.
    #[test]
    fn gives_the_order_a_heap_gives() {
        for seed in 0..20u64 {
            let mut rng = stream(seed, Purpose::ModelNoise, 99);
            let mut cal = Calendar::default();
            let mut heap = std::collections::BinaryHeap::new();
            let mut seq = 0;
            let mut now = 0u64;
            let mut taken = 0;
            for _ in 0..20_000 {
                let gap: u64 = match rng.below(10) {
                    0 => 0,
                    1 => rng.below(1 << WIDTH),
                    2 => rng.below((SLOTS << WIDTH) * 3),
                    _ => rng.below(50_000_000),
                };
                if rng.chance(0.5) {
                    // An arrival: at or after now, before the next event when there is one.
                    let next = cal.peek().map(|e: &E| e.at);
                    assert_eq!(
                        next,
                        heap.peek().map(|Reverse(e): &Reverse<(u64, u64)>| e.0)
                    );
                    if let Some(next) = next {
                        now += rng.below(next - now + 1);
                    }
                }
                for _ in 0..rng.below(3) {
                    seq += 1;
                    let e = E { at: now + gap, seq };
                    cal.push(e);
                    heap.push(Reverse((e.at, e.seq)));
                }
                if rng.chance(0.5) {
                    let got = cal.pop_through(u64::MAX);
                    let want = heap.pop().map(|Reverse((at, seq))| E { at, seq });
                    assert_eq!(got, want, "seed {seed}");
                    if let Some(e) = got {
                        now = e.at;
                        taken += 1;
                    }
                }
            }
            while let Some(Reverse((at, seq))) = heap.pop() {
                assert_eq!(cal.pop_through(u64::MAX), Some(E { at, seq }));
            }
            assert_eq!(cal.pop_through(u64::MAX), None);
            assert!(taken > 5_000);
        }
    }

    #[test]
    fn drain_gives_every_event() {
        let mut cal = Calendar::default();
        for (i, at) in [5u64, 1 << 30, 70_000, 5, 1 << 40].into_iter().enumerate() {
            cal.push(E { at, seq: i as u64 });
        }
        assert_eq!(cal.pop_through(u64::MAX).map(|e| e.seq), Some(0));
        let mut left: Vec<u64> = cal.drain().into_iter().map(|e| e.seq).collect();
        left.sort_unstable();
        assert_eq!(left, vec![1, 2, 3, 4]);
        assert_eq!(cal.pop_through(u64::MAX), None);
    }
}
