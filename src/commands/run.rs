//! `gauntlet run FILE [--seed S] [--out DIR] [--templates DIR]`

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime};

use anyhow::Context;
use serde::Serialize;

use crate::cli::exit;
use crate::engine::{self, Control, Stop};
use crate::metrics::Recorder;
use crate::plan::Plan;
use crate::report::{Templates, WriteError};
use crate::results::{self, Results, RunRecord, write_atomic};
use crate::scenario::model::Target;
use crate::target::http::TargetError;
use crate::units::thousands;
use crate::{clock, verdict};

pub struct Options {
    pub file: PathBuf,
    pub seed: Option<u64>,
    pub out: Option<PathBuf>,
    pub templates: Option<PathBuf>,
    pub quiet: bool,
}

/// Wall-clock facts of a run: run.json.
#[derive(Serialize)]
struct RunInfo {
    gauntlet: &'static str,
    scenario: String,
    scenario_file: String,
    seed: u64,
    digest: String,
    started_at: String,
    finished_at: String,
    wall_ms: u64,
    /// Transactions per second of wall time.
    transactions_per_wall_second: f64,
    host: String,
    command: Vec<String>,
    interrupted: bool,
}

/// What ran: the simulation keeps its model for the per-component figures.
enum Ran {
    Simulated(Box<engine::Simulated>),
    Http(Box<engine::http::HttpRun>),
}

/// How often a long run writes its results so far.
const CHECKPOINT_EVERY_S: u64 = 10;

pub fn run(o: &Options) -> anyhow::Result<ExitCode> {
    let plan = match super::load_plan(&o.file, o.seed) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    // Everything about an http target that can fail does so before the run starts.
    let prepared = match &plan.target {
        Target::Http { .. } => match engine::http::prepare(&plan) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("error: {}: {e}", o.file.display());
                let code = if matches!(e, TargetError::Template(_)) {
                    exit::INVALID
                } else {
                    exit::CANNOT_RUN
                };
                return Ok(ExitCode::from(code));
            }
        },
        Target::Simulated { .. } => None,
    };
    let runtime = match prepared {
        Some(_) => Some(
            tokio::runtime::Builder::new_multi_thread()
                // As many workers as cores this process may use (taskset narrows it).
                .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
                .enable_all()
                .build()
                .context("cannot start the async runtime")?,
        ),
        None => None,
    };
    if let (Some(p), Some(rt)) = (&prepared, &runtime)
        && let Err(e) = rt.block_on(p.endpoint.resolve())
    {
        eprintln!("error: {}: {e}", o.file.display());
        return Ok(ExitCode::from(exit::CANNOT_RUN));
    }
    // Templates are checked before the run, so a broken one costs nothing.
    let template_dir = o.templates.clone().or_else(|| {
        plan.report
            .templates
            .as_ref()
            .map(|t| plan.base_dir.join(t))
    });
    let templates = match Templates::load(template_dir.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(exit::INVALID));
        }
    };
    let formats: Vec<String> = plan.report.formats.iter().map(|f| f.0.clone()).collect();
    for f in &formats {
        if let Err(e) = templates.file_for(f) {
            eprintln!("{e}");
            return Ok(ExitCode::from(exit::INVALID));
        }
    }

    let started = SystemTime::now();
    let out = match &o.out {
        Some(dir) => dir.clone(),
        None => run_dir(&plan, started),
    };
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;

    let interrupt = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupt.clone();
        // Only one handler per process; a second run in the same process keeps the first.
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    }

    let progress = (!o.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(plan.duration_ns / 1_000_000_000);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg} [{bar:40}] {pos}/{len} s ({elapsed})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_message(plan.name.clone());
        bar
    });

    let wall = Instant::now();
    let mut last_checkpoint = Instant::now();
    let results_path = out.join("results.json");
    let mut on_second = |t: u64, rec: &Recorder| -> Control {
        if let Some(bar) = &progress {
            bar.set_position(t / 1_000_000_000);
        }
        if last_checkpoint.elapsed().as_secs() >= CHECKPOINT_EVERY_S {
            last_checkpoint = Instant::now();
            let partial = results::build(&RunRecord {
                plan: &plan,
                run: &rec.run,
                phases: &rec.phases,
                failures: &rec.failures,
                timeline: &rec.timeline,
                simulation: None,
                stop: None,
                end_ns: t,
                complete: false,
                errors_by_kind: Default::default(),
            });
            if let Err(e) = write_atomic(&results_path, results::to_json(&partial).as_bytes()) {
                tracing::warn!(
                    "cannot write a checkpoint to {}: {e}",
                    results_path.display()
                );
            }
        }
        match verdict::failing_abort(&plan, t, rec) {
            Some(i) => Control::Abort(i),
            None => Control::Continue,
        }
    };
    let ran = match (prepared, runtime) {
        (Some(prepared), Some(rt)) => {
            let plan = Arc::new(plan.clone());
            match engine::http::drive(&rt, plan, prepared, &interrupt, &mut on_second) {
                Ok(h) => Ran::Http(Box::new(h)),
                Err(e) => {
                    eprintln!("error: {}: {e}", o.file.display());
                    return Ok(ExitCode::from(exit::CANNOT_RUN));
                }
            }
        }
        _ => Ran::Simulated(Box::new(engine::simulate(
            &plan,
            &interrupt,
            &mut on_second,
        ))),
    };
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let wall_ms = wall.elapsed().as_millis() as u64;

    let (recorder, simulation, stop, end_ns, errors_by_kind) = match &ran {
        Ran::Simulated(s) => (
            &s.recorder,
            Some(&s.simulation),
            s.stop,
            s.end_ns,
            Default::default(),
        ),
        Ran::Http(h) => (
            &h.recorder,
            None,
            h.stop,
            h.end_ns,
            h.errors_by_kind.clone(),
        ),
    };
    let results = results::build(&RunRecord {
        plan: &plan,
        run: &recorder.run,
        phases: &recorder.phases,
        failures: &recorder.failures,
        timeline: &recorder.timeline,
        simulation,
        stop,
        end_ns: match stop {
            Some(Stop::Aborted { at_ns, .. } | Stop::Interrupted { at_ns }) => at_ns,
            None => end_ns,
        },
        complete: true,
        errors_by_kind,
    });
    write_atomic(&results_path, results::to_json(&results).as_bytes())
        .with_context(|| format!("cannot write {}", results_path.display()))?;

    let info = RunInfo {
        gauntlet: env!("CARGO_PKG_VERSION"),
        scenario: plan.name.clone(),
        scenario_file: o.file.display().to_string(),
        seed: plan.seed,
        digest: plan.digest.clone(),
        started_at: clock::rfc3339(started),
        finished_at: clock::rfc3339(SystemTime::now()),
        wall_ms,
        transactions_per_wall_second: (results.summary.totals.planned as f64
            / (wall_ms.max(1) as f64 / 1000.0))
            .round(),
        host: host(),
        command: std::env::args().collect(),
        interrupted: results.interrupted,
    };
    let run_json = serde_json::to_string_pretty(&info)? + "\n";
    write_atomic(&out.join("run.json"), run_json.as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;

    match templates.write(&results, &formats, &out) {
        Ok(_) => {}
        Err(WriteError::Render(e)) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(exit::INVALID));
        }
        Err(e) => return Err(e.into()),
    }

    super::print(&verdict_text(&results, &out))?;
    Ok(ExitCode::from(if results.interrupted {
        exit::INTERRUPTED
    } else if results.verdict.passed {
        exit::OK
    } else {
        exit::FAILED
    }))
}

fn run_dir(plan: &Plan, started: SystemTime) -> PathBuf {
    let base = Path::new(&plan.report.dir).join(&plan.name);
    let id = format!("{}-seed{}", clock::compact(started), plan.seed);
    let mut dir = base.join(&id);
    let mut n = 2;
    while dir.exists() {
        dir = base.join(format!("{id}-{n}"));
        n += 1;
    }
    dir
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".to_string())
}

fn verdict_text(r: &Results, out: &Path) -> String {
    let mut s = String::new();
    let t = &r.summary.totals;
    let status = if r.interrupted {
        "INTERRUPTED"
    } else if r.verdict.passed {
        "PASSED"
    } else {
        "FAILED"
    };
    s.push_str(&format!(
        "{}: {status} ({} of {} criteria), {} transactions, {} ok, {} errors, {} timeouts, lost {}\n",
        r.scenario,
        r.verdict.criteria_passed,
        r.verdict.criteria_passed + r.verdict.criteria_failed,
        thousands(t.planned),
        thousands(t.ok),
        thousands(t.errors),
        thousands(t.timeouts),
        t.lost
    ));
    if let Some(a) = &r.aborted {
        s.push_str(&format!(
            "  aborted at {}: {} ({}) failed\n",
            crate::units::ns(a.at_ms * 1_000_000),
            a.check,
            a.scope
        ));
    }
    let width = r
        .criteria
        .iter()
        .map(|c| c.check.len() + c.scope.len() + 3)
        .max()
        .unwrap_or(0);
    for c in &r.criteria {
        let label = format!("{} [{}]", c.check, c.scope);
        s.push_str(&format!(
            "  {}  {label:width$}  observed {}{}\n",
            if c.passed { "pass" } else { "FAIL" },
            c.observed_text,
            c.note
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ));
    }
    s.push_str(&format!("results in {}\n", out.display()));
    s
}
