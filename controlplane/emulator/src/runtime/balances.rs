//! Free balances: enough of the balances pallet for fees, bloat bonds and their repayment to
//! behave as on chain. No locks, reserves or vesting (so `repayment_restricted_to` is never set).

use imbl::OrdMap;
use serde::{Deserialize, Serialize};

use super::call::{BalancesCall, Origin};
use super::error::{BalancesError, DispatchError, DispatchResult};
use super::event::{BalancesEvent, Event};
use super::{ensure_root, ensure_signed, Ctx};
use crate::account::AccountId;

/// Free balance per account and the total issuance. Accounts at zero are not stored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Balances {
    /// Free balance, HAPI.
    pub free: OrdMap<AccountId, u128>,
    /// Sum of all balances (burned fees leave it).
    pub total_issuance: u128,
}

impl Balances {
    /// An account's free balance.
    pub fn free_of(&self, account: &AccountId) -> u128 {
        self.free.get(account).copied().unwrap_or(0)
    }

    /// Creates funds (genesis and root only).
    pub fn mint(&mut self, account: AccountId, amount: u128) {
        self.set(account, self.free_of(&account).saturating_add(amount));
        self.total_issuance = self.total_issuance.saturating_add(amount);
    }

    fn set(&mut self, account: AccountId, amount: u128) {
        if amount == 0 {
            self.free.remove(&account);
        } else {
            self.free.insert(account, amount);
        }
    }
}

impl Ctx<'_> {
    /// The fee-payment rule without locks: the account keeps at least
    /// the existential deposit after paying. Paying nothing is always possible.
    pub(crate) fn can_pay(&self, account: &AccountId, amount: u128) -> bool {
        amount == 0
            || self.state.balances.free_of(account)
                >= amount.saturating_add(self.constants.existential_deposit)
    }

    /// `from`'s free balance, if `amount` can leave it without going below the existential
    /// deposit.
    fn keep_alive_withdrawal(&self, from: &AccountId, amount: u128) -> DispatchResult<u128> {
        let free = self.state.balances.free_of(from);
        if free < amount {
            return Err(DispatchError::Balances(BalancesError::InsufficientBalance));
        }
        if free - amount < self.constants.existential_deposit {
            return Err(DispatchError::Balances(BalancesError::Expendability));
        }
        Ok(free)
    }

    /// A keep-alive transfer.
    pub(crate) fn transfer(
        &mut self,
        from: AccountId,
        to: AccountId,
        amount: u128,
    ) -> DispatchResult {
        if amount == 0 || from == to {
            return Ok(());
        }
        let free = self.keep_alive_withdrawal(&from, amount)?;
        let to_free = self.state.balances.free_of(&to);
        if to_free.saturating_add(amount) < self.constants.existential_deposit {
            return Err(DispatchError::Balances(BalancesError::ExistentialDeposit));
        }
        self.state.balances.set(from, free - amount);
        self.state.balances.set(to, to_free.saturating_add(amount));
        self.emit(Event::Balances(BalancesEvent::Transfer(from, to, amount)));
        Ok(())
    }

    /// Burns `amount` from `from` (keep-alive).
    pub(crate) fn burn(&mut self, from: AccountId, amount: u128) -> DispatchResult {
        if amount == 0 {
            return Ok(());
        }
        let free = self.keep_alive_withdrawal(&from, amount)?;
        self.state.balances.set(from, free - amount);
        self.state.balances.total_issuance =
            self.state.balances.total_issuance.saturating_sub(amount);
        self.emit(Event::Balances(BalancesEvent::Withdraw(from, amount)));
        Ok(())
    }

    pub(crate) fn dispatch_balances(
        &mut self,
        origin: Origin,
        call: &BalancesCall,
    ) -> DispatchResult {
        match *call {
            BalancesCall::TransferKeepAlive { dest, value } => {
                let from = ensure_signed(origin)?;
                self.transfer(from, dest, value)
            }
            BalancesCall::ForceSetBalance { who, new_free } => {
                ensure_root(origin)?;
                let balances = &mut self.state.balances;
                let old = balances.free_of(&who);
                balances.total_issuance = balances
                    .total_issuance
                    .saturating_sub(old)
                    .saturating_add(new_free);
                balances.set(who, new_free);
                self.emit(Event::Balances(BalancesEvent::BalanceSet(who, new_free)));
                Ok(())
            }
        }
    }
}
