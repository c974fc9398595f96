//! Hecaton's control plane: the embedded chain (`hecaton chain`), the `Chain` trait the rest of
//! the control plane reads and writes the data directory through, and the node roles. The
//! `hecaton` binary and its commands are the `hecaton` package (`controlplane/hecaton/`).

/// `hecaton --version`: the package version and the build (git revision, profile) that
/// `build.rs` stamps.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("HECATON_BUILD"), ")");

pub use hecaton_vocabulary::account;
pub mod chain;
pub mod distributor;
pub mod embedded;
pub mod http_server;
pub mod migrate;
pub mod node;
pub mod runtime;
pub mod storage_node;
