//! Hecaton's control plane: the `Chain` trait the node roles read and write the data directory
//! through, its clients (the embedded chain's HTTP API, a Joystream node), and the node roles.
//! Beside it: the chain's vocabulary (`controlplane/vocabulary/`), the embedded chain
//! (`controlplane/emulator/`), and the `hecaton` binary and its commands
//! (`controlplane/hecaton/`).

/// `hecaton --version`: the package version and the build (git revision, profile) that
/// `build.rs` stamps.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("HECATON_BUILD"), ")");

pub use hecaton_vocabulary::account;
pub mod audit;
pub mod chain;
pub mod distributor;
pub mod http_server;
pub mod migrate;
pub mod node;
pub mod storage_node;
