use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = gauntlet::Cli::parse();
    gauntlet::cli::init_tracing(cli.verbose);
    match gauntlet::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprint!("{}", e.render());
            ExitCode::from(e.exit_code())
        }
    }
}
