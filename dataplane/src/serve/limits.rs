//! The bounds every connection is held to.

use std::time::Duration;

use crate::http::request::HeadLimits;

/// The default of [`Limits::notsent_lowat`]: see BENCHMARKS.md ("The 64 MiB tail").
pub const DEFAULT_NOTSENT_LOWAT: u32 = 128 * 1024;

/// Per-connection and per-shard limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Request head and URI caps (431 / 414).
    pub head: HeadLimits,
    /// How long a keep-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long a client may take to send a whole request head once it started (408 after).
    pub header_timeout: Duration,
    /// How long a send may wait for the client to read (the connection is dropped after).
    pub send_timeout: Duration,
    /// Bytes of a response the kernel may hold unsent (beyond what the client's window takes)
    /// per connection (`TCP_NOTSENT_LOWAT`); 0 leaves the kernel's default (up to the whole
    /// send buffer, 4 MiB on Linux). See [`prepare`](super::connection).
    pub notsent_lowat: u32,
    /// Connections one shard serves at once; more are answered 503 and closed.
    pub max_connections_per_shard: usize,
    /// Open object files one shard keeps.
    pub open_files_per_shard: usize,
    /// Upload memory per shard: each upload reserves its buffers from it before reading its
    /// body; uploads beyond it are answered 503 with `Retry-After`.
    pub upload_memory_per_shard: usize,
    /// How long an upload body may go without a byte arriving before it is abandoned.
    pub upload_idle_timeout: Duration,
    /// The slowest an upload body may arrive, in bytes per second, averaged from its start
    /// after [`Limits::min_upload_grace`]; slower bodies are cut (408), so a trickle cannot hold
    /// an object's temp file and the shard's upload memory for hours (issue 14, defect 9).
    pub min_upload_rate: u64,
    /// Time an upload body is given before its rate counts.
    pub min_upload_grace: Duration,
    /// How long a resumable upload lives after its creation (tus `Upload-Expires`).
    pub tus_expiry: Duration,
    /// How long an upload for an object this node does not know yet waits for the block that
    /// registers it (see `upload/checks.rs`, [`check_settled`](crate::serve::upload)).
    pub upload_placement_wait: Duration,
    /// How long a drain waits for in-flight responses before giving up on them.
    pub drain_timeout: Duration,
    /// Distributor: the cache's byte budget (for `/status`).
    pub cache_capacity: u64,
    /// Distributor: objects larger than this are proxied, never cached.
    pub max_cached_item: Option<u64>,
    /// Distributor: cache fills running at once, node-wide; misses beyond get 503 with
    /// `Retry-After`.
    pub max_fills: usize,
    /// Proofs one shard answers at once; more get 503 with `Retry-After`. Each reads an
    /// object's tree (a small object's is rebuilt from its bytes: up to 1 MiB read and hashed
    /// for a 16 KiB answer).
    pub max_proofs_per_shard: usize,
    /// Verified slices one shard sends at once; more get 503 with `Retry-After`. Each holds two
    /// files and up to 600 KiB of buffers for as long as its client reads. Apart from proofs,
    /// so that slow slice readers cannot keep an auditor's proofs waiting.
    pub max_slices_per_shard: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            head: HeadLimits::default(),
            idle_timeout: Duration::from_secs(60),
            header_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(60),
            notsent_lowat: DEFAULT_NOTSENT_LOWAT,
            max_connections_per_shard: 4096,
            open_files_per_shard: 4096,
            drain_timeout: Duration::from_secs(30),
            upload_memory_per_shard: (hecaton_shared::defaults::UPLOAD_MEMORY_MIB as usize) << 20,
            upload_idle_timeout: Duration::from_secs(60),
            // 1 KiB/s is a 2G mobile link; a real uploader is far above it, a trickle far below.
            min_upload_rate: 1024,
            // Covers a TCP slow start over a long, lossy path and a client's first disk read.
            min_upload_grace: Duration::from_secs(10),
            // tus servers' customary day: time to resume after a night offline.
            tus_expiry: Duration::from_secs(24 * 3600),
            // Two Joystream blocks: Atlas uploads once the registering block is finalized,
            // and a node that follows finalized blocks applies it within one.
            upload_placement_wait: Duration::from_secs(12),
            cache_capacity: 0,
            max_cached_item: None,
            // Each fill is one origin fetch that outlives its viewer; 64 keeps a 1 Gbit/s
            // uplink busy with 2 MiB/s fetches while bounding what strangers can start.
            max_fills: 64,
            // Auditors ask a few a second; 32 keeps a shard's disk and a core busy with them
            // (about 0.3 ms of CPU per small object's proof) while bounding what strangers ask.
            max_proofs_per_shard: 32,
            // Peers replicating and distributors filling: a few at a time each.
            max_slices_per_shard: 32,
        }
    }
}
