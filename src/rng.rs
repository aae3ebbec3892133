//! Every random draw in gauntlet comes from here: a ChaCha8 stream derived from the scenario's
//! seed, one per purpose, mapped to values by the functions below. It must never touch the OS
//! or rand's distributions, whose output may change between releases: these mappings are ours,
//! documented in docs/determinism.md, and pinned by golden tests, so a seed means the same plan
//! forever (for one gauntlet version) on every machine.
//!
//! Transcendental functions come from `libm` (a pure-Rust port of musl's), not the platform's
//! maths library, so that `ln`, `exp` and `sin` give the same bits on every machine. The one
//! exception, `through_exp`, calls a faster `exp` (`quick_exp`) only where it can prove the answer is
//! the one libm's would give.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// What a stream is for. The discriminant is part of the key: never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// Poisson arrivals; the stream number is `phase << 32 | second` (the second counted from
    /// the phase's start): that second's count, then its instants.
    Arrivals = 1,
    /// Transaction contents; the stream number is the transaction index.
    Transactions = 2,
    /// Customer attributes; the stream number is the customer number.
    Customers = 3,
    /// Noise in the simulated model (service times, scorer noise).
    ModelNoise = 4,
    /// Levels of `chaos` load phases; the stream number is the phase index.
    ChaosLevels = 5,
    /// Which calls a probabilistic failure hits; the stream number is the failure index.
    Faults = 6,
    /// Which request of an http target's mix each arrival sends; word `index` of stream 0.
    Requests = 7,
}

/// A ChaCha8 stream for `purpose`, keyed by `seed`, at sub-stream `stream`.
///
/// The 256-bit key is `seed (LE) || purpose (LE) || "gauntlet" || 8 zero bytes`; the sub-stream
/// is ChaCha's 64-bit stream (nonce) number. Creating one costs a single ChaCha block, so a
/// stream per transaction is affordable and makes transaction `i` depend on (seed, i) alone.
pub fn stream(seed: u64, purpose: Purpose, stream: u64) -> Draw {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(purpose as u64).to_le_bytes());
    key[16..24].copy_from_slice(b"gauntlet");
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(stream);
    Draw { rng, spare: None }
}

/// The same stream as `stream`, positioned at its `word`-th 64-bit word: O(1) random access,
/// for decisions that must depend on a transaction number alone (which calls a fault hits).
pub fn stream_at(seed: u64, purpose: Purpose, stream_no: u64, word: u64) -> Draw {
    let mut d = stream(seed, purpose, stream_no);
    // ChaCha positions count 32-bit words; one of our words is two of them.
    d.rng.set_word_pos(word as u128 * 2);
    d
}

/// `Draw::unit` of the word `w`.
#[inline]
fn unit_of(w: u64) -> f64 {
    (w >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The Box–Muller pair `Draw::normal` makes of two consecutive words: u1 = 1 - unit of `w1`,
/// u2 = unit of `w2`, r = sqrt(-2 ln u1), and (r·cos(2π u2), r·sin(2π u2)).
#[inline]
pub fn box_muller(w1: u64, w2: u64) -> (f64, f64) {
    let u1 = 1.0 - unit_of(w1);
    let u2 = unit_of(w2);
    let r = libm::sqrt(-2.0 * libm::log(u1));
    let (sin, cos) = libm::sincos(std::f64::consts::TAU * u2);
    (r * cos, r * sin)
}

/// The lognormal value of the standard normal `z`: `median * exp(sigma * z)`.
#[inline]
pub fn lognormal_of(median: f64, sigma: f64, z: f64) -> f64 {
    median * libm::exp(sigma * z)
}

/// `whole(lognormal_of(median, sigma, z))` for a `whole` that never decreases as its argument
/// grows (a duration in whole nanoseconds, say), with the speed of `quick_exp`; see
/// `through_exp`. `median` must not be negative.
#[inline]
pub fn through_lognormal<T: PartialEq>(
    median: f64,
    sigma: f64,
    z: f64,
    whole: impl Fn(f64) -> T,
) -> T {
    through_exp(sigma * z, |e| whole(median * e))
}

/// How far `quick_exp` may be from libm's `exp`, relative: 2^-40, about 9e-13, some 480 times
/// the largest difference measured between them (1.9e-15, about 9 ulps).
const EXP_SLACK: f64 = 1.0 / (1u64 << 40) as f64;

/// `f(libm::exp(x))` for an `f` that is monotone (in either direction) and coarse, such as a
/// rounding to whole nanoseconds or a comparison with thresholds, without paying for libm's
/// `exp` when that cannot change the answer.
///
/// `quick_exp` (inlined: no call into a library, and no errno wrapper, which alone took a
/// quarter of glibc's `exp` time on `peak-load`) gives `e`; libm's value lies within
/// `EXP_SLACK` of it, so `f` of libm's value lies between
/// `f(e·(1 − slack))` and `f(e·(1 + slack))`. When those two agree, that is the answer, exactly
/// the one libm's `exp` gives; when they differ (a result within about 1e-12 of a step of `f`,
/// a few in a million calls), libm's `exp` decides. Results are therefore libm's on every
/// machine, bit for bit, whatever `quick_exp` rounds to.
#[inline]
pub fn through_exp<T: PartialEq>(x: f64, f: impl Fn(f64) -> T) -> T {
    through_exp_with(quick_exp, x, f)
}

/// exp(t) by its Taylor series, for the table below (at compile time; t < 1, so 30 terms are
/// far more than enough and the sum is within a few ulps).
const fn exp_series(t: f64) -> f64 {
    let (mut sum, mut term, mut n) = (1.0, 1.0, 1);
    while n < 30 {
        term = term * t / n as f64;
        sum += term;
        n += 1;
    }
    sum
}

/// 2^(j/128) for j in 0..128.
const EXP2_128THS: [f64; 128] = {
    let mut t = [0.0; 128];
    let mut j = 0;
    while j < 128 {
        t[j] = exp_series(j as f64 * std::f64::consts::LN_2 / 128.0);
        j += 1;
    }
    t
};

/// ln 2 / 128 in two parts: the high one with its last 20 bits clear, so that k times it is
/// exact for every k `quick_exp` meets (|k| < 2^17), and the rest, with the part of ln 2 that
/// `LN_2` itself rounds off (2.3190468138462996e-17).
const LN2_128_HI: f64 = f64::from_bits((std::f64::consts::LN_2 / 128.0).to_bits() & !0xf_ffff);
const LN2_128_LO: f64 =
    (std::f64::consts::LN_2 / 128.0 - LN2_128_HI) + 2.319_046_813_846_299_6e-17 / 128.0;

/// e^x within about 1e-15, relative, for |x| < 700 (beyond that, and for NaN, libm's `exp`):
/// x = k·ln2/128 + r with |r| <= ln2/256, e^x = 2^(k div 128) · 2^((k mod 128)/128) · e^r, e^r
/// by its Taylor polynomial to r^4 (the first term left out is below 1.3e-15), evaluated in two
/// independent halves, since the model waits on each result. Not libm's bits: it is only ever
/// used through `through_exp`, whose slack is some 500 times its error (a test holds it to
/// 2^-46 of libm's value).
#[inline]
pub fn quick_exp(x: f64) -> f64 {
    if x.is_nan() || x.abs() >= 700.0 {
        return libm::exp(x);
    }
    // Rounds x·128/ln2 to the nearest whole number: adding 1.5·2^52 leaves no fraction bits.
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    let kf = (x * (128.0 / std::f64::consts::LN_2) + SHIFT) - SHIFT;
    let k = kf as i64;
    let r = (x - kf * LN2_128_HI) - kf * LN2_128_LO;
    let r2 = r * r;
    let p = (1.0 + r) + r2 * ((0.5 + r * (1.0 / 6.0)) + r2 * (1.0 / 24.0));
    let scale = f64::from_bits(((1023 + (k >> 7)) as u64) << 52);
    EXP2_128THS[(k & 127) as usize] * scale * p
}

/// `through_exp` with `fast` as the approximate `exp` (tests use a worse one).
#[inline]
fn through_exp_with<T: PartialEq>(fast: fn(f64) -> f64, x: f64, f: impl Fn(f64) -> T) -> T {
    let e = fast(x);
    if e.is_normal() {
        let lo = f(e * (1.0 - EXP_SLACK));
        if lo == f(e * (1.0 + EXP_SLACK)) {
            return lo;
        }
    }
    f(libm::exp(x))
}

/// The sigma of a lognormal with this median and 99th percentile (0 when p99 <= median).
pub fn lognormal_sigma(median: f64, p99: f64) -> f64 {
    if p99 > median && median > 0.0 {
        libm::log(p99 / median) / Z99
    } else {
        0.0
    }
}

/// z such that P(Z <= z) = 0.99 for a standard normal Z: turns (median, p99) into a lognormal.
pub const Z99: f64 = 2.326_347_874_040_841;

/// A seeded source of values. Each method documents exactly how it maps raw 64-bit words.
#[derive(Clone)]
pub struct Draw {
    rng: ChaCha8Rng,
    /// The second value of the last Box–Muller pair, not yet used.
    spare: Option<f64>,
}

impl Draw {
    /// The next raw 64-bit word of the ChaCha8 stream.
    pub fn word(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// The position of the next word, counted in ChaCha's 32-bit words (two per word).
    pub fn word_pos(&self) -> u128 {
        self.rng.get_word_pos()
    }

    /// Moves to `word_pos` (counted as `word_pos` counts): what follows is what the stream
    /// gives from there. A pending Box–Muller value is dropped.
    pub fn seek(&mut self, word_pos: u128) {
        self.rng.set_word_pos(word_pos);
        self.spare = None;
    }

    /// Uniform in [0, 1): the top 53 bits of one word, times 2^-53.
    pub fn unit(&mut self) -> f64 {
        unit_of(self.word())
    }

    /// Uniform in (0, 1]: `1 - unit()`, safe to take the logarithm of.
    pub fn unit_open(&mut self) -> f64 {
        1.0 - self.unit()
    }

    /// Uniform in [lo, hi): `lo + (hi - lo) * unit()`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in [0, n) for n > 0: the high word of `word() * n` (Lemire's multiply;
    /// its bias is below n / 2^64, far under anything a load test can observe). 0 when n is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.word() as u128 * n as u128) >> 64) as u64
    }

    /// True with probability p: `unit() < p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Exponential with mean 1: `-ln(unit_open())`.
    pub fn exponential(&mut self) -> f64 {
        -libm::log(self.unit_open())
    }

    /// Standard normal by Box–Muller: two draws u1 = unit_open(), u2 = unit() give the pair
    /// r·cos(2π u2) and r·sin(2π u2) with r = sqrt(-2 ln u1); calls return the cosine first and
    /// the sine on the next call.
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let w1 = self.word();
        let (cos, sin) = box_muller(w1, self.word());
        self.spare = Some(sin);
        cos
    }

    /// Lognormal with the given median and 99th percentile (p99 >= median > 0):
    /// `median * exp(sigma * normal())` with `sigma = ln(p99 / median) / z99`.
    pub fn lognormal(&mut self, median: f64, p99: f64) -> f64 {
        self.lognormal_sigma(median, lognormal_sigma(median, p99))
    }

    /// The same with sigma computed once by `lognormal_sigma`.
    pub fn lognormal_sigma(&mut self, median: f64, sigma: f64) -> f64 {
        lognormal_of(median, sigma, self.normal())
    }

    /// Poisson with mean `mu` (0 for `mu <= 0` or not finite).
    ///
    /// Below 10: inversion, one `unit()` compared with the running CDF from k = 0 (capped at
    /// k = 200, far in the tail). From 10: Hörmann's transformed rejection with squeeze (PTRS,
    /// 1993): each try takes `u = unit() - 0.5` and `v = unit()`, forms
    /// `k = floor((2a / (0.5 - |u|) + b) u + mu + 0.43)` and accepts by the squeeze or by the
    /// exact log-density test; logs and lgamma from libm, so the same words give the same k
    /// everywhere.
    pub fn poisson(&mut self, mu: f64) -> u64 {
        if !mu.is_finite() || mu <= 0.0 {
            return 0;
        }
        if mu < 10.0 {
            let u = self.unit();
            let mut p = libm::exp(-mu);
            let mut cdf = p;
            let mut k = 0;
            while u > cdf && k < 200 {
                k += 1;
                p *= mu / k as f64;
                cdf += p;
            }
            return k;
        }
        let slam = libm::sqrt(mu);
        let loglam = libm::log(mu);
        let b = 0.931 + 2.53 * slam;
        let a = -0.059 + 0.02483 * b;
        let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
        let vr = 0.9277 - 3.6224 / (b - 2.0);
        loop {
            let u = self.unit() - 0.5;
            let v = self.unit();
            let us = 0.5 - u.abs();
            let k = libm::floor((2.0 * a / us + b) * u + mu + 0.43);
            if us >= 0.07 && v <= vr {
                return k as u64;
            }
            if k < 0.0 || (us < 0.013 && v > us) {
                continue;
            }
            let lhs = libm::log(v) + libm::log(inv_alpha) - libm::log(a / (us * us) + b);
            let rhs = -mu + k * loglam - libm::lgamma(k + 1.0);
            if lhs <= rhs {
                return k as u64;
            }
        }
    }

    /// Index chosen with probability proportional to its weight: the first i whose running sum
    /// of weights exceeds `unit() * total`. Weights must be finite and >= 0 with a positive sum;
    /// otherwise index 0.
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let target = self.unit() * total;
        let mut running = 0.0;
        for (i, w) in weights.iter().enumerate() {
            running += w;
            if target < running {
                return i;
            }
        }
        // Only reachable through rounding at the very top, or an all-zero table.
        weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_counts_have_the_mean_and_variance_asked_for() {
        for mu in [0.7, 4.0, 25.0, 1_000.0, 250_000.0] {
            let n = 4_000;
            let draws: Vec<f64> = (0..n)
                .map(|i| stream(3, Purpose::Arrivals, i).poisson(mu) as f64)
                .collect();
            let mean = draws.iter().sum::<f64>() / n as f64;
            let var = draws.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
            // Five standard errors of the mean; the variance within 15%.
            assert!(
                (mean - mu).abs() < 5.0 * (mu / n as f64).sqrt(),
                "mu {mu}: mean {mean}"
            );
            assert!((var / mu - 1.0).abs() < 0.15, "mu {mu}: variance {var}");
        }
        assert_eq!(stream(3, Purpose::Arrivals, 0).poisson(0.0), 0);
        assert_eq!(stream(3, Purpose::Arrivals, 0).poisson(f64::NAN), 0);
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map(|_| stream(42, Purpose::Transactions, 7).word())
            .collect();
        let mut s = stream(42, Purpose::Transactions, 7);
        let b: Vec<u64> = (0..4).map(|_| s.word()).collect();
        assert_eq!(a[0], b[0]);
        assert_ne!(b[0], b[1]);
        assert_ne!(stream(42, Purpose::Transactions, 8).word(), b[0]);
        assert_ne!(stream(43, Purpose::Transactions, 7).word(), b[0]);
        assert_ne!(stream(42, Purpose::Customers, 7).word(), b[0]);
    }

    /// Guards the documented key layout: a change here silently changes every plan.
    #[test]
    fn golden_first_words() {
        let mut s = stream(42, Purpose::Arrivals, 0);
        let words = [s.word(), s.word()];
        insta::assert_debug_snapshot!(words);
    }

    #[test]
    fn stream_at_is_random_access_into_the_stream() {
        let mut s = stream(42, Purpose::Faults, 3);
        let words: Vec<u64> = (0..10).map(|_| s.word()).collect();
        for (i, w) in words.iter().enumerate() {
            assert_eq!(stream_at(42, Purpose::Faults, 3, i as u64).word(), *w);
        }
    }

    #[test]
    fn mappings_stay_in_range() {
        let mut s = stream(1, Purpose::ModelNoise, 0);
        for _ in 0..10_000 {
            let u = s.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(s.unit_open() > 0.0);
            assert!(s.below(10) < 10);
            assert!(s.exponential() >= 0.0);
            assert!(s.lognormal(10.0, 50.0) > 0.0);
        }
        assert_eq!(s.below(0), 0);
    }

    #[test]
    fn lognormal_has_the_asked_median_and_p99() {
        let mut s = stream(5, Purpose::ModelNoise, 1);
        let mut xs: Vec<f64> = (0..200_000).map(|_| s.lognormal(20.0, 100.0)).collect();
        xs.sort_by(f64::total_cmp);
        let median = xs[xs.len() / 2];
        let p99 = xs[xs.len() * 99 / 100];
        assert!((median - 20.0).abs() < 0.5, "median {median}");
        assert!((p99 - 100.0).abs() < 5.0, "p99 {p99}");
    }

    #[test]
    fn weighted_follows_weights() {
        let mut s = stream(9, Purpose::Transactions, 0);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[s.weighted(&[1.0, 0.0, 2.0])] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!(
            (counts[2] as f64 / counts[0] as f64 - 2.0).abs() < 0.1,
            "{counts:?}"
        );
    }

    /// Inputs a step of "whole nanoseconds" lies within a few ulps of, and ordinary ones.
    fn exp_inputs() -> Vec<(f64, f64)> {
        let mut d = stream(17, Purpose::ModelNoise, 0);
        let mut v = Vec::new();
        for median in [1.0, 150_000.0, 2_000_000.0, 7.5e9] {
            for _ in 0..20_000 {
                v.push((median, d.uniform(-12.0, 12.0)));
            }
            // x with median·exp(x) on a whole number n, then nudged by up to 40 ulps.
            for _ in 0..2_000 {
                let n = (median * libm::exp(d.uniform(-3.0, 3.0))).round().max(1.0);
                let x = libm::log(n / median);
                for ulps in -40i64..=40 {
                    v.push((median, f64::from_bits((x.to_bits() as i64 + ulps) as u64)));
                }
            }
        }
        v
    }

    #[test]
    fn quick_exp_is_within_a_64th_of_the_slack_of_libms_exp() {
        let mut d = stream(41, Purpose::ModelNoise, 3);
        let mut xs: Vec<f64> = (0..400_000).map(|_| d.uniform(-700.0, 700.0)).collect();
        xs.extend((0..400_000).map(|_| d.uniform(-20.0, 20.0)));
        // Around the table's steps and the range's ends.
        for k in -90_000i64..=90_000 {
            let x = k as f64 * std::f64::consts::LN_2 / 256.0;
            xs.extend([x, f64::from_bits(x.to_bits() + 1), -x]);
        }
        xs.extend([0.0, -0.0, 699.999, -699.999, 1e-300, -1e-300]);
        let mut worst = 0.0f64;
        for x in xs {
            let (q, l) = (quick_exp(x), libm::exp(x));
            assert!(q.is_normal() && l.is_normal(), "{x}");
            worst = worst.max(((q - l) / l).abs());
        }
        eprintln!("worst relative error {worst:e}");
        assert!(worst < EXP_SLACK / 64.0, "worst relative error {worst:e}");
        // Past the range, libm's own answer.
        for x in [
            700.0,
            -700.0,
            709.7,
            -745.0,
            1e6,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(quick_exp(x).to_bits(), libm::exp(x).to_bits(), "{x}");
        }
        assert!(quick_exp(f64::NAN).is_nan());
    }

    #[test]
    fn through_exp_gives_libms_answer_even_from_an_exp_off_by_its_slack() {
        let whole = |b: f64| (b * 1.0 * 1.0).max(1.0) as u64;
        // Within the slack: libm's value moved up or down by a quarter of it.
        let up: fn(f64) -> f64 = |x| libm::exp(x) * (1.0 + EXP_SLACK / 4.0);
        let down: fn(f64) -> f64 = |x| libm::exp(x) * (1.0 - EXP_SLACK / 4.0);
        let mut moved = 0;
        for (median, x) in exp_inputs() {
            let exact = whole(median * libm::exp(x));
            assert_eq!(
                through_lognormal(median, x, 1.0, whole),
                exact,
                "{median} {x}"
            );
            for fast in [up, down] {
                assert_eq!(
                    through_exp_with(fast, x, |e| whole(median * e)),
                    exact,
                    "{median} {x}"
                );
                // The test has teeth: taking the approximate value as it is would be wrong.
                moved += (whole(median * fast(x)) != exact) as u32;
            }
        }
        assert!(moved > 1_000, "only {moved} inputs near a step");
    }
}
