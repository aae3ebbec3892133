//! `gauntlet report RESULTS [--format F]... [--templates DIR]`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::Error;
use crate::report::Templates;
use crate::results::Results;

/// Reads a run's results.json (`path` is the run's folder or the file itself), upgraded to
/// the current format: the file's path and the results.
pub(super) fn load(path: &Path) -> Result<(PathBuf, Results), Error> {
    let file = if path.is_dir() {
        path.join("results.json")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::NotFound {
            "no such file (give a run's folder or its results.json)".to_string()
        } else {
            e.to_string()
        };
        Error::Invalid(format!(
            "{}: cannot read the results: {why}",
            file.display()
        ))
    })?;
    let mut results: Results = serde_json::from_str(&text).map_err(|e| {
        Error::Invalid(format!(
            "{}:{}:{}: not a gauntlet results file: {e}",
            file.display(),
            e.line(),
            e.column()
        ))
    })?;
    results.upgrade();
    Ok((file, results))
}

pub fn run(path: &Path, formats: &[String], templates: Option<&Path>) -> Result<ExitCode, Error> {
    let (file, results) = load(path)?;
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let templates = Templates::load(templates)?;
    let formats = if formats.is_empty() {
        results.report_formats.clone()
    } else {
        formats.to_vec()
    };
    for path in templates.write(&results, &formats, &dir)? {
        super::print(&format!("wrote {}\n", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
