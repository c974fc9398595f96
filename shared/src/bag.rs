//! Bag ids in the text form node software uses: `static:council`,
//! `static:wg:<group>`, `dynamic:member:<n>`, `dynamic:channel:<n>`.
//!
//! Parsing follows the reference nodes on case and surrounding white space (input is trimmed and
//! lower-cased) but is strict everywhere else: exactly the right number of parts, a known group,
//! and a decimal `u64` where the reference used JavaScript's lenient `parseInt`. Printing is
//! always the canonical lower-case form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{parse_decimal_u64, DecimalError};

/// The runtime's working groups, in the chain's variant order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WorkingGroup {
    /// `forum`
    Forum,
    /// `storage`
    Storage,
    /// `content`
    Content,
    /// `operationsalpha`
    OperationsAlpha,
    /// `app`
    App,
    /// `distribution`
    Distribution,
    /// `operationsbeta`
    OperationsBeta,
    /// `operationsgamma`
    OperationsGamma,
    /// `membership`
    Membership,
}

impl WorkingGroup {
    /// Every working group, in the chain's variant order.
    pub const ALL: [WorkingGroup; 9] = [
        WorkingGroup::Forum,
        WorkingGroup::Storage,
        WorkingGroup::Content,
        WorkingGroup::OperationsAlpha,
        WorkingGroup::App,
        WorkingGroup::Distribution,
        WorkingGroup::OperationsBeta,
        WorkingGroup::OperationsGamma,
        WorkingGroup::Membership,
    ];

    /// The lower-case name used in bag ids.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkingGroup::Forum => "forum",
            WorkingGroup::Storage => "storage",
            WorkingGroup::Content => "content",
            WorkingGroup::OperationsAlpha => "operationsalpha",
            WorkingGroup::App => "app",
            WorkingGroup::Distribution => "distribution",
            WorkingGroup::OperationsBeta => "operationsbeta",
            WorkingGroup::OperationsGamma => "operationsgamma",
            WorkingGroup::Membership => "membership",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == name)
    }
}

/// A static bag: one per council and one per working group, created at genesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StaticBagId {
    /// `static:council`
    Council,
    /// `static:wg:<group>`
    WorkingGroup(WorkingGroup),
}

/// A dynamic bag: created for a member or a channel. Serialized as its bag id's text form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DynamicBagId {
    /// `dynamic:member:<member id>`
    Member(u64),
    /// `dynamic:channel:<channel id>`
    Channel(u64),
}

/// A bag id, as the chain's `BagId` enum. Serialized as its text form (`dynamic:channel:7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BagId {
    /// A static bag.
    Static(StaticBagId),
    /// A dynamic bag.
    Dynamic(DynamicBagId),
}

/// Why a bag id did not parse. Each malformed form has its own variant so that callers can say
/// precisely what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BagIdError {
    /// Nothing but white space.
    #[error("empty bag id")]
    Empty,
    /// Not 2 or 3 `:`-separated parts.
    #[error("bag id {0:?} must have 2 or 3 parts separated by ':'")]
    PartCount(String),
    /// The first part is neither `static` nor `dynamic`.
    #[error("bag id kind {0:?} is neither 'static' nor 'dynamic'")]
    UnknownKind(String),
    /// `static:council` followed by more.
    #[error("'static:council' takes no third part, got {0:?}")]
    CouncilWithExtra(String),
    /// A static bag that is neither `council` nor `wg:<group>`.
    #[error("static bag {0:?} is neither 'council' nor 'wg:<group>'")]
    UnknownStaticBag(String),
    /// `static:wg` without a group.
    #[error("'static:wg' needs a working group, as in 'static:wg:storage'")]
    MissingWorkingGroup,
    /// `static:wg:<group>` with a group the runtime does not have.
    #[error("unknown working group {0:?} (known: forum, storage, content, operationsalpha, app, distribution, operationsbeta, operationsgamma, membership)")]
    UnknownWorkingGroup(String),
    /// A dynamic bag whose owner type is neither `member` nor `channel`.
    #[error("dynamic bag type {0:?} is neither 'member' nor 'channel'")]
    UnknownDynamicType(String),
    /// `dynamic:member` or `dynamic:channel` without an id.
    #[error("dynamic bag {0:?} needs an id, as in 'dynamic:{0}:1'")]
    MissingDynamicId(String),
    /// The dynamic owner id is not a decimal `u64`.
    #[error("dynamic bag owner id: {0}")]
    DynamicId(DecimalError),
}

impl fmt::Display for BagId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BagId::Static(StaticBagId::Council) => f.write_str("static:council"),
            BagId::Static(StaticBagId::WorkingGroup(g)) => write!(f, "static:wg:{}", g.as_str()),
            BagId::Dynamic(DynamicBagId::Member(n)) => write!(f, "dynamic:member:{n}"),
            BagId::Dynamic(DynamicBagId::Channel(n)) => write!(f, "dynamic:channel:{n}"),
        }
    }
}

impl FromStr for BagId {
    type Err = BagIdError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let text = input.trim().to_ascii_lowercase();
        if text.is_empty() {
            return Err(BagIdError::Empty);
        }
        let parts: Vec<&str> = text.split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(BagIdError::PartCount(input.to_owned()));
        }
        let third = parts.get(2).copied();
        match parts[0] {
            "static" => parse_static(parts[1], third).map(BagId::Static),
            "dynamic" => parse_dynamic(parts[1], third).map(BagId::Dynamic),
            other => Err(BagIdError::UnknownKind(other.to_owned())),
        }
    }
}

fn parse_static(kind: &str, third: Option<&str>) -> Result<StaticBagId, BagIdError> {
    match (kind, third) {
        ("council", None) => Ok(StaticBagId::Council),
        ("council", Some(extra)) => Err(BagIdError::CouncilWithExtra(extra.to_owned())),
        ("wg", None | Some("")) => Err(BagIdError::MissingWorkingGroup),
        ("wg", Some(group)) => WorkingGroup::from_name(group)
            .map(StaticBagId::WorkingGroup)
            .ok_or_else(|| BagIdError::UnknownWorkingGroup(group.to_owned())),
        (other, _) => Err(BagIdError::UnknownStaticBag(other.to_owned())),
    }
}

fn parse_dynamic(kind: &str, third: Option<&str>) -> Result<DynamicBagId, BagIdError> {
    let make: fn(u64) -> DynamicBagId = match kind {
        "member" => DynamicBagId::Member,
        "channel" => DynamicBagId::Channel,
        other => return Err(BagIdError::UnknownDynamicType(other.to_owned())),
    };
    let id = third.ok_or_else(|| BagIdError::MissingDynamicId(kind.to_owned()))?;
    parse_decimal_u64(id)
        .map(make)
        .map_err(BagIdError::DynamicId)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(s: &str) -> Result<BagId, BagIdError> {
        s.parse()
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(
            parse("static:council"),
            Ok(BagId::Static(StaticBagId::Council))
        );
        assert_eq!(
            parse("dynamic:channel:7"),
            Ok(BagId::Dynamic(DynamicBagId::Channel(7)))
        );
        assert_eq!(
            parse("dynamic:member:0"),
            Ok(BagId::Dynamic(DynamicBagId::Member(0)))
        );
        for group in WorkingGroup::ALL {
            let text = format!("static:wg:{}", group.as_str());
            let bag = parse(&text).unwrap();
            assert_eq!(bag, BagId::Static(StaticBagId::WorkingGroup(group)));
            assert_eq!(bag.to_string(), text);
        }
    }

    #[test]
    fn case_and_space_are_forgiven_like_the_reference_nodes() {
        assert_eq!(
            parse("  Static:WG:OperationsAlpha \n").unwrap().to_string(),
            "static:wg:operationsalpha"
        );
        assert_eq!(
            parse("DYNAMIC:Channel:12").unwrap().to_string(),
            "dynamic:channel:12"
        );
    }

    #[test]
    fn each_malformed_form_has_its_error() {
        assert_eq!(parse(""), Err(BagIdError::Empty));
        assert_eq!(parse("   "), Err(BagIdError::Empty));
        assert!(matches!(parse("static"), Err(BagIdError::PartCount(_))));
        assert!(matches!(
            parse("dynamic:channel:1:2"),
            Err(BagIdError::PartCount(_))
        ));
        assert!(matches!(
            parse("stat:council"),
            Err(BagIdError::UnknownKind(_))
        ));
        assert!(matches!(
            parse("static:council:1"),
            Err(BagIdError::CouncilWithExtra(_))
        ));
        assert!(matches!(
            parse("static:treasury"),
            Err(BagIdError::UnknownStaticBag(_))
        ));
        assert_eq!(parse("static:wg"), Err(BagIdError::MissingWorkingGroup));
        assert_eq!(parse("static:wg:"), Err(BagIdError::MissingWorkingGroup));
        assert!(matches!(
            parse("static:wg:gateway"),
            Err(BagIdError::UnknownWorkingGroup(_))
        ));
        assert!(matches!(
            parse("dynamic:video:1"),
            Err(BagIdError::UnknownDynamicType(_))
        ));
        assert!(matches!(
            parse("dynamic:member"),
            Err(BagIdError::MissingDynamicId(_))
        ));
        // parseInt would have accepted these; we do not.
        for bad in [
            "dynamic:channel:12abc",
            "dynamic:channel:-1",
            "dynamic:member: 1",
            "dynamic:member:",
        ] {
            assert!(matches!(parse(bad), Err(BagIdError::DynamicId(_))), "{bad}");
        }
        assert!(matches!(
            parse("dynamic:member:18446744073709551616"),
            Err(BagIdError::DynamicId(DecimalError::TooLarge(_)))
        ));
    }

    fn any_bag() -> impl Strategy<Value = BagId> {
        prop_oneof![
            Just(BagId::Static(StaticBagId::Council)),
            (0..WorkingGroup::ALL.len())
                .prop_map(|i| BagId::Static(StaticBagId::WorkingGroup(WorkingGroup::ALL[i]))),
            any::<u64>().prop_map(|n| BagId::Dynamic(DynamicBagId::Member(n))),
            any::<u64>().prop_map(|n| BagId::Dynamic(DynamicBagId::Channel(n))),
        ]
    }

    proptest! {
        #[test]
        fn print_then_parse_is_identity(bag in any_bag()) {
            prop_assert_eq!(parse(&bag.to_string()), Ok(bag));
        }

        #[test]
        fn parse_never_panics_and_accepted_text_is_canonical_after_folding(s in "[a-zA-Z0-9: ]{0,30}") {
            if let Ok(bag) = parse(&s) {
                let folded = s.trim().to_ascii_lowercase();
                // Leading zeros are the one non-canonical form that parses.
                prop_assert_eq!(parse(&bag.to_string()), Ok(bag));
                if !folded.contains(":0") {
                    prop_assert_eq!(bag.to_string(), folded);
                }
            }
        }
    }
}

crate::text_serde!(BagId);

impl Serialize for DynamicBagId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&BagId::Dynamic(*self))
    }
}

impl<'de> Deserialize<'de> for DynamicBagId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match BagId::deserialize(deserializer)? {
            BagId::Dynamic(id) => Ok(id),
            BagId::Static(_) => Err(serde::de::Error::custom("expected a dynamic bag id")),
        }
    }
}
