//! The real chain's metadata (spec 2004), read from `../shared/reference/chain-metadata.json`
//! beside the project (never copied into it), and an offline subxt client over it.

use std::path::PathBuf;

use hecaton_controlplane::chain::joystream::config::JoystreamConfig;
use subxt::client::{ClientAtBlock, OfflineClient, OfflineClientAtBlockImpl};
use subxt::config::substrate::{SpecVersionForRange, SubstrateConfig, H256};
use subxt::ArcMetadata;

/// The spec version of the metadata file.
pub const SPEC_VERSION: u32 = 2004;
/// Its transaction version.
pub const TX_VERSION: u32 = 2;

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/chain-metadata.json")
}

/// The metadata bytes (`meta` + V14), or `None` when `HECATON_SKIP_CHAIN_METADATA=1`. Without
/// the file, fails naming it.
pub fn bytes() -> Option<Vec<u8>> {
    if std::env::var("HECATON_SKIP_CHAIN_METADATA").as_deref() == Ok("1") {
        eprintln!("HECATON_SKIP_CHAIN_METADATA=1: skipping a test that needs the chain metadata");
        return None;
    }
    let path = path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "this test needs the real chain metadata at {} ({e}); put ../shared beside the \
             project, or set HECATON_SKIP_CHAIN_METADATA=1 to skip it",
            path.display()
        )
    });
    let json: serde_json::Value = serde_json::from_str(&text).expect("chain-metadata.json is JSON");
    let hex_text = json["result"].as_str().expect("a `result` hex string");
    let bytes = hex::decode(hex_text.trim_start_matches("0x")).expect("hex metadata");
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
