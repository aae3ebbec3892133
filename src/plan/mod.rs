//! Stage 2 of the pipeline: the scenario, checked for meaning and compiled into a plan. Phases
//! are laid on one absolute timeline (nanoseconds from the run's start), each with its rate
//! curve and exact arrival count; failures and criteria get absolute windows; the whole is
//! summarised by a digest. The plan is a pure function of (scenario, seed, gauntlet version).
//! Arrivals are produced lazily by `Plan::arrivals`, never stored.

pub mod arrivals;
pub mod curve;
pub mod diff;
pub mod splice;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::rng::{self, Purpose};
use crate::scenario::check::{self, Check};
use crate::scenario::model::{
    ArrivalKind, BUILTIN_FORMATS, Body, Business, COMPONENTS, Effect, Load, Report, Target,
    Workload,
};
use crate::scenario::{Diagnostic, Loaded, Source, all_of, diagnostic, did_you_mean};
use crate::units::{self, Duration, MAX_DURATION_NS};
use crate::workload::{Generator, data};
pub use arrivals::{Arrival, Arrivals};
use curve::{Curve, MAX_CHAOS_LEVELS};

/// The most transactions one plan may hold: 10^12 (a day at 11 million TPS).
pub const MAX_PLANNED: f64 = 1e12;

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
    pub report: Report,
    /// The folder of the scenario file, for its relative paths.
    pub base_dir: PathBuf,
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

    /// The planned rate (TPS) at `t_ns` from the run's start.
    pub fn rate_at(&self, t_ns: u64) -> f64 {
        match self.phases.get(self.phase_at(t_ns)) {
            Some(p) if t_ns < p.end_ns => p.curve.rate((t_ns - p.start_ns) as f64 / 1e9),
            _ => 0.0,
        }
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

/// Checks the meaning of a loaded scenario and compiles it. `seed` overrides the file's.
pub fn compile(loaded: &Loaded, seed: Option<u64>) -> Result<Plan, Vec<Diagnostic>> {
    let mut c = Compiler {
        src: &loaded.source,
        diags: Vec::new(),
    };
    let s = &loaded.scenario;
    let seed = seed.unwrap_or(s.scenario.seed);

    // Phases on one timeline.
    let mut phases: Vec<PlannedPhase> = Vec::with_capacity(s.phases.len());
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut t: u64 = 0;
    let index: u64 = 0;
    let mut expected_total = 0.0;
    for (i, p) in s.phases.iter().enumerate() {
        let at = format!("/phase/{i}");
        if let Some(first) = seen.insert(&p.name.0, i) {
            let line = c.line_of(&format!("/phase/{first}/name"));
            c.err(
                &format!("{at}/name"),
                format!(
                    "phase name \"{}\" is already used by the phase on line {line}",
                    p.name
                ),
            );
        }
        if p.duration.is_zero() {
            c.err(
                &format!("{at}/duration"),
                "a phase must last longer than 0s".to_string(),
            );
        }
        c.check_load(&p.load, p.duration, &format!("{at}/load"));
        let len = p.duration.as_nanos();
        let end = t.saturating_add(len);
        if end > MAX_DURATION_NS {
            c.err(
                &format!("{at}/duration"),
                format!(
                    "the run would last {}; at most 366 days",
                    units::ns(end.min(u64::MAX / 2))
                ),
            );
        }
        let ok = c.diags.is_empty();
        let curve = if ok {
            Curve::new(&p.load, p.duration.as_secs_f64(), seed, i)
        } else {
            Curve::Pause
        };
        let expected = curve.integral(p.duration.as_secs_f64());
        expected_total += expected;
        phases.push(PlannedPhase {
            name: p.name.0.clone(),
            start_ns: t,
            end_ns: end,
            load: p.load.clone(),
            curve,
            expected,
            planned: 0,
            first_index: index,
        });
        t = end.min(MAX_DURATION_NS);
        if expected_total > MAX_PLANNED {
            c.err(&format!("{at}/load"), format!(
                "the scenario plans about {expected_total:.3e} transactions by the end of this phase; at most 10^12"
            ));
            break;
        }
    }
    let run_end = t;

    c.check_target(&s.target, &loaded.base_dir);
    c.check_workload(&s.workload);
    c.check_report(&s.report, &loaded.base_dir);

    // Failures: resolve names and windows.
    let http = matches!(s.target, Target::Http { .. });
    let mut failures: Vec<PlannedFailure> = Vec::new();
    let mut failure_names: BTreeMap<String, (usize, u32)> = BTreeMap::new();
    for (i, f) in s.failures.iter().enumerate() {
        let at = format!("/failure/{i}");
        let name = f.display_name();
        let name_ptr = if f.name.is_some() {
            format!("{at}/name")
        } else {
            format!("{at}/kind")
        };
        if let Some((first, _)) = failure_names.get(&name) {
            let line = c.line_of(&format!("/failure/{first}"));
            let hint = if f.name.is_none() {
                " (failures without a name are called KIND-COMPONENT; give this one a name)"
            } else {
                ""
            };
            c.err(
                &name_ptr,
                format!(
                    "failure name \"{name}\" is already used by the failure on line {line}{hint}"
                ),
            );
        }
        let count = f.repeat.map_or(1, |r| r.count);
        failure_names.insert(name.clone(), (i, count));

        if http {
            if f.component.0 != "upstream" {
                c.err(&format!("{at}/component"), format!(
                    "unknown component \"{}\" for an http target; failures of an http target hit \"upstream\"", f.component
                ));
            }
        } else if !COMPONENTS.contains(&f.component.0.as_str()) {
            let mut msg = format!(
                "unknown component \"{}\"; the fraud-pipeline's components are {}",
                f.component,
                all_of(&COMPONENTS)
            );
            if let Some(s) = did_you_mean(&f.component.0, COMPONENTS) {
                msg.push_str(&format!("; did you mean \"{s}\"?"));
            }
            c.err(&format!("{at}/component"), msg);
        }
        if matches!(f.effect, Effect::Bandwidth { .. }) && !http {
            c.err(&format!("{at}/kind"), "a bandwidth failure needs an http target (it throttles responses through the fault proxy)".to_string());
        }
        if f.duration.is_zero() {
            c.err(
                &format!("{at}/duration"),
                "a failure must last longer than 0s".to_string(),
            );
        }
        let origin = match &f.phase {
            None => Some(0),
            Some(p) => match seen.get(p.0.as_str()) {
                Some(&pi) => Some(phases[pi].start_ns),
                None => {
                    c.unknown_name(&format!("{at}/phase"), "phase", &p.0, seen.keys().copied());
                    None
                }
            },
        };
        if let Some(r) = f.repeat {
            if r.every.is_zero() {
                c.err(
                    &format!("{at}/repeat/every"),
                    "repeat every must be longer than 0s".to_string(),
                );
            } else if r.every < f.duration {
                c.err(&format!("{at}/repeat/every"), format!(
                    "repeat every {} is shorter than the failure's duration {}; occurrences would overlap",
                    r.every, f.duration
                ));
            }
        }
        let Some(origin) = origin else { continue };
        for k in 0..count {
            let every = f.repeat.map_or(0, |r| r.every.as_nanos());
            let start = origin
                .saturating_add(f.at.as_nanos())
                .saturating_add(every.saturating_mul(k as u64));
            let end = start.saturating_add(f.duration.as_nanos());
            let occurrence = if k == 0 {
                name.clone()
            } else {
                format!("{name}#{}", k + 1)
            };
            if end > run_end {
                let which = if count > 1 {
                    format!(" (occurrence {} of {count})", k + 1)
                } else {
                    String::new()
                };
                c.err(
                    &at,
                    format!(
                        "failure \"{occurrence}\"{which} ends at {}, after the run ends at {}",
                        units::ns(end.min(MAX_DURATION_NS * 2)),
                        units::ns(run_end)
                    ),
                );
                break;
            }
            failures.push(PlannedFailure {
                name: occurrence,
                base: name.clone(),
                component: f.component.0.clone(),
                start_ns: start,
                end_ns: end,
                probability: f.probability.map_or(1.0, |p| p.0),
                effect: f.effect.clone(),
                source_index: i,
            });
        }
    }
    failures.sort_by_key(|a| (a.start_ns, a.source_index));

    // Criteria.
    let mut criteria = Vec::new();
    for (i, cr) in s.criteria.iter().enumerate() {
        let at = format!("/criterion/{i}");
        let parsed = match check::parse(&cr.check) {
            Ok(p) => Some(p),
            Err(e) => {
                c.err_in_string(&format!("{at}/check"), &cr.check, e.start, e.end, e.message);
                None
            }
        };
        if let (Some(p), Target::Http { decision: None, .. }) = (&parsed, &s.target)
            && (p.metric.starts_with("fraud.") || p.metric.starts_with("business."))
        {
            c.err(&format!("{at}/check"), format!(
                    "\"{}\" needs the service's fraud decisions; set [target] decision = {{ pointer = \"/decision\", block = [\"block\"] }}",
                    p.metric
                ));
        }
        if cr.phase.is_some() && cr.during.is_some() {
            c.err(
                &format!("{at}/during"),
                "a criterion has one scope: give either phase or during, not both".to_string(),
            );
        }
        let mut scope = Scope::Run;
        let mut windows = vec![(0, run_end)];
        if let Some(p) = &cr.phase {
            match seen.get(p.0.as_str()) {
                Some(&pi) => {
                    scope = Scope::Phase {
                        name: p.0.clone(),
                        index: pi,
                    };
                    windows = vec![(phases[pi].start_ns, phases[pi].end_ns)];
                }
                None => c.unknown_name(&format!("{at}/phase"), "phase", &p.0, seen.keys().copied()),
            }
        }
        if let Some(d) = &cr.during {
            let (base, nth) = match d.split_once('#') {
                Some((b, k)) => (b, k.parse::<u32>().ok()),
                None => (d.as_str(), None),
            };
            match failure_names.get(base) {
                Some(&(_, count)) => {
                    if let Some(k) = nth
                        && (k == 0 || k > count)
                    {
                        c.err(&format!("{at}/during"), format!(
                                "failure \"{base}\" has {count} occurrence(s); \"{d}\" names occurrence {k}"
                            ));
                    }
                    let occurrences = occurrences(&failures, d);
                    windows = occurrences
                        .iter()
                        .map(|&j| (failures[j].start_ns, failures[j].end_ns))
                        .collect();
                    scope = Scope::Failure {
                        name: d.clone(),
                        occurrences,
                    };
                }
                None => c.unknown_name(
                    &format!("{at}/during"),
                    "failure",
                    base,
                    failure_names.keys().map(String::as_str),
                ),
            }
        }
        if let Some(p) = parsed {
            criteria.push(PlannedCriterion {
                check: p,
                scope,
                windows,
                abort: cr.abort,
                abort_grace_ns: cr.abort_grace.unwrap_or(Duration::from_secs(10)).as_nanos(),
            });
        }
    }

    if !c.diags.is_empty() {
        diagnostic::sort(&mut c.diags);
        return Err(c.diags);
    }

    // Arrival counts.
    let mut index = 0;
    for (i, p) in phases.iter_mut().enumerate() {
        p.first_index = index;
        p.planned = match s.scenario.arrivals {
            ArrivalKind::Uniform => libm::round(p.expected) as u64,
            ArrivalKind::Poisson => arrivals::poisson_count(seed, i, p.expected),
        };
        index += p.planned;
    }

    let mut plan = Plan {
        name: s.scenario.name.0.clone(),
        description: s.scenario.description.clone(),
        seed,
        arrivals: s.scenario.arrivals,
        duration_ns: run_end,
        planned: index,
        phases,
        failures,
        criteria,
        target: s.target.clone(),
        workload: s.workload.clone(),
        business: s.business.clone(),
        report: s.report.clone(),
        base_dir: loaded.base_dir.clone(),
        digest: String::new(),
        generator: Generator::new(seed, &s.workload),
    };
    plan.digest = digest(&plan);
    Ok(plan)
}

/// The canonical encoding: serde_json of typed values (struct fields in declaration order,
/// maps sorted, durations in ns, floats in shortest round-trip form), so reformatting the file
/// or reordering its keys changes nothing and any change of meaning changes the digest.
fn digest(plan: &Plan) -> String {
    #[derive(Serialize)]
    struct Canonical<'a> {
        encoding: u32,
        gauntlet: &'a str,
        seed: u64,
        name: &'a str,
        arrivals: ArrivalKind,
        phases: Vec<(&'a str, u64, u64, &'a Load)>,
        failures: &'a [PlannedFailure],
        criteria: Vec<(&'a str, &'a str, f64, String, bool, u64)>,
        target: &'a Target,
        workload: &'a Workload,
        business: &'a Business,
        report: &'a Report,
    }
    let canonical = Canonical {
        encoding: 1,
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
                    c.check.metric,
                    c.check.op.symbol(),
                    c.check.threshold,
                    c.scope.label(),
                    c.abort,
                    c.abort_grace_ns,
                )
            })
            .collect(),
        target: &plan.target,
        workload: &plan.workload,
        business: &plan.business,
        report: &plan.report,
    };
    let bytes = serde_json::to_vec(&canonical).expect("plans serialize");
    blake3::hash(&bytes).to_hex().to_string()
}

/// Collects meaning errors, each at the line and column of the value at fault.
struct Compiler<'a> {
    src: &'a Source,
    diags: Vec<Diagnostic>,
}

impl Compiler<'_> {
    fn err(&mut self, pointer: &str, message: String) {
        self.diags.push(self.src.error_at(pointer, message));
    }

    fn line_of(&self, pointer: &str) -> usize {
        self.src.line_col(self.src.value_span(pointer).start).0
    }

    fn unknown_name<'n>(
        &mut self,
        pointer: &str,
        what: &str,
        name: &str,
        known: impl IntoIterator<Item = &'n str>,
    ) {
        let known: Vec<&str> = known.into_iter().collect();
        let mut msg = format!("no {what} is named \"{name}\"");
        if let Some(s) = did_you_mean(name, known.iter().copied()) {
            msg.push_str(&format!("; did you mean \"{s}\"?"));
        } else if !known.is_empty() {
            msg.push_str(&format!("; the {what}s are {}", all_of(&known)));
        }
        self.err(pointer, msg);
    }

    /// An error about part of a string value: points inside the string when the file holds it
    /// verbatim (no escapes), at the whole value otherwise.
    fn err_in_string(
        &mut self,
        pointer: &str,
        value: &str,
        start: usize,
        end: usize,
        message: String,
    ) {
        let span = self.src.value_span(pointer);
        let raw = self.src.raw(pointer).unwrap_or_default();
        let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default();
        let span = if inner == value && raw.len() >= 2 {
            span.start + 1 + start..span.start + 1 + end.max(start + 1)
        } else {
            span
        };
        self.diags.push(self.src.error(span, message));
    }

    fn check_load(&mut self, load: &Load, duration: Duration, at: &str) {
        match *load {
            Load::Burst { every, hold, .. } => {
                if every.is_zero() {
                    self.err(
                        &format!("{at}/every"),
                        "every must be longer than 0s".to_string(),
                    );
                } else if hold > every {
                    self.err(&format!("{at}/hold"), format!("hold {hold} is longer than every {every}; a burst must fit in its period"));
                }
            }
            Load::Wave { period, .. } if period.is_zero() => {
                self.err(
                    &format!("{at}/period"),
                    "period must be longer than 0s".to_string(),
                );
            }
            Load::Chaos { min, max, every } => {
                if min.0 > max.0 {
                    self.err(
                        &format!("{at}/min"),
                        format!(
                            "min {} is above max {}",
                            units::number(min.0),
                            units::number(max.0)
                        ),
                    );
                }
                if every.is_zero() {
                    self.err(
                        &format!("{at}/every"),
                        "every must be longer than 0s".to_string(),
                    );
                } else if curve::chaos_levels(duration.as_secs_f64(), every.as_secs_f64())
                    > MAX_CHAOS_LEVELS
                {
                    self.err(&format!("{at}/every"), format!(
                        "a new level every {every} over {duration} is more than {MAX_CHAOS_LEVELS} levels; choose a longer every"
                    ));
                }
            }
            _ => {}
        }
    }

    fn check_target(&mut self, target: &Target, base_dir: &std::path::Path) {
        match target {
            Target::Simulated {
                components,
                timeout,
                ..
            } => {
                if timeout.is_some_and(Duration::is_zero) {
                    self.err(
                        "/target/timeout",
                        "timeout must be longer than 0s".to_string(),
                    );
                }
                for (name, tuning) in components.entries() {
                    let Some(tuning) = tuning else { continue };
                    let at = format!("/target/components/{name}");
                    if let Some(st) = tuning.service_time {
                        if st.median.is_zero() {
                            self.err(
                                &format!("{at}/service_time/median"),
                                "the median service time must be longer than 0s".to_string(),
                            );
                        }
                        if st.p99 < st.median {
                            self.err(
                                &format!("{at}/service_time/p99"),
                                format!("p99 {} is below the median {}", st.p99, st.median),
                            );
                        }
                    }
                    if tuning.timeout.is_some_and(Duration::is_zero) {
                        self.err(
                            &format!("{at}/timeout"),
                            "timeout must be longer than 0s".to_string(),
                        );
                    }
                }
            }
            Target::Http {
                headers,
                body,
                timeout,
                decision,
                ..
            } => {
                if timeout.is_some_and(Duration::is_zero) {
                    self.err(
                        "/target/timeout",
                        "timeout must be longer than 0s".to_string(),
                    );
                }
                for (name, value) in headers {
                    if let Err(msg) = env_references(value) {
                        let ptr =
                            format!("/target/headers/{}", crate::scenario::source::escape(name));
                        self.err(&ptr, msg);
                    }
                }
                if let Body::Template(path) = body {
                    let full = base_dir.join(path);
                    if !full.is_file() {
                        self.err(
                            "/target/body/template",
                            format!(
                                "template \"{path}\" not found (looked for {})",
                                full.display()
                            ),
                        );
                    }
                }
                if let Some(d) = decision
                    && d.block.is_empty()
                    && d.review.is_empty()
                {
                    self.err(
                        "/target/decision",
                        "decision needs block or review values, e.g. block = [\"block\"]"
                            .to_string(),
                    );
                }
            }
        }
    }

    fn check_workload(&mut self, w: &Workload) {
        if let Some(table) = &w.countries {
            for code in table.keys() {
                if data::country(code).is_none() {
                    let known: Vec<&str> = data::COUNTRIES.iter().map(|c| c.code).collect();
                    let mut msg = format!("gauntlet has no data for country \"{code}\"");
                    let hint = if code == "UK" {
                        Some("GB")
                    } else {
                        did_you_mean(code, known.iter().copied())
                    };
                    if let Some(s) = hint {
                        msg.push_str(&format!("; did you mean \"{s}\"?"));
                    }
                    msg.push_str(" (the countries are listed in docs/workload.md)");
                    self.diags.push(self.src.error(
                        self.src.key_span(&format!("/workload/countries/{code}")),
                        msg,
                    ));
                }
            }
            if table.values().all(|w| w.0 <= 0.0) {
                self.err(
                    "/workload/countries",
                    "country weights are all 0; give at least one a positive weight".to_string(),
                );
            }
        }
        if let Some(table) = &w.currencies {
            for code in table.keys() {
                if data::currency(code).is_none() {
                    let known: Vec<&str> = data::CURRENCIES.iter().map(|c| c.code).collect();
                    let mut msg = format!("gauntlet has no exchange rate for currency \"{code}\"");
                    if let Some(s) = did_you_mean(code, known.iter().copied()) {
                        msg.push_str(&format!("; did you mean \"{s}\"?"));
                    }
                    msg.push_str(" (the currencies are listed in docs/workload.md)");
                    self.diags.push(self.src.error(
                        self.src.key_span(&format!("/workload/currencies/{code}")),
                        msg,
                    ));
                }
            }
            if table.values().all(|w| w.0 <= 0.0) {
                self.err(
                    "/workload/currencies",
                    "currency weights are all 0; give at least one a positive weight".to_string(),
                );
            }
        }
    }

    fn check_report(&mut self, r: &Report, base_dir: &std::path::Path) {
        let templates = r.templates.as_ref().map(|t| base_dir.join(t));
        if let (Some(dir), Some(name)) = (&templates, &r.templates)
            && !dir.is_dir()
        {
            self.err(
                "/report/templates",
                format!(
                    "template folder \"{name}\" not found (looked for {})",
                    dir.display()
                ),
            );
        }
        for (i, f) in r.formats.iter().enumerate() {
            if BUILTIN_FORMATS.contains(&f.0.as_str()) {
                continue;
            }
            let custom = templates
                .as_ref()
                .is_some_and(|dir| template_exists(dir, &f.0));
            if !custom {
                let mut msg = format!(
                    "unknown report format \"{f}\"; expected one of {}, or the name of a template in [report] templates",
                    BUILTIN_FORMATS.join(", ")
                );
                if let Some(s) = did_you_mean(&f.0, BUILTIN_FORMATS) {
                    msg.push_str(&format!("; did you mean \"{s}\"?"));
                }
                self.err(&format!("/report/formats/{i}"), msg);
            }
        }
    }
}

/// Whether `dir` holds a template for format `name` (`NAME.*`, e.g. `slack.txt`).
fn template_exists(dir: &std::path::Path, name: &str) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|f| f.split_once('.').is_some_and(|(stem, _)| stem == name))
        })
    })
}

/// The environment variables `${NAME}` in a header value names, or why the value is malformed.
pub fn env_references(value: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = value;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!(
                "unterminated \"${{\" in header value \"{value}\"; write ${{NAME}}"
            ));
        };
        let name = &after[..end];
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "\"${{{name}}}\" is not an environment variable name; use letters, digits and _"
            ));
        }
        names.push(name);
        rest = &after[end + 1..];
    }
    Ok(names)
}
