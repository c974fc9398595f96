//! `hecaton`: the control plane and command line.
//!
//! For now it carries the host checks (`hecaton tune check`); following the chain, placement,
//! uploads and the operator API arrive with the next issues.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hecaton_tuning::Status;

#[derive(Parser, Debug)]
#[command(
    name = "hecaton",
    version,
    about = "Hecaton: storage and distribution nodes for the Joystream network",
    long_about = "Hecaton replaces Joystream's Colossus (storage) and Argus (distributor) nodes.\n\
                  This binary is the control plane and command line; the data plane is `hecaton-dataplane`."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Host checks and tuning for operators.
    #[command(subcommand)]
    Tune(Tune),
}

#[derive(Subcommand, Debug)]
enum Tune {
    /// Check what the data plane needs from this host (io_uring, locked memory, file limits).
    Check {
        /// Data plane shards to plan for; default: every online CPU.
        #[arg(long)]
        shards: Option<usize>,
        /// io_uring memory per shard, in MiB.
        #[arg(long, default_value_t = 10)]
        io_memory_mib: usize,
        /// Connections per shard.
        #[arg(long, default_value_t = 4096)]
        max_connections_per_shard: u64,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Tune(Tune::Check {
            shards,
            io_memory_mib,
            max_connections_per_shard,
        }) => {
            let shards = shards
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let checks = hecaton_tuning::host_report(
                shards,
                io_memory_mib << 20,
                max_connections_per_shard * shards as u64,
            );
            for check in &checks {
                println!("{check}");
            }
            if checks.iter().any(|c| c.status == Status::Fail) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
