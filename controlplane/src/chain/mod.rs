//! The `Chain` trait: how the control plane and the command line read the data directory and
//! submit calls, whichever chain is behind it: the embedded chain's HTTP client
//! ([`EmbeddedClient`]) or, with the `joystream` feature, a Joystream node through subxt
//! ([`joystream::JoystreamClient`]); [`AnyChain`] is whichever the configuration names.

mod any;
mod client;
#[cfg(feature = "joystream")]
pub mod joystream;

use std::future::Future;
use std::pin::Pin;

use futures_util::Stream;

use hecaton_shared::{BagId, DistributionBucketId};
use serde::Deserialize;

pub use self::any::{connect, AnyChain, ChainKind, ConnectError};
pub use self::client::EmbeddedClient;
use hecaton_vocabulary::block::{BlockHash, Inclusion};
use hecaton_vocabulary::call::{Call, Origin};
use hecaton_vocabulary::error::DispatchError;
use hecaton_vocabulary::event::Event;
use hecaton_vocabulary::metadata::OperatorMetadata;
use hecaton_vocabulary::storage_types::{
    Bag, Cid, DataObject, DistributionBucket, DynamicBagCreationPolicy, DynamicBagType,
    StorageBucket,
};

/// Why a chain request failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The chain could not be reached or answered garbage.
    #[error("chain at {url}: {message}")]
    Transport {
        /// Where.
        url: String,
        /// What happened.
        message: String,
    },
    /// The chain refused the request itself (bad input, unknown entity).
    #[error("chain refused the request ({status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The chain's message.
        message: String,
    },
    /// The call was included but failed: the pallet's error.
    #[error("call failed in block {block}: {error}")]
    Dispatch {
        /// The block that included it.
        block: u64,
        /// The error, with the chain's name.
        error: DispatchError,
    },
    /// The call was included but failed with an error the model does not name (another
    /// pallet's, or `BadOrigin`): the chain's pallet and error names.
    #[error("call failed in block {block}: {pallet}.{error}")]
    Failed {
        /// The block that included it.
        block: u64,
        /// The pallet.
        pallet: String,
        /// The error's name.
        error: String,
    },
    /// The node refused the transaction before any block included it (bad signature, nonce,
    /// mortality, too low a balance for fees) or dropped it.
    #[error("the node rejected the transaction: {message}")]
    Rejected {
        /// What the node said.
        message: String,
    },
    /// The call needs a key this client was not given.
    #[error("no signing key for account {account}: give its key file or SURI")]
    NoKey {
        /// The account, SS58.
        account: String,
    },
    /// This chain cannot do that.
    #[error("{what} is not supported")]
    Unsupported {
        /// What was asked.
        what: String,
    },
}

/// A storage bucket with the bags it stores and its operator's metadata.
#[derive(Debug, Clone, Deserialize)]
pub struct StorageBucketInfo {
    /// Bucket id.
    pub id: u64,
    /// The pallet record.
    #[serde(flatten)]
    pub bucket: StorageBucket,
    /// Bags listing it.
    pub bags: Vec<BagId>,
    /// Latest operator metadata.
    pub operator_metadata: Option<OperatorMetadata>,
}

/// A distribution bucket with its bags.
#[derive(Debug, Clone, Deserialize)]
pub struct DistributionBucketInfo {
    /// Bucket id.
    pub id: DistributionBucketId,
    /// The pallet record.
    #[serde(flatten)]
    pub bucket: DistributionBucket,
    /// Bags listing it.
    pub bags: Vec<BagId>,
}

/// A family with its buckets.
#[derive(Debug, Clone, Deserialize)]
pub struct FamilyInfo {
    /// Family id.
    pub id: u64,
    /// Its buckets.
    pub buckets: Vec<DistributionBucketInfo>,
}

/// A bag with its id.
#[derive(Debug, Clone, Deserialize)]
pub struct BagInfo {
    /// Bag id.
    pub bag_id: BagId,
    /// The pallet record.
    #[serde(flatten)]
    pub bag: Bag,
}

/// A data object with its id and bag.
#[derive(Debug, Clone, Deserialize)]
pub struct ObjectInfo {
    /// Object id.
    pub id: u64,
    /// Its bag.
    pub bag_id: BagId,
    /// The pallet record.
    #[serde(flatten)]
    pub object: DataObject,
}

/// The values uploads must echo, and the upload switch.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct UploadTerms {
    /// `DataObjectPerMegabyteFee`.
    pub data_object_per_megabyte_fee: u128,
    /// `DataObjectStateBloatBondValue`.
    pub data_object_state_bloat_bond_value: u128,
    /// `UploadingBlocked`.
    pub uploading_blocked: bool,
}

/// A channel: its owner, bag and videos.
#[derive(Debug, Clone, Deserialize)]
pub struct ChannelInfo {
    /// Channel id.
    pub id: u64,
    /// Owning member.
    pub owner: u64,
    /// The channel's own assets.
    pub data_objects: std::collections::BTreeSet<u64>,
    /// Videos.
    pub videos: Vec<VideoInfo>,
}

/// A video's assets.
#[derive(Debug, Clone, Deserialize)]
pub struct VideoInfo {
    /// Video id.
    pub id: u64,
    /// Its data objects.
    pub data_objects: std::collections::BTreeSet<u64>,
}

/// A finalized block as a follower sees it: its number and the events of its successful calls
/// (a failed call emits none), in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBlock {
    /// Block number.
    pub number: u64,
    /// Events, in order.
    pub events: Vec<Event>,
}

/// Finalized blocks from some number on, without gaps, for as long as the chain is reachable.
pub type BlockStream = Pin<Box<dyn Stream<Item = Result<ChainBlock, ChainError>> + Send>>;

/// The data directory as the control plane and the CLI see it.
pub trait Chain {
    /// The accounts this client holds keys for; `None` when it signs as any account it is
    /// told to (the embedded chain: its accounts have no keys).
    fn signers(&self) -> Option<Vec<crate::account::AccountId>> {
        None
    }
    /// Submits a call and waits until a finalized block includes it. A call that the runtime
    /// refused is `ChainError::Dispatch`.
    fn submit(
        &self,
        origin: Origin,
        call: Call,
    ) -> impl Future<Output = Result<Inclusion, ChainError>> + Send;
    /// The latest finalized block number.
    fn finalized_block(&self) -> impl Future<Output = Result<u64, ChainError>> + Send;
    /// The latest finalized block's number and hash.
    fn finalized_head(&self) -> impl Future<Output = Result<(u64, BlockHash), ChainError>> + Send;
    /// Every storage bucket.
    fn storage_buckets(
        &self,
    ) -> impl Future<Output = Result<Vec<StorageBucketInfo>, ChainError>> + Send;
    /// Every live distribution family with its buckets.
    fn families(&self) -> impl Future<Output = Result<Vec<FamilyInfo>, ChainError>> + Send;
    /// The creation policy of a dynamic bag type, with the pallet's fallback applied.
    fn policy(
        &self,
        bag_type: DynamicBagType,
    ) -> impl Future<Output = Result<DynamicBagCreationPolicy, ChainError>> + Send;
    /// Fee, bond and the upload switch.
    fn upload_terms(&self) -> impl Future<Output = Result<UploadTerms, ChainError>> + Send;
    /// A bag (`None`: a dynamic bag that does not exist).
    fn bag(
        &self,
        bag_id: BagId,
    ) -> impl Future<Output = Result<Option<BagInfo>, ChainError>> + Send;
    /// The objects of a bag.
    fn bag_objects(
        &self,
        bag_id: BagId,
    ) -> impl Future<Output = Result<Vec<ObjectInfo>, ChainError>> + Send;
    /// The id of every data object on chain, in every bag.
    fn object_ids(&self) -> impl Future<Output = Result<Vec<u64>, ChainError>> + Send;
    /// Blacklisted content ids (the chain's `Cid` bytes).
    fn blacklist(&self) -> impl Future<Output = Result<Vec<Cid>, ChainError>> + Send;
    /// Finalized blocks from `from` on, then each new one as it is finalized.
    fn follow(&self, from: u64) -> impl Future<Output = Result<BlockStream, ChainError>> + Send;
    /// A channel.
    fn channel(
        &self,
        channel_id: u64,
    ) -> impl Future<Output = Result<Option<ChannelInfo>, ChainError>> + Send;
}
