//! The `hecaton` command line: the chain service and the leader, operator and member commands.

pub mod chain;
pub mod dev;
pub mod distributor;
pub mod leader;
pub mod member;
pub mod operator;
pub mod output;
pub mod send;
pub mod storage_node;

use clap::Args;
use hecaton_controlplane::account::AccountId;
use hecaton_controlplane::chain::EmbeddedClient;

/// Where the chain is and how to print.
#[derive(Args, Debug, Clone)]
pub struct ChainArgs {
    /// The chain: the URL of `hecaton chain`'s API.
    #[arg(
        long,
        env = "HECATON_CHAIN",
        default_value = "http://127.0.0.1:9955",
        global = true
    )]
    pub chain: String,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// The signing account: SS58, 0x-hex, or a `//Name` dev URI. Defaults to the dev network's
    /// account for the role (see `hecaton chain --bootstrap dev`).
    #[arg(long = "as", env = "HECATON_ACCOUNT", global = true)]
    pub account: Option<AccountId>,
}

impl ChainArgs {
    /// The chain client. `wss://` chains arrive with issue seven.
    pub fn client(&self) -> anyhow::Result<EmbeddedClient> {
        if self.chain.starts_with("ws://") || self.chain.starts_with("wss://") {
            anyhow::bail!(
                "{} is a Joystream node; this build talks to `hecaton chain` (http) only so far",
                self.chain
            );
        }
        Ok(EmbeddedClient::new(&self.chain))
    }

    /// The signer, or the dev default for the role.
    pub fn signer(&self, dev_default: &str) -> AccountId {
        self.account.unwrap_or_else(|| AccountId::dev(dev_default))
    }
}
