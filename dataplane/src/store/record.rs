//! What the store knows about one object, and its on-disk encoding in the index.
//!
//! A record frame is `u32 LE payload length ‖ u32 LE crc32(payload) ‖ payload`. The payload is a
//! fixed little-endian layout with a version byte first, so a later version can be read next to
//! this one. A frame whose length runs past the end of the file or whose crc does not match is
//! where replay stops (see `index.rs`).

use hecaton_shared::{BagId, ContentId, DataObjectId};

use crate::store::media_type::MediaType;

/// Object bytes covered by one chunk crc.
pub const CHUNK_SIZE: u32 = 1 << 20;
/// Frame header: length and crc32.
pub const FRAME_HEADER: usize = 8;
/// The largest payload a valid frame can have: a `Put` of a 64 TiB object.
pub const MAX_PAYLOAD: usize = 64 + 4 * (64 << 20);

const VERSION: u8 = 1;
const OP_PUT: u8 = 1;
const OP_DELETE: u8 = 2;
/// A `Put` followed by the object's bag in its text form (`u8` length, then the bytes).
const OP_PUT_IN_BAG: u8 = 3;
/// The longest bag id text (`dynamic:channel:18446744073709551615` is 36 bytes).
const BAG_TEXT_MAX: usize = 64;

/// A published object: everything needed to serve and re-verify it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The data object id (also the file name).
    pub id: DataObjectId,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 content id, verified before publishing.
    pub content_id: ContentId,
    /// Media type sniffed from the first bytes.
    pub media_type: MediaType,
    /// crc32 of each [`CHUNK_SIZE`] chunk, the last one possibly shorter.
    pub chunk_crcs: Box<[u32]>,
    /// The bag it was stored for (`None` for objects imported from a plain directory). Cleanup
    /// uses it to tell, after a restart, whether an object it no longer has to hold was deleted
    /// or moved to other buckets.
    pub bag: Option<BagId>,
}

/// One entry of the index log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The object was published.
    Put(ObjectMeta),
    /// The object was removed.
    Delete(DataObjectId),
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes end inside the frame: a write that did not finish.
    #[error("frame truncated: {needed} bytes needed, {available} available")]
    Truncated {
        /// Bytes the frame claims.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The length field is impossible.
    #[error("frame length {0} exceeds the maximum")]
    Length(usize),
    /// The payload does not match its crc32.
    #[error("frame crc mismatch")]
    Crc,
    /// The crc matched but the payload is not a record this version understands.
    #[error("unreadable record: {0}")]
    Payload(&'static str),
}

impl Record {
    /// Appends this record's frame to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0u8; FRAME_HEADER]);
        out.push(VERSION);
        match self {
            Record::Put(m) => {
                out.push(if m.bag.is_some() {
                    OP_PUT_IN_BAG
                } else {
                    OP_PUT
                });
                out.extend_from_slice(&m.id.0.to_le_bytes());
                out.extend_from_slice(&m.size.to_le_bytes());
                out.extend_from_slice(m.content_id.digest());
                out.push(m.media_type as u8);
                out.extend_from_slice(&CHUNK_SIZE.to_le_bytes());
                out.extend_from_slice(&(m.chunk_crcs.len() as u32).to_le_bytes());
                for crc in m.chunk_crcs.iter() {
                    out.extend_from_slice(&crc.to_le_bytes());
                }
                if let Some(bag) = &m.bag {
                    let text = bag.to_string();
                    debug_assert!(text.len() <= BAG_TEXT_MAX);
                    out.push(text.len() as u8);
                    out.extend_from_slice(text.as_bytes());
                }
            }
            Record::Delete(id) => {
                out.push(OP_DELETE);
                out.extend_from_slice(&id.0.to_le_bytes());
            }
        }
        let payload_len = (out.len() - start - FRAME_HEADER) as u32;
        let crc = crc32fast::hash(&out[start + FRAME_HEADER..]);
        out[start..start + 4].copy_from_slice(&payload_len.to_le_bytes());
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    }

    /// Decodes the frame at the start of `bytes`, returning it and its total length.
    pub fn decode(bytes: &[u8]) -> Result<(Record, usize), DecodeError> {
        if bytes.len() < FRAME_HEADER {
            return Err(DecodeError::Truncated {
                needed: FRAME_HEADER,
                available: bytes.len(),
            });
        }
        let len = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes")) as usize;
        if len > MAX_PAYLOAD {
            return Err(DecodeError::Length(len));
        }
        let total = FRAME_HEADER + len;
        if bytes.len() < total {
            return Err(DecodeError::Truncated {
                needed: total,
                available: bytes.len(),
            });
        }
        let crc = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
        let payload = &bytes[FRAME_HEADER..total];
        if crc32fast::hash(payload) != crc {
            return Err(DecodeError::Crc);
        }
        Ok((decode_payload(payload)?, total))
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        if self.0.len() < N {
            return Err(DecodeError::Payload("payload shorter than its fields"));
        }
        let (head, rest) = self.0.split_at(N);
        self.0 = rest;
        Ok(head.try_into().expect("split at N"))
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.take()?))
    }
}

fn decode_payload(payload: &[u8]) -> Result<Record, DecodeError> {
    let mut r = Reader(payload);
    if r.u8()? != VERSION {
        return Err(DecodeError::Payload("unknown record version"));
    }
    let record = match r.u8()? {
        op @ (OP_PUT | OP_PUT_IN_BAG) => {
            let id = DataObjectId(r.u64()?);
            let size = r.u64()?;
            let content_id = ContentId::from_digest(r.take::<32>()?);
            let media_type = MediaType::from_code(r.u8()?);
            if r.u32()? != CHUNK_SIZE {
                return Err(DecodeError::Payload("unsupported chunk size"));
            }
            let n = r.u32()? as usize;
            if n != chunk_count(size) {
                return Err(DecodeError::Payload("chunk count does not match size"));
            }
            let chunk_crcs = (0..n).map(|_| r.u32()).collect::<Result<Vec<_>, _>>()?;
            let bag = if op == OP_PUT_IN_BAG {
                let len = r.u8()? as usize;
                if len > BAG_TEXT_MAX || r.0.len() < len {
                    return Err(DecodeError::Payload("bag id length"));
                }
                let (text, rest) = r.0.split_at(len);
                r.0 = rest;
                let text =
                    std::str::from_utf8(text).map_err(|_| DecodeError::Payload("bag id text"))?;
                Some(
                    text.parse()
                        .map_err(|_| DecodeError::Payload("bag id text"))?,
                )
            } else {
                None
            };
            Record::Put(ObjectMeta {
                id,
                size,
                content_id,
                media_type,
                chunk_crcs: chunk_crcs.into(),
                bag,
            })
        }
        OP_DELETE => Record::Delete(DataObjectId(r.u64()?)),
        _ => return Err(DecodeError::Payload("unknown record operation")),
    };
    if !r.0.is_empty() {
        return Err(DecodeError::Payload("trailing bytes after record"));
    }
    Ok(record)
}

/// Number of chunk crcs an object of `size` bytes has.
pub fn chunk_count(size: u64) -> usize {
    size.div_ceil(CHUNK_SIZE as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn meta(id: u64, size: u64) -> ObjectMeta {
        ObjectMeta {
            id: DataObjectId(id),
            size,
            content_id: ContentId::of(&id.to_le_bytes()),
            media_type: MediaType::Mp4,
            chunk_crcs: (0..chunk_count(size) as u32).collect(),
            bag: None,
        }
    }

    #[test]
    fn a_put_keeps_its_bag() {
        for bag in [
            "static:council",
            "dynamic:channel:18446744073709551615",
            "static:wg:operationsalpha",
        ] {
            let mut m = meta(4, 3 * CHUNK_SIZE as u64);
            m.bag = Some(bag.parse().unwrap());
            let mut buf = Vec::new();
            Record::Put(m.clone()).encode(&mut buf);
            assert_eq!(Record::decode(&buf).unwrap(), (Record::Put(m), buf.len()));
        }
    }

    #[test]
    fn chunk_counts() {
        assert_eq!(chunk_count(0), 0);
        assert_eq!(chunk_count(1), 1);
        assert_eq!(chunk_count(CHUNK_SIZE as u64), 1);
        assert_eq!(chunk_count(CHUNK_SIZE as u64 + 1), 2);
    }

    #[test]
    fn every_cut_of_a_frame_is_detected_as_truncated() {
        let mut buf = Vec::new();
        Record::Put(meta(9, 3 * CHUNK_SIZE as u64 + 5)).encode(&mut buf);
        for cut in 0..buf.len() {
            assert!(
                matches!(
                    Record::decode(&buf[..cut]),
                    Err(DecodeError::Truncated { .. })
                ),
                "cut at {cut}"
            );
        }
        assert!(Record::decode(&buf).is_ok());
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let mut buf = Vec::new();
        Record::Put(meta(3, 10)).encode(&mut buf);
        for bit in 0..buf.len() * 8 {
            let mut bad = buf.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(
                Record::decode(&bad).is_err(),
                "bit {bit} flipped went unnoticed"
            );
        }
    }

    proptest! {
        #[test]
        fn round_trip(id in any::<u64>(), size in 0u64..(40 * CHUNK_SIZE as u64), delete in any::<bool>()) {
            let record = if delete { Record::Delete(DataObjectId(id)) } else { Record::Put(meta(id, size)) };
            let mut buf = Vec::new();
            record.encode(&mut buf);
            record.encode(&mut buf);
            let (first, n) = Record::decode(&buf).unwrap();
            prop_assert_eq!(&first, &record);
            let (second, m) = Record::decode(&buf[n..]).unwrap();
            prop_assert_eq!(second, record);
            prop_assert_eq!(n + m, buf.len());
        }
    }
}
