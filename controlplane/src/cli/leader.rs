//! `hecaton leader storage|distribution ...`: the working-group leads' calls (Colossus
//! `leader:*`, Argus `leader:*`).

use std::collections::{BTreeMap, BTreeSet};

use clap::Subcommand;
use hecaton_controlplane::account::AccountId;
use hecaton_controlplane::chain::Chain;
use hecaton_controlplane::embedded::bootstrap::{DISTRIBUTION_LEAD, STORAGE_LEAD};
use hecaton_controlplane::runtime::call::{StorageCall, WorkingGroupCall};
use hecaton_controlplane::runtime::metadata::{FamilyMetadata, GeographicalArea};
use hecaton_controlplane::runtime::storage::types::{Bytes, Cid, DynamicBagType};
use hecaton_controlplane::runtime::{Call, Origin};
use hecaton_shared::{BagId, DistributionBucketId};
use prost::Message;

use super::output;
use super::ChainArgs;

/// Lead commands, by working group.
#[derive(Subcommand, Debug)]
pub enum Leader {
    /// Storage lead (signs as the storage working group's lead).
    #[command(subcommand)]
    Storage(StorageLead),
    /// Distribution lead (signs as the distribution working group's lead).
    #[command(subcommand)]
    Distribution(DistributionLead),
}

/// `Member` or `Channel`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum BagType {
    /// Member bags.
    Member,
    /// Channel bags.
    Channel,
}

impl From<BagType> for DynamicBagType {
    fn from(t: BagType) -> Self {
        match t {
            BagType::Member => DynamicBagType::Member,
            BagType::Channel => DynamicBagType::Channel,
        }
    }
}

fn on_off(text: &str) -> Result<bool, String> {
    match text {
        "yes" | "on" | "true" => Ok(true),
        "no" | "off" | "false" => Ok(false),
        other => Err(format!("{other:?}: expected yes/no")),
    }
}

/// Storage lead commands.
#[derive(Subcommand, Debug)]
#[allow(missing_docs)]
pub enum StorageLead {
    /// Hire a storage worker with this role account.
    HireWorker {
        #[arg(long)]
        role_account: AccountId,
    },
    /// Create a bucket (optionally inviting a worker).
    CreateBucket {
        #[arg(long)]
        invited_worker: Option<u64>,
        #[arg(long, value_parser = on_off, action = clap::ArgAction::Set, default_value = "yes")]
        accepting_new_bags: bool,
        /// Voucher size limit, bytes.
        #[arg(long)]
        size_limit_bytes: u64,
        /// Voucher objects limit.
        #[arg(long)]
        objects_limit: u64,
    },
    /// Delete an empty, unassigned bucket.
    DeleteBucket {
        #[arg(long)]
        bucket: u64,
    },
    /// Invite a worker to operate a bucket.
    InviteOperator {
        #[arg(long)]
        bucket: u64,
        #[arg(long)]
        worker: u64,
    },
    /// Cancel a bucket's invitation.
    CancelInvite {
        #[arg(long)]
        bucket: u64,
    },
    /// Remove a bucket's operator.
    RemoveOperator {
        #[arg(long)]
        bucket: u64,
    },
    /// Set a bucket's voucher limits.
    SetBucketLimits {
        #[arg(long)]
        bucket: u64,
        #[arg(long)]
        size_limit_bytes: u64,
        #[arg(long)]
        objects_limit: u64,
    },
    /// Whether a bucket accepts new bags.
    UpdateBucketStatus {
        #[arg(long)]
        bucket: u64,
        #[arg(long, value_parser = on_off, action = clap::ArgAction::Set)]
        accepting_new_bags: bool,
    },
    /// Add or remove buckets of a bag.
    UpdateBag {
        #[arg(long)]
        bag: BagId,
        #[arg(long = "add", value_delimiter = ',')]
        add: Vec<u64>,
        #[arg(long = "remove", value_delimiter = ',')]
        remove: Vec<u64>,
    },
    /// `StorageBucketsPerBagLimit`.
    UpdateBagLimit {
        #[arg(long)]
        limit: u32,
    },
    /// The global voucher maxima.
    UpdateVoucherLimits {
        #[arg(long)]
        size_limit_bytes: u64,
        #[arg(long)]
        objects_limit: u64,
    },
    /// The data size fee, HAPI per started MiB.
    UpdateDataFee {
        #[arg(long)]
        fee: u128,
    },
    /// The data object bloat bond, HAPI.
    UpdateDataObjectBloatBond {
        #[arg(long)]
        value: u128,
    },
    /// Storage buckets per new dynamic bag (replication of new bags).
    UpdateDynamicBagPolicy {
        #[arg(long, value_enum)]
        bag_type: BagType,
        #[arg(long)]
        number: u32,
    },
    /// Add or remove content ids on the blacklist.
    UpdateBlacklist {
        #[arg(long = "add", value_delimiter = ',')]
        add: Vec<String>,
        #[arg(long = "remove", value_delimiter = ',')]
        remove: Vec<String>,
    },
    /// Block or unblock all uploads.
    SetGlobalUploadingStatus {
        #[arg(long, value_parser = on_off, action = clap::ArgAction::Set)]
        blocked: bool,
    },
}

/// Distribution lead commands.
#[derive(Subcommand, Debug)]
#[allow(missing_docs)]
pub enum DistributionLead {
    /// Hire a distribution worker with this role account.
    HireWorker {
        #[arg(long)]
        role_account: AccountId,
    },
    /// Create a bucket family.
    CreateBucketFamily,
    /// Delete a family.
    DeleteBucketFamily {
        #[arg(long)]
        family: u64,
    },
    /// Create a bucket in a family.
    CreateBucket {
        #[arg(long)]
        family: u64,
        #[arg(long, value_parser = on_off, action = clap::ArgAction::Set, default_value = "yes")]
        accepting_new_bags: bool,
    },
    /// Delete a bucket (no operators, no bags).
    DeleteBucket {
        #[arg(long)]
        bucket: DistributionBucketId,
    },
    /// Add or remove a family's buckets of a bag.
    UpdateBag {
        #[arg(long)]
        bag: BagId,
        #[arg(long)]
        family: u64,
        #[arg(long = "add", value_delimiter = ',')]
        add: Vec<u64>,
        #[arg(long = "remove", value_delimiter = ',')]
        remove: Vec<u64>,
    },
    /// Whether a bucket accepts new bags.
    UpdateBucketStatus {
        #[arg(long)]
        bucket: DistributionBucketId,
        #[arg(long, value_parser = on_off, action = clap::ArgAction::Set)]
        accepting_new_bags: bool,
    },
    /// Whether a bucket distributes (informational).
    UpdateBucketMode {
        #[arg(long)]
        bucket: DistributionBucketId,
        #[arg(long, value_parser = on_off, action = clap::ArgAction::Set)]
        distributing: bool,
    },
    /// Buckets per family for new dynamic bags: `--families 0:2,3:1`.
    UpdateDynamicBagPolicy {
        #[arg(long, value_enum)]
        bag_type: BagType,
        #[arg(long, value_delimiter = ',', value_parser = family_count)]
        families: Vec<(u64, u32)>,
    },
    /// `DistributionBucketsPerBagLimit`.
    SetBucketsPerBagLimit {
        #[arg(long)]
        limit: u32,
    },
    /// Invite a worker to operate a bucket.
    InviteBucketOperator {
        #[arg(long)]
        bucket: DistributionBucketId,
        #[arg(long)]
        worker: u64,
    },
    /// Cancel an invitation.
    CancelInvitation {
        #[arg(long)]
        bucket: DistributionBucketId,
        #[arg(long)]
        worker: u64,
    },
    /// Remove an operator.
    RemoveBucketOperator {
        #[arg(long)]
        bucket: DistributionBucketId,
        #[arg(long)]
        worker: u64,
    },
    /// Set a family's metadata.
    SetBucketFamilyMetadata {
        #[arg(long)]
        family: u64,
        #[arg(long)]
        region: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// ISO 3166-1 country codes covered.
        #[arg(long = "country", value_delimiter = ',')]
        countries: Vec<String>,
        /// Hosts for latency probes.
        #[arg(long = "latency-test-target", value_delimiter = ',')]
        latency_test_targets: Vec<String>,
    },
}

fn family_count(text: &str) -> Result<(u64, u32), String> {
    let (family, count) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?}: expected <family>:<count>"))?;
    Ok((
        family
            .parse()
            .map_err(|e| format!("family {family:?}: {e}"))?,
        count.parse().map_err(|e| format!("count {count:?}: {e}"))?,
    ))
}

fn cids(texts: Vec<String>) -> BTreeSet<Cid> {
    texts.into_iter().map(|t| Cid(t.into_bytes())).collect()
}

impl Leader {
    /// Runs the command.
    pub async fn run(self, args: &ChainArgs) -> anyhow::Result<()> {
        let (call, lead) = match self {
            Leader::Storage(cmd) => (cmd.call(), STORAGE_LEAD),
            Leader::Distribution(cmd) => (cmd.call(), DISTRIBUTION_LEAD),
        };
        let client = args.client()?;
        let inclusion = client
            .submit(Origin::Signed(args.signer(&client, lead)), call)
            .await
            .map_err(output::chain_error)?;
        output::inclusion(args.json, &inclusion);
        Ok(())
    }
}

impl StorageLead {
    fn call(self) -> Call {
        use StorageCall as C;
        let c = match self {
            Self::HireWorker { role_account } => {
                return Call::StorageWorkingGroup(WorkingGroupCall::HireWorker { role_account })
            }
            Self::CreateBucket {
                invited_worker,
                accepting_new_bags,
                size_limit_bytes,
                objects_limit,
            } => C::CreateStorageBucket {
                invite_worker: invited_worker,
                accepting_new_bags,
                size_limit: size_limit_bytes,
                objects_limit,
            },
            Self::DeleteBucket { bucket } => C::DeleteStorageBucket {
                storage_bucket_id: bucket,
            },
            Self::InviteOperator { bucket, worker } => C::InviteStorageBucketOperator {
                storage_bucket_id: bucket,
                operator_id: worker,
            },
            Self::CancelInvite { bucket } => C::CancelStorageBucketOperatorInvite {
                storage_bucket_id: bucket,
            },
            Self::RemoveOperator { bucket } => C::RemoveStorageBucketOperator {
                storage_bucket_id: bucket,
            },
            Self::SetBucketLimits {
                bucket,
                size_limit_bytes,
                objects_limit,
            } => C::SetStorageBucketVoucherLimits {
                storage_bucket_id: bucket,
                new_objects_size_limit: size_limit_bytes,
                new_objects_number_limit: objects_limit,
            },
            Self::UpdateBucketStatus {
                bucket,
                accepting_new_bags,
            } => C::UpdateStorageBucketStatus {
                storage_bucket_id: bucket,
                accepting_new_bags,
            },
            Self::UpdateBag { bag, add, remove } => C::UpdateStorageBucketsForBag {
                bag_id: bag,
                add_buckets: add.into_iter().collect(),
                remove_buckets: remove.into_iter().collect(),
            },
            Self::UpdateBagLimit { limit } => {
                C::UpdateStorageBucketsPerBagLimit { new_limit: limit }
            }
            Self::UpdateVoucherLimits {
                size_limit_bytes,
                objects_limit,
            } => C::UpdateStorageBucketsVoucherMaxLimits {
                new_objects_size: size_limit_bytes,
                new_objects_number: objects_limit,
            },
            Self::UpdateDataFee { fee } => C::UpdateDataSizeFee {
                new_data_size_fee: fee,
            },
            Self::UpdateDataObjectBloatBond { value } => C::UpdateDataObjectStateBloatBond {
                state_bloat_bond: value,
            },
            Self::UpdateDynamicBagPolicy { bag_type, number } => {
                C::UpdateNumberOfStorageBucketsInDynamicBagCreationPolicy {
                    dynamic_bag_type: bag_type.into(),
                    number_of_storage_buckets: number,
                }
            }
            Self::UpdateBlacklist { add, remove } => C::UpdateBlacklist {
                remove_hashes: cids(remove),
                add_hashes: cids(add),
            },
            Self::SetGlobalUploadingStatus { blocked } => C::UpdateUploadingBlockedStatus {
                new_status: blocked,
            },
        };
        Call::Storage(c)
    }
}

impl DistributionLead {
    fn call(self) -> Call {
        use StorageCall as C;
        let c = match self {
            Self::HireWorker { role_account } => {
                return Call::DistributionWorkingGroup(WorkingGroupCall::HireWorker {
                    role_account,
                })
            }
            Self::CreateBucketFamily => C::CreateDistributionBucketFamily,
            Self::DeleteBucketFamily { family } => {
                C::DeleteDistributionBucketFamily { family_id: family }
            }
            Self::CreateBucket {
                family,
                accepting_new_bags,
            } => C::CreateDistributionBucket {
                family_id: family,
                accepting_new_bags,
            },
            Self::DeleteBucket { bucket } => C::DeleteDistributionBucket { bucket_id: bucket },
            Self::UpdateBag {
                bag,
                family,
                add,
                remove,
            } => C::UpdateDistributionBucketsForBag {
                bag_id: bag,
                family_id: family,
                add_buckets_indices: add.into_iter().collect(),
                remove_buckets_indices: remove.into_iter().collect(),
            },
            Self::UpdateBucketStatus {
                bucket,
                accepting_new_bags,
            } => C::UpdateDistributionBucketStatus {
                bucket_id: bucket,
                accepting_new_bags,
            },
            Self::UpdateBucketMode {
                bucket,
                distributing,
            } => C::UpdateDistributionBucketMode {
                bucket_id: bucket,
                distributing,
            },
            Self::UpdateDynamicBagPolicy { bag_type, families } => {
                C::UpdateFamiliesInDynamicBagCreationPolicy {
                    dynamic_bag_type: bag_type.into(),
                    families: families.into_iter().collect::<BTreeMap<_, _>>(),
                }
            }
            Self::SetBucketsPerBagLimit { limit } => {
                C::UpdateDistributionBucketsPerBagLimit { new_limit: limit }
            }
            Self::InviteBucketOperator { bucket, worker } => C::InviteDistributionBucketOperator {
                bucket_id: bucket,
                operator_worker_id: worker,
            },
            Self::CancelInvitation { bucket, worker } => {
                C::CancelDistributionBucketOperatorInvite {
                    bucket_id: bucket,
                    operator_worker_id: worker,
                }
            }
            Self::RemoveBucketOperator { bucket, worker } => C::RemoveDistributionBucketOperator {
                bucket_id: bucket,
                operator_worker_id: worker,
            },
            Self::SetBucketFamilyMetadata {
                family,
                region,
                description,
                countries,
                latency_test_targets,
            } => {
                let metadata = FamilyMetadata {
                    region,
                    description,
                    areas: countries
                        .into_iter()
                        .map(|c| GeographicalArea {
                            country_code: Some(c),
                            ..Default::default()
                        })
                        .collect(),
                    latency_test_targets,
                };
                C::SetDistributionBucketFamilyMetadata {
                    family_id: family,
                    metadata: Bytes(metadata.encode_to_vec()),
                }
            }
        };
        Call::Storage(c)
    }
}
