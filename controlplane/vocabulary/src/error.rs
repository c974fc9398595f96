//! Dispatch errors with the chain's names: a client branches
//! on `pallet` and `error`, exactly as it would on a `DispatchError::Module` from a real node.

use serde::{Deserialize, Serialize};

/// Defines a fieldless error enum whose variant names are the chain's, with `name()` and
/// `Display` giving that name.
macro_rules! chain_errors {
    ($(#[$doc:meta])* $name:ident { $($variant:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[allow(missing_docs)]
        pub enum $name { $($variant),* }

        impl $name {
            /// Every variant, in the chain's index order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The chain's name for this error.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),* }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

chain_errors!(
    /// The `Storage` pallet's errors, in index order (pallet index 27).
    StorageError {
        ArithmeticError, InvalidCidLength, NoObjectsOnUpload, StorageBucketDoesntExist,
        StorageBucketIsNotBoundToBag, StorageBucketIsBoundToBag, NoStorageBucketInvitation,
        StorageProviderAlreadySet, StorageProviderMustBeSet, DifferentStorageProviderInvited,
        InvitedStorageProvider, StorageBucketIdCollectionsAreEmpty,
        StorageBucketsNumberViolatesDynamicBagCreationPolicy,
        DistributionBucketsViolatesDynamicBagCreationPolicy, EmptyContentId, ZeroObjectSize,
        InvalidStateBloatBondSourceAccount, InvalidStorageProvider, InsufficientBalance,
        DataObjectDoesntExist, UploadingBlocked, DataObjectIdCollectionIsEmpty,
        SourceAndDestinationBagsAreEqual, DataObjectBlacklisted, BlacklistSizeLimitExceeded,
        VoucherMaxObjectSizeLimitExceeded, VoucherMaxObjectNumberLimitExceeded,
        StorageBucketObjectNumberLimitReached, StorageBucketObjectSizeLimitReached,
        InsufficientTreasuryBalance, CannotDeleteNonEmptyStorageBucket, DataObjectIdParamsAreEmpty,
        StorageBucketsPerBagLimitTooLow, StorageBucketsPerBagLimitTooHigh,
        StorageBucketPerBagLimitExceeded, StorageBucketDoesntAcceptNewBags, DynamicBagExists,
        DynamicBagDoesntExist, StorageProviderOperatorDoesntExist, DataSizeFeeChanged,
        DataObjectStateBloatBondChanged, CannotDeleteNonEmptyDynamicBag,
        MaxDistributionBucketFamilyNumberLimitExceeded, DistributionBucketFamilyDoesntExist,
        DistributionBucketDoesntExist, DistributionBucketIdCollectionsAreEmpty,
        DistributionBucketDoesntAcceptNewBags, MaxDistributionBucketNumberPerBagLimitExceeded,
        DistributionBucketIsNotBoundToBag, DistributionBucketIsBoundToBag,
        DistributionBucketsPerBagLimitTooLow, DistributionBucketsPerBagLimitTooHigh,
        DistributionProviderOperatorDoesntExist, DistributionProviderOperatorAlreadyInvited,
        DistributionProviderOperatorSet, NoDistributionBucketInvitation,
        MustBeDistributionProviderOperatorForBucket,
        MaxNumberOfPendingInvitationsLimitForDistributionBucketReached,
        MaxNumberOfOperatorsPerDistributionBucketReached,
        DistributionFamilyBoundToBagCreationPolicy, MaxDataObjectSizeExceeded,
        InvalidTransactorAccount, NumberOfStorageBucketsOutsideOfAllowedContraints,
        NumberOfDistributionBucketsOutsideOfAllowedContraints, CallDisabled,
    }
);

chain_errors!(
    /// The working-group pallet's origin errors (`working-group/src/checks.rs`) and the few the
    /// embedded hiring calls add.
    WorkingGroupError {
        CurrentLeadNotSet, IsNotLeadAccount, WorkerDoesNotExist, SignerIsNotWorkerRoleAccount,
        CannotHireLeaderWhenLeaderExists,
    }
);

chain_errors!(
    /// The balances pallet's errors this model can raise.
    BalancesError { InsufficientBalance, Expendability, ExistentialDeposit }
);

chain_errors!(
    /// The membership pallet's errors this model can raise.
    MembershipError { HandleAlreadyRegistered, HandleMustBeProvided, MemberProfileNotFound }
);

chain_errors!(
    /// The content pallet's errors this model can raise.
    ContentError {
        MemberAuthFailed, ChannelDoesNotExist, VideoDoesNotExist, ChannelContainsVideos,
        MaxNumberOfChannelAssetsExceeded, MaxNumberOfVideoAssetsExceeded,
        InvalidStorageBucketsNumWitnessProvided, MissingStorageBucketsNumWitness,
        AssetsToRemoveBeyondEntityAssetsSet,
    }
);

chain_errors!(
    /// Errors of the dispatch itself.
    SystemError { BadOrigin }
);

/// Why a call failed: the pallet and the error name. Serialized as
/// `{"pallet": "Storage", "error": "StorageBucketDoesntExist"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "pallet", content = "error")]
pub enum DispatchError {
    /// The origin is not allowed (unsigned where a signature is needed, or not root).
    #[error("System.{0}")]
    System(SystemError),
    /// The `Storage` pallet refused the call.
    #[error("Storage.{0}")]
    Storage(StorageError),
    /// The storage working group refused the origin.
    #[error("StorageWorkingGroup.{0}")]
    StorageWorkingGroup(WorkingGroupError),
    /// The distribution working group refused the origin.
    #[error("DistributionWorkingGroup.{0}")]
    DistributionWorkingGroup(WorkingGroupError),
    /// A transfer or withdrawal failed.
    #[error("Balances.{0}")]
    Balances(BalancesError),
    /// The membership pallet refused the call.
    #[error("Members.{0}")]
    Members(MembershipError),
    /// The content pallet refused the call.
    #[error("Content.{0}")]
    Content(ContentError),
}

impl DispatchError {
    /// The error's name without its pallet.
    pub fn name(&self) -> &'static str {
        match self {
            Self::System(e) => e.name(),
            Self::Storage(e) => e.name(),
            Self::StorageWorkingGroup(e) | Self::DistributionWorkingGroup(e) => e.name(),
            Self::Balances(e) => e.name(),
            Self::Members(e) => e.name(),
            Self::Content(e) => e.name(),
        }
    }
}

impl From<StorageError> for DispatchError {
    fn from(e: StorageError) -> Self {
        Self::Storage(e)
    }
}

impl From<ContentError> for DispatchError {
    fn from(e: ContentError) -> Self {
        Self::Content(e)
    }
}

impl From<MembershipError> for DispatchError {
    fn from(e: MembershipError) -> Self {
        Self::Members(e)
    }
}

/// `Result` of a dispatch.
pub type DispatchResult<T = ()> = Result<T, DispatchError>;
