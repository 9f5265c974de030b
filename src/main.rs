use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    recofinement::logging::init();
    recofinement::cli::run(recofinement::cli::Cli::parse())
}
