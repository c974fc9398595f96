//! `/state/data-objects`: every published id as a decimal string, in ascending order (Colossus
//! answers with its directory listing; peers and the lead's tools read it as a set).
//!
//! At ten million objects the body is about 110 MB. It is never built: its length is counted
//! from the catalog version the request found (a pass over the ids, no formatting), then it is
//! written in pieces of [`PIECE`] bytes from the same version, so a request costs one piece of
//! memory however large the store, and later publishes do not change what it sends.

use std::io;

use hecaton_shared::DataObjectId;

use crate::serve::exchange::Exchange;
use crate::store::Catalog;

/// Bytes of body formatted and written at a time.
pub const PIECE: usize = 64 * 1024;

/// Answers `/state/data-objects`.
pub async fn send(mut ex: Exchange<'_>) -> io::Result<bool> {
    let catalog = ex.shard.views.catalog();
    let len = body_len(&catalog);
    let mut body = Body::new(&catalog);
    ex.json_streamed(200, len, |out| body.piece(out)).await
}

/// The body's length in bytes: `[`, `"<id>"` joined by `,`, `]`.
pub fn body_len(catalog: &Catalog) -> u64 {
    let ids: u64 = catalog.ids().map(|id| decimal_len(id.0) + 2).sum();
    2 + ids + (catalog.len() as u64).saturating_sub(1)
}

fn decimal_len(n: u64) -> u64 {
    n.checked_ilog10().map_or(1, |d| d as u64 + 1)
}

/// The body, a piece at a time.
pub struct Body<'a> {
    ids: Box<dyn Iterator<Item = DataObjectId> + 'a>,
    started: bool,
    first: bool,
}

impl std::fmt::Debug for Body<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("data_objects::Body")
    }
}

impl<'a> Body<'a> {
    /// The body of `catalog`.
    pub fn new(catalog: &'a Catalog) -> Self {
        Body {
            ids: Box::new(catalog.ids()),
            started: false,
            first: true,
        }
    }

    /// Appends the next piece (about [`PIECE`] bytes) to `out`; false once the body is done.
    pub fn piece(&mut self, out: &mut Vec<u8>) -> bool {
        if !self.started {
            out.push(b'[');
            self.started = true;
        }
        let mut digits = itoa::Buffer::new();
        while out.len() < PIECE {
            let Some(id) = self.ids.next() else {
                out.push(b']');
                return false;
            };
            if !self.first {
                out.push(b',');
            }
            self.first = false;
            out.push(b'"');
            out.extend_from_slice(digits.format(id.0).as_bytes());
            out.push(b'"');
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use hecaton_shared::ContentId;

    use super::*;
    use crate::store::media_type::MediaType;
    use crate::store::Published;

    fn catalog(ids: impl IntoIterator<Item = u64>) -> Catalog {
        let objects = ids.into_iter().map(|i| Published {
            id: DataObjectId(i),
            size: 1,
            content_id: ContentId::of(b"x"),
            media_type: MediaType::OctetStream,
            bag: None,
        });
        Catalog::new(objects, PathBuf::from("/x"))
    }

    fn whole(catalog: &Catalog) -> Vec<u8> {
        let mut body = Body::new(catalog);
        let mut out = Vec::new();
        let mut pieces = 0;
        loop {
            let mut piece = Vec::new();
            let more = body.piece(&mut piece);
            assert!(piece.len() < PIECE + 32, "a piece stays near its size");
            out.extend_from_slice(&piece);
            pieces += 1;
            if !more {
                break;
            }
        }
        assert!(pieces >= 1);
        out
    }

    /// The body is the JSON array of decimal strings that serde writes, and its counted length
    /// is its length, for an empty store, one object, and one whose body takes many pieces.
    #[test]
    fn the_body_is_the_json_array_of_ids_and_its_length_is_counted() {
        for ids in [vec![], vec![0], vec![9, 10, 99, 100, u64::MAX]] {
            let c = catalog(ids.clone());
            let body = whole(&c);
            let strings: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
            assert_eq!(body, serde_json::to_vec(&strings).unwrap());
            assert_eq!(body_len(&c), body.len() as u64);
        }
        let c = catalog((0..40_000).map(|i| i * 7919));
        let body = whole(&c);
        assert_eq!(body_len(&c), body.len() as u64);
        let parsed: Vec<String> = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed.len(), 40_000);
        assert_eq!(parsed[1], "7919");
    }
}
