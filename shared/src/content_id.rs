//! Content ids: BLAKE3 over the whole object, wrapped as a multihash (code 0x1e, length 0x20) and
//! written in base58btc without a multibase prefix. Always 46 characters, starting `gV` or `gW`.
//! On chain the data object's `ipfs_content_id` holds the ASCII bytes of this text.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Length of a content id's text form.
pub const CONTENT_ID_LEN: usize = 46;

const MULTIHASH_BLAKE3: u8 = 0x1e;
const DIGEST_LEN: u8 = 32;

/// A BLAKE3-256 digest, printed as the network's content id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentId([u8; 32]);

/// Why a text is not a content id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentIdError {
    /// Not 46 characters.
    #[error("content id must be {CONTENT_ID_LEN} characters, got {0}")]
    Length(usize),
    /// Not base58btc.
    #[error("content id is not base58: {0}")]
    Base58(String),
    /// Decodes, but not to a BLAKE3-256 multihash.
    #[error("content id is not a BLAKE3-256 multihash (prefix {0:02x} {1:02x})")]
    NotBlake3(u8, u8),
}

impl ContentId {
    /// The id of `bytes`, hashed in one go.
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    /// Wraps a digest computed elsewhere.
    pub fn from_digest(digest: [u8; 32]) -> Self {
        Self(digest)
    }

    /// The raw BLAKE3 digest.
    pub fn digest(&self) -> &[u8; 32] {
        &self.0
    }

    fn multihash(&self) -> [u8; 34] {
        let mut m = [0u8; 34];
        m[0] = MULTIHASH_BLAKE3;
        m[1] = DIGEST_LEN;
        m[2..].copy_from_slice(&self.0);
        m
    }

    /// Writes the 46-character text into `out` without allocating.
    pub fn write_text(&self, out: &mut [u8; CONTENT_ID_LEN]) {
        let n = bs58::encode(self.multihash())
            .onto(&mut out[..])
            .expect("a 34-byte multihash is always 46 base58 characters");
        debug_assert_eq!(n, CONTENT_ID_LEN);
    }
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0u8; CONTENT_ID_LEN];
        self.write_text(&mut text);
        f.write_str(std::str::from_utf8(&text).expect("base58 is ASCII"))
    }
}

impl fmt::Debug for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentId({self})")
    }
}

impl FromStr for ContentId {
    type Err = ContentIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != CONTENT_ID_LEN {
            return Err(ContentIdError::Length(s.len()));
        }
        let bytes = decode_base58(s.as_bytes().try_into().expect("length checked"))?;
        if bytes[0] != MULTIHASH_BLAKE3 || bytes[1] != DIGEST_LEN {
            return Err(ContentIdError::NotBlake3(bytes[0], bytes[1]));
        }
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&bytes[2..]);
        Ok(Self(digest))
    }
}

/// Base58btc's digits.
const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Each byte's digit value, or 0xFF for a byte that is not a digit.
const DIGITS: [u8; 256] = {
    let mut t = [0xFF; 256];
    let mut i = 0;
    while i < 58 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// Decodes 46 base58btc digits into the 34 bytes of a multihash. A content id's text is
/// decoded wherever placement arrives (ten million at a time on a large store), and the `bs58`
/// crate's byte-at-a-time decoding took 1.2 s per million there (a profile of `hecaton-bench
/// scale`); this works on 32-bit limbs, five digits per step (58^5 < 2^32). A leading `1`
/// (a zero byte) decodes as the crate decodes it; a value above 34 bytes is refused.
fn decode_base58(text: &[u8; CONTENT_ID_LEN]) -> Result<[u8; 34], ContentIdError> {
    let mut limbs = [0u32; 9]; // little-endian, 288 bits
    for group in text.chunks(5) {
        let (mut value, mut scale) = (0u64, 1u64);
        for &c in group {
            let d = DIGITS[c as usize];
            if d == 0xFF {
                let at = text.iter().position(|b| *b == c).unwrap_or(0);
                return Err(ContentIdError::Base58(format!(
                    "invalid character {:?} at byte {at}",
                    c as char
                )));
            }
            value = value * 58 + d as u64;
            scale *= 58;
        }
        let mut carry = value;
        for limb in limbs.iter_mut() {
            let x = *limb as u64 * scale + carry;
            *limb = x as u32;
            carry = x >> 32;
        }
        if carry != 0 {
            return Err(ContentIdError::Base58("value too large".into()));
        }
    }
    let mut wide = [0u8; 36];
    for (i, limb) in limbs.iter().enumerate() {
        wide[32 - 4 * i..36 - 4 * i].copy_from_slice(&limb.to_be_bytes());
    }
    if wide[..2] != [0, 0] {
        return Err(ContentIdError::Base58("value too large".into()));
    }
    Ok(wide[2..].try_into().expect("34 bytes"))
}

impl Serialize for ContentId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for ContentId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            text.parse().map_err(serde::de::Error::custom)
        } else {
            <[u8; 32]>::deserialize(d).map(Self)
        }
    }
}

/// Hashes a stream as its bytes arrive; `finish` gives the content id and the byte count.
#[derive(Debug, Default, Clone)]
pub struct ContentHasher {
    hasher: blake3::Hasher,
    len: u64,
}

impl ContentHasher {
    /// A hasher that has seen no bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the stream.
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no byte was fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The content id of everything fed.
    pub fn finish(&self) -> ContentId {
        ContentId(*self.hasher.finalize().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed independently of this code, with Python's `blake3` and `base58` packages:
    //   base58.b58encode(bytes([0x1e, 0x20]) + blake3.blake3(data).digest())
    const EMPTY: &str = "gW9T5gSXhgQB5LaqmnJrLVVpHawhM7youzHnuY6HyGBDy3";
    const ABC: &str = "gW4QsJpeRbCjxSBRonyaCtuexDiyZiQRMJVN4EnvHcVdAU";
    // data = bytes(i % 251 for i in range(1 << 20))
    const MIB_PATTERN: &str = "gW5XaLYiTPHdny7x6hw4QcQnCHokc5ou7BS3hA5enBk7SA";

    fn mib_pattern() -> Vec<u8> {
        (0..1usize << 20).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn known_vectors() {
        assert_eq!(ContentId::of(b"").to_string(), EMPTY);
        assert_eq!(ContentId::of(b"abc").to_string(), ABC);
        assert_eq!(ContentId::of(&mib_pattern()).to_string(), MIB_PATTERN);
    }

    #[test]
    fn incremental_hashing_matches_one_shot_at_any_split() {
        let data = mib_pattern();
        for chunk in [1usize, 7, 1024, 4096, 65_537, 1 << 20] {
            let mut h = ContentHasher::new();
            for piece in data.chunks(chunk) {
                h.update(piece);
            }
            assert_eq!(h.len(), data.len() as u64);
            assert_eq!(h.finish().to_string(), MIB_PATTERN, "chunk {chunk}");
        }
        assert!(ContentHasher::new().is_empty());
        assert_eq!(ContentHasher::new().finish().to_string(), EMPTY);
    }

    #[test]
    fn text_round_trip_and_shape() {
        for text in [EMPTY, ABC, MIB_PATTERN] {
            let id: ContentId = text.parse().unwrap();
            assert_eq!(id.to_string(), text);
            assert!(text.starts_with("gV") || text.starts_with("gW"));
        }
    }

    #[test]
    fn malformed_text_is_rejected() {
        assert_eq!("abc".parse::<ContentId>(), Err(ContentIdError::Length(3)));
        // CIDv0 (sha2-256) is 46 characters too, but is not a BLAKE3 multihash.
        assert!(matches!(
            "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG".parse::<ContentId>(),
            Err(ContentIdError::NotBlake3(0x12, 0x20))
        ));
        let mut bad = EMPTY.to_owned();
        bad.replace_range(10..11, "0"); // '0' is not in the base58 alphabet
        assert!(matches!(
            bad.parse::<ContentId>(),
            Err(ContentIdError::Base58(_))
        ));
    }

    /// Parsing with the limb decoder accepts exactly the texts that parsing with the `bs58`
    /// crate accepted, as the same ids: content ids, random digits, all-`1` (zeros) texts,
    /// values too large, a byte that is not a digit.
    #[test]
    fn the_limb_decoder_agrees_with_bs58() {
        let mut texts: Vec<Vec<u8>> = vec![
            EMPTY.into(),
            ABC.into(),
            MIB_PATTERN.into(),
            vec![b'1'; 46],
            vec![b'z'; 46],
            [b"11".as_slice(), &EMPTY.as_bytes()[2..]].concat(),
        ];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for n in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let text: Vec<u8> = if n % 2 == 0 {
                ContentId::of(&seed.to_le_bytes()).to_string().into()
            } else {
                (0..46)
                    .map(|i| ALPHABET[((seed >> (i % 60)) as usize + i * 7) % 58])
                    .collect()
            };
            texts.push(text);
        }
        let mut bad = EMPTY.as_bytes().to_vec();
        bad[10] = b'0';
        texts.push(bad);
        for text in texts {
            // What parsing did with the crate: decode, exactly 34 bytes, the multihash prefix.
            let mut out = [0u8; 34];
            let reference = match bs58::decode(&text).onto(&mut out[..]) {
                Ok(34) if out[..2] == [MULTIHASH_BLAKE3, DIGEST_LEN] => {
                    Some(ContentId::from_digest(out[2..].try_into().unwrap()))
                }
                _ => None,
            };
            let ours = std::str::from_utf8(&text)
                .unwrap()
                .parse::<ContentId>()
                .ok();
            assert_eq!(ours, reference, "{}", String::from_utf8_lossy(&text));
        }
    }
}
