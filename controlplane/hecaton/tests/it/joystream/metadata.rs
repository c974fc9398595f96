//! The real chain's metadata (spec 2004), kept in the repository as SCALE bytes
//! (`tests/data/chain-metadata-2004.scale`), and an offline subxt client over it.

use hecaton_controlplane::chain::joystream::config::JoystreamConfig;
use subxt::client::{ClientAtBlock, OfflineClient, OfflineClientAtBlockImpl};
use subxt::config::substrate::{SpecVersionForRange, SubstrateConfig, H256};
use subxt::ArcMetadata;

/// The spec version of the metadata file.
pub const SPEC_VERSION: u32 = 2004;
/// Its transaction version.
pub const TX_VERSION: u32 = 2;

/// The metadata bytes (`meta` + V14), as `state_getMetadata` returned them from a Joystream
/// node at spec 2004 (origin and how it was made: `tests/data/README.md`).
pub fn bytes() -> Option<Vec<u8>> {
    let bytes = include_bytes!("../../data/chain-metadata-2004.scale").to_vec();
    assert_eq!(&bytes[..4], b"meta", "metadata magic");
    Some(bytes)
}

/// The decoded metadata.
pub fn metadata() -> Option<ArcMetadata> {
    bytes().map(|b| {
        subxt::Metadata::decode_from(&b)
            .expect("metadata decodes")
            .arc()
    })
}

/// The genesis hash the offline client signs for.
pub fn genesis() -> H256 {
    H256::repeat_byte(0x47)
}

/// An offline client at block 0 of a chain running spec 2004.
pub type Offline = ClientAtBlock<JoystreamConfig, OfflineClientAtBlockImpl<JoystreamConfig>>;

/// The offline client, or `None` when skipping.
pub fn offline() -> Option<Offline> {
    let md = metadata()?;
    let config = JoystreamConfig(
        SubstrateConfig::builder()
            .set_spec_version_for_block_ranges([SpecVersionForRange {
                block_range: 0..u64::MAX,
                spec_version: SPEC_VERSION,
                transaction_version: TX_VERSION,
            }])
            .set_metadata_for_spec_versions([(SPEC_VERSION, md)])
            .set_genesis_hash(genesis())
            .build(),
    );
    Some(
        OfflineClient::<JoystreamConfig>::new_with_config(config)
            .at_block(0u64)
            .expect("offline client at block 0"),
    )
}
