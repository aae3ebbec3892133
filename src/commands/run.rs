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
use crate::engine::live::{Edit, Edits, Live, NoEdits, Observer};
use crate::engine::{self, Control, Pace, Stop};
use crate::plan::Plan;
use crate::report::{Templates, WriteError};
use crate::results::{self, Reload, Results, RunRecord, write_atomic};
use crate::scenario::model::Target;
use crate::target::http::TargetError;
use crate::units::thousands;
use crate::watch::FileWatch;
use crate::{clock, verdict};

pub struct Options {
    pub file: PathBuf,
    pub seed: Option<u64>,
    pub out: Option<PathBuf>,
    pub templates: Option<PathBuf>,
    pub quiet: bool,
    pub watch: bool,
    pub pace: Option<Pace>,
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
    // Watching starts before the file is read, so no save is missed.
    let watcher = if o.watch {
        match FileWatch::new(&o.file) {
            Ok(w) => Some(w),
            Err(e) => {
                eprintln!("error: {}: cannot watch it: {e}", o.file.display());
                return Ok(ExitCode::from(exit::CANNOT_RUN));
            }
        }
    } else {
        None
    };
    let (plan, file_seed) = match super::validate::look(&o.file, o.seed) {
        super::validate::Look::Valid(p, seed) => (*p, seed),
        super::validate::Look::Gone => {
            eprintln!(
                "error: {}: cannot read the scenario: no such file",
                o.file.display()
            );
            return Ok(ExitCode::from(exit::INVALID));
        }
        super::validate::Look::Invalid(_) => return Ok(ExitCode::from(exit::INVALID)),
    };
    let pace = match (&plan.target, o.pace) {
        (Target::Http { .. }, Some(Pace::Fast)) => {
            eprintln!(
                "error: --pace fast: an http target runs in real time; leave --pace out for it"
            );
            return Ok(ExitCode::from(exit::INVALID));
        }
        (_, pace) => pace.unwrap_or_default(),
    };
    if o.watch && pace == Pace::Fast && matches!(plan.target, Target::Simulated { .. }) {
        eprintln!(
            "note: a simulated run goes as fast as it can; add --pace realtime to edit it while it runs"
        );
    }
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
    let mut edits: Box<dyn Edits> = match watcher {
        Some(w) => Box::new(follow(w, o.file.clone(), o.seed, &plan, file_seed)),
        None => Box::new(NoEdits),
    };
    let results_path = out.join("results.json");
    let mut observer = RunObserver {
        progress: progress.as_ref(),
        last_checkpoint: Instant::now(),
        results_path: results_path.clone(),
        file: o.file.display().to_string(),
    };
    if o.watch {
        let text = format!(
            "watching {}: each save takes effect while the test runs",
            o.file.display()
        );
        match &progress {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }
    let ran = match (prepared, runtime) {
        (Some(prepared), Some(rt)) => {
            let plan = Arc::new(plan.clone());
            match engine::http::drive(
                &rt,
                plan,
                prepared,
                edits.as_mut(),
                &interrupt,
                &mut observer,
            ) {
                Ok(h) => Ran::Http(Box::new(h)),
                Err(e) => {
                    eprintln!("error: {}: {e}", o.file.display());
                    return Ok(ExitCode::from(exit::CANNOT_RUN));
                }
            }
        }
        _ => Ran::Simulated(Box::new(engine::simulate(
            &plan,
            pace,
            edits.as_mut(),
            &interrupt,
            &mut observer,
        ))),
    };
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let wall_ms = wall.elapsed().as_millis() as u64;

    let (live, simulation, stop, end_ns, errors_by_kind) = match &ran {
        Ran::Simulated(s) => (
            &s.live,
            Some(&s.simulation),
            s.stop,
            s.end_ns,
            Default::default(),
        ),
        Ran::Http(h) => (&h.live, None, h.stop, h.end_ns, h.errors_by_kind.clone()),
    };
    let results = results::build(&RunRecord {
        simulation,
        stop,
        end_ns: match stop {
            Some(Stop::Aborted { at_ns, .. } | Stop::Interrupted { at_ns }) => at_ns,
            None => end_ns,
        },
        complete: true,
        errors_by_kind,
        ..live.run_record()
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

/// What `run` does as the engine goes: progress, checkpoints, live `abort` criteria, and a
/// word on every reload.
struct RunObserver<'a> {
    progress: Option<&'a indicatif::ProgressBar>,
    last_checkpoint: Instant,
    results_path: PathBuf,
    file: String,
}

impl Observer for RunObserver<'_> {
    fn second(&mut self, t: u64, live: &Live) -> Control {
        if let Some(bar) = self.progress {
            bar.set_position(t / 1_000_000_000);
        }
        if self.last_checkpoint.elapsed().as_secs() >= CHECKPOINT_EVERY_S {
            self.last_checkpoint = Instant::now();
            let partial = results::build(&RunRecord {
                end_ns: t,
                ..live.run_record()
            });
            if let Err(e) = write_atomic(&self.results_path, results::to_json(&partial).as_bytes())
            {
                tracing::warn!(
                    "cannot write a checkpoint to {}: {e}",
                    self.results_path.display()
                );
            }
        }
        match verdict::failing_abort(&live.record, t, &live.recorder) {
            Some(i) => Control::Abort(i),
            None => Control::Continue,
        }
    }

    fn reloaded(&mut self, r: &Reload, live: &Live) {
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
        match self.progress {
            Some(bar) => {
                bar.set_length(live.record.duration_ns / 1_000_000_000);
                bar.println(text);
            }
            None => eprintln!("{text}"),
        }
    }
}

/// Follows `file` on another thread: each save becomes an edit for the engine. Invalid
/// versions have their diagnostics printed as they are found; a version that changes the
/// seed or the target is refused (either would break the plan's determinism); a save that
/// changes nothing in meaning is not an edit.
fn follow(
    watcher: FileWatch,
    file: PathBuf,
    seed: Option<u64>,
    plan: &Plan,
    file_seed: u64,
) -> std::sync::mpsc::Receiver<Edit> {
    use super::validate::{Look, look};
    let (tx, rx) = std::sync::mpsc::channel();
    let target = serde_json::to_value(&plan.target).ok();
    let mut last = plan.digest.clone();
    std::thread::spawn(move || {
        while watcher.next_change() {
            let edit = match look(&file, seed) {
                Look::Gone => {
                    eprintln!(
                        "note: {} is gone; the running version stands until it comes back",
                        file.display()
                    );
                    continue;
                }
                Look::Invalid(errors) => Edit::Refused {
                    digest: None,
                    errors,
                },
                Look::Valid(new, new_file_seed) => {
                    let mut errors = Vec::new();
                    if seed.is_none() && new_file_seed != file_seed {
                        errors.push(format!(
                            "the seed changed from {file_seed} to {new_file_seed}; a running test keeps its seed so its plan stays reproducible (restart the run to use the new one)"
                        ));
                    }
                    if serde_json::to_value(&new.target).ok() != target {
                        errors.push(
                            "the target changed; a running test keeps its target (restart the run to test another one)"
                                .to_string(),
                        );
                    }
                    if !errors.is_empty() {
                        Edit::Refused {
                            digest: Some(new.digest.clone()),
                            errors,
                        }
                    } else if new.digest == last {
                        continue;
                    } else {
                        last = new.digest.clone();
                        Edit::Valid(Arc::new(*new))
                    }
                }
            };
            if tx.send(edit).is_err() {
                return;
            }
        }
    });
    rx
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
