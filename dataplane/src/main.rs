//! `hecaton-dataplane`: serve a store, or import existing files into one.

use std::process::ExitCode;

use clap::Parser;
use hecaton_dataplane::cli::{self, Command};

#[derive(Parser, Debug)]
#[command(
    name = "hecaton-dataplane",
    version,
    about = "Hecaton's data plane: object store and thread-per-core HTTP serving"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    cli::run(Cli::parse().command)
}
