//! `gauntlet compare BASELINE RUN [--max-regression SPEC] [--format md|html|json] [--out FILE]`:
//! a run judged against a baseline (see `crate::compare`). Exit 0 when nothing regressed, 1 on
//! a regression, 2 when the runs cannot be compared.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::Error;
use super::error;
use crate::cli::exit;
use crate::compare;
use crate::results::{Results, write_atomic};

fn load(path: &Path) -> Result<(String, Results), Error> {
    let (file, r) = super::report::load(path)?;
    if !r.complete {
        eprintln!(
            "warning: {} is a checkpoint of a run that did not finish",
            file.display()
        );
    }
    Ok((path.display().to_string(), r))
}

pub fn run(
    baseline: &Path,
    run: &Path,
    max_regression: Option<&str>,
    format: &str,
    out: Option<PathBuf>,
) -> Result<ExitCode, Error> {
    let (a_dir, a) = load(baseline)?;
    let (b_dir, b) = load(run)?;
    if let Some(why) = compare::incomparable(&a, &b) {
        return Err(Error::Invalid(format!(
            "cannot compare {a_dir} and {b_dir}: {why}"
        )));
    }
    let (limits, from) = match (max_regression, &b.max_regression) {
        (Some(spec), _) => (
            compare::parse_limits(spec)
                .map_err(|e| Error::Invalid(format!("--max-regression: {e}")))?,
            "--max-regression".to_string(),
        ),
        (None, Some(spec)) => (
            compare::parse_limits(spec)
                .map_err(|e| Error::Invalid(format!("{b_dir}: [compare] max_regression: {e}")))?,
            "the scenario's [compare] max_regression".to_string(),
        ),
        (None, None) => (Vec::new(), "none".to_string()),
    };
    let c = compare::compare((&a_dir, &a), (&b_dir, &b), limits, from);
    let text = crate::report::render_comparison(&c, format)?;
    match out {
        Some(path) => {
            write_atomic(&path, text.as_bytes())
                .map_err(error::io(format!("cannot write {}", path.display())))?;
            eprintln!("{}: {}", path.display(), c.verdict);
        }
        None => super::print(&text)?,
    }
    Ok(ExitCode::from(if c.regressions > 0 {
        exit::FAILED
    } else {
        exit::OK
    }))
}
