//! The storage and distribution working groups: a lead and workers with role accounts, and the
//! origin checks of `working-group/src/checks.rs`. Hiring is direct (Root hires the lead, the
//! lead hires workers) instead of openings and applications.

use imbl::OrdMap;
use serde::{Deserialize, Serialize};

use super::call::{Origin, WorkingGroupCall};
use super::error::{DispatchError, DispatchResult, WorkingGroupError};
use super::event::{Event, WorkingGroupEvent};
use super::{ensure_root, ensure_signed, Ctx};
use crate::account::AccountId;

/// Which working group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Group {
    /// `StorageWorkingGroup` (instance 2).
    Storage,
    /// `DistributionWorkingGroup` (instance 9).
    Distribution,
}

impl Group {
    fn error(self, error: WorkingGroupError) -> DispatchError {
        match self {
            Self::Storage => DispatchError::StorageWorkingGroup(error),
            Self::Distribution => DispatchError::DistributionWorkingGroup(error),
        }
    }

    fn event(self, event: WorkingGroupEvent) -> Event {
        match self {
            Self::Storage => Event::StorageWorkingGroup(event),
            Self::Distribution => Event::DistributionWorkingGroup(event),
        }
    }
}

/// A worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worker {
    /// The account that signs for the worker.
    pub role_account: AccountId,
}

/// A group's lead and workers (`WorkerById`; the lead is a worker too).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WorkingGroupState {
    /// The lead's worker id.
    pub current_lead: Option<u64>,
    /// Workers by id.
    pub worker_by_id: OrdMap<u64, Worker>,
    /// The next worker id (never reused).
    pub next_worker_id: u64,
}

impl Ctx<'_> {
    fn group_mut(&mut self, group: Group) -> &mut WorkingGroupState {
        match group {
            Group::Storage => &mut self.state.storage_working_group,
            Group::Distribution => &mut self.state.distribution_working_group,
        }
    }

    /// Signed by the group's lead.
    pub(crate) fn ensure_lead(&self, group: Group, origin: Origin) -> DispatchResult {
        let account = ensure_signed(origin)?;
        let state = self.state.group(group);
        let lead = state
            .current_lead
            .ok_or(group.error(WorkingGroupError::CurrentLeadNotSet))?;
        match state.worker_by_id.get(&lead) {
            Some(worker) if worker.role_account == account => Ok(()),
            _ => Err(group.error(WorkingGroupError::IsNotLeadAccount)),
        }
    }

    /// Signed by the role account of worker `worker_id` of the group.
    pub(crate) fn ensure_worker_signed(
        &self,
        group: Group,
        origin: Origin,
        worker_id: u64,
    ) -> DispatchResult {
        let account = ensure_signed(origin)?;
        let worker = self
            .state
            .group(group)
            .worker_by_id
            .get(&worker_id)
            .ok_or(group.error(WorkingGroupError::WorkerDoesNotExist))?;
        if worker.role_account != account {
            return Err(group.error(WorkingGroupError::SignerIsNotWorkerRoleAccount));
        }
        Ok(())
    }

    pub(crate) fn dispatch_working_group(
        &mut self,
        group: Group,
        origin: Origin,
        call: &WorkingGroupCall,
    ) -> DispatchResult {
        match *call {
            WorkingGroupCall::HireLead { role_account } => {
                ensure_root(origin)?;
                if self.state.group(group).current_lead.is_some() {
                    return Err(group.error(WorkingGroupError::CannotHireLeaderWhenLeaderExists));
                }
                let id = self.hire(group, role_account);
                self.group_mut(group).current_lead = Some(id);
                self.emit(group.event(WorkingGroupEvent::LeaderSet(id)));
            }
            WorkingGroupCall::HireWorker { role_account } => {
                self.ensure_lead(group, origin)?;
                self.hire(group, role_account);
            }
            WorkingGroupCall::UpdateRoleAccount {
                worker_id,
                new_role_account,
            } => {
                self.ensure_worker_signed(group, origin, worker_id)?;
                let state = self.group_mut(group);
                state.worker_by_id[&worker_id].role_account = new_role_account;
                self.emit(group.event(WorkingGroupEvent::WorkerRoleAccountUpdated(
                    worker_id,
                    new_role_account,
                )));
            }
            WorkingGroupCall::TerminateRole { worker_id } => {
                let is_lead = self.state.group(group).current_lead == Some(worker_id);
                if is_lead {
                    ensure_root(origin)?;
                } else {
                    self.ensure_lead(group, origin)?;
                }
                let state = self.group_mut(group);
                if state.worker_by_id.remove(&worker_id).is_none() {
                    return Err(group.error(WorkingGroupError::WorkerDoesNotExist));
                }
                if is_lead {
                    state.current_lead = None;
                    self.emit(group.event(WorkingGroupEvent::TerminatedLeader(worker_id)));
                } else {
                    self.emit(group.event(WorkingGroupEvent::TerminatedWorker(worker_id)));
                }
            }
        }
        Ok(())
    }

    fn hire(&mut self, group: Group, role_account: AccountId) -> u64 {
        let state = self.group_mut(group);
        let id = state.next_worker_id;
        state.next_worker_id += 1;
        state.worker_by_id.insert(id, Worker { role_account });
        self.emit(group.event(WorkingGroupEvent::WorkerHired(id, role_account)));
        id
    }
}
