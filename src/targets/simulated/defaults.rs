//! The fraud-pipeline's default sizing, and the scenario's `[target.components.NAME]`
//! overrides applied to it. docs/model.md explains each figure.

use super::component::Spec;
use crate::plan::Plan;
use crate::scenario::model::{ComponentTuning, Target};

const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;

/// The defaults, in pipeline order (gateway, feature-store, ml-scorer, rules-engine, decision).
/// `client_timeout_ns` is the gateway's timeout: it holds the client's request.
pub fn default_specs(client_timeout_ns: u64) -> [Spec; 5] {
    [
        // An API gateway: cheap admission, a deep queue, sheds when it is full. Each of its
        // workers is held until the transaction's answer goes back, so it is sized for about
        // 4.5x the concurrency of the shipped scenarios' peak (8,000 TPS x ~35 ms ~ 300).
        Spec {
            concurrency: 1400,
            queue: 20_000,
            median_ns: MS,
            p99_ns: 4 * MS,
            timeout_ns: client_timeout_ns,
            capacity_per_s: None,
            cold_factor: 3.0,
            cold_ns: 5 * S,
        },
        // A key-value feature store (think DynamoDB): single-digit ms, provisioned capacity.
        Spec {
            concurrency: 512,
            queue: 2_000,
            median_ns: 3 * MS,
            p99_ns: 12 * MS,
            timeout_ns: 200 * MS,
            capacity_per_s: Some(25_000),
            cold_factor: 2.0,
            cold_ns: 5 * S,
        },
        // Model inference (think Lambda): reserved concurrency, tens of ms, cold starts.
        Spec {
            concurrency: 600,
            queue: 1_000,
            median_ns: 25 * MS,
            p99_ns: 90 * MS,
            timeout_ns: 300 * MS,
            capacity_per_s: None,
            cold_factor: 6.0,
            cold_ns: 20 * S,
        },
        // Rules: fast, deterministic.
        Spec {
            concurrency: 256,
            queue: 5_000,
            median_ns: 800_000,
            p99_ns: 3 * MS,
            timeout_ns: 50 * MS,
            capacity_per_s: None,
            cold_factor: 2.0,
            cold_ns: 5 * S,
        },
        // The decision service: combines the answers.
        Spec {
            concurrency: 256,
            queue: 5_000,
            median_ns: 500_000,
            p99_ns: 2 * MS,
            timeout_ns: 100 * MS,
            capacity_per_s: None,
            cold_factor: 2.0,
            cold_ns: 5 * S,
        },
    ]
}

/// The specs for a plan: defaults with the scenario's overrides.
pub fn specs(plan: &Plan) -> [Spec; 5] {
    let mut specs = default_specs(plan.target.timeout().as_nanos());
    if let Target::Simulated { components, .. } = &plan.target {
        for (spec, (_, tuning)) in specs.iter_mut().zip(components.entries()) {
            if let Some(t) = tuning {
                apply(spec, t);
            }
        }
    }
    specs
}

fn apply(spec: &mut Spec, t: &ComponentTuning) {
    if let Some(c) = t.concurrency {
        spec.concurrency = c;
    }
    if let Some(q) = t.queue {
        spec.queue = q;
    }
    if let Some(st) = t.service_time {
        spec.median_ns = st.median.as_nanos();
        spec.p99_ns = st.p99.as_nanos();
    }
    if let Some(timeout) = t.timeout {
        spec.timeout_ns = timeout.as_nanos();
    }
}

/// The longest a transaction can stay inside the model after its planned start: every step's
/// timeout plus the retries' backoff. Per-second figures are final once time passes this.
pub fn max_residence_ns(specs: &[Spec; 5]) -> u64 {
    let [gw, fs, ml, rules, decision] = specs;
    let backoff: u64 = (1..super::FS_ATTEMPTS as u32)
        .map(|k| (super::FS_BACKOFF_NS << (k - 1)) * 3 / 2)
        .sum();
    gw.timeout_ns
        + fs.timeout_ns * super::FS_ATTEMPTS as u64
        + backoff
        + ml.timeout_ns.max(rules.timeout_ns)
        + decision.timeout_ns
}
