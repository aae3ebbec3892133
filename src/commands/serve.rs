//! `gauntlet serve [--listen ADDR] [--seed S]`

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::exit;
use crate::target::http::serve;

pub fn run(listen: SocketAddr, seed: u64) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let listener = match serve::bind(listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {listen}: {e}");
                return Ok(ExitCode::from(exit::CANNOT_RUN));
            }
        };
        let addr = listener.local_addr()?;
        eprintln!("gauntlet serve: the fraud-pipeline on http://{addr}/score (GET /health); Ctrl-C stops it");
        tokio::select! {
            _ = serve::run(listener, seed) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(ExitCode::SUCCESS)
    })
}
