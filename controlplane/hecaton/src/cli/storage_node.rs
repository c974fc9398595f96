//! `hecaton storage-node --config FILE`: run a storage node's control plane (and, unless the
//! configuration attaches to one, its data plane).

use clap::{Args, Subcommand};
use hecaton_controlplane::chain;
use hecaton_controlplane::storage_node::{self, config::StorageNodeConfig};

use super::config_file::ConfigFileArgs;
use super::migrate::StorageMigrateCmd;

/// Run a storage node.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct StorageNodeCmd {
    #[command(subcommand)]
    sub: Option<StorageNodeSub>,
    #[command(flatten)]
    file: ConfigFileArgs,
}

#[derive(Subcommand, Debug)]
enum StorageNodeSub {
    /// Switch a Colossus node to Hecaton: write node.toml from its command line, check every
    /// file of its uploads directory against the chain and adopt the matching ones in place.
    Migrate(StorageMigrateCmd),
}

impl StorageNodeCmd {
    /// Runs the command.
    pub async fn run(self) -> anyhow::Result<()> {
        if let Some(StorageNodeSub::Migrate(cmd)) = self.sub {
            return cmd.run().await;
        }
        let Some(mut config) = self
            .file
            .load::<StorageNodeConfig>(storage_node::config::EXAMPLE)?
        else {
            return Ok(());
        };
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
        if self.file.check_config {
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
