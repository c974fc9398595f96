//! What a node's control plane is made of whatever its role: the obligations computed from the
//! chain and followed block by block, the link to the data plane over the local socket, the
//! supervisor of the data plane process, and the ranking of the storage nodes it fetches from.
//! `storage_node` and `distributor` put these together with what is theirs alone.

pub mod config;
pub mod error;
pub mod follow;
pub mod health;
pub mod link;
pub mod metrics;
pub mod obligations;
pub mod operator_api;
pub mod peer_http;
pub mod peers;
pub mod process_metrics;
pub mod reload;
pub mod supervisor;
