//! `gauntlet schema [--write DIR]`

use std::path::Path;
use std::process::ExitCode;

use crate::scenario::schema::scenario_schema;

/// The committed schema files, by name, as generated now.
pub fn generated() -> Vec<(&'static str, String)> {
    let pretty =
        |v: serde_json::Value| serde_json::to_string_pretty(&v).expect("schemas serialize") + "\n";
    let results = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<crate::results::Results>()
        .to_value();
    vec![
        ("scenario.schema.json", pretty(scenario_schema())),
        ("results.schema.json", pretty(results)),
    ]
}

pub fn run(write: Option<&Path>, results: bool) -> Result<ExitCode, super::Error> {
    let files = generated();
    match write {
        None => super::print(&files[usize::from(results)].1)?,
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(super::error::io(format!("cannot create {}", dir.display())))?;
            for (name, text) in files {
                let path = dir.join(name);
                std::fs::write(&path, text)
                    .map_err(super::error::io(format!("cannot write {}", path.display())))?;
                eprintln!("wrote {}", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
