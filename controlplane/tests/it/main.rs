//! Integration tests: the real `hecaton` binary on loopback (port 0).

mod chain_api;
mod cli;
mod crash;
mod dashboards;
mod dev;
mod distributor;
#[cfg(feature = "joystream")]
mod joystream;
mod node;
mod operations;
mod replication;
mod storage;
mod support;
