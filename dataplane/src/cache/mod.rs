//! The distributor's cache: which verified objects stay on disk within the byte budget
//! ([`S3Fifo`], admission and eviction), which stay in memory too, and the policy's state kept
//! across restarts.

pub mod manager;
mod policy;
mod s3fifo;
pub mod state;

pub use manager::{CacheConfig, CacheEvent};
pub use policy::{cold, CachePolicy, Split};
pub use s3fifo::{Queue, Refused, S3Fifo, Saved};
