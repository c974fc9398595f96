//! A block's storage: the model's `Storage` pallet state under the real keys, values encoded
//! through the metadata, and the block's `System.Events`.

use std::collections::BTreeMap;

use hecaton_controlplane::chain::joystream::decode::BagRepr;
use hecaton_controlplane::chain::joystream::encode::ToValue;
use hecaton_controlplane::chain::joystream::reads;
use hecaton_emulator::runtime::State;
use subxt::dynamic::{self, Value};
use subxt::storage::Address;

use super::super::codec::{encode, value_ty};
use super::super::metadata::Offline;

type Storage = BTreeMap<Vec<u8>, Vec<u8>>;

fn put<A: Address>(out: &mut Storage, at: &Offline, addr: A, keys: A::KeyParts, value: &Value) {
    let md = at.metadata();
    let entry = at.storage().entry(addr).expect("entry");
    let ty = value_ty(&md, entry.pallet_name(), entry.entry_name());
    let key = entry.fetch_key(keys).expect("key");
    out.insert(key, encode(&md, ty, value));
}

/// The storage of a block whose state is `model` and whose events are `events`.
pub fn storage(at: &Offline, model: &State, events: Vec<u8>) -> Storage {
    let mut out = Storage::new();
    let s = &model.storage;
    for (bag, record) in &s.bags {
        put(
            &mut out,
            at,
            reads::bags_address(),
            (BagRepr::from(*bag),),
            &record.to_value(),
        );
    }
    for (bag, objects) in &s.data_objects_by_id {
        for (id, object) in objects {
            let keys = (BagRepr::from(*bag), *id);
            put(
                &mut out,
                at,
                reads::objects_address(),
                keys,
                &object.to_value(),
            );
        }
    }
    for (id, bucket) in &s.storage_bucket_by_id {
        put(
            &mut out,
            at,
            reads::storage_buckets_address(),
            (*id,),
            &bucket.to_value(),
        );
    }
    for (id, family) in &s.distribution_bucket_family_by_id {
        put(
            &mut out,
            at,
            reads::families_address(),
            (*id,),
            &family.to_value(),
        );
    }
    for (id, bucket) in &s.distribution_bucket_by_family_id_by_id {
        let keys = (id.family, id.index);
        put(
            &mut out,
            at,
            reads::distribution_buckets_address(),
            keys,
            &bucket.to_value(),
        );
    }
    for (t, policy) in &s.dynamic_bag_creation_policies {
        put(
            &mut out,
            at,
            reads::policies_address(),
            ((*t).into(),),
            &policy.to_value(),
        );
    }
    for cid in &s.blacklist {
        let unit = Value::unnamed_composite([]);
        put(
            &mut out,
            at,
            reads::blacklist_address(),
            (cid.0.clone(),),
            &unit,
        );
    }
    put(
        &mut out,
        at,
        reads::plain_address::<bool>("UploadingBlocked"),
        (),
        &s.uploading_blocked.to_value(),
    );
    put(
        &mut out,
        at,
        reads::plain_address::<u128>("DataObjectPerMegabyteFee"),
        (),
        &s.data_object_per_megabyte_fee.to_value(),
    );
    put(
        &mut out,
        at,
        reads::plain_address::<u128>("DataObjectStateBloatBondValue"),
        (),
        &s.data_object_state_bloat_bond_value.to_value(),
    );
    let events_key = at
        .storage()
        .entry(dynamic::storage::<(), Value>("System", "Events"))
        .expect("System.Events")
        .fetch_key(())
        .expect("key");
    out.insert(events_key, events);
    out
}
