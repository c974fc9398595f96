//! `hecaton distributor-node --config FILE`: the TOML configuration, in the storage node's
//! style (every field documented in [`EXAMPLE`], units in the names, unknown keys rejected,
//! `HECATON_*` overrides, validated).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use hecaton_shared::DistributionBucketId;
use serde::Deserialize;

pub use crate::node::config::ConfigError;
use crate::node::config::{Keys, NodeConfig};
use crate::storage_node::config::{DataPlaneConfig, DataPlaneMode};

/// The annotated example configuration.
pub const EXAMPLE: &str = r#"# hecaton distributor-node configuration. Units are in the names; unknown keys are errors.

# This node's id (Argus's `id`: shown by /api/v1/status).
id = "distributor-1"
# The distribution working group worker id this node runs as (optional when `buckets` lists ids).
worker_id = 1
# Buckets to distribute: "all" (every bucket the worker operates) or ids "<family>:<index>",
# e.g. ["0:0", "1:3"].
buckets = "all"
# The chain: "embedded" (`hecaton chain` on this machine), the http:// URL of a `hecaton chain`,
# or the wss:// URL of a Joystream node (a distributor signs nothing, so needs no key).
chain = "http://127.0.0.1:9955"
# Where cached objects are stored.
store_dir = "/var/lib/hecaton/cache"
# The public Argus-compatible API (what the bucket's metadata endpoint points at).
public_listen = "0.0.0.0:3334"
# The operator API: Argus's signed operator calls, /status and /metrics. Keep it on loopback.
operator_listen = "127.0.0.1:3335"
# The HMAC secret operator calls are signed with (Argus's operatorApi.hmacSecret). Empty: every
# operator call is refused (/status and /metrics still answer). Never logged.
operator_secret = ""
# Data plane shards (one executor each); 0 means one per online CPU.
shards = 0
# /readyz answers 503 when the node is more than this many blocks behind the chain's finalized
# head, or its data plane behind the node (a block is 6 s on Joystream).
ready_max_lag_blocks = 10

[dataplane]
mode = "supervise"
socket = ""
program = ""
io_memory_mib = 10
upload_memory_mib = 2
# Fetch from loopback and private storage-node addresses (a test network or a LAN only).
allow_private_peers = false
# Pin each shard to a CPU of its own (a host whose CPUs are the data plane's alone).
pin_shards = false
# The data plane's limits, as in the storage node's [dataplane] (unset: defaults), and:
# max_concurrent_fills = 64         # cache fills running at once; more misses get 503
# tls_cert = "/etc/hecaton/tls/fullchain.pem", tls_key = "/etc/hecaton/tls/privkey.pem"
#                                   # serve https (reloaded on SIGHUP and when the files change)
# tls_ca_file = ""                  # CA certificates trusted for storage nodes besides the
#                                   # bundled roots

[joystream]
# Only with chain = "wss://...". The chain keeps operator metadata only in events, so the node
# learns storage nodes' endpoints as their operators publish them and keeps them in
# directory_file (empty: operators.json in store_dir); endpoints listed here are used meanwhile
# and take precedence, e.g. { "3" = "https://storage-3.example.com/" }.
directory_file = ""
endpoints = {}

[cache]
# The byte budget of cached objects on disk, in MiB.
size_mib = 10240
# Objects larger than this are proxied from a storage node, never cached (0: no limit).
max_cached_item_mib = 0
# The hottest objects are kept in memory too: budget and largest object.
memory_tier_mib = 256
memory_tier_max_object_kib = 2048
# Objects up to small_object_kib get small_share_percent of the budget to themselves, so that a
# few large videos do not push out the thumbnails every page asks for.
small_object_kib = 1024
small_share_percent = 20

[sources]
# Between latency probes of each storage node (GET api/v1/version), and their timeout, seconds.
probe_interval_secs = 30
probe_timeout_secs = 5

[sync]
# Full re-read of the chain state, in seconds (events keep it current in between).
reconcile_interval_secs = 600
"#;

/// Which buckets to distribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DistributionBuckets {
    /// Every bucket the worker operates.
    All,
    /// These.
    Only(BTreeSet<DistributionBucketId>),
}

impl<'de> Deserialize<'de> for DistributionBuckets {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            List(Vec<String>),
        }
        match Raw::deserialize(d)? {
            Raw::Word(w) if w == "all" => Ok(DistributionBuckets::All),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "buckets must be \"all\" or a list of \"<family>:<index>\" ids, not {w:?}"
            ))),
            Raw::List(ids) => ids
                .iter()
                .map(|t| t.parse::<DistributionBucketId>())
                .collect::<Result<BTreeSet<_>, _>>()
                .map(DistributionBuckets::Only)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// `[cache]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSection {
    /// Budget, MiB.
    #[serde(default = "default_size")]
    pub size_mib: u64,
    /// Largest cached object, MiB (0: none).
    #[serde(default)]
    pub max_cached_item_mib: u64,
    /// Memory tier, MiB.
    #[serde(default = "default_memory")]
    pub memory_tier_mib: u64,
    /// Largest object in memory, KiB.
    #[serde(default = "default_memory_object")]
    pub memory_tier_max_object_kib: u64,
    /// Small objects, KiB.
    #[serde(default = "default_small")]
    pub small_object_kib: u64,
    /// Their share, percent.
    #[serde(default = "default_share")]
    pub small_share_percent: u8,
}

/// `[sources]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcesSection {
    /// Probe period, s.
    #[serde(default = "default_probe")]
    pub probe_interval_secs: u64,
    /// Probe timeout, s.
    #[serde(default = "default_probe_timeout")]
    pub probe_timeout_secs: u64,
}

/// `[sync]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSection {
    /// Full reconciliation period, s.
    #[serde(default = "default_reconcile")]
    pub reconcile_interval_secs: u64,
}

/// The whole configuration.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistributorConfig {
    /// Node id.
    #[serde(default = "default_id")]
    pub id: String,
    /// Worker id.
    #[serde(default)]
    pub worker_id: Option<u64>,
    /// Buckets.
    #[serde(default = "default_buckets")]
    pub buckets: DistributionBuckets,
    /// The chain URL.
    pub chain: String,
    /// Cache directory.
    pub store_dir: PathBuf,
    /// Public API address.
    #[serde(default = "default_public")]
    pub public_listen: SocketAddr,
    /// Operator API address.
    #[serde(default = "default_operator")]
    pub operator_listen: SocketAddr,
    /// Operator calls' HMAC secret.
    #[serde(default)]
    pub operator_secret: String,
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
    /// `[cache]`
    #[serde(default = "default_cache")]
    pub cache: CacheSection,
    /// `[sources]`
    #[serde(default = "default_sources")]
    pub sources: SourcesSection,
    /// `[sync]`
    #[serde(default = "default_sync")]
    pub sync: SyncSection,
    /// `[joystream]`
    #[serde(default)]
    pub joystream: crate::node::config::JoystreamSection,
}

impl std::fmt::Debug for DistributorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}

fn default_size() -> u64 {
    10_240
}
fn default_memory() -> u64 {
    256
}
fn default_memory_object() -> u64 {
    2048
}
fn default_small() -> u64 {
    1024
}
fn default_share() -> u8 {
    20
}
fn default_probe() -> u64 {
    30
}
fn default_probe_timeout() -> u64 {
    5
}
fn default_reconcile() -> u64 {
    600
}
fn default_id() -> String {
    "hecaton-distributor".into()
}
fn default_buckets() -> DistributionBuckets {
    DistributionBuckets::All
}
fn default_public() -> SocketAddr {
    "0.0.0.0:3334".parse().expect("a valid address")
}
fn default_operator() -> SocketAddr {
    "127.0.0.1:3335".parse().expect("a valid address")
}
fn default_dataplane() -> DataPlaneConfig {
    toml::from_str("").expect("defaults")
}
fn default_cache() -> CacheSection {
    toml::from_str("").expect("defaults")
}
fn default_sources() -> SourcesSection {
    toml::from_str("").expect("defaults")
}
fn default_ready_lag() -> u64 {
    crate::node::health::DEFAULT_MAX_LAG_BLOCKS
}
fn default_sync() -> SyncSection {
    toml::from_str("").expect("defaults")
}

const KEYS: Keys = Keys {
    top_level: &[
        "id",
        "worker_id",
        "buckets",
        "chain",
        "store_dir",
        "public_listen",
        "operator_listen",
        "operator_secret",
        "shards",
        "ready_max_lag_blocks",
    ],
    tables: &["dataplane", "joystream", "cache", "sources", "sync"],
};

impl NodeConfig for DistributorConfig {
    const KEYS: Keys = KEYS;

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, message: &str| ConfigError::Invalid {
            field,
            message: message.to_string(),
        };
        crate::chain::ChainKind::parse(&self.chain).map_err(|m| invalid("chain", &m))?;
        self.joystream.endpoints()?;
        self.dataplane.validate_tls()?;
        if self.worker_id.is_none() && self.buckets == DistributionBuckets::All {
            return Err(invalid(
                "worker_id",
                "needed when buckets is \"all\" (or list the buckets)",
            ));
        }
        if !self.operator_secret.is_empty()
            && self.operator_secret.len() < super::jwt::MIN_SECRET_BYTES
        {
            return Err(invalid(
                "operator_secret",
                "must be at least 32 bytes (a random string: one token lets anyone guess a \
                 short secret offline)",
            ));
        }
        if self.cache.size_mib == 0 {
            return Err(invalid("cache.size_mib", "must be at least 1"));
        }
        if self.cache.max_cached_item_mib > self.cache.size_mib {
            return Err(invalid(
                "cache.max_cached_item_mib",
                "must not exceed cache.size_mib",
            ));
        }
        if self.cache.small_share_percent > 100 {
            return Err(invalid(
                "cache.small_share_percent",
                "is a percentage (0-100)",
            ));
        }
        if self.sources.probe_interval_secs == 0 || self.sources.probe_timeout_secs == 0 {
            return Err(invalid(
                "sources.probe_interval_secs",
                "probe interval and timeout must be at least 1",
            ));
        }
        if self.sync.reconcile_interval_secs < 10 {
            return Err(invalid(
                "sync.reconcile_interval_secs",
                "must be at least 10",
            ));
        }
        if self.public_listen == self.operator_listen {
            return Err(invalid("operator_listen", "must differ from public_listen"));
        }
        if let DistributionBuckets::Only(ids) = &self.buckets {
            if ids.is_empty() {
                return Err(invalid("buckets", "an empty list serves nothing"));
            }
        }
        Ok(())
    }
}

impl DistributorConfig {
    /// The local socket's path.
    pub fn socket_path(&self) -> PathBuf {
        if self.dataplane.socket.is_empty() {
            self.store_dir.join("control.sock")
        } else {
            PathBuf::from(&self.dataplane.socket)
        }
    }

    /// Whether the data plane is started by this process.
    pub fn supervised(&self) -> bool {
        self.dataplane.mode == DataPlaneMode::Supervise
    }

    /// A one-line description without secrets.
    pub fn summary(&self) -> String {
        format!(
            "id {} worker {:?} buckets {:?} chain {} cache {} ({} MiB) public {} operator {} secret {}",
            self.id,
            self.worker_id,
            self.buckets,
            self.chain,
            self.store_dir.display(),
            self.cache.size_mib,
            self.public_listen,
            self.operator_listen,
            if self.operator_secret.is_empty() { "unset" } else { "set" },
        )
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn parse(text: &str, env: &[(&str, &str)]) -> Result<DistributorConfig, ConfigError> {
        DistributorConfig::parse(
            text,
            Path::new("d.toml"),
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn the_example_is_valid_and_overrides_apply() {
        let c = parse(EXAMPLE, &[]).unwrap();
        assert_eq!(c.cache.size_mib, 10_240);
        assert_eq!(c.buckets, DistributionBuckets::All);
        let c = parse(
            EXAMPLE,
            &[
                ("HECATON_BUCKETS", r#"["0:1", "2:3"]"#),
                ("HECATON_CACHE_SIZE_MIB", "100"),
                (
                    "HECATON_OPERATOR_SECRET",
                    "s3cret-long-enough-for-hmac-256!",
                ),
            ],
        )
        .unwrap();
        assert_eq!(c.cache.size_mib, 100);
        assert!(matches!(&c.buckets, DistributionBuckets::Only(ids) if ids.len() == 2));
        assert!(!c.summary().contains("s3cret"), "no secret in the summary");
        assert!(!format!("{c:?}").contains("s3cret"), "no secret in Debug");
        let short = parse(EXAMPLE, &[("HECATON_OPERATOR_SECRET", "dev-secret")]);
        assert!(
            matches!(
                &short,
                Err(ConfigError::Invalid {
                    field: "operator_secret",
                    ..
                })
            ),
            "{short:?}"
        );
    }

    #[test]
    fn mistakes_are_named() {
        let base = "chain = \"http://x\"\nstore_dir = \"/c\"\n";
        for (text, needle) in [
            (
                format!("{base}worker_id = 1\ncolour = 1\n"),
                "unknown field `colour`",
            ),
            (base.to_string(), "worker_id"),
            (format!("{base}buckets = [\"7\"]\n"), "family"),
            (
                format!("{base}worker_id = 1\n[cache]\nsize_mib = 1\nmax_cached_item_mib = 2\n"),
                "max_cached_item_mib",
            ),
        ] {
            let e = parse(&text, &[]).unwrap_err().to_string();
            assert!(e.contains(needle), "{e:?} should mention {needle:?}");
        }
    }
}
