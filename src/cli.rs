//! The command line, as clap types. Parsing only: `commands` carries the commands out.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit codes, documented in README.md.
pub mod exit {
    /// Every criterion passed (or the command did what it was asked).
    pub const OK: u8 = 0;
    /// A criterion failed.
    pub const FAILED: u8 = 1;
    /// The scenario or the command line is invalid.
    pub const INVALID: u8 = 2;
    /// The run could not be carried out.
    pub const CANNOT_RUN: u8 = 3;
    /// Interrupted (Ctrl-C, SIGTERM).
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, Parser)]
#[command(
    name = "gauntlet",
    version,
    about = "Declarative load, stress and resilience testing",
    long_about = "Declarative load, stress and resilience testing.\n\nA TOML scenario describes phases of load, failures to inject and success criteria; gauntlet validates it, compiles it into a deterministic seeded plan, runs it and reports.\n\nExit codes: 0 every criterion passed, 1 a criterion failed, 2 the scenario or command line is invalid, 3 the run could not be carried out, 130 interrupted."
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check scenario files: syntax, schema and meaning. Prints one line per valid file.
    Validate {
        /// Scenario files, or folders: every .toml file in a folder and its subfolders.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Override the scenario's seed (changes the digest).
        #[arg(long)]
        seed: Option<u64>,
        /// Keep watching the file (one file): on every save, validate again and say what
        /// changed against the last valid version. Ctrl-C stops.
        #[arg(long)]
        watch: bool,
    },
    /// Compile a scenario and show its plan: phases, failures, criteria and the rate curve.
    Plan {
        /// The scenario file.
        file: PathBuf,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Also show the first N arrivals with their planned times and transactions.
        #[arg(long, value_name = "N")]
        arrivals: Option<u64>,
        /// Set NAME for `${NAME}` in the target's url, headers and TLS paths (repeatable; over
        /// the environment). The plan shows the URL expanded, never a header's value.
        #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
        env: Vec<(String, String)>,
    },
    /// Run a scenario and judge its criteria. Writes results.json, run.json and the reports.
    Run {
        /// The scenario file.
        file: PathBuf,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Set NAME for `${NAME}` in the target's url, headers and TLS paths (repeatable; over
        /// the environment).
        #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
        env: Vec<(String, String)>,
        /// Write the results into DIR itself (created if missing) instead of
        /// `<report.dir>/<scenario>/<run-id>/`.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// With --out: when DIR already holds a run, empty it first instead of refusing.
        #[arg(long, requires = "out")]
        force: bool,
        /// A folder of report templates replacing or adding to the built-in ones.
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
        /// No progress output (the same as `--progress none`).
        #[arg(short, long)]
        quiet: bool,
        /// Progress on stderr: `bar` (a progress bar), `lines` (a plain line every 10 s of the
        /// run, for CI logs), `none`, or `auto` (the default: a bar on a terminal, lines
        /// otherwise).
        #[arg(long, value_enum, default_value_t = Progress::Auto)]
        progress: Progress,
        /// Follow the file while the test runs: each valid save takes effect from that
        /// instant; an invalid one (or a change of seed or target) is refused and the test goes
        /// on. Every reload is recorded in results.json.
        #[arg(long)]
        watch: bool,
        /// How virtual time runs for a simulated target: `fast` (as fast as the machine goes,
        /// the default), `realtime` (follows the wall clock, to watch and edit a run live) or
        /// a factor such as `10x` (ten virtual seconds per wall second). An http target always
        /// runs in real time.
        #[arg(long, value_name = "PACE")]
        pace: Option<PaceArg>,
        /// Serve a live dashboard while the test runs (the page, /api/live, /api/events,
        /// /api/control, /metrics and, once over, /report).
        #[arg(long)]
        dashboard: bool,
        /// Where the dashboard listens; port 0 picks a free one. Loopback unless told
        /// otherwise (a public address is warned about).
        #[arg(
            long,
            value_name = "ADDR",
            default_value = "127.0.0.1:9090",
            requires = "dashboard"
        )]
        listen: std::net::SocketAddr,
        /// Keep the dashboard serving the final state this long after the run (e.g. 5m).
        #[arg(
            long,
            value_name = "DURATION",
            default_value = "0s",
            requires = "dashboard"
        )]
        linger: crate::units::Duration,
        /// Run as shard K (from 0) of N of one run spread over N generators: send only the
        /// arrivals numbered i mod N == K, at their planned times from the shared start
        /// (`--start-at`), and write shard.json for `gauntlet merge`. http targets only.
        #[arg(long, value_name = "K/N", conflicts_with = "shards")]
        shard: Option<crate::shard::ShardId>,
        /// Run as one of N shards, its number K taken from GAUNTLET_SHARD or, in a Kubernetes
        /// Indexed Job, JOB_COMPLETION_INDEX.
        #[arg(long, value_name = "N")]
        shards: Option<u64>,
        /// The instant every shard counts its plan from (RFC 3339, e.g.
        /// 2026-12-01T10:00:00Z): a shard waits for it, or starts late and says so. Default:
        /// now.
        #[arg(long, value_name = "RFC3339")]
        start_at: Option<String>,
    },
    /// Merge the results of a sharded run (the folders its shards wrote) into one run: checks
    /// every shard of one plan is there once, adds their histograms and counters exactly,
    /// judges the criteria on the whole and writes results.json and every report.
    Merge {
        /// The shards' results folders (each holding shard.json), or the shard.json files.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Write the merged results into DIR (created if missing) instead of
        /// `<report.dir>/<scenario>/<id>-merged/`.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// A folder of report templates replacing or adding to the built-in ones.
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
    },
    /// Judge a run against a baseline: per scope (the run, each phase, each failure window),
    /// the change of every figure with a 95% confidence interval (seeded bootstrap over
    /// seconds, paired when both ran the same plan). Exit 0 no regression, 1 a regression, 2
    /// the runs cannot be compared.
    Compare {
        /// The baseline run's folder (or its results.json).
        baseline: PathBuf,
        /// The run to judge (folder or results.json).
        run: PathBuf,
        /// Limits, e.g. "latency.p95=10%,error_rate=0.1pt,recovery_time=5s,fraud.recall=-2pt": a
        /// change beyond one, with its whole interval beyond it, is a regression. Default: the
        /// run's scenario's [compare] max_regression.
        #[arg(long, value_name = "SPEC")]
        max_regression: Option<String>,
        /// md (fit for a pull-request comment), html or json.
        #[arg(long, value_name = "FORMAT", default_value = "md", value_parser = ["md", "html", "json"])]
        format: String,
        /// Write the report to FILE instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print the Kubernetes manifests that run a scenario as N shards and merge them: a
    /// ConfigMap with the scenario, an Indexed Job of N shards sharing a start instant, and a
    /// Job that waits for them and runs `gauntlet merge`.
    Kubernetes {
        /// The scenario file (an http target).
        file: PathBuf,
        /// How many shards (pods) to run.
        #[arg(long, value_name = "N")]
        shards: u64,
        /// The container image holding gauntlet (see deploy/Containerfile).
        #[arg(long, value_name = "IMAGE")]
        image: String,
        /// The namespace of every object.
        #[arg(long, value_name = "NS", default_value = "default")]
        namespace: String,
        /// How far in the future the shared start instant lies, to let every pod start.
        #[arg(long, value_name = "DURATION", default_value = "2m")]
        start_in: crate::units::Duration,
        /// The volume's PersistentVolumeClaim (ReadWriteMany) where shards write and the
        /// merge reads.
        #[arg(long, value_name = "NAME", default_value = "gauntlet-results")]
        claim: String,
    },
    /// The demo in one command: runs the built-in investor-demo scenario in real time with
    /// the live dashboard, opens a browser, and writes its results like any run.
    Demo {
        /// Do not open a browser.
        #[arg(long)]
        no_open: bool,
        /// Where the dashboard listens; port 0 picks a free one.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9090")]
        listen: std::net::SocketAddr,
        /// How fast virtual time runs: `realtime` (the default: the demo takes 10 minutes),
        /// `fast`, or a factor such as `10x`.
        #[arg(long, value_name = "PACE", default_value = "realtime")]
        pace: PaceArg,
        /// Write the results into DIR instead of `results/investor-demo/<run-id>/`.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Render reports again from a run's folder, without running anything.
    Report {
        /// The run's folder (holding results.json), or results.json itself.
        results: PathBuf,
        /// Formats to render (repeatable); default: those the scenario asked for.
        #[arg(long = "format", value_name = "FORMAT")]
        formats: Vec<String>,
        /// A folder of report templates replacing or adding to the built-in ones.
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
    },
    /// Serve the fraud-pipeline model as a real HTTP service (POST /score, GET /health).
    Serve {
        /// Address to listen on (loopback by default).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Seed for service times and scores.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Print the JSON Schema of scenario files (or write every schema into a folder).
    Schema {
        /// Write scenario.schema.json and results.schema.json into DIR instead of printing.
        #[arg(long, value_name = "DIR")]
        write: Option<PathBuf>,
        /// Print the schema of results.json instead of the scenario's.
        #[arg(long)]
        results: bool,
    },
}

/// `--pace`: how virtual time runs for a simulated target: `fast`, `realtime` (`1x`), or a
/// factor such as `10x` (ten virtual seconds per wall second) or `0.5x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PaceArg {
    /// As fast as the machine goes.
    Fast,
    /// Virtual time follows the wall clock, this many times faster.
    Scaled(f64),
}

/// The largest `--pace` factor: beyond it a paced run is a fast one.
const MAX_PACE: f64 = 1_000_000.0;

impl std::str::FromStr for PaceArg {
    type Err = String;

    fn from_str(s: &str) -> Result<PaceArg, String> {
        let s = s.trim();
        match s {
            "fast" => return Ok(PaceArg::Fast),
            "realtime" => return Ok(PaceArg::Scaled(1.0)),
            _ => {}
        }
        let factor = s
            .strip_suffix(['x', 'X'])
            .and_then(|f| f.parse::<f64>().ok())
            .ok_or_else(|| {
                format!("\"{s}\" is not a pace: use fast, realtime, or a factor such as 10x")
            })?;
        if !(factor.is_finite() && factor > 0.0 && factor <= MAX_PACE) {
            return Err(format!(
                "the pace factor must be above 0 and at most {MAX_PACE}x, not {s}"
            ));
        }
        Ok(PaceArg::Scaled(factor))
    }
}

/// `--env NAME=VALUE`.
fn parse_env(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("\"{s}\" is not NAME=VALUE"))?;
    if !crate::plan::is_env_name(name) {
        return Err(format!(
            "\"{name}\" is not a variable name; use letters, digits and _"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

/// `--progress`: how a run shows its progress on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    /// A bar on a terminal, lines otherwise.
    Auto,
    Bar,
    Lines,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Logs go to stderr through tracing; `-v` raises the level, RUST_LOG overrides it.
pub fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only on a terminal: a redirected stderr (CI logs, files) stays plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
