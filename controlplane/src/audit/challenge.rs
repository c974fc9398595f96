//! Which objects and which 16 KiB chunks an audit asks a bucket to prove: drawn from a 32-byte
//! seed with BLAKE3 as the random stream, so that anyone holding the seed (printed with every
//! report) draws the same challenges and can check the auditor did not pick easy ones. By
//! default the seed is derived from the hash of the finalized block the audit reads the chain
//! at ([`seed_of_block`]): no node can know its challenges before that block is final, and any
//! auditor at that block draws the same ones.

use hecaton_shared::bao;

/// One object an audit may challenge: its id, declared size and content id digest (from chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Data object id.
    pub id: u64,
    /// Declared size.
    pub size: u64,
    /// The content id's BLAKE3 digest.
    pub digest: [u8; 32],
}

/// A challenge: prove chunk `chunk` of object `object`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Challenge {
    /// The object.
    pub object: Candidate,
    /// The 16 KiB chunk's index.
    pub chunk: u64,
}

/// The seed of an audit at the block whose hash is `block_hash`.
pub fn seed_of_block(block_hash: &[u8; 32]) -> [u8; 32] {
    blake3::derive_key("hecaton audit 2026-12 challenge seed", block_hash)
}

/// A deterministic stream of random numbers from a seed and a domain (a bucket, a bucket's bag).
struct Draw(blake3::OutputReader);

impl Draw {
    fn new(seed: &[u8; 32], domain: &[u8]) -> Self {
        let mut h = blake3::Hasher::new_keyed(seed);
        h.update(b"hecaton audit v1");
        h.update(domain);
        Draw(h.finalize_xof())
    }

    /// Uniform in `0..n` (`n` > 0), by rejection so that no value is favoured.
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let mut b = [0u8; 8];
            self.0.fill(&mut b);
            let x = u64::from_le_bytes(b);
            if x < zone {
                return x % n;
            }
        }
    }
}

/// Draws up to `count` distinct objects of `candidates` (in any order; sorted by id first, so
/// the order they came in does not matter) and one chunk of each, for bucket `bucket`.
pub fn draw(
    seed: &[u8; 32],
    bucket: u64,
    candidates: &[Candidate],
    count: usize,
) -> Vec<Challenge> {
    draw_in(seed, &bucket.to_le_bytes(), candidates, count)
}

/// [`draw`] among the objects of one bag of bucket `bucket` (the completeness sample: its
/// own stream, so that it does not repeat the bucket's draw).
pub fn draw_in_bag(
    seed: &[u8; 32],
    bucket: u64,
    bag: &str,
    candidates: &[Candidate],
    count: usize,
) -> Vec<Challenge> {
    let mut domain = bucket.to_le_bytes().to_vec();
    domain.extend_from_slice(b" bag ");
    domain.extend_from_slice(bag.as_bytes());
    draw_in(seed, &domain, candidates, count)
}

fn draw_in(
    seed: &[u8; 32],
    domain: &[u8],
    candidates: &[Candidate],
    count: usize,
) -> Vec<Challenge> {
    let mut pool: Vec<Candidate> = candidates.to_vec();
    pool.sort_by_key(|c| c.id);
    pool.dedup_by_key(|c| c.id);
    let mut draw = Draw::new(seed, domain);
    let take = count.min(pool.len());
    // A partial Fisher-Yates shuffle: the first `take` places.
    for i in 0..take {
        let j = i + draw.below((pool.len() - i) as u64) as usize;
        pool.swap(i, j);
    }
    pool.truncate(take);
    pool.into_iter()
        .map(|object| Challenge {
            chunk: draw.below(bao::groups(object.size)),
            object,
        })
        .collect()
}

/// Challenges needed to catch, with probability `confidence`, a node missing a share `lost` of
/// its objects, each challenge on an object drawn at random: the least `n` with
/// `(1 - lost)^n <= 1 - confidence`.
pub fn needed(lost: f64, confidence: f64) -> u64 {
    if lost <= 0.0 {
        return u64::MAX;
    }
    if lost >= 1.0 {
        return 1;
    }
    ((1.0 - confidence).ln() / (1.0 - lost).ln()).ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates(n: u64) -> Vec<Candidate> {
        (0..n)
            .map(|id| Candidate {
                id,
                size: id * 10_000,
                digest: [0; 32],
            })
            .collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_challenges_whatever_the_order() {
        let seed = [7u8; 32];
        let mut shuffled = candidates(100);
        shuffled.reverse();
        let a = draw(&seed, 3, &candidates(100), 10);
        assert_eq!(a, draw(&seed, 3, &shuffled, 10));
        assert_eq!(a.len(), 10);
        let mut ids: Vec<u64> = a.iter().map(|c| c.object.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 10, "distinct objects");
        for c in &a {
            assert!(c.chunk < bao::groups(c.object.size));
        }
        assert_ne!(a, draw(&seed, 4, &candidates(100), 10), "another bucket");
        assert_ne!(a, draw(&[8; 32], 3, &candidates(100), 10), "another seed");
        let bag = draw_in_bag(&seed, 3, "dynamic:channel:1", &candidates(100), 10);
        assert_eq!(
            bag,
            draw_in_bag(&seed, 3, "dynamic:channel:1", &shuffled, 10)
        );
        assert_ne!(bag, a, "a bag's sample is its own draw");
        assert_ne!(
            bag,
            draw_in_bag(&seed, 3, "dynamic:channel:2", &candidates(100), 10)
        );
    }

    #[test]
    fn asking_for_more_than_there_is_challenges_everything_once() {
        let all = draw(&[1; 32], 0, &candidates(5), 50);
        let mut ids: Vec<u64> = all.iter().map(|c| c.object.id).collect();
        ids.sort();
        assert_eq!(ids, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn draws_are_spread_evenly() {
        // 20 000 draws of one object among 10: each about 2000 times.
        let mut counts = [0u32; 10];
        for bucket in 0..20_000 {
            counts[draw(&[2; 32], bucket, &candidates(10), 1)[0].object.id as usize] += 1;
        }
        for c in counts {
            assert!((1700..2300).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn a_block_hash_gives_its_own_seed() {
        let a = seed_of_block(&[1; 32]);
        assert_eq!(a, seed_of_block(&[1; 32]));
        assert_ne!(a, seed_of_block(&[2; 32]));
        assert_ne!(a, [1; 32], "derived, not the hash itself");
    }

    #[test]
    fn challenges_needed_for_99_percent() {
        assert_eq!(needed(0.10, 0.99), 44);
        assert_eq!(needed(0.01, 0.99), 459);
        assert_eq!(needed(0.50, 0.99), 7);
        assert_eq!(needed(1.0, 0.99), 1);
    }
}
