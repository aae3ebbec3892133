//! `gauntlet plan FILE [--seed S] [--format text|json] [--arrivals N]`

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::Format;
use crate::plan::Plan;
use crate::scenario::model::{ArrivalKind, Body, Effect, Load, Target};
use crate::units::{self, thousands};
use crate::workload::Transaction;

pub fn run(
    file: &Path,
    seed: Option<u64>,
    format: Format,
    arrivals: Option<u64>,
    vars: &crate::targets::http::Vars,
) -> Result<ExitCode, super::Error> {
    let plan = super::load_plan(file, seed)?;
    let env = environment(&plan, vars);
    let shown = arrivals.unwrap_or(0);
    // Arrivals are written as they are generated, a block at a time: memory stays flat
    // whatever N is.
    match format {
        Format::Json => {
            let mut json = PlanJson::new(&plan);
            json.environment = env;
            let head = serde_json::to_string_pretty(&json)
                .map_err(|e| super::Error::CannotRun(e.to_string()))?;
            if shown == 0 {
                return super::print(&(head + "\n")).map(|_| ExitCode::SUCCESS);
            }
            let open = head.strip_suffix("\n}").unwrap_or(&head);
            super::print(&format!("{open},\n  \"arrivals\": ["))?;
            let mut first = true;
            for block in blocks(&plan, shown) {
                let mut text = String::new();
                for a in block {
                    let json = serde_json::to_string_pretty(&arrival_json(&plan, a))
                        .map_err(|e| super::Error::CannotRun(e.to_string()))?;
                    text.push_str(if first { "\n    " } else { ",\n    " });
                    text.push_str(&json.replace('\n', "\n    "));
                    first = false;
                }
                super::print(&text)?;
            }
            super::print("\n  ]\n}\n")?;
        }
        Format::Text => {
            super::print(&text(&plan))?;
            if !env.is_empty() {
                let mut t = String::from("\nenvironment\n");
                for e in &env {
                    t.push_str(&format!("  {}: {}\n", e.place, e.shown));
                }
                super::print(&t)?;
            }
            if shown > 0 {
                super::print(&format!(
                    "\nfirst {} arrivals\n",
                    thousands(shown.min(plan.planned))
                ))?;
                for block in blocks(&plan, shown) {
                    super::print(&arrival_rows(&plan, &block))?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The first `n` arrivals, in blocks of at most 1,000.
fn blocks(plan: &Plan, n: u64) -> impl Iterator<Item = Vec<crate::plan::Arrival>> + '_ {
    let mut it = plan
        .arrivals()
        .take(usize::try_from(n).unwrap_or(usize::MAX));
    std::iter::from_fn(move || {
        let block: Vec<_> = it.by_ref().take(1_000).collect();
        (!block.is_empty()).then_some(block)
    })
}

fn arrival_json(plan: &Plan, a: crate::plan::Arrival) -> ArrivalJson {
    ArrivalJson {
        index: a.index,
        phase: plan.phases[a.phase].name.clone(),
        request: plan
            .requests
            .get(a.request as usize)
            .map(|r| r.name.clone()),
        at_ns: a.at_ns,
        at_ms: a.at_ns as f64 / 1e6,
        transaction: plan.transaction(a.index),
    }
}

/// The JSON form of a plan. Field names are a contract (scripts read them).
#[derive(Serialize)]
pub struct PlanJson<'a> {
    scenario: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    digest: &'a str,
    seed: u64,
    arrival_spacing: ArrivalKind,
    planned: u64,
    duration_ms: u64,
    target: &'static str,
    phases: Vec<PhaseJson<'a>>,
    failures: Vec<FailureJson<'a>>,
    criteria: Vec<CriterionJson>,
    /// Where the target uses `${NAME}`, and what it expands to (never a header's value).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    environment: Vec<EnvUse>,
    /// The `[[probe]]`s the run will scrape.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    probes: Vec<ProbeJson<'a>>,
}

#[derive(Serialize)]
struct ProbeJson<'a> {
    name: &'a str,
    url: &'a str,
    every_ms: u64,
    timeout_ms: u64,
    /// (name, selector, rate)
    series: Vec<(&'a str, &'a str, bool)>,
}

/// One place of the target that uses the environment.
#[derive(Serialize)]
pub struct EnvUse {
    /// `url`, `header NAME`, `tls ca`...
    place: String,
    /// As written.
    written: String,
    /// The URL or path expanded with each expansion marked `[NAME=value]`; for a header,
    /// only which variables are set. A variable with no value and no default is said.
    shown: String,
    /// Variables with no value and no default: the run would stop (exit 3).
    missing: Vec<String>,
}

/// Every use of `${NAME}` in the plan's target, expanded with `vars` where it is not a secret.
fn environment(plan: &Plan, vars: &crate::targets::http::Vars) -> Vec<EnvUse> {
    let Target::Http {
        url, headers, tls, ..
    } = &plan.target
    else {
        return Vec::new();
    };
    let mut places: Vec<(String, &str, bool)> = vec![("url".into(), url.as_str(), true)];
    for (name, value) in headers {
        places.push((format!("header {name}"), value.as_str(), false));
    }
    if let Some(t) = tls {
        for (what, path) in [("ca", &t.ca), ("cert", &t.cert), ("key", &t.key)] {
            if let Some(p) = path {
                places.push((format!("tls {what}"), p.as_str(), true));
            }
        }
    }
    let mut out = Vec::new();
    for (place, written, reveal) in places {
        let Ok(refs) = crate::plan::env_references(written) else {
            continue;
        };
        if refs.is_empty() {
            continue;
        }
        let mut shown = String::new();
        let mut missing = Vec::new();
        let mut notes = Vec::new();
        let mut at = 0;
        for r in &refs {
            shown.push_str(&written[at..r.start]);
            let value = vars
                .get(r.name)
                .filter(|v| !v.is_empty() || r.default.is_none());
            match (value, r.default) {
                (Some(v), _) if reveal => shown.push_str(&format!("[{}={v}]", r.name)),
                (Some(_), _) => notes.push(format!("{} is set (value hidden)", r.name)),
                (None, Some(d)) if reveal => {
                    shown.push_str(&format!("[{}={d}, the default]", r.name))
                }
                (None, Some(_)) => {
                    notes.push(format!("{} is not set: its default stands in", r.name))
                }
                (None, None) => {
                    missing.push(r.name.to_string());
                    if reveal {
                        shown.push_str(&format!("[{} NOT SET]", r.name));
                    }
                }
            }
            at = r.end;
        }
        shown.push_str(&written[at..]);
        if !reveal {
            shown = written.to_string();
            if !notes.is_empty() {
                shown.push_str(&format!(" ({})", notes.join("; ")));
            }
        }
        if !missing.is_empty() {
            shown.push_str(&format!(
                " ({} not set and no default: the run would stop)",
                missing.join(", ")
            ));
        }
        out.push(EnvUse {
            place,
            written: written.to_string(),
            shown,
            missing,
        });
    }
    out
}

#[derive(Serialize)]
struct PhaseJson<'a> {
    name: &'a str,
    pattern: &'static str,
    start_ms: u64,
    end_ms: u64,
    planned: u64,
    /// The integral of the rate: what `planned` was rounded from (uniform arrivals).
    expected: f64,
    load: &'a Load,
}

#[derive(Serialize)]
struct FailureJson<'a> {
    name: &'a str,
    kind: &'static str,
    component: &'a str,
    start_ms: u64,
    end_ms: u64,
    probability: f64,
    effect: &'a Effect,
}

#[derive(Serialize)]
struct CriterionJson {
    check: String,
    metric: &'static str,
    op: &'static str,
    threshold: f64,
    scope: String,
    windows_ms: Vec<(u64, u64)>,
    /// `window`: the check must hold in every window of this many seconds.
    window_s: Option<u64>,
    abort: bool,
    abort_grace_ms: u64,
}

#[derive(Serialize)]
struct ArrivalJson {
    index: u64,
    phase: String,
    /// The request of the http target's mix it sends (absent for the simulated target).
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<String>,
    at_ns: u64,
    at_ms: f64,
    transaction: Transaction,
}

fn ms(ns: u64) -> u64 {
    ns / 1_000_000
}

fn target_label(t: &Target) -> &'static str {
    match t {
        Target::Simulated { .. } => "simulated",
        Target::Http { .. } => "http",
    }
}

impl<'a> PlanJson<'a> {
    pub fn new(plan: &'a Plan) -> Self {
        PlanJson {
            environment: Vec::new(),
            probes: plan
                .probes
                .iter()
                .map(|p| ProbeJson {
                    name: &p.name,
                    url: &p.url,
                    every_ms: ms(p.every_ns),
                    timeout_ms: ms(p.timeout_ns),
                    series: p
                        .series
                        .iter()
                        .map(|s| (s.name.as_str(), s.select.as_str(), s.rate))
                        .collect(),
                })
                .collect(),
            scenario: &plan.name,
            description: plan.description.as_deref(),
            digest: &plan.digest,
            seed: plan.seed,
            arrival_spacing: plan.arrivals,
            planned: plan.planned,
            duration_ms: ms(plan.duration_ns),
            target: target_label(&plan.target),
            phases: plan
                .phases
                .iter()
                .map(|p| PhaseJson {
                    name: &p.name,
                    pattern: p.load.pattern(),
                    start_ms: ms(p.start_ns),
                    end_ms: ms(p.end_ns),
                    planned: p.planned,
                    expected: p.expected,
                    load: &p.load,
                })
                .collect(),
            failures: plan
                .failures
                .iter()
                .map(|f| FailureJson {
                    name: &f.name,
                    kind: f.effect.kind(),
                    component: &f.component,
                    start_ms: ms(f.start_ns),
                    end_ms: ms(f.end_ns),
                    probability: f.probability,
                    effect: &f.effect,
                })
                .collect(),
            criteria: plan
                .criteria
                .iter()
                .map(|c| CriterionJson {
                    check: c.check.text.clone(),
                    metric: c.check.metric.name(),
                    op: c.check.op.symbol(),
                    threshold: c.check.threshold,
                    scope: c.scope.label(),
                    windows_ms: c.windows.iter().map(|&(a, b)| (ms(a), ms(b))).collect(),
                    window_s: c.window_s,
                    abort: c.abort,
                    abort_grace_ms: ms(c.abort_grace_ns),
                })
                .collect(),
        }
    }
}

fn describe_effect(e: &Effect) -> String {
    match e {
        Effect::Latency { delay, jitter } if jitter.is_zero() => format!("latency +{delay}"),
        Effect::Latency { delay, jitter } => format!("latency +{delay} ± {jitter}"),
        Effect::Errors { status: Some(s) } => format!("errors ({s})"),
        Effect::Throttle { limit } => format!("throttle {limit}/s"),
        Effect::Slowdown { factor } => format!("slowdown ×{}", units::number(*factor)),
        Effect::Bandwidth { bytes_per_second } => format!("bandwidth {bytes_per_second} B/s"),
        other => other.kind().to_string(),
    }
}

/// The readable timeline.
pub fn text(plan: &Plan) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "plan {}  seed {}  digest {}",
        plan.name,
        plan.seed,
        &plan.digest[..16]
    );
    if let Some(d) = &plan.description {
        let _ = writeln!(o, "{d}");
    }
    let target = match &plan.target {
        Target::Simulated { .. } => "simulated fraud-pipeline".to_string(),
        Target::Http { url, .. } => format!("http {url}"),
    };
    let spacing = match plan.arrivals {
        ArrivalKind::Uniform => "uniform",
        ArrivalKind::Poisson => "poisson",
    };
    let _ = writeln!(
        o,
        "{}, {} transactions, {spacing} arrivals, target {target}",
        units::ns(plan.duration_ns),
        thousands(plan.planned)
    );

    let _ = writeln!(o, "\nphases");
    let rows: Vec<[String; 5]> = plan
        .phases
        .iter()
        .map(|p| {
            [
                p.name.clone(),
                units::ns(p.start_ns),
                units::ns(p.end_ns),
                p.load.describe(),
                thousands(p.planned),
            ]
        })
        .collect();
    table(
        &mut o,
        &["name", "start", "end", "load", "planned"],
        &rows,
        &[false, false, false, false, true],
    );

    for p in &plan.phases {
        if let Load::Step { from, to, steps } = p.load {
            let n = steps.max(2) as u64;
            let stair = (p.end_ns - p.start_ns) / n;
            let levels: Vec<String> = (0..n)
                .map(|j| {
                    let rate = from.0 + (to.0 - from.0) * j as f64 / (n - 1) as f64;
                    format!(
                        "{} {} TPS",
                        units::ns(p.start_ns + j * stair),
                        units::number(rate)
                    )
                })
                .collect();
            let _ = writeln!(
                o,
                "  stairs of \"{}\", {} each: {}",
                p.name,
                units::ns(stair),
                levels.join(", ")
            );
        }
    }

    requests(&mut o, plan);

    let _ = writeln!(o, "\nfailures");
    if plan.failures.is_empty() {
        let _ = writeln!(o, "  none");
    } else {
        let rows: Vec<[String; 5]> = plan
            .failures
            .iter()
            .map(|f| {
                let p = if f.probability < 1.0 {
                    format!("{}% of calls", units::number(f.probability * 100.0))
                } else {
                    "all calls".to_string()
                };
                [
                    f.name.clone(),
                    describe_effect(&f.effect),
                    f.component.clone(),
                    format!("{} → {}", units::ns(f.start_ns), units::ns(f.end_ns)),
                    p,
                ]
            })
            .collect();
        table(
            &mut o,
            &["name", "kind", "component", "window", "hits"],
            &rows,
            &[false; 5],
        );
    }

    let _ = writeln!(o, "\ncriteria");
    if plan.criteria.is_empty() {
        let _ = writeln!(o, "  none");
    } else {
        let rows: Vec<[String; 3]> = plan
            .criteria
            .iter()
            .map(|c| {
                let abort = if c.abort {
                    format!("aborts the run (after {})", units::ns(c.abort_grace_ns))
                } else {
                    String::new()
                };
                [c.check.text.clone(), c.scope_text(), abort]
            })
            .collect();
        table(&mut o, &["check", "scope", ""], &rows, &[false; 3]);
    }

    probes(&mut o, plan);
    let _ = writeln!(o);
    chart(&mut o, plan);

    o
}

/// Rows of arrivals as a table.
fn arrival_rows(plan: &Plan, block: &[crate::plan::Arrival]) -> String {
    let mut o = String::new();
    {
        let rows: Vec<[String; 8]> = block
            .iter()
            .map(|a| {
                let t = plan.transaction(a.index);
                [
                    a.index.to_string(),
                    format!("{:.3}ms", a.at_ns as f64 / 1e6),
                    plan.phases[a.phase].name.clone(),
                    plan.requests
                        .get(a.request as usize)
                        .map_or("-".to_string(), |r| r.name.clone()),
                    format!("{} {}", t.amount_minor, t.currency),
                    t.category.name.to_string(),
                    t.country.to_string(),
                    t.pattern.map_or("-".to_string(), |p| {
                        format!(
                            "fraud: {}",
                            serde_json::to_value(p)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default()
                        )
                    }),
                ]
            })
            .collect();
        table(
            &mut o,
            &[
                "#",
                "at",
                "phase",
                "request",
                "amount (minor units)",
                "category",
                "country",
                "label",
            ],
            &rows,
            &[true, true, false, false, true, false, false, false],
        );
    }
    o
}

/// The probes the run will scrape, one row per series.
/// What an http target sends: each request of the mix (or the one request), its method,
/// where, its body and its share of the arrivals.
fn requests(o: &mut String, plan: &Plan) {
    let Target::Http {
        url,
        method,
        body,
        requests,
        ..
    } = &plan.target
    else {
        return;
    };
    let body_of = |method: &str, body: Option<&Body>| match Body::or_default_for(body, method) {
        Body::Transaction => "transaction".to_string(),
        Body::Template(path) => format!("template {path}"),
        Body::None => "none".to_string(),
    };
    let _ = writeln!(o, "\nrequests");
    let rows: Vec<[String; 5]> = if requests.is_empty() {
        vec![[
            "default".to_string(),
            method.clone(),
            url.clone(),
            body_of(method, body.as_ref()),
            "100%".to_string(),
        ]]
    } else {
        let total: f64 = requests.iter().map(|r| r.weight).sum();
        requests
            .iter()
            .map(|r| {
                let m = r.method.as_ref().unwrap_or(method);
                let to = match (&r.url, &r.path) {
                    (Some(own), _) => own.clone(),
                    (None, Some(path)) => crate::engine::http::join(url, path),
                    (None, None) => url.clone(),
                };
                let share = if total > 0.0 { r.weight / total } else { 0.0 };
                [
                    r.name.0.clone(),
                    m.clone(),
                    to,
                    body_of(m, r.body.as_ref().or(body.as_ref())),
                    format!("{}%", units::number(share * 100.0)),
                ]
            })
            .collect()
    };
    table(
        o,
        &["name", "method", "to", "body", "share"],
        &rows,
        &[false, false, false, false, true],
    );
}

fn probes(o: &mut String, plan: &Plan) {
    if plan.probes.is_empty() {
        return;
    }
    let _ = writeln!(o, "\nprobes");
    let rows: Vec<[String; 4]> = plan
        .probes
        .iter()
        .flat_map(|p| {
            p.series.iter().map(|s| {
                [
                    format!("probe.{}.{}", p.name, s.name),
                    s.select.clone(),
                    if s.rate { "rate" } else { "" }.to_string(),
                    format!("{} every {}", p.url, units::ns(p.every_ns)),
                ]
            })
        })
        .collect();
    table(
        o,
        &["series", "selector", "", "scraped from"],
        &rows,
        &[false; 4],
    );
}

fn table<const N: usize>(
    o: &mut String,
    header: &[&str; N],
    rows: &[[String; N]],
    right: &[bool; N],
) {
    let mut widths = header.map(|h| h.chars().count());
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::from(" ");
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            s.push(' ');
            if right[i] {
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(pad));
            }
            s.push(' ');
        }
        s.trim_end().to_string() + "\n"
    };
    o.push_str(&line(header.to_vec()));
    for r in rows {
        o.push_str(&line(r.iter().map(String::as_str).collect()));
    }
}

/// A small chart of the rate curve: 8 rows of block characters, 64 columns over the run.
fn chart(o: &mut String, plan: &Plan) {
    const W: usize = 64;
    const H: usize = 8;
    const BLOCKS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if plan.duration_ns == 0 {
        return;
    }
    // Each column shows the highest rate in its slice of the run, sampled 16 times, so short
    // bursts and the top of a ramp stay visible.
    let cols: Vec<f64> = (0..W)
        .map(|c| {
            let samples = 16;
            (0..samples)
                .map(|s| {
                    let f = (c as f64 + s as f64 / (samples - 1) as f64) / W as f64;
                    plan.rate_at(
                        ((f * plan.duration_ns as f64) as u64)
                            .min(plan.duration_ns.saturating_sub(1)),
                    )
                })
                .fold(0.0, f64::max)
        })
        .collect();
    // The true peak: a ramp's top is at its phase's last instant, which columns may miss.
    let phase_peaks = plan.phases.iter().flat_map(|p| {
        let len = p.end_ns - p.start_ns;
        (0..=256u64).map(move |i| {
            p.curve
                .rate((len.saturating_sub(1) as f64 * i as f64 / 256.0) / 1e9)
        })
    });
    let peak = cols.iter().copied().chain(phase_peaks).fold(0.0, f64::max);
    let _ = writeln!(o, "rate (TPS)");
    let label_w = units::number(peak).len().max(1);
    for row in (0..H).rev() {
        let label = if row == H - 1 {
            units::number(peak)
        } else if row == 0 {
            "0".to_string()
        } else {
            String::new()
        };
        let mut line = format!("  {label:>label_w$} │");
        for &v in &cols {
            let eighths = if peak > 0.0 {
                (v / peak * (H * 8) as f64).round() as usize
            } else {
                0
            };
            let level = eighths.saturating_sub(row * 8).min(8);
            line.push(BLOCKS[level]);
        }
        let _ = writeln!(o, "{}", line.trim_end());
    }
    let end = units::ns(plan.duration_ns);
    let _ = writeln!(o, "  {:>label_w$} └{}", "", "─".repeat(W));
    let _ = writeln!(
        o,
        "  {:>label_w$}  0s{}{end}",
        "",
        " ".repeat(W.saturating_sub(2 + end.len()))
    );
}
