//! A Colossus node's settings, from its `storage-node server` command line and environment
//! (Colossus's command-line flags), turned into a Hecaton `node.toml`.
//!
//! Secrets (`--accountUri`, `--password`) are never written to the file: the generated
//! configuration says which environment variable to set instead (a dev URI such as
//! `//StorageTransactor0` against the embedded chain is an account name, and is written).

use std::collections::HashMap;
use std::path::PathBuf;

use super::MigrateError;

/// How a Colossus flag takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Takes {
    Value,
    Switch,
}

/// Every `storage-node server` flag: long name, short name, what it takes.
const FLAGS: &[(&str, Option<char>, Takes)] = &[
    ("worker", Some('w'), Takes::Value),
    ("buckets", Some('b'), Takes::Value),
    ("uploads", Some('d'), Takes::Value),
    ("tempFolder", None, Takes::Value),
    ("pendingFolder", None, Takes::Value),
    ("port", Some('o'), Takes::Value),
    ("sync", Some('s'), Takes::Switch),
    ("syncInterval", Some('i'), Takes::Value),
    ("syncRetryInterval", None, Takes::Value),
    ("syncBatchSize", None, Takes::Value),
    ("syncWorkersNumber", Some('r'), Takes::Value),
    ("syncWorkersTimeout", Some('t'), Takes::Value),
    ("cleanup", Some('c'), Takes::Switch),
    ("cleanupInterval", None, Takes::Value),
    ("cleanupBatchSize", None, Takes::Value),
    ("cleanupWorkersNumber", None, Takes::Value),
    ("storageSquidEndpoint", Some('q'), Takes::Value),
    ("elasticSearchEndpoint", Some('e'), Takes::Value),
    ("elasticSearchIndexPrefix", None, Takes::Value),
    ("elasticSearchUser", None, Takes::Value),
    ("elasticSearchPassword", None, Takes::Value),
    ("logFilePath", Some('l'), Takes::Value),
    ("logMaxFileNumber", Some('n'), Takes::Value),
    ("logMaxFileSize", Some('x'), Takes::Value),
    ("logFileChangeFrequency", Some('z'), Takes::Value),
    ("maxBatchTxSize", None, Takes::Value),
    ("apiUrl", Some('u'), Takes::Value),
    ("keyFile", Some('k'), Takes::Value),
    ("keyStore", None, Takes::Value),
    ("password", Some('p'), Takes::Value),
    ("accountUri", Some('y'), Takes::Value),
    ("dev", Some('m'), Takes::Switch),
];

/// What a Colossus node was run with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColossusSettings {
    /// `--worker`.
    pub worker: u64,
    /// `--buckets`, if given.
    pub buckets: Option<Vec<u64>>,
    /// `--uploads`.
    pub uploads: PathBuf,
    /// `--pendingFolder` (default `<uploads>/pending`): uploads not accepted yet.
    pub pending: PathBuf,
    /// `--port`.
    pub port: u16,
    /// `--sync`.
    pub sync: bool,
    /// `--syncWorkersNumber`.
    pub sync_workers: Option<u16>,
    /// `--cleanup` or `CLEANUP=true`.
    pub cleanup: bool,
    /// `CLEANUP_MIN_REPLICATION_THRESHOLD`.
    pub min_replication: Option<u32>,
    /// `--maxBatchTxSize`.
    pub max_batch_tx_size: Option<usize>,
    /// `--apiUrl` (default `ws://localhost:9944`).
    pub api_url: String,
    /// `--accountUri` values and `ACCOUNT_URI` (secrets: never printed or written).
    pub account_uris: Vec<String>,
    /// `--keyFile`.
    pub key_file: Option<PathBuf>,
    /// Whether a password was given (`--password`, `ACCOUNT_PWD`).
    pub has_password: bool,
    /// Settings with no Hecaton equivalent: (flag, what to do instead).
    pub notes: Vec<(String, String)>,
}

/// Parses a Colossus command line (`storage-node server …`, or just its flags; `--flag value`,
/// `--flag=value`, `-f value`) with the environment it ran in.
pub fn parse(
    args: &[String],
    env: &HashMap<String, String>,
) -> Result<ColossusSettings, MigrateError> {
    let mut values: HashMap<&'static str, Vec<String>> = HashMap::new();
    let mut i = 0;
    // Leading words (`storage-node`, `server`, a path to colossus) are not flags.
    while i < args.len() && !args[i].starts_with('-') {
        i += 1;
    }
    while i < args.len() {
        let arg = &args[i];
        let (name, inline) = if let Some(long) = arg.strip_prefix("--") {
            match long.split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (long.to_owned(), None),
            }
        } else if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            let mut chars = short.chars();
            let c = chars.next().expect("not empty");
            let rest: String = chars.collect();
            let long = FLAGS
                .iter()
                .find(|(_, s, _)| *s == Some(c))
                .map(|(l, _, _)| (*l).to_owned())
                .ok_or_else(|| MigrateError::UnknownFlag(arg.clone()))?;
            (long, (!rest.is_empty()).then_some(rest))
        } else {
            return Err(MigrateError::UnknownFlag(arg.clone()));
        };
        let &(long, _, takes) = FLAGS
            .iter()
            .find(|(l, _, _)| *l == name)
            .ok_or_else(|| MigrateError::UnknownFlag(arg.clone()))?;
        let value = match (takes, inline) {
            (Takes::Switch, None) => "true".to_owned(),
            (Takes::Switch, Some(v)) | (Takes::Value, Some(v)) => v,
            (Takes::Value, None) => {
                i += 1;
                args.get(i)
                    .cloned()
                    .ok_or_else(|| MigrateError::MissingValue(long.to_owned()))?
            }
        };
        values.entry(long).or_default().push(value);
        i += 1;
    }
    let one = |k: &str| values.get(k).and_then(|v| v.last()).cloned();
    let number = |k: &'static str| -> Result<Option<u64>, MigrateError> {
        one(k)
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| MigrateError::BadValue(k.to_owned(), v))
            })
            .transpose()
    };
    let worker = number("worker")?.ok_or(MigrateError::Required("--worker"))?;
    let uploads = PathBuf::from(one("uploads").ok_or(MigrateError::Required("--uploads"))?);
    let port = number("port")?.ok_or(MigrateError::Required("--port"))?;
    let port =
        u16::try_from(port).map_err(|_| MigrateError::BadValue("port".into(), port.to_string()))?;
    let buckets = one("buckets")
        .map(|list| {
            list.split(',')
                .map(|b| {
                    b.trim()
                        .parse::<u64>()
                        .map_err(|_| MigrateError::BadValue("buckets".into(), list.clone()))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let mut account_uris = values.get("accountUri").cloned().unwrap_or_default();
    if let Some(uri) = env.get("ACCOUNT_URI") {
        account_uris.push(uri.clone());
    }
    let cleanup = one("cleanup").is_some() || env.get("CLEANUP").is_some_and(|v| v == "true");
    let min_replication = env
        .get("CLEANUP_MIN_REPLICATION_THRESHOLD")
        .map(|v| {
            v.parse::<u32>().map_err(|_| {
                MigrateError::BadValue("CLEANUP_MIN_REPLICATION_THRESHOLD".into(), v.clone())
            })
        })
        .transpose()?;
    let mut notes = Vec::new();
    let mut note = |flag: &str, what: &str| notes.push((flag.to_owned(), what.to_owned()));
    for (flag, what) in [
        (
            "storageSquidEndpoint",
            "not needed: Hecaton reads the chain itself",
        ),
        (
            "elasticSearchEndpoint",
            "ship `--log-format json` lines with your log shipper",
        ),
        (
            "logFilePath",
            "logs go to stderr (journald under systemd); see docs/observability.md",
        ),
        (
            "syncInterval",
            "Hecaton follows the chain block by block instead of polling",
        ),
        (
            "cleanupInterval",
            "Hecaton removes objects as the chain unassigns them",
        ),
        ("tempFolder", "Hecaton keeps temp files in <store_dir>/tmp"),
        ("keyStore", "give one key file in [joystream] key_file"),
        (
            "syncWorkersTimeout",
            "Hecaton cuts slow peers by rate (fetch_min_bytes_per_sec)",
        ),
    ] {
        if values.contains_key(flag) {
            note(flag, what);
        }
    }
    let pending = one("pendingFolder")
        .map(PathBuf::from)
        .unwrap_or_else(|| uploads.join("pending"));
    Ok(ColossusSettings {
        worker,
        buckets,
        pending,
        uploads,
        port,
        sync: one("sync").is_some(),
        sync_workers: number("syncWorkersNumber")?.map(|n| n.min(u64::from(u16::MAX)) as u16),
        cleanup,
        min_replication,
        max_batch_tx_size: number("maxBatchTxSize")?.map(|n| n as usize),
        api_url: one("apiUrl").unwrap_or_else(|| "ws://localhost:9944".to_owned()),
        account_uris,
        key_file: one("keyFile").map(PathBuf::from),
        has_password: values.contains_key("password") || env.contains_key("ACCOUNT_PWD"),
        notes,
    })
}

/// Quotes a TOML string.
fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

impl ColossusSettings {
    /// The `node.toml` for these settings, talking to `chain` (the Colossus `--apiUrl` unless
    /// overridden) and storing in `store_dir`.
    pub fn to_toml(&self, chain: &str, store_dir: &std::path::Path) -> String {
        let embedded = !chain.starts_with("ws://") && !chain.starts_with("wss://");
        let mut t = String::from(
            "# Written by `hecaton storage-node migrate` from a Colossus node's settings.\n\
             # See `hecaton storage-node --print-example-config` for every key.\n\n",
        );
        t += &format!("worker_id = {}\n", self.worker);
        match &self.buckets {
            Some(ids) => t += &format!("buckets = {ids:?}\n"),
            None => t += "buckets = \"all\"\n",
        }
        t += &format!("chain = {}\n", quote(chain));
        let dev_uri = self.account_uris.iter().find(|u| u.starts_with("//"));
        match dev_uri {
            Some(uri) if embedded => t += &format!("transactor = {}\n", quote(uri)),
            _ if embedded => {
                t += "# transactor = \"...\"  # the buckets' transactor account (SS58)\n";
            }
            _ => {}
        }
        t += &format!("store_dir = {}\n", quote(&store_dir.display().to_string()));
        t += &format!("public_listen = \"0.0.0.0:{}\"\n", self.port);
        t += "operator_listen = \"127.0.0.1:3339\"\nshards = 0\n";
        if !embedded {
            t += "\n[joystream]\n";
            if let Some(key) = &self.key_file {
                t += &format!("key_file = {}\n", quote(&key.display().to_string()));
            }
            if self.has_password {
                t += "# Colossus had --password / ACCOUNT_PWD: set HECATON_JOYSTREAM_KEY_PASSWORD.\n";
            }
            if !self.account_uris.is_empty() {
                t +=
                    "# Colossus had --accountUri / ACCOUNT_URI: set HECATON_JOYSTREAM_SURI to it\n\
                      # (never written here; a service's EnvironmentFile, mode 0600).\n";
            }
        }
        if let Some(n) = self.max_batch_tx_size {
            t += &format!("\n[accept]\nbatch_size = {n}\n");
        }
        t += "\n[sync]\n";
        if !self.sync {
            t += "# Colossus ran without --sync; Hecaton always keeps its bags complete.\n";
        }
        if let Some(n) = self.sync_workers {
            t += &format!("concurrency = {}\n", n.max(1));
        }
        t += &format!("\n[cleanup]\nenabled = {}\n", self.cleanup);
        if let Some(n) = self.min_replication {
            t += &format!("min_replication = {n}\n");
        }
        if !self.notes.is_empty() {
            t += "\n# Colossus settings with no Hecaton key:\n";
            for (flag, what) in &self.notes {
                t += &format!("#   --{flag}: {what}\n");
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::node::config::NodeConfig;
    use crate::storage_node::config::{Buckets, StorageNodeConfig};

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn a_colossus_command_line_becomes_a_valid_node_toml() {
        let env = HashMap::from([
            ("CLEANUP".to_owned(), "true".to_owned()),
            ("ACCOUNT_URI".to_owned(), "//StorageTransactor0".to_owned()),
        ]);
        let s = parse(
            &args(
                "storage-node server -w 1 --buckets=0,2 -d /data/uploads --port 3333 --sync \
                 -r 30 --maxBatchTxSize 10 -q http://squid:4352/graphql -e http://es:9200",
            ),
            &env,
        )
        .unwrap();
        assert_eq!(s.worker, 1);
        assert_eq!(s.buckets, Some(vec![0, 2]));
        assert_eq!(s.uploads, Path::new("/data/uploads"));
        assert_eq!(s.pending, Path::new("/data/uploads/pending"));
        assert_eq!((s.port, s.sync, s.cleanup), (3333, true, true));
        assert_eq!(s.notes.len(), 2);
        let text = s.to_toml(
            "http://127.0.0.1:9955",
            Path::new("/data/uploads/hecaton-store"),
        );
        let c = StorageNodeConfig::parse(&text, Path::new("node.toml"), std::iter::empty())
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(c.worker_id, 1);
        assert_eq!(c.buckets, Buckets::Only(vec![0, 2]));
        assert_eq!(c.public_listen.port(), 3333);
        assert_eq!(c.accept.batch_size, 10);
        assert_eq!(c.sync.concurrency, 30);
        assert!(c.cleanup.enabled);
        assert!(c.transactor.is_some());
    }

    #[test]
    fn secrets_never_reach_the_file_against_a_joystream_node() {
        let s = parse(
            &args("server -w 3 -d /u -o 3333 -y //Alice -p hunter2 -k /keys/k.json"),
            &HashMap::new(),
        )
        .unwrap();
        let text = s.to_toml(
            "wss://rpc.joystream.org:9944",
            Path::new("/u/hecaton-store"),
        );
        assert!(
            !text.contains("Alice") && !text.contains("hunter2"),
            "{text}"
        );
        assert!(text.contains("HECATON_JOYSTREAM_SURI"), "{text}");
        assert!(text.contains("key_file = \"/keys/k.json\""), "{text}");
        StorageNodeConfig::parse(&text, Path::new("node.toml"), std::iter::empty())
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
    }

    #[test]
    fn unknown_flags_and_missing_values_are_named() {
        let e = parse(&args("-w 1 -d /u -o 1 --frobnicate"), &HashMap::new()).unwrap_err();
        assert!(e.to_string().contains("--frobnicate"), "{e}");
        let e = parse(&args("-w 1 -d /u --port"), &HashMap::new()).unwrap_err();
        assert!(e.to_string().contains("port"), "{e}");
        let e = parse(&args("-d /u -o 1"), &HashMap::new()).unwrap_err();
        assert!(e.to_string().contains("--worker"), "{e}");
    }
}
