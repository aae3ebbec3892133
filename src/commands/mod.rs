//! Carries out each command. Output the command was asked for goes to stdout; diagnostics to
//! stderr; the exit code says how it went (see `cli::exit`).

mod plan;
mod report;
mod run;
pub mod schema;
mod serve;
mod validate;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::cli::{Cli, Command, exit};
use crate::plan::Plan;
use crate::scenario::{self, LoadError};

/// Runs the command line. `Err` means the command could not be carried out (exit 3).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate { files, seed, watch } => validate::run(&files, seed, watch),
        Command::Plan {
            file,
            seed,
            format,
            arrivals,
        } => plan::run(&file, seed, format, arrivals),
        Command::Run {
            file,
            seed,
            out,
            templates,
            quiet,
            watch,
            pace,
        } => run::run(&run::Options {
            file,
            seed,
            out,
            templates,
            quiet,
            watch,
            pace,
        }),
        Command::Report {
            results,
            formats,
            templates,
        } => report::run(&results, &formats, templates.as_deref()),
        Command::Serve { listen, seed } => serve::run(listen, seed),
        Command::Schema { write, results } => schema::run(write.as_deref(), results),
    }
}

/// Loads and compiles a scenario, or prints why not and gives the exit code.
fn load_plan(path: &Path, seed: Option<u64>) -> Result<Plan, ExitCode> {
    let loaded = scenario::load_file(path).map_err(|e| {
        match e {
            LoadError::Io { .. } => eprintln!("{e}"),
            LoadError::Invalid(diags) => eprint!("{}", scenario::render(&diags)),
        }
        ExitCode::from(exit::INVALID)
    })?;
    crate::plan::compile(&loaded, seed).map_err(|diags| {
        eprint!("{}", scenario::render(&diags));
        ExitCode::from(exit::INVALID)
    })
}

/// Writes to stdout; a closed pipe (`gauntlet plan … | head`) ends output quietly.
fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
