//! `gauntlet validate FILE...`

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::exit;
use crate::units::{self, thousands};

pub fn run(files: &[PathBuf], seed: Option<u64>) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for file in files {
        match super::load_plan(file, seed) {
            Ok(plan) => super::print(&format!(
                "ok {}: {} phase{}, {} transactions over {}, digest {}…\n",
                file.display(),
                plan.phases.len(),
                if plan.phases.len() == 1 { "" } else { "s" },
                thousands(plan.planned),
                units::ns(plan.duration_ns),
                &plan.digest[..12]
            ))?,
            Err(_) => failed = true,
        }
    }
    Ok(ExitCode::from(if failed {
        exit::INVALID
    } else {
        exit::OK
    }))
}
