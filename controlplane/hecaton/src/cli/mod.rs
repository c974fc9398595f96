//! The `hecaton` command line: the chain service and the leader, operator and member commands.

pub mod audit;
pub mod bag_batch;
pub mod bag_plan;
pub mod chain;
pub mod config_file;
pub mod dev;
pub mod distributor;
pub mod exit;
pub mod leader;
pub mod member;
pub mod migrate;
pub mod operator;
pub mod output;
pub mod send;
pub mod storage_node;
pub mod util;

use clap::Args;
use hecaton_controlplane::account::AccountId;
use hecaton_controlplane::chain::{connect, AnyChain, ChainKind, EmbeddedClient};
use hecaton_controlplane::node::config::JoystreamSection;

/// Where the chain is and how to print.
#[derive(Args, Debug, Clone)]
pub struct ChainArgs {
    /// The chain: `embedded`, the URL of `hecaton chain`'s API, or a Joystream node's `wss://` URL.
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
    /// Against a Joystream node: the signer's key file (polkadot-js JSON export, or a text file
    /// holding a SURI or mnemonic).
    #[arg(long, env = "HECATON_KEY_FILE", global = true)]
    pub key_file: Option<String>,
    /// The JSON key file's password.
    #[arg(
        long,
        env = "HECATON_KEY_PASSWORD",
        global = true,
        hide_env_values = true
    )]
    pub key_password: Option<String>,
    /// Against a Joystream node: the signer's SURI or mnemonic (prefer the environment
    /// variable to the flag, which other users can see). Never printed.
    #[arg(long, env = "HECATON_SURI", global = true, hide_env_values = true)]
    pub suri: Option<String>,
}

impl ChainArgs {
    /// The chain client (its operator directory, for a Joystream node, in the working
    /// directory's `.hecaton/`).
    pub fn client(&self) -> anyhow::Result<AnyChain> {
        let section = JoystreamSection {
            key_file: self.key_file.clone().unwrap_or_default(),
            key_password: self.key_password.clone().unwrap_or_default(),
            suri: self.suri.clone().unwrap_or_default(),
            ..Default::default()
        };
        let dir = std::env::temp_dir().join("hecaton-cli");
        Ok(connect(&self.chain, &section, &dir)?)
    }

    /// The embedded chain's client, for the commands only it answers (members, channels,
    /// videos: the real chain's content pallet is out of Hecaton's scope).
    pub fn embedded(&self) -> anyhow::Result<EmbeddedClient> {
        match ChainKind::parse(&self.chain).map_err(anyhow::Error::msg)? {
            ChainKind::Embedded(url) => Ok(EmbeddedClient::new(&url)),
            ChainKind::Joystream(url) => anyhow::bail!(
                "{url} is a Joystream node; member commands work against `hecaton chain` only \
                 (use the Joystream CLI or Atlas there)"
            ),
        }
    }

    /// The signer: `--as`, else the key's account (a Joystream node), else the dev default
    /// for the role.
    pub fn signer(&self, client: &AnyChain, dev_default: &str) -> AccountId {
        self.account
            .or_else(|| client.key_account())
            .unwrap_or_else(|| AccountId::dev(dev_default))
    }
}
