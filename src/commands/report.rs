//! `gauntlet report RESULTS [--format F]... [--templates DIR]`

use std::path::Path;
use std::process::ExitCode;

use super::Error;
use crate::report::Templates;
use crate::results::Results;

pub fn run(path: &Path, formats: &[String], templates: Option<&Path>) -> Result<ExitCode, Error> {
    let file = if path.is_dir() {
        path.join("results.json")
    } else {
        path.to_path_buf()
    };
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let text = std::fs::read_to_string(&file)
        .map_err(|e| Error::Invalid(format!("{}: cannot read the results: {e}", file.display())))?;
    let mut results: Results = serde_json::from_str(&text).map_err(|e| {
        Error::Invalid(format!(
            "{}:{}:{}: not a gauntlet results file: {e}",
            file.display(),
            e.line(),
            e.column()
        ))
    })?;
    results.upgrade();
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
