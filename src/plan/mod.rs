//! Stage 2 of the pipeline: the scenario, checked for meaning and compiled into a plan. Phases
//! are laid on one absolute timeline (nanoseconds from the run's start), each with its rate
//! curve and exact arrival count; failures and criteria get absolute windows; the whole is
//! summarised by a digest. The plan is a pure function of (scenario, seed, gauntlet version).
//! Arrivals are produced lazily by `Plan::arrivals`, never stored.

pub mod arrivals;
mod check;
mod compile;
pub mod curve;
pub mod diff;
pub mod splice;

use std::path::PathBuf;

use serde::Serialize;

use crate::rng::{self, Purpose};
use crate::scenario::check::Check;
use crate::scenario::model::{
    ArrivalKind, Business, Capacity, Effect, Load, Report, Target, Workload,
};
use crate::workload::Generator;
pub use arrivals::{Arrival, Arrivals};
pub use check::{EnvRef, env_references, expand_refs, is_env_name};
pub use compile::compile;
use curve::Curve;

/// The most transactions one plan may hold: 10^12 (a day at 11 million TPS).
pub const MAX_PLANNED: f64 = 1e12;
/// The most failure occurrences one plan may hold (repeats expanded), so validating stays
/// cheap whatever `repeat` says.
pub const MAX_FAILURE_OCCURRENCES: u64 = 10_000;

/// A phase on the run's timeline.
#[derive(Clone, Debug)]
pub struct PlannedPhase {
    pub name: String,
    pub start_ns: u64,
    pub end_ns: u64,
    pub load: Load,
    pub curve: Curve,
    /// Λ over the whole phase: the expected number of arrivals.
    pub expected: f64,
    /// Arrivals the plan holds in this phase (exact for uniform, counted for poisson).
    pub planned: u64,
    /// Transaction number of the phase's first arrival.
    pub first_index: u64,
}

/// One occurrence of a failure on the timeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannedFailure {
    /// `NAME`, or `NAME#k` for the k-th occurrence (k >= 2) of a repeated failure.
    pub name: String,
    /// The name as written (or defaulted), shared by all occurrences.
    pub base: String,
    pub component: String,
    pub start_ns: u64,
    pub end_ns: u64,
    /// The share of calls it hits.
    pub probability: f64,
    pub effect: Effect,
    /// Position of the `[[failure]]` in the file (its fault-decision stream).
    pub source_index: usize,
}

impl PlannedFailure {
    /// Whether the failure hits transaction `index`: decided from the seed, the failure and
    /// the transaction number alone, so the same calls are hit on every run.
    pub fn hits(&self, seed: u64, index: u64) -> bool {
        if self.probability >= 1.0 {
            return true;
        }
        rng::stream_at(seed, Purpose::Faults, self.source_index as u64, index)
            .chance(self.probability)
    }
}

/// What a criterion judges.
#[derive(Clone, Debug, PartialEq)]
pub enum Scope {
    Run,
    Phase {
        name: String,
        index: usize,
    },
    /// Several phases judged together.
    Phases {
        names: Vec<String>,
        indexes: Vec<usize>,
    },
    /// Every second outside the failure windows and the recovery after each.
    OutsideFailures,
    /// The transactions of one request of the target's mix, over the whole run.
    Request {
        name: String,
        index: usize,
    },
    /// Every occurrence named (all of a repeated failure, or `NAME#k` for one).
    Failure {
        name: String,
        occurrences: Vec<usize>,
    },
}

impl Scope {
    /// `run`, `phase:NAME` or `during:NAME`.
    pub fn label(&self) -> String {
        match self {
            Scope::Run => "run".to_string(),
            Scope::Phase { name, .. } => format!("phase:{name}"),
            Scope::Failure { name, .. } => format!("during:{name}"),
            Scope::Phases { names, .. } => format!("phases:{}", names.join(",")),
            Scope::OutsideFailures => "outside:failures".to_string(),
            Scope::Request { name, .. } => format!("request:{name}"),
        }
    }
}

/// A criterion, parsed and scoped.
#[derive(Clone, Debug)]
pub struct PlannedCriterion {
    pub check: Check,
    pub scope: Scope,
    /// Windows of the run the scope covers, [start, end) in ns.
    pub windows: Vec<(u64, u64)>,
    pub abort: bool,
    pub abort_grace_ns: u64,
    /// `window`: the criterion must hold in every window of this many seconds in its scope.
    pub window_s: Option<u64>,
}

impl PlannedCriterion {
    /// Its scope in a person's words, with its `window` when it has one: `run`,
    /// `phase:ramp, every 10s window`.
    pub fn scope_text(&self) -> String {
        match self.window_s {
            Some(w) => format!("{}, every {w}s window", self.scope.label()),
            None => self.scope.label(),
        }
    }
}

/// A `[[probe]]`, checked: its series' selectors parsed.
#[derive(Clone, Debug)]
pub struct PlannedProbe {
    pub name: String,
    /// As written; `${NAME}` expands when the run starts.
    pub url: String,
    pub every_ns: u64,
    pub timeout_ns: u64,
    pub series: Vec<PlannedSeries>,
}

/// A series a probe keeps.
#[derive(Clone, Debug)]
pub struct PlannedSeries {
    pub name: String,
    /// The selector as written.
    pub select: String,
    pub selector: crate::probe::Selector,
    /// Keep the per-second rate of increase (counters).
    pub rate: bool,
}

/// One request of an http target's mix.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannedRequest {
    pub name: String,
    pub weight: f64,
}

/// A compiled, checked scenario.
#[derive(Clone, Debug)]
pub struct Plan {
    pub name: String,
    pub description: Option<String>,
    pub seed: u64,
    pub arrivals: ArrivalKind,
    pub duration_ns: u64,
    pub planned: u64,
    pub phases: Vec<PlannedPhase>,
    pub failures: Vec<PlannedFailure>,
    pub criteria: Vec<PlannedCriterion>,
    pub target: Target,
    pub workload: Workload,
    pub business: Business,
    /// The scenario gave `[business]` prices (otherwise the defaults stand in, and reports
    /// say so).
    pub priced: bool,
    /// When a second counts as broken, for the capacity figure.
    pub capacity: Capacity,
    pub report: Report,
    /// `[compare] max_regression`, checked; not part of the digest (it changes no run).
    pub max_regression: Option<String>,
    /// The folder of the scenario file, for its relative paths.
    pub base_dir: PathBuf,
    /// The requests of an http target's mix, in order (one, `default`, for a target without
    /// `[[target.request]]`; none for the simulated target).
    pub requests: Vec<PlannedRequest>,
    /// Server-side probes scraped during the run (http targets).
    pub probes: Vec<PlannedProbe>,
    /// Running sums of the requests' weights, for choosing one.
    request_cdf: Vec<f64>,
    /// blake3 of the canonical encoding of everything above but the description.
    pub digest: String,
    generator: Generator,
}

impl Plan {
    /// Every arrival of the plan in time order, lazily.
    pub fn arrivals(&self) -> Arrivals<&Plan> {
        Arrivals::new(self)
    }

    /// Transaction number `index` of this plan's workload.
    pub fn transaction(&self, index: u64) -> crate::workload::Transaction {
        self.generator.transaction(index)
    }

    /// The same, keeping customers' profiles in `profiles` (from `profiles()`) for the next.
    pub fn transaction_with(
        &self,
        index: u64,
        profiles: &mut crate::workload::Profiles,
    ) -> crate::workload::Transaction {
        self.generator.transaction_with(index, profiles)
    }

    /// The transaction of each of `arrivals`, in order, handed to `each` with its arrival
    /// (`transaction_with` made a group at a time: see `Generator::transactions_with`).
    pub fn transactions_with(
        &self,
        arrivals: &[Arrival],
        profiles: &mut crate::workload::Profiles,
        each: impl FnMut(&Arrival, crate::workload::Transaction),
    ) {
        self.generator
            .transactions_with(arrivals, |a| a.index, profiles, each)
    }

    /// A cache of customers' profiles for `transaction_with`.
    pub fn profiles(&self) -> crate::workload::Profiles {
        self.generator.profiles()
    }

    /// Which request of the mix transaction `index` sends: drawn by weight from its own
    /// seeded stream, so the same seed gives the same choice whatever else changes.
    pub fn request_of(&self, index: u64) -> u16 {
        if self.request_cdf.len() <= 1 {
            return 0;
        }
        let total = self.request_cdf[self.request_cdf.len() - 1];
        let x = rng::stream_at(self.seed, rng::Purpose::Requests, 0, index).unit() * total;
        self.request_cdf
            .partition_point(|&c| c <= x)
            .min(self.request_cdf.len() - 1) as u16
    }

    /// The planned rate (TPS) at `t_ns` from the run's start.
    pub fn rate_at(&self, t_ns: u64) -> f64 {
        match self.phases.get(self.phase_at(t_ns)) {
            Some(p) if t_ns < p.end_ns => p.curve.rate((t_ns - p.start_ns) as f64 / 1e9),
            _ => 0.0,
        }
    }

    /// Arrivals planned in [a_ns, b_ns), counted without producing them: O(log) per phase for
    /// uniform arrivals, O(seconds) for Poisson (see `arrivals`).
    pub fn count_between(&self, a_ns: u64, b_ns: u64) -> u64 {
        let first = self.phases.partition_point(|p| p.end_ns <= a_ns);
        (first..self.phases.len())
            .take_while(|&i| self.phases[i].start_ns < b_ns)
            .map(|i| arrivals::count_in_phase(self, i, a_ns, b_ns))
            .sum()
    }

    /// The phase running at `t_ns` (the last one at or after the end).
    pub fn phase_at(&self, t_ns: u64) -> usize {
        self.phases
            .partition_point(|p| p.end_ns <= t_ns)
            .min(self.phases.len().saturating_sub(1))
    }
}

/// Compiles scenario text, for unit tests (panics on an invalid scenario).
#[cfg(test)]
pub(crate) fn compile_text(text: &str) -> Plan {
    let loaded = crate::scenario::load_bytes("t.toml", text.as_bytes(), PathBuf::from("."))
        .expect("a valid scenario");
    compile(&loaded, None).expect("a valid scenario")
}

/// The failure occurrences `during = "NAME"` (all of them) or `"NAME#k"` (the k-th) names.
pub fn occurrences(failures: &[PlannedFailure], during: &str) -> Vec<usize> {
    let (base, nth) = match during.split_once('#') {
        Some((b, k)) => (b, k.parse::<u32>().ok()),
        None => (during, None),
    };
    failures
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            f.base == base
                && (nth.is_none() || f.name == during || (nth == Some(1) && f.name == base))
        })
        .map(|(j, _)| j)
        .collect()
}

/// The canonical encoding: serde_json of typed values (struct fields in declaration order,
/// maps sorted, durations in ns, floats in shortest round-trip form), so reformatting the file
/// or reordering its keys changes nothing and any change of meaning changes the digest.
fn digest(plan: &Plan) -> String {
    #[derive(Serialize)]
    struct Canonical<'a> {
        encoding: u32,
        /// Poisson plans since arrivals are drawn per second (absent for uniform ones, whose
        /// digests did not change).
        #[serde(skip_serializing_if = "Option::is_none")]
        poisson: Option<&'a str>,
        gauntlet: &'a str,
        seed: u64,
        name: &'a str,
        arrivals: ArrivalKind,
        phases: Vec<(&'a str, u64, u64, &'a Load)>,
        failures: &'a [PlannedFailure],
        criteria: Vec<(String, &'a str, f64, String, bool, u64)>,
        /// (criterion index, window in seconds) of the criteria with a `window`; absent when
        /// none has one, so digests from before windows hold.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        criterion_windows: Vec<(usize, u64)>,
        target: &'a Target,
        workload: &'a Workload,
        business: &'a Business,
        /// Only when set apart from the defaults, so digests from before `[capacity]` hold.
        #[serde(skip_serializing_if = "Option::is_none")]
        capacity: Option<&'a Capacity>,
        report: &'a Report,
        /// (name, url, every, timeout, [(series, selector, rate)]); absent without probes, so
        /// digests from before probes hold.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        probes: Vec<ProbeKey<'a>>,
    }
    type ProbeKey<'a> = (&'a str, &'a str, u64, u64, Vec<(&'a str, &'a str, bool)>);
    let canonical = Canonical {
        encoding: 1,
        poisson: (plan.arrivals == ArrivalKind::Poisson).then_some("per-second"),
        gauntlet: env!("CARGO_PKG_VERSION"),
        seed: plan.seed,
        name: &plan.name,
        arrivals: plan.arrivals,
        phases: plan
            .phases
            .iter()
            .map(|p| (p.name.as_str(), p.start_ns, p.end_ns, &p.load))
            .collect(),
        failures: &plan.failures,
        criteria: plan
            .criteria
            .iter()
            .map(|c| {
                (
                    c.check.metric_name(),
                    c.check.op.symbol(),
                    c.check.threshold,
                    c.scope.label(),
                    c.abort,
                    c.abort_grace_ns,
                )
            })
            .collect(),
        criterion_windows: plan
            .criteria
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.window_s.map(|w| (i, w)))
            .collect(),
        target: &plan.target,
        workload: &plan.workload,
        business: &plan.business,
        capacity: (plan.capacity != Capacity::default()).then_some(&plan.capacity),
        report: &plan.report,
        probes: plan
            .probes
            .iter()
            .map(|p| {
                let series = p
                    .series
                    .iter()
                    .map(|s| (s.name.as_str(), s.select.as_str(), s.rate))
                    .collect();
                (
                    p.name.as_str(),
                    p.url.as_str(),
                    p.every_ns,
                    p.timeout_ns,
                    series,
                )
            })
            .collect(),
    };
    let bytes = serde_json::to_vec(&canonical).expect("plans serialize");
    blake3::hash(&bytes).to_hex().to_string()
}
