//! A storage node's obligations: the bags of the storage buckets its worker operates.

use std::collections::BTreeSet;

use hecaton_shared::socket::{BagPlacement, Globals, Role};
use hecaton_shared::{BagId, StorageBucketId};

use super::{bag_objects, endpoints, BucketSelection, Obligations, Scope};
use crate::chain::{Chain, ChainError, StorageBucketInfo};
use hecaton_vocabulary::storage_types::{Cid, StorageBucketOperatorStatus};

impl Obligations {
    /// Reads a storage node's obligations from the chain.
    pub(super) async fn read_storage(
        chain: &impl Chain,
        scope: &Scope,
        block: u64,
    ) -> Result<Self, ChainError> {
        let buckets = chain.storage_buckets().await?;
        let terms = chain.upload_terms().await?;
        let blacklist = chain.blacklist().await?;
        let mut ob = Obligations {
            role: Some(Role::Storage),
            block,
            globals: globals(scope, &buckets, terms.uploading_blocked, &blacklist),
            endpoints: endpoints(&buckets),
            ..Obligations::default()
        };
        let mut bags = BTreeSet::new();
        for b in &buckets {
            let id = StorageBucketId(b.id);
            if ob.globals.kept_buckets().any(|k| *k == id) {
                bags.extend(b.bags.iter().copied());
            }
            if let StorageBucketOperatorStatus::StorageWorker(_, transactor) =
                b.bucket.operator_status
            {
                if ob.globals.buckets.contains(&id) {
                    ob.transactors.insert(b.id, transactor);
                }
            }
        }
        for bag in bags {
            ob.refresh_stored_bag(chain, bag).await?;
        }
        Ok(ob)
    }

    /// Re-reads one bag: its holders and objects, or its removal when none of this node's
    /// buckets stores it any more (or it was deleted).
    pub(super) async fn refresh_stored_bag(
        &mut self,
        chain: &impl Chain,
        bag: BagId,
    ) -> Result<(), ChainError> {
        let info = chain.bag(bag).await?;
        // This node's buckets that store the bag: the operated ones make it an obligation; the
        // listed but not operated ones are kept so that uploads into them get Colossus's
        // "Incorrect storage bucket ID." rather than "not assigned".
        let ours: Vec<StorageBucketId> = info
            .as_ref()
            .map(|i| {
                i.bag
                    .stored_by
                    .iter()
                    .map(|b| StorageBucketId(*b))
                    .filter(|b| {
                        self.globals.kept_buckets().any(|k| k == b)
                            || self.globals.read_only_buckets.contains(b)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let operated = ours
            .iter()
            .any(|b| self.globals.kept_buckets().any(|k| k == b));
        let Some(info) = info.filter(|_| operated) else {
            self.set_bag(bag, None);
            return Ok(());
        };
        let peers = info
            .bag
            .stored_by
            .iter()
            .filter(|b| !ours.contains(&StorageBucketId(**b)))
            .filter_map(|b| self.endpoints.get(b).cloned())
            .collect();
        let objects = bag_objects(chain, bag).await?;
        self.set_bag(
            bag,
            Some(BagPlacement {
                bag,
                buckets: ours,
                peers,
                objects,
            }),
        );
        Ok(())
    }
}

/// The node-wide values for a storage `scope`.
fn globals(
    scope: &Scope,
    buckets: &[StorageBucketInfo],
    uploading_blocked: bool,
    blacklist: &[Cid],
) -> Globals {
    let mut g = Globals {
        uploading_blocked,
        blacklist: blacklist
            .iter()
            .map(|c| String::from_utf8_lossy(&c.0).into_owned())
            .collect(),
        ..Globals::default()
    };
    let Scope::Storage {
        worker_id,
        buckets: selection,
        signers,
    } = scope
    else {
        return g;
    };
    for b in buckets {
        let selected = match selection {
            BucketSelection::All => true,
            BucketSelection::Only(ids) => ids.contains(&b.id),
        };
        if !selected {
            continue;
        }
        match &b.bucket.operator_status {
            StorageBucketOperatorStatus::StorageWorker(w, transactor) if w == worker_id => {
                if signers.as_ref().is_none_or(|s| s.contains(transactor)) {
                    g.buckets.push(StorageBucketId(b.id))
                } else {
                    g.unkeyed_buckets.push(StorageBucketId(b.id))
                }
            }
            StorageBucketOperatorStatus::InvitedStorageWorker(w) if w == worker_id => {
                g.read_only_buckets.push(StorageBucketId(b.id))
            }
            _ if matches!(selection, BucketSelection::Only(_)) => {
                g.read_only_buckets.push(StorageBucketId(b.id))
            }
            _ => {}
        }
    }
    g
}
