//! The content pallet, cut down to what drives the storage trait:
//! channels own a dynamic bag (create → `create_dynamic_bag`, delete → `delete_dynamic_bag`),
//! channel and video assets are uploaded and removed through the trait, with the content pallet's
//! own checks (member authentication, asset caps, the storage-buckets witness). Channel bloat
//! bonds, collaborators and metadata are not modelled.

use std::collections::BTreeSet;

use hecaton_shared::{BagId, DistributionBucketId, DynamicBagId};
use imbl::OrdMap;
use serde::{Deserialize, Serialize};

use super::call::{ContentCall, Origin};
use super::error::{ContentError, DispatchResult};
use super::event::{ContentEvent, Event};
use super::storage::types::{
    DataObjectCreationParameters, DynBagCreationParameters, UploadParameters,
};
use super::{ensure_signed, Ctx};
use crate::account::AccountId;

/// A channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// The owning member.
    pub owner: u64,
    /// Videos in the channel.
    pub num_videos: u64,
    /// The channel's own assets (avatar, cover).
    pub data_objects: BTreeSet<u64>,
}

/// A video.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Video {
    /// Its channel.
    pub in_channel: u64,
    /// Its assets (media, thumbnail, subtitles).
    pub data_objects: BTreeSet<u64>,
}

/// Channels and videos.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContentState {
    /// Channels by id.
    pub channels: OrdMap<u64, Channel>,
    /// Videos by id.
    pub videos: OrdMap<u64, Video>,
    /// Next channel id (never reused).
    pub next_channel_id: u64,
    /// Next video id (never reused).
    pub next_video_id: u64,
}

/// Asset upload parameters shared by the content calls.
struct Assets<'a> {
    upload: &'a [DataObjectCreationParameters],
    remove: &'a BTreeSet<u64>,
    expected_fee: u128,
    expected_bond: u128,
}

impl Ctx<'_> {
    /// The signer controls `member_id`.
    fn ensure_member(&self, origin: Origin, member_id: u64) -> DispatchResult<AccountId> {
        let account = ensure_signed(origin)?;
        match self.state.members.members.get(&member_id) {
            Some(member) if member.controller_account == account => Ok(account),
            _ => Err(ContentError::MemberAuthFailed.into()),
        }
    }

    fn channel(&self, id: u64) -> DispatchResult<Channel> {
        Ok(self
            .state
            .content
            .channels
            .get(&id)
            .cloned()
            .ok_or(ContentError::ChannelDoesNotExist)?)
    }

    /// The witness equals the bag's number of storage buckets (required when removing).
    fn check_witness(
        &self,
        channel_id: u64,
        witness: Option<u32>,
        removing: bool,
    ) -> DispatchResult {
        if !removing {
            return Ok(());
        }
        let witness = witness.ok_or(ContentError::MissingStorageBucketsNumWitness)?;
        let bag = self
            .state
            .storage
            .bag(&BagId::Dynamic(DynamicBagId::Channel(channel_id)))?;
        if bag.stored_by.len() != witness as usize {
            return Err(ContentError::InvalidStorageBucketsNumWitnessProvided.into());
        }
        Ok(())
    }

    /// Uploads and removes assets of a channel's bag through the trait; returns the new ids.
    fn change_assets(
        &mut self,
        account: AccountId,
        channel_id: u64,
        assets: Assets<'_>,
    ) -> DispatchResult<BTreeSet<u64>> {
        if assets.upload.is_empty() && assets.remove.is_empty() {
            return Ok(BTreeSet::new());
        }
        let params = UploadParameters {
            bag_id: BagId::Dynamic(DynamicBagId::Channel(channel_id)),
            object_creation_list: assets.upload.to_vec(),
            state_bloat_bond_source_account_id: account,
            expected_data_size_fee: assets.expected_fee,
            expected_data_object_state_bloat_bond: assets.expected_bond,
        };
        if assets.remove.is_empty() {
            self.upload_data_objects(&params)
        } else {
            self.upload_and_delete_data_objects(&params, assets.remove)
        }
    }

    /// An asset update of a channel or a video (`current` its assets, `cap` its asset limit
    /// and error): the content pallet's checks, then the trait. Returns the new asset set and
    /// the ids created.
    fn update_assets(
        &mut self,
        account: AccountId,
        channel_id: u64,
        current: &BTreeSet<u64>,
        cap: (u32, ContentError),
        assets: Assets<'_>,
        witness: Option<u32>,
    ) -> DispatchResult<(BTreeSet<u64>, BTreeSet<u64>)> {
        if !assets.remove.is_subset(current) {
            return Err(ContentError::AssetsToRemoveBeyondEntityAssetsSet.into());
        }
        let kept = current.len() - assets.remove.len();
        if kept + assets.upload.len() > cap.0 as usize {
            return Err(cap.1.into());
        }
        self.check_witness(channel_id, witness, !assets.remove.is_empty())?;
        let remove = assets.remove;
        let new = self.change_assets(account, channel_id, assets)?;
        let mut all: BTreeSet<u64> = current.difference(remove).copied().collect();
        all.extend(new.iter().copied());
        Ok((all, new))
    }

    pub(crate) fn dispatch_content(
        &mut self,
        origin: Origin,
        call: &ContentCall,
    ) -> DispatchResult {
        match call {
            ContentCall::CreateChannel {
                member_id,
                assets,
                expected_data_size_fee,
                expected_data_object_state_bloat_bond,
                storage_buckets,
                distribution_buckets,
            } => {
                let account = self.ensure_member(origin, *member_id)?;
                if assets.len() > self.constants.max_channel_assets as usize {
                    return Err(ContentError::MaxNumberOfChannelAssetsExceeded.into());
                }
                let id = self.state.content.next_channel_id;
                let ids = self.create_dynamic_bag(&DynBagCreationParameters {
                    bag_id: DynamicBagId::Channel(id),
                    object_creation_list: assets.clone(),
                    state_bloat_bond_source_account_id: account,
                    expected_data_size_fee: *expected_data_size_fee,
                    expected_data_object_state_bloat_bond: *expected_data_object_state_bloat_bond,
                    storage_buckets: storage_buckets.clone(),
                    distribution_buckets: distribution_buckets
                        .iter()
                        .copied()
                        .collect::<BTreeSet<DistributionBucketId>>(),
                })?;
                let content = &mut self.state.content;
                content.next_channel_id += 1;
                content.channels.insert(
                    id,
                    Channel {
                        owner: *member_id,
                        num_videos: 0,
                        data_objects: ids.clone(),
                    },
                );
                self.emit(Event::Content(ContentEvent::ChannelCreated(
                    id, *member_id, ids,
                )));
            }
            ContentCall::UpdateChannelAssets {
                channel_id,
                assets_to_upload,
                assets_to_remove,
                expected_data_size_fee,
                expected_data_object_state_bloat_bond,
                storage_buckets_num_witness,
            } => {
                let mut channel = self.channel(*channel_id)?;
                let account = self.ensure_member(origin, channel.owner)?;
                let (assets, new) = self.update_assets(
                    account,
                    *channel_id,
                    &channel.data_objects,
                    (
                        self.constants.max_channel_assets,
                        ContentError::MaxNumberOfChannelAssetsExceeded,
                    ),
                    Assets {
                        upload: assets_to_upload,
                        remove: assets_to_remove,
                        expected_fee: *expected_data_size_fee,
                        expected_bond: *expected_data_object_state_bloat_bond,
                    },
                    *storage_buckets_num_witness,
                )?;
                channel.data_objects = assets;
                self.state.content.channels.insert(*channel_id, channel);
                self.emit(Event::Content(ContentEvent::ChannelAssetsUpdated(
                    *channel_id,
                    new,
                    assets_to_remove.clone(),
                )));
            }
            ContentCall::DeleteChannel {
                channel_id,
                storage_buckets_num_witness,
            } => {
                let channel = self.channel(*channel_id)?;
                let account = self.ensure_member(origin, channel.owner)?;
                if channel.num_videos != 0 {
                    return Err(ContentError::ChannelContainsVideos.into());
                }
                self.check_witness(*channel_id, Some(*storage_buckets_num_witness), true)?;
                self.delete_dynamic_bag(account, DynamicBagId::Channel(*channel_id))?;
                self.state.content.channels.remove(channel_id);
                self.emit(Event::Content(ContentEvent::ChannelDeleted(*channel_id)));
            }
            ContentCall::CreateVideo {
                channel_id,
                assets,
                expected_data_size_fee,
                expected_data_object_state_bloat_bond,
            } => {
                let mut channel = self.channel(*channel_id)?;
                let account = self.ensure_member(origin, channel.owner)?;
                if assets.len() > self.constants.max_video_assets as usize {
                    return Err(ContentError::MaxNumberOfVideoAssetsExceeded.into());
                }
                let ids = self.change_assets(
                    account,
                    *channel_id,
                    Assets {
                        upload: assets,
                        remove: &BTreeSet::new(),
                        expected_fee: *expected_data_size_fee,
                        expected_bond: *expected_data_object_state_bloat_bond,
                    },
                )?;
                let content = &mut self.state.content;
                let video_id = content.next_video_id;
                content.next_video_id += 1;
                content.videos.insert(
                    video_id,
                    Video {
                        in_channel: *channel_id,
                        data_objects: ids.clone(),
                    },
                );
                channel.num_videos += 1;
                content.channels.insert(*channel_id, channel);
                self.emit(Event::Content(ContentEvent::VideoCreated(
                    *channel_id,
                    video_id,
                    ids,
                )));
            }
            ContentCall::UpdateVideoAssets {
                video_id,
                assets_to_upload,
                assets_to_remove,
                expected_data_size_fee,
                expected_data_object_state_bloat_bond,
                storage_buckets_num_witness,
            } => {
                let mut video = self.video(*video_id)?;
                let channel = self.channel(video.in_channel)?;
                let account = self.ensure_member(origin, channel.owner)?;
                let (assets, new) = self.update_assets(
                    account,
                    video.in_channel,
                    &video.data_objects,
                    (
                        self.constants.max_video_assets,
                        ContentError::MaxNumberOfVideoAssetsExceeded,
                    ),
                    Assets {
                        upload: assets_to_upload,
                        remove: assets_to_remove,
                        expected_fee: *expected_data_size_fee,
                        expected_bond: *expected_data_object_state_bloat_bond,
                    },
                    *storage_buckets_num_witness,
                )?;
                video.data_objects = assets;
                self.state.content.videos.insert(*video_id, video);
                self.emit(Event::Content(ContentEvent::VideoAssetsUpdated(
                    *video_id,
                    new,
                    assets_to_remove.clone(),
                )));
            }
            ContentCall::DeleteVideo {
                video_id,
                storage_buckets_num_witness,
            } => {
                let video = self.video(*video_id)?;
                let mut channel = self.channel(video.in_channel)?;
                let account = self.ensure_member(origin, channel.owner)?;
                let removing = !video.data_objects.is_empty();
                self.check_witness(video.in_channel, *storage_buckets_num_witness, removing)?;
                if removing {
                    self.delete_data_objects(
                        account,
                        BagId::Dynamic(DynamicBagId::Channel(video.in_channel)),
                        &video.data_objects,
                    )?;
                }
                channel.num_videos -= 1;
                let content = &mut self.state.content;
                content.channels.insert(video.in_channel, channel);
                content.videos.remove(video_id);
                self.emit(Event::Content(ContentEvent::VideoDeleted(*video_id)));
            }
        }
        Ok(())
    }

    fn video(&self, id: u64) -> DispatchResult<Video> {
        Ok(self
            .state
            .content
            .videos
            .get(&id)
            .cloned()
            .ok_or(ContentError::VideoDoesNotExist)?)
    }
}
