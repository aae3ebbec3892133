//! `gauntlet run FILE [--seed S] [--out DIR] [--templates DIR] [--watch] [--pace P]`: load,
//! preflight, run, write, print. The run itself is `engine::run`; this command adds what is
//! about files and the terminal: the watcher, progress, checkpoints, results and reports.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Instant, SystemTime};

use serde::Serialize;

use super::error::{self, Error};
use super::follow::follow;
use crate::cli::{PaceArg, exit};
use crate::clock;
use crate::engine::live::{Edits, NoEdits, Reload};
use crate::engine::{self, Observer, Pace, Prepared, Snapshot};
use crate::plan::Plan;
use crate::report::Templates;
use crate::results::{self, Results, write_atomic};
use crate::scenario::model::Target;
use crate::units::thousands;
use crate::watch::FileWatch;

pub struct Options {
    pub file: PathBuf,
    pub seed: Option<u64>,
    pub out: Option<PathBuf>,
    pub templates: Option<PathBuf>,
    pub quiet: bool,
    pub watch: bool,
    pub pace: Option<PaceArg>,
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

/// How often a long run writes its results so far.
const CHECKPOINT_EVERY_S: u64 = 10;

/// Everything checked before the run starts, so a broken template or target costs nothing.
struct Ready {
    target: Prepared,
    pace: Pace,
    templates: Templates,
    formats: Vec<String>,
    out: PathBuf,
}

pub fn run(o: &Options) -> Result<ExitCode, Error> {
    // Ctrl-C and SIGTERM (a CI runner's or Kubernetes' stop) end the run cleanly. They are
    // caught from the start, so one that comes during preflight is not lost, and whatever
    // their disposition was, so a run a shell started in the background (SIGINT ignored)
    // still stops cleanly on SIGTERM.
    let interrupt = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, interrupt.clone()) {
            tracing::warn!("cannot catch signal {signal}: {e}");
        }
    }
    // Watching starts before the file is read, so no save is missed.
    let watcher = o
        .watch
        .then(|| FileWatch::new(&o.file))
        .transpose()
        .map_err(|e| Error::CannotRun(format!("{}: cannot watch it: {e}", o.file.display())))?;
    let loaded = crate::scenario::load_file(&o.file)?;
    let file_seed = loaded.scenario.scenario.seed;
    let plan = crate::plan::compile(&loaded, o.seed).map_err(|d| Error::diagnostics(&d))?;
    let ready = preflight(o, &plan)?;
    let started = SystemTime::now();
    let wall = Instant::now();
    let mut edits: Box<dyn Edits> = match watcher {
        Some(w) => Box::new(follow(w, o.file.clone(), o.seed, &plan, file_seed)),
        None => Box::new(NoEdits),
    };
    let progress = progress_bar(o, &plan);
    let mut observer = RunObserver {
        progress: progress.as_ref(),
        last_checkpoint: Instant::now(),
        results_path: ready.out.join("results.json"),
        file: o.file.display().to_string(),
    };
    if o.watch {
        observer.say(format!(
            "watching {}: each save takes effect while the test runs",
            o.file.display()
        ));
    }
    let options = engine::Options {
        pace: ready.pace,
        interrupt: &interrupt,
    };
    let outcome = engine::run(&plan, ready.target, edits.as_mut(), &options, &mut observer)
        .map_err(|e| error::target(&o.file, e))?;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let results = results::build(&outcome.snapshot());
    write(o, &plan, &results, &ready.out, started, wall)?;
    ready
        .templates
        .write(&results, &ready.formats, &ready.out)?;
    tracing::info!(dir = %ready.out.display(), formats = ?ready.formats, "reports written");
    super::print(&verdict_text(&results, &ready.out))?;
    Ok(ExitCode::from(match results.verdict.status.as_str() {
        "passed" => exit::OK,
        "interrupted" => exit::INTERRUPTED,
        _ => exit::FAILED,
    }))
}

/// Checks the pace, the target, the templates and the formats, and makes the output folder.
fn preflight(o: &Options, plan: &Plan) -> Result<Ready, Error> {
    let http = matches!(plan.target, Target::Http { .. });
    let pace = match (http, o.pace) {
        (true, Some(PaceArg::Fast)) => {
            return Err(Error::Invalid(
                "--pace fast: an http target runs in real time; leave --pace out for it".into(),
            ));
        }
        (_, Some(PaceArg::Realtime)) => Pace::Realtime,
        _ => Pace::Fast,
    };
    if o.watch && pace == Pace::Fast && !http {
        eprintln!(
            "note: a simulated run goes as fast as it can; add --pace realtime to edit it while it runs"
        );
    }
    let target = engine::prepare(plan).map_err(|e| error::target(&o.file, e))?;
    let template_dir = o.templates.clone().or_else(|| {
        plan.report
            .templates
            .as_ref()
            .map(|t| plan.base_dir.join(t))
    });
    let templates = Templates::load(template_dir.as_deref())?;
    let formats: Vec<String> = plan.report.formats.iter().map(|f| f.0.clone()).collect();
    for f in &formats {
        templates.file_for(f)?;
    }
    let out = match &o.out {
        Some(dir) => dir.clone(),
        None => run_dir(plan, SystemTime::now()),
    };
    std::fs::create_dir_all(&out).map_err(error::io(format!("cannot create {}", out.display())))?;
    Ok(Ready {
        target,
        pace,
        templates,
        formats,
        out,
    })
}

fn progress_bar(o: &Options, plan: &Plan) -> Option<indicatif::ProgressBar> {
    (!o.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(plan.duration_ns / 1_000_000_000);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{bar:40}] {pos}/{len} s ({elapsed})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(plan.name.clone());
        bar
    })
}

/// Writes results.json and run.json.
fn write(
    o: &Options,
    plan: &Plan,
    results: &Results,
    out: &Path,
    started: SystemTime,
    wall: Instant,
) -> Result<(), Error> {
    let path = out.join("results.json");
    write_atomic(&path, results::to_json(results).as_bytes())
        .map_err(error::io(format!("cannot write {}", path.display())))?;
    let wall_ms = wall.elapsed().as_millis() as u64;
    let info = RunInfo {
        gauntlet: env!("CARGO_PKG_VERSION"),
        scenario: plan.name.clone(),
        scenario_file: o.file.display().to_string(),
        seed: plan.seed,
        digest: plan.digest.clone(),
        started_at: clock::rfc3339(started),
        finished_at: clock::rfc3339(SystemTime::now()),
        wall_ms,
        transactions_per_wall_second: (results.summary.totals.counts.planned as f64
            / (wall_ms.max(1) as f64 / 1000.0))
            .round(),
        host: host(),
        command: std::env::args().collect(),
        interrupted: results.interrupted,
    };
    let json = serde_json::to_string_pretty(&info).unwrap_or_default() + "\n";
    write_atomic(&out.join("run.json"), json.as_bytes())
        .map_err(error::io(format!("cannot write {}", out.display())))
}

/// What `run` does as the engine goes: progress, checkpoints, and a word on every reload.
struct RunObserver<'a> {
    progress: Option<&'a indicatif::ProgressBar>,
    last_checkpoint: Instant,
    results_path: PathBuf,
    file: String,
}

impl RunObserver<'_> {
    fn say(&self, text: String) {
        match self.progress {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }
}

impl Observer for RunObserver<'_> {
    fn second(&mut self, t: u64, run: &Snapshot<'_>) {
        if let Some(bar) = self.progress {
            bar.set_position(t / 1_000_000_000);
        }
        if self.last_checkpoint.elapsed().as_secs() >= CHECKPOINT_EVERY_S {
            self.last_checkpoint = Instant::now();
            let partial = results::build(run);
            match write_atomic(&self.results_path, results::to_json(&partial).as_bytes()) {
                Ok(()) => tracing::debug!(at_ms = t / 1_000_000, "checkpoint written"),
                Err(e) => tracing::warn!(
                    "cannot write a checkpoint to {}: {e}",
                    self.results_path.display()
                ),
            }
        }
    }

    fn reloaded(&mut self, r: &Reload, run: &Snapshot<'_>) {
        let at = crate::units::ns(r.at_ms * 1_000_000);
        let mut text = if r.accepted {
            format!("reload {} at {at}: accepted", self.file)
        } else {
            format!(
                "reload {} at {at}: refused; the running version stands",
                self.file
            )
        };
        for line in r.changes.iter().chain(&r.errors) {
            text.push_str(&format!("\n  {line}"));
        }
        if let Some(bar) = self.progress {
            bar.set_length(run.plan.duration_ns / 1_000_000_000);
        }
        self.say(text);
    }
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

/// The verdict as the terminal shows it: the same headline as every report.
fn verdict_text(r: &Results, out: &Path) -> String {
    let mut s = String::new();
    let t = &r.summary.totals;
    s.push_str(&format!(
        "{}: {}, {} transactions, {} ok, {} errors, {} timeouts, lost {}\n",
        r.scenario,
        r.verdict.headline,
        thousands(t.counts.planned),
        thousands(t.counts.ok),
        thousands(t.counts.errors),
        thousands(t.counts.timeouts),
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
        let status = match c.status.as_str() {
            "pass" => "pass",
            "fail" => "FAIL",
            _ => "SKIP",
        };
        let mut notes: Vec<&str> = Vec::new();
        if c.status == "not-reached" {
            notes.push("not reached");
        }
        notes.extend(c.note.iter().map(String::as_str));
        if c.partial {
            notes.push("partial: the run stopped before its scope ended");
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        };
        s.push_str(&format!(
            "  {status}  {label:width$}  observed {}{notes}\n",
            c.observed_text
        ));
    }
    s.push_str(&format!("results in {}\n", out.display()));
    s
}
