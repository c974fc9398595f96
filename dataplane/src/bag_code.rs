//! A bag id in nine bytes, for the maps that hold one per object: a tag and a number, kept as
//! two fields of the entry so that neither pads it (`Option<BagId>` takes 16 bytes).

use hecaton_shared::{BagId, DynamicBagId, StaticBagId, WorkingGroup};

const NONE: u8 = 0;
const COUNCIL: u8 = 1;
const WORKING_GROUP: u8 = 2;
const MEMBER: u8 = 3;
const CHANNEL: u8 = 4;

/// Packs a bag id into a tag and a number.
pub fn pack(bag: Option<BagId>) -> (u8, u64) {
    match bag {
        None => (NONE, 0),
        Some(BagId::Static(StaticBagId::Council)) => (COUNCIL, 0),
        Some(BagId::Static(StaticBagId::WorkingGroup(g))) => {
            let i = WorkingGroup::ALL.iter().position(|w| *w == g);
            (WORKING_GROUP, i.expect("every group is in ALL") as u64)
        }
        Some(BagId::Dynamic(DynamicBagId::Member(m))) => (MEMBER, m),
        Some(BagId::Dynamic(DynamicBagId::Channel(c))) => (CHANNEL, c),
    }
}

/// The bag id [`pack`] made `(tag, value)` of.
pub fn unpack(tag: u8, value: u64) -> Option<BagId> {
    match tag {
        COUNCIL => Some(BagId::Static(StaticBagId::Council)),
        WORKING_GROUP => WorkingGroup::ALL
            .get(value as usize)
            .map(|g| BagId::Static(StaticBagId::WorkingGroup(*g))),
        MEMBER => Some(BagId::Dynamic(DynamicBagId::Member(value))),
        CHANNEL => Some(BagId::Dynamic(DynamicBagId::Channel(value))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_bag_round_trips() {
        let mut bags: Vec<Option<BagId>> = vec![None, Some(BagId::Static(StaticBagId::Council))];
        bags.extend(
            WorkingGroup::ALL
                .iter()
                .map(|g| Some(BagId::Static(StaticBagId::WorkingGroup(*g)))),
        );
        for n in [0, 1, u64::MAX] {
            bags.push(Some(BagId::Dynamic(DynamicBagId::Member(n))));
            bags.push(Some(BagId::Dynamic(DynamicBagId::Channel(n))));
        }
        for bag in bags {
            let (tag, value) = pack(bag);
            assert_eq!(unpack(tag, value), bag, "{bag:?}");
        }
    }
}
