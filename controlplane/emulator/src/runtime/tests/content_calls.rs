//! Content calls: the trait's runtime caller, with its own checks.

use std::collections::BTreeSet;

use super::*;
use crate::runtime::call::{ContentCall as K, MembershipCall};

fn member() -> Origin {
    Origin::Signed(member_account())
}

fn create_channel(n: &Net, assets: &[u64]) -> Call {
    Call::Content(K::CreateChannel {
        member_id: 0,
        assets: assets.iter().map(|s| object(*s)).collect(),
        expected_data_size_fee: n.state.storage.data_object_per_megabyte_fee,
        expected_data_object_state_bloat_bond: n.state.storage.data_object_state_bloat_bond_value,
        storage_buckets: BTreeSet::from([0, 1]),
        distribution_buckets: BTreeSet::from([dbucket(0), dbucket(1)]),
    })
}

fn create_video(n: &Net, assets: &[u64]) -> Call {
    Call::Content(K::CreateVideo {
        channel_id: 0,
        assets: assets.iter().map(|s| object(*s)).collect(),
        expected_data_size_fee: n.state.storage.data_object_per_megabyte_fee,
        expected_data_object_state_bloat_bond: n.state.storage.data_object_state_bloat_bond_value,
    })
}

fn channel(net: &mut Net) {
    let call = create_channel(net, &[1]);
    net.ok(member(), call);
}

fn video(net: &mut Net) {
    channel(net);
    let call = create_video(net, &[7, 8]);
    net.ok(member(), call);
}

#[test]
fn content_calls() {
    run_table(&[
        Case {
            name: "membership: ok",
            setup: nothing,
            origin: stranger,
            call: |_| Call::Members(MembershipCall::BuyMembership { handle: "x".into() }),
            expect: None,
        },
        Case {
            name: "membership: handle taken",
            setup: nothing,
            origin: stranger,
            call: |_| {
                Call::Members(MembershipCall::BuyMembership {
                    handle: "dev".into(),
                })
            },
            expect: Some("HandleAlreadyRegistered"),
        },
        Case {
            name: "channel: ok",
            setup: nothing,
            origin: member,
            call: |n| create_channel(n, &[1]),
            expect: None,
        },
        Case {
            name: "channel: not the member's controller",
            setup: nothing,
            origin: stranger,
            call: |n| create_channel(n, &[]),
            expect: Some("MemberAuthFailed"),
        },
        Case {
            name: "channel: too many assets",
            setup: nothing,
            origin: member,
            call: |n| create_channel(n, &[1; 11]),
            expect: Some("MaxNumberOfChannelAssetsExceeded"),
        },
        Case {
            name: "channel: the pallet's checks apply",
            setup: nothing,
            origin: member,
            call: |n| create_channel(n, &[0]),
            expect: Some("ZeroObjectSize"),
        },
        Case {
            name: "video: ok",
            setup: channel,
            origin: member,
            call: |n| create_video(n, &[5]),
            expect: None,
        },
        Case {
            name: "video: missing channel",
            setup: nothing,
            origin: member,
            call: |n| create_video(n, &[5]),
            expect: Some("ChannelDoesNotExist"),
        },
        Case {
            name: "video: too many assets",
            setup: channel,
            origin: member,
            call: |n| create_video(n, &[5; 21]),
            expect: Some("MaxNumberOfVideoAssetsExceeded"),
        },
        Case {
            name: "video assets: ok",
            setup: video,
            origin: member,
            call: |n| {
                Call::Content(K::UpdateVideoAssets {
                    video_id: 0,
                    assets_to_upload: vec![object(9)],
                    assets_to_remove: BTreeSet::from([1]),
                    expected_data_size_fee: n.state.storage.data_object_per_megabyte_fee,
                    expected_data_object_state_bloat_bond: n
                        .state
                        .storage
                        .data_object_state_bloat_bond_value,
                    storage_buckets_num_witness: Some(2),
                })
            },
            expect: None,
        },
        Case {
            name: "video assets: not the video's",
            setup: video,
            origin: member,
            call: |_| {
                Call::Content(K::UpdateVideoAssets {
                    video_id: 0,
                    assets_to_upload: vec![],
                    assets_to_remove: BTreeSet::from([0]),
                    expected_data_size_fee: 0,
                    expected_data_object_state_bloat_bond: 0,
                    storage_buckets_num_witness: Some(2),
                })
            },
            expect: Some("AssetsToRemoveBeyondEntityAssetsSet"),
        },
        Case {
            name: "video assets: missing witness",
            setup: video,
            origin: member,
            call: |_| {
                Call::Content(K::UpdateVideoAssets {
                    video_id: 0,
                    assets_to_upload: vec![],
                    assets_to_remove: BTreeSet::from([1]),
                    expected_data_size_fee: 0,
                    expected_data_object_state_bloat_bond: 0,
                    storage_buckets_num_witness: None,
                })
            },
            expect: Some("MissingStorageBucketsNumWitness"),
        },
        Case {
            name: "video assets: wrong witness",
            setup: video,
            origin: member,
            call: |_| {
                Call::Content(K::UpdateVideoAssets {
                    video_id: 0,
                    assets_to_upload: vec![],
                    assets_to_remove: BTreeSet::from([1]),
                    expected_data_size_fee: 0,
                    expected_data_object_state_bloat_bond: 0,
                    storage_buckets_num_witness: Some(1),
                })
            },
            expect: Some("InvalidStorageBucketsNumWitnessProvided"),
        },
        Case {
            name: "channel assets: ok",
            setup: channel,
            origin: member,
            call: |_| {
                Call::Content(K::UpdateChannelAssets {
                    channel_id: 0,
                    assets_to_upload: vec![],
                    assets_to_remove: BTreeSet::from([0]),
                    expected_data_size_fee: 0,
                    expected_data_object_state_bloat_bond: 0,
                    storage_buckets_num_witness: Some(2),
                })
            },
            expect: None,
        },
        Case {
            name: "delete video: ok",
            setup: video,
            origin: member,
            call: |_| {
                Call::Content(K::DeleteVideo {
                    video_id: 0,
                    storage_buckets_num_witness: Some(2),
                })
            },
            expect: None,
        },
        Case {
            name: "delete video: missing",
            setup: channel,
            origin: member,
            call: |_| {
                Call::Content(K::DeleteVideo {
                    video_id: 0,
                    storage_buckets_num_witness: Some(2),
                })
            },
            expect: Some("VideoDoesNotExist"),
        },
        Case {
            name: "delete channel: has videos",
            setup: video,
            origin: member,
            call: |_| {
                Call::Content(K::DeleteChannel {
                    channel_id: 0,
                    storage_buckets_num_witness: 2,
                })
            },
            expect: Some("ChannelContainsVideos"),
        },
        Case {
            name: "delete channel: ok",
            setup: channel,
            origin: member,
            call: |_| {
                Call::Content(K::DeleteChannel {
                    channel_id: 0,
                    storage_buckets_num_witness: 2,
                })
            },
            expect: None,
        },
    ]);
}

#[test]
fn deleting_a_channel_repays_every_bond_and_frees_the_buckets() {
    let mut net = Net::dev();
    let before = net.state.balances.free_of(&member_account());
    channel(&mut net);
    let fee = net.state.storage.data_object_per_megabyte_fee;
    net.ok(
        member(),
        Call::Content(K::DeleteChannel {
            channel_id: 0,
            storage_buckets_num_witness: 2,
        }),
    );
    assert_eq!(net.state.balances.free_of(&member_account()), before - fee);
    assert!(!net.state.storage.bags.contains_key(&channel_bag(0)));
    assert_eq!(
        net.state.storage.storage_bucket_by_id[&0]
            .voucher
            .objects_used,
        0
    );
    assert_eq!(net.state.storage.storage_bucket_by_id[&0].assigned_bags, 10);
    // The channel id is not reused.
    let call = create_channel(&net, &[]);
    net.ok(member(), call);
    assert!(net.state.content.channels.contains_key(&1));
}
