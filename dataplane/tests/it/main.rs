//! Integration tests: the real `hecaton-dataplane` binary on loopback, port 0, over temp stores.

mod access_log;
mod control;
mod crash;
mod distributor;
mod hostile;
mod import;
mod pki;
mod proofs;
mod protection;
mod replication;
mod serving;
mod slices;
mod slow_peer;
mod support;
mod tls;
mod tus;
mod upload;
