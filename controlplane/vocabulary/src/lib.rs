//! The chain's vocabulary: the accounts, calls, events, errors, storage types, operator
//! metadata and block references that the node roles, the Joystream client and the embedded
//! chain (the emulator) all speak. Types only, with their serde forms; no chain logic.

pub mod account;
pub mod amount;
pub mod block;
pub mod call;
pub mod error;
pub mod event;
pub mod metadata;
pub mod storage_types;
