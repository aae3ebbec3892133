//! `gauntlet merge DIR... [--out DIR] [--templates DIR]`: the shards of one run, merged into
//! one run's results and reports (see `crate::shard`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use serde::Serialize;

use super::error::{self, Error};
use crate::cli::exit;
use crate::engine::Snapshot;
use crate::report::Templates;
use crate::results::{self, write_atomic};
use crate::shard;

/// Wall-clock facts of a merge: run.json.
#[derive(Serialize)]
struct MergeInfo {
    gauntlet: &'static str,
    scenario: String,
    seed: u64,
    digest: String,
    /// The start instant the shards shared.
    start_at: String,
    merged_at: String,
    shards: Vec<String>,
    command: Vec<String>,
}

pub fn run(
    dirs: &[PathBuf],
    out: Option<PathBuf>,
    templates: Option<&Path>,
) -> Result<ExitCode, Error> {
    let read: Vec<shard::Read> = dirs
        .iter()
        .map(|d| shard::read(d))
        .collect::<Result<_, _>>()
        .map_err(Error::Invalid)?;
    let merged = shard::merge(read).map_err(Error::Invalid)?;
    let plan = &merged.plan;
    let templates = Templates::load(templates)?;
    let formats: Vec<String> = plan.report.formats.iter().map(|f| f.0.clone()).collect();
    for f in &formats {
        templates.file_for(f)?;
    }
    let out = out.unwrap_or_else(|| {
        let dir = super::run::run_dir(plan, SystemTime::now());
        let name = format!(
            "{}-merged",
            dir.file_name()
                .map_or("run".into(), |n| n.to_string_lossy())
        );
        dir.with_file_name(name)
    });
    super::error::out_is_a_folder(&out)?;
    if out.join("shard.json").is_file() {
        return Err(Error::Invalid(format!(
            "{}: this folder holds a shard's own results (shard.json); merging into it would \
             overwrite that shard's results.json and reports. Give --out another folder",
            out.display()
        )));
    }
    std::fs::create_dir_all(&out).map_err(error::io(format!("cannot create {}", out.display())))?;
    let snapshot = Snapshot {
        plan,
        recorder: &merged.recorder,
        reloads: &[],
        controls: &[],
        paused: false,
        components: None,
        stop: merged.stop,
        end_ns: merged.stop.map_or(merged.end_ns, |s| s.at_ns()),
        complete: merged.complete,
        target: Some(&merged.target),
    };
    let mut results = results::build(&snapshot);
    results.shards = merged.rows.clone();
    let path = out.join("results.json");
    results::write_results(&path, &results)
        .map_err(error::io(format!("cannot write {}", path.display())))?;
    let info = MergeInfo {
        gauntlet: env!("CARGO_PKG_VERSION"),
        scenario: plan.name.clone(),
        seed: plan.seed,
        digest: plan.digest.clone(),
        start_at: merged.start_at.clone(),
        merged_at: crate::clock::rfc3339(SystemTime::now()),
        shards: merged.rows.iter().map(|r| r.from.clone()).collect(),
        command: super::run::redacted_args(std::env::args()),
    };
    let json = serde_json::to_string_pretty(&info).unwrap_or_default() + "\n";
    write_atomic(&out.join("run.json"), json.as_bytes())
        .map_err(error::io(format!("cannot write {}", out.display())))?;
    templates.write(&results, &formats, &out)?;
    super::print(&format!(
        "merged {} shards of {} (digest {})\n",
        merged.rows.len(),
        plan.name,
        &plan.digest[..12]
    ))?;
    super::print(&super::run::verdict_text(&results, &out))?;
    Ok(ExitCode::from(match results.verdict.status.as_str() {
        "passed" => exit::OK,
        "interrupted" => exit::INTERRUPTED,
        _ => exit::FAILED,
    }))
}
