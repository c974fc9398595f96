//! The local socket between the control plane and the data plane.
//!
//! A Unix stream socket owned by the data plane. Every message travels in a [`frame`]: `u32`
//! payload length, `u32` crc32 of the payload, then the payload, a JSON encoding of the
//! [`message`] enums. The codec is pure (bytes in, messages out) so that the data plane drives
//! it from glommio and the control plane from tokio.
//!
//! A session: the control plane connects and sends [`ToDataPlane::Hello`]; the data plane answers
//! [`FromDataPlane::Welcome`] (or [`FromDataPlane::Refused`] and closes). The control plane then
//! streams a placement snapshot in parts, followed by deltas, each tagged with the chain block it
//! reflects; the data plane ignores any delta not newer than what it applied, and acknowledges
//! what it applied. Reports flow back at any time. Either side may restart: the control plane
//! reconnects and sends a new snapshot; the data plane keeps its last placement meanwhile.

pub mod frame;
pub mod message;
pub mod sync;

pub use frame::{encode, FrameDecoder, FrameError, FRAME_HEADER_LEN, MAX_FRAME_LEN};
pub use message::{
    hello_version, BagPlacement, CacheCounters, Change, DataPlaneMetrics, DistributorInfo,
    FromDataPlane, Globals, ObjectPlacement, Report, Role, RouteMetrics, ScrubCounters,
    StoredObject, ToDataPlane, LATENCY_BUCKETS_US, PROTOCOL_VERSION,
};
pub use sync::{
    AttemptFailure, FetchJob, HeldObject, PeerSummary, Removal, RemovalReason, Source, SyncSummary,
};
