//! The messages of the local socket. Placement is what a data plane must know to accept uploads:
//! this node's buckets and, per bag they store, the bag's objects as the chain declares them and
//! the other holders. Replication and cleanup work (`sync.rs`) travels beside it.

use serde::{Deserialize, Serialize};

use super::sync::{AttemptFailure, FetchJob, HeldObject, Removal, Source, SyncSummary};
use crate::{BagId, DataObjectId, DistributionBucketId, IdSet, StorageBucketId};

/// The protocol version both sides state in the handshake; a mismatch ends the session.
/// Version 4: [`ToDataPlane`] is tagged by its variant's name as the key of a one-entry object
/// (`{"hello": {...}}`: serde's internally tagged form buffers a whole message before decoding
/// it) and an [`ObjectPlacement`] is a 4-element array, so a snapshot of ten million objects
/// is a third smaller and decodes faster. A version 3 hello (`{"type": "hello", ...}`) is still
/// read, to refuse it by its version.
pub const PROTOCOL_VERSION: u32 = 4;

/// The version a hello states, in this version's shape or version 3's: what the data plane
/// reads first, so that a peer of another version is refused by name.
pub fn hello_version(frame: &serde_json::Value) -> Option<u64> {
    frame
        .get("hello")
        .unwrap_or(frame)
        .get("version")
        .and_then(|v| v.as_u64())
}

/// What a node does; the control plane and data plane of one node must agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A storage node (Colossus API).
    Storage,
    /// A distributor (Argus API).
    Distributor,
}

/// Control plane → data plane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToDataPlane {
    /// First message of a session.
    Hello {
        /// [`PROTOCOL_VERSION`] of the sender.
        version: u32,
        /// The node's role.
        role: Role,
    },
    /// A full placement follows, as of `block`; it replaces the current one at
    /// [`ToDataPlane::SnapshotEnd`].
    SnapshotBegin {
        /// Chain block the snapshot reflects.
        block: u64,
        /// Node-wide values.
        globals: Globals,
        /// Distributor: the id of every data object on chain (to answer 404 for objects that do
        /// not exist and 421 for those that are not this node's).
        #[serde(default)]
        existing: Option<IdSet>,
    },
    /// Some bags of the snapshot (a snapshot is sent in parts of bounded size).
    SnapshotBags {
        /// Chain block of the snapshot.
        block: u64,
        /// The bags.
        bags: Vec<BagPlacement>,
    },
    /// The snapshot is complete; the data plane swaps it in and answers
    /// [`FromDataPlane::Applied`].
    SnapshotEnd {
        /// Chain block of the snapshot.
        block: u64,
    },
    /// Changes that bring placement to `block`; ignored unless `block` is newer than what the
    /// data plane applied.
    Delta {
        /// Chain block the placement reflects after these changes.
        block: u64,
        /// The changes, applied in order.
        changes: Vec<Change>,
    },
    /// Objects to fetch from peers (added to the data plane's queue; a job for an object already
    /// queued or running replaces its sources and priority).
    Fetch {
        /// The work.
        jobs: Vec<FetchJob>,
    },
    /// Fetches no longer wanted (the object left placement): dropped from the queue, stopped
    /// if running, their partial bytes discarded.
    CancelFetch {
        /// The objects.
        ids: Vec<DataObjectId>,
    },
    /// Objects to drop from the store.
    Remove {
        /// What and why.
        removals: Vec<Removal>,
    },
    /// The replication and cleanup summary, for the public status page.
    Summary(SyncSummary),
    /// Distributor: every storage node it may fetch from, best first, with their addresses.
    Sources {
        /// The sources.
        sources: Vec<Source>,
    },
    /// Distributor: open or close the public API (the operator's stop-api / start-api).
    PublicApi {
        /// Whether it serves.
        enabled: bool,
    },
}

/// Node-wide placement values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Globals {
    /// Buckets this node serves and accepts uploads into: operated by its worker, active.
    pub buckets: Vec<StorageBucketId>,
    /// Buckets of this node that do not accept uploads now (status off, or not yet operated).
    pub read_only_buckets: Vec<StorageBucketId>,
    /// Buckets its worker operates whose transactor key this node does not hold: their bags
    /// are kept and served, but uploads into them are refused (503), as Colossus does for a
    /// bucket that is not among its upload buckets.
    #[serde(default)]
    pub unkeyed_buckets: Vec<StorageBucketId>,
    /// The chain's global upload switch (`UploadingBlocked`).
    pub uploading_blocked: bool,
    /// Blacklisted content ids, as text.
    pub blacklist: Vec<String>,
    /// Distributor: the distribution buckets this node serves.
    #[serde(default)]
    pub distribution_buckets: Vec<DistributionBucketId>,
    /// Distributor: what its public status and bucket list say about it.
    #[serde(default)]
    pub distributor: Option<DistributorInfo>,
}

impl Globals {
    /// The buckets whose bags this node keeps: operated ones, with or without their key.
    pub fn kept_buckets(&self) -> impl Iterator<Item = &StorageBucketId> {
        self.buckets.iter().chain(&self.unkeyed_buckets)
    }
}

/// How a distributor describes itself (Argus's `/status` and `/buckets`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistributorInfo {
    /// The node id of its configuration.
    pub id: String,
    /// Its distribution working group worker, if configured.
    pub worker_id: Option<u64>,
    /// Its buckets when configured by id (`None`: every bucket the worker operates).
    pub configured_buckets: Option<Vec<DistributionBucketId>>,
}

/// A bag one of this node's buckets stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BagPlacement {
    /// The bag.
    pub bag: BagId,
    /// This node's buckets that store it.
    pub buckets: Vec<StorageBucketId>,
    /// Endpoints of the other storage buckets that store it (replication sources).
    pub peers: Vec<String>,
    /// Its objects.
    pub objects: Vec<ObjectPlacement>,
}

/// A data object as the chain declares it; on the socket `[id, size, "content id", accepted]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    from = "(DataObjectId, u64, String, bool)",
    into = "(DataObjectId, u64, String, bool)"
)]
pub struct ObjectPlacement {
    /// Object id.
    pub id: DataObjectId,
    /// Declared size in bytes.
    pub size: u64,
    /// Declared content id, the chain's `ipfs_content_id` bytes as text (an upload must hash to
    /// exactly this).
    pub content_id: String,
    /// Whether a storage provider accepted it on chain.
    pub accepted: bool,
}

impl From<(DataObjectId, u64, String, bool)> for ObjectPlacement {
    fn from((id, size, content_id, accepted): (DataObjectId, u64, String, bool)) -> Self {
        ObjectPlacement {
            id,
            size,
            content_id,
            accepted,
        }
    }
}

impl From<ObjectPlacement> for (DataObjectId, u64, String, bool) {
    fn from(o: ObjectPlacement) -> Self {
        (o.id, o.size, o.content_id, o.accepted)
    }
}

/// One change of placement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// Node-wide values replaced.
    Globals(Globals),
    /// A bag added or its buckets/peers changed (its objects are unchanged unless listed).
    Bag {
        /// The bag.
        bag: BagId,
        /// This node's buckets storing it.
        buckets: Vec<StorageBucketId>,
        /// Other holders' endpoints.
        peers: Vec<String>,
    },
    /// A bag no longer stored here (unassigned or deleted), with its objects.
    BagRemoved {
        /// The bag.
        bag: BagId,
    },
    /// Objects added to a bag or changed (accepted).
    Objects {
        /// The bag.
        bag: BagId,
        /// The objects.
        objects: Vec<ObjectPlacement>,
    },
    /// Objects no longer in a bag (deleted or moved away).
    ObjectsRemoved {
        /// The bag.
        bag: BagId,
        /// Their ids.
        ids: Vec<DataObjectId>,
    },
    /// Distributor: objects created and deleted on chain (the set of existing ids).
    Existing {
        /// Created.
        added: Vec<DataObjectId>,
        /// Deleted.
        removed: Vec<DataObjectId>,
    },
}

/// Data plane → control plane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromDataPlane {
    /// Answer to [`ToDataPlane::Hello`].
    Welcome {
        /// [`PROTOCOL_VERSION`] of the data plane.
        version: u32,
        /// Its role.
        role: Role,
        /// The newest placement block it applied (from an earlier session), if any.
        applied_block: Option<u64>,
        /// Shards serving.
        shards: usize,
    },
    /// The session is refused (version or role mismatch, another session active); the data
    /// plane closes after sending this.
    Refused {
        /// Why.
        reason: String,
    },
    /// Placement as of `block` is applied.
    Applied {
        /// The block.
        block: u64,
    },
    /// Something the control plane should know.
    Report(Report),
}

/// An object the store published, with what the data plane knew of where it belongs: an
/// upload names its bucket and bag, a replica its bag. The acceptor signs for that bucket and
/// bag at once instead of waiting until the chain's view lists the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredObject {
    /// The object.
    pub id: DataObjectId,
    /// Its bag, if known.
    #[serde(default)]
    pub bag: Option<BagId>,
    /// The bucket it was uploaded into, for an upload whose request named it.
    #[serde(default)]
    pub bucket: Option<StorageBucketId>,
}

/// Reports from the data plane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "report", rename_all = "snake_case")]
pub enum Report {
    /// These objects are verified and published in the store (an upload finished, or, after a
    /// snapshot, placement objects the store already holds). The control plane accepts the
    /// pending ones on chain.
    Stored {
        /// The objects, with where they belong as far as the data plane knew.
        objects: Vec<StoredObject>,
    },
    /// Store totals.
    Usage {
        /// Objects published.
        objects: u64,
        /// Their bytes.
        bytes: u64,
    },
    /// Part of the store's inventory, sent after each snapshot: every object held, with its
    /// bag. `last` closes it; the control plane then knows exactly what is local.
    Inventory {
        /// Objects held.
        objects: Vec<HeldObject>,
        /// Whether this is the last part.
        last: bool,
    },
    /// An attempt to fetch an object from a source started.
    FetchStarted {
        /// The object.
        id: DataObjectId,
        /// The source's endpoint.
        source: String,
        /// Bytes already held from earlier attempts (a resume with `Range`).
        offset: u64,
    },
    /// An attempt failed; the data plane goes on with the next source or a retry.
    FetchAttemptFailed {
        /// The object.
        id: DataObjectId,
        /// The source's endpoint.
        source: String,
        /// What went wrong, for ranking the source.
        failure: AttemptFailure,
        /// The details.
        reason: String,
    },
    /// The object was fetched, verified and published.
    Fetched {
        /// The object.
        id: DataObjectId,
        /// The source that sent the last bytes.
        source: String,
        /// Bytes transferred for it, all attempts together.
        bytes: u64,
        /// Where the last attempt started (above 0: it resumed a cut transfer).
        resumed_from: u64,
        /// Milliseconds from the first attempt to publication.
        millis: u64,
    },
    /// Every source failed, retries included; the control plane may hand the job out again
    /// later.
    FetchFailed {
        /// The object.
        id: DataObjectId,
        /// The last failure.
        reason: String,
    },
    /// Objects removed from the store (their records are durable; files are unlinked).
    Removed {
        /// The objects.
        ids: Vec<DataObjectId>,
    },
    /// Serving counters since the data plane started (sent every few seconds).
    Metrics(Box<DataPlaneMetrics>),
}

/// Upper bounds of the request latency buckets, in microseconds (a last, unbounded bucket
/// follows).
pub const LATENCY_BUCKETS_US: [u64; 12] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
];

/// The data plane's counters, summed over its shards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataPlaneMetrics {
    /// Per route.
    pub routes: Vec<RouteMetrics>,
    /// Request bytes received (heads and bodies).
    pub bytes_in: u64,
    /// Response bytes sent (heads and bodies).
    pub bytes_out: u64,
    /// Uploads by outcome (`stored`, `refused`, `aborted`, `failed`).
    pub uploads: Vec<(String, u64)>,
    /// Connections open now.
    pub connections: u64,
    /// Bytes received from peers by replication.
    #[serde(default)]
    pub fetch_bytes: u64,
    /// Objects removed, by reason label.
    #[serde(default)]
    pub removals: Vec<(String, u64)>,
    /// Distributor: the cache's counters.
    #[serde(default)]
    pub cache: CacheCounters,
    /// Panics caught, by unit of work (`connection`, `fill`, `fetch`): each closed its unit
    /// and left the shard running.
    #[serde(default)]
    pub panics: Vec<(String, u64)>,
    /// TLS handshakes on the public listener that failed (a client that does not trust the
    /// certificate, or speaks plain HTTP to the TLS port).
    #[serde(default)]
    pub tls_handshake_failures: u64,
    /// Response body bytes that were not in the page cache when sent: read from the disk by
    /// io_uring rather than by `sendfile` (the share of reads the page cache does not hold).
    #[serde(default)]
    pub uncached_body_bytes: u64,
    /// The scrub's progress and findings.
    #[serde(default)]
    pub scrub: ScrubCounters,
}

/// The scrub (a storage node re-reading its objects against their content ids), since the
/// data plane started unless said otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScrubCounters {
    /// Whether the scrub runs (a rate is set).
    pub enabled: bool,
    /// Passes over the whole store finished (counted across restarts).
    pub passes: u64,
    /// Objects the current pass has checked so far (across restarts).
    pub pass_checked: u64,
    /// Objects in the store when the current pass started.
    pub pass_total: u64,
    /// When the last pass finished, Unix seconds (0: none yet).
    pub last_pass_end: u64,
    /// Objects checked.
    pub checked: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Objects found not to match their content id (set aside and removed).
    pub corrupt: u64,
    /// Of those, published again since (fetched from a peer).
    pub repaired: u64,
    /// Outboards the scrub wrote for objects that had none.
    pub outboards_written: u64,
}

/// A distributor's cache counters, since the data plane started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheCounters {
    /// Requests served from the cache (`x-cache: hit`).
    pub hits: u64,
    /// Requests that started a fill (`x-cache: miss`).
    pub misses: u64,
    /// Requests that joined a running fill (`x-cache: pending`).
    pub pending: u64,
    /// Requests proxied to a storage node (too large to cache, or a range ahead of the fill).
    pub proxied: u64,
    /// Response body bytes from verified cache entries.
    pub bytes_hit: u64,
    /// Response body bytes from fills in progress.
    pub bytes_pending: u64,
    /// Response body bytes proxied from storage nodes.
    pub bytes_proxied: u64,
    /// Fills started (origin fetches).
    pub fills: u64,
    /// Fills verified and stored.
    pub fills_stored: u64,
    /// Fills that failed.
    pub fills_failed: u64,
    /// Bytes fetched by fills from storage nodes.
    pub fill_bytes: u64,
}

/// One route's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteMetrics {
    /// The route's name.
    pub route: String,
    /// Responses by status class: 1xx/2xx, 3xx, 4xx, 5xx.
    pub responses: [u64; 4],
    /// Requests per latency bucket ([`LATENCY_BUCKETS_US`], then the overflow), not cumulative.
    pub latency: Vec<u64>,
    /// Sum of latencies, microseconds.
    pub latency_sum_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::frame::{encode, FrameDecoder};
    use crate::socket::sync::{RemovalReason, Source};

    #[test]
    fn every_control_message_round_trips() {
        let bag: BagId = "dynamic:channel:7".parse().unwrap();
        let object = ObjectPlacement {
            id: DataObjectId(5),
            size: 10,
            content_id: "gW9T5gSXhgQB5LaqmnJrLVVpHawhM7youzHnuY6HyGBDy3".into(),
            accepted: false,
        };
        let globals = Globals {
            buckets: vec![StorageBucketId(0)],
            read_only_buckets: vec![StorageBucketId(3)],
            uploading_blocked: true,
            blacklist: vec!["x".into()],
            ..Globals::default()
        };
        let messages = vec![
            ToDataPlane::Hello {
                version: PROTOCOL_VERSION,
                role: Role::Storage,
            },
            ToDataPlane::SnapshotBegin {
                block: 3,
                globals: globals.clone(),
                existing: Some([DataObjectId(5)].into_iter().collect()),
            },
            ToDataPlane::SnapshotBags {
                block: 3,
                bags: vec![BagPlacement {
                    bag,
                    buckets: vec![StorageBucketId(0)],
                    peers: vec!["http://127.0.0.1:3334/".into()],
                    objects: vec![object.clone()],
                }],
            },
            ToDataPlane::SnapshotEnd { block: 3 },
            ToDataPlane::Delta {
                block: 4,
                changes: vec![
                    Change::Globals(globals),
                    Change::Bag {
                        bag,
                        buckets: vec![],
                        peers: vec![],
                    },
                    Change::Objects {
                        bag,
                        objects: vec![object],
                    },
                    Change::ObjectsRemoved {
                        bag,
                        ids: vec![DataObjectId(5)],
                    },
                    Change::BagRemoved { bag },
                    Change::Existing {
                        added: vec![DataObjectId(6)],
                        removed: vec![DataObjectId(5)],
                    },
                ],
            },
            ToDataPlane::Sources {
                sources: vec![Source {
                    endpoint: "http://s/".into(),
                    addrs: vec![],
                }],
            },
            ToDataPlane::PublicApi { enabled: false },
            ToDataPlane::Fetch {
                jobs: vec![FetchJob {
                    id: DataObjectId(5),
                    bag,
                    size: 10,
                    content_id: "gW9T5gSXhgQB5LaqmnJrLVVpHawhM7youzHnuY6HyGBDy3".into(),
                    sources: vec![Source {
                        endpoint: "http://127.0.0.1:3334/".into(),
                        addrs: vec!["127.0.0.1:3334".parse().unwrap()],
                    }],
                    priority: 5,
                }],
            },
            ToDataPlane::CancelFetch {
                ids: vec![DataObjectId(5)],
            },
            ToDataPlane::Remove {
                removals: vec![
                    Removal {
                        id: DataObjectId(5),
                        reason: RemovalReason::Unassigned {
                            confirmed_by: vec!["http://a/".into()],
                        },
                    },
                    Removal {
                        id: DataObjectId(6),
                        reason: RemovalReason::BagDeleted,
                    },
                ],
            },
            ToDataPlane::Summary(SyncSummary {
                backlog_objects: 3,
                ..SyncSummary::default()
            }),
        ];
        let mut bytes = Vec::new();
        for m in &messages {
            encode(m, &mut bytes);
        }
        let mut d = FrameDecoder::new();
        d.extend(&bytes);
        for m in &messages {
            assert_eq!(d.decode::<ToDataPlane>().unwrap().as_ref(), Some(m));
        }
        assert_eq!(d.decode::<ToDataPlane>().unwrap(), None);
    }

    #[test]
    fn every_report_round_trips() {
        let bag: BagId = "static:council".parse().unwrap();
        let reports = vec![
            Report::Inventory {
                objects: vec![
                    HeldObject {
                        id: DataObjectId(1),
                        bag: Some(bag),
                    },
                    HeldObject {
                        id: DataObjectId(2),
                        bag: None,
                    },
                ],
                last: true,
            },
            Report::FetchStarted {
                id: DataObjectId(1),
                source: "http://a/".into(),
                offset: 7,
            },
            Report::FetchAttemptFailed {
                id: DataObjectId(1),
                source: "http://a/".into(),
                failure: AttemptFailure::Corrupt,
                reason: "content id mismatch".into(),
            },
            Report::Fetched {
                id: DataObjectId(1),
                source: "http://b/".into(),
                bytes: 10,
                resumed_from: 3,
                millis: 4,
            },
            Report::FetchFailed {
                id: DataObjectId(1),
                reason: "x".into(),
            },
            Report::Removed {
                ids: vec![DataObjectId(1)],
            },
        ];
        let mut bytes = Vec::new();
        for r in &reports {
            encode(&FromDataPlane::Report(r.clone()), &mut bytes);
        }
        let mut d = FrameDecoder::new();
        d.extend(&bytes);
        for r in reports {
            assert_eq!(
                d.decode::<FromDataPlane>().unwrap(),
                Some(FromDataPlane::Report(r))
            );
        }
    }
}
