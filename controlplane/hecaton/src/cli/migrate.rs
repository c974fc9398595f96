//! `hecaton storage-node migrate` and `hecaton distributor-node migrate`: switching a Colossus
//! or Argus node to Hecaton (docs/migrating-from-colossus.md).
//!
//! The storage node's migration writes `node.toml` from the Colossus command line and
//! environment, checks the worker against the chain (it must operate a bucket), writes what the
//! chain declares for every object of the worker's bags, and has the data plane adopt the
//! uploads directory: `hecaton dataplane import --move --expect` renames each file that matches
//! its object's size and content id into the store (same filesystem: no byte is copied) and
//! leaves every other file where it was, listed in the report. The control plane never reads
//! the files.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use clap::Args;
use hecaton_controlplane::chain::{self, Chain};
use hecaton_controlplane::distributor::config::DistributorConfig;
use hecaton_controlplane::migrate::{argus, colossus, expectations};
use hecaton_controlplane::node::config::NodeConfig;
use hecaton_controlplane::node::obligations::Obligations;
use hecaton_controlplane::storage_node::check_worker;
use hecaton_controlplane::storage_node::config::StorageNodeConfig;

/// Switch a Colossus node to Hecaton.
#[derive(Args, Debug)]
pub struct StorageMigrateCmd {
    /// Where to write the node's configuration.
    #[arg(long, default_value = "node.toml")]
    out: PathBuf,
    /// The store directory; it must be on the uploads directory's filesystem (files are
    /// renamed, not copied). Default: `<uploads>/hecaton-store`.
    #[arg(long)]
    store: Option<PathBuf>,
    /// The chain to check against, if not Colossus's `--apiUrl` (e.g. `http://127.0.0.1:9955`
    /// for `hecaton chain`).
    #[arg(long)]
    chain: Option<String>,
    /// Copy the files into the store instead of moving them (the uploads directory stays as
    /// it was; needs as much free space again).
    #[arg(long)]
    copy: bool,
    /// Overwrite `--out` if it exists.
    #[arg(long)]
    force: bool,
    /// The Colossus command line, after `--`: `storage-node server -w 1 -d /data/uploads
    /// -o 3333 ...`. Its environment (ACCOUNT_URI, CLEANUP, ...) is read from this process's.
    #[arg(last = true, required = true)]
    colossus: Vec<String>,
}

impl StorageMigrateCmd {
    /// Runs the migration.
    pub async fn run(self) -> anyhow::Result<()> {
        let env: std::collections::HashMap<String, String> = std::env::vars().collect();
        let settings = colossus::parse(&self.colossus, &env)?;
        let uploads = std::path::absolute(&settings.uploads)?;
        if !uploads.is_dir() {
            bail!("the uploads directory {} does not exist", uploads.display());
        }
        let store = match &self.store {
            Some(s) => std::path::absolute(s)?,
            None => uploads.join("hecaton-store"),
        };
        let chain_url = self
            .chain
            .clone()
            .unwrap_or_else(|| settings.api_url.clone());
        let text = settings.to_toml(&chain_url, &store);
        let config = StorageNodeConfig::parse(&text, &self.out, std::iter::empty())
            .with_context(|| format!("the generated configuration is invalid:\n{text}"))?;
        if self.out.exists() && !self.force {
            bail!(
                "{} exists; pass --force to overwrite it",
                self.out.display()
            );
        }

        let chain = chain::connect(&config.chain, &config.joystream, &store)?;
        let scope = config.scope();
        let operated = check_worker(&chain, &scope).await?;
        // Written once the chain agrees, so a run stopped by a wrong worker id leaves no file
        // that the next run would have to --force over.
        write_new(&self.out, &text, true)?;
        println!("wrote {}", self.out.display());
        for (flag, what) in &settings.notes {
            println!("  --{flag}: {what}");
        }
        let head = chain.finalized_block().await?;
        let ob = Obligations::read(&chain, &scope, head).await?;
        let (expected, objects) = expectations(&ob);
        println!(
            "chain: worker {} operates bucket(s) {operated:?}; {} bags, {objects} objects at block {head}",
            config.worker_id,
            ob.bags.len()
        );
        let work = store.join("migrate");
        std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
        let expect_file = work.join("expected.txt");
        let report = work.join("left-out.tsv");
        std::fs::write(&expect_file, expected)?;

        // Colossus's pending folder holds uploads it had not accepted yet: adopted with the
        // same checks, the node accepts them on chain once it runs (its store's inventory).
        let pending = std::path::absolute(&settings.pending)?;
        let mut import = Command::new(std::env::current_exe()?);
        import
            .args(["dataplane", "import", "--store"])
            .arg(&store)
            .arg("--expect")
            .arg(&expect_file)
            .arg("--report")
            .arg(&report);
        if !self.copy {
            import.arg("--move");
        }
        import.arg(&uploads);
        if pending.is_dir() {
            import.arg(&pending);
        }
        // A run cut between its renames and its index append left files in objects/ that the
        // index does not know: the next run adopts them (checked like the others).
        let objects = store.join("objects");
        if objects.is_dir() {
            import.arg(&objects);
        }
        let status = import.status().context("running the import")?;
        match status.code().map(|c| u8::try_from(c).unwrap_or(1)) {
            Some(0) => {
                println!("adopted every file; start the node with: hecaton storage-node --config {}", self.out.display());
                Ok(())
            }
            Some(hecaton_shared::exit_code::MIGRATE_LEFT_OUT) => Err(LeftOut(report).into()),
            _ => bail!("the import failed ({status}); the store keeps what it published, and running migrate again resumes"),
        }
    }
}

/// Files were left out of a migration (listed in the report).
#[derive(Debug, thiserror::Error)]
#[error("some files do not match the chain and were left out (never served): see {}", .0.display())]
pub struct LeftOut(pub PathBuf);

/// Writes `text` to `path`, refusing to overwrite without `force`.
fn write_new(path: &Path, text: &str, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        bail!("{} exists; pass --force to overwrite it", path.display());
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Switch an Argus node to Hecaton.
#[derive(Args, Debug)]
pub struct DistributorMigrateCmd {
    /// Argus's configuration file.
    #[arg(long, default_value = "config.yml")]
    argus_config: PathBuf,
    /// Where to write the distributor's configuration.
    #[arg(long, default_value = "distributor.toml")]
    out: PathBuf,
    /// The cache directory. Default: `<directories.assets>/hecaton-cache`.
    #[arg(long)]
    store: Option<PathBuf>,
    /// The chain, if not Argus's `endpoints.joystreamNodeWs`.
    #[arg(long)]
    chain: Option<String>,
    /// Overwrite `--out` if it exists.
    #[arg(long)]
    force: bool,
}

impl DistributorMigrateCmd {
    /// Writes the configuration (the cache starts empty and fills on demand, as Argus's does
    /// after a cache state is lost).
    pub fn run(self) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(&self.argus_config)
            .with_context(|| format!("reading {}", self.argus_config.display()))?;
        let a = argus::parse(&text)?;
        let config_path = std::path::absolute(&self.argus_config)?;
        let store = match &self.store {
            Some(s) => std::path::absolute(s)?,
            None => a.assets_dir(&config_path).join("hecaton-cache"),
        };
        let chain = self
            .chain
            .clone()
            .unwrap_or_else(|| a.endpoints.joystream_node_ws.clone());
        let out = a.to_toml(&chain, &store)?;
        DistributorConfig::parse(&out, &self.out, std::iter::empty())
            .with_context(|| format!("the generated configuration is invalid:\n{out}"))?;
        write_new(&self.out, &out, self.force)?;
        println!(
            "wrote {}; start the node with: hecaton distributor-node --config {}",
            self.out.display(),
            self.out.display()
        );
        Ok(())
    }
}
