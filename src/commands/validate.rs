//! `gauntlet validate FILE... [--seed S] [--watch]`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::exit;
use crate::plan::{Plan, diff};
use crate::scenario::{self, LoadError};
use crate::units::{self, thousands};
use crate::watch::FileWatch;

fn summary(plan: &Plan) -> String {
    format!(
        "{} phase{}, {} transactions over {}, digest {}…",
        plan.phases.len(),
        if plan.phases.len() == 1 { "" } else { "s" },
        thousands(plan.planned),
        units::ns(plan.duration_ns),
        &plan.digest[..12]
    )
}

pub fn run(files: &[PathBuf], seed: Option<u64>, watch: bool) -> anyhow::Result<ExitCode> {
    if watch {
        if files.len() != 1 {
            eprintln!("error: --watch follows one file; give one scenario");
            return Ok(ExitCode::from(exit::INVALID));
        }
        return watch_one(&files[0], seed);
    }
    let mut failed = false;
    for file in files {
        match super::load_plan(file, seed) {
            Ok(plan) => super::print(&format!("ok {}: {}\n", file.display(), summary(&plan)))?,
            Err(_) => failed = true,
        }
    }
    Ok(ExitCode::from(if failed {
        exit::INVALID
    } else {
        exit::OK
    }))
}

/// What one look at the file found.
enum Look {
    Valid(Box<Plan>),
    Invalid(usize),
    Gone,
}

fn look(file: &Path, seed: Option<u64>) -> Look {
    match scenario::load_file(file) {
        Err(LoadError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Look::Gone
        }
        Err(LoadError::Io { path, source }) => {
            eprintln!("error: {path}: cannot read the scenario: {source}");
            Look::Invalid(1)
        }
        Err(LoadError::Invalid(diags)) => {
            eprint!("{}", scenario::render(&diags));
            Look::Invalid(diags.len())
        }
        Ok(loaded) => match crate::plan::compile(&loaded, seed) {
            Ok(plan) => Look::Valid(Box::new(plan)),
            Err(diags) => {
                eprint!("{}", scenario::render(&diags));
                Look::Invalid(diags.len())
            }
        },
    }
}

/// Validates `file` on every save until interrupted.
fn watch_one(file: &Path, seed: Option<u64>) -> anyhow::Result<ExitCode> {
    let shown = file.display().to_string();
    let watcher = match FileWatch::new(file) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {shown}: cannot watch it: {e}");
            return Ok(ExitCode::from(exit::CANNOT_RUN));
        }
    };
    let mut last: Option<Box<Plan>> = None;
    let report = |first: bool, last: &mut Option<Box<Plan>>| -> anyhow::Result<()> {
        let verb = if first { "ok" } else { "reload" };
        match look(file, seed) {
            Look::Valid(plan) => {
                let mut text = if first {
                    format!("ok {shown}: {}\n", summary(&plan))
                } else {
                    format!("{verb} {shown}: ok, {}\n", summary(&plan))
                };
                if let Some(old) = last.as_deref() {
                    let changes = diff::changes(old, &plan);
                    if changes.is_empty() {
                        text.push_str("  no change in meaning\n");
                    }
                    for c in changes {
                        text.push_str(&format!("  {c}\n"));
                    }
                }
                super::print(&text)?;
                *last = Some(plan);
            }
            Look::Invalid(n) => {
                let stands = if last.is_some() {
                    "; the last valid version stands"
                } else {
                    ""
                };
                super::print(&format!(
                    "{verb} {shown}: invalid ({n} error{}){stands}\n",
                    if n == 1 { "" } else { "s" }
                ))?;
            }
            Look::Gone => super::print(&format!(
                "{verb} {shown}: the file is gone; waiting for it to come back\n"
            ))?,
        }
        Ok(())
    };
    report(true, &mut last)?;
    super::print(&format!(
        "watching {shown} for changes in {} (Ctrl-C stops)\n",
        watcher.folder().display()
    ))?;
    while watcher.next_change() {
        report(false, &mut last)?;
    }
    Ok(ExitCode::SUCCESS)
}
