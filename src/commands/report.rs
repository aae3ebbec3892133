//! `gauntlet report RESULTS [--format F]... [--templates DIR]`

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::exit;
use crate::report::Templates;
use crate::results::{Results, write_atomic};

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
    let rendered = match templates.render(&results, &formats) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(exit::INVALID));
        }
    };
    for (name, text) in rendered {
        let out = dir.join(&name);
        write_atomic(&out, text.as_bytes())
            .with_context(|| format!("cannot write {}", out.display()))?;
        println!("wrote {}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}
