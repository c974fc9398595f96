//! An Argus node's `config.yml` (Argus 2.x) turned into a Hecaton `distributor.toml`.
//!
//! Argus's keys are camelCase and its byte sizes `<int><B|K|M|G|T>` in powers of 1024. The
//! operator API's HMAC secret is carried over (it signs the same calls); signing keys
//! (`keys[]`) are for Argus's CLI only and are not. Settings with no Hecaton key are listed as
//! comments.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::MigrateError;

/// The parts of Argus's configuration that map to Hecaton's.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ArgusConfig {
    /// Node id.
    pub id: String,
    /// `endpoints`.
    pub endpoints: Endpoints,
    /// `directories`.
    pub directories: Directories,
    /// `limits`.
    pub limits: Limits,
    /// `intervals`.
    pub intervals: Intervals,
    /// `publicApi`.
    pub public_api: Port,
    /// `operatorApi`.
    pub operator_api: Option<OperatorApi>,
    /// `buckets`, "<family>:<index>".
    pub buckets: Option<Vec<String>>,
    /// `workerId`.
    pub worker_id: Option<u64>,
    /// `logs` (only noted).
    pub logs: Option<yaml_serde::Value>,
}

/// `endpoints`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Endpoints {
    /// The chain's websocket.
    pub joystream_node_ws: String,
    /// The squid (not needed).
    pub storage_squid: String,
}

/// `directories`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Directories {
    /// Cached objects.
    pub assets: String,
    /// `cache.json`.
    pub cache_state: String,
}

/// `limits`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Limits {
    /// The cache's byte budget, e.g. `500G`.
    pub storage: Option<String>,
    /// Larger objects are proxied.
    pub max_cached_item_size: Option<String>,
    /// Download jobs at once.
    pub max_concurrent_storage_node_downloads: Option<u64>,
    /// HEAD/version timeout.
    pub outbound_requests_timeout_ms: Option<u64>,
}

/// `intervals`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Intervals {
    /// Between latency probes, seconds.
    pub check_storage_node_response_times: Option<u64>,
}

/// `publicApi`.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct Port {
    /// The port.
    pub port: Option<u16>,
}

/// `operatorApi`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct OperatorApi {
    /// The port.
    pub port: Option<u16>,
    /// The HMAC secret.
    pub hmac_secret: String,
}

/// Parses Argus's `<int><B|K|M|G|T>` byte size into MiB (rounded down, at least 1).
pub fn size_mib(text: &str) -> Result<u64, MigrateError> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| MigrateError::BadValue("byte size".into(), text.into()))?;
    let shift = match unit {
        "" | "B" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(MigrateError::BadValue("byte size".into(), text.into())),
    };
    let bytes = u128::from(n) << shift;
    Ok(u64::try_from(bytes >> 20).unwrap_or(u64::MAX).max(1))
}

/// Parses `config.yml`'s text.
pub fn parse(text: &str) -> Result<ArgusConfig, MigrateError> {
    yaml_serde::from_str(text).map_err(|e| MigrateError::Yaml(e.to_string()))
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

impl ArgusConfig {
    /// Argus resolves `directories.*` against the config file's directory.
    pub fn assets_dir(&self, config_path: &Path) -> PathBuf {
        let base = config_path.parent().unwrap_or(Path::new("."));
        let relative: PathBuf = Path::new(&self.directories.assets)
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect();
        base.join(relative)
    }

    /// The `distributor.toml`, talking to `chain` (Argus's `joystreamNodeWs` unless
    /// overridden) and caching in `store_dir`.
    pub fn to_toml(&self, chain: &str, store_dir: &Path) -> Result<String, MigrateError> {
        let mut t = String::from(
            "# Written by `hecaton distributor-node migrate` from an Argus config.yml.\n\
             # See `hecaton distributor-node --print-example-config` for every key.\n\n",
        );
        let id = if self.id.is_empty() {
            "distributor-1"
        } else {
            &self.id
        };
        t += &format!("id = {}\n", quote(id));
        if let Some(w) = self.worker_id {
            t += &format!("worker_id = {w}\n");
        }
        match &self.buckets {
            Some(ids) if !ids.is_empty() => {
                let list: Vec<String> = ids.iter().map(|b| quote(b)).collect();
                t += &format!("buckets = [{}]\n", list.join(", "));
            }
            _ => t += "buckets = \"all\"\n",
        }
        t += &format!("chain = {}\n", quote(chain));
        t += &format!("store_dir = {}\n", quote(&store_dir.display().to_string()));
        t += &format!(
            "public_listen = \"0.0.0.0:{}\"\n",
            self.public_api.port.unwrap_or(3334)
        );
        let op = self.operator_api.as_ref();
        t += &format!(
            "operator_listen = \"127.0.0.1:{}\"\n",
            op.and_then(|o| o.port).unwrap_or(3335)
        );
        t += &format!(
            "operator_secret = {}\n",
            quote(op.map(|o| o.hmac_secret.as_str()).unwrap_or(""))
        );
        t += "shards = 0\n\n[cache]\n";
        if let Some(s) = &self.limits.storage {
            t += &format!("size_mib = {}\n", size_mib(s)?);
        }
        if let Some(s) = &self.limits.max_cached_item_size {
            t += &format!("max_cached_item_mib = {}\n", size_mib(s)?);
        }
        t += "\n[sources]\n";
        if let Some(s) = self.intervals.check_storage_node_response_times {
            t += &format!("probe_interval_secs = {}\n", s.max(1));
        }
        if let Some(ms) = self.limits.outbound_requests_timeout_ms {
            t += &format!("probe_timeout_secs = {}\n", ms.div_ceil(1000).max(1));
        }
        if let Some(n) = self.limits.max_concurrent_storage_node_downloads {
            t += &format!(
                "\n[dataplane]\nmax_concurrent_fills = {}\n",
                n.clamp(1, 65535)
            );
        }
        t += "\n# Argus settings with no Hecaton key:\n";
        t += "#   endpoints.storageSquid: not needed, Hecaton reads the chain itself\n";
        t += "#   directories.cacheState: the cache's state is kept in store_dir\n";
        if self.logs.is_some() {
            t += "#   logs: logs go to stderr (`--log-format json` for a shipper)\n";
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributor::config::{DistributionBuckets, DistributorConfig};
    use crate::node::config::NodeConfig;

    const ARGUS: &str = r#"
id: argus-eu-1
endpoints:
  queryNode: http://localhost:8081/graphql
  storageSquid: http://squid:4352/graphql
  joystreamNodeWs: wss://rpc.joystream.org:9944
directories:
  assets: ./local/data
  cacheState: ./local/cache
logs:
  console:
    level: verbose
limits:
  storage: 100G
  maxConcurrentStorageNodeDownloads: 100
  maxConcurrentOutboundConnections: 300
  outboundRequestsTimeoutMs: 5000
  pendingDownloadTimeoutSec: 3600
  maxCachedItemSize: 1G
intervals:
  saveCacheState: 60
  checkStorageNodeResponseTimes: 60
  cacheCleanup: 86400
publicApi:
  port: 3334
operatorApi:
  port: 3335
  hmacSecret: a-secret-of-at-least-thirty-two-bytes!
buckets:
  - "1:0"
  - "1:1"
workerId: 7
"#;

    #[test]
    fn an_argus_config_becomes_a_valid_distributor_toml() {
        let a = parse(ARGUS).unwrap();
        assert_eq!(
            a.assets_dir(Path::new("/etc/argus/config.yml")),
            Path::new("/etc/argus/local/data")
        );
        let text = a
            .to_toml(
                &a.endpoints.joystream_node_ws,
                Path::new("/var/lib/hecaton/cache"),
            )
            .unwrap();
        let c = DistributorConfig::parse(&text, Path::new("d.toml"), std::iter::empty())
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(c.id, "argus-eu-1");
        assert_eq!(c.worker_id, Some(7));
        assert!(matches!(c.buckets, DistributionBuckets::Only(ref b) if b.len() == 2));
        assert_eq!(c.cache.size_mib, 100 << 10);
        assert_eq!(c.cache.max_cached_item_mib, 1 << 10);
        assert_eq!(c.sources.probe_timeout_secs, 5);
        assert_eq!(c.operator_secret, "a-secret-of-at-least-thirty-two-bytes!");
        assert_eq!(c.public_listen.port(), 3334);
    }

    #[test]
    fn byte_sizes_are_powers_of_1024() {
        assert_eq!(size_mib("20G").unwrap(), 20 << 10);
        assert_eq!(size_mib("1M").unwrap(), 1);
        assert_eq!(size_mib("512K").unwrap(), 1, "at least 1 MiB");
        assert!(size_mib("5X").is_err());
        assert!(size_mib("G").is_err());
    }
}
