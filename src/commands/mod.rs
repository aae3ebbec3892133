//! Carries out each command. Output the command was asked for goes to stdout; diagnostics to
//! stderr; the exit code says how it went (see `cli::exit`).

mod compare;
mod error;
mod follow;
mod kubernetes;
mod merge;
mod plan;
mod report;
mod run;
pub mod schema;
mod serve;
mod validate;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub use error::Error;

use crate::cli::{Cli, Command};
use crate::plan::Plan;

/// Runs the command line. `Ok` carries the exit code of a command that did what it was asked
/// (0, or 1 and 130 for a run's verdict); `Err` knows its own exit code and message.
pub fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Validate { files, seed, watch } => validate::run(&files, seed, watch),
        Command::Plan {
            file,
            seed,
            format,
            arrivals,
            env,
        } => plan::run(
            &file,
            seed,
            format,
            arrivals,
            &crate::targets::http::Vars::new(env),
        ),
        Command::Run {
            file,
            seed,
            env,
            out,
            force,
            templates,
            quiet,
            progress,
            watch,
            pace,
            dashboard,
            listen,
            linger,
            shard,
            shards,
            start_at,
        } => run::run(&run::Options {
            shard: run::resolve_shard(shard, shards, start_at.as_deref())?,
            source: run::Source::File(file),
            seed,
            vars: crate::targets::http::Vars::new(env),
            out,
            force,
            templates,
            progress: if quiet {
                crate::cli::Progress::None
            } else {
                progress
            },
            watch,
            pace,
            dashboard: dashboard.then_some(run::DashboardOptions {
                listen,
                linger: std::time::Duration::from_nanos(linger.as_nanos()),
                linger_until_interrupt: false,
                open_browser: false,
            }),
        }),
        Command::Demo {
            no_open,
            listen,
            pace,
            out,
        } => run::demo(no_open, listen, pace, out),
        Command::Report {
            results,
            formats,
            templates,
        } => report::run(&results, &formats, templates.as_deref()),
        Command::Serve { listen, seed } => serve::run(listen, seed),
        Command::Compare {
            baseline,
            run,
            max_regression,
            format,
            out,
        } => compare::run(&baseline, &run, max_regression.as_deref(), &format, out),
        Command::Merge {
            dirs,
            out,
            templates,
        } => merge::run(&dirs, out, templates.as_deref()),
        Command::Kubernetes {
            file,
            shards,
            image,
            namespace,
            start_in,
            claim,
        } => kubernetes::run(&kubernetes::Options {
            file,
            shards,
            image,
            namespace,
            start_in: std::time::Duration::from_nanos(start_in.as_nanos()),
            claim,
        }),
        Command::Schema { write, results } => schema::run(write.as_deref(), results),
    }
}

/// Loads and compiles a scenario.
fn load_plan(path: &Path, seed: Option<u64>) -> Result<Plan, Error> {
    let loaded = crate::scenario::load_file(path)?;
    crate::plan::compile(&loaded, seed).map_err(|d| Error::diagnostics(&d))
}

/// Writes to stdout; a closed pipe (`gauntlet plan … | head`) ends output quietly.
fn print(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(error::io("cannot write to stdout")),
    }
}
