//! subxt's view of the Joystream runtime: `SubstrateConfig` with one change. Joystream's
//! `Address` is a plain `AccountId32` (`runtime/src/primitives.rs`), not a `MultiAddress`, so
//! transactions built with subxt's own configs would not encode. The transaction extensions are
//! subxt's defaults, which match Joystream's list by identifier.

use subxt::config::substrate::{AccountId32, BlakeTwo256, MultiSignature, SubstrateHeader, H256};
use subxt::config::{Config, DefaultTransactionExtensions, HashFor, SubstrateConfig};
use subxt::ArcMetadata;

/// The Joystream chain for subxt. Cloning shares the metadata cache, so a client that
/// reconnects does not download metadata again unless the runtime changed.
#[derive(Debug, Clone, Default)]
pub struct JoystreamConfig(pub SubstrateConfig);

impl Config for JoystreamConfig {
    type AccountId = AccountId32;
    type Address = AccountId32;
    type Signature = MultiSignature;
    type Hasher = BlakeTwo256;
    type Header = SubstrateHeader<H256>;
    type TransactionExtensions = DefaultTransactionExtensions<Self>;
    type AssetId = u32;

    fn genesis_hash(&self) -> Option<HashFor<Self>> {
        self.0.genesis_hash()
    }

    fn spec_and_transaction_version_for_block_number(
        &self,
        block_number: u64,
    ) -> Option<(u32, u32)> {
        self.0
            .spec_and_transaction_version_for_block_number(block_number)
    }

    fn metadata_for_spec_version(&self, spec_version: u32) -> Option<ArcMetadata> {
        self.0.metadata_for_spec_version(spec_version)
    }

    fn set_metadata_for_spec_version(&self, spec_version: u32, metadata: ArcMetadata) {
        self.0.set_metadata_for_spec_version(spec_version, metadata);
    }
}
