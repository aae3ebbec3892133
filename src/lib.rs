//! gauntlet: a declarative load-, stress- and resilience-testing engine.
//!
//! The modules follow the pipeline: `scenario` (the file as written) -> `plan` (checked and
//! compiled, with `workload` generating transactions) -> engine -> metrics -> verdict ->
//! report. `cli` parses the command line; `commands` carries each command out.

pub mod cli;
pub mod clock;
pub mod commands;
pub mod compare;
pub mod dashboard;
pub mod engine;
pub mod metrics;
pub mod plan;
pub mod probe;
pub mod report;
pub mod results;
pub mod rng;
pub mod scenario;
pub mod shard;
pub mod targets;
pub mod template_error;
pub mod units;
mod verdict;
mod watch;
pub mod workload;

pub use cli::Cli;
pub use commands::run;
