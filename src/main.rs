use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = gauntlet::Cli::parse();
    gauntlet::cli::init_tracing(cli.verbose);
    match gauntlet::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(gauntlet::cli::exit::CANNOT_RUN)
        }
    }
}
