//! One integration test binary (fast to link on two cores), one module per concern.

mod browser;
mod cli;
mod compare;
mod dashboard;
mod determinism;
mod diagnostics;
mod docs;
mod hardening;
mod health;
mod honest;
mod http;
mod http_server;
mod plan_counts;
mod probe;
mod properties;
mod reload;
mod run_cli;
mod schema;
mod shards;
mod simulation;
mod support;
mod tls;
mod tls_server;
mod watch;
