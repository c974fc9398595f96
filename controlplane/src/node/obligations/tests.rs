//! Obligations kept current from events, and diffs.

use super::*;
use crate::account::AccountId;
use hecaton_shared::StorageBucketId;
use hecaton_vocabulary::event::Event;
use hecaton_vocabulary::event::StorageEvent;
use hecaton_vocabulary::storage_types::{Cid, DataObjectCreationParameters, UploadParameters};

fn bag() -> BagId {
    "dynamic:channel:3".parse().unwrap()
}

fn held() -> Obligations {
    let mut ob = Obligations {
        globals: Globals {
            buckets: vec![StorageBucketId(0)],
            ..Globals::default()
        },
        ..Obligations::default()
    };
    ob.bags.insert(
        bag(),
        Arc::new(BagPlacement {
            bag: bag(),
            buckets: vec![StorageBucketId(0)],
            peers: vec![],
            objects: vec![],
        }),
    );
    ob
}

fn uploaded(bag: BagId, ids: &[u64]) -> Event {
    Event::Storage(StorageEvent::DataObjectsUploaded(
        ids.iter().copied().collect(),
        UploadParameters {
            bag_id: bag,
            object_creation_list: ids
                .iter()
                .map(|i| DataObjectCreationParameters {
                    size: i * 100,
                    ipfs_content_id: Cid(format!("cid{i}").into_bytes()),
                })
                .collect(),
            state_bloat_bond_source_account_id: AccountId::dev("//Charlie"),
            expected_data_size_fee: 0,
            expected_data_object_state_bloat_bond: 0,
        },
        0,
    ))
}

#[test]
fn uploads_acceptances_and_deletions_apply_without_reading_the_chain() {
    let mut ob = held();
    let before = ob.clone();
    let other: BagId = "dynamic:channel:9".parse().unwrap();
    let t = ob.apply_events(&[
        uploaded(bag(), &[5, 6, 7]),
        uploaded(other, &[8]),
        Event::Storage(StorageEvent::PendingDataObjectsAccepted(
            1,
            0,
            bag(),
            [6].into_iter().collect(),
        )),
        Event::Storage(StorageEvent::DataObjectsDeleted(
            AccountId::dev("//Charlie"),
            bag(),
            [7].into_iter().collect(),
        )),
    ]);
    assert_eq!(t, Touched::default(), "nothing to re-read");
    let (_, o5) = ob.object(DataObjectId(5)).unwrap();
    assert_eq!(
        (o5.size, o5.content_id.as_str(), o5.accepted),
        (500, "cid5", false)
    );
    assert!(ob.object(DataObjectId(6)).unwrap().1.accepted);
    assert!(ob.object(DataObjectId(7)).is_none());
    assert!(ob.object(DataObjectId(8)).is_none(), "not this node's bag");
    assert_eq!(ob.counts(), (2, 1, 1100));
    // The data plane receives exactly the new objects.
    assert_eq!(
        diff(&before, &ob),
        vec![Change::Objects {
            bag: bag(),
            objects: ob.bags[&bag()].objects.clone(),
        }]
    );
}

#[test]
fn holder_and_bucket_changes_ask_for_reads() {
    let mut ob = held();
    let t = ob.apply_events(&[Event::Storage(StorageEvent::StorageBucketsUpdatedForBag(
        bag(),
        [1].into_iter().collect(),
        Default::default(),
    ))]);
    assert_eq!(t.bags.into_iter().collect::<Vec<_>>(), vec![bag()]);
    let t = ob.apply_events(&[Event::Storage(StorageEvent::UploadingBlockStatusUpdated(
        true,
    ))]);
    assert!(t.all);
}
