//! The `Storage` pallet's events as the chain encodes them, decoded into the model's
//! [`StorageEvent`] so that a follower sees the same updates from a Joystream node as from the
//! embedded chain. Fields are positional, as in the metadata.

use subxt::ext::scale_decode::DecodeAsType;

use super::decode::{
    bytes, AccountRepr, BagRepr, DistributionBucketIdRepr, DynBagRepr, DynamicBagRepr,
    DynamicBagTypeRepr, UploadRepr, VoucherRepr,
};
use hecaton_vocabulary::event::StorageEvent;
use hecaton_vocabulary::storage_types::Cid;

/// The runtime's outer event enum, of which only the `Storage` pallet's variant is decoded (the
/// caller checks the pallet name first).
#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
pub enum RuntimeEventRepr {
    /// `Storage`.
    Storage(StorageEventRepr),
}

/// `pallet_storage::Event`.
#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[allow(missing_docs)]
pub enum StorageEventRepr {
    StorageBucketCreated(u64, Option<u64>, bool, u64, u64),
    StorageBucketInvitationAccepted(u64, u64, AccountRepr),
    StorageBucketsUpdatedForBag(BagRepr, Vec<u64>, Vec<u64>),
    DataObjectsUploaded(Vec<u64>, UploadRepr, u128),
    StorageOperatorMetadataSet(u64, u64, Vec<u8>),
    StorageBucketVoucherLimitsSet(u64, u64, u64),
    PendingDataObjectsAccepted(u64, u64, BagRepr, Vec<u64>),
    StorageBucketInvitationCancelled(u64),
    StorageBucketOperatorInvited(u64, u64),
    StorageBucketOperatorRemoved(u64),
    UploadingBlockStatusUpdated(bool),
    DataObjectPerMegabyteFeeUpdated(u128),
    StorageBucketsPerBagLimitUpdated(u32),
    StorageBucketsVoucherMaxLimitsUpdated(u64, u64),
    DataObjectsMoved(BagRepr, BagRepr, Vec<u64>),
    DataObjectsDeleted(AccountRepr, BagRepr, Vec<u64>),
    StorageBucketStatusUpdated(u64, bool),
    UpdateBlacklist(Vec<Vec<u8>>, Vec<Vec<u8>>),
    DynamicBagDeleted(DynamicBagRepr),
    DynamicBagCreated(DynBagRepr, Vec<u64>),
    VoucherChanged(u64, VoucherRepr),
    StorageBucketDeleted(u64),
    NumberOfStorageBucketsInDynamicBagCreationPolicyUpdated(DynamicBagTypeRepr, u32),
    DistributionBucketFamilyCreated(u64),
    DistributionBucketFamilyDeleted(u64),
    DistributionBucketCreated(u64, bool, DistributionBucketIdRepr),
    DistributionBucketStatusUpdated(DistributionBucketIdRepr, bool),
    DistributionBucketDeleted(DistributionBucketIdRepr),
    DistributionBucketsUpdatedForBag(BagRepr, u64, Vec<u64>, Vec<u64>),
    DistributionBucketsPerBagLimitUpdated(u32),
    DistributionBucketModeUpdated(DistributionBucketIdRepr, bool),
    FamiliesInDynamicBagCreationPolicyUpdated(DynamicBagTypeRepr, Vec<(u64, u32)>),
    DistributionBucketOperatorInvited(DistributionBucketIdRepr, u64),
    DistributionBucketInvitationCancelled(DistributionBucketIdRepr, u64),
    DistributionBucketInvitationAccepted(u64, DistributionBucketIdRepr),
    DistributionBucketMetadataSet(u64, DistributionBucketIdRepr, Vec<u8>),
    DistributionBucketOperatorRemoved(DistributionBucketIdRepr, u64),
    DistributionBucketFamilyMetadataSet(u64, Vec<u8>),
    DataObjectStateBloatBondValueUpdated(u128),
    DataObjectsUpdated(UploadRepr, Vec<u64>, Vec<u64>),
    StorageOperatorRemarked(u64, u64, Vec<u8>),
    DistributionOperatorRemarked(u64, DistributionBucketIdRepr, Vec<u8>),
}

fn ids(v: Vec<u64>) -> std::collections::BTreeSet<u64> {
    v.into_iter().collect()
}

fn cids(v: Vec<Vec<u8>>) -> std::collections::BTreeSet<Cid> {
    v.into_iter().map(Cid).collect()
}

impl From<StorageEventRepr> for StorageEvent {
    fn from(e: StorageEventRepr) -> Self {
        use StorageEvent as E;
        use StorageEventRepr as R;
        match e {
            R::StorageBucketCreated(a, b, c, d, f) => E::StorageBucketCreated(a, b, c, d, f),
            R::StorageBucketInvitationAccepted(b, w, a) => {
                E::StorageBucketInvitationAccepted(b, w, a.into())
            }
            R::StorageBucketsUpdatedForBag(bag, add, rem) => {
                E::StorageBucketsUpdatedForBag(bag.into(), ids(add), ids(rem))
            }
            R::DataObjectsUploaded(o, p, fee) => E::DataObjectsUploaded(ids(o), p.into(), fee),
            R::StorageOperatorMetadataSet(b, w, m) => E::StorageOperatorMetadataSet(b, w, bytes(m)),
            R::StorageBucketVoucherLimitsSet(b, s, n) => E::StorageBucketVoucherLimitsSet(b, s, n),
            R::PendingDataObjectsAccepted(b, w, bag, o) => {
                E::PendingDataObjectsAccepted(b, w, bag.into(), ids(o))
            }
            R::StorageBucketInvitationCancelled(b) => E::StorageBucketInvitationCancelled(b),
            R::StorageBucketOperatorInvited(b, w) => E::StorageBucketOperatorInvited(b, w),
            R::StorageBucketOperatorRemoved(b) => E::StorageBucketOperatorRemoved(b),
            R::UploadingBlockStatusUpdated(s) => E::UploadingBlockStatusUpdated(s),
            R::DataObjectPerMegabyteFeeUpdated(f) => E::DataObjectPerMegabyteFeeUpdated(f),
            R::StorageBucketsPerBagLimitUpdated(l) => E::StorageBucketsPerBagLimitUpdated(l),
            R::StorageBucketsVoucherMaxLimitsUpdated(s, n) => {
                E::StorageBucketsVoucherMaxLimitsUpdated(s, n)
            }
            R::DataObjectsMoved(from, to, o) => E::DataObjectsMoved(from.into(), to.into(), ids(o)),
            R::DataObjectsDeleted(a, bag, o) => E::DataObjectsDeleted(a.into(), bag.into(), ids(o)),
            R::StorageBucketStatusUpdated(b, s) => E::StorageBucketStatusUpdated(b, s),
            R::UpdateBlacklist(rem, add) => E::UpdateBlacklist(cids(rem), cids(add)),
            R::DynamicBagDeleted(d) => E::DynamicBagDeleted(d.into()),
            R::DynamicBagCreated(p, o) => E::DynamicBagCreated(p.into(), ids(o)),
            R::VoucherChanged(b, v) => E::VoucherChanged(b, v.into()),
            R::StorageBucketDeleted(b) => E::StorageBucketDeleted(b),
            R::NumberOfStorageBucketsInDynamicBagCreationPolicyUpdated(t, n) => {
                E::NumberOfStorageBucketsInDynamicBagCreationPolicyUpdated(t.into(), n)
            }
            R::DistributionBucketFamilyCreated(f) => E::DistributionBucketFamilyCreated(f),
            R::DistributionBucketFamilyDeleted(f) => E::DistributionBucketFamilyDeleted(f),
            R::DistributionBucketCreated(f, a, b) => E::DistributionBucketCreated(f, a, b.into()),
            R::DistributionBucketStatusUpdated(b, s) => {
                E::DistributionBucketStatusUpdated(b.into(), s)
            }
            R::DistributionBucketDeleted(b) => E::DistributionBucketDeleted(b.into()),
            R::DistributionBucketsUpdatedForBag(bag, f, add, rem) => {
                E::DistributionBucketsUpdatedForBag(bag.into(), f, ids(add), ids(rem))
            }
            R::DistributionBucketsPerBagLimitUpdated(l) => {
                E::DistributionBucketsPerBagLimitUpdated(l)
            }
            R::DistributionBucketModeUpdated(b, d) => E::DistributionBucketModeUpdated(b.into(), d),
            R::FamiliesInDynamicBagCreationPolicyUpdated(t, f) => {
                E::FamiliesInDynamicBagCreationPolicyUpdated(t.into(), f.into_iter().collect())
            }
            R::DistributionBucketOperatorInvited(b, w) => {
                E::DistributionBucketOperatorInvited(b.into(), w)
            }
            R::DistributionBucketInvitationCancelled(b, w) => {
                E::DistributionBucketInvitationCancelled(b.into(), w)
            }
            R::DistributionBucketInvitationAccepted(w, b) => {
                E::DistributionBucketInvitationAccepted(w, b.into())
            }
            R::DistributionBucketMetadataSet(w, b, m) => {
                E::DistributionBucketMetadataSet(w, b.into(), bytes(m))
            }
            R::DistributionBucketOperatorRemoved(b, w) => {
                E::DistributionBucketOperatorRemoved(b.into(), w)
            }
            R::DistributionBucketFamilyMetadataSet(f, m) => {
                E::DistributionBucketFamilyMetadataSet(f, bytes(m))
            }
            R::DataObjectStateBloatBondValueUpdated(v) => {
                E::DataObjectStateBloatBondValueUpdated(v)
            }
            R::DataObjectsUpdated(p, up, rem) => E::DataObjectsUpdated(p.into(), ids(up), ids(rem)),
            R::StorageOperatorRemarked(w, b, m) => E::StorageOperatorRemarked(w, b, bytes(m)),
            R::DistributionOperatorRemarked(w, b, m) => {
                E::DistributionOperatorRemarked(w, b.into(), bytes(m))
            }
        }
    }
}

/// Decodes the events of a block: its `Storage` events, in order. An event of another pallet
/// is skipped; a `Storage` event this build does not know (a runtime newer than it) is an error
/// naming it, so that the follower retries rather than silently missing an update.
pub fn storage_events<'a, T: subxt::Config>(
    events: impl Iterator<Item = Result<subxt::events::Event<'a, T>, subxt::error::EventsError>>,
) -> Result<Vec<StorageEvent>, String> {
    let mut out = Vec::new();
    for event in events {
        let event = event.map_err(|e| format!("undecodable event: {e}"))?;
        if event.pallet_name() != "Storage" {
            continue;
        }
        let RuntimeEventRepr::Storage(e) = event
            .decode_as::<RuntimeEventRepr>()
            .map_err(|e| format!("Storage.{}: {e}", event.event_name()))?;
        out.push(e.into());
    }
    Ok(out)
}
