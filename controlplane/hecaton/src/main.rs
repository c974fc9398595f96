//! `hecaton`: the control plane and command line.
//!
//! `hecaton chain` runs the embedded data directory; `hecaton leader|operator|member` submit the
//! calls the Colossus, Argus and Joystream CLIs submit; `hecaton tune check` checks the host.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hecaton_shared::exit_code;
use hecaton_shared::logging::LogArgs;
use hecaton_tuning::Status;

use cli::ChainArgs;

#[derive(Parser, Debug)]
#[command(
    name = "hecaton",
    version = hecaton_controlplane::VERSION,
    about = "Hecaton: storage and distribution nodes for the Joystream network",
    long_about = "Hecaton replaces Joystream's Colossus (storage) and Argus (distributor) nodes.\n\
                  This binary is the control plane and command line; the data plane is `hecaton-dataplane`."
)]
struct Cli {
    #[command(flatten)]
    log: LogArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the embedded chain (the Storage pallet's data directory) with its HTTP API.
    Chain(cli::chain::ChainCmd),
    /// Working-group lead calls: buckets, families, limits, policies, blacklist.
    Leader {
        #[command(flatten)]
        chain: ChainArgs,
        #[command(subcommand)]
        command: cli::leader::Leader,
    },
    /// Bucket operator calls: accept invitations, publish metadata.
    Operator {
        #[command(flatten)]
        chain: ChainArgs,
        #[command(subcommand)]
        command: cli::operator::Operator,
    },
    /// Member calls: membership, channels, uploads, deletions.
    Member {
        #[command(flatten)]
        chain: ChainArgs,
        #[command(subcommand)]
        command: cli::member::Member,
    },
    /// Host checks and tuning for operators.
    #[command(subcommand)]
    Tune(Tune),
    /// Run a whole storage network on loopback: the embedded chain and storage nodes.
    Dev(cli::dev::DevCmd),
    /// Run a storage node: its control plane, supervising its data plane.
    StorageNode(cli::storage_node::StorageNodeCmd),
    /// Run a distributor: its control plane, supervising its data plane.
    DistributorNode(cli::distributor::DistributorNodeCmd),
    /// Signed calls to a distributor's operator API (stop/start the public API, shutdown,
    /// set worker, set buckets).
    DistributorApi(cli::distributor::DistributorApiCmd),
    /// Ask storage buckets to prove they hold what the chain says they store: random objects
    /// of their bags, one 16 KiB chunk each, checked against the content ids on chain.
    Audit(cli::audit::AuditCmd),
    /// Offline helpers: a file's content id, a bag id's syntax.
    Util {
        /// Print JSON instead of text.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        command: cli::util::Util,
    },
    /// Run the data plane (what `storage-node` starts in its own process).
    #[command(subcommand)]
    Dataplane(hecaton_dataplane::cli::Command),
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
        /// The store directory, to check its filesystem (type, mount options, free space).
        #[arg(long)]
        store: Option<std::path::PathBuf>,
        /// Print the findings as JSON (an array of {name, status, found, fix}).
        #[arg(long)]
        json: bool,
    },
}

/// `hecaton tune check`: what the data plane needs (a failure stops it: exit code 7), then
/// advisories (network queues and buffers, the store's filesystem, huge pages, the governor).
fn tune_check(
    shards: Option<usize>,
    io_memory_mib: usize,
    max_connections_per_shard: u64,
    store: Option<&std::path::Path>,
    json: bool,
) -> ExitCode {
    let shards =
        shards.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut checks = hecaton_tuning::host_report(
        shards,
        io_memory_mib << 20,
        max_connections_per_shard * shards as u64,
    );
    checks.extend(hecaton_tuning::advisories(store));
    if json {
        let rows: Vec<serde_json::Value> = checks
            .iter()
            .map(|c| {
                serde_json::json!({
                    "name": c.name,
                    "status": match c.status { Status::Ok => "ok", Status::Warn => "warn", Status::Fail => "fail" },
                    "found": c.found,
                    "fix": c.fix,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
    } else {
        for check in &checks {
            println!("{check}");
        }
    }
    if checks.iter().any(|c| c.status == Status::Fail) {
        ExitCode::from(exit_code::HOST_UNFIT)
    } else {
        ExitCode::SUCCESS
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = cli.log.init() {
        eprintln!("error: {e}");
        return ExitCode::from(exit_code::CONFIG);
    }
    let command = cli.command;
    // The data plane runs on glommio, never inside the tokio runtime.
    if let Command::Dataplane(command) = command {
        return hecaton_dataplane::cli::run(command);
    }
    // `dev` only starts and watches processes; it runs on the main thread (see dev.rs).
    if let Command::Dev(cmd) = command {
        return exit(cmd.run());
    }
    if let Command::Tune(Tune::Check {
        shards,
        io_memory_mib,
        max_connections_per_shard,
        store,
        json,
    }) = command
    {
        return tune_check(
            shards,
            io_memory_mib,
            max_connections_per_shard,
            store.as_deref(),
            json,
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Chain(cmd) => cmd.run().await,
            Command::Leader { chain, command } => command.run(&chain).await,
            Command::Operator { chain, command } => command.run(&chain).await,
            Command::Member { chain, command } => command.run(&chain).await,
            Command::StorageNode(cmd) => cmd.run().await,
            Command::DistributorNode(cmd) => cmd.run().await,
            Command::DistributorApi(cmd) => cmd.run().await,
            Command::Util { json, command } => command.run(json),
            Command::Audit(cmd) => cmd.run().await,
            Command::Tune(_) | Command::Dataplane(_) | Command::Dev(_) => {
                unreachable!("handled above")
            }
        }
    });
    exit(result)
}

/// Prints a failure and picks the exit code that names its cause (`docs/exit-codes.md`).
fn exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(cli::exit::code_of(&e))
        }
    }
}
