//! Defaults both planes read: the data plane's flags, and the control plane's configuration,
//! which passes them to the data plane it starts as those flags. Each is defined here once, with
//! its unit and reason.

/// io_uring memory each data plane executor registers, in MiB: glommio's own default. The data
/// plane reduces it to fit `RLIMIT_MEMLOCK`, with a warning.
pub const IO_MEMORY_MIB: usize = 10;

/// Upload memory per shard, in MiB: each upload reserves its buffers from it (1.75 MiB each)
/// before its body is read, so 64 MiB holds 36 uploads in flight per shard; more are answered
/// 503 with `Retry-After`.
pub const UPLOAD_MEMORY_MIB: u16 = 64;

/// Replication: fetch attempts running at once, node-wide.
pub const FETCH_CONCURRENCY: u16 = 16;

/// Replication: fetch attempts running at once against one peer: a quarter of
/// [`FETCH_CONCURRENCY`], so a backlog is spread over at least four peers.
pub const FETCH_PER_PEER: u16 = 4;

/// Shares of a shard's replication task queue against serving's 1000 (glommio's default): under
/// load replication gets a tenth of the core, and all of it when nothing is served.
pub const REPLICATION_SHARES: usize = 100;
