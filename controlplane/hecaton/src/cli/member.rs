//! `hecaton member ...`: what a channel owner does: buy a membership, create a channel (choosing
//! buckets as the Joystream CLI does), register uploads, delete videos and channels.

use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Subcommand;
use hecaton_controlplane::account::AccountId;
use hecaton_controlplane::chain::{Chain, FamilyInfo, StorageBucketInfo};
use hecaton_emulator::embedded::bootstrap::MEMBER;
use hecaton_emulator::runtime::call::{ContentCall, MembershipCall};
use hecaton_emulator::runtime::event::{ContentEvent, Event};
use hecaton_emulator::runtime::storage::types::{
    Cid, DataObjectCreationParameters, DynamicBagCreationPolicy, DynamicBagType,
};
use hecaton_emulator::runtime::{Call, Origin};
use hecaton_shared::{BagId, ContentHasher, DistributionBucketId, DynamicBagId};

use super::ChainArgs;
use super::{output, send};

/// Member commands.
#[derive(Subcommand, Debug)]
#[allow(missing_docs)]
pub enum Member {
    /// Become a member (the signer controls it).
    BuyMembership {
        #[arg(long)]
        handle: String,
    },
    /// Create a channel for a member; its bag gets buckets chosen like the Joystream CLI does.
    CreateChannel {
        #[arg(long, default_value_t = 0)]
        member: u64,
    },
    /// Register files as a new video's assets in a channel (size and content id computed here),
    /// send them to a storage node of the channel's bag, and wait until they are accepted.
    Upload {
        #[arg(long)]
        channel: u64,
        /// Only register the objects on chain (send the bytes yourself, e.g. with curl).
        #[arg(long)]
        register_only: bool,
        /// How long to wait for acceptance on chain, in seconds.
        #[arg(long, default_value_t = 120)]
        accept_timeout_secs: u64,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Delete a video and its objects, or a channel (which must have no videos).
    Delete {
        #[arg(long, conflicts_with = "channel", required_unless_present = "channel")]
        video: Option<u64>,
        #[arg(long)]
        channel: Option<u64>,
    },
}

/// Storage buckets for a new bag: accepting new bags, most free bytes first (ties: most free
/// object slots), the policy's number of them.
pub fn choose_storage_buckets(
    buckets: &[StorageBucketInfo],
    n: u32,
) -> anyhow::Result<BTreeSet<u64>> {
    let mut candidates: Vec<&StorageBucketInfo> = buckets
        .iter()
        .filter(|b| b.bucket.accepting_new_bags)
        .collect();
    let free = |b: &StorageBucketInfo| {
        let v = b.bucket.voucher;
        (
            v.size_limit.saturating_sub(v.size_used),
            v.objects_limit.saturating_sub(v.objects_used),
        )
    };
    candidates.sort_by(|a, b| free(b).cmp(&free(a)).then(a.id.cmp(&b.id)));
    if candidates.len() < n as usize {
        bail!(
            "storage buckets policy constraint unsatisfied: the policy asks for {n}, {} accept new bags",
            candidates.len()
        );
    }
    Ok(candidates.iter().take(n as usize).map(|b| b.id).collect())
}

/// Distribution buckets for a new bag: for each family of the policy, a uniform random sample of
/// its count (families not in the policy are skipped).
pub fn choose_distribution_buckets(
    families: &[FamilyInfo],
    policy: &DynamicBagCreationPolicy,
) -> anyhow::Result<BTreeSet<DistributionBucketId>> {
    let mut chosen = BTreeSet::new();
    for (family_id, count) in &policy.families {
        let family = families
            .iter()
            .find(|f| f.id == *family_id)
            .with_context(|| format!("policy names family {family_id}, which does not exist"))?;
        let mut ids: Vec<DistributionBucketId> = family.buckets.iter().map(|b| b.id).collect();
        if ids.len() < *count as usize {
            bail!(
                "family {family_id} has {} buckets, the policy asks for {count}",
                ids.len()
            );
        }
        // Partial Fisher-Yates with the standard library's random hasher keys as entropy.
        for i in 0..*count as usize {
            let r = std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish() as usize;
            let j = i + r % (ids.len() - i);
            ids.swap(i, j);
            chosen.insert(ids[i]);
        }
    }
    Ok(chosen)
}

/// Size and content id of a file, streamed.
fn describe(path: &PathBuf) -> anyhow::Result<DataObjectCreationParameters> {
    let mut file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let mut hasher = ContentHasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(DataObjectCreationParameters {
        size: hasher.len(),
        ipfs_content_id: Cid(hasher.finish().to_string().into_bytes()),
    })
}

impl Member {
    /// Runs the command.
    pub async fn run(self, args: &ChainArgs) -> anyhow::Result<()> {
        let client = args.embedded()?;
        let origin = Origin::Signed(args.account.unwrap_or_else(|| AccountId::dev(MEMBER)));
        let call = match &self {
            Member::BuyMembership { handle } => Call::Members(MembershipCall::BuyMembership {
                handle: handle.clone(),
            }),
            Member::CreateChannel { member } => {
                let terms = client.upload_terms().await.map_err(output::chain_error)?;
                let policy = client
                    .policy(DynamicBagType::Channel)
                    .await
                    .map_err(output::chain_error)?;
                let storage = client
                    .storage_buckets()
                    .await
                    .map_err(output::chain_error)?;
                let families = client.families().await.map_err(output::chain_error)?;
                Call::Content(ContentCall::CreateChannel {
                    member_id: *member,
                    assets: Vec::new(),
                    expected_data_size_fee: terms.data_object_per_megabyte_fee,
                    expected_data_object_state_bloat_bond: terms.data_object_state_bloat_bond_value,
                    storage_buckets: choose_storage_buckets(
                        &storage,
                        policy.number_of_storage_buckets,
                    )?,
                    distribution_buckets: choose_distribution_buckets(&families, &policy)?,
                })
            }
            Member::Upload { channel, files, .. } => {
                let assets = files
                    .iter()
                    .map(describe)
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let terms = client.upload_terms().await.map_err(output::chain_error)?;
                Call::Content(ContentCall::CreateVideo {
                    channel_id: *channel,
                    assets,
                    expected_data_size_fee: terms.data_object_per_megabyte_fee,
                    expected_data_object_state_bloat_bond: terms.data_object_state_bloat_bond_value,
                })
            }
            Member::Delete {
                video: Some(video), ..
            } => {
                let info: serde_json::Value = client
                    .get(&format!("videos/{video}"))
                    .await
                    .map_err(output::chain_error)?
                    .with_context(|| format!("video {video} does not exist"))?;
                let channel = info["in_channel"]
                    .as_u64()
                    .context("video without a channel")?;
                Call::Content(ContentCall::DeleteVideo {
                    video_id: *video,
                    storage_buckets_num_witness: Some(witness(&client, channel).await?),
                })
            }
            Member::Delete {
                channel: Some(channel),
                ..
            } => Call::Content(ContentCall::DeleteChannel {
                channel_id: *channel,
                storage_buckets_num_witness: witness(&client, *channel).await?,
            }),
            Member::Delete { .. } => bail!("give --video or --channel"),
        };
        let inclusion = client
            .submit(origin, call)
            .await
            .map_err(output::chain_error)?;
        output::inclusion(args.json, &inclusion);
        let Member::Upload {
            channel,
            register_only,
            accept_timeout_secs,
            files,
        } = self
        else {
            return Ok(());
        };
        let Some(ids) = inclusion.events.iter().find_map(|e| match e {
            Event::Content(ContentEvent::VideoCreated(_, _, ids)) => Some(ids.clone()),
            _ => None,
        }) else {
            bail!("the chain did not report the video's objects");
        };
        let ids: Vec<u64> = ids.into_iter().collect();
        if register_only {
            if !args.json {
                println!("channel {channel}: data objects {ids:?} are pending until a storage node of the bag receives their bytes");
            }
            return Ok(());
        }
        let bag = BagId::Dynamic(DynamicBagId::Channel(channel));
        let objects: Vec<(u64, PathBuf)> = ids.iter().copied().zip(files).collect();
        send::send_all(&client, bag, &objects, args.json).await?;
        let took = send::wait_accepted(
            &client,
            bag,
            &ids,
            std::time::Duration::from_secs(accept_timeout_secs),
        )
        .await?;
        if !args.json {
            println!(
                "accepted on chain: objects {ids:?} of {bag} ({:.1} s after sending)",
                took.as_secs_f64()
            );
        }
        Ok(())
    }
}

/// The storage-buckets witness for a channel's bag: its number of storage buckets.
async fn witness(client: &impl Chain, channel: u64) -> anyhow::Result<u32> {
    let bag = BagId::Dynamic(DynamicBagId::Channel(channel));
    let info = client
        .bag(bag)
        .await
        .map_err(output::chain_error)?
        .with_context(|| format!("channel {channel} has no bag"))?;
    Ok(info.bag.stored_by.len() as u32)
}
