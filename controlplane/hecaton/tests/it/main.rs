//! Integration tests: the real `hecaton` binary on loopback (port 0).

mod audit;
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
// The test CA and certificates, shared with the data plane's tests.
#[allow(dead_code)]
#[path = "../../../../dataplane/tests/it/pki.rs"]
mod pki;
mod replication;
mod scrub;
mod storage;
mod support;
mod tls;
