//! `gauntlet validate FILE|DIR... [--seed S] [--watch]`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::Error;
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

/// Validates every file; the errors of all the invalid ones come back as one error (exit 2).
pub fn run(files: &[PathBuf], seed: Option<u64>, watch: bool) -> Result<ExitCode, Error> {
    if watch {
        if files.len() != 1 || files[0].is_dir() {
            return Err(Error::Invalid(
                "--watch follows one file; give one scenario".into(),
            ));
        }
        return watch_one(&files[0], seed);
    }
    let mut errors = String::new();
    let files = expand(files)?;
    for file in &files {
        match super::load_plan(file, seed) {
            Ok(plan) => super::print(&format!("ok {}: {}\n", file.display(), summary(&plan)))?,
            Err(e) => errors.push_str(&e.render()),
        }
    }
    if errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Error::Scenario(errors))
    }
}

/// The files to validate: each file as given, and for each folder the `.toml` files in it
/// and its subfolders, in name order (`gauntlet validate scenarios/` in CI).
fn expand(given: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for path in given {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let before = files.len();
        tomls_in(path, &mut files).map_err(|e| {
            Error::Invalid(format!("{}: cannot read the folder: {e}", path.display()))
        })?;
        if files.len() == before {
            return Err(Error::Invalid(format!(
                "{}: a folder with no .toml scenario in it",
                path.display()
            )));
        }
    }
    Ok(files)
}

fn tomls_in(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            tomls_in(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

/// What one look at the file found.
pub(super) enum Look {
    /// A valid version, and the seed the file itself gives.
    Valid(Box<Plan>, u64),
    /// Errors, one line each (`FILE:LINE:COL: message`); printed in full on stderr.
    Invalid(Vec<String>),
    Gone,
}

/// Reads, checks and compiles `file` as it is now.
pub(super) fn look(file: &Path, seed: Option<u64>) -> Look {
    let invalid = |diags: &[scenario::Diagnostic]| {
        eprint!("{}", scenario::render(diags));
        Look::Invalid(
            diags
                .iter()
                .map(|d| format!("{}:{}:{}: {}", d.file, d.line, d.column, d.message))
                .collect(),
        )
    };
    match scenario::load_file(file) {
        Err(LoadError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Look::Gone
        }
        Err(LoadError::Io { path, source }) => {
            let e = format!("{path}: cannot read the scenario: {source}");
            eprintln!("error: {e}");
            Look::Invalid(vec![e])
        }
        Err(LoadError::Invalid(diags)) => invalid(&diags),
        Ok(loaded) => match crate::plan::compile(&loaded, seed) {
            Ok(plan) => Look::Valid(Box::new(plan), loaded.scenario.scenario.seed),
            Err(diags) => invalid(&diags),
        },
    }
}

/// Validates `file` on every save until interrupted.
fn watch_one(file: &Path, seed: Option<u64>) -> Result<ExitCode, Error> {
    let shown = file.display().to_string();
    let watcher = FileWatch::new(file)
        .map_err(|e| Error::CannotRun(format!("{shown}: cannot watch it: {e}")))?;
    let mut last: Option<Box<Plan>> = None;
    let report = |first: bool, last: &mut Option<Box<Plan>>| -> Result<(), Error> {
        let verb = if first { "ok" } else { "reload" };
        match look(file, seed) {
            Look::Valid(plan, _) => {
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
            Look::Invalid(errors) => {
                let n = errors.len();
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
