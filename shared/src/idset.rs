//! A set of data object ids as a bitmap. Ids are handed out in sequence and never reused, so
//! the ids of every object that exists on chain fit in one bit each below the next id: about
//! 256 KiB for two million objects, whatever their pattern. A distributor keeps it to tell a
//! deleted or never-created object (404) from one that exists but is not its to serve (421).
//!
//! It travels as lowercase hex of its little-endian words, trailing zero words left out.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::DataObjectId;

/// A set of object ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdSet {
    words: Vec<u64>,
}

impl IdSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `id`.
    pub fn insert(&mut self, id: DataObjectId) {
        let (w, b) = ((id.0 / 64) as usize, id.0 % 64);
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        self.words[w] |= 1 << b;
    }

    /// Removes `id`.
    pub fn remove(&mut self, id: DataObjectId) {
        let (w, b) = ((id.0 / 64) as usize, id.0 % 64);
        if let Some(word) = self.words.get_mut(w) {
            *word &= !(1 << b);
        }
        while self.words.last() == Some(&0) {
            self.words.pop();
        }
    }

    /// Whether `id` is in the set.
    pub fn contains(&self, id: DataObjectId) -> bool {
        let (w, b) = ((id.0 / 64) as usize, id.0 % 64);
        self.words.get(w).is_some_and(|word| word & (1 << b) != 0)
    }

    /// Ids in the set.
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    /// The ids in `self` and not in `other`.
    pub fn difference(&self, other: &IdSet) -> Vec<DataObjectId> {
        let mut out = Vec::new();
        for (i, w) in self.words.iter().enumerate() {
            let mut bits = w & !other.words.get(i).copied().unwrap_or(0);
            while bits != 0 {
                let b = bits.trailing_zeros() as u64;
                out.push(DataObjectId(i as u64 * 64 + b));
                bits &= bits - 1;
            }
        }
        out
    }
}

impl FromIterator<DataObjectId> for IdSet {
    fn from_iter<I: IntoIterator<Item = DataObjectId>>(iter: I) -> Self {
        let mut s = IdSet::new();
        for id in iter {
            s.insert(id);
        }
        s
    }
}

impl Serialize for IdSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = String::with_capacity(self.words.len() * 16);
        for w in &self.words {
            for byte in w.to_le_bytes() {
                let _ = write!(text, "{byte:02x}");
            }
        }
        serializer.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for IdSet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        if text.len() % 16 != 0 {
            return Err(serde::de::Error::custom("id set: not whole 64-bit words"));
        }
        let mut words = Vec::with_capacity(text.len() / 16);
        for chunk in text.as_bytes().chunks(16) {
            let mut bytes = [0u8; 8];
            for (i, pair) in chunk.chunks(2).enumerate() {
                let pair = std::str::from_utf8(pair).map_err(serde::de::Error::custom)?;
                bytes[i] = u8::from_str_radix(pair, 16).map_err(serde::de::Error::custom)?;
            }
            words.push(u64::from_le_bytes(bytes));
        }
        while words.last() == Some(&0) {
            words.pop();
        }
        Ok(IdSet { words })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn behaves_as_a_set_and_round_trips(ids in proptest::collection::btree_set(0u64..5000, 0..200), gone in proptest::collection::vec(0u64..5000, 0..50)) {
            let mut s: IdSet = ids.iter().map(|i| DataObjectId(*i)).collect();
            let mut model = ids.clone();
            for g in &gone {
                s.remove(DataObjectId(*g));
                model.remove(g);
            }
            prop_assert_eq!(s.len(), model.len());
            for i in 0..5000 {
                prop_assert_eq!(s.contains(DataObjectId(i)), model.contains(&i));
            }
            let json = serde_json::to_string(&s).unwrap();
            let back: IdSet = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, &s);
            let all: IdSet = ids.iter().map(|i| DataObjectId(*i)).collect();
            let removed: Vec<u64> = all.difference(&s).into_iter().map(|d| d.0).collect();
            let expected: Vec<u64> = ids.difference(&model).copied().collect();
            prop_assert_eq!(removed, expected);
        }
    }

    #[test]
    fn bad_text_is_refused() {
        assert!(serde_json::from_str::<IdSet>("\"abc\"").is_err());
        assert!(serde_json::from_str::<IdSet>("\"zz00000000000000\"").is_err());
        assert_eq!(serde_json::from_str::<IdSet>("\"\"").unwrap(), IdSet::new());
    }
}
