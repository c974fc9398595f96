//! `hecaton-dataplane`: serve a store, or import existing files into one.

use std::process::ExitCode;

use clap::Parser;
use hecaton_dataplane::cli::{self, Command};
use hecaton_shared::logging::LogArgs;

#[derive(Parser, Debug)]
#[command(
    name = "hecaton-dataplane",
    version,
    about = "Hecaton's data plane: object store and thread-per-core HTTP serving"
)]
struct Cli {
    #[command(flatten)]
    log: LogArgs,
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = cli.log.init() {
        eprintln!("error: {e}");
        return ExitCode::from(hecaton_shared::exit_code::CONFIG);
    }
    cli::run(cli.command)
}
