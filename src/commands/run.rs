//! `gauntlet run FILE [--seed S] [--out DIR] [--templates DIR] [--watch] [--pace P]
//! [--dashboard [--listen ADDR] [--linger D]]`: load, preflight, run, write, print. The run
//! itself is `engine::run`; this command adds what is about files, signals and the terminal:
//! the watcher, progress, checkpoints, the dashboard, results and reports. `gauntlet demo` is
//! the same with the built-in investor-demo scenario.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use super::error::{self, Error};
use super::follow::follow;
use crate::cli::{PaceArg, Progress, exit};
use crate::clock;
use crate::dashboard::{self, Board, Publisher};
use crate::engine::control::{Action, Control, ControlRecord};
use crate::engine::live::{Edits, NoEdits, Reload};
use crate::engine::{self, Observer, Pace, Prepared, Snapshot};
use crate::plan::Plan;
use crate::report::Templates;
use crate::results::{self, Results, write_atomic};
use crate::scenario::model::Target;
use crate::shard::{self, ShardId};
use crate::units::thousands;
use crate::watch::FileWatch;

/// Where the scenario comes from.
pub enum Source {
    File(PathBuf),
    /// A scenario built into the binary: its name (as a file name) and text.
    BuiltIn(&'static str, &'static str),
}

impl Source {
    fn path(&self) -> PathBuf {
        match self {
            Source::File(p) => p.clone(),
            Source::BuiltIn(name, _) => PathBuf::from(name),
        }
    }
}

pub struct DashboardOptions {
    pub listen: SocketAddr,
    /// How long the dashboard serves the final state after the run.
    pub linger: Duration,
    /// Serve after the run until Ctrl-C instead.
    pub linger_until_interrupt: bool,
    /// Open a browser on the page once it serves.
    pub open_browser: bool,
}

pub struct Options {
    pub source: Source,
    pub seed: Option<u64>,
    /// `--env` over the environment, for `${NAME}` in the target.
    pub vars: crate::targets::http::Vars,
    pub out: Option<PathBuf>,
    /// Empty `out` first when it already holds a run.
    pub force: bool,
    pub templates: Option<PathBuf>,
    pub progress: Progress,
    pub watch: bool,
    pub pace: Option<PaceArg>,
    pub dashboard: Option<DashboardOptions>,
    /// Set when this run is one shard of a run spread over several generators.
    pub shard: Option<ShardOptions>,
}

/// One shard of a sharded run: which, and the instant all shards start from.
pub struct ShardOptions {
    pub id: ShardId,
    pub start_at: SystemTime,
}

/// The shard this run is, from `--shard K/N`, or `--shards N` with K from GAUNTLET_SHARD or
/// JOB_COMPLETION_INDEX, or GAUNTLET_SHARD=K/N alone; and its start instant.
pub fn resolve_shard(
    shard: Option<ShardId>,
    shards: Option<u64>,
    start_at: Option<&str>,
) -> Result<Option<ShardOptions>, Error> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let id = match (shard, shards) {
        (Some(id), _) => Some(id),
        (None, Some(n)) => {
            let (k, from) = match (env("GAUNTLET_SHARD"), env("JOB_COMPLETION_INDEX")) {
                (Some(v), _) => (v, "GAUNTLET_SHARD"),
                (None, Some(v)) => (v, "JOB_COMPLETION_INDEX"),
                (None, None) => {
                    return Err(Error::Invalid(format!(
                        "--shards {n}: which shard is this? Give --shard K/{n}, or set GAUNTLET_SHARD (or JOB_COMPLETION_INDEX, as a Kubernetes Indexed Job does)"
                    )));
                }
            };
            let k = k.split_once('/').map_or(k.as_str(), |(k, _)| k).trim();
            let k: u64 = k.parse().map_err(|_| {
                Error::Invalid(format!(
                    "{from}={k}: not a shard number (0 to {})",
                    n.saturating_sub(1)
                ))
            })?;
            Some(ShardId::new(k, n).map_err(|e| Error::Invalid(format!("{from}: {e}")))?)
        }
        (None, None) => match env("GAUNTLET_SHARD") {
            Some(v) => Some(v.parse::<ShardId>().map_err(|e| {
                Error::Invalid(format!(
                    "GAUNTLET_SHARD: {e} (or give --shards N with GAUNTLET_SHARD=K)"
                ))
            })?),
            None => None,
        },
    };
    let start_at = start_at
        .map(clock::parse_rfc3339)
        .transpose()
        .map_err(|e| Error::Invalid(format!("--start-at: {e}")))?;
    if let Some(at) = start_at
        && at.duration_since(SystemTime::now()).unwrap_or_default() > Duration::from_secs(86_400)
    {
        return Err(Error::Invalid(format!(
            "--start-at {}: more than a day away; give the instant the shards start from, a little in the future",
            clock::rfc3339(at)
        )));
    }
    match (id, start_at) {
        (Some(id), at) => Ok(Some(ShardOptions {
            id,
            start_at: at.unwrap_or_else(SystemTime::now),
        })),
        (None, Some(_)) => Err(Error::Invalid(
            "--start-at is the start the shards of one run share: give it with --shard K/N".into(),
        )),
        (None, None) => Ok(None),
    }
}

/// The investor demo, built in so `gauntlet demo` works from any folder.
const DEMO: &str = include_str!("../../scenarios/investor-demo.toml");

/// `gauntlet demo`: the investor demo at `pace` with the dashboard, lingering until Ctrl-C
/// when stdout is a terminal.
pub fn demo(
    no_open: bool,
    listen: SocketAddr,
    pace: PaceArg,
    out: Option<PathBuf>,
) -> Result<ExitCode, Error> {
    let interactive = std::io::stdout().is_terminal();
    run(&Options {
        source: Source::BuiltIn("investor-demo.toml", DEMO),
        seed: None,
        vars: Default::default(),
        out,
        force: false,
        templates: None,
        progress: Progress::Auto,
        watch: false,
        shard: None,
        pace: Some(pace),
        dashboard: Some(DashboardOptions {
            listen,
            linger: Duration::ZERO,
            linger_until_interrupt: interactive,
            open_browser: !no_open,
        }),
    })
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

/// Catches the signals that steer a run: Ctrl-C and SIGTERM (a CI runner's or Kubernetes'
/// stop) end it cleanly; SIGUSR1 pauses it and SIGUSR2 resumes it. They are caught from the
/// start, so one that comes during preflight is not lost, and whatever their disposition was,
/// so a run a shell started in the background (SIGINT ignored) still stops on SIGTERM.
fn catch_signals(control: &Arc<Control>) {
    use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
    for signal in [SIGINT, SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, control.interrupt_flag()) {
            tracing::warn!("cannot catch signal {signal}: {e}");
        }
    }
    match signal_hook::iterator::Signals::new([SIGUSR1, SIGUSR2]) {
        Ok(mut signals) => {
            let control = control.clone();
            let spawned = std::thread::Builder::new()
                .name("signals".into())
                .spawn(move || {
                    for signal in signals.forever() {
                        control.ask(if signal == SIGUSR1 {
                            Action::Pause
                        } else {
                            Action::Resume
                        });
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!("cannot listen for SIGUSR1 and SIGUSR2: {e}");
            }
        }
        Err(e) => tracing::warn!("cannot catch SIGUSR1 and SIGUSR2: {e}"),
    }
}

pub fn run(o: &Options) -> Result<ExitCode, Error> {
    let control = Arc::new(Control::new());
    catch_signals(&control);
    let path = o.source.path();
    // Watching starts before the file is read, so no save is missed.
    let watcher =
        match (&o.source, o.watch) {
            (Source::File(file), true) => Some(FileWatch::new(file).map_err(|e| {
                Error::CannotRun(format!("{}: cannot watch it: {e}", file.display()))
            })?),
            (Source::BuiltIn(name, _), true) => {
                return Err(Error::Invalid(format!(
                    "--watch: {name} is built in; copy it to a file to edit it while it runs"
                )));
            }
            _ => None,
        };
    let loaded = match &o.source {
        Source::File(file) => crate::scenario::load_file(file)?,
        Source::BuiltIn(name, text) => {
            crate::scenario::load_bytes(name, text.as_bytes(), PathBuf::from("."))
                .map_err(|d| Error::diagnostics(&d))?
        }
    };
    let file_seed = loaded.scenario.scenario.seed;
    let plan = crate::plan::compile(&loaded, o.seed).map_err(|d| Error::diagnostics(&d))?;
    if let Some(s) = &o.shard {
        check_shardable(o, &plan, s)?;
    }
    let ready = preflight(o, &plan)?;
    let board = o
        .dashboard
        .as_ref()
        .map(|_| Board::new(control.clone(), &plan));
    let server = match (&o.dashboard, &board) {
        (Some(d), Some(board)) => Some(start_dashboard(d, board.clone())?),
        _ => None,
    };
    let started = SystemTime::now();
    let wall = Instant::now();
    let mut edits: Box<dyn Edits> = match watcher {
        Some(w) => Box::new(follow(w, path.clone(), o.seed, &plan, file_seed)),
        None => Box::new(NoEdits),
    };
    let progress = progress_bar(o, &plan);
    let mut observer = RunObserver {
        progress: progress.as_ref(),
        lines: (progress_mode(o) == Progress::Lines).then(|| Lines::new(ready.pace)),
        last_checkpoint: Instant::now(),
        results_path: ready.out.join("results.json"),
        file: path.display().to_string(),
        dashboard: board.clone().map(Publisher::new),
    };
    if o.watch {
        observer.say(format!(
            "watching {}: each save takes effect while the test runs",
            path.display()
        ));
    }
    let shard_run = match &o.shard {
        Some(s) => Some(wait_for_start(s, &control, &observer)?),
        None => None,
    };
    let options = engine::Options {
        pace: ready.pace,
        control: &control,
        shard: shard_run.as_ref().map(|(run, _)| *run),
    };
    let outcome = engine::run(&plan, ready.target, edits.as_mut(), &options, &mut observer)
        .map_err(|e| error::target(&path, e))?;
    tracing::info!(
        at_ms = outcome.end_ns / 1_000_000,
        "the run is over; writing results and reports"
    );
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let snapshot = outcome.snapshot();
    if let Some(lines) = &mut observer.lines {
        lines.last(&snapshot);
    }
    let results = results::build(&snapshot);
    if let (Some(s), Some((_, lag_ms))) = (&o.shard, &shard_run) {
        let who = shard::Identity {
            id: s.id,
            start_at: clock::rfc3339_ms(s.start_at),
            start_lag_ms: *lag_ms,
            source_name: &path.file_name().map_or("scenario.toml".to_string(), |n| {
                n.to_string_lossy().into_owned()
            }),
            source: &loaded.source.text,
        };
        let file = shard::ShardFile::of(
            &plan,
            &who,
            &outcome.live.recorder,
            outcome.stop,
            snapshot.end_ns,
            &outcome.target,
        );
        let json = serde_json::to_string(&file).unwrap_or_default() + "\n";
        let at = ready.out.join(shard::FILE);
        write_atomic(&at, json.as_bytes())
            .map_err(error::io(format!("cannot write {}", at.display())))?;
    }
    write(o, &plan, &results, &ready.out, started, wall)?;
    ready
        .templates
        .write(&results, &ready.formats, &ready.out)?;
    tracing::info!(dir = %ready.out.display(), formats = ?ready.formats, "reports written");
    if let Some(board) = &board {
        // The report just written, or rendered for the dashboard when the scenario did not
        // ask for html.
        let html = std::fs::read_to_string(ready.out.join("report.html"))
            .ok()
            .filter(|_| ready.formats.iter().any(|f| f == "html"))
            .or_else(|| {
                ready
                    .templates
                    .render(&results, &["html".to_string()])
                    .ok()
                    .and_then(|mut r| r.pop())
                    .map(|(_, text)| text)
            });
        board.finish(&snapshot, &results.verdict.status, html);
    }
    super::print(&verdict_text(&results, &ready.out))?;
    if let (Some(server), Some(d)) = (&server, &o.dashboard) {
        linger(server.addr, d, &control);
    }
    drop(server);
    if let Some(s) = &o.shard {
        // A shard's own figures are a share of the run's: its verdict is the merge's.
        eprintln!(
            "shard {} done: merge every shard's folder with `gauntlet merge` for the run's verdict",
            s.id
        );
        return Ok(ExitCode::from(match results.verdict.status.as_str() {
            "interrupted" => exit::INTERRUPTED,
            _ => exit::OK,
        }));
    }
    Ok(ExitCode::from(match results.verdict.status.as_str() {
        "passed" => exit::OK,
        "interrupted" => exit::INTERRUPTED,
        _ => exit::FAILED,
    }))
}

/// What a shard cannot be: a simulated run (one system in virtual time), a run that follows
/// its file, a run with probes (their scrapes are not merged).
fn check_shardable(o: &Options, plan: &Plan, s: &ShardOptions) -> Result<(), Error> {
    if matches!(plan.target, Target::Simulated { .. }) {
        return Err(Error::Invalid(format!(
            "--shard {}: the simulated target is one system in virtual time and cannot be split over generators; run it whole (it is deterministic, and fast)",
            s.id
        )));
    }
    if o.watch {
        return Err(Error::Invalid(format!(
            "--shard {} with --watch: the shards of a run follow one plan; leave --watch out",
            s.id
        )));
    }
    if !plan.probes.is_empty() {
        return Err(Error::Invalid(format!(
            "--shard {}: the scenario has [[probe]]s, whose scrapes shards do not merge; run probes in an unsharded run",
            s.id
        )));
    }
    Ok(())
}

/// Waits for the shared start instant (an interrupt ends the wait) and gives the shard's run
/// and how late it started, ms. A late shard keeps the shared clock: what was due while it
/// was not running goes out at once, each measured from its planned time, so the lag shows.
fn wait_for_start(
    s: &ShardOptions,
    control: &Control,
    observer: &RunObserver<'_>,
) -> Result<(engine::ShardRun, f64), Error> {
    if let Ok(wait) = s.start_at.duration_since(SystemTime::now())
        && !wait.is_zero()
    {
        observer.say(format!(
            "shard {} waits {:.1} s for the shared start {}",
            s.id,
            wait.as_secs_f64(),
            clock::rfc3339_ms(s.start_at)
        ));
        let until = Instant::now() + wait;
        while Instant::now() < until {
            if control.interrupted() {
                return Err(Error::Invalid(format!(
                    "shard {} interrupted before its start",
                    s.id
                )));
            }
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
        }
    }
    let late = SystemTime::now()
        .duration_since(s.start_at)
        .unwrap_or_default();
    let start = Instant::now()
        .checked_sub(late)
        .unwrap_or_else(Instant::now);
    let lag_ms = (late.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
    if late > Duration::from_millis(100) {
        eprintln!(
            "warning: shard {} starts {:.2} s after --start-at {}: what was due before now goes out at once, each measured from its planned time (generator lag), and start_lag_ms records it",
            s.id,
            late.as_secs_f64(),
            clock::rfc3339_ms(s.start_at)
        );
    }
    Ok((
        engine::ShardRun {
            k: s.id.k,
            n: s.id.n,
            start,
        },
        lag_ms,
    ))
}

/// Starts the dashboard's server and says where it is.
fn start_dashboard(d: &DashboardOptions, board: Arc<Board>) -> Result<dashboard::Server, Error> {
    if !dashboard::is_loopback(&d.listen) {
        eprintln!(
            "warning: the dashboard listens on {}, reachable from other machines: anyone who can reach it can see the run and pause or stop it",
            d.listen
        );
    }
    let server = dashboard::serve(d.listen, board).map_err(|e| {
        Error::CannotRun(format!(
            "--listen {}: the dashboard cannot listen there: {e}",
            d.listen
        ))
    })?;
    let host = if server.addr.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        server.addr.ip()
    };
    let url = format!("http://{}/", SocketAddr::new(host, server.addr.port()));
    eprintln!("dashboard: {url}");
    if d.open_browser {
        open_browser(&url);
    }
    Ok(server)
}

/// Opens `url` in the user's browser when there is one ($BROWSER, then xdg-open or open);
/// says so when there is none.
fn open_browser(url: &str) {
    let mut tried: Vec<String> = std::env::var("BROWSER")
        .ok()
        .into_iter()
        .flat_map(|b| b.split(':').map(str::to_string).collect::<Vec<_>>())
        .filter(|b| !b.is_empty())
        .collect();
    tried.push(
        if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        }
        .to_string(),
    );
    let graphical = cfg!(target_os = "macos")
        || std::env::var_os("DISPLAY").is_some()
        || std::env::var_os("WAYLAND_DISPLAY").is_some();
    for program in &tried {
        if program == "xdg-open" && !graphical {
            continue;
        }
        let spawned = std::process::Command::new(program)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if spawned.is_ok() {
            return;
        }
    }
    eprintln!("no browser found here: open {url} in one");
}

/// Keeps the dashboard serving the final state: for `--linger`, or until Ctrl-C.
fn linger(addr: SocketAddr, d: &DashboardOptions, control: &Control) {
    if control.interrupted() || (d.linger.is_zero() && !d.linger_until_interrupt) {
        return;
    }
    if d.linger_until_interrupt {
        eprintln!("dashboard: serving the final state on {addr}; Ctrl-C ends");
    } else {
        eprintln!(
            "dashboard: serving the final state on {addr} for {}; Ctrl-C ends sooner",
            crate::units::ns(d.linger.as_nanos() as u64)
        );
    }
    let until = Instant::now() + d.linger;
    while !control.interrupted() && (d.linger_until_interrupt || Instant::now() < until) {
        std::thread::sleep(Duration::from_millis(50));
    }
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
        (true, Some(PaceArg::Scaled(f))) if f != 1.0 => {
            return Err(Error::Invalid(format!(
                "--pace {f}x: an http target runs in real time; leave --pace out for it"
            )));
        }
        (true, _) => Pace::REALTIME,
        (false, Some(PaceArg::Scaled(f))) => Pace::Scaled(f),
        (false, _) => Pace::Fast,
    };
    if o.watch && pace == Pace::Fast && !http {
        eprintln!(
            "note: a simulated run goes as fast as it can; add --pace realtime to edit it while it runs"
        );
    }
    if plan.criteria.is_empty() {
        eprintln!(
            "note: the scenario has no [[criterion]]: the run judges nothing and exits 0 whatever it measures"
        );
    }
    if let Target::Http { tls: Some(tls), .. } = &plan.target
        && tls.insecure
    {
        eprintln!(
            "warning: [target.tls] insecure = true: the service's certificate is not verified (recorded in results.json)"
        );
    }
    let target = engine::prepare(plan, &o.vars).map_err(|e| error::target(&o.source.path(), e))?;
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
        Some(dir) => {
            super::error::out_is_a_folder(dir)?;
            if holds_a_run(dir) {
                if !o.force {
                    return Err(Error::Invalid(format!(
                        "--out {}: the folder already holds a run (results.json); choose another folder, or add --force to empty it first",
                        dir.display()
                    )));
                }
                std::fs::remove_dir_all(dir).map_err(error::io(format!(
                    "--force: cannot empty {}",
                    dir.display()
                )))?;
            }
            dir.clone()
        }
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

/// Whether `dir` holds the record of a run (so writing a run there would mix two).
fn holds_a_run(dir: &Path) -> bool {
    crate::report::RESERVED.iter().any(|f| dir.join(f).exists())
}

/// Whether progress shows as a bar, as lines, or not at all.
fn progress_mode(o: &Options) -> Progress {
    match o.progress {
        Progress::Auto if std::io::stderr().is_terminal() => Progress::Bar,
        Progress::Auto => Progress::Lines,
        other => other,
    }
}

fn progress_bar(o: &Options, plan: &Plan) -> Option<indicatif::ProgressBar> {
    (progress_mode(o) == Progress::Bar).then(|| {
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
    results::write_results(&path, results)
        .map_err(error::io(format!("cannot write {}", path.display())))?;
    let wall_ms = wall.elapsed().as_millis() as u64;
    let info = RunInfo {
        gauntlet: env!("CARGO_PKG_VERSION"),
        scenario: plan.name.clone(),
        scenario_file: match &o.source {
            Source::File(f) => f.display().to_string(),
            Source::BuiltIn(name, _) => format!("{name} (built in)"),
        },
        seed: plan.seed,
        digest: plan.digest.clone(),
        started_at: clock::rfc3339(started),
        finished_at: clock::rfc3339(SystemTime::now()),
        wall_ms,
        transactions_per_wall_second: (results.summary.totals.counts.planned as f64
            / (wall_ms.max(1) as f64 / 1000.0))
            .round(),
        host: host(),
        command: redacted_args(std::env::args()),
        interrupted: results.interrupted,
    };
    let json = serde_json::to_string_pretty(&info).unwrap_or_default() + "\n";
    write_atomic(&out.join("run.json"), json.as_bytes())
        .map_err(error::io(format!("cannot write {}", out.display())))
}

/// What `run` does as the engine goes: progress, checkpoints, the dashboard, and a word on
/// every reload and control action.
struct RunObserver<'a> {
    progress: Option<&'a indicatif::ProgressBar>,
    /// Plain progress lines (CI logs).
    lines: Option<Lines>,
    last_checkpoint: Instant,
    results_path: PathBuf,
    file: String,
    dashboard: Option<Publisher>,
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
    fn started(&mut self, run: &Snapshot<'_>) {
        if let Some(d) = &mut self.dashboard {
            d.started(run);
        }
    }

    fn second(&mut self, t: u64, run: &Snapshot<'_>) {
        if let Some(bar) = self.progress {
            bar.set_position(t / 1_000_000_000);
        }
        if let Some(lines) = &mut self.lines {
            lines.second(t, run);
        }
        if let Some(d) = &mut self.dashboard {
            d.second(t, run);
        }
        if self.last_checkpoint.elapsed().as_secs() >= CHECKPOINT_EVERY_S {
            self.last_checkpoint = Instant::now();
            let partial = results::build(run);
            match results::write_results(&self.results_path, &partial) {
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
        if let Some(d) = &mut self.dashboard {
            d.reloaded(r, run);
        }
    }

    fn controlled(&mut self, c: &ControlRecord, run: &Snapshot<'_>) {
        let at = crate::units::ns(c.at_ms * 1_000_000);
        self.say(match c.action {
            Action::Pause => format!("paused at {at}: nothing is sent until resumed"),
            Action::Resume => format!("resumed at {at}"),
            Action::Stop => format!("stopped at {at}"),
        });
        if let Some(d) = &mut self.dashboard {
            d.controlled(c, run);
        }
    }
}

/// Plain progress lines for logs: one every 10 s of the run (every 10 s of wall time for a
/// run faster than the clock), and one at the end.
struct Lines {
    paced: bool,
    /// The last line: plan time, wall time, and the counts and latencies then.
    last_t: u64,
    last_wall: Instant,
    last_planned: u64,
    last_counts: crate::metrics::Counts,
    last_latency: Option<hdrhistogram::Histogram<u64>>,
}

const LINE_EVERY: u64 = 10_000_000_000;

impl Lines {
    fn new(pace: Pace) -> Lines {
        Lines {
            paced: pace != Pace::Fast,
            last_t: 0,
            last_wall: Instant::now(),
            last_planned: 0,
            last_counts: crate::metrics::Counts::default(),
            last_latency: None,
        }
    }

    fn second(&mut self, t: u64, run: &Snapshot<'_>) {
        let due = if self.paced {
            t.is_multiple_of(LINE_EVERY) && t > self.last_t
        } else {
            self.last_wall.elapsed().as_nanos() as u64 >= LINE_EVERY
        };
        if due {
            self.line(t, run);
        }
    }

    /// The line at the end of the run, unless the last one was already there.
    fn last(&mut self, run: &Snapshot<'_>) {
        // Where the plan ended, or where the run stopped: not the instant the last answer
        // came back.
        let end = run.stop.map_or(run.plan.duration_ns, |s| s.at_ns());
        if end > self.last_t {
            self.line(end, run);
        }
    }

    fn line(&mut self, t: u64, run: &Snapshot<'_>) {
        let rec = run.recorder;
        let seconds = (t.saturating_sub(self.last_t) as f64 / 1e9).max(1e-9);
        let planned = rec.planned_before(t);
        let counts = rec.run.counts;
        let delta = |now: u64, then: u64| now.saturating_sub(then);
        let ok = delta(counts.ok, self.last_counts.ok);
        let failed = delta(counts.errors, self.last_counts.errors)
            + delta(counts.timeouts, self.last_counts.timeouts);
        let due = delta(counts.due(), self.last_counts.due());
        // p95 of the answers that came in since the last line.
        let mut interval = rec.run.latency.clone();
        if let Some(prev) = &self.last_latency {
            let _ = interval.subtract(prev);
        }
        let p95 = if interval.is_empty() {
            "-".to_string()
        } else {
            format!("{:.1}ms", interval.value_at_quantile(0.95) as f64 / 1_000.0)
        };
        let phase = run
            .plan
            .phases
            .iter()
            .find(|p| p.start_ns <= t.saturating_sub(1) && t.saturating_sub(1) < p.end_ns)
            .map_or("-", |p| p.name.as_str());
        let failures: Vec<&str> = run
            .plan
            .failures
            .iter()
            .filter(|f| f.start_ns < t && t.saturating_sub(LINE_EVERY.min(t)) < f.end_ns)
            .map(|f| f.name.as_str())
            .collect();
        eprintln!(
            "[{} / {}] {}: phase {phase}, planned {}/s, ok {}/s, p95 {p95}, errors {}, failures {}{}",
            crate::units::ns(t / 1_000_000_000 * 1_000_000_000),
            crate::units::ns(run.plan.duration_ns),
            run.plan.name,
            crate::units::number(delta(planned, self.last_planned) as f64 / seconds),
            crate::units::number(ok as f64 / seconds),
            if due == 0 {
                "-".to_string()
            } else {
                format!("{:.2}%", failed as f64 / due as f64 * 100.0)
            },
            if failures.is_empty() {
                "none".to_string()
            } else {
                failures.join(", ")
            },
            if run.paused { " (paused)" } else { "" },
        );
        self.last_t = t;
        self.last_wall = Instant::now();
        self.last_planned = planned;
        self.last_counts = counts;
        self.last_latency = Some(rec.run.latency.clone());
    }
}

pub(super) fn run_dir(plan: &Plan, started: SystemTime) -> PathBuf {
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

/// The command line with the values of `--env NAME=VALUE` hidden: they are secrets as often
/// as not, and run.json is shared.
pub(super) fn redacted_args(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut value_next = false;
    for a in args {
        let hide = |nv: &str| match nv.split_once('=') {
            Some((name, _)) => format!("{name}=***"),
            None => nv.to_string(),
        };
        if value_next {
            out.push(hide(&a));
            value_next = false;
        } else if a == "--env" {
            out.push(a);
            value_next = true;
        } else if let Some(nv) = a.strip_prefix("--env=") {
            out.push(format!("--env={}", hide(nv)));
        } else {
            out.push(a);
        }
    }
    out
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".to_string())
}

/// The verdict as the terminal shows it: the same headline as every report.
pub(super) fn verdict_text(r: &Results, out: &Path) -> String {
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
    for p in r.probes.iter().filter(|p| p.failed > 0) {
        let kinds: Vec<String> = p.errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
        s.push_str(&format!(
            "  probe {}: {} of {} scrapes failed ({}){}\n",
            p.name,
            p.failed,
            p.scrapes,
            kinds.join(", "),
            p.first_error
                .as_ref()
                .map(|e| format!(
                    "; the first at {}: {}",
                    crate::units::ns(e.at_ms * 1_000_000),
                    e.message
                ))
                .unwrap_or_default()
        ));
    }
    let unread = r.summary.decisions.unread;
    if unread > 0 {
        let by_request: Vec<String> = r
            .requests
            .iter()
            .filter(|q| q.summary.decisions.unread > 0 && r.requests.len() > 1)
            .map(|q| format!("{} {}", q.name, thousands(q.summary.decisions.unread)))
            .collect();
        s.push_str(&format!(
            "  decisions: {} ok answers{} had no decision to read at the decision pointer (not JSON, or nothing there); the fraud figures leave them out\n",
            thousands(unread),
            if by_request.is_empty() {
                String::new()
            } else {
                format!(" ({})", by_request.join(", "))
            }
        ));
    }
    s.push_str(&format!("results in {}\n", out.display()));
    s
}
