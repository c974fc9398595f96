//! The name of a resumable upload in `uploads/`, which is also the last segment of its URL:
//! `<object id>.<created, unix seconds>.<token>`, the token 128 random bits in hex.
//!
//! An object's id is public (it is on chain), so a URL made of it alone let anyone who knew it
//! fill, read the offset of, or delete someone else's upload (issue 14, defect 4). The token
//! makes the URL a capability: only the client that created the upload learns it. Several
//! uploads of one object may coexist (a stranger's cannot block the real uploader's); the
//! first to complete and verify is published, the others are then refused and swept. The
//! creation time gives the upload its expiry without a stat of the file.

use std::fmt;

use hecaton_shared::DataObjectId;

/// Token bytes (128 bits).
const TOKEN_BYTES: usize = 16;

/// A parsed upload name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UploadName {
    /// The data object.
    pub id: DataObjectId,
    /// When the upload was created (unix seconds).
    pub created: u64,
    token: [u8; TOKEN_BYTES],
}

/// The system's random source failed (no `getrandom`).
#[derive(Debug, thiserror::Error)]
#[error("no random bytes for an upload token: {0}")]
pub struct NoRandom(std::io::Error);

impl UploadName {
    /// A new name for an upload of `id` created at `now` (unix seconds).
    pub fn new(id: DataObjectId, now: u64) -> Result<Self, NoRandom> {
        let mut token = [0u8; TOKEN_BYTES];
        fill_random(&mut token).map_err(NoRandom)?;
        Ok(Self {
            id,
            created: now,
            token,
        })
    }

    /// Parses a name; anything but the exact canonical form is `None` (no path tricks, no
    /// leading zeros, lowercase hex only).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let (id, created, token) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || token.len() != 2 * TOKEN_BYTES {
            return None;
        }
        let id = crate::store::id_of_file_name(id)?;
        let created = hecaton_shared::parse_decimal_u64(created).ok()?;
        if created.to_string().len() != text.split('.').nth(1)?.len() {
            return None;
        }
        let mut bytes = [0u8; TOKEN_BYTES];
        for (i, pair) in token.as_bytes().chunks(2).enumerate() {
            let hex = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            };
            bytes[i] = hex(pair[0])? << 4 | hex(pair[1])?;
        }
        Some(Self {
            id,
            created,
            token: bytes,
        })
    }

    /// Whether the upload has outlived `expiry_secs` at `now`.
    pub fn expired(&self, now: u64, expiry_secs: u64) -> bool {
        now >= self.created.saturating_add(expiry_secs)
    }
}

impl fmt::Display for UploadName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.", self.id, self.created)?;
        for b in self.token {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Fills `buf` from the kernel's random source (`getrandom(2)`, which does not block once the
/// pool is initialised at boot).
fn fill_random(buf: &mut [u8]) -> std::io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: the pointer and length describe the unfilled part of `buf`, which is ours.
        let n = unsafe { libc::getrandom(buf[done..].as_mut_ptr().cast(), buf.len() - done, 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
            continue;
        }
        done += n as usize;
    }
    Ok(())
}

/// Seconds since the epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_only_the_canonical_form_parses() {
        let a = UploadName::new(DataObjectId(42), 1_700_000_000).unwrap();
        let b = UploadName::new(DataObjectId(42), 1_700_000_000).unwrap();
        assert_ne!(a, b, "tokens differ");
        let text = a.to_string();
        assert_eq!(UploadName::parse(&text), Some(a));
        assert!(text.starts_with("42.1700000000."));
        for bad in [
            "42",
            "42.1700000000",
            "042.1700000000.00000000000000000000000000000000",
            "42.01700000000.00000000000000000000000000000000",
            "42.1700000000.0000000000000000000000000000000G",
            "42.1700000000.0000000000000000000000000000000A",
            "42.1700000000.000000000000000000000000000000",
            "42.1700000000.00000000000000000000000000000000.lock",
            "../42.1.00000000000000000000000000000000",
        ] {
            assert_eq!(UploadName::parse(bad), None, "{bad}");
        }
        assert!(!a.expired(1_700_000_000 + 10, 60));
        assert!(a.expired(1_700_000_000 + 60, 60));
    }
}
