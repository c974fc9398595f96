//! The subxt client for a Joystream node: codec tests against the real metadata, and the
//! control plane end to end against an in-process fake node.

mod codec;
mod directory;
mod e2e;
mod fake;
mod metadata;
mod offline;
mod samples;
