//! What the chain's SCALE values decode into (`DecodeAsType`, matched by the metadata's field and
//! variant names, so a runtime that adds fields still decodes), and how each becomes the model's
//! own type. Only the shapes the node reads are here.

use std::collections::{BTreeMap, BTreeSet};

use hecaton_shared::{BagId, DistributionBucketId, DynamicBagId, StaticBagId, WorkingGroup};
use subxt::ext::scale_decode::DecodeAsType;
use subxt::ext::scale_encode::EncodeAsType;

use crate::account::AccountId;
use hecaton_vocabulary::storage_types::{
    Bag, Bytes, Cid, DataObject, DataObjectCreationParameters, DistributionBucket,
    DistributionBucketFamily, DynBagCreationParameters, DynamicBagCreationPolicy, DynamicBagType,
    RepayableBloatBond, StorageBucket, StorageBucketOperatorStatus, UploadParameters, Voucher,
};

/// `AccountId32`.
#[derive(Debug, Clone, Copy, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
pub struct AccountRepr(pub [u8; 32]);

impl From<AccountRepr> for AccountId {
    fn from(a: AccountRepr) -> Self {
        AccountId(a.0)
    }
}

/// `WorkingGroup`.
#[derive(Debug, Clone, Copy, DecodeAsType, EncodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[encode_as_type(crate_path = "subxt::ext::scale_encode")]
#[allow(missing_docs)]
pub enum WorkingGroupRepr {
    Forum,
    Storage,
    Content,
    OperationsAlpha,
    App,
    Distribution,
    OperationsBeta,
    OperationsGamma,
    Membership,
}

impl From<WorkingGroupRepr> for WorkingGroup {
    fn from(g: WorkingGroupRepr) -> Self {
        use WorkingGroupRepr as R;
        match g {
            R::Forum => Self::Forum,
            R::Storage => Self::Storage,
            R::Content => Self::Content,
            R::OperationsAlpha => Self::OperationsAlpha,
            R::App => Self::App,
            R::Distribution => Self::Distribution,
            R::OperationsBeta => Self::OperationsBeta,
            R::OperationsGamma => Self::OperationsGamma,
            R::Membership => Self::Membership,
        }
    }
}

/// `StaticBagId`.
#[derive(Debug, Clone, Copy, DecodeAsType, EncodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[encode_as_type(crate_path = "subxt::ext::scale_encode")]
#[allow(missing_docs)]
pub enum StaticBagRepr {
    Council,
    WorkingGroup(WorkingGroupRepr),
}

/// `DynamicBagIdType`.
#[derive(Debug, Clone, Copy, DecodeAsType, EncodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[encode_as_type(crate_path = "subxt::ext::scale_encode")]
#[allow(missing_docs)]
pub enum DynamicBagRepr {
    Member(u64),
    Channel(u64),
}

impl From<DynamicBagRepr> for DynamicBagId {
    fn from(d: DynamicBagRepr) -> Self {
        match d {
            DynamicBagRepr::Member(n) => Self::Member(n),
            DynamicBagRepr::Channel(n) => Self::Channel(n),
        }
    }
}

/// `BagIdType`.
#[derive(Debug, Clone, Copy, DecodeAsType, EncodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[encode_as_type(crate_path = "subxt::ext::scale_encode")]
#[allow(missing_docs)]
pub enum BagRepr {
    Static(StaticBagRepr),
    Dynamic(DynamicBagRepr),
}

impl From<WorkingGroup> for WorkingGroupRepr {
    fn from(g: WorkingGroup) -> Self {
        use WorkingGroup as G;
        match g {
            G::Forum => Self::Forum,
            G::Storage => Self::Storage,
            G::Content => Self::Content,
            G::OperationsAlpha => Self::OperationsAlpha,
            G::App => Self::App,
            G::Distribution => Self::Distribution,
            G::OperationsBeta => Self::OperationsBeta,
            G::OperationsGamma => Self::OperationsGamma,
            G::Membership => Self::Membership,
        }
    }
}

impl From<BagId> for BagRepr {
    fn from(b: BagId) -> Self {
        match b {
            BagId::Static(StaticBagId::Council) => Self::Static(StaticBagRepr::Council),
            BagId::Static(StaticBagId::WorkingGroup(g)) => {
                Self::Static(StaticBagRepr::WorkingGroup(g.into()))
            }
            BagId::Dynamic(DynamicBagId::Member(n)) => Self::Dynamic(DynamicBagRepr::Member(n)),
            BagId::Dynamic(DynamicBagId::Channel(n)) => Self::Dynamic(DynamicBagRepr::Channel(n)),
        }
    }
}

impl From<DynamicBagType> for DynamicBagTypeRepr {
    fn from(t: DynamicBagType) -> Self {
        match t {
            DynamicBagType::Member => Self::Member,
            DynamicBagType::Channel => Self::Channel,
        }
    }
}

impl From<BagRepr> for BagId {
    fn from(b: BagRepr) -> Self {
        match b {
            BagRepr::Static(StaticBagRepr::Council) => Self::Static(StaticBagId::Council),
            BagRepr::Static(StaticBagRepr::WorkingGroup(g)) => {
                Self::Static(StaticBagId::WorkingGroup(g.into()))
            }
            BagRepr::Dynamic(d) => Self::Dynamic(d.into()),
        }
    }
}

/// `DynamicBagType`.
#[derive(Debug, Clone, Copy, DecodeAsType, EncodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[encode_as_type(crate_path = "subxt::ext::scale_encode")]
#[allow(missing_docs)]
pub enum DynamicBagTypeRepr {
    Member,
    Channel,
}

impl From<DynamicBagTypeRepr> for DynamicBagType {
    fn from(t: DynamicBagTypeRepr) -> Self {
        match t {
            DynamicBagTypeRepr::Member => Self::Member,
            DynamicBagTypeRepr::Channel => Self::Channel,
        }
    }
}

/// `DistributionBucketIdRecord`.
#[derive(Debug, Clone, Copy, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[allow(missing_docs)]
pub struct DistributionBucketIdRepr {
    pub distribution_bucket_family_id: u64,
    pub distribution_bucket_index: u64,
}

impl From<DistributionBucketIdRepr> for DistributionBucketId {
    fn from(d: DistributionBucketIdRepr) -> Self {
        Self {
            family: d.distribution_bucket_family_id,
            index: d.distribution_bucket_index,
        }
    }
}

/// Converts every element.
pub fn set<R, T: Ord + From<R>>(items: Vec<R>) -> BTreeSet<T> {
    items.into_iter().map(T::from).collect()
}

/// `BagRecord`.
#[derive(Debug, Clone, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[allow(missing_docs)]
pub struct BagRecordRepr {
    pub stored_by: Vec<u64>,
    pub distributed_by: Vec<DistributionBucketIdRepr>,
    pub objects_total_size: u64,
    pub objects_number: u64,
}

impl From<BagRecordRepr> for Bag {
    fn from(b: BagRecordRepr) -> Self {
        Self {
            stored_by: b.stored_by.into_iter().collect(),
            distributed_by: set(b.distributed_by),
            objects_total_size: b.objects_total_size,
            objects_number: b.objects_number,
        }
    }
}

/// `RepayableBloatBond`.
#[derive(Debug, Clone, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[allow(missing_docs)]
pub struct BloatBondRepr {
    pub repayment_restricted_to: Option<AccountRepr>,
    pub amount: u128,
}

/// `DataObject`.
#[derive(Debug, Clone, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[allow(missing_docs)]
pub struct DataObjectRepr {
    pub accepted: bool,
    pub state_bloat_bond: BloatBondRepr,
    pub size: u64,
    pub ipfs_content_id: Vec<u8>,
}

impl From<DataObjectRepr> for DataObject {
    fn from(o: DataObjectRepr) -> Self {
        Self {
            accepted: o.accepted,
            state_bloat_bond: RepayableBloatBond {
                repayment_restricted_to: o.state_bloat_bond.repayment_restricted_to.map(Into::into),
                amount: o.state_bloat_bond.amount,
            },
            size: o.size,
            ipfs_content_id: Cid(o.ipfs_content_id),
        }
    }
}

/// `Voucher`.
#[derive(Debug, Clone, Copy, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[allow(missing_docs)]
pub struct VoucherRepr {
    pub size_limit: u64,
    pub objects_limit: u64,
    pub size_used: u64,
    pub objects_used: u64,
}

impl From<VoucherRepr> for Voucher {
    fn from(v: VoucherRepr) -> Self {
        Self {
            size_limit: v.size_limit,
            objects_limit: v.objects_limit,
            size_used: v.size_used,
            objects_used: v.objects_used,
        }
    }
}

/// `StorageBucketOperatorStatus`.
#[derive(Debug, Clone, Copy, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[allow(missing_docs)]
pub enum OperatorStatusRepr {
    Missing,
    InvitedStorageWorker(u64),
    StorageWorker(u64, AccountRepr),
}

/// `StorageBucketRecord`.
#[derive(Debug, Clone, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[allow(missing_docs)]
pub struct StorageBucketRepr {
    pub operator_status: OperatorStatusRepr,
    pub accepting_new_bags: bool,
    pub voucher: VoucherRepr,
    pub assigned_bags: u64,
}

impl From<StorageBucketRepr> for StorageBucket {
    fn from(b: StorageBucketRepr) -> Self {
        Self {
            operator_status: match b.operator_status {
                OperatorStatusRepr::Missing => StorageBucketOperatorStatus::Missing,
                OperatorStatusRepr::InvitedStorageWorker(w) => {
                    StorageBucketOperatorStatus::InvitedStorageWorker(w)
                }
                OperatorStatusRepr::StorageWorker(w, a) => {
                    StorageBucketOperatorStatus::StorageWorker(w, a.into())
                }
            },
            accepting_new_bags: b.accepting_new_bags,
            voucher: b.voucher.into(),
            assigned_bags: b.assigned_bags,
        }
    }
}

/// `DistributionBucketFamilyRecord`.
#[derive(Debug, Clone, Copy, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[allow(missing_docs)]
pub struct FamilyRepr {
    pub next_distribution_bucket_index: u64,
}

impl From<FamilyRepr> for DistributionBucketFamily {
    fn from(f: FamilyRepr) -> Self {
        Self {
            next_distribution_bucket_index: f.next_distribution_bucket_index,
        }
    }
}

/// `DistributionBucketRecord`.
#[derive(Debug, Clone, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[allow(missing_docs)]
pub struct DistributionBucketRepr {
    pub accepting_new_bags: bool,
    pub distributing: bool,
    pub pending_invitations: Vec<u64>,
    pub operators: Vec<u64>,
    pub assigned_bags: u64,
}

impl From<DistributionBucketRepr> for DistributionBucket {
    fn from(b: DistributionBucketRepr) -> Self {
        Self {
            accepting_new_bags: b.accepting_new_bags,
            distributing: b.distributing,
            pending_invitations: b.pending_invitations.into_iter().collect(),
            operators: b.operators.into_iter().collect(),
            assigned_bags: b.assigned_bags,
        }
    }
}

/// `DynamicBagCreationPolicy`.
#[derive(Debug, Clone, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[allow(missing_docs)]
pub struct PolicyRepr {
    pub number_of_storage_buckets: u32,
    pub families: Vec<(u64, u32)>,
}

impl From<PolicyRepr> for DynamicBagCreationPolicy {
    fn from(p: PolicyRepr) -> Self {
        Self {
            number_of_storage_buckets: p.number_of_storage_buckets,
            families: p.families.into_iter().collect::<BTreeMap<_, _>>(),
        }
    }
}

/// `DataObjectCreationParameters`.
#[derive(Debug, Clone, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[allow(missing_docs)]
pub struct CreationRepr {
    pub size: u64,
    pub ipfs_content_id: Vec<u8>,
}

impl From<CreationRepr> for DataObjectCreationParameters {
    fn from(c: CreationRepr) -> Self {
        Self {
            size: c.size,
            ipfs_content_id: Cid(c.ipfs_content_id),
        }
    }
}

/// `UploadParametersRecord`.
#[derive(Debug, Clone, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[allow(missing_docs)]
pub struct UploadRepr {
    pub bag_id: BagRepr,
    pub object_creation_list: Vec<CreationRepr>,
    pub state_bloat_bond_source_account_id: AccountRepr,
    pub expected_data_size_fee: u128,
    pub expected_data_object_state_bloat_bond: u128,
}

impl From<UploadRepr> for UploadParameters {
    fn from(u: UploadRepr) -> Self {
        Self {
            bag_id: u.bag_id.into(),
            object_creation_list: u.object_creation_list.into_iter().map(Into::into).collect(),
            state_bloat_bond_source_account_id: u.state_bloat_bond_source_account_id.into(),
            expected_data_size_fee: u.expected_data_size_fee,
            expected_data_object_state_bloat_bond: u.expected_data_object_state_bloat_bond,
        }
    }
}

/// `DynBagCreationParametersRecord`.
#[derive(Debug, Clone, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[allow(missing_docs)]
pub struct DynBagRepr {
    pub bag_id: DynamicBagRepr,
    pub object_creation_list: Vec<CreationRepr>,
    pub state_bloat_bond_source_account_id: AccountRepr,
    pub expected_data_size_fee: u128,
    pub expected_data_object_state_bloat_bond: u128,
    pub storage_buckets: Vec<u64>,
    pub distribution_buckets: Vec<DistributionBucketIdRepr>,
}

impl From<DynBagRepr> for DynBagCreationParameters {
    fn from(d: DynBagRepr) -> Self {
        Self {
            bag_id: d.bag_id.into(),
            object_creation_list: d.object_creation_list.into_iter().map(Into::into).collect(),
            state_bloat_bond_source_account_id: d.state_bloat_bond_source_account_id.into(),
            expected_data_size_fee: d.expected_data_size_fee,
            expected_data_object_state_bloat_bond: d.expected_data_object_state_bloat_bond,
            storage_buckets: d.storage_buckets.into_iter().collect(),
            distribution_buckets: set(d.distribution_buckets),
        }
    }
}

/// Free bytes (`Vec<u8>`, `BoundedVec<u8>`).
pub fn bytes(b: Vec<u8>) -> Bytes {
    Bytes(b)
}
