//! Following the chain: the obligations read in full from the latest finalized block, then kept
//! current block by block from the events (a bag re-read when its holders or membership change,
//! everything on bucket-level events, at every reconciliation period and whenever the node's
//! scope changes), each version published on a `watch` channel. A lost connection is retried
//! with backoff and resumed with a full read.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;
use tracing::{info, warn};

use super::obligations::{Obligations, Scope};
use crate::chain::{Chain, ChainError};

/// Follows finalized blocks until `out` has no receiver left.
pub async fn follow<C: Chain>(
    chain: C,
    mut scope: watch::Receiver<Scope>,
    out: watch::Sender<Arc<Obligations>>,
    reconcile: Duration,
) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let current = scope.borrow_and_update().clone();
        match follow_once(&chain, &current, &mut scope, &out, reconcile).await {
            Ok(Why::ScopeChanged) => {
                info!("the node's buckets changed; reading everything again");
                backoff = Duration::from_millis(200);
            }
            Ok(Why::Closed) => return,
            Err(e) => {
                warn!("following the chain: {e}; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

enum Why {
    ScopeChanged,
    Closed,
}

async fn follow_once<C: Chain>(
    chain: &C,
    current: &Scope,
    scope: &mut watch::Receiver<Scope>,
    out: &watch::Sender<Arc<Obligations>>,
    reconcile: Duration,
) -> Result<Why, ChainError> {
    let head = chain.finalized_block().await?;
    let mut ob = Obligations::read(chain, current, head).await?;
    info!(block = head, bags = ob.bags.len(), "obligations read");
    if out.send(Arc::new(ob.clone())).is_err() {
        return Ok(Why::Closed);
    }
    let mut blocks = chain.follow(head + 1).await?;
    let mut last_full = tokio::time::Instant::now();
    loop {
        let block = tokio::select! {
            b = blocks.next() => b,
            changed = scope.changed() => {
                return Ok(if changed.is_ok() { Why::ScopeChanged } else { Why::Closed });
            }
        };
        let Some(block) = block else { break };
        let block = block?;
        let t = ob.apply_events(&block.events);
        if t.all || last_full.elapsed() >= reconcile {
            ob = Obligations::read(chain, current, block.number).await?;
            last_full = tokio::time::Instant::now();
        } else {
            let bags: BTreeSet<_> = t.bags;
            for bag in bags {
                ob.refresh_bag(chain, bag).await?;
            }
            ob.block = block.number;
        }
        if out.send(Arc::new(ob.clone())).is_err() {
            return Ok(Why::Closed);
        }
    }
    Err(ChainError::Transport {
        url: String::new(),
        message: "block stream ended".into(),
    })
}
