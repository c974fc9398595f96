//! The embedded chain's runtime: the `Storage` pallet modelled call for call, and around it only
//! what it needs (working groups, members, channels, balances).
//!
//! A call is applied to a copy of the state (`imbl` maps share structure, so the copy is cheap)
//! and the copy replaces the state only if the call succeeds: a failed call changes nothing, not
//! even a counter, as a storage transaction guarantees on chain.

pub mod balances;
pub mod constants;
pub mod content;
pub mod membership;
pub mod storage;
pub mod working_group;

// The chain's vocabulary, which the emulator speaks like every other part of the node.
pub use hecaton_vocabulary::{amount, call, error, event, metadata};

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use self::call::{Call, Extrinsic, Origin};
pub use self::constants::{Constants, Profile};
pub use self::error::{DispatchError, DispatchResult};
pub use self::event::Event;

use self::balances::Balances;
use self::content::ContentState;
use self::membership::MembershipState;
use self::metadata::MetadataIndex;
use self::storage::StorageState;
use self::working_group::{Group, WorkingGroupState};
use crate::account::AccountId;

/// Everything the embedded chain keeps.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct State {
    /// The `Storage` pallet.
    pub storage: StorageState,
    /// The storage working group.
    pub storage_working_group: WorkingGroupState,
    /// The distribution working group.
    pub distribution_working_group: WorkingGroupState,
    /// Free balances.
    pub balances: Balances,
    /// Members.
    pub members: MembershipState,
    /// Channels and videos.
    pub content: ContentState,
    /// Operator and family metadata, indexed from events as the query node does (not pallet
    /// state: the chain only emits it).
    pub metadata: MetadataIndex,
}

impl State {
    /// The genesis state of a profile: fee and bond from the genesis config, the storage
    /// treasury holding the existential deposit.
    pub fn genesis(constants: &Constants) -> Self {
        let mut state = Self::default();
        state.storage.data_object_per_megabyte_fee = constants.genesis_data_object_per_megabyte_fee;
        state.storage.data_object_state_bloat_bond_value =
            constants.genesis_data_object_state_bloat_bond;
        state
            .balances
            .mint(AccountId::storage_treasury(), constants.existential_deposit);
        state
    }

    /// A digest of the whole state (canonical JSON: every map is ordered), for comparing states.
    pub fn hash(&self) -> [u8; 32] {
        let bytes = serde_json::to_vec(self).expect("state serializes");
        blake3::hash(&bytes).into()
    }

    /// A working group's state.
    pub fn group(&self, group: Group) -> &WorkingGroupState {
        match group {
            Group::Storage => &self.storage_working_group,
            Group::Distribution => &self.distribution_working_group,
        }
    }
}

/// What applying one call produced.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The state after the call (unchanged on failure).
    pub state: State,
    /// The call's outcome: its events, or why it failed.
    pub outcome: Result<Vec<Event>, DispatchError>,
}

/// Applies `extrinsic` to `state`. On failure the returned state is `state` itself.
pub fn apply(constants: &Constants, state: &State, extrinsic: &Extrinsic) -> Applied {
    let mut ctx = Ctx {
        state: state.clone(),
        events: Vec::new(),
        constants,
    };
    match ctx.dispatch(extrinsic.origin, &extrinsic.call) {
        Ok(()) => Applied {
            state: ctx.state,
            outcome: Ok(ctx.events),
        },
        Err(error) => Applied {
            state: state.clone(),
            outcome: Err(error),
        },
    }
}

/// A call in progress: the working copy of the state and the events emitted so far.
pub(crate) struct Ctx<'a> {
    pub state: State,
    pub events: Vec<Event>,
    pub constants: &'a Constants,
}

impl Ctx<'_> {
    fn dispatch(&mut self, origin: Origin, call: &Call) -> DispatchResult {
        match call {
            Call::Storage(call) => self.dispatch_storage(origin, call),
            Call::DataObjectStorage(call) => {
                ensure_root(origin)?;
                self.dispatch_trait(call)
            }
            Call::StorageWorkingGroup(call) => {
                self.dispatch_working_group(Group::Storage, origin, call)
            }
            Call::DistributionWorkingGroup(call) => {
                self.dispatch_working_group(Group::Distribution, origin, call)
            }
            Call::Balances(call) => self.dispatch_balances(origin, call),
            Call::Members(call) => self.dispatch_membership(origin, call),
            Call::Content(call) => self.dispatch_content(origin, call),
        }
    }

    fn emit(&mut self, event: Event) {
        self.events.push(event);
    }
}

/// Root origin, else `BadOrigin`.
pub(crate) fn ensure_root(origin: Origin) -> DispatchResult {
    match origin {
        Origin::Root => Ok(()),
        _ => Err(DispatchError::System(error::SystemError::BadOrigin)),
    }
}

/// A signed origin's account, else `BadOrigin`.
pub(crate) fn ensure_signed(origin: Origin) -> DispatchResult<AccountId> {
    match origin {
        Origin::Signed(account) => Ok(account),
        _ => Err(DispatchError::System(error::SystemError::BadOrigin)),
    }
}
