//! Frames: `u32` little-endian payload length, `u32` little-endian crc32 of the payload, then the
//! payload. A frame longer than [`MAX_FRAME_LEN`] or with a wrong checksum is an error that ends
//! the connection; it never panics and never allocates more than the cap.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Bytes before the payload.
pub const FRAME_HEADER_LEN: usize = 8;

/// Largest payload accepted (snapshots are streamed in parts well below this).
pub const MAX_FRAME_LEN: usize = 16 << 20;

/// Why a frame could not be read; every variant ends the connection.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// The announced payload is larger than the cap.
    #[error("frame of {len} bytes exceeds the {max}-byte cap")]
    Oversized {
        /// Announced length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The payload does not match its checksum.
    #[error("frame checksum mismatch (header says {expected:#010x}, payload is {actual:#010x})")]
    Checksum {
        /// From the header.
        expected: u32,
        /// Of the bytes received.
        actual: u32,
    },
    /// The payload is not a message this side understands.
    #[error("undecodable message: {0}")]
    Decode(String),
}

/// Encodes `message` as one frame appended to `out`.
pub fn encode<T: Serialize>(message: &T, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER_LEN]);
    serde_json::to_writer(&mut *out, message).expect("messages serialize to JSON");
    let payload = &out[start + FRAME_HEADER_LEN..];
    let len = u32::try_from(payload.len()).expect("messages are far below 4 GiB");
    let crc = crc32fast::hash(payload);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Accumulates bytes from a stream and yields whole messages.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    start: usize,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the stream.
    pub fn extend(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered and not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next whole message, `Ok(None)` if more bytes are needed. The header is checked as
    /// soon as it arrives, so an oversized frame is refused before its payload is buffered.
    pub fn decode<T: DeserializeOwned>(&mut self) -> Result<Option<T>, FrameError> {
        let pending = &self.buf[self.start..];
        if pending.len() < FRAME_HEADER_LEN {
            return Ok(None);
        }
        let len = u32::from_le_bytes(pending[0..4].try_into().expect("4 bytes")) as usize;
        let expected = u32::from_le_bytes(pending[4..8].try_into().expect("4 bytes"));
        if len > MAX_FRAME_LEN {
            return Err(FrameError::Oversized {
                len,
                max: MAX_FRAME_LEN,
            });
        }
        if pending.len() < FRAME_HEADER_LEN + len {
            return Ok(None);
        }
        let payload = &pending[FRAME_HEADER_LEN..FRAME_HEADER_LEN + len];
        let actual = crc32fast::hash(payload);
        if actual != expected {
            return Err(FrameError::Checksum { expected, actual });
        }
        let message =
            serde_json::from_slice(payload).map_err(|e| FrameError::Decode(e.to_string()))?;
        self.start += FRAME_HEADER_LEN + len;
        if self.start > 1 << 20 && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        Ok(Some(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::message::{FromDataPlane, Report, Role, StoredObject};
    use crate::{DataObjectId, StorageBucketId};
    use proptest::prelude::*;

    fn sample() -> Vec<FromDataPlane> {
        vec![
            FromDataPlane::Welcome {
                version: 1,
                role: Role::Storage,
                applied_block: Some(7),
                shards: 2,
            },
            FromDataPlane::Applied { block: 9 },
            FromDataPlane::Report(Report::Stored {
                objects: vec![
                    StoredObject {
                        id: DataObjectId(3),
                        bag: None,
                        bucket: None,
                    },
                    StoredObject {
                        id: DataObjectId(4),
                        bag: Some("dynamic:channel:5".parse().unwrap()),
                        bucket: Some(StorageBucketId(1)),
                    },
                ],
            }),
        ]
    }

    #[test]
    fn round_trip_at_every_split() {
        let mut bytes = Vec::new();
        for m in sample() {
            encode(&m, &mut bytes);
        }
        for split in 0..bytes.len() {
            let mut d = FrameDecoder::new();
            let mut got = Vec::new();
            d.extend(&bytes[..split]);
            while let Some(m) = d.decode::<FromDataPlane>().unwrap() {
                got.push(m);
            }
            d.extend(&bytes[split..]);
            while let Some(m) = d.decode::<FromDataPlane>().unwrap() {
                got.push(m);
            }
            assert_eq!(got, sample(), "split at {split}");
            assert_eq!(d.buffered(), 0);
        }
    }

    #[test]
    fn oversized_header_is_refused_before_the_payload() {
        let mut d = FrameDecoder::new();
        let mut header = ((MAX_FRAME_LEN + 1) as u32).to_le_bytes().to_vec();
        header.extend_from_slice(&0u32.to_le_bytes());
        d.extend(&header);
        assert_eq!(
            d.decode::<FromDataPlane>(),
            Err(FrameError::Oversized {
                len: MAX_FRAME_LEN + 1,
                max: MAX_FRAME_LEN
            })
        );
    }

    #[test]
    fn a_flipped_bit_is_caught() {
        let mut bytes = Vec::new();
        encode(&sample()[0], &mut bytes);
        for i in FRAME_HEADER_LEN..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x10;
            let mut d = FrameDecoder::new();
            d.extend(&damaged);
            assert!(matches!(
                d.decode::<FromDataPlane>(),
                Err(FrameError::Checksum { .. })
            ));
        }
    }

    #[test]
    fn a_valid_frame_of_garbage_is_a_decode_error() {
        let payload = b"{\"nope\":1}";
        let mut bytes = (payload.len() as u32).to_le_bytes().to_vec();
        bytes.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        bytes.extend_from_slice(payload);
        let mut d = FrameDecoder::new();
        d.extend(&bytes);
        assert!(matches!(
            d.decode::<FromDataPlane>(),
            Err(FrameError::Decode(_))
        ));
    }

    proptest! {
        /// Arbitrary bytes never panic the decoder and never make it buffer past the cap.
        #[test]
        fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16)) {
            let mut d = FrameDecoder::new();
            for c in chunks {
                d.extend(&c);
                while let Ok(Some(_)) = d.decode::<FromDataPlane>() {}
            }
        }

        /// Any report list round-trips through frames fed in arbitrary pieces.
        #[test]
        fn reports_round_trip(ids in proptest::collection::vec(any::<u64>(), 0..50), cut in 0usize..4096) {
            let objects = ids
                .into_iter()
                .map(|id| StoredObject { id: DataObjectId(id), bag: None, bucket: Some(StorageBucketId(id % 7)) })
                .collect();
            let message = FromDataPlane::Report(Report::Stored { objects });
            let mut bytes = Vec::new();
            encode(&message, &mut bytes);
            let cut = cut.min(bytes.len());
            let mut d = FrameDecoder::new();
            d.extend(&bytes[..cut]);
            let early = d.decode::<FromDataPlane>().unwrap();
            d.extend(&bytes[cut..]);
            let got = match early { Some(m) => m, None => d.decode::<FromDataPlane>().unwrap().unwrap() };
            prop_assert_eq!(got, message);
        }
    }
}
