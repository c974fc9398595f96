//! Loading a node's TOML configuration: unknown keys are errors (each config struct denies
//! them), and any field can be overridden from the environment: a top-level one by
//! `HECATON_<FIELD>` (`HECATON_WORKER_ID=3`), one of a table by `HECATON_<TABLE>_<FIELD>`
//! (`HECATON_ACCEPT_BATCH_SIZE=50`). A value is taken as TOML if it parses as one, else as a
//! string.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not valid TOML, an unknown key, or a value of the wrong type.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its place.
        message: String,
    },
    /// An environment override is not usable.
    #[error("environment variable {name}: {message}")]
    Env {
        /// The variable.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A value is out of its range.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// The keys of a configuration file that the environment may override.
#[derive(Debug, Clone, Copy)]
pub struct Keys {
    /// Top-level fields.
    pub top_level: &'static [&'static str],
    /// Tables.
    pub tables: &'static [&'static str],
}

/// A node role's configuration file: the keys the environment may override and the checks its
/// types cannot make; reading, overriding and validating are the same for every role.
pub trait NodeConfig: DeserializeOwned {
    /// The keys `HECATON_*` variables may override.
    const KEYS: Keys;

    /// Checks the values beyond their types.
    fn validate(&self) -> Result<(), ConfigError>;

    /// Reads `path`, applies `HECATON_*` overrides from `env`, and validates.
    fn load(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path, env)
    }

    /// Parses `text` (named `path` in errors), applies the overrides and validates.
    fn parse(
        text: &str,
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let config: Self = deserialize(text, path, env, Self::KEYS)?;
        config.validate()?;
        Ok(config)
    }
}

/// Parses `text` (named `path` in errors) and applies the overrides.
fn deserialize<T: DeserializeOwned>(
    text: &str,
    path: &Path,
    env: impl IntoIterator<Item = (String, String)>,
    keys: Keys,
) -> Result<T, ConfigError> {
    let parse_err = |message: String| ConfigError::Parse {
        path: path.to_owned(),
        message,
    };
    let mut table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| parse_err(e.to_string()))?;
    for (name, value) in env {
        let Some(key) = name.strip_prefix("HECATON_") else {
            continue;
        };
        override_key(&mut table, &key.to_ascii_lowercase(), &value, keys).map_err(|message| {
            ConfigError::Env {
                name: name.clone(),
                message,
            }
        })?;
    }
    table
        .try_into()
        .map_err(|e: toml::de::Error| parse_err(e.to_string()))
}

/// Sets `key` (`worker_id`, or `accept_batch_size` for `[accept] batch_size`) from text.
fn override_key(table: &mut toml::Table, key: &str, value: &str, keys: Keys) -> Result<(), String> {
    let parsed: toml::Value = format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()));
    for section in keys.tables {
        if let Some(field) = key.strip_prefix(section).and_then(|k| k.strip_prefix('_')) {
            let entry = table
                .entry(section.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(t) = entry else {
                return Err(format!("[{section}] is not a table"));
            };
            t.insert(field.to_string(), parsed);
            return Ok(());
        }
    }
    // Other `HECATON_*` variables belong to other commands (`HECATON_ACCOUNT` is the CLI's
    // `--as`); only this file's top-level fields are overridden.
    if keys.top_level.contains(&key) {
        table.insert(key.to_string(), parsed);
    }
    Ok(())
}

/// `[joystream]`: what a node needs only against a Joystream node (`chain = "wss://…"`). The
/// key material is never logged; give it through the environment
/// (`HECATON_JOYSTREAM_SURI`, `HECATON_JOYSTREAM_KEY_PASSWORD`) rather than the file.
#[derive(Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoystreamSection {
    /// A key file: a polkadot-js / Joystream CLI JSON export, or a text file with a SURI.
    #[serde(default)]
    pub key_file: String,
    /// The JSON key file's password.
    #[serde(default)]
    pub key_password: String,
    /// A SURI or mnemonic (instead of a key file).
    #[serde(default)]
    pub suri: String,
    /// More key files, one per bucket transactor (Colossus's repeated `--keyFile`); the
    /// password is tried on each.
    #[serde(default)]
    pub key_files: Vec<String>,
    /// A directory whose `*.json` files are all key files (Colossus's `--keyStore`).
    #[serde(default)]
    pub key_store: String,
    /// More SURIs or mnemonics (Colossus's repeated `--accountUri`). Never logged.
    #[serde(default)]
    pub suris: Vec<String>,
    /// Storage bucket id → endpoint, used over what operators publish (the chain keeps
    /// operator metadata only in events, so a new node learns endpoints as they are set).
    #[serde(default)]
    pub endpoints: std::collections::BTreeMap<String, String>,
    /// Where learned operator metadata is kept; empty: `operators.json` in the node's directory.
    #[serde(default)]
    pub directory_file: String,
    /// A Storage-Squid GraphQL URL to read every bucket's endpoint from at start (as Colossus
    /// 4.x and Argus 2.x do); empty: none.
    #[serde(default)]
    pub squid_url: String,
    /// Without a squid: scan the blocks from this one on for operator metadata at start (an
    /// archive node is needed for old blocks); resumed after an interruption.
    #[serde(default)]
    pub scan_from_block: Option<u64>,
    /// The most blocks such a scan reads (the newest).
    #[serde(default = "default_scan_max_blocks")]
    pub scan_max_blocks: u64,
}

/// Two weeks of 6 s blocks: a bound on how long a first start may scan.
fn default_scan_max_blocks() -> u64 {
    201_600
}

impl std::fmt::Debug for JoystreamSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoystreamSection")
            .field("key_file", &self.key_file)
            .field("key_password", &"<redacted>")
            .field("suri", &"<redacted>")
            .field("key_files", &self.key_files)
            .field("key_store", &self.key_store)
            .field("suris", &format_args!("<{} redacted>", self.suris.len()))
            .field("endpoints", &self.endpoints)
            .field("directory_file", &self.directory_file)
            .field("squid_url", &self.squid_url)
            .field("scan_from_block", &self.scan_from_block)
            .field("scan_max_blocks", &self.scan_max_blocks)
            .finish()
    }
}

impl JoystreamSection {
    /// Whether a key was given.
    pub fn has_key(&self) -> bool {
        !self.key_file.is_empty()
            || !self.suri.is_empty()
            || !self.key_files.is_empty()
            || !self.key_store.is_empty()
            || !self.suris.is_empty()
    }

    /// Every key file named: `key_file`, `key_files`, then the `*.json` files of `key_store`
    /// in name order.
    pub fn all_key_files(&self) -> Result<Vec<PathBuf>, ConfigError> {
        let mut files: Vec<PathBuf> = std::iter::once(&self.key_file)
            .chain(&self.key_files)
            .filter(|f| !f.is_empty())
            .map(PathBuf::from)
            .collect();
        if !self.key_store.is_empty() {
            let dir = Path::new(&self.key_store);
            let entries = std::fs::read_dir(dir).map_err(|source| ConfigError::Read {
                path: dir.to_owned(),
                source,
            })?;
            let mut stored: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            stored.sort();
            files.extend(stored);
        }
        Ok(files)
    }

    /// The endpoints by bucket id.
    pub fn endpoints(&self) -> Result<std::collections::BTreeMap<u64, String>, ConfigError> {
        self.endpoints
            .iter()
            .map(|(k, v)| {
                let id = k.parse::<u64>().map_err(|_| ConfigError::Invalid {
                    field: "joystream.endpoints",
                    message: format!("{k:?} is not a storage bucket id"),
                })?;
                url::Url::parse(v).map_err(|e| ConfigError::Invalid {
                    field: "joystream.endpoints",
                    message: format!("bucket {id}: {v:?}: {e}"),
                })?;
                Ok((id, v.clone()))
            })
            .collect()
    }
}
