//! A distributor's obligations: the bags of its distribution buckets (those its worker operates,
//! or the configured ones), each with its objects and the endpoints of the storage buckets
//! that hold it; and the id of every object on chain, so that the data plane tells a missing
//! object (404) from one that is not this node's (421) without asking anyone.

use std::collections::BTreeSet;
use std::sync::Arc;

use hecaton_shared::socket::{BagPlacement, DistributorInfo, Globals, Role};
use hecaton_shared::{BagId, DataObjectId, DistributionBucketId, IdSet};

use super::{bag_objects, endpoints, Obligations, Scope};
use crate::chain::{Chain, ChainError, FamilyInfo};

impl Obligations {
    /// Reads a distributor's obligations from the chain.
    pub(super) async fn read_distribution(
        chain: &impl Chain,
        scope: &Scope,
        block: u64,
    ) -> Result<Self, ChainError> {
        let families = chain.families().await?;
        let storage = chain.storage_buckets().await?;
        let existing: IdSet = chain
            .object_ids()
            .await?
            .into_iter()
            .map(DataObjectId)
            .collect();
        let mut ob = Obligations {
            role: Some(Role::Distributor),
            block,
            globals: globals(scope, &families),
            endpoints: endpoints(&storage),
            existing: Some(Arc::new(existing)),
            ..Obligations::default()
        };
        let ours: BTreeSet<DistributionBucketId> =
            ob.globals.distribution_buckets.iter().copied().collect();
        let bags: BTreeSet<BagId> = families
            .iter()
            .flat_map(|f| &f.buckets)
            .filter(|b| ours.contains(&b.id))
            .flat_map(|b| b.bags.iter().copied())
            .collect();
        for bag in bags {
            ob.refresh_distributed_bag(chain, bag).await?;
        }
        Ok(ob)
    }

    /// Re-reads one bag: whether one of this node's buckets distributes it, its objects and the
    /// storage buckets holding it.
    pub(super) async fn refresh_distributed_bag(
        &mut self,
        chain: &impl Chain,
        bag: BagId,
    ) -> Result<(), ChainError> {
        let info = chain.bag(bag).await?;
        let ours = info.as_ref().is_some_and(|i| {
            i.bag
                .distributed_by
                .iter()
                .any(|b| self.globals.distribution_buckets.contains(b))
        });
        let Some(info) = info.filter(|_| ours) else {
            self.set_bag(bag, None);
            return Ok(());
        };
        let peers = info
            .bag
            .stored_by
            .iter()
            .filter_map(|b| self.endpoints.get(b).cloned())
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        let objects = bag_objects(chain, bag).await?;
        self.set_bag(
            bag,
            Some(BagPlacement {
                bag,
                buckets: Vec::new(),
                peers,
                objects,
            }),
        );
        Ok(())
    }
}

/// The node-wide values for a distributor `scope`: its buckets (the configured ones that exist,
/// or those its worker operates) and how it describes itself.
fn globals(scope: &Scope, families: &[FamilyInfo]) -> Globals {
    let Scope::Distributor {
        node_id,
        worker_id,
        buckets,
    } = scope
    else {
        return Globals::default();
    };
    let distribution_buckets = families
        .iter()
        .flat_map(|f| &f.buckets)
        .filter(|b| match buckets {
            Some(ids) => ids.contains(&b.id),
            None => worker_id.is_some_and(|w| b.bucket.operators.contains(&w)),
        })
        .map(|b| b.id)
        .collect();
    Globals {
        distribution_buckets,
        distributor: Some(DistributorInfo {
            id: node_id.clone(),
            worker_id: *worker_id,
            configured_buckets: buckets.as_ref().map(|b| b.iter().copied().collect()),
        }),
        ..Globals::default()
    }
}
