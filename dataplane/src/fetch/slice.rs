//! Verified slices from a peer (`GET /api/v1/slices/{id}?ranges=`, `serve/slice.rs`): each
//! 16 KiB group of the object is checked against the content id as it arrives, and only
//! checked groups are handed on. A peer that lies is caught at its first forged group, before
//! any byte of it is kept or relayed; what came before it is proven and kept.
//!
//! Peers without slices (Colossus; a Hecaton node whose tree of the object is not built yet)
//! answer anything but 200 with the slice's media type: the caller falls back to the plain
//! `GET /api/v1/files/{id}`, whose bytes are checked once whole.

use std::io;

use hecaton_shared::bao::{self, slice, ProofError};
use hecaton_shared::socket::{AttemptFailure, Source};
use hecaton_shared::DataObjectId;

use super::client::{self, Body, ClientError, Peers};

/// Bytes read from the peer at a time by a fetch (plus room for a group left over).
pub const READ: usize = 256 * 1024;

/// Bytes of proven groups handed on at a time by a fetch: a cache fill writes and wakes its
/// readers once per run, not per group (per 16 KiB group, a 16 MiB miss took twice as long).
pub const RUN: usize = 256 * 1024;

/// Bytes read at a time, and handed on at a time, when a slice is relayed to one viewer: the
/// proxy holds this per request (twice, plus a group), and requests are bounded only by the
/// connections, so it stays near the plain relay's 64 KiB.
pub const RELAY: usize = 32 * 1024;
/// The first run is smaller, so that a waiting viewer has its first bytes sooner.
pub const FIRST_RUN: usize = 32 * 1024;

/// What asking a peer for a slice came to.
#[derive(Debug)]
pub enum Opened {
    /// The slice is coming.
    Slice(Box<SliceBody>),
    /// The peer does not serve this slice (it answered this status, or not with a slice): ask
    /// for plain bytes.
    NotServed(u16),
    /// The peer failed.
    Failed(AttemptFailure, String),
}

/// Why a slice stopped.
#[derive(Debug, thiserror::Error)]
pub enum SliceError {
    /// The peer: closed, too slow, reset.
    #[error("reading the slice: {0}")]
    Io(#[from] io::Error),
    /// A group or pair does not match the content id: the peer sent bytes that are not the
    /// object's.
    #[error("the peer's bytes at offset {offset} are not the object's: {error}")]
    Forged {
        /// Where the failing group (or subtree) starts in the object.
        offset: u64,
        /// What failed.
        error: ProofError,
    },
}

/// A slice being received and checked.
#[derive(Debug)]
pub struct SliceBody {
    body: Body,
    verifier: slice::SliceVerifier,
    buf: Vec<u8>,
    /// Unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// The object's media type, as the peer's store knows it.
    pub media_type: Option<String>,
    /// A failure found after a run that was handed on.
    failed: Option<SliceError>,
}

/// Asks `source` for bytes `first..=last` (to the end without `last`) of object `id`, of
/// `size` bytes and content id digest `root`, as a verified slice, read `read` bytes at a time
/// ([`READ`], [`RELAY`]).
pub async fn open(
    peers: &Peers,
    source: &Source,
    id: DataObjectId,
    (size, root): (u64, &[u8; 32]),
    (first, last): (u64, Option<u64>),
    read: usize,
) -> Opened {
    use AttemptFailure::{BadResponse, Unreachable};
    let Some(groups) = slice::groups_of(size, first, last) else {
        return Opened::Failed(
            BadResponse,
            format!("byte {first} is past the object's end"),
        );
    };
    let req = match client::Request::for_slice(&source.endpoint, id, first, last) {
        Ok(r) => r,
        Err(e) => return Opened::Failed(BadResponse, e.to_string()),
    };
    let (head, body) = match client::get(peers, &source.addrs, &req, None).await {
        Ok(r) => r,
        Err(e @ (ClientError::Response(_) | ClientError::Endpoint(..))) => {
            return Opened::Failed(BadResponse, e.to_string())
        }
        Err(e) => return Opened::Failed(Unreachable, e.to_string()),
    };
    // Anything but a slice (a 404 from Colossus, a server answering every path alike) is
    // not one: the caller asks for plain bytes.
    if head.status != 200 || head.content_type.as_deref() != Some(slice::CONTENT_TYPE) {
        return Opened::NotServed(head.status);
    }
    let expected = slice::slice_len(size, groups.clone()).expect("groups_of is in range");
    if head.chunked || head.content_length != Some(expected) {
        return Opened::Failed(
            BadResponse,
            format!(
                "a slice of groups {groups:?} is {expected} bytes of {}; the peer sent {:?} bytes of {:?}",
                slice::CONTENT_TYPE, head.content_length, head.content_type
            ),
        );
    }
    let verifier = slice::SliceVerifier::new(root, size, groups).expect("checked");
    Opened::Slice(Box::new(SliceBody {
        media_type: head.object_type.clone(),
        body,
        verifier,
        buf: vec![0; read + bao::GROUP as usize + bao::PAIR],
        start: 0,
        end: 0,
        failed: None,
    }))
}

impl SliceBody {
    /// The next run of consecutive proven groups, into `out` (cleared first), with each
    /// group's CV into `cvs` (cleared first; left empty for an object of one group): where it
    /// starts in the object; `None` after the last group. A run ends at about `want` bytes, or
    /// where the bytes received so far end once it holds a quarter of that (what is proven is
    /// handed on rather than held while more arrives), or before a group that fails (the
    /// failure is the next call's answer).
    pub async fn next_run(
        &mut self,
        out: &mut Vec<u8>,
        cvs: &mut Vec<[u8; 32]>,
        want: usize,
    ) -> Result<Option<u64>, SliceError> {
        out.clear();
        cvs.clear();
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut start = None;
        while let Some(need) = self.verifier.next_len() {
            if self.end - self.start < need {
                // What is proven goes on once it is a quarter of a run; a smaller rest (what
                // a full run left in the buffer) waits for the next read, or every other run
                // was a group or two.
                if start.is_some() && out.len() >= want / 4 {
                    break;
                }
                self.fill(need).await?;
                continue;
            }
            let item = self.start..self.start + need;
            self.start += need;
            match self.verifier.accept(&self.buf[item.clone()]) {
                Ok(Some(k)) => {
                    start.get_or_insert(k * bao::GROUP);
                    out.extend_from_slice(&self.buf[item]);
                    cvs.extend(self.verifier.last_cv());
                    if out.len() >= want {
                        break;
                    }
                }
                Ok(None) => {}
                Err(error) => {
                    let offset = match error {
                        ProofError::SliceMismatch { first_group, .. } => first_group * bao::GROUP,
                        _ => 0,
                    };
                    let e = SliceError::Forged { offset, error };
                    if start.is_none() {
                        return Err(e);
                    }
                    self.failed = Some(e);
                    break;
                }
            }
        }
        Ok(start)
    }

    /// Reads until `need` unread bytes are buffered. What is left unread (less than an item)
    /// moves to the buffer's start first, so that each read has the whole buffer: reads into
    /// what remained at its end got smaller and smaller, and so did the runs (a 16 MiB miss
    /// through the distributor took 46-55 ms against 39-42 with plain bytes).
    async fn fill(&mut self, need: usize) -> Result<(), SliceError> {
        while self.end - self.start < need {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, self.end - self.start);
            }
            let n = self.body.read(&mut self.buf[self.end..]).await?;
            if n == 0 {
                return Err(SliceError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed mid-slice",
                )));
            }
            self.end += n;
        }
        Ok(())
    }
}
