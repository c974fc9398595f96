//! `hecaton storage-node --config FILE`: the TOML configuration. Every field is documented
//! (`EXAMPLE` is the annotated reference, also printed by `--print-example-config`), units are in
//! the names, unknown keys are rejected, values are validated, and any top-level field can be
//! overridden by an environment variable `HECATON_<FIELD>` (for example `HECATON_WORKER_ID=3`)
//! and nested ones by `HECATON_<TABLE>_<FIELD>` (`HECATON_ACCEPT_BATCH_SIZE=50`).

use std::net::SocketAddr;
use std::path::PathBuf;

use hecaton_shared::defaults;
use serde::Deserialize;

use super::sync::backlog::SyncOrder;
use crate::account::AccountId;
use crate::chain::ChainKind;
pub use crate::node::config::ConfigError;
use crate::node::config::{JoystreamSection, Keys, NodeConfig};

/// The annotated example configuration.
pub const EXAMPLE: &str = r#"# hecaton storage-node configuration. Units are in the names; unknown keys are errors.

# The storage working group worker id this node runs as.
worker_id = 1
# Buckets to serve: "all" (every bucket the worker operates) or a list of ids, e.g. [0, 3].
buckets = "all"
# The chain: "embedded" (`hecaton chain` on this machine), the http:// URL of a `hecaton chain`,
# or the wss:// URL of a Joystream node (then see [joystream] for the transactor's key).
chain = "http://127.0.0.1:9955"
# The account that signs accept_pending_data_objects: the buckets' transactor. SS58, 0x-hex or
# a //Name development URI. Against a Joystream node it may be left out: each bucket's
# acceptances are signed by the key of its own transactor, and a bucket whose transactor key is
# not among [joystream]'s keys takes no uploads (503, as Colossus) but is still kept in sync.
transactor = "//StorageTransactor0"
# Where objects are stored.
store_dir = "/var/lib/hecaton/store"
# The public Colossus-compatible API (what the bucket's metadata endpoint points at).
public_listen = "0.0.0.0:3333"
# The operator API (status, Prometheus metrics). Keep it on loopback.
operator_listen = "127.0.0.1:3339"
# Data plane shards (one executor each); 0 means one per online CPU.
shards = 0
# /readyz answers 503 when the node is more than this many blocks behind the chain's finalized
# head, or its data plane behind the node (a block is 6 s on Joystream).
ready_max_lag_blocks = 10

[dataplane]
# "supervise": start the data plane and restart it if it dies. "attach": connect to one that
# runs on its own (started with the same store and socket).
mode = "supervise"
# The local socket; empty means control.sock in store_dir.
socket = ""
# The data plane program; empty means this program's own `dataplane` command.
program = ""
# io_uring memory per shard, in MiB.
io_memory_mib = 10
# Upload memory per shard, in MiB (each upload reserves 1.75 MiB of buffers before its body is
# read; more uploads than fit are answered 503 with Retry-After). At least 2.
upload_memory_mib = 64
# Fetch from loopback and private peer addresses (a test network or a LAN; never on a public
# node, where a chain-published endpoint could reach the operator's own network).
allow_private_peers = false
# Pin each shard to a CPU of its own: for a host whose CPUs are the data plane's alone. Off, the
# kernel places them, which serves better beside other work (the control plane, a chain node).
pin_shards = false
# The data plane's limits (`hecaton dataplane serve --help` has each one's default); unset
# ones keep the defaults. For example:
# disk_reserve_mib = 1024           # free space never written into; uploads get 507 first
# min_upload_bytes_per_sec = 1024   # slower upload bodies are cut (408)
# tus_expiry_secs = 86400           # resumable uploads live this long after their creation
# upload_placement_wait_ms = 12000  # an upload for an object not placed yet waits this long for
#                                   # the block that registers it (then 400, as Colossus)
# fetch_min_bytes_per_sec = 65536   # slower peers are cut and the next one tried
# access_log = "/var/log/hecaton/access.log"   # one line per request; off when empty
# access_log_max_mib = 100, access_log_keep = 5  # rotation by size
# tls_cert = "/etc/hecaton/tls/fullchain.pem"  # serve https on public_listen (with tls_key);
# tls_key = "/etc/hecaton/tls/privkey.pem"     # reloaded on SIGHUP and when the files change
# tls_check_secs = 60                          # between checks of the files for a renewal
# tls_ca_file = ""                  # CA certificates trusted for peers besides the bundled roots
# peer_idle_connections = 4, peer_keep_alive_ms = 4000  # kept-alive connections to peers
# scrub_mib_per_sec = 16            # re-reads stored objects against their content ids (0: off)
# scrub_pass_hours = 168            # from the start of one pass over the store to the next
# max_proofs_per_shard = 32, max_slices_per_shard = 32  # answered at once per shard (503 beyond)
# idle_timeout_secs = 60, header_timeout_ms = 10000, send_timeout_secs = 60,
# max_connections_per_shard = 4096, fetch_max_secs = 3600, sweep_interval_secs = 600
# tcp_notsent_lowat_kib = 128       # response bytes the kernel holds unsent per connection

[joystream]
# Only with chain = "wss://...". The transactor's key: a key file (a polkadot-js / Joystream CLI
# JSON export, or a text file holding a SURI or mnemonic) ...
key_file = ""
# ... and the JSON file's password (better: HECATON_JOYSTREAM_KEY_PASSWORD), or a SURI or
# mnemonic (better: HECATON_JOYSTREAM_SURI). Never logged.
key_password = ""
suri = ""
# One node, many buckets: more keys, one per bucket transactor (Colossus's repeated --keyFile
# and --accountUri, and --keyStore, a directory of JSON key files; the password is tried on
# every file). Better through the environment for the SURIs: HECATON_JOYSTREAM_SURIS.
key_files = []
key_store = ""
suris = []
# The chain keeps operator metadata only in events, so the node learns peers' endpoints as
# their operators publish them, and keeps what it learned in directory_file (empty:
# operators.json in store_dir). Endpoints listed here are used meanwhile and take precedence.
directory_file = ""
endpoints = {}
# endpoints = { "3" = "https://storage-3.example.com/" }

[accept]
# Time between acceptance passes, in milliseconds.
interval_ms = 2000
# Most objects in one accept_pending_data_objects call.
batch_size = 20
# Longest wait before retrying a failed call, in seconds.
max_backoff_secs = 60

[sync]
# Full re-read of the chain state, in seconds (events keep it current in between).
reconcile_interval_secs = 600
# Replication: which missing objects go first, "newest_first" (latest uploads) or "oldest_first".
order = "newest_first"
# Fetch jobs handed to the data plane at a time (the backlog beyond waits here).
window = 64
# Fetch attempts running at once, node-wide, and against one peer.
concurrency = 16
per_peer = 4
# Replication bandwidth cap, MiB/s (0: none).
max_mib_per_sec = 0
# Wait before an object that failed from every source is tried again, in seconds (doubling up
# to retry_max_secs).
retry_secs = 30
retry_max_secs = 1800
# Between latency probes of each peer (GET api/v1/version), in seconds.
probe_interval_secs = 30
# Shares of the data plane's replication task queue on each core (serving has 1000).
replication_shares = 100

[cleanup]
# Remove objects this node no longer has to hold (deleted on chain, or unassigned and
# confirmed by other holders).
enabled = true
# Other holders that must confirm (HEAD) an unassigned object before it is removed (Colossus's
# CLEANUP_MIN_REPLICATION_THRESHOLD; 0 removes without asking).
min_replication = 2
# Wait before an object that lacked confirmations is checked again, in seconds.
recheck_secs = 60
# Timeout of one confirmation request, in seconds.
head_timeout_secs = 10
"#;

/// Which buckets to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Buckets {
    /// Every bucket the worker operates.
    All,
    /// These.
    Only(Vec<u64>),
}

impl<'de> Deserialize<'de> for Buckets {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            List(Vec<u64>),
        }
        match Raw::deserialize(d)? {
            Raw::Word(w) if w == "all" => Ok(Buckets::All),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "buckets must be \"all\" or a list of bucket ids, not {w:?}"
            ))),
            Raw::List(ids) => Ok(Buckets::Only(ids)),
        }
    }
}

/// How the data plane runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataPlaneMode {
    /// Started and restarted by this process.
    Supervise,
    /// Runs on its own; this process connects to its socket.
    Attach,
}

/// `[dataplane]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataPlaneConfig {
    /// Supervise or attach.
    #[serde(default = "default_mode")]
    pub mode: DataPlaneMode,
    /// The local socket ("" → `store_dir/control.sock`).
    #[serde(default)]
    pub socket: String,
    /// The data plane program ("" → this program's `dataplane` command).
    #[serde(default)]
    pub program: String,
    /// io_uring memory per shard, MiB.
    #[serde(default = "default_io_memory")]
    pub io_memory_mib: usize,
    /// Upload memory per shard, MiB.
    #[serde(default = "default_upload_memory")]
    pub upload_memory_mib: usize,
    /// Fetch from loopback, private, link-local, CGNAT and multicast peer addresses (both
    /// planes): for a test network or a LAN, never on a public node.
    #[serde(default)]
    pub allow_private_peers: bool,
    /// Pin each shard to a CPU of its own (`--pin-shards`).
    #[serde(default)]
    pub pin_shards: bool,
    // The data plane's limits (units in the names; `hecaton dataplane serve --help` documents
    // each and its default): unset ones keep the data plane's defaults, set ones are passed
    // as its `--flag`s.
    /// Keep-alive wait for the next request, s.
    #[serde(default)]
    pub idle_timeout_secs: Option<u64>,
    /// Time to send a request head, ms (408 after).
    #[serde(default)]
    pub header_timeout_ms: Option<u64>,
    /// Time a response may wait for the client to read, s.
    #[serde(default)]
    pub send_timeout_secs: Option<u64>,
    /// Response bytes the kernel may hold unsent per connection, KiB (0: the kernel's default).
    #[serde(default)]
    pub tcp_notsent_lowat_kib: Option<u64>,
    /// Connections per shard (503 beyond).
    #[serde(default)]
    pub max_connections_per_shard: Option<u64>,
    /// Drain wait at SIGTERM, s.
    #[serde(default)]
    pub drain_timeout_secs: Option<u64>,
    /// Slowest upload body, B/s.
    #[serde(default)]
    pub min_upload_bytes_per_sec: Option<u64>,
    /// Grace before the upload rate counts, s.
    #[serde(default)]
    pub min_upload_grace_secs: Option<u64>,
    /// Lifetime of a resumable upload, s.
    #[serde(default)]
    pub tus_expiry_secs: Option<u64>,
    /// Wait of an upload for the block that registers its object, ms.
    #[serde(default)]
    pub upload_placement_wait_ms: Option<u64>,
    /// Free space never written into, MiB.
    #[serde(default)]
    pub disk_reserve_mib: Option<u64>,
    /// Rounds over every source before a fetch fails.
    #[serde(default)]
    pub fetch_rounds: Option<u64>,
    /// Wait before the second round, ms.
    #[serde(default)]
    pub fetch_retry_ms: Option<u64>,
    /// Time a peer may go without sending a byte, s.
    #[serde(default)]
    pub fetch_idle_timeout_secs: Option<u64>,
    /// Slowest peer body, B/s.
    #[serde(default)]
    pub fetch_min_bytes_per_sec: Option<u64>,
    /// Grace before a peer's rate counts, s.
    #[serde(default)]
    pub fetch_grace_secs: Option<u64>,
    /// Longest request to a peer, s.
    #[serde(default)]
    pub fetch_max_secs: Option<u64>,
    /// Between sweeps of leftovers and expired uploads, s.
    #[serde(default)]
    pub sweep_interval_secs: Option<u64>,
    /// Distributor: cache fills running at once (503 beyond).
    #[serde(default)]
    pub max_concurrent_fills: Option<u64>,
    /// The access log file (empty: none).
    #[serde(default)]
    pub access_log: String,
    /// Rotated past this size, MiB.
    #[serde(default)]
    pub access_log_max_mib: Option<u64>,
    /// Rotated files kept.
    #[serde(default)]
    pub access_log_keep: Option<u64>,
    /// PEM CA certificates trusted for peers' https endpoints besides the bundled roots (both
    /// planes); empty: the bundled roots only.
    #[serde(default)]
    pub tls_ca_file: String,
    /// The public listener's certificate chain, PEM: https instead of http (with `tls_key`).
    #[serde(default)]
    pub tls_cert: String,
    /// Its private key, PEM.
    #[serde(default)]
    pub tls_key: String,
    /// Between checks of the certificate files for a renewal, s.
    #[serde(default)]
    pub tls_check_secs: Option<u64>,
    /// Idle connections kept per peer and shard.
    #[serde(default)]
    pub peer_idle_connections: Option<u64>,
    /// How long an idle peer connection is kept, ms.
    #[serde(default)]
    pub peer_keep_alive_ms: Option<u64>,
    /// The scrub's read rate, MiB/s (0: no scrub).
    #[serde(default)]
    pub scrub_mib_per_sec: Option<u64>,
    /// From the start of one scrub pass to the next, hours.
    #[serde(default)]
    pub scrub_pass_hours: Option<u64>,
    /// Proofs one shard answers at once.
    #[serde(default)]
    pub max_proofs_per_shard: Option<u64>,
    /// Verified slices one shard sends at once.
    #[serde(default)]
    pub max_slices_per_shard: Option<u64>,
}

impl DataPlaneConfig {
    /// The data plane flags for the limits that are set.
    pub fn limit_args(&self) -> Vec<String> {
        let all = [
            ("idle-timeout-secs", self.idle_timeout_secs),
            ("header-timeout-ms", self.header_timeout_ms),
            ("send-timeout-secs", self.send_timeout_secs),
            ("tcp-notsent-lowat-kib", self.tcp_notsent_lowat_kib),
            ("max-connections-per-shard", self.max_connections_per_shard),
            ("drain-timeout-secs", self.drain_timeout_secs),
            ("min-upload-bytes-per-sec", self.min_upload_bytes_per_sec),
            ("min-upload-grace-secs", self.min_upload_grace_secs),
            ("tus-expiry-secs", self.tus_expiry_secs),
            ("upload-placement-wait-ms", self.upload_placement_wait_ms),
            ("disk-reserve-mib", self.disk_reserve_mib),
            ("fetch-rounds", self.fetch_rounds),
            ("fetch-retry-ms", self.fetch_retry_ms),
            ("fetch-idle-timeout-secs", self.fetch_idle_timeout_secs),
            ("fetch-min-bytes-per-sec", self.fetch_min_bytes_per_sec),
            ("fetch-grace-secs", self.fetch_grace_secs),
            ("fetch-max-secs", self.fetch_max_secs),
            ("sweep-interval-secs", self.sweep_interval_secs),
            ("max-concurrent-fills", self.max_concurrent_fills),
            ("access-log-max-mib", self.access_log_max_mib),
            ("access-log-keep", self.access_log_keep),
            ("tls-check-secs", self.tls_check_secs),
            ("peer-idle-connections", self.peer_idle_connections),
            ("peer-keep-alive-ms", self.peer_keep_alive_ms),
            ("scrub-mib-per-sec", self.scrub_mib_per_sec),
            ("scrub-pass-hours", self.scrub_pass_hours),
            ("max-proofs-per-shard", self.max_proofs_per_shard),
            ("max-slices-per-shard", self.max_slices_per_shard),
        ];
        let mut args: Vec<String> = all
            .into_iter()
            .filter_map(|(flag, v)| v.map(|v| [format!("--{flag}"), v.to_string()]))
            .flatten()
            .collect();
        for (flag, value) in [
            ("--access-log", &self.access_log),
            ("--tls-ca-file", &self.tls_ca_file),
            ("--tls-cert", &self.tls_cert),
            ("--tls-key", &self.tls_key),
        ] {
            if !value.is_empty() {
                args.extend([flag.to_owned(), value.clone()]);
            }
        }
        args
    }

    /// Checks the TLS keys beyond their types: a certificate needs its key.
    pub fn validate_tls(&self) -> Result<(), ConfigError> {
        if self.tls_cert.is_empty() != self.tls_key.is_empty() {
            return Err(ConfigError::Invalid {
                field: "dataplane.tls_cert",
                message: "tls_cert and tls_key go together".into(),
            });
        }
        Ok(())
    }

    /// Makes the control plane's peer clients trust `tls_ca_file`, as the data plane does.
    pub fn trust_ca_file(&self) -> Result<(), crate::node::peer_http::CaFileError> {
        if self.tls_ca_file.is_empty() {
            return Ok(());
        }
        crate::node::peer_http::trust_ca_file(std::path::Path::new(&self.tls_ca_file))
    }

    /// The scheme of the public listener.
    pub fn scheme(&self) -> &'static str {
        if self.tls_cert.is_empty() {
            "http"
        } else {
            "https"
        }
    }
}

/// `[accept]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptSection {
    /// Pass interval, ms.
    #[serde(default = "default_interval")]
    pub interval_ms: u64,
    /// Objects per call.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Longest retry wait, s.
    #[serde(default = "default_backoff")]
    pub max_backoff_secs: u64,
}

/// `[sync]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSection {
    /// Full reconciliation period, s.
    #[serde(default = "default_reconcile")]
    pub reconcile_interval_secs: u64,
    /// Replication order.
    #[serde(default = "default_order")]
    pub order: SyncOrder,
    /// Fetch jobs handed out at a time.
    #[serde(default = "default_window")]
    pub window: usize,
    /// Attempts at once, node-wide.
    #[serde(default = "default_concurrency")]
    pub concurrency: u16,
    /// Attempts at once per peer.
    #[serde(default = "default_per_peer")]
    pub per_peer: u16,
    /// Bandwidth cap, MiB/s (0: none).
    #[serde(default)]
    pub max_mib_per_sec: u64,
    /// First retry wait, s.
    #[serde(default = "default_retry")]
    pub retry_secs: u64,
    /// Longest retry wait, s.
    #[serde(default = "default_retry_max")]
    pub retry_max_secs: u64,
    /// Probe period, s.
    #[serde(default = "default_probe")]
    pub probe_interval_secs: u64,
    /// Replication task queue shares.
    #[serde(default = "default_shares")]
    pub replication_shares: usize,
}

/// `[cleanup]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanupSection {
    /// Whether to remove anything.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Confirmations needed for an unassigned object.
    #[serde(default = "default_min_replication")]
    pub min_replication: u32,
    /// Recheck wait, s.
    #[serde(default = "default_recheck")]
    pub recheck_secs: u64,
    /// HEAD timeout, s.
    #[serde(default = "default_head_timeout")]
    pub head_timeout_secs: u64,
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageNodeConfig {
    /// Worker id.
    pub worker_id: u64,
    /// Buckets served.
    #[serde(default = "default_buckets")]
    pub buckets: Buckets,
    /// The chain URL.
    pub chain: String,
    /// Signing account (not printed by `Debug` consumers: see [`StorageNodeConfig::summary`]).
    /// Optional against a Joystream node, whose key names it.
    #[serde(default)]
    pub transactor: Option<AccountId>,
    /// Store directory.
    pub store_dir: PathBuf,
    /// Public API address.
    pub public_listen: SocketAddr,
    /// Operator API address.
    #[serde(default = "default_operator")]
    pub operator_listen: SocketAddr,
    /// Shards (0: all CPUs).
    #[serde(default)]
    pub shards: usize,
    /// `/readyz` fails when the node lags the chain's finalized head, or the data plane lags
    /// the node, by more than this many blocks.
    #[serde(default = "default_ready_lag")]
    pub ready_max_lag_blocks: u64,
    /// `[dataplane]`
    #[serde(default = "default_dataplane")]
    pub dataplane: DataPlaneConfig,
    /// `[joystream]`
    #[serde(default)]
    pub joystream: JoystreamSection,
    /// `[accept]`
    #[serde(default = "default_accept")]
    pub accept: AcceptSection,
    /// `[sync]`
    #[serde(default = "default_sync")]
    pub sync: SyncSection,
    /// `[cleanup]`
    #[serde(default = "default_cleanup")]
    pub cleanup: CleanupSection,
}

fn default_mode() -> DataPlaneMode {
    DataPlaneMode::Supervise
}
fn default_io_memory() -> usize {
    defaults::IO_MEMORY_MIB
}
fn default_upload_memory() -> usize {
    defaults::UPLOAD_MEMORY_MIB.into()
}
fn default_interval() -> u64 {
    2000
}
fn default_batch() -> usize {
    20
}
fn default_backoff() -> u64 {
    60
}
fn default_reconcile() -> u64 {
    600
}
fn default_order() -> SyncOrder {
    SyncOrder::NewestFirst
}
fn default_window() -> usize {
    64
}
fn default_concurrency() -> u16 {
    defaults::FETCH_CONCURRENCY
}
fn default_per_peer() -> u16 {
    defaults::FETCH_PER_PEER
}
fn default_retry() -> u64 {
    30
}
fn default_retry_max() -> u64 {
    1800
}
fn default_probe() -> u64 {
    30
}
fn default_shares() -> usize {
    defaults::REPLICATION_SHARES
}
fn default_true() -> bool {
    true
}
fn default_min_replication() -> u32 {
    2
}
fn default_recheck() -> u64 {
    60
}
fn default_head_timeout() -> u64 {
    10
}
fn default_buckets() -> Buckets {
    Buckets::All
}
fn default_operator() -> SocketAddr {
    "127.0.0.1:3339".parse().expect("a valid address")
}
fn default_dataplane() -> DataPlaneConfig {
    toml::from_str("").expect("defaults")
}
fn default_accept() -> AcceptSection {
    toml::from_str("").expect("defaults")
}
fn default_ready_lag() -> u64 {
    crate::node::health::DEFAULT_MAX_LAG_BLOCKS
}
fn default_sync() -> SyncSection {
    toml::from_str("").expect("defaults")
}
fn default_cleanup() -> CleanupSection {
    toml::from_str("").expect("defaults")
}

impl NodeConfig for StorageNodeConfig {
    const KEYS: Keys = KEYS;

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, message: &str| ConfigError::Invalid {
            field,
            message: message.to_string(),
        };
        match ChainKind::parse(&self.chain).map_err(|m| invalid("chain", &m))? {
            ChainKind::Embedded(_) if self.transactor.is_none() => {
                return Err(invalid(
                    "transactor",
                    "is required with the embedded chain (its accounts have no keys)",
                ));
            }
            ChainKind::Joystream(_) if !self.joystream.has_key() => {
                return Err(invalid(
                    "joystream",
                    "a Joystream node needs the transactor's key: joystream.key_file or \
                     joystream.suri (HECATON_JOYSTREAM_SURI)",
                ));
            }
            _ => {}
        }
        self.joystream.endpoints()?;
        self.dataplane.validate_tls()?;
        if self.accept.batch_size == 0 || self.accept.batch_size > 10_000 {
            return Err(invalid("accept.batch_size", "must be between 1 and 10000"));
        }
        if self.accept.interval_ms < 100 {
            return Err(invalid("accept.interval_ms", "must be at least 100"));
        }
        if self.sync.reconcile_interval_secs < 10 {
            return Err(invalid(
                "sync.reconcile_interval_secs",
                "must be at least 10",
            ));
        }
        if self.sync.window == 0 {
            return Err(invalid("sync.window", "must be at least 1"));
        }
        if self.sync.concurrency == 0 || self.sync.per_peer == 0 {
            return Err(invalid(
                "sync.concurrency",
                "concurrency and per_peer must be at least 1",
            ));
        }
        if self.sync.retry_secs == 0 || self.sync.retry_max_secs < self.sync.retry_secs {
            return Err(invalid(
                "sync.retry_secs",
                "must be at least 1, and retry_max_secs at least retry_secs",
            ));
        }
        if self.sync.probe_interval_secs == 0 || self.cleanup.head_timeout_secs == 0 {
            return Err(invalid(
                "sync.probe_interval_secs",
                "probe interval and cleanup.head_timeout_secs must be at least 1",
            ));
        }
        if self.dataplane.io_memory_mib == 0 {
            return Err(invalid("dataplane.io_memory_mib", "must be at least 1"));
        }
        if !(2..=65535).contains(&self.dataplane.upload_memory_mib) {
            return Err(invalid(
                "dataplane.upload_memory_mib",
                "must be between 2 (one upload's buffers) and 65535",
            ));
        }
        if self.public_listen == self.operator_listen {
            return Err(invalid("operator_listen", "must differ from public_listen"));
        }
        if let Buckets::Only(ids) = &self.buckets {
            if ids.is_empty() {
                return Err(invalid(
                    "buckets",
                    "an empty list serves nothing; use \"all\" or ids",
                ));
            }
        }
        Ok(())
    }
}

impl StorageNodeConfig {
    /// Who the node is: its worker and the buckets it serves.
    pub fn scope(&self) -> crate::node::obligations::Scope {
        use crate::node::obligations::{BucketSelection, Scope};
        Scope::Storage {
            worker_id: self.worker_id,
            buckets: match &self.buckets {
                Buckets::All => BucketSelection::All,
                Buckets::Only(ids) => BucketSelection::Only(ids.iter().copied().collect()),
            },
            signers: None,
        }
    }
}

impl StorageNodeConfig {
    /// The local socket's path.
    pub fn socket_path(&self) -> PathBuf {
        if self.dataplane.socket.is_empty() {
            self.store_dir.join("control.sock")
        } else {
            PathBuf::from(&self.dataplane.socket)
        }
    }

    /// A one-line description without secrets.
    pub fn summary(&self) -> String {
        format!(
            "worker {} buckets {:?} chain {} store {} public {} operator {} dataplane {:?}",
            self.worker_id,
            self.buckets,
            self.chain,
            self.store_dir.display(),
            self.public_listen,
            self.operator_listen,
            self.dataplane.mode
        )
    }
}

const KEYS: Keys = Keys {
    top_level: &[
        "worker_id",
        "buckets",
        "chain",
        "transactor",
        "store_dir",
        "public_listen",
        "operator_listen",
        "shards",
        "ready_max_lag_blocks",
    ],
    tables: &["dataplane", "joystream", "accept", "sync", "cleanup"],
};

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn parse(text: &str, env: &[(&str, &str)]) -> Result<StorageNodeConfig, ConfigError> {
        StorageNodeConfig::parse(
            text,
            Path::new("node.toml"),
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn the_example_is_valid_and_complete() {
        let c = parse(EXAMPLE, &[]).unwrap();
        assert_eq!(c.worker_id, 1);
        assert_eq!(c.buckets, Buckets::All);
        assert_eq!(c.accept.batch_size, 20);
        assert_eq!(c.dataplane.mode, DataPlaneMode::Supervise);
        assert_eq!(c.sync.order, SyncOrder::NewestFirst);
        assert_eq!(c.cleanup.min_replication, 2);
        assert_eq!(
            c.socket_path(),
            PathBuf::from("/var/lib/hecaton/store/control.sock")
        );
        assert!(
            !c.summary().contains("Transactor"),
            "no secrets in the summary"
        );
    }

    #[test]
    fn environment_overrides_top_level_and_nested_fields() {
        let c = parse(
            EXAMPLE,
            &[
                ("HECATON_WORKER_ID", "7"),
                ("HECATON_BUCKETS", "[2, 3]"),
                ("HECATON_ACCEPT_BATCH_SIZE", "50"),
                ("HECATON_STORE_DIR", "/data/s"),
                ("HECATON_CHAIN", "http://chain:9955"),
                ("HECATON_CLEANUP_MIN_REPLICATION", "3"),
                ("HECATON_SYNC_ORDER", "oldest_first"),
                ("PATH", "/bin"),
            ],
        )
        .unwrap();
        assert_eq!(c.worker_id, 7);
        assert_eq!(c.buckets, Buckets::Only(vec![2, 3]));
        assert_eq!(c.accept.batch_size, 50);
        assert_eq!(c.store_dir, PathBuf::from("/data/s"));
        assert_eq!(c.chain, "http://chain:9955");
        assert_eq!(c.cleanup.min_replication, 3);
        assert_eq!(c.sync.order, SyncOrder::OldestFirst);
    }

    #[test]
    fn a_joystream_node_takes_its_key_from_the_environment() {
        let text = "worker_id = 1\nchain = \"wss://rpc.joystream.org:9944\"\nstore_dir = \"/s\"\npublic_listen = \"0.0.0.0:1\"\n[joystream]\nendpoints = { \"3\" = \"https://s3.example/\" }\n";
        let c = parse(text, &[("HECATON_JOYSTREAM_SURI", "//Alice")]).unwrap();
        assert_eq!(c.joystream.suri, "//Alice");
        assert!(c.transactor.is_none());
        assert_eq!(c.joystream.endpoints().unwrap()[&3], "https://s3.example/");
        assert!(
            !format!("{c:?}").contains("Alice"),
            "the SURI is never printed"
        );
        assert!(!c.summary().contains("Alice"));
    }

    #[test]
    fn mistakes_are_named() {
        let cases: &[(&str, &str)] = &[
            ("worker_id = 1\nchain = \"http://x\"\ntransactor = \"//A\"\nstore_dir = \"/s\"\npublic_listen = \"0.0.0.0:1\"\ncolour = 1\n", "unknown field `colour`"),
            ("worker_id = \"one\"", "worker_id"),
            ("worker_id = 1\nchain = \"wss://x\"\ntransactor = \"//A\"\nstore_dir = \"/s\"\npublic_listen = \"0.0.0.0:1\"\n", "needs the transactor's key"),
            ("worker_id = 1\nchain = \"ftp://x\"\ntransactor = \"//A\"\nstore_dir = \"/s\"\npublic_listen = \"0.0.0.0:1\"\n", "chain:"),
            ("worker_id = 1\nchain = \"embedded\"\nstore_dir = \"/s\"\npublic_listen = \"0.0.0.0:1\"\n", "transactor"),
            ("worker_id = 1\nchain = \"wss://x\"\nstore_dir = \"/s\"\npublic_listen = \"0.0.0.0:1\"\n[joystream]\nsuri = \"//Alice\"\nendpoints = { one = \"http://x/\" }\n", "not a storage bucket id"),
            ("worker_id = 1\nchain = \"http://x\"\ntransactor = \"//A\"\nstore_dir = \"/s\"\npublic_listen = \"0.0.0.0:1\"\n[accept]\nbatch_size = 0\n", "accept.batch_size"),
            ("worker_id = 1\nchain = \"http://x\"\ntransactor = \"//A\"\nstore_dir = \"/s\"\npublic_listen = \"0.0.0.0:1\"\nbuckets = \"some\"\n", "buckets must be"),
            ("worker_id = 1\nchain = \"http://x\"\ntransactor = \"//A\"\nstore_dir = \"/s\"\npublic_listen = \"nowhere\"\n", "public_listen"),
        ];
        for (text, needle) in cases {
            let e = parse(text, &[]).unwrap_err().to_string();
            assert!(e.contains(needle), "{e:?} should mention {needle:?}");
        }
    }

    #[test]
    fn dataplane_limits_become_its_flags() {
        let text = EXAMPLE.replace(
            "[dataplane]\n",
            "[dataplane]\ntcp_notsent_lowat_kib = 64\nmax_slices_per_shard = 8\n",
        );
        let args = parse(&text, &[]).unwrap().dataplane.limit_args();
        for pair in [
            ["--tcp-notsent-lowat-kib", "64"],
            ["--max-slices-per-shard", "8"],
        ] {
            assert!(
                args.windows(2).any(|w| w == pair),
                "{pair:?} missing from {args:?}"
            );
        }
        let unset = parse(EXAMPLE, &[]).unwrap().dataplane.limit_args();
        assert!(
            !unset.iter().any(|a| a == "--tcp-notsent-lowat-kib"),
            "an unset limit keeps the data plane's default: {unset:?}"
        );
    }
}
