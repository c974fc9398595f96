//! Runtime tests: one table per group of calls (success and every error each call can raise),
//! and property tests over random call sequences.

mod content_calls;
mod distribution_calls;
mod properties;
mod storage_calls;
mod trait_calls;

use std::collections::BTreeSet;

use hecaton_shared::{BagId, DistributionBucketId, DynamicBagId, StaticBagId};

use super::call::{Call, Extrinsic, Origin, StorageCall, TraitCall};
use super::storage::types::{
    Cid, DataObjectCreationParameters, DynBagCreationParameters, UploadParameters,
};
use super::{apply, Constants, DispatchError, Event, Profile, State};
use crate::account::AccountId;
use crate::embedded::bootstrap::{self, DevNetwork};

/// A dev network (playground profile): storage buckets 0 and 1 operated by storage workers 1
/// and 2, distribution buckets 0:0 and 0:1 operated by distribution workers 1 and 2, static bags
/// on all of them, member 0 controlled by `//Charlie`.
#[derive(Clone)]
pub(super) struct Net {
    pub constants: Constants,
    pub state: State,
}

impl Net {
    pub fn dev() -> Self {
        let constants = Constants::for_profile(Profile::Playground);
        let calls = bootstrap::dev(
            &constants,
            &DevNetwork {
                storage_endpoints: vec!["http://s0/".into(), "http://s1/".into()],
                distribution_endpoints: vec!["http://d0/".into(), "http://d1/".into()],
            },
        )
        .unwrap();
        let mut net = Self {
            state: State::genesis(&constants),
            constants,
        };
        for extrinsic in calls {
            net.ok(extrinsic.origin, extrinsic.call);
        }
        net
    }

    /// Applies a call; on failure checks that the state is byte-identical to before.
    pub fn run(&mut self, origin: Origin, call: Call) -> Result<Vec<Event>, DispatchError> {
        let before = self.state.hash();
        let applied = apply(&self.constants, &self.state, &Extrinsic { origin, call });
        if applied.outcome.is_err() {
            assert_eq!(
                applied.state.hash(),
                before,
                "a failed call changed the state"
            );
        }
        self.state = applied.state;
        applied.outcome
    }

    pub fn ok(&mut self, origin: Origin, call: Call) -> Vec<Event> {
        match self.run(origin, call.clone()) {
            Ok(events) => events,
            Err(e) => panic!("{call:?} failed: {e}"),
        }
    }

    /// Uploads `n` objects of `size` bytes to a bag through the trait; returns their ids.
    pub fn upload(&mut self, bag_id: BagId, sizes: &[u64]) -> Vec<u64> {
        let first = self.state.storage.next_data_object_id;
        self.ok(
            Origin::Root,
            Call::DataObjectStorage(TraitCall::UploadDataObjects {
                params: self.upload_params(bag_id, sizes),
            }),
        );
        (first..first + sizes.len() as u64).collect()
    }

    pub fn upload_params(&self, bag_id: BagId, sizes: &[u64]) -> UploadParameters {
        UploadParameters {
            bag_id,
            object_creation_list: sizes.iter().map(|s| object(*s)).collect(),
            state_bloat_bond_source_account_id: member_account(),
            expected_data_size_fee: self.state.storage.data_object_per_megabyte_fee,
            expected_data_object_state_bloat_bond: self
                .state
                .storage
                .data_object_state_bloat_bond_value,
        }
    }

    /// Creates channel bag `channel` on storage buckets `storage` and distribution bucket 0:0
    /// (the dev policy: 2 storage buckets, 2 buckets of family 0).
    pub fn create_bag(&mut self, channel: u64) -> BagId {
        self.ok(
            Origin::Root,
            Call::DataObjectStorage(TraitCall::CreateDynamicBag {
                params: self.bag_params(channel, &[]),
            }),
        );
        channel_bag(channel)
    }

    pub fn bag_params(&self, channel: u64, sizes: &[u64]) -> DynBagCreationParameters {
        DynBagCreationParameters {
            bag_id: DynamicBagId::Channel(channel),
            object_creation_list: sizes.iter().map(|s| object(*s)).collect(),
            state_bloat_bond_source_account_id: member_account(),
            expected_data_size_fee: self.state.storage.data_object_per_megabyte_fee,
            expected_data_object_state_bloat_bond: self
                .state
                .storage
                .data_object_state_bloat_bond_value,
            storage_buckets: BTreeSet::from([0, 1]),
            distribution_buckets: BTreeSet::from([dbucket(0), dbucket(1)]),
        }
    }
}

pub(super) fn storage_lead() -> Origin {
    Origin::Signed(AccountId::dev(bootstrap::STORAGE_LEAD))
}

pub(super) fn distribution_lead() -> Origin {
    Origin::Signed(AccountId::dev(bootstrap::DISTRIBUTION_LEAD))
}

pub(super) fn storage_worker(worker_id: u64) -> Origin {
    Origin::Signed(AccountId::dev(&bootstrap::storage_worker(
        worker_id as usize - 1,
    )))
}

pub(super) fn transactor(worker_id: u64) -> Origin {
    Origin::Signed(AccountId::dev(&bootstrap::storage_transactor(
        worker_id as usize - 1,
    )))
}

pub(super) fn distribution_worker(worker_id: u64) -> Origin {
    Origin::Signed(AccountId::dev(&bootstrap::distribution_worker(
        worker_id as usize - 1,
    )))
}

pub(super) fn member_account() -> AccountId {
    AccountId::dev(bootstrap::MEMBER)
}

pub(super) fn stranger() -> Origin {
    Origin::Signed(AccountId::dev("//Stranger"))
}

pub(super) fn council() -> BagId {
    BagId::Static(StaticBagId::Council)
}

pub(super) fn channel_bag(channel: u64) -> BagId {
    BagId::Dynamic(DynamicBagId::Channel(channel))
}

pub(super) fn dbucket(index: u64) -> DistributionBucketId {
    DistributionBucketId { family: 0, index }
}

/// A 46-byte content id made from a number.
pub(super) fn cid(n: u64) -> Cid {
    Cid(format!("gW{n:044}").into_bytes())
}

pub(super) fn object(size: u64) -> DataObjectCreationParameters {
    DataObjectCreationParameters {
        size,
        ipfs_content_id: cid(size),
    }
}

pub(super) fn storage(call: StorageCall) -> Call {
    Call::Storage(call)
}

/// One row of a call table: how to prepare the network, the call, and the expected error
/// name (`None`: success).
pub(super) struct Case {
    pub name: &'static str,
    pub setup: fn(&mut Net),
    pub origin: fn() -> Origin,
    pub call: fn(&Net) -> Call,
    pub expect: Option<&'static str>,
}

/// Runs a table from the dev network; every row is checked, failures listed together.
pub(super) fn run_table(cases: &[Case]) {
    let base = Net::dev();
    let mut failures = Vec::new();
    for case in cases {
        let mut net = base.clone();
        (case.setup)(&mut net);
        let call = (case.call)(&net);
        let got = net
            .run((case.origin)(), call)
            .map(drop)
            .map_err(|e| e.name());
        let want = case.expect.map_or(Ok(()), Err);
        if got != want {
            failures.push(format!("{}: expected {want:?}, got {got:?}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "table failures:\n{}",
        failures.join("\n")
    );
}

pub(super) fn nothing(_: &mut Net) {}

#[test]
fn the_dev_network_bootstraps_and_is_consistent() {
    let net = Net::dev();
    let storage = &net.state.storage;
    assert_eq!(storage.storage_bucket_by_id.len(), 2);
    assert_eq!(storage.storage_bucket_by_id[&0].assigned_bags, 10);
    assert_eq!(
        storage.distribution_bucket_by_family_id_by_id[&dbucket(1)].assigned_bags,
        10
    );
    assert_eq!(
        net.state.metadata.storage_operators[&1].endpoint.as_deref(),
        Some("http://s1/")
    );
    properties::check_invariants(&net.state);
}

#[test]
fn error_names_match_the_chain_metadata_order() {
    use super::error::StorageError;
    // Indices from the runtime metadata's error list, spot-checked at both ends and the middle.
    assert_eq!(StorageError::ALL.len(), 65);
    assert_eq!(StorageError::ALL[0].name(), "ArithmeticError");
    assert_eq!(StorageError::ALL[37].name(), "DynamicBagDoesntExist");
    assert_eq!(
        StorageError::ALL[62].name(),
        "NumberOfStorageBucketsOutsideOfAllowedContraints"
    );
    assert_eq!(StorageError::ALL[64].name(), "CallDisabled");
}
