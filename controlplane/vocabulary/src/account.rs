//! Account ids: 32 bytes (`AccountId32`), written in SS58 with Joystream's prefix 126.
//!
//! The embedded chain checks no signatures (callers declare their origin), so for it an
//! account is just these 32 bytes. `//Name` dev URIs map to `blake2b-256("hecaton-embedded" ++
//! "//Name")`: a stable pseudo key for development that is **not** the sr25519 key the same URI
//! gives on a real chain (issue seven derives real keys).

use std::fmt;
use std::str::FromStr;

use blake2::digest::consts::U32;
use blake2::{Blake2b, Blake2b512, Digest};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Joystream's SS58 address prefix.
pub const SS58_PREFIX: u16 = 126;

/// A 32-byte account id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(pub [u8; 32]);

/// Why an account text did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountIdError {
    /// Not base58.
    #[error("account {0:?} is not base58 (SS58), 0x-hex or a //Name dev URI")]
    NotBase58(String),
    /// Base58 of the wrong length for a 32-byte account with a two-byte prefix.
    #[error("account {0:?} has the wrong length for an SS58 address")]
    Length(String),
    /// A prefix other than Joystream's.
    #[error("account {text:?} has SS58 prefix {prefix}, Joystream uses 126")]
    Prefix {
        /// The text given.
        text: String,
        /// The prefix it carries.
        prefix: u16,
    },
    /// The checksum does not match.
    #[error("account {0:?} has a bad SS58 checksum")]
    Checksum(String),
    /// Hex of the wrong length or with bad digits.
    #[error("account {0:?} is not 32 bytes of hex")]
    Hex(String),
}

impl AccountId {
    /// The storage treasury: `"modl" ++ "mstorage"` padded with zeros.
    pub fn storage_treasury() -> Self {
        let mut bytes = [0u8; 32];
        bytes[..4].copy_from_slice(b"modl");
        bytes[4..12].copy_from_slice(b"mstorage");
        Self(bytes)
    }

    /// The embedded chain's pseudo key for a dev URI such as `//Alice` (see the module docs).
    pub fn dev(uri: &str) -> Self {
        let mut hasher = Blake2b::<U32>::new();
        hasher.update(b"hecaton-embedded");
        hasher.update(uri.as_bytes());
        Self(hasher.finalize().into())
    }

    /// The SS58 text with prefix 126.
    pub fn to_ss58(&self) -> String {
        let prefix = ss58_prefix_bytes(SS58_PREFIX);
        let mut body = Vec::with_capacity(36);
        body.extend_from_slice(&prefix);
        body.extend_from_slice(&self.0);
        let sum = ss58_checksum(&body);
        body.extend_from_slice(&sum[..2]);
        bs58::encode(body).into_string()
    }
}

fn ss58_prefix_bytes(ident: u16) -> [u8; 2] {
    // Two-byte form for identifiers 64..16383 (the SS58 spec's "full" encoding).
    [
        (((ident & 0b1111_1100) >> 2) as u8) | 0b0100_0000,
        ((ident >> 8) as u8) | (((ident & 0b11) as u8) << 6),
    ]
}

fn ss58_checksum(body: &[u8]) -> [u8; 64] {
    let mut hasher = Blake2b512::new();
    hasher.update(b"SS58PRE");
    hasher.update(body);
    hasher.finalize().into()
}

impl FromStr for AccountId {
    type Err = AccountIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.starts_with("//") {
            return Ok(Self::dev(text));
        }
        if let Some(hex_text) = text.strip_prefix("0x") {
            let bytes = hex::decode(hex_text).map_err(|_| AccountIdError::Hex(text.into()))?;
            let bytes: [u8; 32] = bytes
                .try_into()
                .map_err(|_| AccountIdError::Hex(text.into()))?;
            return Ok(Self(bytes));
        }
        let raw = bs58::decode(text)
            .into_vec()
            .map_err(|_| AccountIdError::NotBase58(text.into()))?;
        if raw.len() != 36 || raw[0] & 0b0100_0000 == 0 {
            return Err(AccountIdError::Length(text.into()));
        }
        let lower = (raw[0] << 2) | (raw[1] >> 6);
        let upper = raw[1] & 0b0011_1111;
        let prefix = u16::from(lower) | (u16::from(upper) << 8);
        if prefix != SS58_PREFIX {
            return Err(AccountIdError::Prefix {
                text: text.into(),
                prefix,
            });
        }
        if ss58_checksum(&raw[..34])[..2] != raw[34..] {
            return Err(AccountIdError::Checksum(text.into()));
        }
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&raw[2..34]);
        Ok(Self(bytes))
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_ss58())
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.to_ss58())
    }
}

impl Serialize for AccountId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn treasury_address_matches_the_reference() {
        // The address the derivation rule gives, computed independently of this code.
        assert_eq!(
            AccountId::storage_treasury().to_ss58(),
            "j4To6jgKg1Jo1wfcPDHye73TRt2c28Y7K9kRraygcocBa1kHL"
        );
    }

    #[test]
    fn ss58_round_trips_and_rejects_damage() {
        let account = AccountId::dev("//Alice");
        let text = account.to_ss58();
        assert_eq!(text.parse::<AccountId>().unwrap(), account);
        let mut damaged = text.into_bytes();
        let last = damaged.len() - 1;
        damaged[last] = if damaged[last] == b'2' { b'3' } else { b'2' };
        let damaged = String::from_utf8(damaged).unwrap();
        assert!(damaged.parse::<AccountId>().is_err());
        // Polkadot's prefix 0 is refused.
        assert!(matches!(
            "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5".parse::<AccountId>(),
            Err(AccountIdError::Length(_) | AccountIdError::Prefix { .. })
        ));
        let hex = format!("0x{}", hex::encode(account.0));
        assert_eq!(hex.parse::<AccountId>().unwrap(), account);
    }
}
