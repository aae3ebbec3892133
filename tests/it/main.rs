//! One integration test binary (fast to link on two cores), one module per concern.

mod cli;
mod determinism;
mod diagnostics;
mod docs;
mod plan_counts;
mod properties;
mod schema;
mod support;
