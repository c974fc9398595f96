//! `hecaton-bench`: load generators and helpers for comparing Hecaton with its peers.

mod cache_sim;
mod expectations;
mod http;
mod report;
mod scale;
mod target;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "hecaton-bench", version, about = "Benchmarks for Hecaton")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// HTTP/1.1 keep-alive load: N connections for a fixed time, latency in hdrhistogram.
    Http(http::HttpArgs),
    /// Cache policies (the distributor's S3-FIFO, LRU, Argus's LRU-SP) on a Zipf trace.
    CacheSim(cache_sim::CacheSimArgs),
    /// Prints `<id> <size> <content id>` for each file of a directory named by a decimal id
    /// (an expectations file for `hecaton dataplane import --expect`).
    Expectations(expectations::ExpectationsArgs),
    /// What a store of N objects costs the data plane: recovery, catalog and placement memory,
    /// the placement snapshot, `/state/data-objects` (a synthesized store).
    Scale(scale::ScaleArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Http(args) => http::run(args),
        Command::CacheSim(args) => cache_sim::run(args),
        Command::Expectations(args) => expectations::run(args),
        Command::Scale(args) => scale::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
