//! Replication: fetching objects this node must hold from the peer storage nodes that hold
//! them.
//!
//! The control plane decides what is missing and ranks the sources; it hands the data plane a
//! bounded window of [`FetchJob`]s. The [`scheduler`] (on the control executor) owns the
//! policy: which job runs next (priority), from which source (the first untried one whose
//! peer is below its connection limit), on which shard, when to retry (rounds over every
//! source, with exponential backoff between rounds), when to give up. Each shard's [`worker`]
//! owns the bytes: it runs one attempt at a time per job in the shard's replication task queue
//! (lower shares than serving, `sched.rs`), keeps an interrupted transfer's temp file and
//! digest so the next attempt resumes with `Range` from the same or another source, never
//! accepts more bytes than the declared size, verifies the content id before publishing, and
//! reports the outcome.
//!
//! ```text
//!  control plane ──Fetch/CancelFetch──▶ session ──▶ scheduler ──Order──▶ shard worker ──▶ peer
//!        ▲                                             ▲                    │ verify, publish
//!        └──────── Fetched / FetchAttemptFailed ───────┴──── AttemptResult ─┘
//! ```

pub mod client;
pub mod pool;
pub mod rate;
pub mod scheduler;
pub mod slice;
pub mod transfer;
pub mod worker;

use hecaton_shared::socket::{AttemptFailure, FetchJob, Source};
use hecaton_shared::DataObjectId;

pub use client::PeerLimits;
pub use scheduler::FetchLimits;

/// How replication runs on this data plane.
#[derive(Debug, Clone, Copy)]
pub struct ReplicationConfig {
    /// Concurrency and retries.
    pub limits: FetchLimits,
    /// Node-wide bandwidth cap, bytes per second (0: none); each shard gets an equal part.
    pub bytes_per_sec: u64,
    /// Shares of each shard's replication task queue (serving has 1000).
    pub shares: usize,
    /// How peers are held: timeouts, minimum rate, address policy.
    pub peer_limits: PeerLimits,
}

impl Default for ReplicationConfig {
    fn default() -> Self {
        Self {
            limits: FetchLimits::default(),
            bytes_per_sec: 0,
            shares: crate::sched::REPLICATION_SHARES,
            peer_limits: PeerLimits::default(),
        }
    }
}

/// What the scheduler asks a shard to do.
#[derive(Debug)]
pub enum Order {
    /// Run one attempt of `job` from `source`, resuming what earlier attempts kept.
    Attempt {
        /// The job.
        job: FetchJob,
        /// Where from.
        source: Source,
    },
    /// Drop the job's partial bytes (stopping its running attempt, if any).
    Discard {
        /// The object.
        id: DataObjectId,
    },
}

/// How one attempt ended, as a shard tells the scheduler.
#[derive(Debug)]
pub struct AttemptResult {
    /// The object.
    pub id: DataObjectId,
    /// The source's endpoint.
    pub source: String,
    /// Bytes held when the attempt started.
    pub offset: u64,
    /// Bytes this attempt received and kept.
    pub received: u64,
    /// The outcome.
    pub outcome: Outcome,
}

/// The outcome of an attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Verified and published.
    Published,
    /// The store has the object already (an upload won): nothing more to do.
    AlreadyStored,
    /// This source failed; the bytes received so far are kept for the next attempt.
    Failed(AttemptFailure, String),
    /// The whole object was received and did not match its content id; the bytes are dropped
    /// and every source that contributed to them is to blame.
    Corrupt {
        /// The sources whose bytes made up the object.
        blamed: Vec<String>,
    },
    /// Discarded on the scheduler's order.
    Cancelled,
    /// The job cannot succeed here (a disk error, a declared content id that is not one).
    Fatal(String),
}
