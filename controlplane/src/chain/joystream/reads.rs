//! Reading the `Storage` pallet's state at one block, with the pallet's own fallbacks: a plain
//! value's declared default, a static bag that always exists, the dynamic-bag policy's constant
//! default. Maps are iterated by key prefix; keys are `Blake2_128Concat`, so ids come back out
//! of the keys themselves.

use std::collections::BTreeMap;

use hecaton_shared::{BagId, DistributionBucketId};
use subxt::client::OnlineClientAtBlock;
use subxt::dynamic;
use subxt::ext::frame_decode::storage::{IntoDecodableValues, IntoEncodableValues};
use subxt::ext::scale_decode::DecodeAsType;

use super::config::JoystreamConfig;
use super::decode::{
    BagRecordRepr, BagRepr, DataObjectRepr, DistributionBucketRepr, DynamicBagTypeRepr, FamilyRepr,
    PolicyRepr, StorageBucketRepr,
};
use crate::chain::UploadTerms;
use hecaton_vocabulary::storage_types::{
    Bag, Cid, DataObject, DistributionBucket, DynamicBagCreationPolicy, DynamicBagType,
    StorageBucket,
};

/// The client at one block.
pub type At = OnlineClientAtBlock<JoystreamConfig>;

/// What went wrong, as text: the caller wraps it with the node's URL.
pub type ReadResult<T> = Result<T, String>;

/// A dynamic storage address with typed keys and value.
pub type Address<K, V> = subxt::storage::DynamicAddress<K, V>;

const PALLET: &str = "Storage";

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The address of a plain value (`UploadingBlocked`, `DataObjectPerMegabyteFee`, ...).
pub fn plain_address<V: DecodeAsType>(entry: &str) -> Address<(), V> {
    dynamic::storage::<(), V>(PALLET, entry)
}

/// `Bags`, by bag id.
pub fn bags_address() -> Address<(BagRepr,), BagRecordRepr> {
    dynamic::storage(PALLET, "Bags")
}

/// `DataObjectsById`, by bag id and object id.
pub fn objects_address() -> Address<(BagRepr, u64), DataObjectRepr> {
    dynamic::storage(PALLET, "DataObjectsById")
}

/// `StorageBucketById`.
pub fn storage_buckets_address() -> Address<(u64,), StorageBucketRepr> {
    dynamic::storage(PALLET, "StorageBucketById")
}

/// `DistributionBucketFamilyById`.
pub fn families_address() -> Address<(u64,), FamilyRepr> {
    dynamic::storage(PALLET, "DistributionBucketFamilyById")
}

/// `DistributionBucketByFamilyIdById`, by family id and bucket index.
pub fn distribution_buckets_address() -> Address<(u64, u64), DistributionBucketRepr> {
    dynamic::storage(PALLET, "DistributionBucketByFamilyIdById")
}

/// `DynamicBagCreationPolicies`, by dynamic bag type.
pub fn policies_address() -> Address<(DynamicBagTypeRepr,), PolicyRepr> {
    dynamic::storage(PALLET, "DynamicBagCreationPolicies")
}

/// `Blacklist`, by content id.
pub fn blacklist_address() -> Address<(Vec<u8>,), ()> {
    dynamic::storage(PALLET, "Blacklist")
}

/// A plain value, or its declared default.
async fn plain<V: DecodeAsType>(at: &At, entry: &str) -> ReadResult<V> {
    let addr = plain_address::<V>(entry);
    let value = at
        .storage()
        .fetch(addr, ())
        .await
        .map_err(|e| format!("{PALLET}.{entry}: {e}"))?;
    value.decode().map_err(|e| format!("{PALLET}.{entry}: {e}"))
}

/// Every `(key, value)` of a map under `prefix` (`()` for all), decoded.
async fn entries<K, P, V>(at: &At, addr: Address<K, V>, prefix: P) -> ReadResult<Vec<(K, V)>>
where
    K: IntoDecodableValues + IntoEncodableValues,
    P: subxt::storage::PrefixOf<K>,
    V: DecodeAsType,
{
    let entry = subxt::storage::Address::entry_name(&addr).to_string();
    let mut stream = at
        .storage()
        .iter(addr, prefix)
        .await
        .map_err(|e| format!("{PALLET}.{entry}: {e}"))?;
    let mut out = Vec::new();
    while let Some(kv) = stream.next().await {
        let kv = kv.map_err(|e| format!("{PALLET}.{entry}: {e}"))?;
        let key = kv
            .key()
            .and_then(|k| k.decode())
            .map_err(|e| format!("{PALLET}.{entry} key: {e}"))?;
        let value = kv
            .value()
            .decode()
            .map_err(|e| format!("{PALLET}.{entry} value: {e}"))?;
        out.push((key, value));
    }
    Ok(out)
}

/// Every bag.
pub async fn bags(at: &At) -> ReadResult<Vec<(BagId, Bag)>> {
    let all: Vec<((BagRepr,), BagRecordRepr)> = entries(at, bags_address(), ()).await?;
    Ok(all
        .into_iter()
        .map(|((k,), v)| (k.into(), v.into()))
        .collect())
}

/// The value under `keys`, or `None` if the key is absent. Presence is checked by key: `fetch`
/// would answer a missing key with the map's declared default.
async fn present<K, V>(at: &At, addr: Address<K, V>, keys: K) -> ReadResult<Option<V>>
where
    K: IntoDecodableValues + IntoEncodableValues,
    V: DecodeAsType,
{
    let name = subxt::storage::Address::entry_name(&addr).to_string();
    let entry = at.storage().entry(addr).map_err(text)?;
    let key = entry.fetch_key(keys).map_err(text)?;
    match at.storage().fetch_raw(key).await {
        Ok(bytes) => {
            let metadata = at.metadata_ref();
            let ty = metadata
                .pallet_by_name(PALLET)
                .and_then(|p| p.storage())
                .and_then(|s| s.entry_by_name(&name))
                .map(|e| e.value_ty())
                .ok_or_else(|| format!("the metadata has no {PALLET}.{name}"))?;
            V::decode_as_type(&mut &bytes[..], ty, metadata.types())
                .map(Some)
                .map_err(|e| format!("{PALLET}.{name} value: {e}"))
        }
        Err(subxt::error::StorageError::NoValueFound) => Ok(None),
        Err(e) => Err(format!("{PALLET}.{name}: {e}")),
    }
}

/// One bag: `None` for a dynamic bag that does not exist. A static bag always exists (its
/// record is the default until a bucket is assigned).
pub async fn bag(at: &At, bag_id: BagId) -> ReadResult<Option<Bag>> {
    Ok(match present(at, bags_address(), (bag_id.into(),)).await? {
        Some(record) => Some(record.into()),
        None => match bag_id {
            BagId::Static(_) => Some(Bag::default()),
            BagId::Dynamic(_) => None,
        },
    })
}

/// The objects of a bag.
pub async fn bag_objects(at: &At, bag_id: BagId) -> ReadResult<Vec<(u64, DataObject)>> {
    let prefix: (BagRepr,) = (bag_id.into(),);
    let all: Vec<((BagRepr, u64), DataObjectRepr)> = entries(at, objects_address(), prefix).await?;
    let mut objects: Vec<(u64, DataObject)> =
        all.into_iter().map(|((_, id), o)| (id, o.into())).collect();
    // Keys are ordered by hash; the embedded chain (and every caller's log) orders by id.
    objects.sort_unstable_by_key(|(id, _)| *id);
    Ok(objects)
}

/// Keys asked for per `state_getKeysPaged` call (the node's own cap is 1000).
pub const KEYS_PAGE: u32 = 1000;

/// The RPC methods at the level of raw keys.
pub type Rpc = subxt::rpcs::LegacyRpcMethods<subxt::config::RpcConfigFor<JoystreamConfig>>;

/// The id of every data object, from `DataObjectsById`'s keys alone (`state_getKeysPaged`,
/// [`KEYS_PAGE`] a call): a distributor needs the ids, and reading every value too made a
/// full reconciliation fetch and decode the whole map (two million objects on mainnet). A key is
/// `twox128(pallet) ++ twox128(map) ++ blake2_128(bag) ++ bag ++ blake2_128(id) ++ id`, so the
/// id is its last 8 bytes, little-endian.
pub async fn object_ids(rpc: &Rpc, at: subxt::utils::H256) -> ReadResult<Vec<u64>> {
    let prefix = map_prefix("DataObjectsById");
    // Shortest key: a static bag's one-byte variant and index, and the two hashes.
    let shortest = prefix.len() + 16 + 2 + 16 + 8;
    let mut ids = Vec::new();
    let mut start: Option<Vec<u8>> = None;
    loop {
        let keys = rpc
            .state_get_keys_paged(&prefix, KEYS_PAGE, start.as_deref(), Some(at))
            .await
            .map_err(|e| format!("{PALLET}.DataObjectsById keys: {e}"))?;
        for key in &keys {
            if key.len() < shortest || !key.starts_with(&prefix) {
                return Err(format!(
                    "{PALLET}.DataObjectsById: a key of {} bytes",
                    key.len()
                ));
            }
            let id: [u8; 8] = key[key.len() - 8..].try_into().expect("8 bytes");
            ids.push(u64::from_le_bytes(id));
        }
        if keys.len() < KEYS_PAGE as usize {
            break;
        }
        start = keys.last().cloned();
    }
    ids.sort_unstable();
    Ok(ids)
}

/// The key prefix of one of the pallet's maps: `twox128(pallet) ++ twox128(entry)`.
pub fn map_prefix(entry: &str) -> [u8; 32] {
    let mut prefix = [0u8; 32];
    prefix[..16].copy_from_slice(&sp_crypto_hashing::twox_128(PALLET.as_bytes()));
    prefix[16..].copy_from_slice(&sp_crypto_hashing::twox_128(entry.as_bytes()));
    prefix
}

/// Every storage bucket.
pub async fn storage_buckets(at: &At) -> ReadResult<Vec<(u64, StorageBucket)>> {
    let all: Vec<((u64,), StorageBucketRepr)> = entries(at, storage_buckets_address(), ()).await?;
    Ok(all.into_iter().map(|((id,), b)| (id, b.into())).collect())
}

/// Every family id.
pub async fn family_ids(at: &At) -> ReadResult<Vec<u64>> {
    let all: Vec<((u64,), FamilyRepr)> = entries(at, families_address(), ()).await?;
    Ok(all.into_iter().map(|((id,), _)| id).collect())
}

/// Every distribution bucket.
pub async fn distribution_buckets(
    at: &At,
) -> ReadResult<Vec<(DistributionBucketId, DistributionBucket)>> {
    let all: Vec<((u64, u64), DistributionBucketRepr)> =
        entries(at, distribution_buckets_address(), ()).await?;
    Ok(all
        .into_iter()
        .map(|((family, index), b)| (DistributionBucketId { family, index }, b.into()))
        .collect())
}

/// The creation policy of a dynamic bag type; absent, the runtime's constant default number of
/// storage buckets and no families.
pub async fn policy(at: &At, bag_type: DynamicBagType) -> ReadResult<DynamicBagCreationPolicy> {
    if let Some(policy) = present(at, policies_address(), (bag_type.into(),)).await? {
        return Ok(policy.into());
    }
    let constant = match bag_type {
        DynamicBagType::Member => "DefaultMemberDynamicBagNumberOfStorageBuckets",
        DynamicBagType::Channel => "DefaultChannelDynamicBagNumberOfStorageBuckets",
    };
    let number = at
        .constants()
        .entry(dynamic::constant::<u32>(PALLET, constant))
        .map_err(|e| format!("{PALLET}.{constant}: {e}"))?;
    Ok(DynamicBagCreationPolicy {
        number_of_storage_buckets: number,
        families: BTreeMap::new(),
    })
}

/// Fee, bond and the upload switch.
pub async fn upload_terms(at: &At) -> ReadResult<UploadTerms> {
    Ok(UploadTerms {
        data_object_per_megabyte_fee: plain(at, "DataObjectPerMegabyteFee").await?,
        data_object_state_bloat_bond_value: plain(at, "DataObjectStateBloatBondValue").await?,
        uploading_blocked: plain(at, "UploadingBlocked").await?,
    })
}

/// The blacklisted content ids.
pub async fn blacklist(at: &At) -> ReadResult<Vec<Cid>> {
    let all: Vec<((Vec<u8>,), ())> = entries(at, blacklist_address(), ()).await?;
    Ok(all.into_iter().map(|((cid,), _)| Cid(cid)).collect())
}
