//! Running a [`bag_plan`](super::bag_plan): the chain's buckets and bags read, the plan made,
//! printed, and (without `--dry-run`) sent as `update_storage_buckets_for_bag` calls, `--batch`
//! at a time, each batch finalized before the next is sent.

use std::collections::BTreeSet;

use anyhow::Context;
use futures_util::StreamExt;
use hecaton_controlplane::chain::{AnyChain, Chain};
use hecaton_emulator::runtime::call::StorageCall;
use hecaton_emulator::runtime::storage::types::StorageBucketOperatorStatus;
use hecaton_emulator::runtime::{Call, Origin};
use hecaton_shared::BagId;

use super::bag_plan::{Bag, Bucket, Planner, Update};
use super::ChainArgs;
use hecaton_emulator::embedded::bootstrap::STORAGE_LEAD;

/// Bags read from the chain at once.
const READ_AHEAD: usize = 16;

/// What to plan.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Every bag on exactly this many active buckets.
    Replication(usize),
    /// `to` added to the bags of `from`.
    Copy {
        /// Source bucket.
        from: u64,
        /// Destination bucket.
        to: u64,
    },
    /// The bucket's bags moved elsewhere.
    Empty(u64),
    /// The same change for every bag of a list.
    List(Vec<Update>),
}

/// How the plan is sent.
#[derive(Debug, Clone, Copy)]
pub struct Sending {
    /// Calls sent at once.
    pub batch: usize,
    /// Print the calls, send nothing.
    pub dry_run: bool,
}

/// Plans, prints, and sends unless dry.
pub async fn run(args: &ChainArgs, plan: Plan, sending: Sending) -> anyhow::Result<()> {
    let client = args.client()?;
    let updates = match plan {
        Plan::List(updates) => updates,
        plan => {
            let (buckets, bags) = read(&client).await?;
            eprintln!("{} active buckets, {} bags", buckets.len(), bags.len());
            let mut planner = Planner::new(buckets);
            match plan {
                Plan::Replication(target) => planner.set_replication(&bags, target)?,
                Plan::Copy { from, to } => planner.copy_bags(&bags, from, to)?,
                Plan::Empty(bucket) => planner.empty_bucket(&bags, bucket)?,
                Plan::List(_) => unreachable!("handled above"),
            }
        }
    };
    print(args.json, &updates, sending.dry_run);
    if sending.dry_run || updates.is_empty() {
        return Ok(());
    }
    let signer = args.signer(&client, STORAGE_LEAD);
    let mut failed = 0usize;
    for (n, chunk) in updates.chunks(sending.batch.max(1)).enumerate() {
        let sends = chunk.iter().map(|u| {
            let call = Call::Storage(StorageCall::UpdateStorageBucketsForBag {
                bag_id: u.bag,
                add_buckets: u.add.clone(),
                remove_buckets: u.remove.clone(),
            });
            client.submit(Origin::Signed(signer), call)
        });
        for (u, result) in chunk
            .iter()
            .zip(futures_util::future::join_all(sends).await)
        {
            if let Err(e) = result {
                failed += 1;
                eprintln!("{}: {}", u.bag, super::output::chain_error(e));
            }
        }
        eprintln!(
            "batch {} of {}: {} calls sent",
            n + 1,
            updates.len().div_ceil(sending.batch.max(1)),
            chunk.len()
        );
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} calls failed", updates.len());
    }
    Ok(())
}

/// The active buckets (operated by a worker) with their room, and every bag they store.
async fn read(client: &AnyChain) -> anyhow::Result<(Vec<Bucket>, Vec<Bag>)> {
    let infos = client
        .storage_buckets()
        .await
        .context("reading the buckets")?;
    let mut bag_ids: BTreeSet<BagId> = BTreeSet::new();
    let buckets = infos
        .iter()
        .filter(|b| {
            matches!(
                b.bucket.operator_status,
                StorageBucketOperatorStatus::StorageWorker(..)
            )
        })
        .map(|b| {
            let v = &b.bucket.voucher;
            Bucket {
                id: b.id,
                accepting_new_bags: b.bucket.accepting_new_bags,
                bytes_left: i128::from(v.size_limit) - i128::from(v.size_used),
                objects_left: i128::from(v.objects_limit) - i128::from(v.objects_used),
            }
        })
        .collect();
    for b in &infos {
        bag_ids.extend(b.bags.iter().copied());
    }
    let reads = futures_util::stream::iter(bag_ids)
        .map(|id| async move { (id, client.bag(id).await) })
        .buffered(READ_AHEAD)
        .collect::<Vec<_>>()
        .await;
    let mut bags = Vec::with_capacity(reads.len());
    for (id, read) in reads {
        let Some(info) = read.with_context(|| format!("reading bag {id}"))? else {
            continue;
        };
        bags.push(Bag {
            id,
            size: info.bag.objects_total_size,
            objects: info.bag.objects_number,
            stored_by: info.bag.stored_by,
        });
    }
    Ok((buckets, bags))
}

fn print(json: bool, updates: &[Update], dry_run: bool) {
    if json {
        let calls: Vec<serde_json::Value> = updates
            .iter()
            .map(|u| {
                serde_json::json!({
                    "call": "storage.update_storage_buckets_for_bag",
                    "bag": u.bag.to_string(),
                    "add": u.add,
                    "remove": u.remove,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({ "dry_run": dry_run, "calls": calls })
        );
        return;
    }
    for u in updates {
        println!(
            "update_storage_buckets_for_bag({}, add {:?}, remove {:?})",
            u.bag, u.add, u.remove
        );
    }
    let verb = if dry_run { "would send" } else { "sending" };
    eprintln!("{verb} {} calls", updates.len());
}
