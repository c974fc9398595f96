//! Hecaton's data plane: the local object store and thread-per-core HTTP serving on glommio.
//!
//! It owns the disks and every byte and never talks to the chain. See ARCHITECTURE.md at the
//! repository root for how the parts fit.

mod bag_code;
pub mod cache;
pub mod cli;
pub mod control;
pub mod fetch;
pub mod fill;
pub mod http;
pub mod idmap;
pub mod metrics;
pub mod panics;
pub mod placement;
pub mod sched;
pub mod serve;
pub mod store;
#[cfg(test)]
mod testing;
pub mod tls;
pub mod views;

/// The identifiers and socket messages the data plane's API speaks in (`hecaton-shared`), for
/// users of this library that need no dependency of their own on it (the fuzz targets).
pub use hecaton_shared as shared;
