//! Compiling a loaded scenario into a plan, in named steps: phases on one timeline, failure
//! occurrences, criteria with their scopes, then the arrival counts. Every step reports its
//! meaning errors through the same collector, so a file gets all of them at once.

use std::collections::BTreeMap;

use super::check::Compiler;
use super::curve::Curve;
use super::{
    MAX_FAILURE_OCCURRENCES, MAX_PLANNED, Plan, PlannedCriterion, PlannedFailure, PlannedPhase,
    Scope, arrivals, digest, occurrences,
};
use crate::scenario::check::{self, Metric};

/// The longest `window`: the recorder keeps that many seconds of latency histograms.
const MAX_WINDOW_NS: u64 = 600_000_000_000;
use crate::scenario::model::{ArrivalKind, COMPONENTS, Effect, OutsideOf, Scenario, Target};
use crate::scenario::{Diagnostic, Loaded, all_of, diagnostic, did_you_mean};
use crate::units::{self, Duration, MAX_DURATION_NS};
use crate::workload::Generator;

/// Checks the meaning of a loaded scenario and compiles it. `seed` overrides the file's.
pub fn compile(loaded: &Loaded, seed: Option<u64>) -> Result<Plan, Vec<Diagnostic>> {
    let mut c = Compiler {
        src: &loaded.source,
        diags: loaded.schema_errors.clone(),
    };
    let s = &loaded.scenario;
    let seed = seed.unwrap_or(s.scenario.seed);
    let mut timeline = phases(&mut c, s, seed);
    c.check_target(&s.target, &loaded.base_dir);
    c.check_workload(&s.workload);
    c.check_report(&s.report, &loaded.base_dir);
    if let Some(cmp) = &s.compare
        && let Err(e) = crate::compare::parse_limits(&cmp.max_regression)
    {
        c.err("/compare/max_regression", e);
    }
    let failures = failures(&mut c, s, &timeline);
    let requests = requests(&s.target);
    let probes = probes(&mut c, s);
    let criteria = criteria(&mut c, s, &timeline, &failures, &requests, &probes);
    if !c.diags.is_empty() {
        diagnostic::sort(&mut c.diags);
        return Err(c.diags);
    }
    let planned = count_arrivals(&mut timeline.phases, s.scenario.arrivals, seed);
    let mut plan = Plan {
        name: s.scenario.name.0.clone(),
        description: s.scenario.description.clone(),
        seed,
        arrivals: s.scenario.arrivals,
        duration_ns: timeline.end_ns,
        planned,
        phases: timeline.phases,
        failures: failures.list,
        criteria,
        target: s.target.clone(),
        workload: s.workload.clone(),
        business: s.business.clone().unwrap_or_default(),
        priced: s.business.is_some(),
        capacity: s.capacity,
        report: s.report.clone(),
        max_regression: s.compare.as_ref().map(|c| c.max_regression.clone()),
        base_dir: loaded.base_dir.clone(),
        request_cdf: requests
            .iter()
            .scan(0.0, |sum, r| {
                *sum += r.weight;
                Some(*sum)
            })
            .collect(),
        requests,
        probes,
        digest: String::new(),
        generator: Generator::new(seed, &s.workload),
    };
    plan.digest = digest(&plan);
    tracing::info!(
        scenario = %plan.name,
        digest = %&plan.digest[..12],
        planned = plan.planned,
        phases = plan.phases.len(),
        failures = plan.failures.len(),
        "plan compiled"
    );
    Ok(plan)
}

/// The requests of an http target's mix: its `[[target.request]]` tables, or one named
/// `default` for a target without them; none for the simulated target.
fn requests(target: &crate::scenario::model::Target) -> Vec<crate::plan::PlannedRequest> {
    match target {
        crate::scenario::model::Target::Simulated { .. } => Vec::new(),
        crate::scenario::model::Target::Http { requests, .. } if requests.is_empty() => {
            vec![crate::plan::PlannedRequest {
                name: "default".into(),
                weight: 1.0,
            }]
        }
        crate::scenario::model::Target::Http { requests, .. } => requests
            .iter()
            .map(|r| crate::plan::PlannedRequest {
                name: r.name.0.clone(),
                weight: r.weight,
            })
            .collect(),
    }
}

/// The shortest `every` of a probe: faster scrapes would measure the scraping.
const MIN_PROBE_EVERY_NS: u64 = 100_000_000;
/// The longest a scrape may take by default.
const MAX_PROBE_TIMEOUT_NS: u64 = 5_000_000_000;

/// The `[[probe]]` tables, checked: http targets only, unique names, selectors that parse,
/// series named once.
fn probes(c: &mut Compiler<'_>, s: &Scenario) -> Vec<crate::plan::PlannedProbe> {
    use crate::scenario::model::Series;
    let mut out: Vec<crate::plan::PlannedProbe> = Vec::new();
    for (i, p) in s.probes.iter().enumerate() {
        let at = format!("/probe/{i}");
        if matches!(s.target, Target::Simulated { .. }) {
            c.err(&at, "a probe scrapes a real service's metrics endpoint during an http run; the simulated target reports its own components (results.json components[]), so remove [[probe]] or target an http service".to_string());
            continue;
        }
        if out.iter().any(|o| o.name == p.name.0) {
            c.err(
                &format!("{at}/name"),
                format!("probe \"{}\" is named twice", p.name),
            );
        }
        if let Err(msg) = super::env_references(&p.url) {
            c.err(&format!("{at}/url"), msg);
        }
        let every_ns = p.every.as_nanos();
        if every_ns < MIN_PROBE_EVERY_NS {
            c.err(
                &format!("{at}/every"),
                format!(
                    "every {} is too often; scrape at most every 100ms (every = \"1s\" is usual)",
                    p.every
                ),
            );
        }
        let timeout_ns = p
            .timeout
            .map_or(every_ns.clamp(1, MAX_PROBE_TIMEOUT_NS), Duration::as_nanos);
        if p.timeout.is_some_and(Duration::is_zero) {
            c.err(
                &format!("{at}/timeout"),
                "timeout must be longer than 0s".to_string(),
            );
        }
        let mut series: Vec<crate::plan::PlannedSeries> = Vec::new();
        for (k, spec) in p.series.iter().enumerate() {
            let (ptr, select, given_name, rate) = match spec {
                Series::Select(text) => (format!("{at}/series/{k}"), text, None, false),
                Series::Named(n) => (
                    format!("{at}/series/{k}/select"),
                    &n.select,
                    Some(n.name.as_str()),
                    n.rate,
                ),
            };
            let selector = match crate::probe::Selector::parse(select) {
                Ok(sel) => sel,
                Err(e) => {
                    c.err_in_string(&ptr, select, e.at, e.at + 1, e.message);
                    continue;
                }
            };
            let name = given_name.unwrap_or(&selector.metric).to_string();
            if series.iter().any(|o| o.name == name) {
                let msg = match given_name {
                    Some(_) => format!("series \"{name}\" is named twice in probe \"{}\"", p.name),
                    None => format!(
                        "a second series is named \"{name}\" after its metric; give each its own name: {{ name = \"{name}-2\", select = '{select}' }}"
                    ),
                };
                c.err(&ptr, msg);
            }
            series.push(crate::plan::PlannedSeries {
                name,
                select: select.clone(),
                selector,
                rate,
            });
        }
        out.push(crate::plan::PlannedProbe {
            name: p.name.0.clone(),
            url: p.url.clone(),
            every_ns,
            timeout_ns,
            series,
        });
    }
    out
}

/// A `probe.NAME.SERIES.STAT` criterion names a probe and a series that exist, over a scope
/// of time (not a request's transactions).
fn check_probe_ref(
    c: &mut Compiler<'_>,
    cr: &crate::scenario::model::Criterion,
    at: &str,
    check: &check::Check,
    probes: &[crate::plan::PlannedProbe],
) {
    let Some(r) = &check.series else { return };
    let ptr = format!("{at}/check");
    // Where the probe's name and the series' name are in the check.
    let probe_at = cr.check.find("probe.").map_or(0, |k| k + "probe.".len());
    let series_at = probe_at + r.probe.len() + 1;
    match probes.iter().find(|p| p.name == r.probe) {
        None => {
            let msg = super::check::unknown_message(
                "probe",
                &r.probe,
                probes.iter().map(|p| p.name.as_str()),
            );
            c.err_in_string(&ptr, &cr.check, probe_at, probe_at + r.probe.len(), msg);
        }
        Some(p) if !p.series.iter().any(|x| x.name == r.series) => {
            let msg = super::check::unknown_message(
                &format!("series of probe \"{}\"", p.name),
                &r.series,
                p.series.iter().map(|x| x.name.as_str()),
            );
            let end = series_at + r.series.len();
            c.err_in_string(&ptr, &cr.check, series_at, end, msg);
        }
        Some(_) => {}
    }
    if cr.request.is_some() {
        c.err(&format!("{at}/request"), format!(
            "\"{}\" is a series of the service, scraped over time, not per request; judge it over the run, a phase or a failure (during =)",
            check.metric_name()
        ));
    }
}

/// The phases on one timeline, by name.
struct Timeline<'s> {
    phases: Vec<PlannedPhase>,
    names: BTreeMap<&'s str, usize>,
    end_ns: u64,
}

fn phases<'s>(c: &mut Compiler<'_>, s: &'s Scenario, seed: u64) -> Timeline<'s> {
    let mut phases: Vec<PlannedPhase> = Vec::with_capacity(s.phases.len());
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut t: u64 = 0;
    let mut expected_total = 0.0;
    for (i, p) in s.phases.iter().enumerate() {
        let at = format!("/phase/{i}");
        let errors_before = c.diags.len();
        if let Some(first) = names.insert(&p.name.0, i) {
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
        let end = t.saturating_add(p.duration.as_nanos());
        if end > MAX_DURATION_NS {
            c.err(
                &format!("{at}/duration"),
                format!(
                    "the run would last {}; at most 366 days",
                    units::ns(end.min(u64::MAX / 2))
                ),
            );
        }
        let curve = if c.diags.len() == errors_before {
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
            first_index: 0,
        });
        t = end.min(MAX_DURATION_NS);
        if expected_total > MAX_PLANNED {
            c.err(&format!("{at}/load"), format!(
                "the scenario plans about {expected_total:.3e} transactions by the end of this phase; at most 10^12"
            ));
            break;
        }
    }
    Timeline {
        phases,
        names,
        end_ns: t,
    }
}

/// Failure occurrences in time order, and each written failure's name with its count.
struct Failures {
    list: Vec<PlannedFailure>,
    names: BTreeMap<String, u32>,
}

fn failures(c: &mut Compiler<'_>, s: &Scenario, timeline: &Timeline<'_>) -> Failures {
    let http = matches!(s.target, Target::Http { .. });
    let mut list: Vec<PlannedFailure> = Vec::new();
    let mut names: BTreeMap<String, (usize, u32)> = BTreeMap::new();
    let mut occurrences_total: u64 = 0;
    for (i, f) in s.failures.iter().enumerate() {
        let at = format!("/failure/{i}");
        let name = f.display_name();
        check_failure_name(c, f, &name, &names, &at);
        let count = f.repeat.map_or(1, |r| r.count);
        names.insert(name.clone(), (i, count));
        check_failure_target(c, f, http, &at);
        let origin = match &f.phase {
            None => Some(0),
            Some(p) => match timeline.names.get(p.0.as_str()) {
                Some(&pi) => Some(timeline.phases[pi].start_ns),
                None => {
                    c.unknown_name(
                        &format!("{at}/phase"),
                        "phase",
                        &p.0,
                        timeline.names.keys().copied(),
                    );
                    None
                }
            },
        };
        occurrences_total += count as u64;
        if occurrences_total > MAX_FAILURE_OCCURRENCES {
            let ptr = if f.repeat.is_some() {
                format!("{at}/repeat/count")
            } else {
                at.clone()
            };
            c.err(&ptr, format!(
                "the scenario's failures come to {occurrences_total} occurrences by this one; at most {MAX_FAILURE_OCCURRENCES} in all (use fewer repeats, or a longer repeat every)"
            ));
            break;
        }
        let Some(origin) = origin else { continue };
        list.extend(expand(c, f, &name, origin, timeline.end_ns, i));
    }
    list.sort_by_key(|a| (a.start_ns, a.source_index));
    Failures {
        list,
        names: names
            .into_iter()
            .map(|(n, (_, count))| (n, count))
            .collect(),
    }
}

/// A failure's name is unique.
fn check_failure_name(
    c: &mut Compiler<'_>,
    f: &crate::scenario::model::Failure,
    name: &str,
    names: &BTreeMap<String, (usize, u32)>,
    at: &str,
) {
    let Some((first, _)) = names.get(name) else {
        return;
    };
    let line = c.line_of(&format!("/failure/{first}"));
    let hint = if f.name.is_none() {
        " (failures without a name are called KIND-COMPONENT; give this one a name)"
    } else {
        ""
    };
    let ptr = if f.name.is_some() {
        format!("{at}/name")
    } else {
        format!("{at}/kind")
    };
    c.err(
        &ptr,
        format!("failure name \"{name}\" is already used by the failure on line {line}{hint}"),
    );
}

/// The failure's component, kind and keys fit the target, and its timing makes sense.
fn check_failure_target(
    c: &mut Compiler<'_>,
    f: &crate::scenario::model::Failure,
    http: bool,
    at: &str,
) {
    let inside = http && f.component.0 != "upstream";
    if http {
        if inside && !COMPONENTS.contains(&f.component.0.as_str()) {
            let mut msg = format!(
                "unknown component \"{}\" for an http target; failures of an http target hit \"upstream\" (the fault proxy applies them) or a component of a service that reads gauntlet's fault header ({})",
                f.component,
                all_of(&COMPONENTS)
            );
            if let Some(s) =
                did_you_mean(&f.component.0, COMPONENTS.into_iter().chain(["upstream"]))
            {
                msg.push_str(&format!("; did you mean \"{s}\"?"));
            }
            c.err(&format!("{at}/component"), msg);
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
    match f.effect {
        Effect::Bandwidth { .. } if !http => c.err(
            &format!("{at}/kind"),
            "a bandwidth failure needs an http target (it throttles responses through the fault proxy)".to_string(),
        ),
        Effect::Bandwidth { .. } if inside => c.err(
            &format!("{at}/component"),
            "a bandwidth failure shapes the answer on the wire, which only the fault proxy can do: give component = \"upstream\"".to_string(),
        ),
        Effect::Errors { status: Some(_) } if inside => c.err(
            &format!("{at}/status"),
            format!("status sets what the fault proxy answers for \"upstream\"; \"{}\" fails inside the service in its own way: remove it", f.component),
        ),
        Effect::Errors { status: Some(_) } if !http => c.err(
            &format!("{at}/status"),
            "status does nothing for a simulated target (its components fail in their own way); it sets the status the fault proxy answers for an http target: remove it".to_string(),
        ),
        _ => {}
    }
    if f.duration.is_zero() {
        c.err(
            &format!("{at}/duration"),
            "a failure must last longer than 0s".to_string(),
        );
    }
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
}

/// Lays a failure's occurrences on the timeline; one that ends after the run is an error.
fn expand(
    c: &mut Compiler<'_>,
    f: &crate::scenario::model::Failure,
    name: &str,
    origin: u64,
    run_end: u64,
    source_index: usize,
) -> Vec<PlannedFailure> {
    let count = f.repeat.map_or(1, |r| r.count);
    let every = f.repeat.map_or(0, |r| r.every.as_nanos());
    let mut list = Vec::with_capacity(count as usize);
    for k in 0..count {
        let start = origin
            .saturating_add(f.at.as_nanos())
            .saturating_add(every.saturating_mul(k as u64));
        let end = start.saturating_add(f.duration.as_nanos());
        let occurrence = if k == 0 {
            name.to_string()
        } else {
            format!("{name}#{}", k + 1)
        };
        if end > run_end {
            let which = if count > 1 {
                format!(" (occurrence {} of {count})", k + 1)
            } else {
                String::new()
            };
            let over = end.min(MAX_DURATION_NS * 2) - run_end;
            let fix = fit_hint(f, k, over);
            c.err(
                &format!("/failure/{source_index}"),
                format!(
                    "failure \"{occurrence}\"{which} ends at {}, after the run ends at {}; {fix}",
                    units::ns_exact(end.min(MAX_DURATION_NS * 2)),
                    units::ns_exact(run_end)
                ),
            );
            break;
        }
        list.push(PlannedFailure {
            name: occurrence,
            base: name.to_string(),
            component: f.component.0.clone(),
            start_ns: start,
            end_ns: end,
            probability: f.probability.map_or(1.0, |p| p.0),
            effect: f.effect.clone(),
            source_index,
        });
    }
    list
}

/// How to make occurrence `k` of a failure that ends `over` ns after the run fit: start it
/// earlier, shorten it, repeat it fewer times, or lengthen the last phase.
fn fit_hint(f: &crate::scenario::model::Failure, k: u32, over: u64) -> String {
    let ns = |v: u64| units::ns_exact(v);
    let lengthen = format!("or make the last phase {} longer", ns(over));
    if k > 0 {
        return format!("repeat it at most {k} time(s) (count = {k}), {lengthen}");
    }
    let at = f.at.as_nanos();
    let len = f.duration.as_nanos();
    let mut ways = Vec::new();
    if at >= over {
        let anchor = if f.phase.is_some() {
            " from its phase's start"
        } else {
            ""
        };
        ways.push(format!(
            "start it at {}{anchor} (at = \"{}\")",
            ns(at - over),
            ns(at - over)
        ));
    }
    if len > over {
        ways.push(format!(
            "shorten it to {} (duration = \"{}\")",
            ns(len - over),
            ns(len - over)
        ));
    }
    ways.push(lengthen);
    ways.join(", ")
}

fn criteria(
    c: &mut Compiler<'_>,
    s: &Scenario,
    timeline: &Timeline<'_>,
    failures: &Failures,
    requests: &[crate::plan::PlannedRequest],
    probes: &[crate::plan::PlannedProbe],
) -> Vec<PlannedCriterion> {
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
        if let (
            Some(p),
            Target::Http {
                decision: None,
                requests,
                ..
            },
        ) = (&parsed, &s.target)
            && p.metric.needs_decisions()
            && requests.iter().all(|r| r.decision.is_none())
        {
            c.err(&format!("{at}/check"), format!(
                "\"{}\" needs the service's fraud decisions; set [target] decision = {{ pointer = \"/decision\", block = [\"block\"] }}",
                p.metric_name()
            ));
        }
        if let Some(p) = &parsed {
            check_probe_ref(c, cr, &at, p, probes);
            check_model_metric(c, s, &at, p);
        }
        if cr.abort_grace.is_some() && !cr.abort {
            c.err(
                &format!("{at}/abort_grace"),
                "abort_grace does nothing without abort = true (it delays live checks); add abort = true or remove it".to_string(),
            );
        }
        let (scope, windows) = scope(c, cr, &at, timeline, failures, requests);
        if let (Some(p), Scope::Request { .. }) = (&parsed, &scope)
            && matches!(
                p.metric,
                Metric::RecoveryTime
                    | Metric::Availability
                    | Metric::DegradationMax
                    | Metric::CapacityRate
                    | Metric::Component(_)
                    | Metric::ComponentsUnhealthy
                    | Metric::CascadeMax
            )
        {
            c.err(&format!("{at}/request"), format!(
                "\"{}\" is judged per second of the whole service, not per request; judge it without request =",
                p.metric
            ));
        }
        if cr.request.is_some() && cr.window.is_some() {
            c.err(
                &format!("{at}/window"),
                "window judges seconds of the whole run; it cannot be combined with request ="
                    .to_string(),
            );
        }
        let window_s = window(c, cr, &at, parsed.as_ref());
        if let Some(p) = &parsed
            && matches!(cr.outside, Some(OutsideOf::Failures(_)))
            && !p.metric.per_second()
            && !matches!(
                p.metric,
                Metric::Probe(_) | Metric::Component(_) | Metric::ComponentsUnhealthy
            )
        {
            c.err(&format!("{at}/outside"), format!(
                "outside = \"failures\" judges per-second figures, which \"{}\" is not one of; use it with counts, rates (error_rate, timeout_rate, drop_rate), throughput, throughput_ratio, availability, degradation.max or lost; judge \"{}\" over a list of phases instead (phase = [\"a\", \"b\"])",
                p.metric_name(), p.metric_name()
            ));
        }
        if let Some(p) = parsed {
            criteria.push(PlannedCriterion {
                check: p,
                scope,
                windows,
                abort: cr.abort,
                abort_grace_ns: cr.abort_grace.unwrap_or(Duration::from_secs(10)).as_nanos(),
                window_s,
            });
        }
    }
    criteria
}

/// Criteria on the model's components need the simulated target; the payback needs its two
/// business figures.
fn check_model_metric(c: &mut Compiler<'_>, s: &Scenario, at: &str, p: &check::Check) {
    if p.metric.needs_components() && matches!(s.target, Target::Http { .. }) {
        c.err(&format!("{at}/check"), format!(
            "\"{}\" reads the simulated model's own components; a real service's components are judged from its metrics: scrape them with [[probe]] and check probe.NAME.SERIES.min|max|mean|last",
            p.metric_name()
        ));
    }
    if p.metric == Metric::BusinessPaybackMonths {
        let b = s.business.as_ref();
        let missing: Vec<&str> = [
            ("investment", b.and_then(|b| b.investment).is_none()),
            (
                "monthly_transactions",
                b.and_then(|b| b.monthly_transactions).is_none(),
            ),
        ]
        .into_iter()
        .filter_map(|(n, m)| m.then_some(n))
        .collect();
        if !missing.is_empty() {
            c.err(&format!("{at}/check"), format!(
                "\"business.payback_months\" needs [business] {}, e.g. investment = 250000 (USD) and monthly_transactions = 50000000",
                missing.join(" and ")
            ));
        }
    }
}

/// The `window` in whole seconds, checked: at least 1 s, whole seconds, and a metric that
/// per-second figures give.
fn window(
    c: &mut Compiler<'_>,
    cr: &crate::scenario::model::Criterion,
    at: &str,
    check: Option<&check::Check>,
) -> Option<u64> {
    let w = cr.window?;
    let ptr = format!("{at}/window");
    let ns = w.as_nanos();
    if ns < 1_000_000_000 || ns % 1_000_000_000 != 0 {
        c.err(&ptr, format!(
            "window {w} must be a whole number of seconds, at least 1s (windows are judged on whole seconds of the timeline), e.g. window = \"10s\""
        ));
        return None;
    }
    if let Some(p) = check
        && !p.metric.per_second()
        && !matches!(p.metric, Metric::Latency(_))
    {
        c.err(&ptr, format!(
            "window judges per-second figures and latency, which \"{}\" is not one of; use it with latency.*, counts, rates (error_rate, timeout_rate, drop_rate), throughput, throughput_ratio, availability, degradation.max or lost",
            p.metric_name()
        ));
        return None;
    }
    if w.as_nanos() > MAX_WINDOW_NS {
        c.err(&ptr, format!(
            "window {w} is longer than 10m, the longest rolling window (its seconds' histograms are kept while the run goes)"
        ));
        return None;
    }
    Some(ns / 1_000_000_000)
}

/// The indexes of the phases `names` lists (the k-th's value at `ptr(k)`); None when one is
/// unknown or listed twice (the error is given).
fn phase_indexes(
    c: &mut Compiler<'_>,
    timeline: &Timeline<'_>,
    names: &[&crate::scenario::model::Name],
    ptr: impl Fn(usize) -> String,
) -> Option<Vec<usize>> {
    let mut indexes = Vec::new();
    for (k, name) in names.iter().enumerate() {
        match timeline.names.get(name.0.as_str()) {
            Some(&index) if indexes.contains(&index) => {
                c.err(&ptr(k), format!("phase \"{name}\" is listed twice"))
            }
            Some(&index) => indexes.push(index),
            None => c.unknown_name(&ptr(k), "phase", &name.0, timeline.names.keys().copied()),
        }
    }
    (indexes.len() == names.len()).then_some(indexes)
}

/// The scope of `outside = [phases]`: every other phase, judged together (one phase: that
/// phase). None when a name is wrong (the error is given) or no phase is left.
fn phases_outside(
    c: &mut Compiler<'_>,
    at: &str,
    timeline: &Timeline<'_>,
    left_out: &[crate::scenario::model::Name],
) -> Option<(Scope, Vec<(u64, u64)>)> {
    let names: Vec<&crate::scenario::model::Name> = left_out.iter().collect();
    let out = phase_indexes(c, timeline, &names, |k| format!("{at}/outside/{k}"))?;
    let judged: Vec<usize> = (0..timeline.phases.len())
        .filter(|i| !out.contains(i))
        .collect();
    let name = |i: usize| timeline.phases[i].name.clone();
    let windows = judged
        .iter()
        .map(|&i| (timeline.phases[i].start_ns, timeline.phases[i].end_ns))
        .collect();
    match judged.as_slice() {
        [] => {
            c.err(
                &format!("{at}/outside"),
                "outside leaves out every phase: nothing is left to judge".to_string(),
            );
            None
        }
        &[index] => Some((
            Scope::Phase {
                name: name(index),
                index,
            },
            windows,
        )),
        _ => Some((
            Scope::Phases {
                names: judged.iter().map(|&i| name(i)).collect(),
                indexes: judged,
            },
            windows,
        )),
    }
}

/// A criterion's scope and the windows of the run it covers.
fn scope(
    c: &mut Compiler<'_>,
    cr: &crate::scenario::model::Criterion,
    at: &str,
    timeline: &Timeline<'_>,
    failures: &Failures,
    requests: &[crate::plan::PlannedRequest],
) -> (Scope, Vec<(u64, u64)>) {
    let given = [
        cr.phase.is_some(),
        cr.during.is_some(),
        cr.outside.is_some(),
        cr.request.is_some(),
    ];
    if given.iter().filter(|&&g| g).count() > 1 {
        let ptr = if cr.request.is_some() {
            "request"
        } else if cr.outside.is_some() {
            "outside"
        } else {
            "during"
        };
        c.err(
            &format!("{at}/{ptr}"),
            "a criterion has one scope: give one of phase, during, outside or request".to_string(),
        );
    }
    if let Some(name) = &cr.request {
        match requests.iter().position(|r| r.name == name.0) {
            Some(index) if !requests.is_empty() => {
                return (
                    Scope::Request {
                        name: name.0.clone(),
                        index,
                    },
                    vec![(0, timeline.end_ns)],
                );
            }
            _ if requests.is_empty() => c.err(
                &format!("{at}/request"),
                "request = judges one request of an http target's mix; the simulated target has none".to_string(),
            ),
            _ => c.unknown_name(
                &format!("{at}/request"),
                "request",
                &name.0,
                requests.iter().map(|r| r.name.as_str()),
            ),
        }
    }
    match &cr.outside {
        Some(OutsideOf::Failures(_)) => {
            return (Scope::OutsideFailures, vec![(0, timeline.end_ns)]);
        }
        Some(OutsideOf::Phases(left_out)) => {
            if let Some(judged) = phases_outside(c, at, timeline, left_out) {
                return judged;
            }
        }
        None => {}
    }
    if let Some(p) = &cr.phase {
        let ptr = |k: usize| match p {
            crate::scenario::model::Phases::One(_) => format!("{at}/phase"),
            crate::scenario::model::Phases::Many(_) => format!("{at}/phase/{k}"),
        };
        if let Some(indexes) = phase_indexes(c, timeline, &p.names(), ptr) {
            let windows = indexes
                .iter()
                .map(|&i| (timeline.phases[i].start_ns, timeline.phases[i].end_ns))
                .collect();
            let scope = match p {
                crate::scenario::model::Phases::One(n) => Scope::Phase {
                    name: n.0.clone(),
                    index: indexes[0],
                },
                crate::scenario::model::Phases::Many(list) => Scope::Phases {
                    names: list.iter().map(|n| n.0.clone()).collect(),
                    indexes,
                },
            };
            return (scope, windows);
        }
    }
    if let Some(d) = &cr.during {
        let (base, nth) = match d.split_once('#') {
            Some((b, k)) => (b, k.parse::<u32>().ok()),
            None => (d.as_str(), None),
        };
        match failures.names.get(base) {
            Some(&count) => {
                if let Some(k) = nth
                    && (k == 0 || k > count)
                {
                    c.err(&format!("{at}/during"), format!(
                        "failure \"{base}\" has {count} occurrence(s); \"{d}\" names occurrence {k}"
                    ));
                }
                let occurrences = occurrences(&failures.list, d);
                let windows = occurrences
                    .iter()
                    .map(|&j| (failures.list[j].start_ns, failures.list[j].end_ns))
                    .collect();
                let scope = Scope::Failure {
                    name: d.clone(),
                    occurrences,
                };
                return (scope, windows);
            }
            None => c.unknown_name(
                &format!("{at}/during"),
                "failure",
                base,
                failures.names.keys().map(String::as_str),
            ),
        }
    }
    (Scope::Run, vec![(0, timeline.end_ns)])
}

/// Sets each phase's arrival count and first transaction number; returns the plan's total.
fn count_arrivals(phases: &mut [PlannedPhase], kind: ArrivalKind, seed: u64) -> u64 {
    let mut index = 0;
    for (i, p) in phases.iter_mut().enumerate() {
        p.first_index = index;
        p.planned = match kind {
            ArrivalKind::Uniform => libm::round(p.expected) as u64,
            ArrivalKind::Poisson => arrivals::poisson_count(seed, i, p),
        };
        index += p.planned;
    }
    index
}
