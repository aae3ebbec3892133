//! gauntlet: a declarative load-, stress- and resilience-testing engine.
//!
//! The modules follow the pipeline: `scenario` (the file as written) -> `plan` (checked and
//! compiled, with `workload` generating transactions) -> engine -> metrics -> verdict ->
//! report. `cli` parses the command line; `commands` carries each command out.

pub mod cli;
pub mod commands;
pub mod plan;
pub mod rng;
pub mod scenario;
pub mod units;
pub mod workload;

pub use cli::Cli;
pub use commands::run;
