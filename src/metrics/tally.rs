//! A cheaper way to fill an HDR histogram that is only read once, at the end: each value is
//! counted in the bucket the histogram would put it in, with a shift and an add, and the
//! histogram is built from those counts when it is asked for (`histogram`). The buckets are
//! the histogram's own (2 significant figures, from 1), so every figure read from the result
//! (counts, quantiles, min and max as the histogram reports them) is the one recording each
//! value into it would give.
//!
//! Why: the simulated model's components each record every call's latency, four or five
//! records per transaction. `Histogram::saturating_record` costs about 67 instructions (range
//! checks, saturating adds, the minimum and maximum kept); this costs about 10.

use hdrhistogram::Histogram;

/// Significant figures of the histogram (which fixes the layout below).
const SIGFIG: u8 = 2;
/// For 2 significant figures from 1: 2^8 sub-buckets, the first bucket whole and each later
/// one's upper half used (see hdrhistogram's `index_for`).
const SUB_BUCKET_MASK: u64 = 255;
const HALF_MAGNITUDE: u32 = 7;
const HALF: usize = 1 << HALF_MAGNITUDE;
/// `64 - sub-bucket magnitude (8) - unit magnitude (0)`.
const LEADING_ZERO_BASE: u32 = 56;

/// Values counted in the buckets of a `Histogram::new_with_bounds(1, max, 2)`.
#[derive(Clone, Debug)]
pub struct Tally {
    counts: Vec<u64>,
    /// The value a too-large one is counted as (the histogram's highest trackable value).
    highest: u64,
    max: u64,
}

impl Tally {
    /// Tallies for values up to `max` (at least 2), which larger ones are counted as.
    pub fn new(max: u64) -> Tally {
        let layout = shape(max);
        Tally {
            counts: vec![0; layout.distinct_values()],
            highest: layout.high(),
            max,
        }
    }

    /// The bucket `value` falls in.
    #[inline]
    fn index(value: u64) -> usize {
        let bucket = LEADING_ZERO_BASE - (value | SUB_BUCKET_MASK).leading_zeros();
        ((bucket as usize + 1) << HALF_MAGNITUDE) + (value >> bucket) as usize - HALF
    }

    /// The lowest value of bucket `i`.
    fn value_at(i: usize) -> u64 {
        let bucket = (i >> HALF_MAGNITUDE).saturating_sub(1) as u32;
        let sub = if bucket == 0 {
            i
        } else {
            (i & (HALF - 1)) + HALF
        };
        (sub as u64) << bucket
    }

    /// Counts `value`, as `Histogram::saturating_record` would: one beyond the histogram's
    /// range as its highest trackable value.
    #[inline]
    pub fn record(&mut self, value: u64) {
        let i = Tally::index(value);
        match self.counts.get_mut(i) {
            Some(c) => *c += 1,
            None => self.counts[Tally::index(self.highest)] += 1,
        }
    }

    /// Forgets every value counted.
    pub fn reset(&mut self) {
        self.counts.fill(0);
    }

    pub fn is_empty(&self) -> bool {
        self.counts.iter().all(|&c| c == 0)
    }

    /// The histogram holding what was counted.
    pub fn histogram(&self) -> Histogram<u64> {
        let mut h = shape(self.max);
        for (i, &c) in self.counts.iter().enumerate().filter(|(_, c)| **c > 0) {
            // Within the histogram's range by construction.
            let _ = h.record_n(Tally::value_at(i), c);
        }
        h
    }
}

fn shape(max: u64) -> Histogram<u64> {
    Histogram::new_with_bounds(1, max.max(2), SIGFIG).expect("valid histogram bounds")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{self, Purpose};

    const MAX: u64 = 3_600_000_000;

    #[test]
    fn a_bucket_holds_what_the_histogram_puts_in_it() {
        let h = shape(MAX);
        let mut values: Vec<u64> = (1..5_000).collect();
        let mut rng = rng::stream(5, Purpose::Transactions, 0);
        values.extend((0..20_000).map(|_| 1 + rng.below(MAX)));
        values.extend((0..40).map(|k| 1u64 << k).filter(|&v| v <= MAX));
        for v in values {
            let low = Tally::value_at(Tally::index(v));
            assert_eq!(low, h.lowest_equivalent(v), "bucket of {v}");
            assert!(Tally::index(v) < h.distinct_values(), "{v} fits");
        }
    }

    #[test]
    fn the_histogram_is_the_one_recording_each_value_gives() {
        let mut rng = rng::stream(9, Purpose::Transactions, 0);
        let mut direct = shape(MAX);
        let mut tally = Tally::new(MAX);
        assert!(tally.is_empty());
        // Lognormal-ish latencies, a few zeros and values far past the range.
        for k in 0..50_000u64 {
            let v = match k % 1_000 {
                0 => 0,
                1 => u64::MAX / 3,
                _ => (rng.unit() * 25.0).exp() as u64,
            };
            direct.saturating_record(v);
            tally.record(v);
        }
        let built = tally.histogram();
        assert!(!tally.is_empty());
        assert_eq!(built.len(), direct.len());
        assert_eq!((built.min(), built.max()), (direct.min(), direct.max()));
        for q in [0.0, 0.001, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            assert_eq!(
                built.value_at_quantile(q),
                direct.value_at_quantile(q),
                "q {q}"
            );
        }
        let pairs = |h: &Histogram<u64>| {
            h.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect::<Vec<_>>()
        };
        assert_eq!(pairs(&built), pairs(&direct));
    }
}
