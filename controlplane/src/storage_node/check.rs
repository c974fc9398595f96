//! The check a storage node makes before anything else: its worker must operate a bucket.

use crate::chain::Chain;
use crate::node::error::NodeError;
use crate::node::obligations::{BucketSelection, Scope};

/// Checks at start that the worker operates at least one selected bucket.
pub async fn check_worker(chain: &impl Chain, scope: &Scope) -> Result<Vec<u64>, NodeError> {
    use hecaton_vocabulary::storage_types::StorageBucketOperatorStatus as Status;
    let Scope::Storage {
        worker_id, buckets, ..
    } = scope
    else {
        return Ok(Vec::new());
    };
    let selected = |id: u64| match buckets {
        BucketSelection::All => true,
        BucketSelection::Only(ids) => ids.contains(&id),
    };
    let all = chain.storage_buckets().await?;
    let operated: Vec<u64> = all
        .iter()
        .filter(|b| selected(b.id))
        .filter(
            |b| matches!(b.bucket.operator_status, Status::StorageWorker(w, _) if w == *worker_id),
        )
        .map(|b| b.id)
        .collect();
    if !operated.is_empty() {
        return Ok(operated);
    }
    let invited: Vec<u64> = all
        .iter()
        .filter(|b| matches!(b.bucket.operator_status, Status::InvitedStorageWorker(w) if w == *worker_id))
        .map(|b| b.id)
        .collect();
    let hint = if invited.is_empty() {
        " (check `worker_id`: no bucket of the chain names this worker as its operator; the \
         lead invites a worker with `hecaton leader storage invite-operator`)"
            .to_owned()
    } else {
        format!(
            " (it is invited to bucket(s) {invited:?}: accept with `hecaton operator storage \
             accept-invitation`)"
        )
    };
    Err(NodeError::NoBuckets {
        role: "storage",
        worker_id: *worker_id,
        hint,
    })
}
