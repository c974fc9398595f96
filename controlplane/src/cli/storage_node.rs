//! `hecaton storage-node --config FILE`: run a storage node's control plane (and, unless the
//! configuration attaches to one, its data plane).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use hecaton_controlplane::chain;
use hecaton_controlplane::storage_node::{self, config::StorageNodeConfig};

/// Run a storage node.
#[derive(Args, Debug)]
pub struct StorageNodeCmd {
    /// The configuration file (TOML; see --print-example-config).
    #[arg(long, required_unless_present = "print_example_config")]
    config: Option<PathBuf>,
    /// Check the configuration (environment overrides included) and exit.
    #[arg(long)]
    check_config: bool,
    /// Print the annotated example configuration and exit.
    #[arg(long)]
    print_example_config: bool,
}

impl StorageNodeCmd {
    /// Runs the command.
    pub async fn run(self) -> anyhow::Result<()> {
        if self.print_example_config {
            print!("{}", storage_node::config::EXAMPLE);
            return Ok(());
        }
        let path = self.config.context("--config is required")?;
        let mut config = StorageNodeConfig::load(&path, std::env::vars())?;
        let chain = chain::connect(&config.chain, &config.joystream, &config.store_dir)?;
        if let Some(key) = chain.key_account() {
            match config.transactor {
                None => config.transactor = Some(key),
                Some(named) if named != key => anyhow::bail!(
                    "transactor {} is not the account of the [joystream] key ({})",
                    named.to_ss58(),
                    key.to_ss58()
                ),
                Some(_) => {}
            }
        }
        if self.check_config {
            println!("configuration OK: {}", config.summary());
            return Ok(());
        }
        storage_node::run(chain, config, shutdown_signal()).await?;
        Ok(())
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
