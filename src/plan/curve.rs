//! The rate of each load pattern over its phase, its integral Λ(t) (the expected number of
//! arrivals by time t) and the inverse of that integral, which places arrivals. Times are
//! seconds from the phase's start, as f64; all transcendental maths goes through `libm` so the
//! same seed places the same arrivals on every machine.

use std::f64::consts::{PI, TAU};

use crate::rng::{self, Purpose};
use crate::scenario::model::Load;

/// The most levels a `chaos` phase may have (duration / every); keeps plans small.
pub const MAX_CHAOS_LEVELS: u64 = 1_000_000;

/// The rate curve of one phase.
#[derive(Clone, Debug, PartialEq)]
pub enum Curve {
    Constant {
        rate: f64,
    },
    Ramp {
        from: f64,
        to: f64,
        len: f64,
    },
    /// Piecewise-constant levels of equal width (`step` and `chaos`); the last may be cut short.
    Stairs {
        width: f64,
        levels: Vec<f64>,
        /// prefix[j]: expected arrivals before stair j.
        prefix: Vec<f64>,
    },
    Burst {
        base: f64,
        peak: f64,
        every: f64,
        hold: f64,
    },
    Wave {
        base: f64,
        amplitude: f64,
        period: f64,
    },
    Pause,
}

impl Curve {
    /// The curve of `load` over a phase of `len` seconds. `chaos` levels are drawn from the
    /// seed's chaos stream for this phase: level j is `min + (max - min) * unit()`, the j-th draw.
    pub fn new(load: &Load, len: f64, seed: u64, phase_index: usize) -> Curve {
        match *load {
            Load::Constant { rate } => Curve::Constant { rate: rate.0 },
            Load::Ramp { from, to } => Curve::Ramp {
                from: from.0,
                to: to.0,
                len,
            },
            Load::Step { from, to, steps } => {
                let n = steps.max(2) as usize;
                let levels = (0..n)
                    .map(|j| from.0 + (to.0 - from.0) * j as f64 / (n - 1) as f64)
                    .collect();
                Curve::stairs(len / n as f64, levels)
            }
            Load::Burst {
                base,
                peak,
                every,
                hold,
            } => Curve::Burst {
                base: base.0,
                peak: peak.0,
                every: every.as_secs_f64(),
                hold: hold.as_secs_f64().min(every.as_secs_f64()),
            },
            Load::Wave {
                base,
                amplitude,
                period,
            } => Curve::Wave {
                base: base.0,
                amplitude: amplitude.0,
                period: period.as_secs_f64(),
            },
            Load::Chaos { min, max, every } => {
                let width = every.as_secs_f64();
                let n = chaos_levels(len, width) as usize;
                let mut draw = rng::stream(seed, Purpose::ChaosLevels, phase_index as u64);
                let levels = (0..n).map(|_| draw.uniform(min.0, max.0)).collect();
                Curve::stairs(width, levels)
            }
            Load::Pause {} => Curve::Pause,
        }
    }

    fn stairs(width: f64, levels: Vec<f64>) -> Curve {
        let mut prefix = Vec::with_capacity(levels.len());
        let mut sum = 0.0;
        for l in &levels {
            prefix.push(sum);
            sum += l * width;
        }
        Curve::Stairs {
            width,
            levels,
            prefix,
        }
    }

    /// The rate (TPS) at `t` seconds into the phase.
    pub fn rate(&self, t: f64) -> f64 {
        match self {
            Curve::Constant { rate } => *rate,
            Curve::Ramp { from, to, len } => {
                if *len > 0.0 {
                    from + (to - from) * (t / len)
                } else {
                    *from
                }
            }
            Curve::Stairs { width, levels, .. } => levels[stair(t, *width, levels.len())],
            Curve::Burst {
                base,
                peak,
                every,
                hold,
            } => {
                let r = t - libm::floor(t / every) * every;
                if r < *hold { *peak } else { *base }
            }
            Curve::Wave {
                base,
                amplitude,
                period,
            } => (base + amplitude * libm::sin(TAU * t / period)).max(0.0),
            Curve::Pause => 0.0,
        }
    }

    /// Λ(t): the expected number of arrivals in [0, t].
    pub fn integral(&self, t: f64) -> f64 {
        match self {
            Curve::Constant { rate } => rate * t,
            Curve::Ramp { from, to, len } => {
                if *len > 0.0 {
                    from * t + (to - from) * t * t / (2.0 * len)
                } else {
                    0.0
                }
            }
            Curve::Stairs {
                width,
                levels,
                prefix,
            } => {
                let j = stair(t, *width, levels.len());
                prefix[j] + levels[j] * (t - j as f64 * width)
            }
            Curve::Burst {
                base,
                peak,
                every,
                hold,
            } => {
                let per = peak * hold + base * (every - hold);
                let n = libm::floor(t / every);
                let r = t - n * every;
                let partial = if r < *hold {
                    peak * r
                } else {
                    peak * hold + base * (r - hold)
                };
                n * per + partial
            }
            Curve::Wave {
                base,
                amplitude,
                period,
            } => wave_integral(*base, *amplitude, *period, t),
            Curve::Pause => 0.0,
        }
    }

    /// The earliest t with Λ(t) = x, for 0 <= x <= Λ(len). Arrivals are placed with it.
    pub fn inverse(&self, x: f64) -> f64 {
        match self {
            Curve::Constant { rate } => {
                if *rate > 0.0 {
                    x / rate
                } else {
                    0.0
                }
            }
            Curve::Ramp { from, to, len } => {
                // from*t + k*t^2 = x, solved in the form that stays exact when k is tiny.
                let k = (to - from) / (2.0 * len);
                let disc = (from * from + 4.0 * k * x).max(0.0);
                let denom = from + libm::sqrt(disc);
                if denom > 0.0 { 2.0 * x / denom } else { 0.0 }
            }
            Curve::Stairs {
                width,
                levels,
                prefix,
            } => {
                let j = prefix.partition_point(|p| *p <= x).saturating_sub(1);
                let base = j as f64 * width;
                if levels[j] > 0.0 {
                    base + (x - prefix[j]) / levels[j]
                } else {
                    base
                }
            }
            Curve::Burst {
                base,
                peak,
                every,
                hold,
            } => {
                let per = peak * hold + base * (every - hold);
                if per <= 0.0 {
                    return 0.0;
                }
                let n = libm::floor(x / per);
                let rem = x - n * per;
                let burst_mass = peak * hold;
                if rem < burst_mass {
                    n * every + rem / peak
                } else if *base > 0.0 {
                    n * every + hold + (rem - burst_mass) / base
                } else {
                    n * every + hold
                }
            }
            Curve::Wave {
                base,
                amplitude,
                period,
            } => self.solve(x, *base, *amplitude, *period, true),
            Curve::Pause => 0.0,
        }
    }

    /// Wave inverse: Newton's method on Λ(t) - x inside a bracket of one period, falling back
    /// to bisection whenever a Newton step would leave the bracket (where the rate is 0).
    ///
    /// `stop_when_stuck` ends it where no float lies between the bracket's ends (the tests
    /// run it to the end without, as the reference the shortcut must match).
    fn solve(&self, x: f64, base: f64, amplitude: f64, period: f64, stop_when_stuck: bool) -> f64 {
        let per_period = wave_integral(base, amplitude, period, period);
        if per_period <= 0.0 {
            return 0.0;
        }
        let n = libm::floor(x / per_period);
        let mut lo = n * period;
        let mut hi = lo + period;
        let mut t = lo + (x - n * per_period) / per_period * period;
        for _ in 0..200 {
            let f = self.integral(t) - x;
            if f == 0.0 {
                return t;
            }
            if f > 0.0 {
                hi = t;
            } else {
                lo = t;
            }
            if hi - lo < 1e-11 {
                break;
            }
            if stop_when_stuck && lo.next_up() >= hi {
                // No float lies between them (far into a long wave, where one ulp is over the
                // tolerance): Newton and bisection are stuck on their midpoint, and the loop
                // would evaluate it to its end. What it would then return:
                let m = 0.5 * (lo + hi);
                return if self.integral(m) >= x { m } else { hi };
            }
            let r = self.rate(t);
            let next = if r > 0.0 { t - f / r } else { f64::NAN };
            t = if next > lo && next < hi {
                next
            } else {
                0.5 * (lo + hi)
            };
        }
        // `hi` always satisfies Λ(hi) >= x: the earliest instant within the tolerance.
        if self.integral(t) >= x { t } else { hi }
    }
}

/// How many levels a chaos phase of `len` seconds changing every `width` seconds has.
pub fn chaos_levels(len: f64, width: f64) -> u64 {
    if width <= 0.0 {
        return u64::MAX;
    }
    (libm::ceil(len / width - 1e-9) as u64).max(1)
}

fn stair(t: f64, width: f64, n: usize) -> usize {
    if width <= 0.0 || t <= 0.0 {
        return 0;
    }
    ((t / width) as usize).min(n - 1)
}

/// ∫0^t max(0, base + amplitude·sin(2πs/period)) ds in closed form.
fn wave_integral(base: f64, amplitude: f64, period: f64, t: f64) -> f64 {
    let omega = TAU / period;
    // The unclipped antiderivative in θ = ωt.
    let f = |theta: f64| base * theta + amplitude * (1.0 - libm::cos(theta));
    let theta = omega * t;
    if amplitude <= base {
        return f(theta) / omega;
    }
    // Below zero where sin θ < -base/amplitude: θ in (π + α, 2π - α) of every period.
    let alpha = libm::asin(base / amplitude);
    let (t1, t2) = (PI + alpha, TAU - alpha);
    let per_period = f(t1) + f(TAU) - f(t2);
    let n = libm::floor(theta / TAU);
    let phi = theta - n * TAU;
    let partial = if phi <= t1 {
        f(phi)
    } else if phi <= t2 {
        f(t1)
    } else {
        f(t1) + f(phi) - f(t2)
    };
    (n * per_period + partial) / omega
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::{Load, Rate};
    use crate::units::Duration;

    /// The wave's inverse with its loop run to the end, as it was before it stopped where no
    /// float lies between its bracket's ends: the reference the shortcut must match.
    fn solve_to_the_end(c: &Curve, x: f64) -> f64 {
        let Curve::Wave {
            base,
            amplitude,
            period,
        } = *c
        else {
            unreachable!("a wave")
        };
        c.solve(x, base, amplitude, period, false)
    }

    /// Far into a month-long wave (where one ulp of t is over the tolerance) the inverse
    /// stops early and still gives, bit for bit, what running its loop to the end gives.
    #[test]
    fn a_long_waves_inverse_stops_early_with_the_same_answer() {
        for (base, amplitude) in [(2.0, 1.0), (300.0, 500.0), (0.5, 0.5)] {
            let c = Curve::Wave {
                base,
                amplitude,
                period: 86_400.0,
            };
            let total = c.integral(720.0 * 3600.0);
            for i in 0..20_000u64 {
                let x = total * (i as f64 + 0.37) / 20_000.0;
                let (got, want) = (c.inverse(x), solve_to_the_end(&c, x));
                assert_eq!(got.to_bits(), want.to_bits(), "x {x}: {got} vs {want}");
            }
        }
    }

    fn numeric_integral(c: &Curve, t: f64) -> f64 {
        let n = 200_000;
        let h = t / n as f64;
        (0..n).map(|i| c.rate((i as f64 + 0.5) * h) * h).sum()
    }

    fn curves() -> Vec<Curve> {
        let d = |s: u64| Duration::from_secs(s);
        let loads = [
            Load::Constant { rate: Rate(1000.0) },
            Load::Ramp {
                from: Rate(0.0),
                to: Rate(1000.0),
            },
            Load::Ramp {
                from: Rate(8000.0),
                to: Rate(100.0),
            },
            Load::Step {
                from: Rate(1000.0),
                to: Rate(4000.0),
                steps: 4,
            },
            Load::Burst {
                base: Rate(100.0),
                peak: Rate(900.0),
                every: d(10),
                hold: d(3),
            },
            Load::Wave {
                base: Rate(500.0),
                amplitude: Rate(200.0),
                period: d(10),
            },
            Load::Wave {
                base: Rate(100.0),
                amplitude: Rate(300.0),
                period: d(7),
            },
            Load::Chaos {
                min: Rate(0.0),
                max: Rate(2000.0),
                every: d(7),
            },
        ];
        loads.iter().map(|l| Curve::new(l, 60.0, 42, 0)).collect()
    }

    #[test]
    fn closed_form_integrals_match_numeric_ones() {
        for c in curves() {
            for t in [0.0, 1.3, 17.0, 33.3, 60.0] {
                let exact = c.integral(t);
                let numeric = numeric_integral(&c, t);
                assert!(
                    (exact - numeric).abs() < 1e-3 * numeric.max(1.0),
                    "{c:?} at {t}: {exact} vs {numeric}"
                );
            }
        }
    }

    #[test]
    fn inverse_undoes_the_integral() {
        for c in curves() {
            let total = c.integral(60.0);
            for i in 1..100 {
                let x = total * i as f64 / 100.0;
                let t = c.inverse(x);
                assert!((0.0..=60.0 + 1e-9).contains(&t), "{c:?}: t {t}");
                assert!(
                    (c.integral(t) - x).abs() < 1e-6 * total.max(1.0),
                    "{c:?}: Λ({t}) = {} != {x}",
                    c.integral(t)
                );
            }
        }
    }

    #[test]
    fn clipped_wave_never_goes_below_zero() {
        let c = Curve::Wave {
            base: 100.0,
            amplitude: 300.0,
            period: 7.0,
        };
        for i in 0..700 {
            assert!(c.rate(i as f64 / 10.0) >= 0.0);
        }
        // The clipped integral exceeds the unclipped one (which would subtract the negative part).
        assert!(c.integral(7.0) > 100.0 * 7.0);
    }
}
