//! `hecaton leader storage|distribution ...`: the working-group leads' calls (Colossus
//! `leader:*`, Argus `leader:*`).

use std::collections::{BTreeMap, BTreeSet};

use clap::Subcommand;
use hecaton_controlplane::account::AccountId;
use hecaton_controlplane::chain::Chain;
use hecaton_emulator::embedded::bootstrap::{DISTRIBUTION_LEAD, STORAGE_LEAD};
use hecaton_emulator::runtime::call::{StorageCall, WorkingGroupCall};
use hecaton_emulator::runtime::metadata::{FamilyMetadata, GeographicalArea};
use hecaton_emulator::runtime::storage::types::{Bytes, Cid, DynamicBagType};
use hecaton_emulator::runtime::{Call, Origin};
use hecaton_shared::{BagId, DistributionBucketId};
use prost::Message;

use super::bag_batch::{self, Plan};
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

/// How a batch command sends its calls.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct SendingArgs {
    /// Calls sent at once (each batch finalized before the next).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    batch: u64,
    /// Print the calls that would be sent, and send none.
    #[arg(long)]
    dry_run: bool,
}

impl From<SendingArgs> for bag_batch::Sending {
    fn from(a: SendingArgs) -> Self {
        bag_batch::Sending {
            batch: a.batch as usize,
            dry_run: a.dry_run,
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
    /// Every bag on exactly `--target` active buckets (Colossus's `leader:set-replication`):
    /// bags above it lose the buckets with the least room left, bags below gain those with
    /// the most.
    SetReplication {
        #[arg(long)]
        target: usize,
        #[command(flatten)]
        sending: SendingArgs,
    },
    /// Add bucket `--to` to every bag bucket `--from` stores (`leader:copy-bags`).
    CopyBags {
        #[arg(long)]
        from: u64,
        #[arg(long)]
        to: u64,
        #[command(flatten)]
        sending: SendingArgs,
    },
    /// Move every bag off a bucket, each to the bucket with the most room, so that
    /// replication holds (`leader:empty-bucket`).
    EmptyBucket {
        #[arg(long)]
        bucket: u64,
        #[command(flatten)]
        sending: SendingArgs,
    },
    /// The same `--add`/`--remove` for every bag listed in a file, one id per line
    /// (`leader:update-bags`).
    UpdateBags {
        #[arg(long)]
        file: std::path::PathBuf,
        #[arg(long = "add", value_delimiter = ',')]
        add: Vec<u64>,
        #[arg(long = "remove", value_delimiter = ',')]
        remove: Vec<u64>,
        #[command(flatten)]
        sending: SendingArgs,
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
        /// Continents covered: AF, NA, OC, AN, AS, EU, SA.
        #[arg(long = "continent", value_delimiter = ',', value_parser = continent)]
        continents: Vec<i32>,
        /// ISO 3166-1 country codes covered.
        #[arg(long = "country", value_delimiter = ',')]
        countries: Vec<String>,
        /// ISO 3166-2 subdivision codes covered (`DE-BE`).
        #[arg(long = "subdivision", value_delimiter = ',')]
        subdivisions: Vec<String>,
        /// Or all of it from Argus's JSON (`leader:set-bucket-family-metadata -i`): `{"region",
        /// "description", "areas": [{"continentCode"|"countryCode"|"subdivisionCode": ...}],
        /// "latencyTestTargets"}`; flags given as well are added to it.
        #[arg(long)]
        input: Option<std::path::PathBuf>,
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

/// A continent's code as the metadata numbers it (`GeographicalArea.Continent`).
fn continent(code: &str) -> Result<i32, String> {
    const CODES: [&str; 7] = ["AF", "NA", "OC", "AN", "AS", "EU", "SA"];
    CODES
        .iter()
        .position(|c| c.eq_ignore_ascii_case(code))
        .map(|i| i as i32 + 1)
        .ok_or_else(|| format!("{code:?}: expected one of {}", CODES.join(", ")))
}

/// Argus's family metadata file, merged into the flags.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FamilyFile {
    region: Option<String>,
    description: Option<String>,
    #[serde(default)]
    areas: Vec<AreaFile>,
    #[serde(default)]
    latency_test_targets: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AreaFile {
    continent_code: Option<String>,
    country_code: Option<String>,
    subdivision_code: Option<String>,
}

impl DistributionLead {
    /// Takes `--input` into the flags of `set-bucket-family-metadata`.
    fn with_input(self) -> anyhow::Result<Self> {
        let Self::SetBucketFamilyMetadata {
            family,
            mut region,
            mut description,
            mut continents,
            mut countries,
            mut subdivisions,
            mut latency_test_targets,
            input: Some(path),
        } = self
        else {
            return Ok(self);
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let file: FamilyFile =
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        region = region.or(file.region);
        description = description.or(file.description);
        for a in file.areas {
            match (a.continent_code, a.country_code, a.subdivision_code) {
                (Some(c), None, None) => continents.push(continent(&c).map_err(anyhow::Error::msg)?),
                (None, Some(c), None) => countries.push(c),
                (None, None, Some(s)) => subdivisions.push(s),
                _ => anyhow::bail!(
                    "{}: each area names exactly one of continentCode, countryCode, subdivisionCode",
                    path.display()
                ),
            }
        }
        latency_test_targets.extend(file.latency_test_targets);
        Ok(Self::SetBucketFamilyMetadata {
            family,
            region,
            description,
            continents,
            countries,
            subdivisions,
            latency_test_targets,
            input: None,
        })
    }
}

fn cids(texts: Vec<String>) -> BTreeSet<Cid> {
    texts.into_iter().map(|t| Cid(t.into_bytes())).collect()
}

impl Leader {
    /// Runs the command.
    pub async fn run(self, args: &ChainArgs) -> anyhow::Result<()> {
        let (call, lead) = match self {
            Leader::Storage(cmd) => match cmd.batch()? {
                Some((plan, sending)) => return bag_batch::run(args, plan, sending.into()).await,
                None => (cmd.call(), STORAGE_LEAD),
            },
            Leader::Distribution(cmd) => (cmd.with_input()?.call(), DISTRIBUTION_LEAD),
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
    /// The plan of a batch command (`None`: a single call).
    fn batch(&self) -> anyhow::Result<Option<(Plan, SendingArgs)>> {
        Ok(Some(match self {
            Self::SetReplication { target, sending } => (Plan::Replication(*target), *sending),
            Self::CopyBags { from, to, sending } => (
                Plan::Copy {
                    from: *from,
                    to: *to,
                },
                *sending,
            ),
            Self::EmptyBucket { bucket, sending } => (Plan::Empty(*bucket), *sending),
            Self::UpdateBags {
                file,
                add,
                remove,
                sending,
            } => {
                let list = std::fs::read_to_string(file)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                let updates = super::bag_plan::update_bags(
                    &list,
                    &add.iter().copied().collect(),
                    &remove.iter().copied().collect(),
                )
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                (Plan::List(updates), *sending)
            }
            _ => return Ok(None),
        }))
    }

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
            Self::SetReplication { .. }
            | Self::CopyBags { .. }
            | Self::EmptyBucket { .. }
            | Self::UpdateBags { .. } => unreachable!("batch commands are planned, see `batch`"),
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
                continents,
                countries,
                subdivisions,
                latency_test_targets,
                input: _,
            } => {
                let area = |continent, country_code, subdivision_code| GeographicalArea {
                    continent,
                    country_code,
                    subdivision_code,
                };
                let areas = continents
                    .into_iter()
                    .map(|c| area(Some(c), None, None))
                    .chain(countries.into_iter().map(|c| area(None, Some(c), None)))
                    .chain(subdivisions.into_iter().map(|s| area(None, None, Some(s))))
                    .collect();
                let metadata = FamilyMetadata {
                    region,
                    description,
                    areas,
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
