//! The configuration-file options every node role takes: `--config FILE`, `--check-config`,
//! `--print-example-config`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use hecaton_controlplane::node::config::NodeConfig;

/// Where a node's configuration comes from.
#[derive(Args, Debug)]
pub struct ConfigFileArgs {
    /// The configuration file (TOML; see --print-example-config).
    #[arg(long, required_unless_present = "print_example_config")]
    config: Option<PathBuf>,
    /// Check the configuration (environment overrides included) and exit.
    #[arg(long)]
    pub check_config: bool,
    /// Print the annotated example configuration and exit.
    #[arg(long)]
    print_example_config: bool,
}

impl ConfigFileArgs {
    /// The configuration with the environment's overrides, or `None` after printing `example`
    /// when that is what was asked.
    pub fn load<T: NodeConfig>(&self, example: &str) -> anyhow::Result<Option<T>> {
        if self.print_example_config {
            print!("{example}");
            return Ok(None);
        }
        let path = self.config.as_ref().context("--config is required")?;
        Ok(Some(T::load(path, std::env::vars())?))
    }
}
