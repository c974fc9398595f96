//! Members: a handle and the account that controls the member (the channel owner's signer).

use imbl::OrdMap;
use serde::{Deserialize, Serialize};

use super::call::{MembershipCall, Origin};
use super::error::{DispatchResult, MembershipError};
use super::event::{Event, MembershipEvent};
use super::{ensure_signed, Ctx};
use crate::account::AccountId;

/// A member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Unique handle.
    pub handle: String,
    /// The account that acts for the member.
    pub controller_account: AccountId,
}

/// Members by id, and the handle index.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MembershipState {
    /// Members by id.
    pub members: OrdMap<u64, Member>,
    /// Handle → member id.
    pub handles: OrdMap<String, u64>,
    /// Next member id (never reused).
    pub next_member_id: u64,
}

impl Ctx<'_> {
    pub(crate) fn dispatch_membership(
        &mut self,
        origin: Origin,
        call: &MembershipCall,
    ) -> DispatchResult {
        match call {
            MembershipCall::BuyMembership { handle } => {
                let account = ensure_signed(origin)?;
                if handle.is_empty() {
                    return Err(MembershipError::HandleMustBeProvided.into());
                }
                let members = &mut self.state.members;
                if members.handles.contains_key(handle) {
                    return Err(MembershipError::HandleAlreadyRegistered.into());
                }
                let id = members.next_member_id;
                members.next_member_id += 1;
                members.handles.insert(handle.clone(), id);
                members.members.insert(
                    id,
                    Member {
                        handle: handle.clone(),
                        controller_account: account,
                    },
                );
                self.emit(Event::Members(MembershipEvent::MembershipBought(
                    id,
                    handle.clone(),
                    account,
                )));
                Ok(())
            }
        }
    }
}
