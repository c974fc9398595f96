//! The check a distributor makes before anything else: a worker that should have buckets has.

use super::config::{DistributionBuckets, DistributorConfig};
use crate::chain::Chain;
use crate::node::error::NodeError;

/// Checks at start that a distributor that serves "every bucket of its worker" has a worker
/// that operates (or is invited to) at least one distribution bucket. With explicit buckets the
/// node serves those, whoever operates them (as Argus does).
pub(super) async fn check_worker(
    chain: &impl Chain,
    config: &DistributorConfig,
) -> Result<(), NodeError> {
    let (DistributionBuckets::All, Some(worker_id)) = (&config.buckets, config.worker_id) else {
        return Ok(());
    };
    let families = chain.families().await?;
    let buckets = families.iter().flat_map(|f| f.buckets.iter());
    let mut invited = Vec::new();
    for b in buckets {
        if b.bucket.operators.contains(&worker_id) {
            return Ok(());
        }
        if b.bucket.pending_invitations.contains(&worker_id) {
            invited.push(b.id.to_string());
        }
    }
    let hint = if invited.is_empty() {
        " (check `worker_id`, or list `buckets`: no distribution bucket names this worker as an \
         operator)"
            .to_owned()
    } else {
        format!(
            " (it is invited to {}: accept with `hecaton operator distribution accept-invitation`)",
            invited.join(", ")
        )
    };
    Err(NodeError::NoBuckets {
        role: "distribution",
        worker_id,
        hint,
    })
}
