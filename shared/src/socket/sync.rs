//! The messages of replication and cleanup: fetch work the control plane hands the data plane,
//! removals it orders, what the data plane reports back, and the summary both public status
//! pages show.
//!
//! The control plane decides (what is missing, from which peers in which order, what may be
//! dropped and why); the data plane does (transfers, verification, removal) and reports each
//! outcome. Neither side trusts a peer's bytes: they are verified against the chain's content id
//! before they are published.

use serde::{Deserialize, Serialize};

use crate::{BagId, DataObjectId};

/// One object to fetch from peers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchJob {
    /// The object.
    pub id: DataObjectId,
    /// Its bag (recorded with the object).
    pub bag: BagId,
    /// Declared size: never more bytes than this are accepted.
    pub size: u64,
    /// Declared content id, as text: the bytes must hash to it before they are published.
    pub content_id: String,
    /// Where to fetch from, best first.
    pub sources: Vec<Source>,
    /// Higher runs first.
    pub priority: u64,
}

/// A peer storage node to fetch from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Source {
    /// The operator's published endpoint, e.g. `https://storage.example/` (the Colossus API is
    /// under `api/v1/`).
    pub endpoint: String,
    /// Its addresses, resolved by the control plane (the data plane never blocks on DNS).
    pub addrs: Vec<std::net::SocketAddr>,
}

/// An object to drop from the store, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removal {
    /// The object.
    pub id: DataObjectId,
    /// Why it may go.
    pub reason: RemovalReason,
}

/// Why an object may be dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum RemovalReason {
    /// The object was deleted on chain (its bag still exists).
    ObjectDeleted,
    /// Its bag was deleted on chain.
    BagDeleted,
    /// Its bag is no longer assigned to this node's buckets, and enough other holders confirmed
    /// they have the object.
    Unassigned {
        /// The endpoints that answered `HEAD` with success.
        confirmed_by: Vec<String>,
    },
    /// Distributor: the cache policy let it go to stay within the budget.
    Evicted,
    /// Distributor: no bag of this node's buckets lists it any more.
    NotDistributed,
    /// The scrub found its bytes no longer match its content id: set aside, to be fetched
    /// again from the bag's other holders.
    Corrupt,
}

impl RemovalReason {
    /// A short label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            RemovalReason::ObjectDeleted => "object_deleted",
            RemovalReason::BagDeleted => "bag_deleted",
            RemovalReason::Unassigned { .. } => "unassigned",
            RemovalReason::Evicted => "evicted",
            RemovalReason::NotDistributed => "not_distributed",
            RemovalReason::Corrupt => "corrupt",
        }
    }
}

/// An object the store holds, with the bag it was stored for (unknown for objects imported from
/// a plain directory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldObject {
    /// The object.
    pub id: DataObjectId,
    /// Its bag when stored.
    pub bag: Option<BagId>,
}

/// How one attempt to fetch from a source failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptFailure {
    /// No connection, a reset, a timeout: the peer may be down.
    Unreachable,
    /// The peer answered 404: it does not have the object (yet).
    NotFound,
    /// The peer answered something we cannot use (a 5xx, a bad range, a body longer than the
    /// object).
    BadResponse,
    /// The bytes did not hash to the declared content id.
    Corrupt,
}

/// The replication and cleanup summary, computed by the control plane and shown on both the
/// operator API and the public `/api/v1/status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSummary {
    /// Accepted objects this node must hold and lacks.
    pub backlog_objects: u64,
    /// Their bytes.
    pub backlog_bytes: u64,
    /// Being fetched now.
    pub in_flight: u64,
    /// Waiting for a retry after failing from every source.
    pub failing: u64,
    /// Replication bytes per second over the last few seconds.
    pub bytes_per_sec: u64,
    /// Objects fetched since the control plane started.
    pub fetched: u64,
    /// Per peer.
    pub peers: Vec<PeerSummary>,
    /// Objects no longer assigned here that wait for other holders to confirm their copies.
    pub cleanup_waiting: u64,
    /// Objects removed since the control plane started.
    pub removed: u64,
    /// Confirmations needed before an unassigned object is dropped.
    pub min_replication: u32,
}

/// One peer, as replication sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerSummary {
    /// Its endpoint.
    pub endpoint: String,
    /// Mean probe latency, ms (`None`: never answered).
    pub latency_ms: Option<u64>,
    /// Objects fetched from it.
    pub fetched: u64,
    /// Failed attempts.
    pub failures: u64,
    /// The last failure.
    pub last_error: Option<String>,
}
