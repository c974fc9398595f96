//! `hecaton chain`: run the embedded data directory with its HTTP API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};
use hecaton_emulator::embedded::bootstrap::{self, DevNetwork};
use hecaton_emulator::embedded::{api, Node, NodeConfig};
use hecaton_emulator::runtime::{Constants, Profile};

/// Which network `--bootstrap` seeds.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BootstrapKind {
    /// Leads, storage buckets with operators and endpoints, a distribution family with
    /// operated buckets, policies, limits, static bags assigned, one member.
    Dev,
}

/// Flags of `hecaton chain`.
#[derive(Args, Debug)]
pub struct ChainCmd {
    /// Directory of the chain's log (created if missing).
    #[arg(long, env = "HECATON_CHAIN_DATA_DIR")]
    data_dir: PathBuf,
    /// Address of the HTTP API (loopback by default: no authentication).
    #[arg(long, default_value = "127.0.0.1:9955")]
    listen: SocketAddr,
    /// Milliseconds between blocks.
    #[arg(long, default_value_t = 1000)]
    block_time_ms: u64,
    /// Produce a block as soon as calls arrive (tests).
    #[arg(long, conflicts_with = "block_time_ms")]
    instant: bool,
    /// Runtime constants: mainnet's, or the playground build's (one bucket per bag is enough).
    #[arg(long, value_enum, default_value_t = Profile::Mainnet)]
    profile: Profile,
    /// Seed a new data directory with a working network.
    #[arg(long, value_enum)]
    bootstrap: Option<BootstrapKind>,
    /// With `--bootstrap dev`: one storage bucket per endpoint (repeat the flag).
    #[arg(long = "storage-endpoint", default_values_t = [String::from("http://127.0.0.1:3333/")])]
    storage_endpoints: Vec<String>,
    /// With `--bootstrap dev`: one distribution bucket per endpoint (repeat the flag).
    #[arg(long = "distribution-endpoint", default_values_t = [String::from("http://127.0.0.1:3334/")])]
    distribution_endpoints: Vec<String>,
}

impl ChainCmd {
    /// Runs until SIGINT or SIGTERM.
    pub async fn run(self) -> anyhow::Result<()> {
        if !self.listen.ip().is_loopback() {
            tracing::warn!(listen = %self.listen, "the chain API has no authentication; it is meant for loopback");
        }
        let bootstrap = match self.bootstrap {
            None => None,
            Some(BootstrapKind::Dev) => Some(bootstrap::dev(
                &Constants::for_profile(self.profile),
                &DevNetwork {
                    storage_endpoints: self.storage_endpoints,
                    distribution_endpoints: self.distribution_endpoints,
                },
            )?),
        };
        let config = NodeConfig {
            data_dir: self.data_dir,
            profile: self.profile,
            block_time: (!self.instant).then(|| Duration::from_millis(self.block_time_ms.max(1))),
            bootstrap,
        };
        let node = tokio::task::spawn_blocking(move || Node::start(config))
            .await
            .context("chain start-up panicked")??;
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .with_context(|| format!("listen on {}", self.listen))?;
        let local = listener.local_addr()?;
        println!("listening on {local} (block {})", node.head().number);
        tracing::info!(%local, "chain API up");
        // Followers of the block stream never end their requests: after the stop they get a
        // moment, then are closed.
        hecaton_controlplane::http_server::serve(
            listener,
            api::router(node),
            hecaton_controlplane::http_server::ServerLimits::CHAIN,
            shutdown_signal(),
            Duration::from_secs(2),
        )
        .await;
        Ok(())
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("stopping");
}
