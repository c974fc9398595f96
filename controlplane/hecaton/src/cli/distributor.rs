//! `hecaton distributor-node --config FILE`: run a distributor's control plane (and its data
//! plane); `hecaton distributor-api ...`: Argus's signed operator calls against a running one.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use hecaton_controlplane::chain;
use hecaton_controlplane::distributor::{self, config::DistributorConfig, jwt};
use serde_json::{json, Value};

use super::config_file::ConfigFileArgs;
use super::migrate::DistributorMigrateCmd;
use super::storage_node::shutdown_signal;

/// Run a distributor.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct DistributorNodeCmd {
    #[command(subcommand)]
    sub: Option<DistributorNodeSub>,
    #[command(flatten)]
    file: ConfigFileArgs,
}

#[derive(Subcommand, Debug)]
enum DistributorNodeSub {
    /// Switch an Argus node to Hecaton: write distributor.toml from its config.yml.
    Migrate(DistributorMigrateCmd),
}

impl DistributorNodeCmd {
    /// Runs the command.
    pub async fn run(self) -> anyhow::Result<()> {
        if let Some(DistributorNodeSub::Migrate(cmd)) = self.sub {
            return cmd.run();
        }
        let Some(config) = self
            .file
            .load::<DistributorConfig>(distributor::config::EXAMPLE)?
        else {
            return Ok(());
        };
        if self.file.check_config {
            println!("configuration OK: {}", config.summary());
            return Ok(());
        }
        let chain = chain::connect(&config.chain, &config.joystream, &config.store_dir)?;
        distributor::run(chain, config, shutdown_signal()).await?;
        Ok(())
    }
}

/// A signed call to a distributor's operator API (Argus's `node:*` commands).
#[derive(Args, Debug)]
pub struct DistributorApiCmd {
    /// The operator API, e.g. http://127.0.0.1:3335.
    #[arg(long, short = 'u', default_value = "http://127.0.0.1:3335")]
    url: String,
    /// The HMAC secret (the node's operator_secret); never logged.
    #[arg(
        long,
        short = 's',
        env = "HECATON_OPERATOR_SECRET",
        hide_env_values = true
    )]
    secret: String,
    #[command(subcommand)]
    call: Call,
}

#[derive(Subcommand, Debug)]
enum Call {
    /// Close the public API.
    StopPublicApi,
    /// Open the public API again.
    StartPublicApi,
    /// Stop the node (in five seconds).
    Shutdown,
    /// Serve the buckets of another worker.
    SetWorker {
        /// The distribution worker id.
        #[arg(long, short = 'w')]
        worker_id: u64,
    },
    /// Serve these buckets, or (`--all`) every bucket of the worker.
    SetBuckets {
        /// Bucket ids `<family>:<index>`.
        #[arg(
            long = "bucket-ids",
            value_delimiter = ',',
            required_unless_present = "all"
        )]
        bucket_ids: Vec<String>,
        /// Every bucket the worker operates.
        #[arg(long, conflicts_with = "bucket_ids")]
        all: bool,
    },
}

impl DistributorApiCmd {
    /// Sends the call.
    pub async fn run(self) -> anyhow::Result<()> {
        let (path, body): (&str, Value) = match &self.call {
            Call::StopPublicApi => ("/api/v1/stop-api", json!({})),
            Call::StartPublicApi => ("/api/v1/start-api", json!({})),
            Call::Shutdown => ("/api/v1/shutdown", json!({})),
            Call::SetWorker { worker_id } => {
                ("/api/v1/set-worker", json!({ "workerId": worker_id }))
            }
            Call::SetBuckets { all: true, .. } => ("/api/v1/set-buckets", json!({})),
            Call::SetBuckets { bucket_ids, .. } => {
                ("/api/v1/set-buckets", json!({ "buckets": bucket_ids }))
            }
        };
        let token = jwt::sign(&self.secret, path, &body)?;
        let response = hecaton_controlplane::node::peer_http::tool_client()
            .post(format!("{}{path}", self.url.trim_end_matches('/')))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("calling {}", self.url))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("{path}: {status} {text}");
        }
        println!("{path}: done");
        Ok(())
    }
}
