//! The codec against the real chain metadata, offline: storage keys of every item the node
//! reads, values and events decoding into the model, and signed calls that decode back.

use subxt::dynamic::Value;
use subxt::ext::scale_decode::DecodeAsType;
use subxt_signer::sr25519;

use hecaton_controlplane::chain::joystream::decode::{
    BagRecordRepr, BagRepr, DataObjectRepr, DistributionBucketRepr, DynamicBagTypeRepr, FamilyRepr,
    PolicyRepr, StorageBucketRepr,
};
use hecaton_controlplane::chain::joystream::encode::{call_arguments, call_name, ToValue};
use hecaton_controlplane::chain::joystream::events::{storage_events, RuntimeEventRepr};
use hecaton_controlplane::chain::joystream::reads;
use hecaton_emulator::runtime::storage::types::{
    Bag, DataObject, DistributionBucket, DistributionBucketFamily, DynamicBagCreationPolicy,
    DynamicBagType, RepayableBloatBond, StorageBucket, StorageBucketOperatorStatus, Voucher,
};
use hecaton_shared::{BagId, StaticBagId};

use super::codec::{encode, extrinsic_success, record, storage_event, system_events, value_ty};
use super::metadata::offline;
use super::samples::{self, account, bag, cid, dist};

fn twox128(b: &[u8]) -> Vec<u8> {
    sp_crypto_hashing::twox_128(b).to_vec()
}

/// `Blake2_128Concat` of already SCALE-encoded key bytes.
fn concat(encoded: &[u8]) -> Vec<u8> {
    let mut out = sp_crypto_hashing::blake2_128(encoded).to_vec();
    out.extend_from_slice(encoded);
    out
}

fn prefix(entry: &str) -> Vec<u8> {
    [twox128(b"Storage"), twox128(entry.as_bytes())].concat()
}

#[test]
fn storage_keys_of_every_item_the_node_reads() {
    let Some(at) = offline() else { return };
    let storage = at.storage();
    let council: BagRepr = BagId::Static(StaticBagId::Council).into();
    let channel7 = [1u8, 1, 7, 0, 0, 0, 0, 0, 0, 0];

    let key = storage
        .entry(reads::bags_address())
        .unwrap()
        .fetch_key((council,))
        .unwrap();
    // The trial build's key, computed independently there too.
    assert_eq!(
        hex::encode(&key),
        "95875cb80ebaf9f918457db6a86ac6add6fd5c94c285d60cbe96c66929f01c3171d0aacb690b61280d0c97c6b6a666640000"
    );
    let key = storage
        .entry(reads::bags_address())
        .unwrap()
        .fetch_key((bag().into(),))
        .unwrap();
    assert_eq!(key, [prefix("Bags"), concat(&channel7)].concat());
    let wg: BagRepr = samples::wg_bag().into();
    let key = storage
        .entry(reads::bags_address())
        .unwrap()
        .fetch_key((wg,))
        .unwrap();
    assert_eq!(
        key,
        [prefix("Bags"), concat(&[0, 1, 5])].concat(),
        "static:wg:distribution"
    );

    let objects = storage.entry(reads::objects_address()).unwrap();
    let key = objects.fetch_key((bag().into(), 5)).unwrap();
    assert_eq!(
        key,
        [
            prefix("DataObjectsById"),
            concat(&channel7),
            concat(&5u64.to_le_bytes())
        ]
        .concat()
    );
    let iter = objects.iter_key((BagRepr::from(bag()),)).unwrap();
    assert_eq!(
        iter,
        [prefix("DataObjectsById"), concat(&channel7)].concat()
    );

    let key = storage
        .entry(reads::storage_buckets_address())
        .unwrap()
        .fetch_key((3,))
        .unwrap();
    assert_eq!(
        key,
        [prefix("StorageBucketById"), concat(&3u64.to_le_bytes())].concat()
    );
    let key = storage
        .entry(reads::families_address())
        .unwrap()
        .fetch_key((2,))
        .unwrap();
    assert_eq!(
        key,
        [
            prefix("DistributionBucketFamilyById"),
            concat(&2u64.to_le_bytes())
        ]
        .concat()
    );
    let key = storage
        .entry(reads::distribution_buckets_address())
        .unwrap()
        .fetch_key((1, 4))
        .unwrap();
    assert_eq!(
        key,
        [
            prefix("DistributionBucketByFamilyIdById"),
            concat(&1u64.to_le_bytes()),
            concat(&4u64.to_le_bytes())
        ]
        .concat()
    );
    let channel: DynamicBagTypeRepr = DynamicBagType::Channel.into();
    let key = storage
        .entry(reads::policies_address())
        .unwrap()
        .fetch_key((channel,))
        .unwrap();
    assert_eq!(
        key,
        [prefix("DynamicBagCreationPolicies"), concat(&[1])].concat()
    );
    let cid_bytes = b"gWcid".to_vec();
    let key = storage
        .entry(reads::blacklist_address())
        .unwrap()
        .fetch_key((cid_bytes.clone(),))
        .unwrap();
    let encoded = [vec![5 << 2], cid_bytes].concat();
    assert_eq!(key, [prefix("Blacklist"), concat(&encoded)].concat());
    for plain in [
        "UploadingBlocked",
        "DataObjectPerMegabyteFee",
        "DataObjectStateBloatBondValue",
    ] {
        let key = storage
            .entry(reads::plain_address::<Value>(plain))
            .unwrap()
            .fetch_key(())
            .unwrap();
        assert_eq!(key, prefix(plain), "{plain}");
    }
    // The pallet's declared default for the upload switch is "not blocked".
    let default = storage
        .entry(reads::plain_address::<bool>("UploadingBlocked"))
        .unwrap()
        .default_value()
        .expect("a default")
        .decode()
        .unwrap();
    assert!(!default);
}

/// Encodes `model` through the metadata as `Storage.entry`'s value and decodes it back.
fn round_trip<R: DecodeAsType, T: From<R>>(entry: &str, model: &impl ToValue) -> (Vec<u8>, T) {
    let at = offline().expect("checked by the caller");
    let md = at.metadata();
    let ty = value_ty(&md, "Storage", entry);
    let bytes = encode(&md, ty, &model.to_value());
    let repr = R::decode_as_type(&mut &bytes[..], ty, md.types()).expect("decodes");
    (bytes, repr.into())
}

#[test]
fn every_value_type_the_node_reads_decodes_into_the_model() {
    if offline().is_none() {
        return;
    }
    let bag = Bag {
        stored_by: [1, 2].into_iter().collect(),
        distributed_by: [dist(0, 0)].into_iter().collect(),
        objects_total_size: 1000,
        objects_number: 3,
    };
    let (bytes, back): (_, Bag) = round_trip::<BagRecordRepr, _>("Bags", &bag);
    assert_eq!(back, bag);
    // By hand: compact 2, 1u64, 2u64, compact 1, (0u64, 0u64), 1000u64, 3u64.
    let mut expected = vec![0x08];
    for n in [1u64, 2] {
        expected.extend(n.to_le_bytes());
    }
    expected.push(0x04);
    for n in [0u64, 0, 1000, 3] {
        expected.extend(n.to_le_bytes());
    }
    assert_eq!(bytes, expected);

    for restricted in [None, Some(account(7))] {
        let object = DataObject {
            accepted: restricted.is_some(),
            state_bloat_bond: RepayableBloatBond {
                repayment_restricted_to: restricted,
                amount: 55,
            },
            size: 123_456,
            ipfs_content_id: cid("gW9xNSjUm5uGcbVAZhFWfqUzRJoQXuhhtLGsiRWaSr1pmT"),
        };
        let (_, back): (_, DataObject) =
            round_trip::<DataObjectRepr, _>("DataObjectsById", &object);
        assert_eq!(back, object);
    }
    for status in [
        StorageBucketOperatorStatus::Missing,
        StorageBucketOperatorStatus::InvitedStorageWorker(4),
        StorageBucketOperatorStatus::StorageWorker(5, account(6)),
    ] {
        let bucket = StorageBucket {
            operator_status: status,
            accepting_new_bags: true,
            voucher: Voucher {
                size_limit: 1,
                objects_limit: 2,
                size_used: 3,
                objects_used: 4,
            },
            assigned_bags: 9,
        };
        let (_, back): (_, StorageBucket) =
            round_trip::<StorageBucketRepr, _>("StorageBucketById", &bucket);
        assert_eq!(back, bucket);
    }
    let family = DistributionBucketFamily {
        next_distribution_bucket_index: 4,
    };
    let (_, back): (_, DistributionBucketFamily) =
        round_trip::<FamilyRepr, _>("DistributionBucketFamilyById", &family);
    assert_eq!(back, family);
    let bucket = DistributionBucket {
        accepting_new_bags: false,
        distributing: true,
        pending_invitations: [3].into_iter().collect(),
        operators: [1, 2].into_iter().collect(),
        assigned_bags: 8,
    };
    let (_, back): (_, DistributionBucket) =
        round_trip::<DistributionBucketRepr, _>("DistributionBucketByFamilyIdById", &bucket);
    assert_eq!(back, bucket);
    let policy = DynamicBagCreationPolicy {
        number_of_storage_buckets: 5,
        families: [(0, 2), (1, 1)].into_iter().collect(),
    };
    let (_, back): (_, DynamicBagCreationPolicy) =
        round_trip::<PolicyRepr, _>("DynamicBagCreationPolicies", &policy);
    assert_eq!(back, policy);
}

#[test]
fn every_storage_event_decodes_into_the_model() {
    let Some(at) = offline() else { return };
    let md = at.metadata();
    let outer = md.outer_enums().event_enum_ty();
    let all = samples::events();
    assert_eq!(all.len(), 42, "the pallet has 42 events");
    for event in &all {
        let bytes = encode(&md, outer, &storage_event(event));
        let mut cursor = &bytes[..];
        let RuntimeEventRepr::Storage(repr) =
            RuntimeEventRepr::decode_as_type(&mut cursor, outer, md.types())
                .unwrap_or_else(|e| panic!("{event:?}: {e}"));
        assert!(cursor.is_empty(), "{event:?} left bytes behind");
        assert_eq!(
            &hecaton_emulator::runtime::event::StorageEvent::from(repr),
            event
        );
    }

    // A block's event list: other pallets' events are skipped, order is kept.
    let records = vec![
        record(Some(0), storage_event(&all[6])),
        record(Some(0), extrinsic_success()),
        record(Some(1), storage_event(&all[3])),
        record(None, storage_event(&all[10])),
    ];
    let events = at.events().from_bytes(system_events(&md, records));
    let decoded = storage_events(events.iter()).unwrap();
    assert_eq!(
        decoded,
        vec![all[6].clone(), all[3].clone(), all[10].clone()]
    );
}

/// The decoded call's numeric and boolean arguments, by name, against the model call's JSON.
fn assert_fields_match(
    call: &hecaton_emulator::runtime::call::StorageCall,
    fields: Vec<(String, Value)>,
) {
    let json = serde_json::to_value(call).unwrap();
    let args = json
        .as_object()
        .and_then(|o| o.values().next())
        .cloned()
        .unwrap_or_default();
    for (name, value) in fields {
        let ours = &args[&name];
        if let Some(n) = value.as_u128() {
            let expected = ours
                .as_u64()
                .map(u128::from)
                .or_else(|| ours.as_str().and_then(|s| s.parse().ok()))
                .unwrap_or_else(|| panic!("{call:?}: argument {name} is {ours}, chain has {n}"));
            assert_eq!(n, expected, "{call:?}: argument {name}");
        } else if let Some(b) = value.as_bool() {
            assert_eq!(Some(b), ours.as_bool(), "{call:?}: argument {name}");
        }
    }
}

#[tokio::test]
async fn every_storage_call_encodes_and_signed_calls_decode_back() {
    let Some(at) = offline() else { return };
    let alice = sr25519::dev::alice();
    for call in samples::calls() {
        let name = call_name(&call);
        let payload = subxt::dynamic::tx("Storage", name.as_str(), call_arguments(&call));
        let call_data = at
            .tx()
            .call_data(&payload)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(call_data[0], 27, "the Storage pallet's index");

        let params = subxt::config::DefaultExtrinsicParamsBuilder::new()
            .nonce(7)
            .build();
        let mut signable = at.tx().create_signable_offline(&payload, params).unwrap();
        let signer_payload = signable.signer_payload().unwrap();
        let signed = signable.sign(&alice).unwrap();
        let bytes = signed.encoded().to_vec();

        let extrinsics = at.extrinsics().from_bytes(vec![bytes]).await;
        let ext = extrinsics
            .iter()
            .next()
            .expect("one extrinsic")
            .expect("decodes");
        assert!(ext.is_signed());
        assert_eq!(
            (ext.pallet_name(), ext.call_name()),
            ("Storage", name.as_str())
        );
        assert_eq!(
            ext.address_bytes().unwrap(),
            alice.public_key().0,
            "a plain AccountId32"
        );
        let signature = ext.signature_bytes().unwrap();
        assert_eq!(signature[0], 1, "MultiSignature::Sr25519");
        let signature = sr25519::Signature(signature[1..].try_into().unwrap());
        assert!(sr25519::verify(
            &signature,
            &signer_payload,
            &alice.public_key()
        ));
        let fields = ext
            .iter_call_data_fields()
            .map(|f| (f.name().to_string(), f.decode_as::<Value>().unwrap()))
            .collect();
        assert_fields_match(&call, fields);
    }
}
