//! The chain emulator: `hecaton chain`'s runtime (the `Storage` pallet modelled call for call,
//! with what it needs around it), its block producer, durable log, HTTP API and dev bootstrap.
//! It speaks the chain's vocabulary (`hecaton-vocabulary`) like every node does; no node code
//! depends on it: nodes talk to it over its HTTP API, as they talk to a Joystream node.

pub use hecaton_vocabulary::account;

pub mod embedded;
pub mod runtime;
