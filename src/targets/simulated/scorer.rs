//! How the model decides. The ML scorer turns a transaction's indicators into a fraud
//! probability (a logistic model with seeded noise standing in for everything a real model sees
//! that the indicators do not capture); the rules engine applies fixed thresholds. Healthy
//! decisions use both; a degraded decision (scorer unavailable, or no features) uses the rules
//! alone, and catches markedly less fraud. docs/model.md gives the calibration.

use crate::rng;
use crate::targets::Decision;
use crate::workload::{Indicators, Transaction};

/// Probability at or above which the healthy pipeline blocks.
pub const BLOCK_AT: f64 = 0.60;
/// Probability at or above which it sends to review.
pub const REVIEW_AT: f64 = 0.30;
/// Spread of the scorer's noise on the logit scale.
pub const NOISE_SD: f64 = 0.9;

/// What the model needs of a transaction, worked out once, where the transaction is
/// generated (on the thread producing arrivals ahead of a simulated run): the run loop
/// then carries 32 bytes instead of the whole transaction, and does only the noisy part of
/// the scorer's work.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Facts {
    pub fraud: bool,
    pub amount_usd_cents: u64,
    /// The scorer's logit before its noise (see `logit`).
    pub logit: f64,
    /// What the rules engine decides.
    pub rules: Decision,
}

impl Facts {
    pub fn of(tx: &Transaction) -> Facts {
        Facts {
            fraud: tx.fraud,
            amount_usd_cents: tx.amount_usd_cents,
            logit: logit(&tx.indicators, tx.amount_usd_cents),
            rules: rules_on(&tx.indicators),
        }
    }
}

/// The ML scorer's fraud probability for `tx`, given a standard normal draw `noise`.
pub fn ml_probability(tx: &Transaction, noise: f64) -> f64 {
    score(&tx.indicators, tx.amount_usd_cents, noise)
}

/// The same from a transaction's indicators and amount (what `gauntlet serve` receives).
pub fn score(i: &Indicators, amount_usd_cents: u64, noise: f64) -> f64 {
    probability(logit(i, amount_usd_cents), noise)
}

/// The scorer's logit from the indicators alone, before its noise.
pub fn logit(i: &Indicators, amount_usd_cents: u64) -> f64 {
    let usd = amount_usd_cents as f64 / 100.0;
    let mut logit = -8.0;
    logit += 3.3 * i.new_device as u8 as f64;
    logit += 3.6 * i.country_mismatch as u8 as f64;
    logit += 3.2 * i.high_risk_merchant as u8 as f64;
    logit += 1.1 * libm::sqrt(i.txns_last_hour as f64);
    logit += 2.0 * libm::log(i.amount_ratio.max(0.05)).max(0.0);
    logit += 1.3 * i.first_time_merchant as u8 as f64;
    logit += 4.0 * i.ip_risk;
    // Tiny card-not-present charges are what card testing looks like.
    if usd < 5.0 && i.txns_last_hour >= 3 {
        logit += 2.0;
    }
    // Old accounts with a known device and a normal amount are rarely fraud.
    if i.account_age_days > 365 && !i.new_device && i.amount_ratio < 1.5 {
        logit -= 1.0;
    }
    logit
}

/// The fraud probability from the logit of `logit` and a standard normal draw `noise`: the
/// last step of `score`, the only one the draw enters.
pub fn probability(logit: f64, noise: f64) -> f64 {
    let logit = logit + NOISE_SD * noise;
    1.0 / (1.0 + libm::exp(-logit))
}

/// What the rules engine alone decides.
pub fn rules(tx: &Transaction) -> Decision {
    rules_on(&tx.indicators)
}

/// The same from a transaction's indicators.
pub fn rules_on(i: &Indicators) -> Decision {
    if i.txns_last_hour >= 15 || (i.new_device && i.country_mismatch) {
        Decision::Block
    } else if (i.high_risk_merchant && i.amount_ratio > 3.0)
        || (i.new_device && i.amount_ratio > 4.0)
    {
        Decision::Review
    } else {
        Decision::Approve
    }
}

/// The healthy decision: the score's verdict, unless a rule blocks outright.
pub fn combine(probability: f64, rules: Option<Decision>) -> Decision {
    overrule(scored(probability), rules)
}

/// What the score alone decides, by the thresholds.
pub fn scored(probability: f64) -> Decision {
    if probability >= BLOCK_AT {
        Decision::Block
    } else if probability >= REVIEW_AT {
        Decision::Review
    } else {
        Decision::Approve
    }
}

/// The logits at which the probability is `BLOCK_AT` and `REVIEW_AT`: ln(t / (1 - t)), to
/// within a few ulps (a test holds them to libm's values).
const BLOCK_LOGIT: f64 = 0.4054651081081642;
const REVIEW_LOGIT: f64 = -0.8472978603872036;
/// How far from those logits a logit must be for its side to decide: far more than the
/// rounding of `1 / (1 + exp(-logit))` can move it (a few ulps of a probability whose slope
/// is at most 1/4), and far less than any logit a test or a run can tell apart.
const EDGE_SLACK: f64 = 1e-9;

/// `scored(probability(logit, noise))` without an `exp` where the logit's side of the
/// thresholds decides (the probability grows with the logit); near a threshold through
/// `rng::through_exp`, which gives libm's answer.
#[inline]
pub fn scored_at(logit: f64, noise: f64) -> Decision {
    let logit = logit + NOISE_SD * noise;
    let (block, review) = (logit - BLOCK_LOGIT, logit - REVIEW_LOGIT);
    if block.abs() > EDGE_SLACK && review.abs() > EDGE_SLACK {
        return if block > 0.0 {
            Decision::Block
        } else if review > 0.0 {
            Decision::Review
        } else {
            Decision::Approve
        };
    }
    rng::through_exp(-logit, |e| scored(1.0 / (1.0 + e)))
}

/// The healthy decision from the score's verdict and the rules': a rule's hard block stands;
/// its softer opinions are the score's job.
pub fn overrule(scored: Decision, rules: Option<Decision>) -> Decision {
    match rules {
        Some(Decision::Block) => Decision::Block,
        _ => scored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{self, Purpose};
    use crate::scenario::model::Workload;
    use crate::workload::Generator;

    struct Confusion {
        fraud: u32,
        caught: u32,
        legit: u32,
        flagged_legit: u32,
    }

    fn measure(decide: impl Fn(&Transaction, f64) -> Decision) -> Confusion {
        let g = Generator::new(11, &Workload::default());
        let mut noise = rng::stream(11, Purpose::ModelNoise, 0);
        let mut c = Confusion {
            fraud: 0,
            caught: 0,
            legit: 0,
            flagged_legit: 0,
        };
        for i in 0..100_000 {
            let tx = g.transaction(i);
            let d = decide(&tx, noise.normal());
            let flagged = d != Decision::Approve;
            if tx.fraud {
                c.fraud += 1;
                c.caught += flagged as u32;
            } else {
                c.legit += 1;
                c.flagged_legit += flagged as u32;
            }
        }
        c
    }

    /// The calibration docs/model.md quotes: healthy recall about 0.9 at a false-positive rate
    /// near 1%; rules alone markedly worse at catching fraud.
    #[test]
    fn facts_decide_as_the_whole_transaction_does() {
        let g = Generator::new(5, &Workload::default());
        let mut noise = rng::stream(5, Purpose::ModelNoise, 0);
        for i in 0..20_000 {
            let tx = g.transaction(i);
            let f = Facts::of(&tx);
            let z = noise.normal();
            let (whole, split) = (ml_probability(&tx, z), probability(f.logit, z));
            assert_eq!(whole.to_bits(), split.to_bits(), "transaction {i}");
            assert_eq!(f.rules, rules(&tx));
            assert_eq!(
                (f.fraud, f.amount_usd_cents),
                (tx.fraud, tx.amount_usd_cents)
            );
        }
    }

    #[test]
    fn the_threshold_logits_are_libms() {
        for (t, logit) in [(BLOCK_AT, BLOCK_LOGIT), (REVIEW_AT, REVIEW_LOGIT)] {
            let exact = libm::log(t / (1.0 - t));
            assert!(
                (exact - logit).abs() < 1e-15,
                "{t}: {exact} against {logit}"
            );
        }
    }

    #[test]
    fn scored_at_decides_as_the_probability_does() {
        let mut d = rng::stream(23, Purpose::ModelNoise, 0);
        let mut near = 0;
        for t in [BLOCK_AT, REVIEW_AT] {
            // The logit at which the probability is the threshold, and ulps around it.
            let edge = libm::log(t / (1.0 - t));
            for ulps in -2_000i64..=2_000 {
                let logit = f64::from_bits((edge.to_bits() as i64 + ulps) as u64);
                let want = scored(probability(logit, 0.0));
                assert_eq!(scored_at(logit, 0.0), want, "logit {logit}");
                near += (want != scored(probability(edge, 0.0))) as u32;
            }
            // Where the side starts to decide alone, on either side of the edge.
            for side in [-EDGE_SLACK, EDGE_SLACK] {
                let at = edge + side;
                for ulps in -2_000i64..=2_000 {
                    let logit = f64::from_bits((at.to_bits() as i64 + ulps) as u64);
                    let want = scored(probability(logit, 0.0));
                    assert_eq!(scored_at(logit, 0.0), want, "logit {logit}");
                }
            }
        }
        // Both sides of both thresholds were reached.
        assert!(near > 1_000, "{near}");
        for _ in 0..200_000 {
            let (logit, z) = (d.uniform(-12.0, 6.0), d.normal());
            assert_eq!(scored_at(logit, z), scored(probability(logit, z)));
        }
    }

    #[test]
    fn healthy_decisions_catch_most_fraud_and_rules_alone_catch_less() {
        let healthy = measure(|tx, n| combine(ml_probability(tx, n), Some(rules(tx))));
        let degraded = measure(|tx, _| rules(tx));
        let recall = |c: &Confusion| c.caught as f64 / c.fraud as f64;
        let fpr = |c: &Confusion| c.flagged_legit as f64 / c.legit as f64;
        eprintln!(
            "healthy recall {:.3} fpr {:.4}; rules-only recall {:.3} fpr {:.4}",
            recall(&healthy),
            fpr(&healthy),
            recall(&degraded),
            fpr(&degraded)
        );
        assert!(
            (0.82..0.95).contains(&recall(&healthy)),
            "healthy recall {}",
            recall(&healthy)
        );
        assert!(fpr(&healthy) < 0.03, "healthy fpr {}", fpr(&healthy));
        assert!(
            recall(&degraded) < recall(&healthy) - 0.15,
            "rules-only recall {}",
            recall(&degraded)
        );
    }
}
