//! `gauntlet serve [--listen ADDR] [--seed S]`

use std::net::SocketAddr;
use std::process::ExitCode;

use super::error::{self, Error};
use crate::targets::http::serve;

pub fn run(listen: SocketAddr, seed: u64) -> Result<ExitCode, Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(error::io("cannot start the async runtime"))?;
    rt.block_on(async {
        let listener = serve::bind(listen)
            .await
            .map_err(error::io(format!("cannot listen on {listen}")))?;
        let addr = listener
            .local_addr()
            .map_err(error::io(format!("cannot listen on {listen}")))?;
        if !crate::dashboard::is_loopback(&addr) {
            eprintln!(
                "warning: gauntlet serve listens on {addr}, reachable from other machines: anyone who can reach it can send it load"
            );
        }
        // Ctrl-C and SIGTERM (a container's or a service manager's stop) both end it cleanly;
        // both are caught before the line that says so, so a stop right after it is clean too.
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(error::io("cannot catch SIGTERM"))?;
        let mut int = signal(SignalKind::interrupt()).map_err(error::io("cannot catch Ctrl-C"))?;
        eprintln!("gauntlet serve: the fraud-pipeline on http://{addr}/score (GET /health); Ctrl-C or SIGTERM stops it");
        tokio::select! {
            _ = serve::run(listener, seed) => {}
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        Ok(ExitCode::SUCCESS)
    })
}
