//! Verified slices: a run of consecutive groups of an object with every parent pair needed to
//! check them against the content id, each pair sent once, in the order a reader can check
//! them as they arrive (bao's "slice" encoding, at group granularity).
//!
//! The order is the tree's pre-order restricted to the slice: from the root down, a parent's
//! pair comes before its subtrees, and a subtree that holds none of the slice's groups is left
//! out (its CV is in its parent's pair). Cut after every [`SEGMENT`]-th group, each piece sends
//! its pairs first and then its groups back to back: one contiguous range of the object, which
//! a node sends with `sendfile` as it sends plain ranges (bao's pure pre-order puts pairs
//! between every two groups; copying them in cost a storage node three copies of every byte
//! where a range costs one). A reader checks each pair against the CV its parent's pair
//! promised (the root's against the content id), queues the segment's groups with the CVs they
//! must hash to (at most 64), and checks each group's bytes as they arrive, so a forged byte is
//! caught at the group that holds it, before any later byte is handed on, and every byte handed
//! on is proven. The slice of groups `a..b` costs the pairs on the paths to `a` and `b - 1`
//! plus one pair per group in between: about `64 × (b - a)` bytes, 0.4%.

use std::ops::Range;

use blake3::hazmat::{merge_subtrees_non_root, merge_subtrees_root, ChainingValue, Mode};

use super::{group_cv, groups, left_len, ProofError, GROUP, PAIR};

/// A subtree over groups `start..start + len`, whose pairs are the outboard's from `base` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Node {
    start: u64,
    len: u64,
    base: u64,
}

impl Node {
    fn root(size: u64) -> Node {
        Node {
            start: 0,
            len: groups(size),
            base: 0,
        }
    }

    /// Its own pair's index in the outboard (post order: after its descendants').
    fn pair(&self) -> u64 {
        self.base + self.len - 2
    }

    fn children(&self) -> (Node, Node) {
        let l = left_len(self.len);
        let left = Node {
            start: self.start,
            len: l,
            base: self.base,
        };
        let right = Node {
            start: self.start + l,
            len: self.len - l,
            base: self.base + l - 1,
        };
        (left, right)
    }

    fn overlaps(&self, groups: &Range<u64>) -> bool {
        self.start < groups.end && groups.start < self.start + self.len
    }
}

/// A slice's media type on the wire.
pub const CONTENT_TYPE: &str = "application/vnd.hecaton.blake3-slice";

/// Groups sent back to back after the pairs that prove them (1 MiB): a segment's bytes are one
/// contiguous range of the object, which a node sends with one `sendfile`.
pub const SEGMENT: u64 = 64;

/// One item of a slice, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// The pair at this index of the outboard ([`PAIR`] bytes).
    Pair(u64),
    /// The bytes of these groups, back to back (at most [`SEGMENT`]).
    Groups(Range<u64>),
}

/// The items of the slice of `groups` of an object, in the order they are sent.
#[derive(Debug, Clone)]
pub struct Walk {
    groups: Range<u64>,
    /// Subtrees still to visit, the next on top.
    stack: Vec<Node>,
    /// Groups met in this segment, sent after its pairs.
    queued: Option<Range<u64>>,
}

/// Checks that `groups` is a non-empty run of an object of `size` bytes.
fn check(size: u64, groups: &Range<u64>) -> Result<(), ProofError> {
    let n = self::groups(size);
    if groups.start >= groups.end || groups.end > n {
        return Err(ProofError::NoSuchGroup {
            group: groups.end.max(groups.start),
            groups: n,
        });
    }
    Ok(())
}

/// Walks the slice of `groups` of an object of `size` bytes.
pub fn walk(size: u64, groups: Range<u64>) -> Result<Walk, ProofError> {
    check(size, &groups)?;
    Ok(Walk {
        groups,
        stack: vec![Node::root(size)],
        queued: None,
    })
}

impl Iterator for Walk {
    type Item = Item;

    /// The tree's pre-order, cut after every [`SEGMENT`]-th group, each piece's pairs moved
    /// before its groups (a pair only moves earlier, so it still comes after the pair that
    /// proves it and before the groups it proves).
    fn next(&mut self) -> Option<Item> {
        loop {
            let queued = self.queued.as_ref().map_or(0, |q| q.end - q.start);
            match self.stack.last() {
                Some(_) if queued < SEGMENT => {
                    let node = self.stack.pop().expect("on top");
                    if node.len == 1 {
                        let start = self.queued.as_ref().map_or(node.start, |q| q.start);
                        self.queued = Some(start..node.start + 1);
                        continue;
                    }
                    let (left, right) = node.children();
                    if right.overlaps(&self.groups) {
                        self.stack.push(right);
                    }
                    if left.overlaps(&self.groups) {
                        self.stack.push(left);
                    }
                    return Some(Item::Pair(node.pair()));
                }
                _ => return self.queued.take().map(Item::Groups),
            }
        }
    }
}

/// The object's bytes that `groups` hold.
pub fn groups_bytes(size: u64, groups: &Range<u64>) -> Range<u64> {
    super::group_range(size, groups.start).start..super::group_range(size, groups.end - 1).end
}

/// Bytes of the slice of `groups` of an object of `size` bytes.
pub fn slice_len(size: u64, groups: Range<u64>) -> Result<u64, ProofError> {
    let pairs = walk(size, groups.clone())?
        .filter(|i| matches!(i, Item::Pair(_)))
        .count() as u64;
    let bytes = (groups.end * GROUP).min(size) - groups.start * GROUP;
    Ok(pairs * PAIR as u64 + bytes)
}

/// The groups holding bytes `first..=last` of an object of `size` bytes (`last` clamped to the
/// end); `None` if `first` is past the end (an empty object's one group holds byte 0).
pub fn groups_of(size: u64, first: u64, last: Option<u64>) -> Option<Range<u64>> {
    if first >= size.max(1) {
        return None;
    }
    let last = last
        .unwrap_or(u64::MAX)
        .min(size.saturating_sub(1))
        .max(first);
    Some(first / GROUP..last / GROUP + 1)
}

/// The slice of `groups` of an object held whole in memory with its outboard (tests, tools; a
/// node streams slices from its files).
pub fn encode(bytes: &[u8], outboard: &[u8], groups: Range<u64>) -> Result<Vec<u8>, ProofError> {
    let size = bytes.len() as u64;
    if outboard.len() as u64 != super::outboard_len(size) {
        return Err(ProofError::Outboard {
            expected: super::outboard_len(size),
            got: outboard.len() as u64,
        });
    }
    let mut out = Vec::new();
    for item in walk(size, groups)? {
        match item {
            Item::Pair(i) => {
                let at = i as usize * PAIR;
                out.extend_from_slice(&outboard[at..at + PAIR]);
            }
            Item::Groups(g) => {
                let r = groups_bytes(size, &g);
                out.extend_from_slice(&bytes[r.start as usize..r.end as usize]);
            }
        }
    }
    Ok(out)
}

/// What a subtree must hash to.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// The content id (the root is finalized differently).
    Root,
    /// A CV its parent's pair holds.
    Cv(ChainingValue),
}

/// Checks a slice item by item as it arrives.
#[derive(Debug, Clone)]
pub struct SliceVerifier {
    root: [u8; 32],
    size: u64,
    groups: Range<u64>,
    stack: Vec<(Node, Expect)>,
    /// Groups of this segment met in the walk, with what they must hash to, in order.
    queue: std::collections::VecDeque<(u64, Expect)>,
    /// Whether the segment's pairs are done and its groups are coming.
    draining: bool,
    failed: bool,
    /// The CV of the group accepted last (none for an object of one group: it is the root).
    last_cv: Option<ChainingValue>,
}

impl SliceVerifier {
    /// A verifier of the slice of `groups` of the object of `size` bytes whose content id's
    /// digest is `root`.
    pub fn new(root: &[u8; 32], size: u64, groups: Range<u64>) -> Result<Self, ProofError> {
        check(size, &groups)?;
        let mut v = Self {
            root: *root,
            size,
            groups,
            stack: vec![(Node::root(size), Expect::Root)],
            queue: std::collections::VecDeque::new(),
            draining: false,
            failed: false,
            last_cv: None,
        };
        v.settle();
        Ok(v)
    }

    /// Follows [`Walk`]'s order: groups met while the segment is not full are queued; once it
    /// is full, or the walk is done, the queued groups are next.
    fn settle(&mut self) {
        if self.draining {
            return;
        }
        while self.queue.len() < SEGMENT as usize {
            match self.stack.last() {
                Some((node, _)) if node.len == 1 => {
                    let (node, expect) = self.stack.pop().expect("on top");
                    self.queue.push_back((node.start, expect));
                }
                Some(_) => return,
                None => break,
            }
        }
        self.draining = !self.queue.is_empty();
    }

    /// Whether every item arrived and checked.
    pub fn is_complete(&self) -> bool {
        self.stack.is_empty() && self.queue.is_empty() && !self.failed
    }

    /// The CV of the group [`SliceVerifier::accept`] proved last, for
    /// [`Outboarder::update_group_cv`](crate::bao::Outboarder::update_group_cv) (so that a
    /// proven group is not hashed twice); `None` for an object of one group.
    pub fn last_cv(&self) -> Option<[u8; 32]> {
        self.last_cv
    }

    /// Bytes of the next item; `None` once the slice is complete or failed.
    pub fn next_len(&self) -> Option<usize> {
        if self.failed {
            return None;
        }
        if self.draining {
            let (k, _) = self.queue.front()?;
            let r = super::group_range(self.size, *k);
            return Some((r.end - r.start) as usize);
        }
        self.stack.last().map(|_| PAIR)
    }

    /// Checks the next item, exactly [`SliceVerifier::next_len`] bytes: `Some(k)` when it was
    /// group `k`'s bytes, now proven; `None` for a pair (which proves what follows). After an
    /// error the verifier is spent.
    pub fn accept(&mut self, item: &[u8]) -> Result<Option<u64>, ProofError> {
        let expected = self.next_len().ok_or(ProofError::Length {
            expected: 0,
            got: item.len(),
        })?;
        if item.len() != expected {
            return Err(ProofError::Length {
                expected,
                got: item.len(),
            });
        }
        if self.draining {
            let (k, expect) = self.queue.pop_front().expect("next_len saw it");
            let (ok, cv) = match expect {
                Expect::Root => (blake3::hash(item).as_bytes() == &self.root, None),
                Expect::Cv(cv) => (group_cv(k, item) == cv, Some(cv)),
            };
            self.last_cv = cv;
            if !ok {
                self.failed = true;
                return Err(ProofError::SliceMismatch {
                    first_group: k,
                    groups: 1,
                });
            }
            if self.queue.is_empty() {
                self.draining = false;
                self.settle();
            }
            return Ok(Some(k));
        }
        let (node, expect) = self.stack.pop().expect("next_len saw it");
        let fail = || {
            Err(ProofError::SliceMismatch {
                first_group: node.start,
                groups: node.len,
            })
        };
        let left: ChainingValue = item[..32].try_into().expect("32 bytes");
        let right: ChainingValue = item[32..].try_into().expect("32 bytes");
        let ok = match expect {
            Expect::Root => merge_subtrees_root(&left, &right, Mode::Hash).as_bytes() == &self.root,
            Expect::Cv(cv) => merge_subtrees_non_root(&left, &right, Mode::Hash) == cv,
        };
        if !ok {
            self.failed = true;
            return fail();
        }
        let (l, r) = node.children();
        if r.overlaps(&self.groups) {
            self.stack.push((r, Expect::Cv(right)));
        }
        if l.overlaps(&self.groups) {
            self.stack.push((l, Expect::Cv(left)));
        }
        self.settle();
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bao::Outboarder;

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 1000) as u8).collect()
    }

    fn encode(bytes: &[u8], outboard: &[u8], groups: Range<u64>) -> Vec<u8> {
        super::encode(bytes, outboard, groups).unwrap()
    }

    /// Feeds a slice to a verifier: the groups proven, in order, and the error, if any.
    fn verify(
        root: &[u8; 32],
        size: u64,
        groups: Range<u64>,
        wire: &[u8],
    ) -> (Vec<(u64, Vec<u8>)>, Option<ProofError>) {
        let mut v = SliceVerifier::new(root, size, groups).unwrap();
        let (mut at, mut proven) = (0, Vec::new());
        while let Some(n) = v.next_len() {
            if at + n > wire.len() {
                return (
                    proven,
                    Some(ProofError::Length {
                        expected: n,
                        got: 0,
                    }),
                );
            }
            match v.accept(&wire[at..at + n]) {
                Ok(Some(k)) => proven.push((k, wire[at..at + n].to_vec())),
                Ok(None) => {}
                Err(e) => return (proven, Some(e)),
            }
            at += n;
        }
        assert!(v.is_complete());
        assert_eq!(at, wire.len(), "the verifier reads the whole slice");
        (proven, None)
    }

    fn tree(bytes: &[u8]) -> ([u8; 32], Vec<u8>) {
        let mut t = Outboarder::new();
        t.update(bytes);
        let (root, outboard) = t.finish();
        (*root.as_bytes(), outboard)
    }

    #[test]
    fn every_run_of_groups_slices_and_verifies() {
        let g = GROUP as usize;
        for size in [0, 1, g, g + 1, 5 * g + 7, 8 * g, 17 * g + 3] {
            let bytes = data(size);
            let (root, outboard) = tree(&bytes);
            let n = groups(size as u64);
            for a in 0..n {
                for b in a + 1..=n {
                    let wire = encode(&bytes, &outboard, a..b);
                    assert_eq!(slice_len(size as u64, a..b).unwrap(), wire.len() as u64);
                    let (proven, err) = verify(&root, size as u64, a..b, &wire);
                    assert_eq!(err, None, "size {size} groups {a}..{b}");
                    let expected: Vec<(u64, Vec<u8>)> = (a..b)
                        .map(|k| {
                            let r = crate::bao::group_range(size as u64, k);
                            (k, bytes[r.start as usize..r.end as usize].to_vec())
                        })
                        .collect();
                    assert_eq!(proven, expected, "size {size} groups {a}..{b}");
                }
            }
        }
    }

    #[test]
    fn slices_of_more_than_a_segment_send_each_segments_groups_back_to_back() {
        let g = GROUP as usize;
        let size = 200 * g + 5;
        let bytes = data(size);
        let (root, outboard) = tree(&bytes);
        for groups in [0..201, 3..70, 63..65, 64..129, 190..201, 0..1] {
            let items: Vec<Item> = walk(size as u64, groups.clone()).unwrap().collect();
            let runs: Vec<Range<u64>> = items
                .iter()
                .filter_map(|i| match i {
                    Item::Groups(r) => Some(r.clone()),
                    Item::Pair(_) => None,
                })
                .collect();
            // Every group once, in order, in runs of at most a segment.
            let all: Vec<u64> = runs.iter().flat_map(|r| r.clone()).collect();
            assert_eq!(all, groups.clone().collect::<Vec<_>>(), "{groups:?}");
            assert!(runs.iter().all(|r| r.end - r.start <= SEGMENT), "{runs:?}");
            let full = runs.iter().filter(|r| r.end - r.start == SEGMENT).count();
            assert_eq!(
                full as u64,
                (groups.end - groups.start) / SEGMENT,
                "{runs:?}"
            );
            let wire = encode(&bytes, &outboard, groups.clone());
            assert_eq!(
                slice_len(size as u64, groups.clone()).unwrap(),
                wire.len() as u64
            );
            let (proven, err) = verify(&root, size as u64, groups.clone(), &wire);
            assert_eq!(err, None, "{groups:?}");
            assert_eq!(proven.len() as u64, groups.end - groups.start);
            for (k, got) in proven {
                let r = crate::bao::group_range(size as u64, k);
                assert!(got == bytes[r.start as usize..r.end as usize]);
            }
        }
    }

    #[test]
    fn a_forged_byte_is_caught_before_any_byte_after_it_is_handed_on() {
        let size = 150 * GROUP as usize + 3;
        let bytes = data(size);
        let (root, outboard) = tree(&bytes);
        for groups in [0..151, 5..6, 60..80] {
            let wire = encode(&bytes, &outboard, groups.clone());
            for at in (0..wire.len())
                .step_by(wire.len() / 23 + 1)
                .chain([0, wire.len() - 1])
            {
                let mut bad = wire.clone();
                bad[at] ^= 0x20;
                let (proven, err) = verify(&root, size as u64, groups.clone(), &bad);
                assert!(
                    matches!(err, Some(ProofError::SliceMismatch { .. })),
                    "byte {at} of {groups:?}: {err:?}"
                );
                // Every group handed on came whole before the forged byte, and is the truth.
                let mut end = 0;
                for (k, got) in &proven {
                    let r = crate::bao::group_range(size as u64, *k);
                    assert_eq!(got[..], bytes[r.start as usize..r.end as usize]);
                    end = wire.windows(got.len()).position(|w| w == &got[..]).unwrap() + got.len();
                }
                assert!(end <= at, "byte {at}: a group after it was handed on");
            }
        }
    }

    #[test]
    fn a_wrong_root_fails_at_the_first_item_and_a_wrong_size_hands_on_nothing_false() {
        let bytes = data(5 * GROUP as usize);
        let (root, outboard) = tree(&bytes);
        let wire = encode(&bytes, &outboard, 2..4);
        let mut other = root;
        other[0] ^= 1;
        let (proven, err) = verify(&other, bytes.len() as u64, 2..4, &wire);
        assert!(proven.is_empty() && err.is_some());
        // The size is on chain; a wrong one fails once the tree's shape differs, and a group
        // whose place in the tree is the same in both shapes is still the true group.
        let (proven, err) = verify(&root, 9 * GROUP, 2..4, &wire);
        assert!(err.is_some());
        for (k, got) in proven {
            let r = crate::bao::group_range(bytes.len() as u64, k);
            assert_eq!(got[..], bytes[r.start as usize..r.end as usize]);
        }
        assert!(SliceVerifier::new(&root, bytes.len() as u64, 3..3).is_err());
        assert!(SliceVerifier::new(&root, bytes.len() as u64, 4..6).is_err());
    }

    #[test]
    fn a_tree_fed_the_slices_cvs_is_the_tree_fed_the_bytes() {
        let g = GROUP as usize;
        for size in [g + 1, 2 * g, 5 * g + 7, 17 * g] {
            let bytes = data(size);
            let (root, outboard) = tree(&bytes);
            let n = groups(size as u64);
            // From group `from` on the groups come with their CVs; before it, as bytes.
            for from in [0, 1, n - 1] {
                let wire = encode(&bytes, &outboard, 0..n);
                let mut v = SliceVerifier::new(&root, size as u64, 0..n).unwrap();
                let mut t = Outboarder::new();
                let mut at = 0;
                while let Some(len) = v.next_len() {
                    let item = &wire[at..at + len];
                    at += len;
                    if let Some(k) = v.accept(item).unwrap() {
                        if k < from {
                            t.update(item);
                        } else {
                            assert!(t.update_group_cv(len as u64, v.last_cv().unwrap()));
                        }
                    }
                }
                let (got_root, got_outboard) = t.finish();
                assert_eq!(got_root.as_bytes(), &root, "size {size} from {from}");
                assert_eq!(got_outboard, outboard, "size {size} from {from}");
            }
        }
        let mut t = Outboarder::new();
        t.update(&[1; 100]);
        assert!(!t.update_group_cv(GROUP, [0; 32]), "not at a group's start");
    }

    #[test]
    fn byte_ranges_map_to_the_groups_that_hold_them() {
        let g = GROUP;
        assert_eq!(groups_of(0, 0, None), Some(0..1));
        assert_eq!(groups_of(0, 1, None), None);
        assert_eq!(groups_of(10, 10, None), None);
        assert_eq!(groups_of(3 * g, 0, None), Some(0..3));
        assert_eq!(groups_of(3 * g, g, Some(g)), Some(1..2));
        assert_eq!(groups_of(3 * g, g - 1, Some(g)), Some(0..2));
        assert_eq!(groups_of(3 * g, 2 * g + 5, Some(u64::MAX)), Some(2..3));
        assert_eq!(groups_of(3 * g, 5, Some(2)), Some(0..1));
    }
}
