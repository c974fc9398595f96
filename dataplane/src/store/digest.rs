//! Everything computed from an object's bytes as they stream past: the content id with its
//! outboard (BLAKE3's tree above 16 KiB groups, `hecaton_shared::bao`), the crc32 of each
//! chunk, the size, and the first bytes for media-type sniffing. One pass, no re-reading.

use hecaton_shared::bao::Outboarder;
use hecaton_shared::ContentId;

use crate::store::media_type::{sniff, MediaType, SNIFF_LEN};
use crate::store::record::CHUNK_SIZE;

/// What [`Digester::finish`] produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// Bytes seen.
    pub size: u64,
    /// BLAKE3 content id of those bytes.
    pub content_id: ContentId,
    /// Sniffed media type.
    pub media_type: MediaType,
    /// crc32 per [`CHUNK_SIZE`] chunk.
    pub chunk_crcs: Box<[u32]>,
    /// The outboard: the BLAKE3 tree's parent pairs above 16 KiB groups, in post order (empty
    /// for an object of 16 KiB or less; `size / 256` bytes otherwise).
    pub outboard: Box<[u8]>,
}

/// Accumulates a [`Digest`] over a stream of byte slices of any size.
#[derive(Debug, Default)]
pub struct Digester {
    tree: Outboarder,
    crcs: Vec<u32>,
    chunk: crc32fast::Hasher,
    chunk_fill: u32,
    head: Vec<u8>,
}

impl Digester {
    /// A digester that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.tree.update(bytes);
        self.side(bytes);
    }

    /// Feeds the next bytes with `cvs`, the CV of each of their 16 KiB groups as a verified
    /// slice proved them: the tree takes the CVs instead of hashing the bytes again. Bytes that do not start at a group's
    /// start, or CVs that are not one per group, are hashed as by [`Digester::update`].
    pub fn update_proven(&mut self, bytes: &[u8], cvs: &[[u8; 32]]) {
        let group = hecaton_shared::bao::GROUP as usize;
        let aligned = self.tree.len() % group as u64 == 0;
        if cvs.is_empty() || !aligned || bytes.len().div_ceil(group) != cvs.len() {
            return self.update(bytes);
        }
        for (piece, cv) in bytes.chunks(group).zip(cvs) {
            if !self.tree.update_group_cv(piece.len() as u64, *cv) {
                self.tree.update(piece);
            }
        }
        self.side(bytes);
    }

    /// What is computed besides the tree: the chunks' crc32 and the first bytes.
    fn side(&mut self, mut bytes: &[u8]) {
        if self.head.len() < SNIFF_LEN {
            let take = (SNIFF_LEN - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..take]);
        }
        while !bytes.is_empty() {
            let room = (CHUNK_SIZE - self.chunk_fill) as usize;
            let take = room.min(bytes.len());
            self.chunk.update(&bytes[..take]);
            self.chunk_fill += take as u32;
            bytes = &bytes[take..];
            if self.chunk_fill == CHUNK_SIZE {
                let full = std::mem::take(&mut self.chunk);
                self.crcs.push(full.finalize());
                self.chunk_fill = 0;
            }
        }
    }

    /// The first bytes fed (up to [`SNIFF_LEN`]), from which the media type is sniffed.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.tree.len()
    }

    /// Whether nothing was fed.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// The digest of everything fed.
    pub fn finish(mut self) -> Digest {
        if self.chunk_fill > 0 {
            self.crcs.push(self.chunk.finalize());
        }
        let size = self.tree.len();
        let (root, outboard) = self.tree.finish();
        Digest {
            size,
            content_id: ContentId::from_digest(*root.as_bytes()),
            media_type: sniff(&self.head),
            chunk_crcs: self.crcs.into(),
            outboard: outboard.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::record::chunk_count;

    #[test]
    fn chunk_crcs_do_not_depend_on_how_bytes_arrive() {
        let data: Vec<u8> = (0..(2 * CHUNK_SIZE as usize + 12345))
            .map(|i| (i * 7 % 256) as u8)
            .collect();
        let reference: Vec<u32> = data
            .chunks(CHUNK_SIZE as usize)
            .map(crc32fast::hash)
            .collect();
        for piece in [1usize, 4096, 333_333, CHUNK_SIZE as usize, data.len()] {
            let mut d = Digester::new();
            data.chunks(piece).for_each(|p| d.update(p));
            let digest = d.finish();
            assert_eq!(digest.size, data.len() as u64);
            assert_eq!(&*digest.chunk_crcs, &reference[..], "piece {piece}");
            assert_eq!(digest.chunk_crcs.len(), chunk_count(digest.size));
            assert_eq!(digest.content_id, ContentId::of(&data));
            let mut whole = hecaton_shared::bao::Outboarder::new();
            whole.update(&data);
            assert_eq!(&*digest.outboard, &whole.finish().1[..], "piece {piece}");
        }
    }

    #[test]
    fn empty_object() {
        let d = Digester::new().finish();
        assert_eq!(d.size, 0);
        assert!(d.chunk_crcs.is_empty());
        assert_eq!(d.media_type, MediaType::OctetStream);
    }

    #[test]
    fn sniffs_from_the_first_bytes_even_when_split() {
        let mut d = Digester::new();
        d.update(&[0xFF]);
        d.update(&[0xD8, 0xFF, 0xE0]);
        assert_eq!(d.finish().media_type, MediaType::Jpeg);
    }

    #[test]
    fn a_digest_fed_a_slices_cvs_is_the_digest_fed_the_bytes() {
        use hecaton_shared::bao::{self, slice};
        let group = bao::GROUP as usize;
        let data: Vec<u8> = (0..5 * group + 7).map(|i| (i * 13 % 251) as u8).collect();
        let mut reference = Digester::new();
        reference.update(&data);
        let reference = reference.finish();
        let n = bao::groups(data.len() as u64);
        let root = *reference.content_id.digest();
        let wire = slice::encode(&data, &reference.outboard, 0..n).unwrap();
        let mut v = slice::SliceVerifier::new(&root, data.len() as u64, 0..n).unwrap();
        let (mut at, mut groups, mut cvs) = (0, Vec::new(), Vec::new());
        while let Some(len) = v.next_len() {
            if v.accept(&wire[at..at + len]).unwrap().is_some() {
                groups.extend_from_slice(&wire[at..at + len]);
                cvs.push(v.last_cv().unwrap());
            }
            at += len;
        }
        // Whole runs with their CVs; a run cut mid-group (hashed); CVs that do not fit (hashed).
        let mut d = Digester::new();
        d.update_proven(&groups[..2 * group], &cvs[..2]);
        d.update_proven(&groups[2 * group..2 * group + 100], &[]);
        d.update_proven(&groups[2 * group + 100..3 * group], &cvs[2..3]);
        d.update_proven(&groups[3 * group..], &cvs[3..]);
        assert_eq!(d.finish(), reference);
        let mut wrong = Digester::new();
        wrong.update_proven(&groups, &cvs[..2]);
        assert_eq!(wrong.finish(), reference);
    }
}
