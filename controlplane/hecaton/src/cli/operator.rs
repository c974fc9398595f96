//! `hecaton operator storage|distribution ...`: bucket operators' calls (Colossus and Argus
//! `operator:*`). Signed by the worker's role account.

use clap::{Args, Subcommand};
use hecaton_controlplane::account::AccountId;
use hecaton_controlplane::chain::Chain;
use hecaton_emulator::embedded::bootstrap::{distribution_worker, storage_worker};
use hecaton_emulator::runtime::call::StorageCall;
use hecaton_emulator::runtime::metadata::{GeoCoordinates, NodeLocationMetadata, OperatorMetadata};
use hecaton_emulator::runtime::storage::types::Bytes;
use hecaton_emulator::runtime::{Call, Origin};
use hecaton_shared::DistributionBucketId;
use prost::Message;

use super::output;
use super::ChainArgs;

/// Operator commands, by working group.
#[derive(Subcommand, Debug)]
pub enum Operator {
    /// Storage bucket operators.
    #[command(subcommand)]
    Storage(StorageOperator),
    /// Distribution bucket operators.
    #[command(subcommand)]
    Distribution(DistributionOperator),
}

/// What `set-metadata` publishes (`StorageBucketOperatorMetadata` /
/// `DistributionBucketOperatorMetadata`). Absent fields are left as they are.
#[derive(Args, Debug)]
pub struct MetadataArgs {
    /// Root URL of the node (clients append `api/v1/`).
    #[arg(long)]
    endpoint: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[arg(long)]
    country: Option<String>,
    /// City.
    #[arg(long)]
    city: Option<String>,
    /// Latitude, degrees.
    #[arg(long, requires = "longitude")]
    latitude: Option<f32>,
    /// Longitude, degrees.
    #[arg(long, requires = "latitude")]
    longitude: Option<f32>,
    /// Free-form operator information.
    #[arg(long)]
    extra: Option<String>,
}

impl MetadataArgs {
    fn encode(self) -> Bytes {
        let has_location = self.country.is_some() || self.city.is_some() || self.latitude.is_some();
        let metadata = OperatorMetadata {
            endpoint: self.endpoint,
            location: has_location.then(|| NodeLocationMetadata {
                country_code: self.country,
                city: self.city,
                coordinates: self
                    .latitude
                    .zip(self.longitude)
                    .map(|(latitude, longitude)| GeoCoordinates {
                        latitude: Some(latitude),
                        longitude: Some(longitude),
                    }),
            }),
            extra: self.extra,
        };
        Bytes(metadata.encode_to_vec())
    }
}

/// Storage operator commands.
#[derive(Subcommand, Debug)]
#[allow(missing_docs)]
pub enum StorageOperator {
    /// Accept a bucket invitation and name the transactor account (signs acceptances).
    AcceptInvitation {
        #[arg(long)]
        worker: u64,
        #[arg(long)]
        bucket: u64,
        #[arg(long)]
        transactor: AccountId,
    },
    /// Publish the bucket's operator metadata (endpoint, location, extra).
    SetMetadata {
        #[arg(long)]
        worker: u64,
        #[arg(long)]
        bucket: u64,
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// Post a remark as the bucket's operator.
    Remark {
        #[arg(long)]
        worker: u64,
        #[arg(long)]
        bucket: u64,
        #[arg(long)]
        message: String,
    },
}

/// Distribution operator commands.
#[derive(Subcommand, Debug)]
#[allow(missing_docs)]
pub enum DistributionOperator {
    /// Accept a bucket invitation.
    AcceptInvitation {
        #[arg(long)]
        worker: u64,
        #[arg(long)]
        bucket: DistributionBucketId,
    },
    /// Publish this operator's metadata for the bucket.
    SetMetadata {
        #[arg(long)]
        worker: u64,
        #[arg(long)]
        bucket: DistributionBucketId,
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// Post a remark as the bucket's operator.
    Remark {
        #[arg(long)]
        worker: u64,
        #[arg(long)]
        bucket: DistributionBucketId,
        #[arg(long)]
        message: String,
    },
}

/// The dev default signer of worker `worker` (the lead is worker 0 and has no dev worker URI).
fn dev_worker(worker: u64, uri: fn(usize) -> String) -> String {
    uri(worker.saturating_sub(1) as usize)
}

impl Operator {
    /// Runs the command.
    pub async fn run(self, args: &ChainArgs) -> anyhow::Result<()> {
        use StorageCall as C;
        let (call, dev) = match self {
            Operator::Storage(cmd) => match cmd {
                StorageOperator::AcceptInvitation {
                    worker,
                    bucket,
                    transactor,
                } => (
                    C::AcceptStorageBucketInvitation {
                        worker_id: worker,
                        storage_bucket_id: bucket,
                        transactor_account_id: transactor,
                    },
                    dev_worker(worker, storage_worker),
                ),
                StorageOperator::SetMetadata {
                    worker,
                    bucket,
                    metadata,
                } => (
                    C::SetStorageOperatorMetadata {
                        worker_id: worker,
                        storage_bucket_id: bucket,
                        metadata: metadata.encode(),
                    },
                    dev_worker(worker, storage_worker),
                ),
                StorageOperator::Remark {
                    worker,
                    bucket,
                    message,
                } => (
                    C::StorageOperatorRemark {
                        worker_id: worker,
                        storage_bucket_id: bucket,
                        msg: Bytes(message.into_bytes()),
                    },
                    dev_worker(worker, storage_worker),
                ),
            },
            Operator::Distribution(cmd) => match cmd {
                DistributionOperator::AcceptInvitation { worker, bucket } => (
                    C::AcceptDistributionBucketInvitation {
                        worker_id: worker,
                        bucket_id: bucket,
                    },
                    dev_worker(worker, distribution_worker),
                ),
                DistributionOperator::SetMetadata {
                    worker,
                    bucket,
                    metadata,
                } => (
                    C::SetDistributionOperatorMetadata {
                        worker_id: worker,
                        bucket_id: bucket,
                        metadata: metadata.encode(),
                    },
                    dev_worker(worker, distribution_worker),
                ),
                DistributionOperator::Remark {
                    worker,
                    bucket,
                    message,
                } => (
                    C::DistributionOperatorRemark {
                        worker_id: worker,
                        distribution_bucket_id: bucket,
                        msg: Bytes(message.into_bytes()),
                    },
                    dev_worker(worker, distribution_worker),
                ),
            },
        };
        let client = args.client()?;
        let inclusion = client
            .submit(
                Origin::Signed(args.signer(&client, &dev)),
                Call::Storage(call),
            )
            .await
            .map_err(output::chain_error)?;
        output::inclusion(args.json, &inclusion);
        Ok(())
    }
}
