//! `hecaton chain`: the embedded data directory as a single-process service. A
//! faithful model of the `Storage` pallet with blocks, events, a durable log and an HTTP API; not
//! a blockchain (no consensus, no signatures: callers declare their origin; blocks are final at
//! once).

pub mod api;
pub mod block;
pub mod bootstrap;
pub mod ledger;
pub mod node;
mod views;

pub use block::Block;
pub use node::{Head, Inclusion, Node, NodeConfig, NodeError};
