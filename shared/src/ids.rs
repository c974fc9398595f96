//! Numeric identifiers of the data directory, in the text forms node software uses in URLs,
//! query parameters and file names: decimal `u64`, and `<family>:<index>` for distribution
//! buckets.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a decimal `u64` did not parse. Only ASCII digits are accepted: no sign, no spaces, no
/// `0x`, nothing JavaScript's `parseInt` would have forgiven.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    /// The text was empty.
    #[error("empty number")]
    Empty,
    /// A character other than `0`-`9` appeared.
    #[error("{0:?} is not a decimal number (only digits 0-9 are allowed)")]
    NotDecimal(String),
    /// The number does not fit in 64 bits.
    #[error("{0} does not fit in an unsigned 64-bit integer")]
    TooLarge(String),
}

/// Parses `^\d+$` into a `u64`, strictly.
pub fn parse_decimal_u64(text: &str) -> Result<u64, DecimalError> {
    if text.is_empty() {
        return Err(DecimalError::Empty);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecimalError::NotDecimal(text.to_owned()));
    }
    text.parse::<u64>()
        .map_err(|_| DecimalError::TooLarge(text.to_owned()))
}

macro_rules! decimal_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = DecimalError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_decimal_u64(s).map(Self)
            }
        }

        impl From<u64> for $name {
            fn from(v: u64) -> Self {
                Self(v)
            }
        }
    };
}

decimal_id!(
    /// A data object's id: a decimal `u64` in URLs and file names. Ids are never reused on chain.
    DataObjectId
);
decimal_id!(
    /// A storage bucket's id: a decimal `u64`.
    StorageBucketId
);

/// A distribution bucket's id: its family and its index in that family, written
/// `<family>:<index>`, and serialized in that form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DistributionBucketId {
    /// The distribution bucket family id.
    pub family: u64,
    /// The bucket's index within its family.
    pub index: u64,
}

/// Why a distribution bucket id did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DistributionBucketIdError {
    /// No `:` separates family and index.
    #[error("distribution bucket id {0:?} must be <family>:<index>")]
    MissingSeparator(String),
    /// The family part is not a decimal `u64`.
    #[error("family of distribution bucket id: {0}")]
    Family(DecimalError),
    /// The index part is not a decimal `u64`.
    #[error("index of distribution bucket id: {0}")]
    Index(DecimalError),
}

impl fmt::Display for DistributionBucketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.family, self.index)
    }
}

impl FromStr for DistributionBucketId {
    type Err = DistributionBucketIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (family, index) = s
            .split_once(':')
            .ok_or_else(|| DistributionBucketIdError::MissingSeparator(s.to_owned()))?;
        Ok(Self {
            family: parse_decimal_u64(family).map_err(DistributionBucketIdError::Family)?,
            index: parse_decimal_u64(index).map_err(DistributionBucketIdError::Index)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimal_ids_are_strict() {
        assert_eq!("0".parse::<DataObjectId>(), Ok(DataObjectId(0)));
        assert_eq!("007".parse::<DataObjectId>(), Ok(DataObjectId(7)));
        assert_eq!(
            "18446744073709551615".parse::<DataObjectId>(),
            Ok(DataObjectId(u64::MAX))
        );
        assert!(matches!(
            "18446744073709551616".parse::<DataObjectId>(),
            Err(DecimalError::TooLarge(_))
        ));
        assert_eq!("".parse::<StorageBucketId>(), Err(DecimalError::Empty));
        for bad in ["+1", "-1", " 1", "1 ", "1a", "0x10", "１"] {
            assert!(
                matches!(
                    bad.parse::<DataObjectId>(),
                    Err(DecimalError::NotDecimal(_))
                ),
                "{bad:?} must be rejected"
            );
        }
    }

    #[test]
    fn distribution_bucket_ids() {
        let id: DistributionBucketId = "3:12".parse().unwrap();
        assert_eq!(
            id,
            DistributionBucketId {
                family: 3,
                index: 12
            }
        );
        assert_eq!(id.to_string(), "3:12");
        assert!(matches!(
            "3".parse::<DistributionBucketId>(),
            Err(DistributionBucketIdError::MissingSeparator(_))
        ));
        assert!(matches!(
            "x:1".parse::<DistributionBucketId>(),
            Err(DistributionBucketIdError::Family(_))
        ));
        assert!(matches!(
            "1:2:3".parse::<DistributionBucketId>(),
            Err(DistributionBucketIdError::Index(_))
        ));
    }

    proptest! {
        #[test]
        fn decimal_round_trip(v in any::<u64>()) {
            prop_assert_eq!(DataObjectId(v).to_string().parse::<DataObjectId>(), Ok(DataObjectId(v)));
        }

        #[test]
        fn distribution_round_trip(family in any::<u64>(), index in any::<u64>()) {
            let id = DistributionBucketId { family, index };
            prop_assert_eq!(id.to_string().parse::<DistributionBucketId>(), Ok(id));
        }
    }
}

crate::text_serde!(DistributionBucketId);
