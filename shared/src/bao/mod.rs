//! BLAKE3's tree over an object, kept beside it (the "outboard"), and proofs that one part of an
//! object belongs to its content id: verified streaming in the manner of `bao`, computed while
//! the bytes are hashed for the content id, with no second pass.
//!
//! BLAKE3 hashes 1 KiB chunks into 32-byte chaining values (CVs) and pairs CVs up a binary tree
//! whose root is the hash. Here the leaves are **groups** of 16 chunks (16 KiB, [`GROUP`]): a
//! group is itself a complete subtree of BLAKE3's tree, so the tree above the groups is the
//! same tree, and the root is the content id. The outboard holds each parent node of that upper
//! tree as its two children's CVs (64 bytes), in post order (a parent after both of its
//! subtrees, which is the order a stream completes them in): `64 × (groups - 1)` bytes, 0.4% of
//! the object. An object of one group or less has an empty outboard.
//!
//! A proof of group `k` is the parent pairs on the path from the root down to `k`, root first,
//! then the group's bytes: [`Proof`]. Whoever knows the object's size and content id (both are
//! on chain) checks it with [`verify_group`]: hash the group at its offset, then each pair from
//! the bottom up, each time checking the child on the path against the pair's half, and the
//! root against the content id. A forged byte, pair or group index fails at the first step that
//! depends on it. (As in `bao`, a proof of a group does not pin the object's size unless it is
//! the last group: an earlier group's path is the same in every tree long enough to hold it.
//! The size is on chain.)
//!
//! Tree shape: a node over `n > 1` groups has a left subtree of the largest power of two less
//! than `n` groups (BLAKE3's rule, which at group level is the same rule because groups are
//! powers of two of chunks).

use blake3::hazmat::{
    merge_subtrees_non_root, merge_subtrees_root, ChainingValue, HasherExt, Mode,
};

/// Bytes in a group: 16 BLAKE3 chunks of 1 KiB (bao-tree's block size 4).
pub const GROUP: u64 = 16 * 1024;

/// Bytes of one parent node in an outboard or proof: the left and the right child's CVs.
pub const PAIR: usize = 64;

/// Why a proof or an outboard does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The group index is past the object's end.
    #[error("group {group} is past the end of an object of {groups} groups")]
    NoSuchGroup {
        /// The group asked for.
        group: u64,
        /// Groups in the object.
        groups: u64,
    },
    /// The proof has the wrong length for its object and group.
    #[error("a proof of this group is {expected} bytes, got {got}")]
    Length {
        /// Bytes a proof of this group has.
        expected: usize,
        /// Bytes received.
        got: usize,
    },
    /// A hash does not match: the bytes, a pair, or the root.
    #[error("the proof does not lead to the content id (mismatch {depth} levels below the root)")]
    Mismatch {
        /// 0 at the root, growing toward the group (the group's own hash is deepest).
        depth: usize,
    },
    /// A slice's pair or group does not hash to what the tree above it promised.
    #[error("the slice does not match the content id at groups {first_group}..+{groups}")]
    SliceMismatch {
        /// The first group under the failing node.
        first_group: u64,
        /// Groups under it (1: a group's bytes failed; more: a pair did).
        groups: u64,
    },
    /// The outboard has the wrong length for the object.
    #[error("an outboard of this object is {expected} bytes, got {got}")]
    Outboard {
        /// Bytes an outboard of this object has.
        expected: u64,
        /// Bytes found.
        got: u64,
    },
}

/// Groups in an object of `size` bytes (an empty object has one, empty).
pub fn groups(size: u64) -> u64 {
    size.div_ceil(GROUP).max(1)
}

/// Bytes of the outboard of an object of `size` bytes.
pub fn outboard_len(size: u64) -> u64 {
    (groups(size) - 1) * PAIR as u64
}

/// Byte range of group `k` of an object of `size` bytes.
pub fn group_range(size: u64, k: u64) -> std::ops::Range<u64> {
    let start = k * GROUP;
    start.min(size)..(start + GROUP).min(size)
}

/// One parent node on the path from the root to a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathStep {
    /// Its position among the outboard's pairs (post order).
    pub index: u64,
    /// Whether the path goes on into its left subtree.
    pub left: bool,
}

/// The parent nodes from the root down to group `k` of an object of `size` bytes (none if the
/// object is one group).
pub fn path(size: u64, k: u64) -> Result<Vec<PathStep>, ProofError> {
    let n = groups(size);
    if k >= n {
        return Err(ProofError::NoSuchGroup {
            group: k,
            groups: n,
        });
    }
    let mut steps = Vec::new();
    // The subtree over groups [start, start + len), whose parents take the pairs from `base` on.
    let (mut start, mut len, mut base) = (0u64, n, 0u64);
    while len > 1 {
        let left_len = left_len(len);
        // The subtree's own pair comes after its `len - 2` descendants' pairs.
        let index = base + len - 2;
        if k < start + left_len {
            steps.push(PathStep { index, left: true });
            len = left_len;
        } else {
            steps.push(PathStep { index, left: false });
            base += left_len - 1;
            start += left_len;
            len -= left_len;
        }
    }
    Ok(steps)
}

/// Groups in the left subtree of a node over `len > 1` groups.
fn left_len(len: u64) -> u64 {
    1 << (63 - (len - 1).leading_zeros())
}

/// The CV of group `k` (its bytes), as a non-root node.
fn group_cv(k: u64, bytes: &[u8]) -> ChainingValue {
    let mut h = blake3::Hasher::new();
    h.set_input_offset(k * GROUP);
    h.update(bytes);
    h.finalize_non_root()
}

/// Builds the outboard and the content id of a stream as its bytes arrive.
///
/// Memory: the group's hasher (which keeps at most a chunk), one CV per tree level, and the
/// outboard's pairs until [`Outboarder::take_pairs`] hands them over.
#[derive(Debug, Clone, Default)]
pub struct Outboarder {
    /// The group being hashed.
    group: blake3::Hasher,
    /// Bytes of it so far.
    group_fill: u64,
    /// Groups finished.
    done: u64,
    /// CVs of finished subtrees, largest first.
    stack: Vec<ChainingValue>,
    /// Pairs made and not yet taken.
    pairs: Vec<u8>,
    /// Bytes seen.
    len: u64,
    /// The CV of the group being "hashed", when it came known ([`Outboarder::update_group_cv`]).
    held: Option<ChainingValue>,
}

impl Outboarder {
    /// A builder that has seen no bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the stream.
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len() as u64;
        while !bytes.is_empty() {
            if self.group_fill == GROUP {
                self.finish_group();
            }
            let take = ((GROUP - self.group_fill) as usize).min(bytes.len());
            self.group.update(&bytes[..take]);
            self.group_fill += take as u64;
            bytes = &bytes[take..];
        }
    }

    /// Closes the full group being hashed once a byte past it arrives (only then is a group
    /// known not to be the last, and so not the root).
    fn finish_group(&mut self) {
        self.done += 1;
        let mut next = blake3::Hasher::new();
        next.set_input_offset(self.done * GROUP);
        let finished = std::mem::replace(&mut self.group, next);
        let cv = self
            .held
            .take()
            .unwrap_or_else(|| finished.finalize_non_root());
        self.stack.push(cv);
        self.group_fill = 0;
        // After `done` groups, the complete subtrees are the set bits of that count; none of
        // them is the root, since more bytes follow.
        while self.stack.len() > self.done.count_ones() as usize {
            self.merge_top(false);
        }
    }

    fn merge_top(&mut self, root: bool) -> Option<blake3::Hash> {
        let right = self.stack.pop().expect("two subtrees");
        let left = self.stack.pop().expect("two subtrees");
        self.pairs.extend_from_slice(&left);
        self.pairs.extend_from_slice(&right);
        if root {
            return Some(merge_subtrees_root(&left, &right, Mode::Hash));
        }
        self.stack
            .push(merge_subtrees_non_root(&left, &right, Mode::Hash));
        None
    }

    /// Feeds the next group, `len` bytes (a whole group, or an object's last and shorter one)
    /// whose CV is already known, as a verified slice knows it: nothing is hashed. Only at a
    /// group's start (else, or with `len` above a group, it returns false and feeds nothing),
    /// and only for an object of more than one group (the one group of a smaller object is
    /// the root, which has no such CV).
    pub fn update_group_cv(&mut self, len: u64, cv: ChainingValue) -> bool {
        let at_start = self.group_fill == 0 && self.held.is_none();
        if len == 0 || len > GROUP || !(at_start || self.group_fill == GROUP) {
            return false;
        }
        if self.group_fill == GROUP {
            self.finish_group();
        }
        self.len += len;
        self.group_fill = len;
        self.held = Some(cv);
        true
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no byte was fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The outboard's pairs made since the last call (in order; whole pairs).
    pub fn take_pairs(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pairs)
    }

    /// The root hash (the content id's digest) and the outboard's remaining pairs.
    pub fn finish(mut self) -> (blake3::Hash, Vec<u8>) {
        if self.done == 0 {
            // One group (or none): the root is that group as the root.
            return (self.group.finalize(), self.pairs);
        }
        let last = match self.held.take() {
            Some(cv) => cv,
            None => self.group.finalize_non_root(),
        };
        self.stack.push(last);
        let mut root = None;
        while self.stack.len() > 1 {
            root = self.merge_top(self.stack.len() == 2);
        }
        (root.expect("more than one group"), self.pairs)
    }
}

/// A proof of one group: its path's pairs, root first, then its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The group.
    pub group: u64,
    /// Pairs, root first ([`PAIR`] bytes each).
    pub pairs: Vec<u8>,
    /// The group's bytes.
    pub bytes: Vec<u8>,
}

impl Proof {
    /// The proof's wire form: the pairs, then the bytes (a verifier who knows the object's size
    /// knows where one ends).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.pairs.len() + self.bytes.len());
        out.extend_from_slice(&self.pairs);
        out.extend_from_slice(&self.bytes);
        out
    }

    /// Bytes of the wire form of a proof of group `k` of an object of `size` bytes.
    pub fn wire_len(size: u64, k: u64) -> Result<usize, ProofError> {
        let r = group_range(size, k);
        Ok(path(size, k)?.len() * PAIR + (r.end - r.start) as usize)
    }
}

/// Makes the proof of group `k` from the object's outboard and the group's bytes.
pub fn prove(size: u64, k: u64, outboard: &[u8], bytes: &[u8]) -> Result<Proof, ProofError> {
    if outboard.len() as u64 != outboard_len(size) {
        return Err(ProofError::Outboard {
            expected: outboard_len(size),
            got: outboard.len() as u64,
        });
    }
    let mut pairs = Vec::new();
    for step in path(size, k)? {
        let at = step.index as usize * PAIR;
        pairs.extend_from_slice(&outboard[at..at + PAIR]);
    }
    Ok(Proof {
        group: k,
        pairs,
        bytes: bytes.to_vec(),
    })
}

/// Checks the wire form of a proof of group `k` of an object of `size` bytes against its
/// content id's digest; the group's bytes if it holds.
pub fn verify_group<'a>(
    root: &[u8; 32],
    size: u64,
    k: u64,
    wire: &'a [u8],
) -> Result<&'a [u8], ProofError> {
    let steps = path(size, k)?;
    let expected = Proof::wire_len(size, k)?;
    if wire.len() != expected {
        return Err(ProofError::Length {
            expected,
            got: wire.len(),
        });
    }
    let (pairs, bytes) = wire.split_at(steps.len() * PAIR);
    if steps.is_empty() {
        return if blake3::hash(bytes).as_bytes() == root {
            Ok(bytes)
        } else {
            Err(ProofError::Mismatch { depth: 0 })
        };
    }
    let mut cv = group_cv(k, bytes);
    for (depth, step) in steps.iter().enumerate().rev() {
        let pair = &pairs[depth * PAIR..(depth + 1) * PAIR];
        let (left, right) = pair.split_at(32);
        let child = if step.left { left } else { right };
        if child != cv {
            return Err(ProofError::Mismatch { depth: depth + 1 });
        }
        let (left, right) = (to_cv(left), to_cv(right));
        if depth == 0 {
            return if merge_subtrees_root(&left, &right, Mode::Hash).as_bytes() == root {
                Ok(bytes)
            } else {
                Err(ProofError::Mismatch { depth: 0 })
            };
        }
        cv = merge_subtrees_non_root(&left, &right, Mode::Hash);
    }
    unreachable!("the loop returns at the root")
}

fn to_cv(bytes: &[u8]) -> ChainingValue {
    bytes.try_into().expect("32 bytes")
}

pub mod slice;

#[cfg(test)]
mod tests;
