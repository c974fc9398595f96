//! Whichever chain the configuration names: `chain = "embedded"` (or the `http://` URL of a
//! `hecaton chain`) or `chain = "wss://…"` (a Joystream node). Everything else about a node is
//! the same for both.

use hecaton_shared::BagId;

use super::{
    BagInfo, BlockStream, Chain, ChainError, ChannelInfo, EmbeddedClient, FamilyInfo, ObjectInfo,
    StorageBucketInfo, UploadTerms,
};
use hecaton_vocabulary::block::{BlockHash, Inclusion};
use hecaton_vocabulary::call::{Call, Origin};
use hecaton_vocabulary::storage_types::{Cid, DynamicBagCreationPolicy, DynamicBagType};

/// Why no client could be made for a `chain` setting.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The setting names no chain.
    #[error("chain: {0}")]
    Setting(String),
    /// A key could not be loaded.
    #[cfg(feature = "joystream")]
    #[error(transparent)]
    Key(#[from] super::joystream::keys::KeyError),
    /// Another part of `[joystream]` is wrong.
    #[error(transparent)]
    Config(#[from] crate::node::config::ConfigError),
    /// A Joystream node, but this build was made without the `joystream` feature.
    #[error("chain {0} is a Joystream node; this build has no `joystream` feature")]
    NoJoystream(String),
}

/// The client for a `chain` setting: the embedded chain's HTTP client, or a Joystream node's
/// with the keys and endpoints of `[joystream]` and its operator directory in `dir`.
pub fn connect(
    chain: &str,
    joystream: &crate::node::config::JoystreamSection,
    dir: &std::path::Path,
) -> Result<AnyChain, ConnectError> {
    match ChainKind::parse(chain).map_err(ConnectError::Setting)? {
        ChainKind::Embedded(url) => Ok(AnyChain::Embedded(EmbeddedClient::new(&url))),
        #[cfg(feature = "joystream")]
        ChainKind::Joystream(url) => {
            use super::joystream::{keys::Keyring, JoystreamClient, JoystreamOptions};
            let mut keys = Keyring::default();
            let password = (!joystream.key_password.is_empty()).then_some(&*joystream.key_password);
            for file in joystream.all_key_files()? {
                keys.add_file(&file, password)?;
            }
            if !joystream.suri.is_empty() {
                keys.add_suri(&joystream.suri, "joystream.suri")?;
            }
            for (i, suri) in joystream.suris.iter().enumerate() {
                keys.add_suri(suri, &format!("joystream.suris[{i}]"))?;
            }
            let directory_file = if joystream.directory_file.is_empty() {
                dir.join("operators.json")
            } else {
                std::path::PathBuf::from(&joystream.directory_file)
            };
            let options = JoystreamOptions {
                keys,
                endpoints: joystream.endpoints()?,
                directory_file: Some(directory_file),
                bootstrap: super::joystream::Bootstrap {
                    squid_url: (!joystream.squid_url.is_empty())
                        .then(|| joystream.squid_url.clone()),
                    scan_from: joystream.scan_from_block,
                    scan_max_blocks: joystream.scan_max_blocks,
                },
            };
            Ok(AnyChain::Joystream(JoystreamClient::new(&url, options)))
        }
        #[cfg(not(feature = "joystream"))]
        ChainKind::Joystream(url) => {
            let _ = (joystream, dir);
            Err(ConnectError::NoJoystream(url))
        }
    }
}

impl AnyChain {
    /// The account of the first key given, for a Joystream node.
    pub fn key_account(&self) -> Option<crate::account::AccountId> {
        match self {
            AnyChain::Embedded(_) => None,
            #[cfg(feature = "joystream")]
            AnyChain::Joystream(c) => c.default_account(),
        }
    }
}

/// The embedded chain's default address.
pub const EMBEDDED_URL: &str = "http://127.0.0.1:9955";

/// What a `chain` setting names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainKind {
    /// `hecaton chain` at this base URL.
    Embedded(String),
    /// A Joystream node at this websocket URL.
    Joystream(String),
}

impl ChainKind {
    /// Parses a `chain` setting.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text == "embedded" {
            return Ok(Self::Embedded(EMBEDDED_URL.into()));
        }
        let url = url::Url::parse(text)
            .map_err(|e| format!("{text:?} is neither \"embedded\" nor a URL: {e}"))?;
        match url.scheme() {
            "http" | "https" => Ok(Self::Embedded(text.into())),
            "ws" | "wss" => Ok(Self::Joystream(text.into())),
            other => Err(format!(
                "{text:?}: scheme {other:?} is neither http(s) (hecaton chain) nor ws(s) (a Joystream node)"
            )),
        }
    }
}

/// A client of either chain.
#[derive(Debug, Clone)]
pub enum AnyChain {
    /// `hecaton chain`.
    Embedded(EmbeddedClient),
    /// A Joystream node.
    #[cfg(feature = "joystream")]
    Joystream(super::joystream::JoystreamClient),
}

macro_rules! delegate {
    ($self:ident, $c:ident => $e:expr) => {
        match $self {
            AnyChain::Embedded($c) => $e,
            #[cfg(feature = "joystream")]
            AnyChain::Joystream($c) => $e,
        }
    };
}

impl Chain for AnyChain {
    fn signers(&self) -> Option<Vec<crate::account::AccountId>> {
        match self {
            AnyChain::Embedded(c) => c.signers(),
            #[cfg(feature = "joystream")]
            AnyChain::Joystream(c) => c.signers(),
        }
    }

    async fn submit(&self, origin: Origin, call: Call) -> Result<Inclusion, ChainError> {
        delegate!(self, c => c.submit(origin, call).await)
    }
    async fn finalized_block(&self) -> Result<u64, ChainError> {
        delegate!(self, c => c.finalized_block().await)
    }
    async fn finalized_head(&self) -> Result<(u64, BlockHash), ChainError> {
        delegate!(self, c => c.finalized_head().await)
    }
    async fn storage_buckets(&self) -> Result<Vec<StorageBucketInfo>, ChainError> {
        delegate!(self, c => c.storage_buckets().await)
    }
    async fn families(&self) -> Result<Vec<FamilyInfo>, ChainError> {
        delegate!(self, c => c.families().await)
    }
    async fn policy(&self, t: DynamicBagType) -> Result<DynamicBagCreationPolicy, ChainError> {
        delegate!(self, c => c.policy(t).await)
    }
    async fn upload_terms(&self) -> Result<UploadTerms, ChainError> {
        delegate!(self, c => c.upload_terms().await)
    }
    async fn bag(&self, bag_id: BagId) -> Result<Option<BagInfo>, ChainError> {
        delegate!(self, c => c.bag(bag_id).await)
    }
    async fn bag_objects(&self, bag_id: BagId) -> Result<Vec<ObjectInfo>, ChainError> {
        delegate!(self, c => c.bag_objects(bag_id).await)
    }
    async fn object_ids(&self) -> Result<Vec<u64>, ChainError> {
        delegate!(self, c => c.object_ids().await)
    }
    async fn blacklist(&self) -> Result<Vec<Cid>, ChainError> {
        delegate!(self, c => c.blacklist().await)
    }
    async fn follow(&self, from: u64) -> Result<BlockStream, ChainError> {
        delegate!(self, c => c.follow(from).await)
    }
    async fn channel(&self, channel_id: u64) -> Result<Option<ChannelInfo>, ChainError> {
        delegate!(self, c => c.channel(channel_id).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_settings() {
        assert_eq!(
            ChainKind::parse("embedded").unwrap(),
            ChainKind::Embedded(EMBEDDED_URL.into())
        );
        assert_eq!(
            ChainKind::parse("http://10.0.0.1:9955").unwrap(),
            ChainKind::Embedded("http://10.0.0.1:9955".into())
        );
        assert_eq!(
            ChainKind::parse("wss://rpc.joystream.org:9944").unwrap(),
            ChainKind::Joystream("wss://rpc.joystream.org:9944".into())
        );
        assert!(ChainKind::parse("ftp://x").unwrap_err().contains("scheme"));
        assert!(ChainKind::parse("nowhere").is_err());
    }
}
