//! Hecaton's control plane: the embedded chain (`hecaton chain`), the `Chain` trait the rest of
//! the control plane reads and writes the data directory through, and the command line's
//! building blocks.

pub mod account;
pub mod chain;
pub mod distributor;
pub mod embedded;
pub mod http_server;
pub mod migrate;
pub mod node;
pub mod runtime;
pub mod storage_node;
