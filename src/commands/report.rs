//! `gauntlet report RESULTS [--format F]... [--templates DIR]`

use std::path::Path;
use std::process::ExitCode;

use crate::cli::exit;
use crate::report::{Templates, WriteError};
use crate::results::Results;

pub fn run(path: &Path, formats: &[String], templates: Option<&Path>) -> anyhow::Result<ExitCode> {
    let file = if path.is_dir() {
        path.join("results.json")
    } else {
        path.to_path_buf()
    };
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: cannot read the results: {e}", file.display());
            return Ok(ExitCode::from(exit::INVALID));
        }
    };
    let results: Results = match serde_json::from_str(&text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "error: {}:{}:{}: not a gauntlet results file: {e}",
                file.display(),
                e.line(),
                e.column()
            );
            return Ok(ExitCode::from(exit::INVALID));
        }
    };
    let templates = match Templates::load(templates) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(exit::INVALID));
        }
    };
    let formats = if formats.is_empty() {
        results.report_formats.clone()
    } else {
        formats.to_vec()
    };
    match templates.write(&results, &formats, &dir) {
        Ok(written) => {
            for path in written {
                println!("wrote {}", path.display());
            }
        }
        Err(WriteError::Render(e)) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(exit::INVALID));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(ExitCode::SUCCESS)
}
