use super::*;

/// Deterministic bytes.
fn data(len: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ len as u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The sizes that exercise the edges: empty, within a chunk, a group, just past one, powers of
/// two of groups and one more, an odd tail.
const SIZES: &[usize] = &[
    0,
    1,
    1023,
    1024,
    16383,
    16384,
    16385,
    32768,
    32769,
    3 * 16384,
    4 * 16384,
    4 * 16384 + 1,
    5 * 16384 + 7,
    8 * 16384,
    13 * 16384 + 999,
    (1 << 20) + 3,
];

/// The outboard made independently: BLAKE3's tree built recursively over the whole input, its
/// parents written after their subtrees. Returns the subtree's CV.
fn reference(bytes: &[u8], first_group: u64, groups: u64, out: &mut Vec<u8>) -> ChainingValue {
    if groups == 1 {
        return group_cv(first_group, bytes);
    }
    let left = left_len(groups);
    let split = (left * GROUP) as usize;
    let l = reference(&bytes[..split], first_group, left, out);
    let r = reference(&bytes[split..], first_group + left, groups - left, out);
    out.extend_from_slice(&l);
    out.extend_from_slice(&r);
    merge_subtrees_non_root(&l, &r, Mode::Hash)
}

fn build(bytes: &[u8], piece: usize) -> (blake3::Hash, Vec<u8>) {
    let mut o = Outboarder::new();
    let mut drained = Vec::new();
    for p in bytes.chunks(piece.max(1)) {
        o.update(p);
        drained.extend(o.take_pairs());
    }
    assert_eq!(o.len(), bytes.len() as u64);
    let (root, rest) = o.finish();
    drained.extend(rest);
    (root, drained)
}

#[test]
fn the_root_is_the_blake3_hash_and_the_outboard_the_tree_above_the_groups() {
    for &size in SIZES {
        let bytes = data(size);
        let mut expected = Vec::new();
        if groups(size as u64) > 1 {
            reference(&bytes, 0, groups(size as u64), &mut expected);
        }
        for piece in [1, 7, 1024, 16384, 16385, 100_000] {
            if piece == 1 && size > 70_000 {
                continue;
            }
            let (root, outboard) = build(&bytes, piece);
            assert_eq!(root, blake3::hash(&bytes), "size {size}, pieces of {piece}");
            assert_eq!(
                outboard.len() as u64,
                outboard_len(size as u64),
                "size {size}"
            );
            assert!(outboard == expected, "size {size}, pieces of {piece}");
        }
    }
}

#[test]
fn every_group_proves_and_verifies() {
    for &size in SIZES {
        let bytes = data(size);
        let (root, outboard) = build(&bytes, 65536);
        for k in 0..groups(size as u64) {
            let r = group_range(size as u64, k);
            let group = &bytes[r.start as usize..r.end as usize];
            let proof = prove(size as u64, k, &outboard, group).unwrap();
            let wire = proof.to_bytes();
            assert_eq!(wire.len(), Proof::wire_len(size as u64, k).unwrap());
            assert_eq!(
                verify_group(root.as_bytes(), size as u64, k, &wire),
                Ok(group),
                "size {size}, group {k}"
            );
        }
    }
}

#[test]
fn any_changed_byte_of_a_proof_fails_it() {
    let size = 13 * 16384 + 999;
    let bytes = data(size);
    let (root, outboard) = build(&bytes, 4096);
    for k in [0, 5, 12, 13] {
        let r = group_range(size as u64, k);
        let wire = prove(
            size as u64,
            k,
            &outboard,
            &bytes[r.start as usize..r.end as usize],
        )
        .unwrap()
        .to_bytes();
        // Every byte of the pairs, and a spread of the group's bytes.
        let pairs = path(size as u64, k).unwrap().len() * PAIR;
        let positions = (0..pairs).chain((pairs..wire.len()).step_by(97));
        for at in positions {
            let mut bad = wire.clone();
            bad[at] ^= 0x20;
            assert!(
                matches!(
                    verify_group(root.as_bytes(), size as u64, k, &bad),
                    Err(ProofError::Mismatch { .. })
                ),
                "group {k}: byte {at} changed and still verified"
            );
        }
        // The right proof for another group, or for another size, does not hold.
        let other = if k == 0 { 1 } else { 0 };
        assert!(verify_group(root.as_bytes(), size as u64, other, &wire).is_err());
        if k == 13 {
            // The last group's proof pins the size (an earlier group's path is the same in
            // every tree long enough to hold it, as in bao).
            assert!(verify_group(root.as_bytes(), size as u64 + 16384, k, &wire).is_err());
            assert!(verify_group(root.as_bytes(), size as u64 - 1, k, &wire).is_err());
        }
        let mut short = wire.clone();
        short.pop();
        assert!(matches!(
            verify_group(root.as_bytes(), size as u64, k, &short),
            Err(ProofError::Length { .. })
        ));
    }
    assert!(matches!(
        verify_group(root.as_bytes(), size as u64, 14, &[]),
        Err(ProofError::NoSuchGroup { .. })
    ));
}

#[test]
fn a_single_group_proof_is_its_bytes() {
    for size in [0usize, 1, 16384] {
        let bytes = data(size);
        let (root, outboard) = build(&bytes, 1000);
        assert!(outboard.is_empty());
        let wire = prove(size as u64, 0, &outboard, &bytes).unwrap().to_bytes();
        assert_eq!(wire, bytes);
        assert_eq!(
            verify_group(root.as_bytes(), size as u64, 0, &wire),
            Ok(&bytes[..])
        );
        if size > 0 {
            let mut bad = bytes.clone();
            bad[0] ^= 1;
            assert!(verify_group(root.as_bytes(), size as u64, 0, &bad).is_err());
        }
    }
}

#[test]
fn an_outboard_of_the_wrong_length_is_refused() {
    let size = 5 * 16384u64;
    let bytes = data(size as usize);
    let (_, outboard) = build(&bytes, 16384);
    assert!(matches!(
        prove(size, 0, &outboard[..PAIR], &bytes[..16384]),
        Err(ProofError::Outboard { .. })
    ));
}

#[test]
fn paths_index_every_pair_once_and_end_at_their_group() {
    for n in 1..70u64 {
        let size = n * GROUP;
        let mut seen = std::collections::BTreeSet::new();
        for k in 0..n {
            let steps = path(size, k).unwrap();
            // Depth is at most the levels of a tree of n leaves.
            assert!(steps.len() <= 64 - (n.max(1) - 1).leading_zeros() as usize);
            seen.extend(steps.iter().map(|s| s.index));
        }
        let all: Vec<u64> = (0..n - 1).collect();
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), all, "{n} groups");
    }
}
